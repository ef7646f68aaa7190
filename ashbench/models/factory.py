"""Resolving what the user names into a Workload: a registered model or ``path/file.py:factory``,
with its options (batch size, T, checkpoint, layout) and extra neuron classes (``module:Class``).

Each function returns data; nothing here prints.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from pathlib import Path

import torch

from ashbench.errors import AshbenchError, CheckpointError, FactoryError, InputError, ModelNotFoundError, first_line
from ashbench.models import MODELS
from ashbench.models.registry import Workload, call_factory
from ashbench.profiler.inputs import normalise_layout

DEFAULT_MODEL = "ashnet"
# Per-step counts are kept for every time step, and no SNN in the literature runs this long:
# a larger --timesteps is refused before any model is built.
MAX_TIMESTEPS = 10_000


def load_factory(spec: str):
    """A registered name, or 'path/to/file.py:function'."""
    if ":" not in spec or not spec.split(":", 1)[0].endswith(".py"):
        return MODELS.get(spec)
    path, name = spec.rsplit(":", 1)
    if not Path(path).is_file():
        raise ModelNotFoundError(f"factory file not found: {path}")
    module = _import_file(path)
    factory = getattr(module, name, None)
    if not callable(factory):
        raise ModelNotFoundError(f"{path} has no function {name!r}")
    return factory


_USER_MODULES: dict[Path, object] = {}


def _import_file(path: str):
    """A user's Python file as a module, imported once per process (so a factory and a neuron class
    named from the same file are the same class)."""
    key = Path(path).resolve()
    if key not in _USER_MODULES:
        spec = importlib.util.spec_from_file_location(f"ashbench_user_{key.stem}", key)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except SystemExit as exc:
            raise FactoryError(f"cannot import {path}: it called sys.exit({exc.code!r})") from None
        except Exception as exc:  # any error in user code is the user's to see, as one line
            raise FactoryError(f"cannot import {path}: {type(exc).__name__}: {first_line(exc)}") from exc
        _USER_MODULES[key] = module
    return _USER_MODULES[key]


def import_class(spec: str) -> type:
    """The class named by 'package.module:Class' (or 'path/file.py:Class'); InputError otherwise."""
    if spec.count(":") != 1:
        raise InputError(f"--neuron-class must be module:Class, got {spec!r}")
    where, name = spec.split(":")
    try:
        module = _import_file(where) if where.endswith(".py") else importlib.import_module(where)
    except (ImportError, FactoryError) as exc:
        raise InputError(f"cannot import neuron class {spec!r}: {first_line(exc)}") from None
    cls = getattr(module, name, None)
    if not isinstance(cls, type) or not issubclass(cls, torch.nn.Module):
        raise InputError(f"{spec!r} is not an nn.Module class")
    return cls


def resolve_workload(spec: str | None, *, batch_size=None, timesteps=None, checkpoint=None, layout=None,
                     neuron_classes=(), inputs=None, input_rate=None) -> Workload:
    """Build the workload to profile; validates T, batch size, checkpoint and factory output.
    ``neuron_classes`` (classes or 'module:Class' strings) join the workload's own.
    A ``path.nir`` spec is a NIR graph (``ashbench.models.nir_graph``), run on the saved tensor
    ``inputs`` or on Poisson spikes at ``input_rate``; both options apply to NIR graphs only."""
    if timesteps is not None and timesteps <= 0:
        raise InputError(f"--timesteps must be >= 1, got {timesteps}")
    if timesteps is not None and timesteps > MAX_TIMESTEPS:
        raise InputError(f"--timesteps {timesteps} exceeds the limit of {MAX_TIMESTEPS:,} time steps")
    if batch_size is not None and batch_size <= 0:
        raise InputError(f"--batch-size must be >= 1, got {batch_size}")
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise CheckpointError(f"checkpoint not found: {checkpoint}")
    extra = tuple(import_class(c) if isinstance(c, str) else c for c in neuron_classes)
    from ashbench.models import nir_graph

    if nir_graph.is_nir_path(spec):
        workload = nir_graph.nir_workload(spec, inputs=inputs, input_rate=input_rate, timesteps=timesteps,
                                          batch_size=batch_size, checkpoint=checkpoint, layout=layout,
                                          max_timesteps=MAX_TIMESTEPS)
        workload.neuron_classes = tuple(workload.neuron_classes) + extra
        return workload
    for option, value in (("--inputs", inputs), ("--input-rate", input_rate)):
        if value is not None:
            raise InputError(f"{option} applies to NIR graphs (--model graph.nir) only, "
                             f"not to {spec or DEFAULT_MODEL!r}")
    factory = load_factory(spec or DEFAULT_MODEL)
    pass_checkpoint = "checkpoint" in inspect.signature(factory).parameters
    try:
        produced = call_factory(factory, batch_size=batch_size, timesteps=timesteps,
                                checkpoint=checkpoint if pass_checkpoint else None)
    except AshbenchError:
        raise
    except SystemExit as exc:
        raise FactoryError(f"factory {spec!r} called sys.exit({exc.code!r})") from None
    except Exception as exc:  # anything else from user code is the factory's failure, in one line
        raise FactoryError(f"factory {spec!r} failed: {type(exc).__name__}: {first_line(exc)}") from exc
    workload = _as_workload(produced, spec, layout)
    workload.neuron_classes = tuple(workload.neuron_classes) + extra
    if checkpoint is not None and not pass_checkpoint:
        load_state_dict_file(workload.model, checkpoint)
    return workload


def _as_workload(produced, spec, layout) -> Workload:
    if isinstance(produced, Workload):
        workload = produced
    elif isinstance(produced, tuple) and len(produced) == 2 and isinstance(produced[0], torch.nn.Module):
        inputs = produced[1] if isinstance(produced[1], (tuple, list)) else (produced[1],)
        workload = Workload(produced[0], tuple(inputs), getattr(produced[0], "ashbench_layout", "B"))
    else:
        raise FactoryError(f"factory {spec!r} must return (model, example_inputs) with an nn.Module model, "
                           f"got {type(produced).__name__}")
    if layout:
        declared = normalise_layout(workload.layout)
        if normalise_layout(layout) != declared:
            workload.warnings.append(f"--layout {layout} overrides the model's declared layout {declared}: the batch "
                                     f"size is read at another position, so every per-sample count changes")
        workload.layout = layout
    return workload


def load_state_dict_file(model, path: str) -> None:
    """Load a state dict (or {'state_dict'|'model': ...}) with weights_only=True."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # whatever torch.load raises on a damaged file (EOFError, KeyError, IndexError, ...)
        raise CheckpointError(f"corrupt or unreadable checkpoint {path}: {first_line(exc)}") from None
    if isinstance(state, dict):
        state = state.get("state_dict", state.get("model", state))
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path} holds no state dict")
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"checkpoint {path} does not match the model: {first_line(exc)}") from exc
