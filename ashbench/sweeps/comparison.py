"""Accuracy-vs-efficiency comparison tables from a sweep's runs table (pandas; no torch).

Rows are configurations (the sweep's axes without ``seed``); each metric is the mean over seeds
with its standard deviation in ``<metric>_std`` (sample std, 0 for a single seed) and ``n`` the
number of seeds. With a baseline (e.g. ``mode=ann``) the table gains ratio columns
``energy_x`` = energy / baseline energy and ``ops_x`` = (macs + synops) / baseline's, and
``t2i_r1_delta`` = t2i_r1 - baseline's (percentage points).

With ``energy_spread`` the table also shows the spread over every energy model of the runs table
(its ``energy_pj:<model>`` columns): the mean energy per model (``energy_pj:<model>``), then
``energy_min_pj`` / ``energy_max_pj`` (the lowest and highest of those means) and the models that
give them (``energy_min_model`` / ``energy_max_model``; tied models joined by ", "); with a
baseline also the range of the per-model ratios, ``energy_x_min`` / ``energy_x_max`` (model m:
mean energy_m / baseline's mean energy_m) with their models, so "saves 20%" can be checked under
every estimator at once.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ashbench.errors import ResultsError
from ashbench.report.profile_report import human
from ashbench.report.tables import FORMATS, Column, Table, render
from ashbench.sweeps.runs_table import read_rows

ACCURACY = ("t2i_r1", "i2t_r1", "mean_recall", "hard_negative_accuracy")
EFFICIENCY = ("synops", "macs", "firing_rate")
TABLE_FORMATS = tuple(FORMATS.names())


def load_runs(path: str) -> pd.DataFrame:
    """The runs table as a DataFrame with numeric columns parsed (ResultsError if unusable)."""
    file = Path(path)
    if not file.is_file():
        raise ResultsError(f"results file not found: {path}")
    rows = read_rows(file)
    if not rows:
        raise ResultsError(f"{path} has no runs")
    frame = pd.DataFrame(rows)
    for column in frame.columns:
        converted = pd.to_numeric(frame[column], errors="coerce")
        if converted.notna().all():
            frame[column] = converted
    return frame


def require_columns(frame: pd.DataFrame, columns, what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ResultsError(f"{what} needs column {missing[0]!r}, which these results lack")


def require_numbers(frame: pd.DataFrame, columns, what: str) -> None:
    """The columns exist and every cell is a finite number (ResultsError naming the first bad cell)."""
    require_columns(frame, columns, what)
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = ~values.apply(lambda v: v == v and abs(v) != float("inf"))
        if bad.any():
            row = frame[bad].iloc[0]
            raise ResultsError(f"{what} needs numbers in column {column!r}; run {row.get('run_id', '?')} "
                               f"holds {row[column]!r}")


ENERGY_PREFIX = "energy_pj:"
SPREAD = ("energy_min_pj", "energy_min_model", "energy_max_pj", "energy_max_model")
RATIO_SPREAD = ("energy_x_min", "energy_x_min_model", "energy_x_max", "energy_x_max_model")


def energy_column(energy_model: str) -> str:
    return f"{ENERGY_PREFIX}{energy_model}"


def energy_models(frame: pd.DataFrame) -> list[str]:
    """The energy models a runs table priced (its ``energy_pj:<model>`` columns), in column order."""
    return [c.removeprefix(ENERGY_PREFIX) for c in frame.columns if c.startswith(ENERGY_PREFIX)]


def axis_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("axis:") and c != "axis:seed"]


def comparison_table(frame: pd.DataFrame, *, energy_model: str = "45nm-fp32", group_by=None,
                     baseline: str | None = None, sort: str | None = None,
                     energy_spread: bool = False) -> pd.DataFrame:
    """Mean and std over seeds per configuration, with optional baseline ratios, the energy spread
    over the runs table's energy models (see the module docstring) and sorting."""
    energy = energy_column(energy_model)
    metrics = [*ACCURACY, *EFFICIENCY, energy]
    require_numbers(frame, metrics, "the comparison table")
    per_model = [energy_column(m) for m in energy_models(frame)] if energy_spread else []
    require_numbers(frame, per_model, "the energy spread")
    groups = list(group_by) if group_by else axis_columns(frame) or ["label"]
    require_columns(frame, groups, "grouping")
    grouped = frame.groupby(groups, sort=False, dropna=False)
    table = grouped[metrics].mean()
    std = grouped[metrics].std(ddof=1).fillna(0.0).add_suffix("_std")
    table = table.join(std)
    table["n"] = grouped.size()
    table = table.reset_index().rename(columns={energy: "energy_pj", f"{energy}_std": "energy_pj_std"})
    if per_model:
        for column, means in grouped[per_model].mean().items():  # the groups in the same order as the rows
            table[column] = means.to_numpy()
    table.columns = [c.removeprefix("axis:") for c in table.columns]
    names = [g.removeprefix("axis:") for g in groups]
    table.insert(len(names), "config", config_labels(table, names))
    if per_model:
        _add_extremes(table, table[per_model], "energy_min_pj", "energy_max_pj")
    if baseline:
        _add_ratios(table, baseline, per_model)
    if sort:
        require_columns(table, [sort.lstrip("-")], "sorting")
        table = table.sort_values(sort.lstrip("-"), ascending=not sort.startswith("-"), kind="stable")
    return table.reset_index(drop=True)


