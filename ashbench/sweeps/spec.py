"""Sweeps: a TOML spec of axes over a base config; each run trains, evaluates and profiles, and
its row is appended atomically to ``results/<sweep>/runs.csv``.

Spec (``benchmarks/ashnets.toml`` is a full example)::

    name = "ashnets"            # results go to <output>/<name>/
    base = "ashnet-default"     # a config name or TOML file (see ashbench.ashnet.config)
    output = "results"          # optional, default "results"
    work_dir = "runs"           # optional, default "runs": checkpoints of each run
    energy_models = ["45nm-fp32", "memory-aware"]   # optional
    set = { "train.steps" = 600 }                   # optional overrides for every run
    [grid]                      # cartesian product of the listed axes
    mode = ["ann", "snn", "hybrid"]
    seed = [0, 1]
    [[runs]]                    # explicit runs, each a set of axis values (added after the grid)
    mode = "hybrid"
    T = 8

Every key is validated by :mod:`ashbench.schema` against :class:`SpecFile` (one-line
``ConfigError`` on a wrong type, an unknown key, an empty ``energy_models`` or a ``name`` that is
not a plain folder name). Axes are config keys (``model.timesteps``, bare names when unique) or
entries of the ``AXES`` registry: aliases of one config key (``mode``, ``T``, ``neuron``, ...) and
``objectives`` (one of ``OBJECTIVES``) and ``arm`` (a controlled baseline of ``BASELINES``); a new
axis is one ``AXES.register(name, axis)`` with an object that has ``overrides(value) -> dict`` and
``effective(config) -> value``.

Resumable: a run whose id (a hash of its config overrides) already has a row is skipped; an
interrupted run has no row and is redone (its training resumes from its last checkpoint under
``<work_dir>/<sweep>/<run_id>``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

from ashbench.ashnet.baselines import arm_overrides
from ashbench.ashnet.config import BASELINES, _resolve_key, load_config
from ashbench.energy import get_energy_model
from ashbench.errors import ConfigError
from ashbench.files import read_toml
from ashbench.registry import Registry
from ashbench.schema import build, non_empty, spec

OBJECTIVES = {
    "itc": {"loss.itm_weight": 0.0, "loss.stua_weight": 0.0, "loss.hard_negatives": False,
            "loss.nn_negatives_boost": 0.0},
    "itc+hn": {"loss.itm_weight": 0.0, "loss.stua_weight": 0.0, "loss.hard_negatives": True},
    "itc+hn+itm": {"loss.stua_weight": 0.0, "loss.hard_negatives": True},
    "itc+hn+itm+stua": {"loss.hard_negatives": True},
}
AXES: Registry = Registry("axis", ConfigError, plural="axes")


@dataclass(frozen=True)
class ConfigAxis:
    """An axis that sets one config key (``key``: ``section.field`` or a unique bare field name)."""

    key: str

    def overrides(self, value) -> dict:
        return {self.key: value}

    def effective(self, config: dict):
        section, name = _resolve_key(self.key)
        return config[section][name]


class ObjectivesAxis:
    """The ``objectives`` axis: a name of ``OBJECTIVES``, i.e. which losses are on."""

    def overrides(self, value) -> dict:
        if not isinstance(value, str) or value not in OBJECTIVES:
            raise ConfigError(f"unknown objectives {value!r}; valid: {', '.join(OBJECTIVES)}")
        return dict(OBJECTIVES[value])

    def effective(self, config: dict) -> str:
        loss = config["loss"]
        names = ["itc"] + ["hn"] * bool(loss["hard_negatives"]) + ["itm"] * (loss["itm_weight"] > 0) \
            + ["stua"] * (loss["stua_weight"] > 0)
        return "+".join(names)


class ArmAxis:
    """The ``arm`` axis: a controlled arm of the comparison, a name of
    :data:`ashbench.ashnet.config.BASELINES` (its overrides on the sweep's base config with the spec's
    ``set`` applied, which decides e.g. the width of ``ann-wide``; see that registry for what each
    arm controls)."""

    def overrides(self, value, base=None) -> dict:
        if not isinstance(value, str) or value not in BASELINES:
            raise ConfigError(f"unknown arm {value!r}; valid: {', '.join(BASELINES.names())}")
        return _flat(arm_overrides(value, base))

    def effective(self, config: dict) -> str:
        """For a run that does not set the axis: the arm with the most fixed overrides that all hold in
        ``config`` ("hybrid" has none; an ANN widened by hand reads as "ann": only a run that names
        ``ann-wide`` is one)."""
        holds = [(len(_flat(BASELINES.get(a).overrides)), a) for a in BASELINES.names()
                 if not BASELINES.get(a).match_image_params
                 and all(config[k.split(".")[0]][k.split(".")[1]] == v
                         for k, v in _flat(BASELINES.get(a).overrides).items())]
        return max(holds)[1]


def _flat(nested: dict) -> dict:
    return {f"{section}.{key}": value for section, values in nested.items() for key, value in values.items()}


for _alias, _key in {
    "mode": "model.mode", "T": "model.timesteps", "timesteps": "model.timesteps", "neuron": "model.neuron",
    "threshold": "model.v_threshold", "tau": "model.tau", "snn_width": "model.snn_width",
    "vision_width": "model.vision_width", "width": "model.snn_width", "snn_attention": "model.snn_attention",
    "lambda": "loss.firing_rate_weight", "fr_lambda": "loss.firing_rate_weight", "seed": "train.seed",
    "steps": "train.steps",
}.items():
    AXES.register(_alias, ConfigAxis(_key))
AXES.register("objectives", ObjectivesAxis())
AXES.register("arm", ArmAxis())


def _folder_name(name: str) -> str:
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ValueError("it must be a plain folder name (not empty, '.' or '..'; no '/')")
    return name


@dataclass
class SpecFile:
    """The keys of a sweep spec TOML file.

    name: the results folder under ``output`` (a plain folder name; default: the file's stem);
    base: a config name or TOML file; output: the results root; work_dir: where runs train
    (checkpoints under ``work_dir/name/run_id``); energy_models: energy models priced per run
    (non-empty; the first is the one ``evaluate`` reports); set: config overrides for every run;
    grid: axis -> list of values (their cartesian product); runs: explicit runs, axis -> value."""

    name: str = spec(convert=_folder_name)
    base: str = "ashnet-default"
    output: str = "results"
    work_dir: str = "runs"
    energy_models: list[str] = spec(["45nm-fp32", "memory-aware"], convert=non_empty)
    set: dict = spec({})
    grid: dict[str, list] = spec({})
    runs: list[dict] = spec([])


@dataclass(frozen=True)
class RunSpec:
    """One configuration of a sweep: the axis values and the config overrides they mean."""

    run_id: str
    label: str
    values: dict
    overrides: tuple


@dataclass
class SweepSpec:
    """A validated spec: ``fixed`` is the file's ``set``; paths are Paths (see :class:`SpecFile`)."""

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
    data = {"name": Path(path).stem, **read_toml(path, ConfigError, "sweep spec")}
    raw = build(SpecFile, data, ConfigError, source=str(path))
    if any(len(v) == 0 for v in raw.grid.values()) or (not raw.grid and not raw.runs):
        raise ConfigError(f"{path}: the sweep is empty (an axis with no values, or neither [grid] nor [[runs]])")
    return SweepSpec(raw.name, raw.base, Path(raw.output), Path(raw.work_dir), raw.energy_models, raw.set, raw.grid,
                     raw.runs)


def _axis(name: str):
    """The AXES entry called ``name``, or a ConfigAxis when ``name`` is a config key."""
    if name in AXES:
        return AXES.get(name)
    try:
        _resolve_key(name)
    except ConfigError:
        raise ConfigError(f"unknown axis {name!r}; use a config key or one of: {', '.join(AXES.names())}") from None
    return ConfigAxis(name)


def axis_overrides(axis: str, value, base=None) -> dict:
    """Config overrides meant by one axis value (raises ConfigError on an unknown axis); ``base`` (a
    VLConfig) is passed to axes whose overrides depend on it (``arm``)."""
    entry = _axis(axis)
    return entry.overrides(value, base) if isinstance(entry, ArmAxis) else entry.overrides(value)


def expand(spec: SweepSpec) -> list[RunSpec]:
    """The runs of a spec: grid product first, then explicit runs; duplicates dropped."""
    combos = [dict(zip(spec.grid, vals)) for vals in itertools.product(*spec.grid.values())] if spec.grid else []
    combos += [dict(r) for r in spec.runs]
    seen, out = set(), []
    base = base_config(spec) if any("arm" in v for v in combos) else None
    for values in combos:
        run = make_run(spec, values, base)
        if run.run_id not in seen:
            seen.add(run.run_id)
            out.append(run)
    return out


def base_config(spec: SweepSpec):
    """The sweep's base config with the spec's ``set`` applied (what the ``arm`` axis derives from)."""
    return load_config(spec.base, [f"{k}={_toml_value(v)}" for k, v in spec.fixed.items()])


def make_run(spec: SweepSpec, values: dict, base=None) -> RunSpec:
    overrides = dict(spec.fixed)
    if "arm" in values and base is None:
        base = base_config(spec)
    for axis, value in values.items():
        overrides.update(axis_overrides(axis, value, base))
    items = tuple(f"{k}={_toml_value(v)}" for k, v in sorted(overrides.items()))
    digest = hashlib.sha1(json.dumps([spec.base, items]).encode()).hexdigest()[:10]
    label = ",".join(f"{k}={v}" for k, v in values.items())
    return RunSpec(digest, label, values, items)


def effective_axis_value(axis: str, config: dict):
    """The value an axis has in a run's final config (for axes a run does not set)."""
    return _axis(axis).effective(config)


def axis_cells(spec: SweepSpec, run: RunSpec, config: dict) -> dict:
    """A run's ``axis:<name>`` cells for every axis of the spec: its own value, else the axis's
    effective value in ``config`` (the run's final config, ``VLConfig.to_dict()``)."""
    return {f"axis:{a}": run.values.get(a, effective_axis_value(a, config)) for a in spec.axes}


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, str) else repr(value)


