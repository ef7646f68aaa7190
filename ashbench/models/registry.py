"""The registry of models to profile (timm-style decorator) and the Workload a factory returns.

A factory is called with the keyword arguments it accepts among ``batch_size``, ``timesteps`` and
``checkpoint`` and returns a :class:`Workload` (or ``(model, example_inputs)``). Importing
:mod:`ashbench.models` registers the built-in models.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

from ashbench.errors import FactoryError, ModelNotFoundError
from ashbench.registry import Registry

MODELS: Registry[Callable[..., "Workload"]] = Registry("model", ModelNotFoundError)


@dataclass
class Workload:
    """A model ready to profile.

    ``layout`` is ``"B"`` ([B, ...] inputs) or ``"TB"`` ([T, B, ...]). ``neuron_classes`` are
    module types of the model to count as spiking neurons besides those the profiler knows
    (``ashbench.profiler.neurons.NEURON_TYPES``), e.g. a user's own neuron class."""

    model: Any
    inputs: tuple
    layout: str = "B"
    info: dict = field(default_factory=dict)
    neuron_classes: tuple = ()
    warnings: list = field(default_factory=list)  # added to the profile's warnings


def register_model(name: str):
    """Register a factory under ``name``; names starting with ``test-`` are tiny test models."""
    return MODELS.register(name)


def call_factory(factory: Callable, **kwargs) -> Any:
    """Call ``factory`` with those of ``kwargs`` (non-None) that its signature accepts.

    Raises FactoryError when a requested option is not accepted, naming it."""
    wanted = {k: v for k, v in kwargs.items() if v is not None}
    params = inspect.signature(factory).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    refused = [k for k in wanted if k not in params and not takes_any]
    if refused:
        name = getattr(factory, "__name__", factory)
        raise FactoryError(f"factory {name!r} does not accept --{refused[0].replace('_', '-')}")
    return factory(**wanted)
