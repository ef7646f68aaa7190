"""Counting spiking-neuron modules of every framework (one ``NEURON_TYPES`` entry each).

A neuron module is counted as a whole from its input current and output spikes; the aten ops it
runs inside (charge, fire, reset, surrogate) are its membrane update, so they are not counted
again as op work. How a framework's neurons are read is its :class:`NeuronFramework` entry:
which classes are neurons, which part of a forward's output holds the spikes (spikingjelly: the
output; snnTorch and Norse: the first element of a tuple) and along which axis of that tensor the
time steps run (spikingjelly step mode 'm': axis 0 of [T, B, ...]; a single-step neuron: none,
every call is one time step, the k-th call of the module being step k).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from ashbench.errors import InputError, SpikeSemanticsError
from ashbench.profiler.spikes import SpikeSemantics
from ashbench.registry import Registry


def first_tensor(out: Any) -> torch.Tensor | None:
    """The spikes of a forward's output: the output itself, or the first element of a tuple or
    list (snnTorch's ``(spk, mem)``, Norse's ``(z, state)``); None when there is no tensor."""
    if isinstance(out, (tuple, list)):
        out = out[0] if out else None
    return out if torch.is_tensor(out) else None


def step_mode_axis(module) -> int | None:
    """Axis 0 for a module in spikingjelly's multi-step mode (``step_mode == 'm'``), else None."""
    return 0 if getattr(module, "step_mode", "s") == "m" else None


def no_reset(model) -> None:
    """For frameworks whose neurons keep no state between forwards (state passed explicitly)."""


@dataclass(frozen=True)
class NeuronFramework:
    """How the profiler reads one framework's spiking neurons.

    ``classes()``: its neuron base classes (an empty tuple when it is not installed);
    ``spikes(out)``: the spike tensor of a neuron forward's output (None: the call emitted none);
    ``time_axis(module)``: the axis of time steps in that tensor, None for one step per call;
    ``reset(model)``: clears the neuron state of a whole model (before and after a profile of a model
    holding a module of ``state_classes()``, by default its neuron classes)."""

    classes: Callable[[], tuple]
    spikes: Callable[[Any], torch.Tensor | None] = first_tensor
    time_axis: Callable[[Any], int | None] = step_mode_axis
    reset: Callable[[Any], None] = no_reset
    state_classes: Callable[[], tuple] | None = None

    def stateful(self) -> tuple:
        """The classes of the modules whose state ``reset`` clears (empty when it is not installed)."""
        return self.classes() if self.state_classes is None else self.state_classes()


NEURON_TYPES: Registry[NeuronFramework] = Registry("neuron framework", InputError)
"""Every registered framework whose package is installed is recognised by default; a model's own
classes come in through ``profile(neuron_classes=...)``, ``Workload.neuron_classes`` or
``ashbench energy --neuron-class module:Class`` and are read as :data:`USER_NEURONS`."""

USER_NEURONS = NeuronFramework(classes=tuple)


_SPIKINGJELLY: list = []  # its classes, looked up once (an import attempt costs a few microseconds)


def _spikingjelly_classes() -> tuple[type, ...]:
    if not _SPIKINGJELLY:
        try:
            from spikingjelly.activation_based import neuron
        except ImportError:
            return ()
        names = ("BaseNode", "SimpleBaseNode")
        _SPIKINGJELLY.append(tuple(getattr(neuron, n) for n in names if isinstance(getattr(neuron, n, None), type)))
    return _SPIKINGJELLY[0]


def _spikingjelly_state_classes() -> tuple[type, ...]:
    """Its neurons and every other module with state (``MemoryModule``), which ``reset_net`` clears."""
    memory = getattr(sys.modules.get("spikingjelly.activation_based.base"), "MemoryModule", None)
    return _spikingjelly_classes() + ((memory,) if isinstance(memory, type) else ())


def _spikingjelly_reset(model) -> None:
    try:
        from spikingjelly.activation_based import functional
    except ImportError:
        return
    functional.reset_net(model)


NEURON_TYPES.register("spikingjelly", NeuronFramework(_spikingjelly_classes, reset=_spikingjelly_reset,
                                                      state_classes=_spikingjelly_state_classes))


