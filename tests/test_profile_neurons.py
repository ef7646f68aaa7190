"""Neuron counting: IF/LIF/PLIF in both step modes, firing rates per time step, per-sample
invariance to batch size, layouts and spike-semantics violations. Arithmetic in comments."""

import collections

import pytest
import torch
import torch.nn as nn
from spikingjelly.activation_based import functional, layer, neuron

from ashbench.errors import InputError, SpikeSemanticsError
from ashbench.profiler import profile

COUNTS = ("dense_macs", "macs", "synops", "neuron_updates", "spikes", "neurons", "elementwise_ops")


class SingleStepLoop(nn.Module):
    """Runs a single-step ('s') network over T steps: the k-th call of each neuron is step k."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x_seq):
        return torch.stack([self.net(x) for x in x_seq])


def test_if_neuron_firing_rate_per_step():
    # IF, threshold 1, hard reset to 0, constant input per step:
    # neuron a gets 0.6: v = 0.6, 1.2 -> spike (reset 0), 0.6, 1.2 -> spike  => spikes [0,1,0,1]
    # neuron b gets 1.0: v reaches 1.0 >= 1 at every step                      => spikes [1,1,1,1]
    # per step rates over 2 neurons: [0.5, 1.0, 0.5, 1.0]; total 6 spikes / (2 neurons * 4 steps) = 0.75
    node = neuron.IFNode(v_threshold=1.0, step_mode="m")
    x = torch.tensor([0.6, 1.0]).repeat(4, 1, 1)  # [T=4, B=1, 2]
    t = profile(node, x, layout="TB").totals
    assert t["firing_rate_per_step"] == [0.5, 1.0, 0.5, 1.0]
    assert (t["spikes"], t["neuron_updates"], t["neurons"], t["timesteps"]) == (6, 8, 2, 4)
    assert t["firing_rate"] == 0.75
    assert t["membrane_read_bytes"] == t["membrane_write_bytes"] == 8 * 4  # 8 updates of fp32


def _spiking_net(cls, **kw):
    torch.manual_seed(0)
    net = nn.Sequential(layer.Linear(6, 8), cls(**kw), layer.Linear(8, 4), cls(**kw))
    with torch.no_grad():
        net[0].weight.mul_(3.0)
    return net


@pytest.mark.parametrize("cls", [neuron.IFNode, neuron.LIFNode, neuron.ParametricLIFNode])
def test_multi_step_and_single_step_give_identical_counts(cls):
    x = torch.rand(5, 3, 6) * 2  # [T=5, B=3, 6]
    multi = _spiking_net(cls)
    functional.set_step_mode(multi, "m")
    single = SingleStepLoop(_spiking_net(cls))
    pm = profile(multi, x, layout="TB").totals
    ps = profile(single, x, layout="TB").totals
    assert pm["spikes"] > 0  # the comparison means something only if neurons fire
    assert {k: pm[k] for k in COUNTS} == {k: ps[k] for k in COUNTS}
    assert pm["firing_rate_per_step"] == ps["firing_rate_per_step"]
    assert pm["timesteps"] == ps["timesteps"] == 5


def test_batch_one_and_batch_eight_give_identical_per_sample_counts():
    net = _spiking_net(neuron.LIFNode, step_mode="m")
    x1 = torch.rand(4, 1, 6) * 2
    p1 = profile(net, x1, layout="TB").totals
    p8 = profile(net, x1.repeat(1, 8, 1), layout="TB").totals  # the same sample 8 times
    assert {k: p1[k] for k in COUNTS} == {k: p8[k] for k in COUNTS}
    assert p1["firing_rate_per_step"] == p8["firing_rate_per_step"]


def test_synops_after_neuron_use_the_emitted_spikes():
    # Linear(2, 3) after the IF layer of test_if_neuron_firing_rate_per_step: 6 spikes x 3 outputs = 18
    net = nn.Sequential(neuron.IFNode(v_threshold=1.0, step_mode="m"), layer.Linear(2, 3, step_mode="m"))
    x = torch.tensor([0.6, 1.0]).repeat(4, 1, 1)
    t = profile(net, x, layout="TB").totals
    assert t["synops"] == 18
    assert t["dense_macs"] == 4 * 2 * 3  # 4 steps * 2 in * 3 out = 24


def test_neuron_layers_report_branch_and_names():
    net = _spiking_net(neuron.LIFNode, step_mode="m")
    rows = {r["module"]: r for r in profile(net, torch.rand(3, 2, 6) * 2, layout="TB").layer_rows()}
    assert rows["1"]["branch"] == rows["3"]["branch"] == "neuron"
    assert rows["0"]["branch"] == "ann"  # real-valued input
    assert rows["2"]["branch"] == "snn"  # input: spikes of layer 1
    assert rows["1"]["neurons"] == 8 and rows["3"]["neurons"] == 4
    assert rows["1"]["neuron_updates"] == 8 * 3  # 8 neurons x 3 steps


def test_tb_layout_reads_batch_and_steps():
    net = _spiking_net(neuron.LIFNode, step_mode="m")
    p = profile(net, torch.rand(3, 2, 6), layout="TB")
    assert (p.batch_size, p.timesteps) == (2, 3)


class DoubleSpiker(nn.Module):
    """A 'neuron' that emits 2s: a multi-spike neuron."""

    def forward(self, x):
        return (x > 0.5).float() * 2


class HalfSpiker(nn.Module):
    """A 'neuron' that emits 0.5: no spike semantics allows it."""

    def forward(self, x):
        return (x > 0.5).float() / 2


def test_values_outside_declared_semantics_raise():
    with pytest.raises(SpikeSemanticsError, match="outside the declared 'binary'"):
        profile(DoubleSpiker(), torch.rand(2, 4), spikes="binary", neuron_classes=(DoubleSpiker,))
    # declared multi-spike semantics accept them: spikes = sum of values
    x = torch.tensor([[0.9, 0.1, 0.7, 0.2]])  # two values > 0.5 -> 2 + 2 = 4 events
    assert profile(DoubleSpiker(), x, spikes="multi:2", neuron_classes=(DoubleSpiker,)).totals["spikes"] == 4
    # the default (auto) takes any non-negative integers: the same 4 events; a fraction is an error
    assert profile(DoubleSpiker(), x, neuron_classes=(DoubleSpiker,)).totals["spikes"] == 4
    with pytest.raises(SpikeSemanticsError, match="outside the declared 'auto'"):
        profile(HalfSpiker(), x, neuron_classes=(HalfSpiker,))


def test_bad_profile_arguments_raise_typed_errors():
    net = _spiking_net(neuron.LIFNode, step_mode="m")
    with pytest.raises(InputError, match="layout"):
        profile(net, torch.rand(3, 2, 6), layout="BT")
    with pytest.raises(InputError, match="spike semantics"):
        profile(net, torch.rand(3, 2, 6), spikes="quaternary")
    with pytest.raises(InputError, match="forward failed"):
        profile(net, torch.rand(3, 2, 5), layout="TB")  # wrong feature size
    with pytest.raises(InputError, match="batch_size"):
        profile(net, torch.rand(3, 2, 6), batch_size=0)


# -- the 0/1 fast path of neuron counting against the general path (oracle test) -------------------
def _general_path(semantics, rows):
    return None if semantics.bound(rows) is None else semantics.events_per_row(rows)


@pytest.mark.parametrize("spikes", ["auto", "binary", "ternary", "multi:3"])
def test_unit_fast_path_equals_general_path_on_spikes(spikes):
    from ashbench.profiler.spikes import parse_semantics

    semantics = parse_semantics(spikes)
    gen = torch.Generator().manual_seed(0)
    rows = (torch.rand(5, 999, generator=gen) < 0.3).float()
    expected = [int(v) for v in rows.sum(dim=1)]  # events per step = ones per row
    assert semantics.unit_events_per_row(rows) == expected == _general_path(semantics, rows)
    assert semantics.unit_events_per_row(rows.bool()) == expected  # bool: one event per True
    assert semantics.unit_events_per_row(rows.half()) == expected


@pytest.mark.parametrize("value", [2.0, 0.5, -1.0, float("nan"), float("inf"), 1.0 + 2 ** -23, 1e-9, 1.0 - 2 ** -24])
def test_unit_fast_path_declines_anything_but_zero_one(value):
    from ashbench.profiler.spikes import parse_semantics

    rows = torch.zeros(2, 8)
    rows[0, 3], rows[1, 5] = 1.0, value
    for spikes in ("auto", "binary", "ternary", "multi:3"):
        assert parse_semantics(spikes).unit_events_per_row(rows) is None  # the general path decides
    assert parse_semantics("auto").unit_events_per_row(rows.long() if value == 2.0 else rows) is None


def test_a_fraction_that_float32_sums_would_round_away_is_no_spike():
    # The test of 0/1 values used to be sum(x) == sum(x*x) in float32. With a fraction both sums round:
    # [1, 1e-9] sums to 1.0 and so does its dot product (1 + 1e-18), and 2,000,000 ones with one
    # 0.9999999 (float32 0.99999988) give 1,999,999.99999988 and 1,999,999.99999976, both 2,000,000.0
    # at float32's spacing of 0.125 there. Integrality is now tested value by value (x == round(x)).
    from ashbench.profiler.spikes import BINARY, parse_semantics

    small = torch.tensor([1.0, 1e-9])
    big = torch.ones(2_000_000)
    big[5] = 0.9999999
    for x in (small, big):
        for spikes in ("auto", "binary", "ternary", "multi:3"):
            assert parse_semantics(spikes).bound(x) is None
            assert parse_semantics(spikes).unit_events_per_row(x.reshape(1, -1)) is None
        assert not BINARY.is_spike(x)
    assert parse_semantics("auto").bound(torch.tensor([1.0, float("inf")])) is None  # was OverflowError

    class Soft(nn.Module):
        """A 'neuron' emitting one value of 1e-9 beside its spikes."""

        def forward(self, x):
            out = (x > 0.5).float()
            out[0, 0] = 1e-9
            return out

    with pytest.raises(SpikeSemanticsError, match="outside the declared 'binary'"):
        profile(Soft(), torch.tensor([[0.1, 0.9, 0.7]]), spikes="binary", neuron_classes=(Soft,))
    # an input of 0/1 values but one 1e-9 is real-valued: Linear(3, 2) on it is 3 * 2 = 6 MACs, no synops
    near = torch.tensor([[1.0, 1e-9, 1.0]])
    totals = profile(nn.Linear(3, 2), near).totals
    assert (totals["macs"], totals["synops"]) == (6, 0)


def test_fraction_free_is_exact_across_chunks_and_dtypes(monkeypatch):
    from ashbench.profiler import spikes

    monkeypatch.setattr(spikes, "FRACTION_CHUNK", 4)  # 10 values: chunks of 4, 4 and 2
    x = torch.tensor([1.0, 0, 1, 1, 0, 1, 0, 0, 1, 1])
    assert spikes.fraction_free(x) and spikes.fraction_free(x.double()) and spikes.fraction_free(x.half())
    for i in (0, 5, 9):  # a fraction in the first, second and last chunk
        y = x.clone()
        y[i] = 2.0 ** -30  # its term 2**-30 * (1 - 2**-30) > 0, so the chunk's dot product is > 0
        assert not spikes.fraction_free(y)
    # float64: 1 - 1e-12 rounds to 1.0 in float32, so the test stays in float64, where the term is ~1e-12
    assert not spikes.fraction_free(torch.tensor([1.0, 1 - 1e-12], dtype=torch.float64))
    # signed (ternary): |-1| * (1 - |-1|) = 0, |-0.5| * 0.5 = 0.25
    assert spikes.fraction_free(torch.tensor([-1.0, 0, 1]), signed=True)
    assert not spikes.fraction_free(torch.tensor([-1.0, -0.5]), signed=True)


def test_unit_events_of_blocks_of_several_widths_at_once():
    from ashbench.profiler.spikes import BINARY

    a = torch.tensor([[1.0, 0, 1], [0, 0, 1]])  # width 3: rows of 2 and 1 events
    b = torch.tensor([[1.0, 1, 1]])  # width 3: 3
    c = torch.tensor([[1.0, 0, 0, 0, 1], [1, 1, 1, 1, 1]])  # width 5: 2 and 5
    # a and b adjacent (one width): one view of rows [a; b] summed; c another
    assert BINARY.unit_events_per_row_of([a, b, c]) == [[2, 1], [3], [2, 5]]
    assert BINARY.unit_events_per_row_of([a, b, c]) == [BINARY.unit_events_per_row(x) for x in (a, b, c)]
    c[1, 2] = 0.5  # one fraction in one block: none is counted here (each is then checked on its own)
    assert BINARY.unit_events_per_row_of([a, b, c]) is None
    assert BINARY.unit_events_per_row_of([a.bool(), b.bool()]) == [[2, 1], [3]]


def test_multi_valued_and_ternary_neurons_still_counted_by_the_general_path():
    # DoubleSpiker emits 0/2: the fast path declines, the general path counts 2 events per value
    x = torch.tensor([[0.9, 0.1, 0.7, 0.2]])
    assert profile(DoubleSpiker(), x, spikes="multi:2", neuron_classes=(DoubleSpiker,)).totals["spikes"] == 4

    class Signed(nn.Module):
        def forward(self, x):
            return torch.sign(x - 0.5)  # values -1/+1: one event per non-zero under ternary

    x = torch.tensor([[0.9, 0.1, 0.7, 0.5]])  # signs +1, -1, +1, 0 -> 3 events
    assert profile(Signed(), x, spikes="ternary", neuron_classes=(Signed,)).totals["spikes"] == 3


def test_parameter_counts_with_shared_modules_equal_module_parameters():
    # a shared Linear(4, 4) (16 + 4 = 20 parameters) used under two parents, plus a tied weight
    shared = nn.Linear(4, 4)
    tied = nn.Linear(4, 4)
    tied.weight = shared.weight  # tied: 4 own (bias) parameters in tied's subtree beyond shared's 16
    net = nn.Sequential(nn.Sequential(shared, nn.ReLU()), nn.Sequential(shared, tied))
    prof = profile(net, torch.rand(2, 4))
    expected = {name: sum(p.numel() for p in m.parameters()) for name, m in net.named_modules()}
    got = {layer.name: layer.params for layer in prof.layers}
    assert got[""] == expected[""] == 24  # 20 (shared) + 4 (tied's bias), each parameter once
    assert all(got[name] == expected[name] for name in got)


# -- suspending the counting mode inside a neuron ----------------------------------------------------
class _OpCounter(torch.utils._python_dispatch.TorchDispatchMode):
    """A caller's own dispatch mode: counts the aten ops it sees."""

    def __init__(self):
        super().__init__()
        self.calls = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.calls[str(func)] += 1
        return func(*args, **(kwargs or {}))