def _add_extremes(table: pd.DataFrame, values: pd.DataFrame, low: str, high: str) -> None:
    """Columns ``low`` and ``high``: the row-wise min and max of ``values`` (one column per energy
    model, ``energy_pj:<model>``), each followed by ``<...>_model``: the model(s) giving it."""
    for column, extreme in ((low, values.min(axis=1)), (high, values.max(axis=1))):
        models = [", ".join(c.removeprefix(ENERGY_PREFIX) for c in values.columns if row[c] == best)
                  for best, (_, row) in zip(extreme, values.iterrows())]
        table[column] = extreme
        table[column.removesuffix("_pj") + "_model"] = models


def _add_ratios(table: pd.DataFrame, baseline: str, per_model=()) -> None:
    mask = pd.Series(True, index=table.index)
    for part in baseline.split(","):
        if "=" not in part:
            raise ResultsError(f"baseline {baseline!r} must be key=value[,key=value]")
        key, value = (s.strip() for s in part.split("=", 1))
        require_columns(table, [key], "the baseline")
        mask &= table[key].astype(str) == value
    if mask.sum() != 1:
        raise ResultsError(f"baseline {baseline!r} matches {int(mask.sum())} rows; it must match exactly one")
    base = table[mask].iloc[0]
    table["energy_x"] = table["energy_pj"] / base["energy_pj"]
    ops = table["macs"] + table["synops"]
    table["ops_x"] = ops / (base["macs"] + base["synops"])
    table["t2i_r1_delta"] = table["t2i_r1"] - base["t2i_r1"]
    if per_model:
        ratios = pd.DataFrame({c: table[c] / base[c] for c in per_model})
        _add_extremes(table, ratios, "energy_x_min", "energy_x_max")


ENERGY_HEADER = {"energy_pj": "energy (µJ)"}  # shown in µJ; csv keeps energy_pj in pJ
DISPLAY = ("t2i_r1", "mean_recall", "hard_negative_accuracy", "synops", "macs", "firing_rate", "energy_pj")


def config_labels(table: pd.DataFrame, names: list[str]) -> list[str]:
    """Short labels: the first axis always, other axes only where they differ from their most
    common value (e.g. 'mode=hybrid,T=8')."""
    modal = {n: table[n].astype(str).mode().iloc[0] for n in names[1:]}
    labels = []
    for vals in table[names].astype(str).itertuples(index=False):
        parts = [f"{names[0]}={vals[0]}"] + [f"{n}={v}" for n, v in zip(names[1:], vals[1:]) if v != modal[n]]
        labels.append(",".join(parts))
    return labels


def breakdown_table(frame: pd.DataFrame, energy_model: str, group_by=None) -> pd.DataFrame:
    """Mean energy parts (pJ per sample) per configuration: columns config, ann, snn, neuron, memory."""
    parts = {p: f"energy_{p}_pj:{energy_model}" for p in ("ann", "snn", "neuron", "memory")}
    require_numbers(frame, list(parts.values()), "the energy breakdown")
    groups = list(group_by) if group_by else axis_columns(frame) or ["label"]
    means = frame.groupby(groups, sort=False, dropna=False)[list(parts.values())].mean().reset_index()
    means["config"] = config_labels(means.rename(columns=lambda c: c.removeprefix("axis:")),
                                    [g.removeprefix("axis:") for g in groups])
    return means.rename(columns={v: k for k, v in parts.items()})


