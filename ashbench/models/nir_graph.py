"""Profiling a Neuromorphic Intermediate Representation graph: ``ashbench energy --model graph.nir``.

Reading. The file is read the way ``nir.read`` reads it (``nir.serialization.hdf2dict`` of its
``node`` group, then ``nir.dict2NIRNode``), with two additions: every node type is checked against
the supported list first, so that an unsupported node is named (``nir.read`` fails with a bare
assertion), and a ``v_reset`` dataset of an IF, LIF or CubaLIF node (written by NIR versions newer
than the installed one, whose dataclasses reject it) is kept and honoured. A missing file, a file
that is not HDF5, or HDF5 that is not a NIR graph are one-line errors.

Conversion. Each NIR node becomes one torch module registered under the node's own name (a ``.``
becomes ``_``; a name that is an attribute of the wrapper, e.g. ``training``, gets a ``nir_``
prefix), so the profile's layer rows carry the NIR node names. The installed spikingjelly
``nir_exchange`` is not used: it targets other nir/nirtorch versions (``nirtorch.torch_to_nir``
has no ``type_check`` argument, ``nir.IF`` no ``v_reset`` field in nir 1.0.4), and
``nirtorch.nir_to_torch`` does not add the inputs of a node with several incoming edges and runs a
stray ``torch.ones`` op on every call; the small interpreter below does neither. Supported nodes,
with ``dt`` the simulation step in seconds (the graph's ``metadata['dt']`` when it has one, else
:data:`DEFAULT_DT` = 1e-4 s, the convention of spikingjelly's and other frameworks' exporters):

==============  ===============================================================================
NIR node        torch module (counted by the profiler as)
==============  ===============================================================================
Input, Output   none: the step input x[t]; the output is the sum of the Output node's inputs
Affine          ``nn.Linear(in, out, bias=True)``, ``weight`` [out, in], ``bias`` [out] (layer)
Linear          ``nn.Linear(in, out, bias=False)`` (layer)
Scale           :class:`Scale`: ``x * scale`` (elementwise op)
Conv1d, Conv2d  ``nn.Conv1d`` / ``nn.Conv2d`` with the node's stride, padding (int, tuple, 'same'
                or 'valid'), dilation and groups; an all-zero bias is dropped (numerically the
                same; NIR has no bias-free convolution) (layer)
Flatten         ``nn.Flatten(start_dim+1, end_dim+1)`` (NIR dims exclude the batch; negative kept)
AvgPool2d       ``nn.AvgPool2d(kernel_size, stride, padding)``
SumPool2d       ``nn.AvgPool2d(kernel_size, stride, padding, divisor_override=1)``: a window sum
IF              :class:`NIRIF`: v += dt*r*x                                  (spiking neuron)
LIF             :class:`NIRLIF`: v += ((v_leak - v) + r*x) / (tau/dt)        (spiking neuron)
CubaLIF         :class:`NIRCubaLIF`: i += (w_in*x - i) / (tau_syn/dt), then
                v += ((v_leak - v) + r*i) / (tau_mem/dt)                     (spiking neuron)
LI              :class:`NIRLI`: v += ((v_leak - v) + r*x) / (tau/dt); output v (not a neuron:
                its arithmetic is counted as elementwise ops)
I (Integrator)  :class:`NIRIntegrator`: v += dt*r*x; output v (elementwise ops, as LI)
==============  ===============================================================================

These are the forward-Euler discretisations of the NIR equations at step ``dt``. The spiking
neurons fire ``z = (v > v_threshold)`` (NIR's strict comparison: a membrane exactly at threshold
does not fire, where spikingjelly's nodes, which fire at ``v >= v_threshold``, do), then reset by
subtraction, ``v -= z * v_threshold`` (nir 1.0's equations), or, when the node has ``v_reset``, to
it: ``v = v_reset`` where z. The membrane starts at ``v_reset`` when there is one, else at 0 (and
the synaptic current of CubaLIF at 0). Every parameter may be per-neuron (an array of the neuron
shape) or uniform; all arithmetic is float32 (parameters, weights and inputs are cast to it). The
spiking neurons are subclasses of spikingjelly's ``SimpleBaseNode`` in single-step mode, so the
profiler counts them as spiking neurons (one time step per call); their classes are also the
workload's ``neuron_classes`` (:data:`NEURON_CLASSES`). Any other node type (Delay, Threshold, a
nested NIRGraph, ...), a graph with a cycle (recurrent edges), several Input nodes or a node that
receives no edge is refused with a one-line error that names the node.

Time steps. A NIR graph is stateful and runs one time step per call. :class:`NIRNetwork` takes a
``[T, B, *input_shape]`` tensor (layout TB), resets every neuron's state, then calls the graph
once per step ``x[t]`` (a node with several incoming edges gets their sum) and returns the Output
node's values stacked to ``[T, B, ...]``. Because the graph runs step by step, a layer's weights
are read once per step: the memory traffic of a multi-step spikingjelly net, which runs a layer
once over all T steps, differs, while synops, MACs, spikes, neuron updates and firing rates are
the same.

Inputs. ``--inputs x.pt``: a tensor saved with ``torch.save``, loaded with ``weights_only=True``,
of shape ``[T, B, *input_shape]`` (the Input node's shape, which excludes batch and time). Without
it: Bernoulli (Poisson-rate) spikes ``(torch.rand((T, B, *input_shape), generator=g) < rate)``
with ``g = torch.Generator().manual_seed(0)``, ``rate = --input-rate`` (default 0.1), ``T =
--timesteps`` (default 8) and ``B = --batch-size`` (default 1), so counts are reproducible. 0/1
input spikes are events, so the first layer's work is counted as synops.
"""

