"""Accuracy-vs-efficiency comparison tables from a sweep's runs table (pandas; no torch).

Rows are configurations (the sweep's axes without ``seed``); each metric is the mean over seeds
with its standard deviation in ``<metric>_std`` (sample std, 0 for a single seed), the half-width
of its two-sided 95% t-interval in ``<metric>_ci`` (t_{0.975, n-1} * s / sqrt(n), ``statistics.
t_quantile``; NaN for a single seed: no interval) and ``n`` the number of seeds. With a baseline
(e.g. ``mode=ann``) the table gains ratio columns ``energy_x`` = energy / baseline energy and
``ops_x`` = (macs + synops) / baseline's, ``t2i_r1_delta`` = t2i_r1 - baseline's (percentage
points; a difference of the two means), and the **paired** differences to the baseline of t2i_r1
and energy: seeds are paired by their value in ``axis:seed`` (else ``seed``) where both the row
and the baseline have it (several runs of one seed in one configuration, e.g. with ``group_by``
merging an axis, are averaged first); ``pairs`` is the number of pairs, ``<m>_diff`` the mean of
row - baseline over the pairs, ``<m>_diff_ci`` the half-width of its 95% t-interval (NaN with
fewer than 2 pairs) and ``<m>_diff_resolved`` whether the difference is resolved: at least 2 pairs
and an interval that excludes 0 (m = ``t2i_r1`` and ``energy_pj``). A row with no seed in common
with the baseline (or a runs table without a seed column) has ``pairs`` 0 and NaN differences,
shown as "no common seeds": nothing is paired by guess.

Display (``render_table``): csv writes every column raw (``_std``, ``_ci`` and the paired columns
as numbers). The other formats show 'mean ± x' cells where x is chosen by ``interval``: "ci" (the
95% t-interval half-width; what ``ashbench table`` shows by default, since with 2-5 seeds the
std alone understates the uncertainty of a mean by a factor t/sqrt(n) of 9.0 to 1.2) or "std"
(the sample std; the library default, which the HTML report states). With "ci" a single-seed
cell reads 'value (n=1)'. With a baseline the paired differences are shown as 'Δ t2i_r1 (pp,
paired)' and 'Δ energy (µJ, paired)': '+d ± ci', with ' (n.s.)' when not resolved (one pair:
'+d (1 pair, n.s.)'); they replace the display of ``t2i_r1_delta`` (kept in csv).

With ``energy_spread`` the table also shows the spread over every energy model of the runs table
(its ``energy_pj:<model>`` columns): the mean energy per model (``energy_pj:<model>``), then
``energy_min_pj`` / ``energy_max_pj`` (the lowest and highest of those means) and the models that
give them (``energy_min_model`` / ``energy_max_model``; tied models joined by ", "); with a
baseline also the range of the per-model ratios, ``energy_x_min`` / ``energy_x_max`` (model m:
mean energy_m / baseline's mean energy_m) with their models, so "saves 20%" can be checked under
every estimator at once.

``metrics`` chooses the accuracy metrics: a sequence of numeric columns of the runs table (e.g.
``truth:t2i_r1``, ``comp:truth:t2i_r1``, ``hn:relation_flip``, ``hard_negative_accuracy_itm``; all
percentages, see ``ashbench.sweeps.single_run.accuracy_columns``), aggregated like the others
(``<m>``, ``<m>_std``, ``<m>_ci``), shown in this order (in place of t2i_r1, mean_recall and
hard_negative_accuracy; with one decimal) and, with a baseline, each paired with it (``<m>_diff``,
``<m>_diff_ci``, ``<m>_diff_resolved``, shown as 'Δ <m> (pp, paired)'); energy is always paired too
and the efficiency columns are always there. ``t2i_r1_delta`` is kept only when t2i_r1 is among the
metrics. A name that is not a numeric column (every run a finite number), or that names an
efficiency, energy, axis or seed column, is a ResultsError (``metric_problem`` says why); repeats
count once. ``None`` (the default) is ``ACCURACY`` with the display and pairing described above
(i2t_r1 in csv only; only t2i_r1 paired). The chosen metrics travel with the table in
``table.attrs["metrics"]`` (None for the default), which ``render_table`` reads; a table that lost
its attrs is read by its ``_ci`` columns.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ashbench.errors import ResultsError
from ashbench.report.profile_report import human
from ashbench.report.tables import FORMATS, Column, Table, render
from ashbench.sweeps.runs_table import read_rows
from ashbench.sweeps.statistics import LEVEL, ci_half_width, paired_difference

ACCURACY = ("t2i_r1", "i2t_r1", "mean_recall", "hard_negative_accuracy")
EFFICIENCY = ("synops", "macs", "firing_rate")
SEED_COLUMNS = ("axis:seed", "seed")  # the first present pairs runs with the baseline's
PAIRED = ("t2i_r1", "energy_pj")  # the metrics whose paired difference to the baseline is given (default metrics)
# names a chosen metric may not take: the table's own columns and what groups or pairs the rows
RESERVED = (*EFFICIENCY, "label", "config", "n", "pairs", "energy_x", "ops_x", "t2i_r1_delta", *SEED_COLUMNS)
INTERVALS = ("ci", "std")  # what a shown 'mean ± x' cell gives as x
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


def metric_problem(frame: pd.DataFrame, name: str) -> str | None:
    """Why ``name`` cannot be a chosen accuracy metric of ``frame`` (see the module docstring), or None."""
    if name in RESERVED or name.startswith(("energy_", "axis:")):
        return ("not an accuracy metric (the efficiency and energy columns are always shown; axes and seeds "
                "group and pair the rows)")
    if name not in frame.columns:
        numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c]) and c not in RESERVED
                   and not c.startswith(("energy_", "axis:"))]
        close = difflib.get_close_matches(name, numeric, n=3, cutoff=0.6)
        return "not a column of these results" + (f"; did you mean {', '.join(close)}?" if close else "")
    values = pd.to_numeric(frame[name], errors="coerce")
    bad = ~values.apply(lambda v: v == v and abs(v) != float("inf"))
    if bad.any():
        row = frame[bad].iloc[0]
        return f"not a number in every run (run {row.get('run_id', '?')} holds {row[name]!r})"
    return None


def check_metrics(frame: pd.DataFrame, metrics: Sequence[str]) -> tuple[str, ...]:
    """The chosen metrics, repeats dropped (ResultsError for none, or for the first unusable one)."""
    if isinstance(metrics, str):
        metrics = [metrics]
    chosen = tuple(dict.fromkeys(metrics))
    if not chosen:
        raise ResultsError("metrics must name at least one column (None for the default ones)")
    for name in chosen:
        problem = metric_problem(frame, name)
        if problem:
            raise ResultsError(f"metric {name!r}: {problem}")
    return chosen


def comparison_table(frame: pd.DataFrame, *, energy_model: str = "45nm-fp32", group_by=None,
                     baseline: str | None = None, sort: str | None = None,
                     energy_spread: bool = False, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean and std over seeds per configuration, with optional baseline ratios, the energy spread
    over the runs table's energy models, the accuracy ``metrics`` to aggregate, show and pair
    (None: ``ACCURACY``; see the module docstring) and sorting."""
    energy = energy_column(energy_model)
    chosen = None if metrics is None else check_metrics(frame, metrics)
    accuracy = chosen or ACCURACY
    paired = chosen or PAIRED[:-1]  # the accuracy metrics paired with the baseline
    metrics = [*accuracy, *EFFICIENCY, energy]  # every aggregated column
    require_numbers(frame, metrics, "the comparison table")
    per_model = [energy_column(m) for m in energy_models(frame)] if energy_spread else []
    require_numbers(frame, per_model, "the energy spread")
    groups = list(group_by) if group_by else axis_columns(frame) or ["label"]
    require_columns(frame, groups, "grouping")
    clash = [m for m in accuracy if m in groups or m in (g.removeprefix("axis:") for g in groups)]
    if chosen and clash:
        raise ResultsError(f"metric {clash[0]!r}: not an accuracy metric (it groups the rows)")
    grouped = frame.groupby(groups, sort=False, dropna=False)
    table = grouped[metrics].mean()
    raw_std = grouped[metrics].std(ddof=1)
    size = grouped.size()
    std = raw_std.fillna(0.0).add_suffix("_std")
    ci = pd.DataFrame({f"{m}_ci": [ci_half_width(s, int(k)) for s, k in zip(raw_std[m], size)] for m in metrics},
                      index=raw_std.index)
    table = table.join(std).join(ci)
    table["n"] = size
    table = table.reset_index().rename(columns={energy: "energy_pj", f"{energy}_std": "energy_pj_std",
                                                f"{energy}_ci": "energy_pj_ci"})
    if per_model:
        for column, means in grouped[per_model].mean().items():  # the groups in the same order as the rows
            table[column] = means.to_numpy()
    table.columns = [c.removeprefix("axis:") for c in table.columns]
    names = [g.removeprefix("axis:") for g in groups]
    table.insert(len(names), "config", config_labels(table, names))
    if per_model:
        _add_extremes(table, table[per_model], "energy_min_pj", "energy_max_pj")
    if baseline:
        base = _add_ratios(table, baseline, per_model)
        columns = {m: m for m in paired} | {"energy_pj": energy}
        _add_paired(table, base, _per_seed(frame, grouped, columns), tuple(columns))
    if sort:
        require_columns(table, [sort.lstrip("-")], "sorting")
        table = table.sort_values(sort.lstrip("-"), ascending=not sort.startswith("-"), kind="stable")
    table = table.reset_index(drop=True)
    table.attrs["metrics"] = chosen
    return table


