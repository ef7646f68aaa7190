"""The field's own models (``ashbench/models/field_zoo.py``, registered as ``field-*``) profiled with
ashbench's defaults (no flag: ``spikes='auto'``, the workload's layout) against independent
counters (``tests/oracles.py``: forward hooks and torch's FlopCounterMode), exactly, in totals and
per layer: synops, MACs, dense MACs, spikes, neuron updates, neurons, firing rates. Also: single-step
equals multi-step, repeated profiles are bit-identical, and the two other counters of the field
(spikingjelly 2.0's ``SynOpCounter``, NeuroBench when installed) agree wherever their definitions
agree with ashbench's; every difference left is asserted exactly and explained.

Counts are integers. The oracles count whole batches; ashbench reports per sample (/ batch size),
so ashbench values are multiplied by the batch size (2, exact in floating point) before comparing.
"""

from __future__ import annotations

import functools
import subprocess
import sys

import oracles
import pytest
import torch
import torch.nn as nn
from spikingjelly.activation_based import functional

from ashbench.models import MODELS, field_zoo, list_models
from ashbench.models.registry import call_factory
from ashbench.profiler import profile

FIELD_MODELS = sorted(name for name in list_models() if name.startswith("field-"))

# Which conv/linear inputs are real-valued under ashbench's definition ("events come from
# provenance": neuron outputs, model inputs whose values are 0/1, and what views, copies, cat, zero
# padding, max pooling and sums of event tensors make of them); every other conv/linear input holds
# events, and the oracle counts them as events (it checks they are non-negative integers).
REAL_INPUTS = {
    # Every conv reads spikes (LIF outputs, max pooling of the stem's spikes) except the stem.
    "field-spiking-resnet18": {
        "conv1": "real pixels (direct encoding)",
        "fc": "the adaptive average pool of spikes: a mean is not event-preserving",
    },
    # As above; a block returns identity + out (ADD), so the convs after block 0 of each stage
    # read spike counts 0..3, which carry that many events each.
    "field-sew-resnet18": {
        "conv1": "real pixels (direct encoding)",
        "fc": "the adaptive average pool of spike counts",
    },
    # Stem convs 1-3 and the positional-encoding conv read LIF spikes; the stem's output adds the
    # positional spikes to the stage-3 spikes (counts 0..2), and every block input is that plus
    # the attention's and the MLP's output spikes (sums: counts), read by qkv_conv_bn and mlp.fc1.
    # The attention's V.K^T multiplies two spike tensors (co-active pairs), then scores.Q meets
    # Q's spikes (events x head_dim).
    "field-spikformer": {
        "patch_embed.stages.0.conv_bn.block.0": "real pixels",
        "head": "the mean over tokens",
    },
    # Stage convs 1-2 and the final stage's conv read (max-pooled) LIF spikes, rpe_conv the final
    # LIF's spikes, q/k/v convs the shortcut LIF's spikes, the MLP's convs its LIFs' spikes;
    # proj_conv reads q * kv, an elementwise product (AND) of spike tensors: events.
    "field-spike-driven-transformer": {
        "patch_embed.stages.0.0": "real pixels",
        "head": "the mean over T of the head LIF's spikes",
    },
    # Every conv reads spikes or sums of spikes (x + shortcut, x + attention, x + MLP carry counts)
    # or, in the Q-K attention's projection, attn * k (an elementwise AND of spikes), except the stem.
    "field-qkformer": {
        "patch_embed1.conv1": "real pixels",
        "head": "the mean over tokens and T",
    },
    # The input is rate-coded 0/1 spikes (a model input whose values are 0/1 holds events), conv2
    # reads lif1's spikes, fc1 lif2's.
    "field-snntorch-csnn": {},
    # No neuron: the LSTM (counted by the oracle's closed form) and fc read real values.
    "field-lstm": {"fc": "the LSTM's output"},
    "field-lstm-h64": {"fc": "the LSTM's output"},
}