from __future__ import annotations

import dataclasses
import math
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from spikingjelly.activation_based import base, functional
from spikingjelly.activation_based.neuron import SimpleBaseNode

from ashbench.errors import AshbenchError, InputError, ModelNotFoundError, first_line
from ashbench.models.registry import Workload

DEFAULT_DT = 1e-4
DEFAULT_INPUT_RATE = 0.1
DEFAULT_TIMESTEPS = 8
DEFAULT_BATCH_SIZE = 1
POISSON_SEED = 0

NEURON_TYPES = ("IF", "LIF", "CubaLIF")
SUPPORTED_TYPES = ("Input", "Output", "Affine", "Linear", "Scale", "Conv1d", "Conv2d", "Flatten", "AvgPool2d",
                   "SumPool2d", "IF", "LIF", "CubaLIF", "LI", "I")


class NIRGraphError(AshbenchError):
    """A .nir file that cannot be read, or a graph that cannot be converted (exit code 2)."""


def is_nir_path(spec: str | None) -> bool:
    """Whether ``--model`` names a NIR graph file (by its ``.nir`` suffix)."""
    return isinstance(spec, str) and spec.lower().endswith(".nir")


# -- modules ---------------------------------------------------------------------------------------

def _param(value, name: str) -> torch.Tensor:
    array = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} has non-finite values")
    return torch.as_tensor(array, dtype=torch.float32)


class _NIRNeuron(SimpleBaseNode):
    """A spiking NIR neuron in spikingjelly's single-step mode: charge (subclass), then fire
    ``v > threshold`` and reset (by subtraction, or to ``reset_to`` when given)."""

    def __init__(self, v_threshold, v_reset=None):
        super().__init__(v_reset=None, step_mode="s")
        self.register_buffer("threshold", _param(v_threshold, "v_threshold"))
        self.hard_reset = v_reset is not None
        self.register_buffer("reset_to", _param(0.0 if v_reset is None else v_reset, "v_reset"))

    def _start(self, x: torch.Tensor) -> None:
        if not torch.is_tensor(self.v):
            self.v = (torch.zeros_like(x) + self.reset_to) if self.hard_reset else torch.zeros_like(x)

    def extra_repr(self) -> str:  # SimpleBaseNode's scalar v_threshold/v_reset are unused here
        return f"reset={'to v_reset' if self.hard_reset else 'subtract v_threshold'}, step_mode={self.step_mode}"

    def neuronal_fire(self) -> torch.Tensor:
        return (self.v > self.threshold).to(self.v.dtype)

    def neuronal_reset(self, spike: torch.Tensor) -> None:
        if self.hard_reset:
            self.v = torch.where(spike.bool(), self.reset_to.expand_as(self.v), self.v)
        else:
            self.v = self.v - spike * self.threshold