def _add_extremes(table: pd.DataFrame, values: pd.DataFrame, low: str, high: str) -> None:
    """Columns ``low`` and ``high``: the row-wise min and max of ``values`` (one column per energy
    model, ``energy_pj:<model>``), each followed by ``<...>_model``: the model(s) giving it."""
    for column, extreme in ((low, values.min(axis=1)), (high, values.max(axis=1))):
        models = [", ".join(c.removeprefix(ENERGY_PREFIX) for c in values.columns if row[c] == best)
                  for best, (_, row) in zip(extreme, values.iterrows())]
        table[column] = extreme
        table[column.removesuffix("_pj") + "_model"] = models


def _add_ratios(table: pd.DataFrame, baseline: str, per_model=()) -> int:
    """The ratio columns; returns the baseline's row position."""
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
    if "t2i_r1" in table:
        table["t2i_r1_delta"] = table["t2i_r1"] - base["t2i_r1"]
    if per_model:
        ratios = pd.DataFrame({c: table[c] / base[c] for c in per_model})
        _add_extremes(table, ratios, "energy_x_min", "energy_x_max")
    return int(mask.to_numpy().nonzero()[0][0])


def seed_column(frame: pd.DataFrame) -> str | None:
    """The column that names a run's seed (``SEED_COLUMNS``), or None when the runs table has none."""
    return next((c for c in SEED_COLUMNS if c in frame.columns), None)


