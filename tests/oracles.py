"""Independent counters for ``tests/test_field_models.py``: forward hooks and torch's own
``FlopCounterMode``, no ashbench code. Every count is whole-batch (not per sample) and summed over
all time steps; the tests divide by the batch size.

Synaptic operations (``synops``), by forward hooks on every ``Conv1d``/``Conv2d``/``Linear`` (and
spikingjelly's ``layer.*`` wrappers, their subclasses; multi-step inputs [T, B, ...] are folded
into [T*B, ...] as the wrapper does): when the layer's input holds events, its values are the
events per element (0/1 spikes, or 0..k where a sum of spike tensors carries counts, e.g. a SEW
ADD residual), and

- conv: the input convolved with an all-ones kernel of the layer's own weight shape, with the
  layer's stride, padding, dilation and groups, in float64, summed: every event times the number of
  (output position, output channel) pairs it reaches, borders included;
- linear: events x out_features.

Which layer inputs hold events is the caller's decision (``real_inputs``: the names of the layers
whose input is real-valued; every other conv/linear input is events, and must hold non-negative
integers). Spikformer's spiking self-attention (``SpikingSelfAttention``: scores = V.K^T on spikes,
then scores.Q) adds two matmuls, counted from the spikes of its ``qkv_lif``: V.K^T multiplies two
spike tensors, each co-active pair being one synaptic event (sum of the float64 product); the
real-valued scores times Q: each event of Q meets the head_dim rows of the scores.

``binary_synops`` / ``binary_macs`` are the same counts under the value-based definition of
spikingjelly's ``SynOpCounter`` / ``MACCounter``: a layer input counts as spikes when all its values
are 0 or 1 (whatever their provenance), its dense MACs as MACs otherwise; in the attention, a
second operand that happens to be 0/1 makes the product a spike x spike one (co-active pairs), and
a product with a 0/1 operand has no MACs.

``macs``: dense MACs of the conv/linear layers whose input is real (conv: out numel x C_in/groups x
prod(kernel); linear: rows x in x out), plus every ``nn.LSTM`` (closed form below).

Neurons (spikingjelly ``BaseNode``, snnTorch ``SpikingNeuron``) by forward hooks: spikes = sum of
the output spike tensor (the first element of snnTorch's ``(spk, mem)``), neuron updates = its
number of elements, time steps = axis 0 in spikingjelly's multi-step mode, else one per call.

Dense MACs per module (inclusive): ``torch.utils.flop_counter.FlopCounterMode`` flops / 2 (conv,
mm, addmm, bmm), plus a closed form for ``nn.LSTM``, whose fused CPU kernel
(``mkldnn_rnn_layer``) FlopCounterMode has no formula for: per layer and direction,
tokens x 4H x (I + H) (input and recurrent products, bias excluded).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

SYNAPTIC = (nn.Conv1d, nn.Conv2d, nn.Linear)
_CONV = {1: F.conv1d, 2: F.conv2d}


def neuron_classes() -> tuple:
    """Spiking-neuron base classes of the installed frameworks (looked up here, not in ashbench)."""
    classes = []
    try:
        from spikingjelly.activation_based import neuron

        classes.append(neuron.BaseNode)
    except ImportError:
        pass
    try:
        import snntorch

        classes.append(snntorch.SpikingNeuron)
    except ImportError:
        pass
    return tuple(classes)


@dataclass
class Oracle:
    """Whole-batch counts. ``synops``/``macs``/``binary_synops``/``binary_macs``: per module, its own work.
    ``dense_macs``: per module, inclusive of its descendants ('' = the whole model).
    ``spikes``/``updates``/``units``: per neuron module; ``spikes_per_step``/``units_per_step``:
    per neuron module, per time step. ``binary_inputs``: per synaptic layer, whether every input
    it received held only 0/1 values."""

    batch: int
    synops: dict = field(default_factory=lambda: defaultdict(int))
    binary_synops: dict = field(default_factory=lambda: defaultdict(int))
    binary_macs: dict = field(default_factory=lambda: defaultdict(int))
    macs: dict = field(default_factory=lambda: defaultdict(int))
    dense_macs: dict = field(default_factory=dict)
    spikes: dict = field(default_factory=lambda: defaultdict(int))
    updates: dict = field(default_factory=lambda: defaultdict(int))
    spikes_per_step: dict = field(default_factory=lambda: defaultdict(list))
    units_per_step: dict = field(default_factory=lambda: defaultdict(list))
    binary_inputs: dict = field(default_factory=dict)

    def total(self, name: str) -> int:
        counts = getattr(self, name)
        return sum(counts.values())


def _is_binary(x: torch.Tensor) -> bool:
    return bool(((x == 0) | (x == 1)).all())


def _events(name: str, x: torch.Tensor) -> torch.Tensor:
    events = x.detach().double()
    if not bool(torch.equal(events, events.round())) or bool((events < 0).any()):
        raise AssertionError(f"oracle: the input of '{name}' was declared to hold events but holds other values")
    return events


def _fold(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """[T, B, C, *spatial] -> [T*B, C, *spatial] for a conv of len(spatial) spatial dims."""
    dims = len(module.kernel_size) + 1
    return x.reshape(-1, *x.shape[-dims:])


def conv_fanout_sum(module: nn.Module, events: torch.Tensor) -> int:
    """sum(conv(events, all-ones kernel of the layer's weight shape)): events x fan-out."""
    events = _fold(module, events)
    ones = torch.ones(module.weight.shape, dtype=torch.float64)
    out = _CONV[len(module.kernel_size)](events, ones, None, module.stride, module.padding, module.dilation,
                                         module.groups)
    return int(out.sum())


def _synaptic_events(module: nn.Module, events: torch.Tensor) -> int:
    if isinstance(module, nn.Linear):
        return int(events.sum()) * module.out_features
    return conv_fanout_sum(module, events)


def _dense(module: nn.Module, x: torch.Tensor, out: torch.Tensor) -> int:
    if isinstance(module, nn.Linear):
        return x.numel() * module.out_features
    return out.numel() * (module.in_channels // module.groups) * int(torch.tensor(module.kernel_size).prod())


def lstm_dense_macs(module: nn.LSTM, x: torch.Tensor) -> int:
    """tokens x 4H x (I + H) per layer and direction (I: the layer's input width; bias excluded)."""
    if module.proj_size:
        raise NotImplementedError("oracle: LSTM with proj_size")
    width = x.shape[-1]
    tokens = x.numel() // width
    hidden, directions = module.hidden_size, 2 if module.bidirectional else 1
    total = 0
    for layer in range(module.num_layers):
        layer_in = width if layer == 0 else hidden * directions
        total += directions * tokens * 4 * hidden * (layer_in + hidden)
    return total


def _spiking_self_attention_hook(oracle: Oracle, name: str, attn: nn.Module):
    """Counts the two matmuls of spikingjelly's ``SpikingSelfAttention`` from its qkv spikes."""

    def hook(module, args, out):
        qkv = out.detach().double()
        t, n, three_c, length = qkv.shape
        heads = attn.num_heads
        head_dim = three_c // 3 // heads
        q, k, v = qkv.reshape(t, n, 3, heads, head_dim, length).unbind(2)  # each [T, N, heads, Cph, L]
        scores = v @ k.transpose(-2, -1)  # [.., Cph, Cph]: co-active pairs of V and K per entry
        pairs = int(scores.sum())
        meets = int(q.sum()) * head_dim  # each event of Q meets the Cph rows of the scores
        oracle.synops[name] += pairs + meets
        both_binary = _is_binary(scores)
        second = int((scores @ q).sum()) if both_binary else meets
        oracle.binary_synops[name] += pairs + second

    return attn.qkv_lif.register_forward_hook(hook)


def _neuron_hook(oracle: Oracle, name: str):
    def hook(module, args, out):
        spikes = out[0] if isinstance(out, (tuple, list)) else out
        spikes = spikes.detach().double()
        multi = getattr(module, "step_mode", "s") == "m"
        steps = spikes.reshape(spikes.shape[0], -1) if multi else spikes.reshape(1, -1)
        oracle.spikes[name] += int(steps.sum())
        oracle.updates[name] += steps.numel()
        first = 0 if multi else len(oracle.spikes_per_step[name])
        for offset, row in enumerate(steps):
            t = first + offset
            while len(oracle.spikes_per_step[name]) <= t:
                oracle.spikes_per_step[name].append(0)
                oracle.units_per_step[name].append(0)
            oracle.spikes_per_step[name][t] += int(row.sum())
            oracle.units_per_step[name][t] += row.numel()

    return hook


def _synaptic_hook(oracle: Oracle, name: str, real: bool):
    def hook(module, args, out):
        x = args[0].detach()
        binary = _is_binary(x)
        oracle.binary_inputs[name] = oracle.binary_inputs.get(name, True) and binary
        if binary:
            oracle.binary_synops[name] += _synaptic_events(module, x.double())
        else:
            oracle.binary_macs[name] += _dense(module, x, out)
        if real:
            oracle.macs[name] += _dense(module, x, out)
        else:
            oracle.synops[name] += _synaptic_events(module, _events(name, x))

    return hook


def _lstm_hook(oracle: Oracle, name: str):
    def hook(module, args, out):
        oracle.macs[name] += lstm_dense_macs(module, args[0])

    return hook


def count(model: nn.Module, inputs: tuple, batch: int, real_inputs=(), reset=None) -> Oracle:
    """Run ``model(*inputs)`` once under forward hooks (no grad) and return its :class:`Oracle`
    counts; ``real_inputs``: names of the conv/linear layers whose input is real-valued.
    ``reset(model)`` clears the neuron state before and after (None: nothing to clear)."""
    from spikingjelly.activation_based.layer.attention import SpikingSelfAttention

    oracle = Oracle(batch)
    unknown = set(real_inputs) - {n for n, m in model.named_modules() if isinstance(m, SYNAPTIC)}
    if unknown:
        raise AssertionError(f"oracle: no conv/linear layer named {sorted(unknown)}")
    neurons = neuron_classes()
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, SYNAPTIC):
            handles.append(module.register_forward_hook(_synaptic_hook(oracle, name, name in real_inputs)))
        elif neurons and isinstance(module, neurons):
            handles.append(module.register_forward_hook(_neuron_hook(oracle, name)))
        elif isinstance(module, nn.LSTM):
            handles.append(module.register_forward_hook(_lstm_hook(oracle, name)))
        elif isinstance(module, SpikingSelfAttention):
            handles.append(_spiking_self_attention_hook(oracle, name, module))
    try:
        _run(model, inputs, reset)
    finally:
        for h in handles:
            h.remove()
    oracle.dense_macs = dense_macs(model, inputs, reset)
    return oracle


def _run(model, inputs, reset):
    if reset is not None:
        reset(model)
    with torch.no_grad():
        model(*inputs)
    if reset is not None:
        reset(model)


def dense_macs(model: nn.Module, inputs: tuple, reset=None) -> dict[str, int]:
    """Inclusive dense MACs per module name ('' = the model): FlopCounterMode flops / 2, plus the
    closed form of every nn.LSTM (credited to it and its ancestors)."""
    lstm: dict[str, int] = {}
    handles = [m.register_forward_hook(lambda mod, args, out, n=n: lstm.__setitem__(
        n, lstm.get(n, 0) + lstm_dense_macs(mod, args[0])))
        for n, m in model.named_modules() if isinstance(m, nn.LSTM)]
    counter = FlopCounterMode(display=False)
    try:
        with counter:
            _run(model, inputs, reset)
    finally:
        for h in handles:
            h.remove()
    root = type(model).__name__
    macs: dict[str, int] = {}
    for scope, ops in counter.get_flop_counts().items():
        if scope == "Global":
            continue
        flops = sum(ops.values())
        assert flops % 2 == 0
        name = "" if scope == root else scope.removeprefix(root + ".")
        macs[name] = flops // 2
    for name, value in lstm.items():
        parts = name.split(".")
        for ancestor in [""] + [".".join(parts[:i]) for i in range(1, len(parts) + 1)]:
            macs[ancestor] = macs.get(ancestor, 0) + value
    return {name: value for name, value in macs.items() if value}