class NIRIF(_NIRNeuron):
    """NIR IF: dv/dt = r x, Euler step ``v += dt*r*x``."""

    def __init__(self, r, v_threshold, dt: float, v_reset=None):
        super().__init__(v_threshold, v_reset)
        self.register_buffer("gain", _param(dt * np.asarray(r, dtype=np.float64), "dt*r"))

    def neuronal_charge(self, x: torch.Tensor) -> None:
        self._start(x)
        self.v = self.v + self.gain * x


class NIRLIF(_NIRNeuron):
    """NIR LIF: tau dv/dt = (v_leak - v) + r x, Euler step ``v += ((v_leak - v) + r*x) / (tau/dt)``."""

    def __init__(self, tau, r, v_leak, v_threshold, dt: float, v_reset=None):
        super().__init__(v_threshold, v_reset)
        self.register_buffer("steps", _param(_tau_steps(tau, dt, "tau"), "tau/dt"))
        self.register_buffer("r", _param(r, "r"))
        self.register_buffer("v_leak", _param(v_leak, "v_leak"))

    def neuronal_charge(self, x: torch.Tensor) -> None:
        self._start(x)
        self.v = self.v + ((self.v_leak - self.v) + self.r * x) / self.steps


class NIRCubaLIF(_NIRNeuron):
    """NIR CubaLIF: tau_syn di/dt = -i + w_in x; tau_mem dv/dt = (v_leak - v) + r i (i first)."""

    def __init__(self, tau_syn, tau_mem, r, v_leak, v_threshold, w_in, dt: float, v_reset=None):
        super().__init__(v_threshold, v_reset)
        self.register_memory("i", 0.0)
        self.register_buffer("syn_steps", _param(_tau_steps(tau_syn, dt, "tau_syn"), "tau_syn/dt"))
        self.register_buffer("mem_steps", _param(_tau_steps(tau_mem, dt, "tau_mem"), "tau_mem/dt"))
        self.register_buffer("r", _param(r, "r"))
        self.register_buffer("v_leak", _param(v_leak, "v_leak"))
        self.register_buffer("w_in", _param(w_in, "w_in"))

    def neuronal_charge(self, x: torch.Tensor) -> None:
        self._start(x)
        current = self.i if torch.is_tensor(self.i) else torch.zeros_like(x)
        self.i = current + (self.w_in * x - current) / self.syn_steps
        self.v = self.v + ((self.v_leak - self.v) + self.r * self.i) / self.mem_steps