def _per_seed(frame: pd.DataFrame, grouped, columns: dict) -> list[dict]:
    """Per configuration (in the grouped order, the rows' order): {metric: {seed: mean over that
    seed's runs}} for ``columns`` (shown name -> frame column); empty mappings without a seed column."""
    seed = seed_column(frame)
    out = []
    for _, sub in grouped:
        if seed is None:
            out.append({m: {} for m in columns})
            continue
        means = sub.groupby(seed, sort=False)[list(columns.values())].mean()
        out.append({m: dict(means[c].items()) for m, c in columns.items()})
    return out


def _add_paired(table: pd.DataFrame, base: int, seeds: list[dict], paired=PAIRED) -> None:
    """``pairs`` and, per metric of ``paired``, ``<m>_diff``, ``<m>_diff_ci``, ``<m>_diff_resolved``:
    the paired difference of each row to the baseline row (position ``base``) over their common seeds."""
    for metric in paired:
        diffs = [paired_difference(row[metric], seeds[base][metric]) for row in seeds]
        table["pairs"] = [d.pairs for d in diffs]
        table[f"{metric}_diff"] = [d.mean for d in diffs]
        table[f"{metric}_diff_ci"] = [d.half_width for d in diffs]
        table[f"{metric}_diff_resolved"] = [d.resolved for d in diffs]


ENERGY_HEADER = {"energy_pj": "energy (µJ)"}  # shown in µJ; csv keeps energy_pj in pJ
DISPLAY = ("t2i_r1", "mean_recall", "hard_negative_accuracy", "synops", "macs", "firing_rate", "energy_pj")
DISPLAY_EFFICIENCY = DISPLAY[3:]  # shown after the accuracy columns, whichever those are