class _OwnModeAroundNeuron(nn.Module):
    """Enters a dispatch mode of its own around its neuron: the counting mode is then not the top of
    the mode stack when the neuron starts, and every mode is switched off inside it instead."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        x = self.net[0](x)
        with _OpCounter():
            x = self.net[1](x)
        return self.net[3](self.net[2](x))


def test_neuron_counts_same_whether_counting_mode_is_popped_alone_or_all_modes_are():
    x = torch.rand(5, 3, 6) * 2  # [T=5, B=3, 6]
    plain, own = _spiking_net(neuron.LIFNode, step_mode="m"), _spiking_net(neuron.LIFNode, step_mode="m")
    pp, po = profile(plain, x, layout="TB").totals, profile(_OwnModeAroundNeuron(own), x, layout="TB").totals
    assert pp["spikes"] > 0
    assert {k: pp[k] for k in COUNTS} == {k: po[k] for k in COUNTS}


def test_a_callers_outer_mode_sees_the_same_ops_with_and_without_the_profile():
    # only ashbench's own mode is popped inside a neuron: a caller's mode below it sees the neuron's
    # internal ops too, exactly the op stream of a plain forward under that mode
    x = torch.rand(5, 3, 6) * 2
    net = _spiking_net(neuron.LIFNode, step_mode="m")
    with torch.no_grad(), _OpCounter() as alone:
        net(x)
    functional.reset_net(net)
    with _OpCounter() as outer:
        p = profile(net, x, layout="TB")
    assert p.totals["spikes"] > 0 and alone.calls
    # every op of the plain forward, as often (the outer mode also sees the profile's own tensor work)
    missing = {op: n - outer.calls[op] for op, n in alone.calls.items() if outer.calls[op] < n}
    assert missing == {}


# -- neuron outputs counted after the forward (deferred), and the exact fallback ----------------------
class _ZeroesItsSpikes(nn.Module):
    """Uses its neuron's spikes, then overwrites them in place: counted after the forward, they would read
    as all zeros; the version check makes the profile again counting each output as it comes."""

    def __init__(self, net, overwrite: bool):
        super().__init__()
        self.net, self.overwrite = net, overwrite

    def forward(self, x):
        spikes = self.net[1](self.net[0](x))
        out = self.net[3](self.net[2](spikes))
        if self.overwrite:
            spikes.zero_()
        return out


def test_neuron_output_modified_in_place_is_still_counted_as_emitted():
    x = torch.rand(5, 3, 6) * 2  # [T=5, B=3, 6]
    kept = profile(_ZeroesItsSpikes(_spiking_net(neuron.LIFNode, step_mode="m"), False), x, layout="TB").totals
    zeroed = profile(_ZeroesItsSpikes(_spiking_net(neuron.LIFNode, step_mode="m"), True), x, layout="TB").totals
    assert kept["spikes"] > 0
    assert {k: kept[k] for k in COUNTS} == {k: zeroed[k] for k in COUNTS}
    assert kept["firing_rate_per_step"] == zeroed["firing_rate_per_step"]


def test_counts_identical_when_every_neuron_output_is_counted_at_once(monkeypatch):
    # a pending budget of 0 bytes counts each output as its neuron returns it (as the fallback does)
    from ashbench.profiler import engine

    x = torch.rand(5, 3, 6) * 2
    deferred = profile(SingleStepLoop(_spiking_net(neuron.LIFNode)), x, layout="TB").to_dict()
    monkeypatch.setattr(engine, "PENDING_BYTES", 0)
    at_once = profile(SingleStepLoop(_spiking_net(neuron.LIFNode)), x, layout="TB").to_dict()
    assert deferred["totals"]["spikes"] > 0 and deferred == at_once


# -- whose state a profile resets: the frameworks the model holds, declared neurons, never an ANN's --------
class _CountsResets(nn.Module):
    def __init__(self):
        super().__init__()
        self.resets = 0
        self.fc = nn.Linear(3, 2)

    def reset(self):
        self.resets += 1

    def forward(self, x):
        return self.fc(x)


class _Fires(_CountsResets):
    """A declared neuron of no framework: spikes where its input is above 0."""

    def forward(self, x):
        return (x > 0).float()


def test_an_ann_module_with_a_reset_method_is_not_reset():
    # spikingjelly's reset_net would call any reset() (which may re-initialise weights); an ANN holds no
    # framework's module, so nothing is reset
    model = nn.Sequential(_CountsResets(), nn.ReLU())
    profile(model, torch.rand(4, 3))
    assert model[0].resets == 0


def test_a_declared_neuron_is_reset_before_and_after_the_profile():
    model = nn.Sequential(nn.Linear(3, 3), _Fires())
    t = profile(model, torch.rand(4, 3), neuron_classes=(_Fires,)).totals
    assert model[1].resets == 2 and t["neuron_updates"] == 3  # 3 neurons, one step (per sample)


def test_a_spikingjelly_memory_module_that_is_no_neuron_is_reset():
    from spikingjelly.activation_based import base

    class Accumulates(base.MemoryModule):
        def __init__(self):
            super().__init__()
            self.register_memory("total", 0.0)
            self.resets = 0

        def reset(self):
            self.resets += 1
            super().reset()

        def forward(self, x):
            self.total = self.total + x
            return self.total

    model = nn.Sequential(nn.Linear(3, 3), Accumulates())
    profile(model, torch.rand(4, 3))
    assert model[1].resets == 2 and model[1].total == 0.0  # reset before and after: its state is cleared


class _Bursts(nn.Module):
    """A declared multi-spike neuron: floor(2x) events, 0 to 2 per neuron for x in [0, 1.5)."""

    def forward(self, x):
        return torch.floor(2 * x)


class _BurstLoop(nn.Module):
    def __init__(self):
        super().__init__()
        self.neuron = _Bursts()

    def forward(self, x):  # x [T, B, 4]: the neuron called once per step
        return torch.stack([self.neuron(x[t]) for t in range(x.shape[0])])


@pytest.mark.parametrize("pending_bytes", [None, 0])  # the outputs held and counted together / one by one
def test_small_neuron_outputs_counted_together_equal_one_by_one(pending_bytes, monkeypatch):
    # x = 0.7 everywhere except [t=1, b=0, 2] = 1.2: floor(1.4) = 1 event per neuron, and 2 at that one:
    # 3 steps x 2 samples x 4 neurons = 24 updates, 24 + 1 = 25 events (12.5 per sample, 12 updates)
    from ashbench.profiler import engine

    if pending_bytes is not None:
        monkeypatch.setattr(engine, "PENDING_BYTES", pending_bytes)
    x = torch.full((3, 2, 4), 0.7)
    x[1, 0, 2] = 1.2
    p = profile(_BurstLoop(), x, layout="TB", neuron_classes=(_Bursts,))
    assert (p.totals["spikes"], p.totals["neuron_updates"]) == (12.5, 12)
    assert p.layer_rows()[1]["firing_rate_per_step"] == [1.0, 9 / 8, 1.0]  # step 1: 9 events, 8 neurons



def test_binary_outputs_counted_together_equal_counted_alone(monkeypatch):
    # two single-step neurons called 5 times each: two groups of 5 rows (widths 24 and 12) counted together
    from ashbench.profiler import engine

    torch.manual_seed(0)
    x = torch.rand(5, 3, 6) * 2
    together = profile(SingleStepLoop(_spiking_net(neuron.LIFNode)), x, layout="TB").to_dict()
    monkeypatch.setattr(engine, "TOGETHER_ELEMENTS", 0)  # each output counted alone
    alone = profile(SingleStepLoop(_spiking_net(neuron.LIFNode)), x, layout="TB").to_dict()
    assert together["totals"]["spikes"] > 0 and together == alone