class NIRLI(base.MemoryModule):
    """NIR LI (leaky integrator, no spikes): ``v += ((v_leak - v) + r*x) / (tau/dt)``; returns v."""

    def __init__(self, tau, r, v_leak, dt: float):
        super().__init__()
        self.register_memory("v", 0.0)
        self.register_buffer("steps", _param(_tau_steps(tau, dt, "tau"), "tau/dt"))
        self.register_buffer("r", _param(r, "r"))
        self.register_buffer("v_leak", _param(v_leak, "v_leak"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = self.v if torch.is_tensor(self.v) else torch.zeros_like(x)
        self.v = v + ((self.v_leak - v) + self.r * x) / self.steps
        return self.v


class NIRIntegrator(base.MemoryModule):
    """NIR I (integrator, no spikes): ``v += dt*r*x``; returns v."""

    def __init__(self, r, dt: float):
        super().__init__()
        self.register_memory("v", 0.0)
        self.register_buffer("gain", _param(dt * np.asarray(r, dtype=np.float64), "dt*r"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = self.v if torch.is_tensor(self.v) else torch.zeros_like(x)
        self.v = v + self.gain * x
        return self.v


class Scale(nn.Module):
    """NIR Scale: ``x * scale`` (Hadamard product)."""

    def __init__(self, scale):
        super().__init__()
        self.register_buffer("scale", _param(scale, "scale"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


NEURON_CLASSES: tuple[type, ...] = (NIRIF, NIRLIF, NIRCubaLIF)
"""The spiking-neuron classes a converted graph holds (the workload's ``neuron_classes``)."""


def _tau_steps(tau, dt: float, name: str) -> np.ndarray:
    steps = np.asarray(tau, dtype=np.float64) / dt
    if np.any(steps <= 0):
        raise ValueError(f"{name} must be > 0")
    return steps


class NIRNetwork(nn.Module):
    """A converted NIR graph run over ``[T, B, ...]`` inputs, one graph step per time step.

    ``forward(x)`` resets every neuron, then for t in 0..T-1 feeds ``x[t]`` to the Input node and
    runs the nodes in topological order (a node's input is the sum of its incoming edges); it
    returns the Output node's values stacked over time, ``[T, B, ...]`` (for several Output nodes,
    a tuple in the order of their names)."""

    ashbench_layout = "TB"

    def __init__(self, modules: dict, order: list, sources: dict, input_name: str, outputs: list,
                 input_shape: tuple | None, dt: float):
        super().__init__()
        self.order = list(order)
        self.sources = {k: list(v) for k, v in sources.items()}
        self.input_name = input_name
        self.outputs = list(outputs)
        self.input_shape = input_shape
        self.dt = dt
        self.module_names = {}  # NIR node name -> submodule name (set last: a node may be called 'order')
        for name, module in modules.items():
            self.module_names[name] = _torch_name(self, name)
            self.add_module(self.module_names[name], module)

    def step(self, x: torch.Tensor) -> list:
        values = {self.input_name: x}
        for name in self.order:
            value = _sum(values[s] for s in self.sources[name])
            if name in self.module_names:
                value = getattr(self, self.module_names[name])(value)
            values[name] = value
        return [values[name] for name in self.outputs]

    def forward(self, x: torch.Tensor):
        functional.reset_net(self)
        steps = [self.step(x[t]) for t in range(x.shape[0])]
        stacked = [torch.stack([s[k] for s in steps]) for k in range(len(self.outputs))]
        return stacked[0] if len(stacked) == 1 else tuple(stacked)


def _sum(values):
    values = iter(values)
    total = next(values)
    for v in values:
        total = total + v
    return total


def _torch_name(owner: nn.Module, name: str) -> str:
    clean = name.replace(".", "_") or "node"
    if hasattr(owner, clean) or clean in owner._modules:
        clean = f"nir_{clean}"
    while clean in owner._modules:
        clean += "_"
    return clean


# -- reading ---------------------------------------------------------------------------------------

def _require_nir():
    try:
        import h5py
        import nir
        from nir.serialization import hdf2dict
    except ImportError as exc:
        raise NIRGraphError(f"profiling a .nir graph needs the 'nir' package ({first_line(exc)}); "
                            "install it with: pip install 'ashbench[frameworks]'") from None
    return nir, h5py, hdf2dict


def read_graph(path: str):
    """The NIR graph in ``path`` and the ``v_reset`` arrays of its neuron nodes ({name: array})."""
    nir, h5py, hdf2dict = _require_nir()
    if not Path(path).is_file():
        raise ModelNotFoundError(f"NIR graph not found: {path}")
    if not h5py.is_hdf5(path):
        raise NIRGraphError(f"corrupt or unreadable NIR graph {path}: not an HDF5 file")
    try:
        with h5py.File(path, "r") as f:
            if "node" not in f:
                raise NIRGraphError(f"corrupt or unreadable NIR graph {path}: no 'node' group (not a NIR file)")
            data = hdf2dict(f["node"])
    except AshbenchError:
        raise
    except Exception as exc:  # h5py raises OSError, KeyError, ... on a damaged file
        raise NIRGraphError(f"corrupt or unreadable NIR graph {path}: {type(exc).__name__}: "
                            f"{first_line(exc)}") from None
    if data.get("type") != "NIRGraph" or not isinstance(data.get("nodes"), dict):
        raise NIRGraphError(f"corrupt or unreadable NIR graph {path}: its top node is {data.get('type')!r}, "
                            "not a NIRGraph")
    for name, node in data["nodes"].items():
        kind = node.get("type") if isinstance(node, dict) else None
        if kind not in SUPPORTED_TYPES:
            raise NIRGraphError(f"NIR graph {path}: node {name!r} has unsupported type {kind!r}; "
                                f"supported: {', '.join(SUPPORTED_TYPES)}")
    v_resets = {}  # from the file itself: a nir >= 1.0.5 dataclass fills in v_reset = 0 when it is absent
    for name, node in data["nodes"].items():
        if node["type"] in NEURON_TYPES and "v_reset" in node:
            fields = {f.name for f in dataclasses.fields(getattr(nir, node["type"]))}
            v_resets[name] = node["v_reset"] if "v_reset" in fields else node.pop("v_reset")
    try:
        graph = nir.dict2NIRNode(data)
    except Exception as exc:  # the dataclasses assert or raise TypeError/ValueError on malformed nodes
        raise NIRGraphError(f"malformed NIR graph {path}: {type(exc).__name__}: {first_line(exc)}") from None
    return graph, v_resets


# -- conversion ------------------------------------------------------------------------------------

def _ints(value):
    """An int for a scalar or one-element array, a tuple of ints otherwise; strings pass."""
    if isinstance(value, (str, bytes)):
        return value.decode() if isinstance(value, bytes) else value
    flat = np.asarray(value).reshape(-1)
    return int(flat[0]) if flat.size == 1 else tuple(int(v) for v in flat)


def _linear(weight, bias=None) -> nn.Linear:
    weight = np.asarray(weight)
    if weight.ndim != 2:
        raise ValueError(f"weight of shape {list(weight.shape)} is not 2-D")
    module = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    with torch.no_grad():
        module.weight.copy_(_param(weight, "weight"))
        if bias is not None:
            module.bias.copy_(_param(bias, "bias").reshape(-1))
    return module


def _conv(node, cls) -> nn.Module:
    weight = np.asarray(node.weight)
    groups = _ints(node.groups)
    bias = np.asarray(node.bias)
    has_bias = bool(np.any(bias != 0))
    module = cls(weight.shape[1] * groups, weight.shape[0], tuple(weight.shape[2:]), stride=_ints(node.stride),
                 padding=_ints(node.padding), dilation=_ints(node.dilation), groups=groups, bias=has_bias)
    with torch.no_grad():
        module.weight.copy_(_param(weight, "weight"))
        if has_bias:
            module.bias.copy_(_param(bias, "bias").reshape(-1))
    return module


def _flatten(node) -> nn.Flatten:
    start, end = int(node.start_dim), int(node.end_dim)
    return nn.Flatten(start + 1 if start >= 0 else start, end + 1 if end >= 0 else end)


def _module_for(kind: str, node, dt: float, v_reset):
    if kind == "Affine":
        return _linear(node.weight, node.bias)
    if kind == "Linear":
        return _linear(node.weight)
    if kind == "Scale":
        return Scale(node.scale)
    if kind in ("Conv1d", "Conv2d"):
        return _conv(node, nn.Conv1d if kind == "Conv1d" else nn.Conv2d)
    if kind == "Flatten":
        return _flatten(node)
    if kind in ("AvgPool2d", "SumPool2d"):
        return nn.AvgPool2d(_ints(node.kernel_size), _ints(node.stride), _ints(node.padding),
                            divisor_override=1 if kind == "SumPool2d" else None)
    if kind == "IF":
        return NIRIF(node.r, node.v_threshold, dt, v_reset)
    if kind == "LIF":
        return NIRLIF(node.tau, node.r, node.v_leak, node.v_threshold, dt, v_reset)
    if kind == "CubaLIF":
        return NIRCubaLIF(node.tau_syn, node.tau_mem, node.r, node.v_leak, node.v_threshold, node.w_in, dt, v_reset)
    if kind == "LI":
        return NIRLI(node.tau, node.r, node.v_leak, dt)
    if kind == "I":
        return NIRIntegrator(node.r, dt)
    raise ValueError(f"unsupported type {kind!r}")  # read_graph refused it already


def graph_dt(graph) -> float:
    """The graph's ``metadata['dt']`` when it is a positive number, else :data:`DEFAULT_DT`."""
    value = (graph.metadata or {}).get("dt") if isinstance(graph.metadata, dict) else None
    try:
        dt = float(np.asarray(value).reshape(-1)[0]) if value is not None else DEFAULT_DT
    except (TypeError, ValueError, IndexError):
        return DEFAULT_DT
    return dt if math.isfinite(dt) and dt > 0 else DEFAULT_DT


def convert(graph, v_resets: dict | None = None, dt: float | None = None, where: str = "NIR graph") -> NIRNetwork:
    """A :class:`NIRNetwork` for ``graph`` (``where`` names it in error messages)."""
    v_resets = v_resets or {}
    dt = graph_dt(graph) if dt is None else dt
    kinds = {name: type(node).__name__ for name, node in graph.nodes.items()}
    for name, kind in kinds.items():
        if kind not in SUPPORTED_TYPES:
            raise NIRGraphError(f"{where}: node {name!r} has unsupported type {kind!r}; "
                                f"supported: {', '.join(SUPPORTED_TYPES)}")
    inputs = [n for n, k in kinds.items() if k == "Input"]
    outputs = sorted(n for n, k in kinds.items() if k == "Output")
    if len(inputs) != 1:
        raise NIRGraphError(f"{where}: has {len(inputs)} Input nodes; exactly one is supported")
    if not outputs:
        raise NIRGraphError(f"{where}: has no Output node")
    sources: dict[str, list] = {name: [] for name in graph.nodes}
    for edge in graph.edges:
        a, b = edge
        for end in (a, b):
            if end not in graph.nodes:
                raise NIRGraphError(f"{where}: edge {a!r} -> {b!r} names no node {end!r}")
        if kinds[b] == "Input":
            raise NIRGraphError(f"{where}: edge {a!r} -> {b!r} enters the Input node")
        sources[b].append(a)
    for name, kind in kinds.items():
        if kind != "Input" and not sources[name]:
            raise NIRGraphError(f"{where}: node {name!r} ({kind}) receives no edge")
    try:
        order = list(TopologicalSorter({n: set(s) for n, s in sources.items()}).static_order())
    except CycleError as exc:
        cycle = " -> ".join(exc.args[1]) if len(exc.args) > 1 else "?"
        raise NIRGraphError(f"{where}: recurrent graphs (cycles) are not supported: {cycle}") from None
    modules = {}
    for name in order:
        kind = kinds[name]
        if kind in ("Input", "Output"):
            continue
        try:
            modules[name] = _module_for(kind, graph.nodes[name], dt, v_resets.get(name))
        except Exception as exc:  # a malformed parameter of this node, in one line
            raise NIRGraphError(f"{where}: node {name!r} ({kind}) cannot be converted: "
                                f"{type(exc).__name__}: {first_line(exc)}") from None
    shape = graph.nodes[inputs[0]].input_type.get("input")
    input_shape = tuple(int(v) for v in np.asarray(shape).reshape(-1)) if shape is not None else None
    run_order = [n for n in order if kinds[n] != "Input"]
    return NIRNetwork(modules, run_order, {n: sources[n] for n in run_order}, inputs[0], outputs, input_shape, dt)


def load_nir(path: str, dt: float | None = None) -> NIRNetwork:
    """Read and convert the NIR graph in ``path`` (``dt``: override the graph's time step)."""
    graph, v_resets = read_graph(path)
    return convert(graph, v_resets, dt, where=f"NIR graph {path}")


# -- inputs ----------------------------------------------------------------------------------------

def _shape(shape) -> str:
    return "[" + ", ".join(str(int(s)) for s in shape) + "]"


def load_inputs(path: str) -> torch.Tensor:
    """The tensor saved in ``path`` (``torch.load(weights_only=True)``), as float32."""
    if not Path(path).is_file():
        raise InputError(f"--inputs file not found: {path}")
    try:
        value = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # whatever torch.load raises on a file that is not a saved tensor
        why = first_line(exc)
        if "Weights only load failed" in why:  # torch's long advice to load untrusted pickles: not ours to give
            why = "not a torch.save file of tensors (weights_only=True refused it)"
        raise InputError(f"cannot read --inputs {path} as a saved tensor: {type(exc).__name__}: {why}") from None
    if not torch.is_tensor(value):
        raise InputError(f"--inputs {path} holds a {type(value).__name__}, not a tensor")
    if value.is_complex():
        raise InputError(f"--inputs {path} holds a complex tensor")
    return value.float()


def check_inputs(x: torch.Tensor, input_shape, path: str = "--inputs", max_timesteps: int | None = None) -> None:
    """``x`` must be ``[T, B, *input_shape]`` with 1 <= T (<= ``max_timesteps``) and B >= 1."""
    expected = "[T, B" + "".join(f", {s}" for s in input_shape) + "]" if input_shape is not None else "[T, B, ...]"
    fits = x.dim() >= 2 and (input_shape is None or tuple(x.shape[2:]) == tuple(input_shape))
    if not fits:
        graph = _shape(input_shape) if input_shape is not None else "unknown"
        raise InputError(f"{path} tensor of shape {_shape(x.shape)} does not fit the graph's input shape "
                         f"{graph}: expected {expected}")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise InputError(f"{path} tensor of shape {_shape(x.shape)} has no time step or an empty batch")
    if max_timesteps is not None and x.shape[0] > max_timesteps:
        raise InputError(f"{path} tensor has {x.shape[0]} time steps, over the limit of {max_timesteps:,}")


def poisson_inputs(input_shape, timesteps: int, batch_size: int, rate: float, seed: int = POISSON_SEED):
    """Bernoulli spikes ``rand((T, B, *input_shape)) < rate`` from a generator seeded with ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand((timesteps, batch_size, *input_shape), generator=generator) < rate).float()


def check_rate(rate) -> float:
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= float(rate) <= 1.0:
        raise InputError(f"--input-rate must be in [0, 1], got {rate}")
    return float(rate)


def nir_workload(path: str, *, inputs: str | None = None, input_rate: float | None = None, timesteps=None,
                 batch_size=None, checkpoint=None, layout=None, max_timesteps: int | None = None) -> Workload:
    """The Workload of ``ashbench energy --model graph.nir``: the converted graph and its inputs
    (``inputs``: a saved [T, B, ...] tensor of at most ``max_timesteps`` steps; else Poisson
    spikes at ``input_rate``)."""
    from ashbench.profiler.inputs import normalise_layout

    if input_rate is not None:
        check_rate(input_rate)
        if inputs is not None:
            raise InputError("--input-rate sets generated Poisson inputs; it cannot be combined with --inputs")
    if checkpoint is not None:
        raise InputError("--checkpoint does not apply to a .nir graph: its weights are in the graph")
    if layout is not None and normalise_layout(layout) != "TB":
        raise InputError(f"--layout {layout} does not apply: a NIR graph runs [T, B, ...] inputs (layout TB)")
    model = load_nir(path)
    if inputs is not None:
        x = load_inputs(inputs)
        check_inputs(x, model.input_shape, max_timesteps=max_timesteps)
        for option, given, found in (("--timesteps", timesteps, x.shape[0]), ("--batch-size", batch_size, x.shape[1])):
            if given is not None and given != found:
                raise InputError(f"{option} {given} contradicts the --inputs tensor of shape {_shape(x.shape)}")
        source = f"tensor {inputs}"
    else:
        if model.input_shape is None:
            raise InputError(f"NIR graph {path}: its Input node has no shape; pass --inputs x.pt")
        rate = DEFAULT_INPUT_RATE if input_rate is None else float(input_rate)
        x = poisson_inputs(model.input_shape, timesteps or DEFAULT_TIMESTEPS, batch_size or DEFAULT_BATCH_SIZE, rate)
        source = f"poisson rate {rate} seed {POISSON_SEED}"
    info = {"nir": path, "dt": model.dt, "inputs": source, "input_shape": list(x.shape)}
    return Workload(model.eval(), (x,), "TB", info, NEURON_CLASSES)