# Where spikingjelly's SynOpCounter and ashbench disagree, by definition (see
# test_spikingjelly_synop_counter): SynOpCounter calls a conv/matmul operand spikes when all its
# values are 0 or 1, whatever their provenance, and counts nothing when they are not.
# (1) Event counts: an input holding a sum of spikes with some value >= 2 is not 0/1, so SynOpCounter
#     counts no synops for that layer (it would price it as MACs); ashbench counts every event
#     (a count k is k events) times its fan-out.
COUNT_INPUTS = {
    "field-spiking-resnet18": set(),
    "field-sew-resnet18": {"layer1.1.conv1", "layer2.0.conv1", "layer2.0.downsample.0", "layer2.1.conv1",
                           "layer3.0.conv1", "layer3.0.downsample.0", "layer3.1.conv1", "layer4.0.conv1",
                           "layer4.0.downsample.0", "layer4.1.conv1"},
    "field-spikformer": {"blocks.0.attn.qkv_conv_bn.0", "blocks.0.mlp.fc1.0"},
    "field-spike-driven-transformer": set(),
    "field-qkformer": {"patch_embed2.conv1", "patch_embed2.shortcut.0", "patch_embed3.conv1",
                       "patch_embed3.shortcut.0", "stage1.0.attn.qk_conv_bn.0", "stage1.0.mlp.fc1",
                       "stage2.0.attn.qk_conv_bn.0", "stage2.0.mlp.fc1", "stage3.0.attn.qkv_conv_bn.0",
                       "stage3.0.mlp.fc1"},
    "field-snntorch-csnn": set(),
    "field-lstm": set(),
    "field-lstm-h64": set(),
}
# (2) Real values that happen to be 0/1: SynOpCounter counts them as spikes (synops); ashbench
#     counts MACs. field-spiking-resnet18's fc reads the average pool of layer4's spikes over a
#     1 x 1 map (32 x 32 images), which is the spikes themselves (an average is real by definition).
BINARY_REAL_INPUTS = {
    "field-spiking-resnet18": {"fc"},
    "field-sew-resnet18": set(),  # its fc reads the average of spike counts 0..3: not 0/1
    "field-spikformer": set(),
    "field-spike-driven-transformer": set(),
    "field-qkformer": set(),
    "field-snntorch-csnn": set(),
    "field-lstm": set(),
    "field-lstm-h64": set(),
}

# Models that run in both of spikingjelly's step modes; the transformers are built multi-step only
# (their neurons come from ``_make_multi_step_neuron``, their blocks take [T, N, ...]), the snnTorch
# CSNN is single-step only (one Leaky call per step) and the LSTM has no step mode.
BOTH_STEP_MODES = ["field-spiking-resnet18", "field-sew-resnet18"]


def test_every_field_model_is_registered_and_specified():
    assert FIELD_MODELS == sorted(REAL_INPUTS)
    assert set(FIELD_MODELS) == set(COUNT_INPUTS) == set(BINARY_REAL_INPUTS)


@functools.cache
def _case(name: str):
    """(workload, ashbench's default profile, oracle counts), built once per model."""
    workload = call_factory(MODELS.get(name))
    prof = profile(workload.model, workload.inputs, layout=workload.layout, neuron_classes=workload.neuron_classes)
    oracle = oracles.count(workload.model, workload.inputs, prof.batch_size, REAL_INPUTS[name], functional.reset_net)
    return workload, prof, oracle


def _rows(prof) -> dict:
    return {row["module"]: row for row in prof.to_dict()["layers"]}


def _whole_batch(rows: dict, batch: int, key: str, own: bool = False) -> dict:
    """{module: whole-batch count} of the modules where it is non-zero (own counts or inclusive)."""
    out = {}
    for name, row in rows.items():
        value = row["self"][key] if own else row[key]
        if value:
            out[name] = value * batch
    return out