def installed_frameworks() -> list[tuple[NeuronFramework, tuple]]:
    """(framework, its neuron classes) of every registered framework that is installed, in registry order
    (read once per profile: a framework imported since the last one is recognised)."""
    found = []
    for _, fw in NEURON_TYPES.items():
        classes = fw.classes()
        if classes:
            found.append((fw, classes))
    return found


def neuron_types(frameworks: list | None = None) -> tuple[type, ...]:
    """The spiking-neuron classes of every registered framework that is installed."""
    return tuple(cls for _, classes in (installed_frameworks() if frameworks is None else frameworks)
                 for cls in classes)


def framework_of(module, extra_classes: tuple = (), frameworks: list | None = None) -> NeuronFramework | None:
    """The framework entry reading ``module``; USER_NEURONS for ``extra_classes``; None if no neuron."""
    for fw, classes in installed_frameworks() if frameworks is None else frameworks:
        if isinstance(module, classes):
            return fw
    return USER_NEURONS if extra_classes and isinstance(module, tuple(extra_classes)) else None


def reset_neurons(model) -> None:
    """Clear the neuron state of every installed framework in ``model``."""
    for fw, _ in installed_frameworks():
        fw.reset(model)


@dataclass
class NeuronStats:
    """Raw (whole-batch) counts of one neuron module. ``spikes_per_step[t]`` is step t's events;
    ``units_per_step`` the neurons updated per step (whole batch)."""

    module_type: str
    units_per_step: int = 0
    updates: int = 0
    spikes_per_step: list = field(default_factory=list)
    membrane_bytes_per_update: int = 4
    input_bytes: int = 0
    output_bytes: int = 0
    calls: int = 0  # forward calls seen (their outputs may be counted later: ``record_output``)

    def add_step(self, t: int, units: int, spikes: int) -> None:
        while len(self.spikes_per_step) <= t:
            self.spikes_per_step.append(0)
        self.spikes_per_step[t] += spikes
        self.units_per_step = max(self.units_per_step, units)
        self.updates += units


def record_input(stats: NeuronStats, module, x: torch.Tensor) -> None:
    """The input side of one neuron call: its bytes, and on the first call the membrane width."""
    if stats.calls == 0:  # read once per neuron and profile (an attribute miss is slow on nn.Module)
        stats.membrane_bytes_per_update = _membrane_bytes(module, x)
    stats.calls += 1
    stats.input_bytes += x.numel() * x.element_size()


def neuron_steps(out: torch.Tensor, time_axis: int | None) -> torch.Tensor:
    """A neuron call's output as [time steps, neurons x batch]: one row per step (one row single-step)."""
    return out.reshape(1, -1) if time_axis is None else out.movedim(time_axis, 0).reshape(out.shape[time_axis], -1)


def record_output(stats: NeuronStats, module, out: torch.Tensor, semantics: SpikeSemantics, name: str,
                  time_axis: int | None = None, per_step: list | None = None) -> None:
    """The spikes of one neuron call, in call order (raises on non-spike output): events per step,
    updates, output bytes. ``per_step``: its 0/1 events per step when counted already (with other
    calls' outputs: ``unit_events_per_row`` of their rows together)."""
    steps = neuron_steps(out, time_axis)
    first = 0 if time_axis is not None else _calls_so_far(stats)
    if per_step is None:
        per_step = semantics.unit_events_per_row(steps)  # 0/1 (ternary: 0/±1) spikes: exact integer counts
    if per_step is None:  # other values: checked against the semantics, then counted
        if semantics.bound(out) is None:
            raise SpikeSemanticsError(
                f"neuron '{name}' ({type(module).__name__}) emitted values outside the declared "
                f"'{semantics.name}' spike semantics ({semantics.describe()})"
            )
        per_step = semantics.events_per_row(steps)
    for offset, spikes in enumerate(per_step):
        stats.add_step(first + offset, steps.shape[1], spikes)
    stats.output_bytes += out.numel() * out.element_size()


def _calls_so_far(stats: NeuronStats) -> int:
    return len(stats.spikes_per_step)


def _membrane_bytes(module, x: torch.Tensor) -> int:
    v = getattr(module, "v", None)
    return v.element_size() if torch.is_tensor(v) else x.element_size()