def table_metrics(table: pd.DataFrame) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the accuracy columns shown, the accuracy metrics paired with a baseline) of a comparison table:
    its ``attrs["metrics"]``, else the metrics found by their ``_ci`` columns; the default ones (``ACCURACY``)
    show as ``DISPLAY`` and pair t2i_r1 alone."""
    if "metrics" in table.attrs:
        chosen = table.attrs["metrics"]
    else:
        found = tuple(c.removesuffix("_ci") for c in table.columns if c.endswith("_ci") and not c.endswith("_diff_ci"))
        found = tuple(m for m in found if m not in (*EFFICIENCY, "energy_pj"))
        chosen = None if found == ACCURACY else found
    if chosen is None:
        return DISPLAY[:3], PAIRED[:-1]
    return tuple(chosen), tuple(chosen)


def paired_header(metric: str) -> str:
    return "Δ energy (µJ, paired)" if metric == "energy_pj" else f"Δ {metric} (pp, paired)"


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


def render_table(table: pd.DataFrame, fmt: str = "markdown", interval: str = "std") -> str:
    """``table`` in ``fmt`` through the one renderer (``ashbench.report.tables``): csv writes every
    column with its raw values; the other formats show the key columns, then 'mean ± x' cells of the
    accuracy columns (the default ones or the table's chosen metrics, ``table_metrics``) and the efficiency ones
    (``interval`` "std": the sample std, shown when n > 1; "ci": the 95% t-interval half-width,
    'value (n=1)' for one seed; accuracy in %, counts per sample, energy in µJ), the energy spread
    ('min–max' in µJ and 'min model / max model') when present, the ratio columns (and the ratio
    range over the energy models), the paired differences to the baseline when present, and n; with
    "ci" or a baseline, footer lines say what the cells are."""
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {INTERVALS}, got {interval!r}")
    if fmt == "csv":
        return render(frame_table(table), fmt)
    shown = _display_frame(table, interval)
    numeric = table.rename(columns=ENERGY_HEADER)
    for column, right in SPREAD_DISPLAY.items():  # shown-only columns: right-aligned ranges, left-aligned names
        numeric[column] = 0.0 if right else ""
    accuracy, paired = table_metrics(table)
    for metric in (*paired, "energy_pj"):
        numeric[paired_header(metric)] = 0.0
    width = 300 if "energy_min_pj" in table else 220  # the spread's four columns take ~80 characters
    width += 60 if "pairs" in table else 0
    # chosen metrics: ~14 characters per 'mean ± ci' cell beyond the default three, ~22 per extra paired cell, at
    # most 120 more (beyond that the table format wraps the cells; markdown and latex are as wide as they need)
    width += min(120, 14 * max(0, len(accuracy) - 3) + (22 * max(0, len(paired) - 1) if "pairs" in table else 0))
    result = frame_table(shown, numeric=numeric, width=width)
    result.footer = _footer(table, interval)
    return render(result, fmt)


def _footer(table: pd.DataFrame, interval: str) -> list[str]:
    lines = []
    if interval == "ci":
        lines.append(f"mean ± half-width of the two-sided {LEVEL:.0%} t-interval over seeds "
                     "(t_{0.975, n-1} · s / √n); (n=1): one seed, no interval; sample stds in the csv format")
    if "pairs" in table:
        lines.append(f"Δ: paired difference to the baseline over the seeds both have (pairs), mean ± {LEVEL:.0%} "
                     "t-interval; (n.s.): not resolved (the interval includes 0, or fewer than 2 pairs)")
    return lines


def frame_table(frame: pd.DataFrame, numeric: pd.DataFrame | None = None, width: int = 220) -> Table:
    """``frame`` as a renderer table: one column per frame column, right-aligned where that column
    of ``numeric`` (default ``frame``) is numeric; NaN becomes a missing value."""
    numeric = frame if numeric is None else numeric
    columns = [Column(str(c), align="right" if pd.api.types.is_numeric_dtype(numeric[c]) else "left") for c in frame]
    values = [[None if pd.isna(v) else v for v in row] for row in frame.itertuples(index=False)]
    return Table(columns, values, width=width)


PERCENT = ("t2i_r1", "mean_recall", "hard_negative_accuracy")  # a chosen metric is shown as a percentage too
COUNTS = ("synops", "macs")  # shown as counts per sample ('14.1M')
PAIRED_DISPLAY = {m: paired_header(m) for m in PAIRED}  # the default metrics' paired columns: metric -> header
PAIRED_COLUMNS = ("pairs", *(f"{m}{s}" for m in PAIRED for s in ("_diff", "_diff_ci", "_diff_resolved")))
# the spread's shown columns: header -> right-aligned
SPREAD_DISPLAY = {"energy min–max (µJ)": True, "min / max model": False, "energy_x min–max": True,
                  "energy_x min / max model": False}


def _display_frame(table: pd.DataFrame, interval: str = "std") -> pd.DataFrame:
    """The shown cells (see ``render_table``), one column per shown column."""
    accuracy, paired = table_metrics(table)
    display = (*accuracy, *DISPLAY_EFFICIENCY)
    paired_columns = [f"{m}{s}" for m in (*paired, "energy_pj") for s in ("_diff", "_diff_ci", "_diff_resolved")]
    hidden = ("n", "energy_x", "ops_x", "t2i_r1_delta", "config", *SPREAD, *RATIO_SPREAD, "pairs", *paired_columns,
              *ACCURACY)
    keys = [c for c in table.columns if not c.endswith(("_std", "_ci")) and c not in display and c not in hidden
            and not c.startswith(ENERGY_PREFIX)]
    out = table[keys].copy()
    for col in display:
        if interval == "ci":
            ci = table[f"{col}_ci"] if f"{col}_ci" in table else None
            out[col] = [_fmt(col, v) + (" (n=1)" if n < 2 else "" if ci is None else f" ± {_fmt(col, ci.iloc[i])}")
                        for i, (v, n) in enumerate(zip(table[col], table["n"]))]
            continue
        std = table[f"{col}_std"] if f"{col}_std" in table else None
        out[col] = [_cell(col, v, None if std is None or n < 2 else std.iloc[i])
                    for i, (v, n) in enumerate(zip(table[col], table["n"]))]
    if "energy_min_pj" in table:
        out["energy min–max (µJ)"] = [f"{_fmt('energy_pj', lo)}–{_fmt('energy_pj', hi)}"
                                       for lo, hi in zip(table["energy_min_pj"], table["energy_max_pj"])]
        out["min / max model"] = [f"{_tied(lo)} / {_tied(hi)}"
                                  for lo, hi in zip(table["energy_min_model"], table["energy_max_model"])]
    for col in ("energy_x", "ops_x", *(() if "pairs" in table else ("t2i_r1_delta",))):
        if col in table:
            out[col] = [f"{v:.3g}" for v in table[col]]
    if "pairs" in table:
        for metric in (*paired, "energy_pj"):
            out[paired_header(metric)] = [_paired_cell(metric, row) for _, row in table.iterrows()]
        out["pairs"] = table["pairs"]
    if "energy_x_min" in table:
        out["energy_x min–max"] = [f"{lo:.3g}–{hi:.3g}" for lo, hi in zip(table["energy_x_min"], table["energy_x_max"])]
        out["energy_x min / max model"] = [f"{_tied(lo)} / {_tied(hi)}" for lo, hi in
                                           zip(table["energy_x_min_model"], table["energy_x_max_model"])]
    out["n"] = table["n"]
    return out.rename(columns=ENERGY_HEADER)


def _paired_cell(metric: str, row) -> str:
    """'+d ± ci', '+d ± ci (n.s.)', '+d (1 pair, n.s.)' or 'no common seeds' (accuracy in pp, energy in µJ)."""
    pairs, diff, half = int(row["pairs"]), row[f"{metric}_diff"], row[f"{metric}_diff_ci"]
    if pairs == 0:
        return "no common seeds"
    scale = (lambda v: f"{v / 1e6:.3g}") if metric == "energy_pj" else (lambda v: f"{v:.1f}")
    sign = "+" if diff >= 0 else "-"
    mean = sign + scale(abs(diff))
    if pairs == 1:
        return f"{mean} (1 pair, n.s.)"
    return f"{mean} ± {scale(half)}" + ("" if row[f"{metric}_diff_resolved"] else " (n.s.)")


def _tied(models: str) -> str:
    """'a, b, c' -> 'a +2 tied' (the csv keeps every name)."""
    names = models.split(", ")
    return names[0] + (f" +{len(names) - 1} tied" if len(names) > 1 else "")


def _fmt(col: str, value: float) -> str:
    if col == "energy_pj":
        return f"{value / 1e6:.3g}"
    if col == "firing_rate":
        return f"{value:.4f}"
    if col in COUNTS:
        return human(round(value)) if abs(value) >= 1 else f"{value:.2g}"
    return f"{value:.1f}"  # accuracy (PERCENT, or a chosen metric) in %


def _cell(col: str, value: float, std) -> str:
    """'mean ± std' (std only with several seeds); units: % for accuracy, µJ for energy, counts per sample."""
    return _fmt(col, value) + (f" ± {_fmt(col, std)}" if std is not None else "")