def _nonzero(counts: dict) -> dict:
    return {name: value for name, value in counts.items() if value}


@pytest.mark.parametrize("name", FIELD_MODELS)
def test_default_profile_equals_the_oracles(name):
    workload, prof, oracle = _case(name)
    b = prof.batch_size
    assert b == 2
    totals, rows = prof.totals, _rows(prof)
    assert prof.unsupported_ops == [] and prof.warnings == []

    # synops and MACs: each conv/linear (and the spiking self-attention's matmuls) own work, per layer
    assert _whole_batch(rows, b, "synops", own=True) == _nonzero(oracle.synops)
    assert _whole_batch(rows, b, "macs", own=True) == _nonzero(oracle.macs)
    assert totals["synops"] * b == oracle.total("synops")
    assert totals["macs"] * b == oracle.total("macs")
    # dense MACs, inclusive per module, as FlopCounterMode's module hierarchy credits them
    assert _whole_batch(rows, b, "dense_macs") == oracle.dense_macs
    assert totals["dense_macs"] * b == oracle.dense_macs.get("", 0)
    assert totals["macs"] <= totals["dense_macs"]

    # neurons: spikes, updates, neurons per step, firing rates, per layer and in total
    neuron_rows = {n: r for n, r in rows.items() if r["branch"] == "neuron"}
    assert set(neuron_rows) == set(oracle.updates)
    for n, row in neuron_rows.items():
        spikes, updates = oracle.spikes[n], oracle.updates[n]
        assert (row["spikes"] * b, row["neuron_updates"] * b) == (spikes, updates), n
        assert row["neurons"] * b == max(oracle.units_per_step[n]), n
        assert row["timesteps"] == len(oracle.units_per_step[n]), n
        assert row["firing_rate"] == spikes / updates, n  # the same division of the same integers
        assert row["firing_rate_per_step"] == [s / u for s, u in zip(oracle.spikes_per_step[n],
                                                                      oracle.units_per_step[n])], n
    spikes, updates = oracle.total("spikes"), oracle.total("updates")
    assert (totals["spikes"] * b, totals["neuron_updates"] * b) == (spikes, updates)
    assert totals["firing_rate"] == (spikes / updates if updates else 0.0)
    steps = max((len(v) for v in oracle.units_per_step.values()), default=0)
    spikes_t = [sum(v[t] for v in oracle.spikes_per_step.values() if t < len(v)) for t in range(steps)]
    units_t = [sum(v[t] for v in oracle.units_per_step.values() if t < len(v)) for t in range(steps)]
    assert totals["firing_rate_per_step"] == [s / u for s, u in zip(spikes_t, units_t)]
    assert totals["neurons"] * b == max(units_t, default=0)

    # the model is active (the factories' documented activity settings): every neuron layer fires
    if not name.startswith("field-lstm"):
        assert all(oracle.spikes[n] > 0 for n in oracle.updates), oracle.spikes
        assert 0.05 < totals["firing_rate"] < 0.6


def test_the_lstm_of_the_issue_report_counts_every_mac():
    # The LSTM the issue measured (640 of its 918,144 MACs counted then), per sample: layer 1 reads 32
    # features, layer 2 the 64 outputs of layer 1, both with a 64-wide recurrent state and 4 gates:
    # 16 steps * (4*64*(32+64) + 4*64*(64+64)) = 16 * (24,576 + 32,768) = 917,504, + Linear(64, 10) 640 = 918,144
    _, prof, _ = _case("field-lstm-h64")
    rows = _rows(prof)
    assert rows["lstm"]["macs"] == 917_504 and rows["fc"]["macs"] == 640
    assert prof.totals["macs"] == prof.totals["dense_macs"] == 918_144
    assert prof.totals["synops"] == 0 and prof.unsupported_ops == []


