"""snnTorch, Norse and sinabs neurons (``ashbench/profiler/frameworks.py``): tiny hand-built networks
with identity / all-ones weights, so the membrane of each neuron and the spikes it emits are
worked out by hand in the comments; every count is asserted exactly.

The common network: fc1 = Linear(4, 4) with identity weights (the neuron currents are the input),
the neuron layer, fc2 = Linear(4, 3) with all-ones weights fed by the spikes, T = 4, batch 1.
"""

import math
import subprocess
import sys

import pytest
import torch
import torch.nn as nn

from ashbench.errors import SpikeSemanticsError
from ashbench.profiler import profile
from ashbench.profiler.neurons import framework_of, neuron_types

COUNTS = ("dense_macs", "macs", "synops", "neuron_updates", "spikes", "neurons", "timesteps", "firing_rate",
          "firing_rate_per_step", "elementwise_ops")


def linear(n_in: int, n_out: int, identity: bool = True) -> nn.Linear:
    layer = nn.Linear(n_in, n_out, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.eye(n_out, n_in) if identity else torch.ones(n_out, n_in))
    return layer


class Loop(nn.Module):
    """Runs a single-step network over x_seq [T, B, ...]: the k-th call of each neuron is step k."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x_seq):
        return torch.stack([self.net(x) for x in x_seq])


def totals(model, x, **kw) -> dict:
    t = profile(model, x, **kw).to_dict()["totals"]
    return {k: t[k] for k in COUNTS}


def layer(model, x, module: str, **kw) -> dict:
    return next(r for r in profile(model, x, **kw).to_dict()["layers"] if r["module"] == module)


# -- snnTorch ----------------------------------------------------------------------------------
# Leaky(beta=0.5, threshold=1), reset by subtraction one step late (reset_delay=True):
#   mem_t = 0.5 mem_{t-1} + x_t - [mem_{t-1} > 1],  spk_t = [mem_t > 1]
#   x = 0.75: mem 0.75, 1.125 (spike), 0.5625 + 0.75 - 1 = 0.3125, 0.90625  -> spikes 0 1 0 0
#   x = 1.5:  mem 1.5, 0.75 + 1.5 - 1 = 1.25, 1.125, 1.0625                -> spikes 1 1 1 1
#   x = 0.25: mem 0.25, 0.375, 0.4375, 0.46875                              -> spikes 0 0 0 0
# Inputs [0.75, 1.5, 0.25, 1.5] (all binary fractions: exact in float32), T = 4:
#   spikes per step 2, 3, 2, 2 = 9 over 4 neurons; rates 0.5, 0.75, 0.5, 0.5; 9 / 16 = 0.5625
#   fc1 on real inputs: 4 steps x 4 x 4 = 64 MACs; fc2 on spikes: 9 x 3 = 27 synops of 4 x 4 x 3 = 48 dense
#   total dense MACs 64 + 48 = 112
SNN_X = torch.tensor([0.75, 1.5, 0.25, 1.5]).repeat(4, 1, 1)  # [T=4, B=1, 4]
SNN_TOTALS = {"dense_macs": 112, "macs": 64, "synops": 27, "neuron_updates": 16, "spikes": 9, "neurons": 4,
              "timesteps": 4, "firing_rate": 0.5625, "firing_rate_per_step": [0.5, 0.75, 0.5, 0.5],
              "elementwise_ops": 0}


def _leaky_net():
    snn = pytest.importorskip("snntorch")
    return Loop(nn.Sequential(linear(4, 4), snn.Leaky(beta=0.5, init_hidden=True), linear(4, 3, identity=False)))


def test_snntorch_leaky_init_hidden_in_sequential():
    net = _leaky_net()
    assert totals(net, SNN_X, layout="TB") == SNN_TOTALS
    lif = layer(net, SNN_X, "net.1", layout="TB")
    assert (lif["branch"], lif["type"], lif["neurons"], lif["spikes"], lif["neuron_updates"]) == ("neuron", "Leaky",
                                                                                               4, 9, 16)
    assert lif["firing_rate"] == 0.5625 and lif["firing_rate_per_step"] == [0.5, 0.75, 0.5, 0.5]
    fc2 = layer(net, SNN_X, "net.2", layout="TB")
    assert (fc2["synops"], fc2["dense_macs"], fc2["macs"]) == (27, 48, 0)  # 9 spikes x 3 outputs


def test_snntorch_batch_of_two_gives_the_same_per_sample_counts():
    # the same sample twice: raw counts double, per-sample counts do not change
    assert totals(_leaky_net(), SNN_X.repeat(1, 2, 1), layout="TB") == SNN_TOTALS


class TutorialLeaky(nn.Module):
    """The snnTorch tutorial style: init_hidden=False, the membrane threaded through the loop."""

    def __init__(self):
        super().__init__()
        snn = pytest.importorskip("snntorch")
        self.fc1, self.lif, self.fc2 = linear(4, 4), snn.Leaky(beta=0.5), linear(4, 3, identity=False)

    def forward(self, x_seq):
        mem = self.lif.init_leaky()
        out = []
        for x in x_seq:
            spk, mem = self.lif(self.fc1(x), mem)
            out.append(self.fc2(spk))
        return torch.stack(out)


def test_snntorch_tutorial_style_counts_as_init_hidden():
    assert totals(TutorialLeaky(), SNN_X, layout="TB") == SNN_TOTALS == totals(_leaky_net(), SNN_X, layout="TB")


class KeywordLeaky(TutorialLeaky):
    """The tutorial network calling its neuron with keyword arguments only."""

    def forward(self, x_seq):
        mem = self.lif.init_leaky()
        out = []
        for x in x_seq:
            spk, mem = self.lif(input_=self.fc1(x), mem=mem)
            out.append(self.fc2(spk))
        return torch.stack(out)


def test_snntorch_neuron_called_with_keywords_counts_the_same():
    assert totals(KeywordLeaky(), SNN_X, layout="TB") == SNN_TOTALS


def test_a_neuron_holding_weights_is_warned_about():
    snn = pytest.importorskip("snntorch")
    net = Loop(nn.Sequential(linear(4, 4), snn.RLeaky(beta=0.5, linear_features=4, init_hidden=True)))
    warnings = profile(net, SNN_X, layout="TB").warnings
    assert len(warnings) == 1 and warnings[0].startswith("neuron 'net.1' (RLeaky) holds weights")


def test_raster_reads_the_framework_output():
    from ashbench.profiler.raster import capture_raster

    raster = capture_raster(_leaky_net(), (SNN_X,), layer="net.1", n_neurons=4)
    # spikes 0 1 0 0 / 1 1 1 1 / 0 0 0 0 / 1 1 1 1 per neuron (see above): 9 (time, neuron) points
    assert (raster["timesteps"], raster["n_neurons"], len(raster["times"])) == (4, 4, 9)


class TupleOutput(nn.Module):
    """A snnTorch neuron with init_hidden=True and output=True: (spk, mem) or (spk, syn, mem)."""

    def __init__(self, neuron):
        super().__init__()
        self.fc1, self.lif, self.fc2 = linear(4, 4), neuron, linear(4, 3, identity=False)

    def forward(self, x):
        spk, *_state = self.lif(self.fc1(x))
        return self.fc2(spk)


@pytest.mark.parametrize("kind", ["Leaky", "Synaptic"])
def test_snntorch_output_true_reads_the_first_element(kind):
    # Synaptic with alpha = 0: syn_t = x_t, then mem as Leaky's: the same spikes
    snn = pytest.importorskip("snntorch")
    neuron = (snn.Leaky(beta=0.5, init_hidden=True, output=True) if kind == "Leaky"
              else snn.Synaptic(alpha=0.0, beta=0.5, init_hidden=True, output=True))
    assert totals(Loop(TupleOutput(neuron)), SNN_X, layout="TB") == SNN_TOTALS


def test_snntorch_repeated_profiles_and_a_prior_forward_do_not_change_counts():
    net = _leaky_net()
    first = totals(net, SNN_X, layout="TB")
    net(SNN_X)  # a plain forward leaves non-zero membranes in the init_hidden neuron
    assert net.net[1].mem.abs().sum() > 0
    assert totals(net, SNN_X, layout="TB") == first == totals(net, SNN_X, layout="TB") == SNN_TOTALS
    assert net.net[1].mem.abs().sum() == 0  # reset after the profile too


def test_snntorch_state_leaky_is_multi_step_on_axis_0():
    # StateLeaky(beta=0.5): tau = 1 / (1 - 0.5) = 2, mem_t = sum_s x_s exp(-(t - s) / 2), spk = [mem > 1]
    # channel 0 gets 2 at t = 0 only: mem 2, 2 e^-0.5 = 1.213, 2 e^-1 = 0.736 -> spikes 1 1 0
    # channel 1 gets nothing -> 0 0 0; per step 1, 1, 0 over 2 neurons: rates 0.5, 0.5, 0
    snn = pytest.importorskip("snntorch")
    x = torch.zeros(3, 1, 2)
    x[0, 0, 0] = 2.0
    t = totals(snn.StateLeaky(beta=0.5, channels=2, output=True), x, layout="TB")
    assert (t["spikes"], t["neurons"], t["neuron_updates"], t["timesteps"]) == (2, 2, 6, 3)
    assert t["firing_rate_per_step"] == [0.5, 0.5, 0.0]


def test_snntorch_modules_that_emit_no_spikes_are_not_neurons():
    snn = pytest.importorskip("snntorch")
    classes = neuron_types()
    assert isinstance(snn.Leaky(beta=0.5), classes) and isinstance(snn.StateLeaky(0.5, 2, output=True), classes)
    assert not isinstance(snn.StateLeaky(0.5, 2, output=False), classes)  # returns the membrane
    assert not isinstance(nn.Linear(2, 2), classes)
    assert framework_of(snn.Leaky(beta=0.5)).time_axis(snn.Leaky(beta=0.5)) is None


# -- Norse -------------------------------------------------------------------------------------
# LIF with dt = 0.001, tau_syn_inv = 1000 (dt x 1000 = 1: the current i decays to 0 every step, so
# the current of step t is x_t), tau_mem_inv = 500 (dt x 500 = 0.5), v_leak = v_reset = 0, v_th = 1:
#   v_t = 0.5 v_{t-1} + 0.5 x_t, z_t = [v_t > 1], v_t -> 0 after a spike
#   x = 3:   v 1.5 every step                      -> spikes 1 1 1 1
#   x = 1.5: v 0.75, 1.125 (spike), 0.75, 1.125    -> spikes 0 1 0 1
#   x = 0.5: v 0.25, 0.375, 0.4375, 0.46875        -> spikes 0 0 0 0
# Inputs [3, 1.5, 0.5, 1.5]: per step 1, 3, 1, 3 = 8 over 4 neurons; rates 0.25, 0.75, 0.25, 0.75;
#   8 / 16 = 0.5; fc1 64 MACs, fc2 8 x 3 = 24 synops (48 dense); dense MACs 112
NORSE_X = torch.tensor([3.0, 1.5, 0.5, 1.5]).repeat(4, 1, 1)  # [T=4, B=1, 4]
NORSE_TOTALS = {"dense_macs": 112, "macs": 64, "synops": 24, "neuron_updates": 16, "spikes": 8, "neurons": 4,
                "timesteps": 4, "firing_rate": 0.5, "firing_rate_per_step": [0.25, 0.75, 0.25, 0.75],
                "elementwise_ops": 0}


def _norse_parameters():
    norse = pytest.importorskip("norse.torch")
    return norse, norse.LIFParameters(tau_syn_inv=torch.tensor(1000.0), tau_mem_inv=torch.tensor(500.0),
                                      v_leak=torch.tensor(0.0), v_th=torch.tensor(1.0), v_reset=torch.tensor(0.0))


class NorseCellLoop(nn.Module):
    def __init__(self):
        super().__init__()
        norse, p = _norse_parameters()
        self.fc1, self.cell, self.fc2 = linear(4, 4), norse.LIFCell(p), linear(4, 3, identity=False)

    def forward(self, x_seq):
        state, out = None, []
        for x in x_seq:
            z, state = self.cell(self.fc1(x), state)
            out.append(self.fc2(z))
        return torch.stack(out)


class NorseSequence(nn.Module):
    def __init__(self):
        super().__init__()
        norse, p = _norse_parameters()
        self.fc1, self.lif, self.fc2 = linear(4, 4), norse.LIF(p), linear(4, 3, identity=False)

    def forward(self, x_seq):
        z_seq, _state = self.lif(self.fc1(x_seq))  # [T, B, 4]
        return self.fc2(z_seq)


def test_norse_lif_cell_looped_over_time():
    assert totals(NorseCellLoop(), NORSE_X, layout="TB") == NORSE_TOTALS
    cell = layer(NorseCellLoop(), NORSE_X, "cell", layout="TB")
    assert (cell["branch"], cell["type"], cell["neurons"], cell["spikes"]) == ("neuron", "LIFCell", 4, 8)


def test_norse_lif_sequence_reads_time_on_axis_0():
    assert totals(NorseSequence(), NORSE_X, layout="TB") == NORSE_TOTALS
    lif = layer(NorseSequence(), NORSE_X, "lif", layout="TB")
    assert (lif["type"], lif["neurons"], lif["firing_rate_per_step"]) == ("LIF", 4, [0.25, 0.75, 0.25, 0.75])


def test_norse_leaky_integrators_are_not_neurons():
    norse, _ = _norse_parameters()
    classes = neuron_types()
    assert isinstance(norse.LIFCell(), classes) and isinstance(norse.LIF(), classes)
    assert isinstance(norse.LIFBoxCell(), classes) and isinstance(norse.IAFCell(), classes)
    assert not isinstance(norse.LICell(), classes) and not isinstance(norse.LI(), classes)  # return a voltage
    assert framework_of(norse.LIF()).time_axis(norse.LIF()) == 0
    assert framework_of(norse.LIFCell()).time_axis(norse.LIFCell()) is None


# -- sinabs ------------------------------------------------------------------------------------
# IAF(threshold 1), sinabs' defaults MultiSpike (floor(v / 1) spikes when v > 0) and MembraneSubtract:
#   v_t = v_{t-1} + x_t, s_t = floor(v_t), v_t -= s_t
#   x = 0.5:  v 0.5, 1.0 (1 spike), 0.5, 1.0 (1)    -> 0 1 0 1
#   x = 1.0:  1 spike every step                     -> 1 1 1 1
#   x = 0.25: v 0.25, 0.5, 0.75, 1.0 (1)             -> 0 0 0 1
#   x = 2.5:  v 2.5 (2, v 0.5), 3.0 (3, v 0), 2.5 (2), 3.0 (3) -> 2 3 2 3
# Inputs [0.5, 1, 0.25, 2.5] on [B=1, T=4, 4]: events per step 3, 5, 3, 6 = 17 over 4 neurons;
#   rates 0.75, 1.25, 0.75, 1.5; 17 / 16 = 1.0625; fc2: 17 events x 3 = 51 synops
SINABS_X = torch.tensor([0.5, 1.0, 0.25, 2.5]).repeat(1, 4, 1)  # [B=1, T=4, 4]
SINABS_TOTALS = {"dense_macs": 112, "macs": 64, "synops": 51, "neuron_updates": 16, "spikes": 17, "neurons": 4,
                 "timesteps": 4, "firing_rate": 1.0625, "firing_rate_per_step": [0.75, 1.25, 0.75, 1.5],
                 "elementwise_ops": 0}


def _iaf_net(squeeze: bool = False):
    layers = pytest.importorskip("sinabs.layers")
    neuron = layers.IAFSqueeze(batch_size=1) if squeeze else layers.IAF()
    return nn.Sequential(linear(4, 4), neuron, linear(4, 3, identity=False))


def test_sinabs_iaf_multi_spikes_on_batch_time_input():
    net = _iaf_net()
    assert totals(net, SINABS_X) == SINABS_TOTALS == totals(net, SINABS_X, spikes="multi:3")
    iaf = layer(net, SINABS_X, "1")
    assert (iaf["branch"], iaf["type"], iaf["neurons"], iaf["spikes"]) == ("neuron", "IAF", 4, 17)
    with pytest.raises(SpikeSemanticsError):  # 2 and 3 spikes in one step are not binary
        profile(net, SINABS_X, spikes="binary")


def test_sinabs_lif_below_twice_the_threshold_is_binary():
    # LIF(tau_mem = 1 / ln 2): alpha = exp(-ln 2) = 0.5; norm_input=False: v_t = 0.5 v_{t-1} + x_t, s_t = floor(v_t)
    #   x = 0.75: v 0.75, 1.125 (1, v 0.125), 0.8125, 1.15625 (1)     -> 0 1 0 1
    #   x = 1.5:  v 1.5 (1, v 0.5), 1.75 (1), 1.875 (1), 1.9375 (1)   -> 1 1 1 1 (v < 2: never 2 spikes)
    #   x = 0.25: v 0.25, 0.375, 0.4375, 0.46875                      -> 0 0 0 0
    # Inputs [0.75, 1.5, 0.25, 1.5]: per step 2, 3, 2, 3 = 10 over 4 neurons; 10 / 16 = 0.625; 10 x 3 = 30 synops
    layers = pytest.importorskip("sinabs.layers")
    net = nn.Sequential(linear(4, 4), layers.LIF(tau_mem=1 / math.log(2), norm_input=False),
                        linear(4, 3, identity=False))
    x = torch.tensor([0.75, 1.5, 0.25, 1.5]).repeat(1, 4, 1)  # [B=1, T=4, 4]
    assert totals(net, x, spikes="binary") == {**SINABS_TOTALS, "synops": 30, "spikes": 10, "firing_rate": 0.625,
                                               "firing_rate_per_step": [0.5, 0.75, 0.5, 0.75]}


def test_sinabs_squeeze_call_is_one_step_of_all_rows():
    # IAFSqueeze on [B*T, 4] = [4, 4] (batch_size=1): the call is read as one step of 16 neurons;
    # spikes, updates, synops and the overall firing rate are those of IAF on [B, T, 4]
    x = SINABS_X.reshape(4, 4)
    t = totals(_iaf_net(squeeze=True), x, batch_size=1)
    assert t == {**SINABS_TOTALS, "neurons": 16, "timesteps": 1, "firing_rate_per_step": [1.0625]}


def test_sinabs_repeated_profiles_and_a_prior_forward_do_not_change_counts():
    net = _iaf_net()
    net(SINABS_X[:, :3])  # three steps leave v = 0.5, 0, 0.75, 0.5 in the layer
    assert net[1].v_mem.abs().sum() > 0
    assert totals(net, SINABS_X) == totals(net, SINABS_X) == SINABS_TOTALS
    assert net[1].v_mem.abs().sum() == 0  # reset after the profile too


def test_sinabs_layers_without_spike_function_are_not_neurons():
    layers = pytest.importorskip("sinabs.layers")
    classes = neuron_types()
    assert isinstance(layers.IAF(), classes) and isinstance(layers.LIF(tau_mem=2.0), classes)
    assert not isinstance(layers.ExpLeak(tau_mem=2.0), classes)  # a leaky integrator: returns the membrane
    assert not isinstance(layers.LIF(tau_mem=2.0, spike_fn=None), classes)
    assert framework_of(layers.IAF()).time_axis(layers.IAF()) == 1
    assert framework_of(layers.IAFSqueeze(batch_size=1)).time_axis(layers.IAFSqueeze(batch_size=1)) is None


def test_framework_neuron_classes_are_module_classes():
    for cls in neuron_types():
        assert issubclass(cls, nn.Module)


def test_a_framework_that_is_not_imported_is_neither_imported_nor_recognised():
    # profiling a model that holds no snnTorch/Norse/sinabs neuron never pays for importing them
    code = ("import sys; from ashbench.profiler import profile; from ashbench.profiler.neurons import NEURON_TYPES; "
            "import torch; profile(torch.nn.Linear(2, 2), torch.ones(1, 2)); "
            "print([NEURON_TYPES.get(n).classes() for n in ('snntorch', 'norse', 'sinabs')], "
            "[m in sys.modules for m in ('snntorch', 'norse', 'sinabs')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[(), (), ()] [False, False, False]"


def test_the_walks_per_type_facts_keep_the_per_instance_neuron_test():
    # walk.py reads a module type once; a framework's neuron test is per instance (StateLeaky is a neuron
    # only with output=True), so the same type must be read again per module, profile after profile
    snn = pytest.importorskip("snntorch")
    from ashbench.profiler.walk import NEURON, PLAIN, ModelWalk

    spiking, membrane = snn.StateLeaky(0.5, 2, output=True), snn.StateLeaky(0.5, 2, output=False)
    net = nn.Sequential(spiking, membrane)
    kinds = ModelWalk(list(net.named_modules())).kinds
    assert (kinds[id(spiking)][1], kinds[id(membrane)][1]) == (NEURON, PLAIN)
    membrane.output = True  # now it emits spikes: a neuron in the next walk
    assert ModelWalk(list(net.named_modules())).kinds[id(membrane)][1] == NEURON


def test_every_framework_neuron_class_names_the_bases_of_what_it_accepts():
    # the walk skips the per-instance test for a type outside ashbench_bases(): every module a framework
    # accepts must derive from one of them
    candidates = [nn.Linear(2, 2), nn.LSTM(2, 2)]
    snn = pytest.importorskip("snntorch")
    candidates += [snn.Leaky(beta=0.5), snn.Synaptic(alpha=0.5, beta=0.5), snn.StateLeaky(0.5, 2, output=True)]
    layers = pytest.importorskip("sinabs.layers")
    candidates += [layers.IAF(), layers.LIF(tau_mem=2.0), layers.IAFSqueeze(batch_size=1)]
    norse = pytest.importorskip("norse.torch")
    candidates += [norse.LIFCell(), norse.LIF(), norse.LIFRecurrentCell(2, 2)]
    per_instance = [cls for cls in neuron_types() if hasattr(cls, "ashbench_bases")]
    assert len(per_instance) == 3  # snnTorch, sinabs, Norse (a plain class is its own base)
    for cls in per_instance:
        accepted = [m for m in candidates if isinstance(m, cls)]
        assert accepted and all(isinstance(m, cls.ashbench_bases()) for m in accepted), cls


def test_a_declared_neuron_class_with_a_metaclass_of_its_own_is_tested_per_module():
    # an ABC's isinstance follows register(), not the module's base classes: the walk asks isinstance
    import abc

    from ashbench.profiler.walk import NEURON, PLAIN, ModelWalk

    class Spiking(abc.ABC):  # noqa: B024 (registration only)
        pass

    class Fire(nn.Module):
        def forward(self, x):
            return (x > 0).float()

    Spiking.register(Fire)
    net = nn.Sequential(nn.Linear(2, 2), Fire())
    kinds = ModelWalk(list(net.named_modules()), (Spiking,)).kinds
    assert (kinds[id(net[0])][1], kinds[id(net[1])][1]) == (PLAIN, NEURON)


def test_a_reloaded_framework_is_recognised_by_its_new_classes():
    # the walk's per-type table is keyed by the classes the frameworks name at each profile: snnTorch
    # reloaded has a new SpikingNeuron class, whose modules must still be read per instance
    snn = pytest.importorskip("snntorch")
    from ashbench.profiler.walk import NEURON, ModelWalk

    before = snn.Leaky(beta=0.5)
    assert ModelWalk([("", before)]).kinds[id(before)][1] == NEURON
    old = sys.modules["snntorch"].SpikingNeuron
    fresh = type("SpikingNeuron", (nn.Module,), {})  # what a reload leaves: another class of that name
    try:
        sys.modules["snntorch"].SpikingNeuron = fresh

        class Fires(fresh):
            def forward(self, x):
                return (x > 0).float()

        module = Fires()
        assert ModelWalk([("", module)]).kinds[id(module)][1] == NEURON
    finally:
        sys.modules["snntorch"].SpikingNeuron = old
