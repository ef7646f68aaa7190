"""A decorator registry of model factories (timm-style).

A factory is called with keyword arguments it accepts among ``batch_size``, ``timesteps`` and
``checkpoint`` and returns a :class:`Workload`: the model in eval mode, example inputs, and the
input layout the profiler needs to find the batch dimension.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

from ashbench.errors import FactoryError, ModelNotFoundError

_FACTORIES: dict[str, Callable[..., "Workload"]] = {}


@dataclass
class Workload:
    """A model ready to profile. ``layout`` is ``"B"`` ([B, ...] inputs) or ``"TB"`` ([T, B, ...])."""

    model: Any
    inputs: tuple
    layout: str = "B"
    info: dict = field(default_factory=dict)


def register_model(name: str):
    """Register ``factory`` under ``name``; names starting with ``test-`` are tiny test models."""

    def wrap(factory):
        if name in _FACTORIES:
            raise ValueError(f"model {name!r} is registered twice")
        _FACTORIES[name] = factory
        return factory

    return wrap


def list_models() -> list[str]:
    _load_builtin_models()
    return sorted(_FACTORIES)


def get_factory(name: str) -> Callable[..., Workload]:
    _load_builtin_models()
    if name not in _FACTORIES:
        raise ModelNotFoundError(f"unknown model {name!r}; valid models: {', '.join(sorted(_FACTORIES))}")
    return _FACTORIES[name]


def call_factory(factory: Callable, **kwargs) -> Any:
    """Call ``factory`` with those of ``kwargs`` (non-None) that its signature accepts.

    Raises FactoryError when a requested option is not accepted, naming it."""
    wanted = {k: v for k, v in kwargs.items() if v is not None}
    params = inspect.signature(factory).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    refused = [k for k in wanted if k not in params and not takes_any]
    if refused:
        raise FactoryError(f"factory {getattr(factory, '__name__', factory)!r} does not accept --{refused[0].replace('_', '-')}")
    return factory(**wanted)


def _load_builtin_models() -> None:
    """Import the modules that register the built-in models (idempotent)."""
    import ashbench.models.zoo  # noqa: F401