@pytest.mark.parametrize("name", FIELD_MODELS)
def test_repeated_profiles_are_bit_identical(name):
    workload, first, _ = _case(name)
    for _ in range(2):
        again = profile(workload.model, workload.inputs, layout=workload.layout,
                        neuron_classes=workload.neuron_classes)
        assert again.to_dict() == first.to_dict()
        assert repr(again.to_dict()) == repr(first.to_dict())  # floats to the last bit, same order


class StepLoop(nn.Module):
    """Runs a single-step model over [T, B, ...] one step per call (spikingjelly step mode 's')."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return torch.stack([self.net(x) for x in x_seq])


@pytest.mark.parametrize("name", BOTH_STEP_MODES)
def test_single_step_equals_multi_step(name):
    _, multi, _ = _case(name)
    workload = call_factory(MODELS.get(name))  # a fresh copy: the step mode is changed below
    functional.set_step_mode(workload.model, "s")
    single = profile(StepLoop(workload.model), workload.inputs, layout="TB")
    # Equal in every count but weight_read_bytes: weights are read once per op call, and a
    # single-step run calls each conv T times (T x the weight reads of one multi-step call on [T*B, ...]).
    differs = {"weight_read_bytes"}
    assert multi.totals["weight_read_bytes"] * multi.timesteps == single.totals["weight_read_bytes"]
    assert {k: v for k, v in multi.totals.items() if k not in differs} == \
        {k: v for k, v in single.totals.items() if k not in differs}
    multi_rows = _rows(multi)
    single_rows = {("" if n == "net" else n.removeprefix("net.")): r for n, r in _rows(single).items() if n}
    assert set(multi_rows) == set(single_rows)
    for n, row in multi_rows.items():
        other = single_rows[n]
        for key, value in row.items():
            if key in differs or key in ("module", "depth"):
                continue
            if key == "self":
                value = {k: v for k, v in value.items() if k not in differs}
                other_value = {k: v for k, v in other[key].items() if k not in differs}
                assert value == other_value, (n, key)
            else:
                assert value == other[key], (n, key)
    assert single.totals["synops"] > 0 and single.totals["spikes"] > 0


def _spikingjelly_counter_own(model: nn.Module, inputs: tuple, counter, ops=None) -> dict:
    """A spikingjelly op counter (SynOpCounter, MACCounter) per module: its own count (a scope's
    count minus that of its nearest descendants that ran), over the aten ops ``ops`` (None: all)."""
    from spikingjelly.activation_based.op_counter import DispatchCounterMode

    functional.reset_net(model)
    with torch.no_grad(), DispatchCounterMode([counter]):
        model(*inputs)
    functional.reset_net(model)
    records = counter.get_counts()  # scope 'Root.a.b' -> {op: count}, inclusive of its descendants
    root = type(model).__name__
    # a scope exists for every module that ran (a ModuleList never runs: its children's counts go
    # to the nearest ancestor that did)
    inclusive = {}
    for name, _ in model.named_modules():
        scope = f"{root}.{name}" if name else root
        if scope in records:
            inclusive[name] = sum(v for op, v in records[scope].items() if ops is None or op in ops)
    own = dict(inclusive)
    for name, value in inclusive.items():
        parent = name
        while parent:
            parent = parent.rpartition(".")[0]
            if parent in inclusive:
                own[parent] -= value
                break
    return _nonzero(own)


@pytest.mark.parametrize("name", FIELD_MODELS)
def test_spikingjelly_synop_counter(name):
    """SynOpCounter equals, per layer, the oracle's value-based count (an operand is spikes when all
    its values are 0/1); ashbench equals the provenance count (test above). The two definitions
    agree on every layer but COUNT_INPUTS and BINARY_REAL_INPUTS, asserted here one by one."""
    from spikingjelly.activation_based.op_counter import SynOpCounter

    workload, prof, oracle = _case(name)
    counter = SynOpCounter()
    own = _spikingjelly_counter_own(workload.model, workload.inputs, counter)
    assert own == _nonzero(oracle.binary_synops)
    assert sum(own.values()) == counter.get_total()
    layers = set(oracle.synops) | set(oracle.binary_synops)
    differ = {n for n in layers if oracle.synops.get(n, 0) != oracle.binary_synops.get(n, 0)}
    assert differ == COUNT_INPUTS[name] | BINARY_REAL_INPUTS[name]
    for n in COUNT_INPUTS[name]:  # events (counts up to 3): SynOpCounter counts none of them
        assert not oracle.binary_inputs[n] and oracle.binary_synops.get(n, 0) == 0 < oracle.synops[n], n
    for n in BINARY_REAL_INPUTS[name]:  # real 0/1 values: ashbench counts MACs, SynOpCounter synops
        assert n in REAL_INPUTS[name] and oracle.binary_inputs[n], n
        assert oracle.synops.get(n, 0) == 0 < oracle.binary_synops[n] and oracle.macs[n] > 0, n
    # so SynOpCounter's total = ashbench's synops - events of count inputs + 0/1 values of real inputs
    b = prof.batch_size
    expected = (prof.totals["synops"] * b - sum(oracle.synops[n] for n in COUNT_INPUTS[name])
                + sum(oracle.binary_synops[n] for n in BINARY_REAL_INPUTS[name]))
    assert oracle.total("binary_synops") == expected


@pytest.mark.parametrize("name", FIELD_MODELS)
def test_spikingjelly_mac_counter(name):
    """MACCounter (its conv and matmul rules; it also prices BatchNorm's affine step as MACs, which
    ashbench counts as elementwise ops, so those records are left out) equals, per layer, the
    oracle's value-based MACs: the dense MACs of every conv/linear whose input is not all 0/1. It
    differs from ashbench's MACs on the same layers as SynOpCounter, the other way round, and on
    nn.LSTM, whose fused CPU kernel (mkldnn_rnn_layer) it has no rule for (0 MACs)."""
    from spikingjelly.activation_based.op_counter import MACCounter

    aten = torch.ops.aten
    matmul_ops = {aten.convolution.default, aten.mm.default, aten.addmm.default, aten.bmm.default,
                  aten.baddbmm.default}
    workload, prof, oracle = _case(name)
    own = _spikingjelly_counter_own(workload.model, workload.inputs, MACCounter(), matmul_ops)
    assert own == _nonzero(oracle.binary_macs)
    lstms = {n for n, m in workload.model.named_modules() if isinstance(m, nn.LSTM)}
    differ = {n for n in set(oracle.macs) | set(oracle.binary_macs)
              if oracle.macs.get(n, 0) != oracle.binary_macs.get(n, 0)}
    assert differ == COUNT_INPUTS[name] | BINARY_REAL_INPUTS[name] | lstms
    for n in COUNT_INPUTS[name]:  # spike counts: dense MACs for MACCounter, synops for ashbench
        assert oracle.macs.get(n, 0) == 0 < oracle.binary_macs[n], n
    for n in BINARY_REAL_INPUTS[name] | lstms:  # real 0/1 values, LSTM: MACs for ashbench only
        assert oracle.binary_macs.get(n, 0) == 0 < oracle.macs[n], n


def test_neurobench_on_the_snntorch_csnn():
    """NeuroBench's workload metrics on the snnTorch CSNN: Effective_ACs = synops,
    Effective_MACs = MACs, Dense = dense MACs, MembraneUpdates = neuron updates and
    ActivationSparsity = 1 - firing rate, exactly."""
    pytest.importorskip("neurobench")
    import snntorch
    from neurobench.metrics.workload import ActivationSparsity, MembraneUpdates, SynapticOperations
    from neurobench.models import NeuroBenchModel

    workload, prof, _ = _case("field-snntorch-csnn")
    net = workload.model

    class Wrapped(NeuroBenchModel):
        """NeuroBench's data layout is [B, T, ...]; the tutorial net takes [T, B, ...]."""

        def __init__(self):
            super().__init__()
            self.add_activation_module(snntorch.SpikingNeuron)

        def __call__(self, data):
            spikes, _ = net(data.transpose(0, 1))
            return spikes.transpose(0, 1)

        def __net__(self):
            return net

    model = Wrapped()
    model.register_hooks()
    try:
        data = (workload.inputs[0].transpose(0, 1), torch.zeros(workload.inputs[0].shape[1]))
        with torch.no_grad():
            preds = model(data[0])
        ops = SynapticOperations()(model, preds, data)
        updates = MembraneUpdates()(model, preds, data)
        sparsity = ActivationSparsity()(model, preds, data)
    finally:
        model.cleanup_hooks()
    totals, b = prof.totals, prof.batch_size
    # NeuroBench convolves the nonzero inputs with a copy of the layer whose nonzero weights are 1:
    # events x fan-out when no weight is exactly 0 (none is, below), the same as synops. Every
    # input of this net is 0/1 spikes (rate-coded input, then Leaky spikes), so no MACs.
    assert all(bool((m.weight != 0).all()) for m in (net.conv1, net.conv2, net.fc1))
    assert (ops["Effective_ACs"], ops["Effective_MACs"]) == (totals["synops"], totals["macs"]) == (49648, 0)
    # Dense runs all-ones inputs through all-ones weights: dense MACs when no conv pads (none does;
    # with zero padding NeuroBench's border outputs would sum fewer taps than prod(out) C_in k^2).
    assert ops["Dense"] == totals["dense_macs"]
    # NeuroBench counts every neuron at the first step, and at a later step each neuron whose
    # membrane changed: equal to neurons x T because every membrane changes at every step here
    # (decay 0.9 and biased currents); ashbench counts neurons x T by definition.
    assert updates == totals["neuron_updates"]
    # sparsity = zero outputs / outputs of the neuron layers = (updates - spikes) / updates
    spikes, units = totals["spikes"] * b, totals["neuron_updates"] * b
    assert sparsity == (units - spikes) / units
    assert 1 - sparsity == pytest.approx(totals["firing_rate"], rel=1e-15)


