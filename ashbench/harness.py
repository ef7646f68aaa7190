"""Glue between the CLI and the library: resolve a workload, profile it, price it, write it.

Each function returns data; nothing here prints.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

from ashbench.errors import AshbenchError, CheckpointError, FactoryError, InputError, ModelNotFoundError
from ashbench.models.registry import Workload, call_factory, get_factory, list_models

DEFAULT_MODEL = "ashnet"


def default_model() -> str:
    return DEFAULT_MODEL if DEFAULT_MODEL in list_models() else "hybrid-demo"


def load_factory(spec: str):
    """A registered name, or 'path/to/file.py:function'."""
    if ":" not in spec or not spec.split(":", 1)[0].endswith(".py"):
        return get_factory(spec)
    path, name = spec.rsplit(":", 1)
    if not Path(path).is_file():
        raise ModelNotFoundError(f"factory file not found: {path}")
    module = _import_file(path)
    factory = getattr(module, name, None)
    if not callable(factory):
        raise ModelNotFoundError(f"{path} has no function {name!r}")
    return factory


def _import_file(path: str):
    spec = importlib.util.spec_from_file_location(f"ashbench_user_{Path(path).stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # any error in user code is the user's to see, as one line
        raise FactoryError(f"cannot import {path}: {type(exc).__name__}: {exc}") from exc
    return module


def resolve_workload(spec: str | None, *, batch_size=None, timesteps=None, checkpoint=None, layout=None) -> Workload:
    """Build the workload to profile; validates T, batch size, checkpoint and factory output."""
    if timesteps is not None and timesteps <= 0:
        raise InputError(f"--timesteps must be >= 1, got {timesteps}")
    if batch_size is not None and batch_size <= 0:
        raise InputError(f"--batch-size must be >= 1, got {batch_size}")
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise CheckpointError(f"checkpoint not found: {checkpoint}")
    factory = load_factory(spec or default_model())
    pass_checkpoint = _accepts(factory, "checkpoint")
    try:
        produced = call_factory(factory, batch_size=batch_size, timesteps=timesteps,
                                checkpoint=checkpoint if pass_checkpoint else None)
    except AshbenchError:
        raise
    except Exception as exc:  # anything else from user code is the factory's failure, in one line
        raise FactoryError(f"factory {spec!r} failed: {type(exc).__name__}: {exc}") from exc
    workload = _as_workload(produced, spec, layout)
    if checkpoint is not None and not pass_checkpoint:
        load_checkpoint(workload.model, checkpoint)
    return workload


def _accepts(factory, name: str) -> bool:
    import inspect

    return name in inspect.signature(factory).parameters


def _as_workload(produced, spec, layout) -> Workload:
    import torch

    if isinstance(produced, Workload):
        workload = produced
    elif isinstance(produced, tuple) and len(produced) == 2 and isinstance(produced[0], torch.nn.Module):
        inputs = produced[1] if isinstance(produced[1], (tuple, list)) else (produced[1],)
        workload = Workload(produced[0], tuple(inputs), getattr(produced[0], "ashbench_layout", "B"))
    else:
        raise FactoryError(f"factory {spec!r} must return (model, example_inputs) with an nn.Module model, "
                           f"got {type(produced).__name__}")
    if layout:
        workload.layout = layout
    return workload


def load_checkpoint(model, path: str) -> None:
    """Load a state dict (or {'state_dict'|'model': ...}) with weights_only=True."""
    import pickle

    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, ValueError, OSError) as exc:
        raise CheckpointError(f"corrupt or unreadable checkpoint {path}: {str(exc).splitlines()[0]}") from exc
    if isinstance(state, dict):
        state = state.get("state_dict", state.get("model", state))
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path} holds no state dict")
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError) as exc:
        raise CheckpointError(f"checkpoint {path} does not match the model: {str(exc).splitlines()[0]}") from exc


def energy_report(model: str | None = None, *, checkpoint=None, timesteps=None, batch_size=None,
                  energy_models=("45nm-fp32",), strict=False, spikes="binary", layout=None, depth=None) -> dict:
    """Profile a workload and price it under each energy model: the JSON report document."""
    from ashbench.energy import estimate_energy, get_energy_model
    from ashbench.profiler import profile
    from ashbench.report import report_dict

    priced = [get_energy_model(m) for m in (energy_models or ("45nm-fp32",))]  # fail fast on bad models
    workload = resolve_workload(model, batch_size=batch_size, timesteps=timesteps, checkpoint=checkpoint, layout=layout)
    prof = profile(workload.model, workload.inputs, layout=workload.layout, spikes=spikes, strict=strict,
                   name=model or default_model())
    doc = prof.to_dict()
    energies = [estimate_energy(doc, m) for m in priced]
    if depth is not None:
        doc["layers"] = [row for row in doc["layers"] if row["depth"] <= depth]
    return report_dict(doc, energies)


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file in the same folder and a rename."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"output folder does not exist: {folder}")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
