"""Counting spiking-neuron modules (spikingjelly IF/LIF/PLIF/... in 's' and 'm' step modes).

A neuron module is counted as a whole from its input current and output spikes; the aten ops it
runs inside (charge, fire, reset, surrogate) are its membrane update, so they are not counted
again as op work. In step mode 'm' the input is [T, B, ...] and time step t is slice t; in step
mode 's' every call is one time step, the k-th call of the module being step k.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ashbench.errors import InputError, SpikeSemanticsError
from ashbench.profiler.spikes import SpikeSemantics
from ashbench.registry import Registry

NEURON_TYPES: Registry = Registry("neuron framework", InputError)
"""Per framework, a function returning its spiking-neuron base classes (an empty tuple when the
framework is not installed). Every registered framework's neurons are recognised by default;
a model's own classes come in through ``profile(neuron_classes=...)``, ``Workload.neuron_classes``
or ``ashbench energy --neuron-class module:Class``."""


@NEURON_TYPES.register("spikingjelly")
def spikingjelly_neurons() -> tuple[type, ...]:
    """spikingjelly's spiking-neuron base classes present in this install."""
    try:
        from spikingjelly.activation_based import neuron
    except ImportError:
        return ()
    names = ("BaseNode", "SimpleBaseNode")
    return tuple(getattr(neuron, n) for n in names if isinstance(getattr(neuron, n, None), type))


def neuron_types() -> tuple[type, ...]:
    """The spiking-neuron classes of every registered framework that is installed."""
    return tuple(cls for _, classes in NEURON_TYPES.items() for cls in classes())


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

    def add_step(self, t: int, units: int, spikes: int) -> None:
        while len(self.spikes_per_step) <= t:
            self.spikes_per_step.append(0)
        self.spikes_per_step[t] += spikes
        self.units_per_step = max(self.units_per_step, units)
        self.updates += units


def record_call(stats: NeuronStats, module, x: torch.Tensor, out: torch.Tensor,
                semantics: SpikeSemantics, name: str) -> None:
    """Add one forward call of a neuron module to ``stats`` (raises on non-spike output)."""
    if not semantics.is_spike(out):
        raise SpikeSemanticsError(
            f"neuron '{name}' ({type(module).__name__}) emitted values outside the declared "
            f"'{semantics.name}' spike semantics ({semantics.describe()})"
        )
    multi_step = getattr(module, "step_mode", "s") == "m"
    steps = out.reshape(out.shape[0], -1) if multi_step else out.reshape(1, -1)
    first = 0 if multi_step else _calls_so_far(stats)
    per_step = semantics.events_per_row(steps)
    for offset, spikes in enumerate(per_step):
        stats.add_step(first + offset, steps.shape[1], spikes)
    stats.membrane_bytes_per_update = _membrane_bytes(module, x)
    stats.input_bytes += x.numel() * x.element_size()
    stats.output_bytes += out.numel() * out.element_size()


def _calls_so_far(stats: NeuronStats) -> int:
    return len(stats.spikes_per_step)


def _membrane_bytes(module, x: torch.Tensor) -> int:
    v = getattr(module, "v", None)
    return v.element_size() if torch.is_tensor(v) else x.element_size()