def test_torchvision_stub_leaves_nothing_behind():
    names = ("torchvision", "torchvision.models", "torchvision.models.utils")
    before = {n: sys.modules.get(n) for n in names}
    with field_zoo.torchvision_stub():
        if before["torchvision"] is None:
            with pytest.raises(RuntimeError, match="pretrained weights are not available"):
                sys.modules["torchvision.models.utils"].load_state_dict_from_url("https://example.invalid/w.pth")
    assert {n: sys.modules.get(n) for n in names} == before
    for name in BOTH_STEP_MODES:  # the two factories that import the ResNet zoo under the stub
        call_factory(MODELS.get(name))
    assert {n: sys.modules.get(n) for n in names} == before


@pytest.mark.slow
def test_resnet_zoo_imports_without_torchvision_in_a_fresh_interpreter():
    code = "\n".join([
        "import sys",
        "from ashbench.models import MODELS",
        "zoo = 'spikingjelly.activation_based.model.'",
        "assert zoo + 'sew_resnet' not in sys.modules and zoo + 'spiking_resnet' not in sys.modules",
        "MODELS.get('field-spiking-resnet18')()",
        "MODELS.get('field-sew-resnet18')()",
        "assert zoo + 'sew_resnet' in sys.modules and zoo + 'spiking_resnet' in sys.modules",
        "assert not [n for n in sys.modules if n.split('.')[0] == 'torchvision'], 'a torchvision module is left'",
        "from ashbench.models import field_zoo",
        "assert sys.modules[zoo + 'sew_resnet'].load_state_dict_from_url is field_zoo._no_pretrained_weights",
        "print('ok')",
    ])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