def render_table(table: pd.DataFrame, fmt: str = "markdown") -> str:
    """``table`` in ``fmt`` through the one renderer (``ashbench.report.tables``): csv writes every
    column with its raw values; the other formats show the key columns, then 'mean ± std' cells
    (std shown when n > 1; accuracy in %, counts per sample, energy in µJ), the energy spread
    ('min–max' in µJ and 'min model / max model') when present, the ratio columns (and the ratio
    range over the energy models) and n."""
    if fmt == "csv":
        return render(frame_table(table), fmt)
    shown = _display_frame(table)
    numeric = table.rename(columns=ENERGY_HEADER)
    for column, right in SPREAD_DISPLAY.items():  # shown-only columns: right-aligned ranges, left-aligned names
        numeric[column] = 0.0 if right else ""
    width = 300 if "energy_min_pj" in table else 220  # the spread's four columns take ~80 characters
    return render(frame_table(shown, numeric=numeric, width=width), fmt)


def frame_table(frame: pd.DataFrame, numeric: pd.DataFrame | None = None, width: int = 220) -> Table:
    """``frame`` as a renderer table: one column per frame column, right-aligned where that column
    of ``numeric`` (default ``frame``) is numeric; NaN becomes a missing value."""
    numeric = frame if numeric is None else numeric
    columns = [Column(str(c), align="right" if pd.api.types.is_numeric_dtype(numeric[c]) else "left") for c in frame]
    values = [[None if pd.isna(v) else v for v in row] for row in frame.itertuples(index=False)]
    return Table(columns, values, width=width)


PERCENT = ("t2i_r1", "mean_recall", "hard_negative_accuracy")
# the spread's shown columns: header -> right-aligned
SPREAD_DISPLAY = {"energy min–max (µJ)": True, "min / max model": False, "energy_x min–max": True,
                  "energy_x min / max model": False}


def _display_frame(table: pd.DataFrame) -> pd.DataFrame:
    hidden = ("n", "energy_x", "ops_x", "t2i_r1_delta", "i2t_r1", "config", *SPREAD, *RATIO_SPREAD)
    keys = [c for c in table.columns if not c.endswith("_std") and c not in DISPLAY and c not in hidden
            and not c.startswith(ENERGY_PREFIX)]
    out = table[keys].copy()
    for col in DISPLAY:
        std = table[f"{col}_std"] if f"{col}_std" in table else None
        out[col] = [_cell(col, v, None if std is None or n < 2 else std.iloc[i])
                    for i, (v, n) in enumerate(zip(table[col], table["n"]))]
    if "energy_min_pj" in table:
        out["energy min–max (µJ)"] = [f"{_fmt('energy_pj', lo)}–{_fmt('energy_pj', hi)}"
                                       for lo, hi in zip(table["energy_min_pj"], table["energy_max_pj"])]
        out["min / max model"] = [f"{_tied(lo)} / {_tied(hi)}"
                                  for lo, hi in zip(table["energy_min_model"], table["energy_max_model"])]
    for col in ("energy_x", "ops_x", "t2i_r1_delta"):
        if col in table:
            out[col] = [f"{v:.3g}" for v in table[col]]
    if "energy_x_min" in table:
        out["energy_x min–max"] = [f"{lo:.3g}–{hi:.3g}" for lo, hi in zip(table["energy_x_min"], table["energy_x_max"])]
        out["energy_x min / max model"] = [f"{_tied(lo)} / {_tied(hi)}" for lo, hi in
                                           zip(table["energy_x_min_model"], table["energy_x_max_model"])]
    out["n"] = table["n"]
    return out.rename(columns=ENERGY_HEADER)


def _tied(models: str) -> str:
    """'a, b, c' -> 'a +2 tied' (the csv keeps every name)."""
    names = models.split(", ")
    return names[0] + (f" +{len(names) - 1} tied" if len(names) > 1 else "")


def _fmt(col: str, value: float) -> str:
    if col == "energy_pj":
        return f"{value / 1e6:.3g}"
    if col == "firing_rate":
        return f"{value:.4f}"
    if col in PERCENT:
        return f"{value:.1f}"
    return human(round(value)) if abs(value) >= 1 else f"{value:.2g}"


def _cell(col: str, value: float, std) -> str:
    """'mean ± std' (std only with several seeds); units: % for accuracy, µJ for energy, counts per sample."""
    return _fmt(col, value) + (f" ± {_fmt(col, std)}" if std is not None else "")