def check_paired(runs: list[RunSpec]) -> None:
    """Arms compared with each other must share their seeds: among runs that differ only in ``arm``
    (and ``seed``), every arm needs the same set of seeds, so each difference can be paired by seed
    (same data order and, in the parts they share, the same initial weights). ConfigError otherwise."""
    groups: dict = {}
    for run in runs:
        if "arm" not in run.values:
            continue
        rest = json.dumps({k: v for k, v in run.values.items() if k not in ("arm", "seed")}, sort_keys=True)
        groups.setdefault(rest, {}).setdefault(run.values["arm"], set()).add(run.values.get("seed", 0))
    for arms in groups.values():
        seeds = {arm: sorted(s) for arm, s in arms.items()}
        first = next(iter(seeds))
        odd = next((a for a in seeds if seeds[a] != seeds[first]), None)
        if odd is not None:
            raise ConfigError(f"the arms cannot be paired: arm {first} has seeds {seeds[first]}, "
                              f"arm {odd} has seeds {seeds[odd]}")


def validate_runs(spec: SweepSpec, runs: list[RunSpec]) -> None:
    """Build every run's config before any training: bad values fail fast (ConfigError); arms
    must be paired by seed (:func:`check_paired`)."""
    for model in spec.energy_models:
        get_energy_model(model)
    check_paired(runs)
    for run in runs:
        try:
            load_config(spec.base, list(run.overrides))
        except ConfigError as exc:
            raise ConfigError(f"run {run.label or run.run_id}: {exc}") from None
