"""Sweeps: a TOML spec of axes over a base config; each run trains, evaluates and profiles, and
its row is appended atomically to ``results/<sweep>/runs.csv``.

Spec (``benchmarks/ashnets.toml`` is a full example)::

    name = "ashnets"            # results go to <output>/<name>/
    base = "ashnet-default"     # a config name or TOML file (see ashbench.ashnet.config)
    output = "results"          # optional, default "results"
    energy_models = ["45nm-fp32", "memory-aware"]   # optional
    set = { "train.steps" = 600 }                   # optional overrides for every run
    [grid]                      # cartesian product of the listed axes
    mode = ["ann", "snn", "hybrid"]
    seed = [0, 1]
    [[runs]]                    # explicit runs, each a set of axis values (added after the grid)
    mode = "hybrid"
    T = 8

Axes are config keys (``model.timesteps``, bare names when unique) or the aliases in ``AXES``;
``objectives`` takes one of ``OBJECTIVES``. Resumable: a run whose id (a hash of its config
overrides) already has a row is skipped; an interrupted run has no row and is redone (its
training resumes from its last checkpoint under ``runs/<sweep>/<run_id>``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

from ashbench.errors import ConfigError
from ashbench.files import read_toml

AXES = {
    "mode": "model.mode", "T": "model.timesteps", "timesteps": "model.timesteps", "neuron": "model.neuron",
    "threshold": "model.v_threshold", "tau": "model.tau", "snn_width": "model.snn_width",
    "vision_width": "model.vision_width", "width": "model.snn_width", "snn_attention": "model.snn_attention",
    "lambda": "loss.firing_rate_weight", "fr_lambda": "loss.firing_rate_weight", "seed": "train.seed",
    "steps": "train.steps",
}
OBJECTIVES = {
    "itc": {"loss.itm_weight": 0.0, "loss.stua_weight": 0.0, "loss.hard_negatives": False,
            "loss.nn_negatives_boost": 0.0},
    "itc+hn": {"loss.itm_weight": 0.0, "loss.stua_weight": 0.0, "loss.hard_negatives": True},
    "itc+hn+itm": {"loss.stua_weight": 0.0, "loss.hard_negatives": True},
    "itc+hn+itm+stua": {"loss.hard_negatives": True},
}
SPEC_KEYS = {"name", "base", "output", "energy_models", "set", "grid", "runs", "work_dir"}


@dataclass(frozen=True)
class RunSpec:
    """One configuration of a sweep: the axis values and the config overrides they mean."""

    run_id: str
    label: str
    values: dict
    overrides: tuple


@dataclass
class SweepSpec:
    name: str
    base: str
    output: Path
    work_dir: Path
    energy_models: list
    fixed: dict
    grid: dict
    runs: list = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return self.output / self.name

    @property
    def axes(self) -> list[str]:
        """Every axis named by the grid or an explicit run, in order of appearance."""
        return list(dict.fromkeys([*self.grid, *(k for run in self.runs for k in run)]))


def load_spec(path: str) -> SweepSpec:
    """Read and validate a sweep spec; raises ConfigError (one line) on any problem."""
    data = read_toml(path, ConfigError, "sweep spec")
    unknown = sorted(set(data) - SPEC_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown spec key {unknown[0]!r}; valid keys: {', '.join(sorted(SPEC_KEYS))}")
    return _spec_from(data, Path(path))


def _spec_from(data: dict, file: Path) -> SweepSpec:
    name = data.get("name", file.stem)
    if not isinstance(name, str) or not name or "/" in name:
        raise ConfigError(f"{file}: 'name' must be a plain folder name, got {name!r}")
    grid, runs = data.get("grid", {}), data.get("runs", [])
    if not isinstance(grid, dict) or not all(isinstance(v, list) for v in grid.values()):
        raise ConfigError(f"{file}: [grid] must map each axis to a list of values")
    if any(len(v) == 0 for v in grid.values()) or (not grid and not runs):
        raise ConfigError(f"{file}: the sweep is empty (an axis with no values, or neither [grid] nor [[runs]])")
    models = data.get("energy_models", ["45nm-fp32", "memory-aware"])
    return SweepSpec(name, str(data.get("base", "ashnet-default")), Path(data.get("output", "results")),
                     Path(data.get("work_dir", "runs")), list(models), dict(data.get("set", {})), grid, list(runs))


def axis_overrides(axis: str, value) -> dict:
    """Config overrides meant by one axis value (raises ConfigError on an unknown axis)."""
    if axis == "objectives":
        if value not in OBJECTIVES:
            raise ConfigError(f"unknown objectives {value!r}; valid: {', '.join(OBJECTIVES)}")
        return dict(OBJECTIVES[value])
    from ashbench.ashnet.config import _resolve_key

    key = AXES.get(axis, axis)
    try:
        _resolve_key(key)
    except ConfigError:
        raise ConfigError(f"unknown axis {axis!r}; use a config key or one of: objectives, {', '.join(AXES)}") from None
    return {key: value}


def expand(spec: SweepSpec) -> list[RunSpec]:
    """The runs of a spec: grid product first, then explicit runs; duplicates dropped."""
    combos = [dict(zip(spec.grid, vals)) for vals in itertools.product(*spec.grid.values())] if spec.grid else []
    combos += [dict(r) for r in spec.runs]
    seen, out = set(), []
    for values in combos:
        run = make_run(spec, values)
        if run.run_id not in seen:
            seen.add(run.run_id)
            out.append(run)
    return out


def make_run(spec: SweepSpec, values: dict) -> RunSpec:
    overrides = dict(spec.fixed)
    for axis, value in values.items():
        overrides.update(axis_overrides(axis, value))
    items = tuple(f"{k}={_toml_value(v)}" for k, v in sorted(overrides.items()))
    digest = hashlib.sha1(json.dumps([spec.base, items]).encode()).hexdigest()[:10]
    label = ",".join(f"{k}={v}" for k, v in values.items())
    return RunSpec(digest, label, values, items)


def effective_axis_value(axis: str, config: dict):
    """The value an axis has in a run's final config (for axes a run does not set)."""
    if axis == "objectives":
        loss = config["loss"]
        names = ["itc"] + ["hn"] * bool(loss["hard_negatives"]) + ["itm"] * (loss["itm_weight"] > 0) \
            + ["stua"] * (loss["stua_weight"] > 0)
        return "+".join(names)
    section, name = AXES.get(axis, axis).split(".", 1) if "." in AXES.get(axis, axis) else _split_bare(axis)
    return config[section][name]


def _split_bare(key: str) -> tuple[str, str]:
    from ashbench.ashnet.config import _resolve_key

    return _resolve_key(key)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, str) else repr(value)


def validate_runs(spec: SweepSpec, runs: list[RunSpec]) -> None:
    """Build every run's config before any training: bad values fail fast (ConfigError)."""
    from ashbench.energy import get_energy_model
    from ashbench.ashnet.config import load_config

    for model in spec.energy_models:
        get_energy_model(model)
    for run in runs:
        try:
            load_config(spec.base, list(run.overrides))
        except ConfigError as exc:
            raise ConfigError(f"run {run.label or run.run_id}: {exc}") from None
