"""Neuron frameworks besides spikingjelly, each one ``NEURON_TYPES`` entry (optional packages:
an entry whose package is not installed recognises nothing).

A framework is looked up in ``sys.modules`` only, never imported here: a model that holds its
neurons has imported it, and a model that does not pays nothing (importing snnTorch and Norse
takes seconds). A module is one framework's neuron when it emits spikes through the framework's
neuron API; each entry's ``classes()`` is one :func:`neuron_class`, a ``torch.nn.Module`` subclass
whose ``isinstance`` is that per-instance test (a sinabs layer spikes only when it has a spike
function, a snnTorch ``StateLeaky`` only with ``output=True``). What is read for each framework:

snnTorch (``snntorch.SpikingNeuron`` and subclasses: Leaky, Synaptic, Alpha, Lapicque, RLeaky,
    RSynaptic, SLSTM, SConv2dLSTM, DeltaLeaky, ...). Spikes: the output itself (``init_hidden=True``)
    or its first element: ``(spk, mem)`` with ``output=True`` or ``init_hidden=False`` (the tutorial
    style ``spk, mem = lif(cur, mem)``), ``(spk, syn, mem)`` for Synaptic, and so on. Time: one step
    per call, except ``StateLeaky`` and its subclass ``LinearLeaky``, which take [T, B, C] (axis 0).
    Not neurons: ``StateLeaky``/``LinearLeaky`` with ``output=False`` (they return the membrane)
    and ``AssociativeLeaky`` (it returns a real-valued readout). Reset: ``reset_mem()`` of every
    SpikingNeuron in the model (zeroes ``mem``, ``syn``, ``spk``... per instance; ``snntorch.utils
    .reset`` is not used: it looks at direct children only and resets every instance of every
    model through the class-level ``SpikingNeuron.instances`` list). A neuron with
    ``init_hidden=False`` gets its state from the caller, and resetting its stored copy is harmless.
    ``graded_spikes_factor`` k emits values 0/k: an integer k is k events under ``spikes="auto"``
    or ``"multi:N"``, any other factor is a spike-semantics error.

Norse (``norse.torch.module.snn``: ``SNNCell`` and ``SNNRecurrentCell``, one step per call, e.g.
    LIFCell, LIFBoxCell, IAFCell, LSNNCell, LIFRecurrentCell; ``SNN`` and ``SNNRecurrent`` on
    [T, B, ...], time on axis 0, e.g. LIF, IAF, LSNN, LIFRecurrent). Spikes: ``z`` of the
    ``(z, state)`` output. Not neurons: the leaky integrators ``LICell``, ``LI`` and ``LIBoxCell``
    (they return a voltage). Reset: nothing (the state is passed by the caller).

sinabs (``sinabs.layers.StatefulLayer`` with a spike function: IAF, LIF, ALIF, their Recurrent and
    Squeeze variants). Spikes: the output. Time: axis 1 of [B, T, ...]; a ``*Squeeze`` layer takes
    and returns [B*T, ...] and each call is read as one step of all its B*T rows, so its spikes,
    updates and firing rate are exact but the layer shows T x its neurons over one step (pass the
    real ``batch_size=B`` to ``profile``). Not neurons: ``ExpLeak`` and any layer with
    ``spike_fn=None`` (they return the membrane). sinabs' default spike function ``MultiSpike``
    emits floor(v / threshold) per step, more than 1 once a step's membrane reaches twice the
    threshold (0/1 while it stays below): a value k is k events under ``spikes="auto"`` (the
    default) or ``"multi:N"``, and an error under ``"binary"`` (``spike_fn=SingleSpike`` emits
    0/1). Reset: ``reset_states()`` of every StatefulLayer in the model (not
    ``sinabs.reset_states``, which skips the model itself and layers that have children).

Work inside a neuron module is its membrane update, counted from its input and output: the
recurrent connections of RLeaky/RSynaptic, sinabs ``*Recurrent`` and Norse ``*Recurrent*`` (and
Norse's input weights there), the Linear of snnTorch ``LinearLeaky`` and the LSTM cells of
SLSTM/SConv2dLSTM run inside the neuron and are not counted as synaptic work.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

import torch

from ashbench.profiler.neurons import NEURON_TYPES, NeuronFramework


def neuron_class(name: str, accepts: Callable[[Any], bool], bases: Callable[[], tuple]) -> type:
    """A ``torch.nn.Module`` subclass standing for a framework's neurons, whose ``isinstance``
    is ``accepts(module)``: the engine's class test made per instance. ``bases()``: the classes every
    accepted module is an instance of (empty when the framework is not imported); a module of none of
    them is never tested (``walk.py`` reads this per module type)."""
    meta = type(f"{name}Meta", (type,), {"__instancecheck__": lambda cls, obj: bool(accepts(obj))})
    return meta(name, (torch.nn.Module,), {"__module__": __name__, "__doc__": f"Any module that {accepts.__doc__}",
                                           "ashbench_bases": staticmethod(bases)})


def _cls(module: str, name: str) -> type | None:
    """Class ``name`` of the already imported module ``module`` (None when it is not imported)."""
    cls = getattr(sys.modules.get(module), name, None)
    return cls if isinstance(cls, type) else None


def _classes(*names: tuple) -> tuple:
    """The classes of (module, name) pairs whose module is imported."""
    return tuple(cls for cls in (_cls(module, name) for module, name in names) if cls is not None)


def _is(obj, module: str, name: str) -> bool:
    cls = _cls(module, name)
    return cls is not None and isinstance(obj, cls)


def _modules(model, module: str, name: str) -> list:
    """The submodules of ``model`` (itself included) that are instances of ``module.name``."""
    cls = _cls(module, name)
    return [m for m in model.modules() if isinstance(m, cls)] if cls is not None else []


# -- snnTorch ---------------------------------------------------------------------------------
_SNNTORCH = "snntorch"


def _snntorch_accepts(m) -> bool:
    """is a snnTorch SpikingNeuron emitting spikes (not AssociativeLeaky, not StateLeaky with output=False)."""
    if not _is(m, _SNNTORCH, "SpikingNeuron") or _is(m, _SNNTORCH, "AssociativeLeaky"):
        return False
    return bool(getattr(m, "output", True)) if _is(m, _SNNTORCH, "StateLeaky") else True


SnnTorchNeuron = neuron_class("SnnTorchNeuron", _snntorch_accepts, lambda: _classes((_SNNTORCH, "SpikingNeuron")))


def _snntorch_classes() -> tuple:
    return (SnnTorchNeuron,) if _cls(_SNNTORCH, "SpikingNeuron") else ()


def _snntorch_time_axis(m) -> int | None:
    return 0 if _is(m, _SNNTORCH, "StateLeaky") else None


def _snntorch_state_classes() -> tuple:
    """Every SpikingNeuron (those it does not count as neurons keep a membrane too)."""
    cls = _cls(_SNNTORCH, "SpikingNeuron")
    return (cls,) if cls is not None else ()


def _snntorch_reset(model) -> None:
    for m in _modules(model, _SNNTORCH, "SpikingNeuron"):
        if callable(getattr(m, "reset_mem", None)):
            m.reset_mem()


# -- Norse --------------------------------------------------------------------------------------
_NORSE = "norse.torch.module.snn"
_NORSE_SEQUENCES = ("SNN", "SNNRecurrent")
_NORSE_NEURONS = ("SNNCell", "SNNRecurrentCell") + _NORSE_SEQUENCES
_NORSE_INTEGRATORS = (("norse.torch.module.leaky_integrator", "LICell"), ("norse.torch.module.leaky_integrator", "LI"),
                      ("norse.torch.module.leaky_integrator_box", "LIBoxCell"))


def _norse_accepts(m) -> bool:
    """is a Norse SNNCell/SNNRecurrentCell/SNN/SNNRecurrent emitting spikes (not a leaky integrator LI*)."""
    return any(_is(m, _NORSE, n) for n in _NORSE_NEURONS) and not any(_is(m, *c) for c in _NORSE_INTEGRATORS)


NorseNeuron = neuron_class("NorseNeuron", _norse_accepts, lambda: _classes(*((_NORSE, n) for n in _NORSE_NEURONS)))


def _norse_classes() -> tuple:
    return (NorseNeuron,) if _cls(_NORSE, "SNNCell") else ()


def _norse_time_axis(m) -> int | None:
    return 0 if any(_is(m, _NORSE, n) for n in _NORSE_SEQUENCES) else None


# -- sinabs -------------------------------------------------------------------------------------
_SINABS = "sinabs.layers"


def _sinabs_accepts(m) -> bool:
    """is a sinabs StatefulLayer with a spike function (not ExpLeak, not spike_fn=None)."""
    return _is(m, _SINABS, "StatefulLayer") and getattr(m, "spike_fn", None) is not None


SinabsNeuron = neuron_class("SinabsNeuron", _sinabs_accepts, lambda: _classes((_SINABS, "StatefulLayer")))


def _sinabs_classes() -> tuple:
    return (SinabsNeuron,) if _cls(_SINABS, "StatefulLayer") else ()


def _sinabs_time_axis(m) -> int | None:
    return None if _is(m, _SINABS, "SqueezeMixin") else 1


def _sinabs_state_classes() -> tuple:
    """Every StatefulLayer (ExpLeak and spike_fn=None layers keep state too)."""
    cls = _cls(_SINABS, "StatefulLayer")
    return (cls,) if cls is not None else ()


def _sinabs_reset(model) -> None:
    for m in _modules(model, _SINABS, "StatefulLayer"):
        m.reset_states()


NEURON_TYPES.register("snntorch", NeuronFramework(_snntorch_classes, time_axis=_snntorch_time_axis,
                                                  reset=_snntorch_reset, state_classes=_snntorch_state_classes))
NEURON_TYPES.register("norse", NeuronFramework(_norse_classes, time_axis=_norse_time_axis))
NEURON_TYPES.register("sinabs", NeuronFramework(_sinabs_classes, time_axis=_sinabs_time_axis, reset=_sinabs_reset,
                                                state_classes=_sinabs_state_classes))
