"""Figures (matplotlib without pyplot; no torch import). Each plot kind writes ``<out>.png`` plus
``<out>.svg`` atomically and returns the paths. Figures are ``matplotlib.figure.Figure`` objects
drawn by the Agg canvas, so importing or using this module never changes the matplotlib backend
or pyplot's state. The plot kinds are registered in ``PLOTS`` (name -> function):

- ``sparsity-bars`` (``sparsity_bars``): per layer, the firing rate of spiking-neuron layers and
  the activity of MAC layers ((macs + synops) / dense_macs: 1 for ANN layers, the event-driven
  fraction for SNN layers), coloured by branch;
- ``sparsity-heatmap`` (``sparsity_heatmap``): firing rate per neuron layer x time step;
- ``raster`` (``spike_raster``): spikes of sample neurons of one layer for one input, over time;
- ``pareto`` (``accuracy_vs_energy``): one point per configuration, Pareto front, log energy axis;
  with ``band=True`` each point also carries a horizontal error bar from the lowest to the highest
  energy over the runs table's energy models (``energy_min_pj`` .. ``energy_max_pj``); with
  ``ci=True`` (the default) and a ``<metric>_ci`` column (a comparison table's 95% t-interval
  half-width over seeds) each point carries a vertical error bar of that half-width (none where it
  is NaN: a single seed);
- ``breakdown`` (``energy_breakdown``): stacked bars of ANN compute / SNN synops / neuron updates
  / memory;
- ``curves`` (``learning_curves``): learning curves of ASH-Nets training runs (``read_learning_curves``
  reads their ``metrics.jsonl``): training loss and the validation selection metric vs step, one
  line per run, coloured by model mode, the selected step marked with a star.

Each of ``sparsity_bars``, ``sparsity_heatmap``, ``accuracy_vs_energy`` and ``energy_breakdown``
draws with a ``<name>_figure`` function that returns the Figure (same arguments less ``out``);
``svg_text(figure)`` gives it as SVG text (``ashbench report`` inlines figures that way).
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Callable

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ashbench.errors import InputError, ResultsError
from ashbench.files import read_json, write_atomic
from ashbench.registry import Registry

COLOURS = {"ann": "#4C72B0", "snn": "#DD8452", "neuron": "#55A868", "mixed": "#8172B3", "memory": "#937860"}
MODE_COLOURS = {"ann": COLOURS["ann"], "snn": COLOURS["snn"], "hybrid": COLOURS["mixed"]}  # learning curves
FORMATS = ("png", "svg")
PLOTS: Registry[Callable[..., list[str]]] = Registry("plot kind", InputError)


def new_figure(width_in: float, height_in: float) -> tuple[Figure, object]:
    """A figure of ``width_in`` x ``height_in`` inches on its own Agg canvas (no pyplot), and its axes."""
    fig = Figure(figsize=(width_in, height_in))
    FigureCanvasAgg(fig)
    return fig, fig.subplots()


def save(fig: Figure, out: str) -> list[str]:
    """Write ``<out>.png`` and ``<out>.svg`` atomically (``ashbench.files.write_atomic``): the
    extensions are appended to the whole stem (``fig.v2`` -> ``fig.v2.png``), except that a stem
    already ending in .png or .svg loses it (``fig.png`` -> ``fig.png``, ``fig.svg``)."""
    target = Path(out)
    if target.suffix in (".png", ".svg"):
        target = target.with_suffix("")
    target.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in FORMATS:
        final = target.with_name(f"{target.name}.{ext}")
        write_atomic(final, lambda handle, ext=ext: fig.savefig(handle, format=ext, dpi=150, bbox_inches="tight"))
        paths.append(str(final))
    return paths


SVG_METADATA = {"Creator": None, "Date": None, "Format": None, "Type": None}  # no metadata block (no URLs)


def svg_text(fig: Figure) -> str:
    """``fig`` as SVG text (the same drawing ``save`` writes to ``<out>.svg``, without the metadata
    block and with ids that do not change from run to run), e.g. to inline it in an HTML page."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "ashbench"}):  # the same ids for the same drawing, run to run
        fig.savefig(buffer, format="svg", dpi=150, bbox_inches="tight", metadata=SVG_METADATA)
    return buffer.getvalue()


def read_profile(path: str) -> dict:
    """An ``ashbench energy --format json`` report; ResultsError when it is missing or not one."""
    doc = read_json(path, ResultsError, "ashbench energy JSON report")
    if not isinstance(doc, dict) or not isinstance(doc.get("layers"), list):
        raise ResultsError(f"{path} is not an ashbench energy JSON report (no 'layers' list)")
    return doc


def _leaf_layers(doc: dict) -> list[dict]:
    names = [row["module"] for row in doc["layers"]]
    return [row for row in doc["layers"] if row["module"] and not any(n.startswith(row["module"] + ".") for n in names)]


@PLOTS.register("sparsity-bars")
def sparsity_bars(doc: dict, out: str) -> list[str]:
    return save(sparsity_bars_figure(doc), out)


def sparsity_bars_figure(doc: dict) -> Figure:
    rows = [r for r in _leaf_layers(doc) if r["branch"] == "neuron" or r["dense_macs"]]
    if not rows:
        raise ResultsError("the profile has no spiking-neuron or MAC layers to plot")
    values = [r["firing_rate"] if r["branch"] == "neuron" else (r["macs"] + r["synops"]) / r["dense_macs"]
              for r in rows]
    fig, ax = new_figure(max(6, 0.35 * len(rows)), 4)
    ax.bar(range(len(rows)), values, color=[COLOURS.get(r["branch"], "grey") for r in rows])
    ax.set_xticks(range(len(rows)), [r["module"] for r in rows], rotation=70, ha="right", fontsize=7)
    ax.set_ylabel("firing rate (neurons) / active fraction of dense MACs")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Spike sparsity per layer — {doc['model']} (T={doc['timesteps']})")
    handles = [Rectangle((0, 0), 1, 1, color=COLOURS[b]) for b in ("ann", "snn", "neuron")]
    ax.legend(handles, ["ANN layer (dense)", "SNN layer (synops / dense MACs)", "spiking neurons (firing rate)"],
              fontsize=7, loc="lower right")
    return fig


@PLOTS.register("sparsity-heatmap")
def sparsity_heatmap(doc: dict, out: str) -> list[str]:
    return save(sparsity_heatmap_figure(doc), out)


def sparsity_heatmap_figure(doc: dict) -> Figure:
    rows = [r for r in _leaf_layers(doc) if r["branch"] == "neuron" and r["firing_rate_per_step"]]
    if not rows:
        raise ResultsError("the profile has no spiking-neuron layers with per-step firing rates")
    steps = max(len(r["firing_rate_per_step"]) for r in rows)
    grid = [r["firing_rate_per_step"] + [float("nan")] * (steps - len(r["firing_rate_per_step"])) for r in rows]
    fig, ax = new_figure(max(4, 0.6 * steps + 3), max(2.5, 0.3 * len(rows) + 1))
    image = ax.imshow(grid, aspect="auto", cmap="viridis", vmin=0)
    ax.set_xticks(range(steps), [str(t) for t in range(steps)])
    ax.set_yticks(range(len(rows)), [r["module"] for r in rows], fontsize=7)
    ax.set_xlabel("time step t")
    ax.set_title("Firing rate per layer and time step")
    fig.colorbar(image, ax=ax, label="firing rate (spikes / neuron / step)")
    return fig


@PLOTS.register("raster")
def spike_raster(raster: dict, out: str) -> list[str]:
    """``raster``: {'layer', 'times': [...], 'neurons': [...], 'n_neurons', 'timesteps'}."""
    fig, ax = new_figure(6, 3.5)
    ax.scatter(raster["times"], raster["neurons"], marker="|", s=60, color=COLOURS["neuron"])
    ax.set_xlim(-0.5, raster["timesteps"] - 0.5)
    ax.set_xticks(range(raster["timesteps"]))
    ax.set_ylim(-0.5, raster["n_neurons"] - 0.5)
    ax.set_xlabel("time step t")
    ax.set_ylabel("neuron (sample index)")
    ax.set_title(f"Spike raster — {raster['layer']} ({raster['n_neurons']} neurons, one input)")
    return save(fig, out)


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of points not dominated (lower energy and higher accuracy), by energy."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], float("-inf")
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def energy_band(table) -> tuple[list[float], list[float]]:
    """(lowest, highest) energy per configuration in µJ, from the 'energy_min_pj' and
    'energy_max_pj' columns of a comparison table built with ``energy_spread=True``; ResultsError
    when they are missing or a lowest energy is not positive (the energy axis is logarithmic)."""
    for column in ("energy_min_pj", "energy_max_pj"):
        if column not in table:
            raise ResultsError(f"the energy band needs column {column!r} (a comparison table with the energy spread)")
    lows, highs = [pj / 1e6 for pj in table["energy_min_pj"]], [pj / 1e6 for pj in table["energy_max_pj"]]
    if any(not low > 0 for low in lows):
        raise ResultsError("the energy band needs positive energies on its log axis; a configuration has a lowest "
                           "energy of 0 pJ")
    return lows, highs


@PLOTS.register("pareto")
def accuracy_vs_energy(table, out: str, *, metric: str = "t2i_r1", label: str = "label",
                       band: bool = False, ci: bool = True) -> list[str]:
    """The accuracy-vs-energy figure (``accuracy_vs_energy_figure``) written to ``<out>.png/.svg``."""
    return save(accuracy_vs_energy_figure(table, metric=metric, label=label, band=band, ci=ci), out)


def _plain_log_ticks(ax, values: list[float]) -> None:
    """Within one decade a log axis has no major tick and crowds its minor labels: there, about five
    plain-number ticks (the values' own range) and no minor labels."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter

    positive = [v for v in values if v > 0]
    if not positive or max(positive) >= 10 * min(positive):
        return
    ticks = [t for t in MaxNLocator(5).tick_values(min(positive), max(positive)) if t > 0]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def accuracy_error(table, metric: str) -> list[float] | None:
    """The ``<metric>_ci`` column (95% t-interval half-width over seeds) as floats, NaN where a
    configuration has one seed; None when the table has no such column."""
    column = f"{metric}_ci"
    return [float(v) for v in table[column]] if column in table else None


def accuracy_vs_energy_figure(table, *, metric: str = "t2i_r1", label: str = "label", band: bool = False,
                              ci: bool = True) -> Figure:
    """``table``: 'energy_pj' (pJ), ``metric`` (%) and ``label`` columns, e.g. a comparison
    DataFrame or a dict of lists; energy is shown in µJ.

    Points are numbered; the key beside the axes maps numbers to configurations (labels of
    clustered points would overlap). Pareto-optimal points are drawn in the front's colour. With
    ``band`` (the table also needs 'energy_min_pj' and 'energy_max_pj', see ``energy_band``) each
    point carries a horizontal bar from its lowest to its highest energy over the energy models,
    and the key states both ends; the front stays that of 'energy_pj'. With ``ci`` and a
    '<metric>_ci' column (``accuracy_error``) each point with several seeds carries a vertical bar
    of ± that half-width, and the key gives it ('±h', or 'n=1' where there is none)."""
    for column in ("energy_pj", metric, label):
        if column not in table:
            raise ResultsError(f"the accuracy-vs-energy plot needs column {column!r}")
    energy = [pj / 1e6 for pj in table["energy_pj"]]
    acc, names = list(table[metric]), [str(n) for n in table[label]]
    lows, highs = energy_band(table) if band else (energy, energy)
    front = pareto_front(list(zip(energy, acc)))
    fig, ax = new_figure(9.5, 4.8)
    colours = [COLOURS["snn"] if i in front else COLOURS["ann"] for i in range(len(energy))]
    if band:
        spread = [[e - lo for e, lo in zip(energy, lows)], [hi - e for e, hi in zip(energy, highs)]]
        models = sum(str(c).startswith("energy_pj:") for c in table)  # a comparison table's per-model means
        ax.errorbar(energy, acc, xerr=spread, fmt="none", ecolor="grey", elinewidth=1.5, capsize=3, zorder=1,
                    label=f"min–max energy over {models or 'the'} energy models")
    errors = accuracy_error(table, metric) if ci else None
    if errors is not None:
        shown = [i for i, h in enumerate(errors) if h == h]
        if shown:  # plain lines and cap markers, no errorbar container: the legend and the band's bars unchanged
            xs = [energy[i] for i in shown]
            ax.vlines(xs, [acc[i] - errors[i] for i in shown], [acc[i] + errors[i] for i in shown], colors="black",
                      linewidth=1, zorder=2)
            ax.scatter(xs + xs, [acc[i] - errors[i] for i in shown] + [acc[i] + errors[i] for i in shown],
                       marker="_", color="black", s=30, zorder=2)
    ax.scatter(energy, acc, color=colours, zorder=3)
    for i, (e, a) in enumerate(zip(energy, acc)):
        ax.annotate(str(i + 1), (e, a), fontsize=8, xytext=(4, 3), textcoords="offset points")
    ax.plot([energy[i] for i in front], [acc[i] for i in front], color=COLOURS["snn"], label="Pareto front", zorder=2)
    ax.set_xscale("log")
    _plain_log_ticks(ax, energy)
    ax.set_xlabel("energy per sample (µJ, log scale)")
    ax.set_ylabel(f"{metric} (%)" + (", bars: 95% CI over seeds" if errors is not None and any(h == h for h in errors)
                                     else ""))
    ax.set_title("Accuracy vs energy per sample")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3, which="both")
    ranges = [f" [{lo:.3g}–{hi:.3g}]" if band else "" for lo, hi in zip(lows, highs)]
    bars = ["" if errors is None else f" ± {h:.1f}" if h == h else ", n=1" for h in (errors or acc)]
    key = "\n".join(f"{i + 1:>2}  {n}  ({e:.3g}{r} µJ, {a:.1f}%{b})"
                     for i, (n, e, r, a, b) in enumerate(zip(names, energy, ranges, acc, bars)))
    fig.text(0.66, 0.5, key, fontsize=7, family="monospace", va="center")
    fig.subplots_adjust(right=0.64)
    return fig


@PLOTS.register("breakdown")
def energy_breakdown(parts: dict, labels: list[str], out: str, *, model: str) -> list[str]:
    """The stacked energy bars (``energy_breakdown_figure``) written to ``<out>.png/.svg``."""
    return save(energy_breakdown_figure(parts, labels, model=model), out)


def energy_breakdown_figure(parts: dict, labels: list[str], *, model: str) -> Figure:
    """``parts``: {'ann': [...], 'snn': [...], 'neuron': [...], 'memory': [...]} in pJ per label."""
    fig, ax = new_figure(max(6, 0.6 * len(labels) + 2), 4.5)
    bottom = [0.0] * len(labels)
    names = {"ann": "ANN compute (MACs)", "snn": "SNN synops", "neuron": "neuron updates", "memory": "memory"}
    for part in ("ann", "snn", "neuron", "memory"):
        values = [v / 1e6 for v in parts[part]]
        ax.bar(range(len(labels)), values, bottom=bottom, color=COLOURS[part], label=names[part])
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("energy per sample (µJ)")
    ax.set_title(f"Energy breakdown per configuration ({model})")
    ax.legend(fontsize=8)
    return fig


def _run_folders(path: Path) -> list[Path]:
    """A training run folder (with metrics.jsonl), or the run folders of a sweep's work dir (one or two
    levels down: ``<work_dir>/<sweep>/<run>`` or ``<work_dir>/<sweep>``'s runs)."""
    if not path.is_dir():
        raise InputError(f"run folder not found: {path}")
    if (path / "metrics.jsonl").is_file():
        return [path]
    for pattern in ("*/metrics.jsonl", "*/*/metrics.jsonl"):
        found = sorted(log.parent for log in path.glob(pattern))
        if found:
            return found
    raise ResultsError(f"{path} holds no metrics.jsonl (a training run folder or a sweep's work dir)")


def _read_log(log: Path) -> list[dict]:
    lines = log.read_text(encoding="utf-8").splitlines()
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                break  # a line cut by a killed run
            raise ResultsError(f"{log} line {number} is not JSON") from None
        if not isinstance(record, dict):
            raise ResultsError(f"{log} line {number} is not a JSON object")
        records.append(record)
    return records


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _checkpoint_mode(folder: Path) -> str:
    """The model mode in the run's checkpoint config (torch imported only here), or '?'."""
    for name in ("model.pt", "last.pt"):
        if (folder / name).is_file():
            from ashbench.ashnet.checkpoint import load_checkpoint
            from ashbench.errors import AshbenchError

            try:
                mode = load_checkpoint(folder / name)["config"].get("model", {}).get("mode")
            except (AshbenchError, AttributeError):
                continue
            if isinstance(mode, str):
                return mode
    return "?"


def read_learning_curve(folder: Path, name: str | None = None) -> dict:
    """One run's curves from its metrics.jsonl: {'name', 'mode', 'train': [(step, loss)], 'val': [(step,
    value)], 'metric', 'selected_step'}; ResultsError when the log is empty or has no training records."""
    log = folder / "metrics.jsonl"
    if not log.is_file():
        raise ResultsError(f"{folder} holds no metrics.jsonl (a training run folder or a sweep's work dir)")
    records = _read_log(log)
    train = [(r["step"], _number(r.get("loss"))) for r in records if "event" not in r and _number(r.get("step"))]
    train = [(s, v) for s, v in train if v is not None]
    if not train:
        raise ResultsError(f"{log} has no training records (step and loss)")
    vals = [r for r in records if r.get("event") == "val" and _number(r.get("step"))]
    val = [(r["step"], _number(r.get("select_value"))) for r in vals]
    val = [(s, v) for s, v in val if v is not None and math.isfinite(v)]
    modes = [r["mode"] for r in vals if isinstance(r.get("mode"), str)]
    metrics = [r["select_metric"] for r in vals if isinstance(r.get("select_metric"), str)]
    best = _number(vals[-1].get("best_step")) if vals else None
    return {"name": name or folder.name, "mode": modes[-1] if modes else _checkpoint_mode(folder), "train": train,
            "val": val, "metric": metrics[-1] if metrics else None,
            "selected_step": int(best) if best else None}


def read_learning_curves(paths: list[str]) -> list[dict]:
    """The learning curves of run folders and sweep work dirs (see ``read_learning_curve``); a run found
    under a sweep's work dir is named by its path below it. InputError/ResultsError (one line) on a path
    that is not a folder, holds no metrics.jsonl, or a log without training records."""
    if not paths:
        raise InputError("no run folder given")
    runs = []
    for given in paths:
        root = Path(given)
        for folder in _run_folders(root):
            runs.append(read_learning_curve(folder, None if folder == root else str(folder.relative_to(root))))
    return runs


@PLOTS.register("curves")
def learning_curves(runs: list[dict], out: str) -> list[str]:
    """The learning curves (``learning_curves_figure``) written to ``<out>.png/.svg``."""
    return save(learning_curves_figure(runs), out)


def learning_curves_figure(runs: list[dict]) -> Figure:
    """``runs``: dicts of ``read_learning_curve``. Left: training loss vs step; right: the validation
    selection metric vs step; one line per run, coloured by model mode (hybrid, ann, snn), the
    selected step starred on the validation curve and dotted on the loss curve."""
    if not runs:
        raise ResultsError("no runs to plot")
    fig = Figure(figsize=(12, 4.5))
    FigureCanvasAgg(fig)
    loss_ax, val_ax = fig.subplots(1, 2)
    styles = ("-", "--", ":", "-.")
    seen: dict[str, int] = {}
    for run in runs:
        colour = MODE_COLOURS.get(run["mode"], "grey")
        style = styles[seen.get(run["mode"], 0) % len(styles)]
        seen[run["mode"]] = seen.get(run["mode"], 0) + 1
        label = f"{run['name']} ({run['mode']})"
        steps, losses = zip(*run["train"])
        loss_ax.plot(steps, losses, color=colour, linestyle=style, linewidth=1.2, label=label)
        if run["val"]:
            vsteps, values = zip(*run["val"])
            val_ax.plot(vsteps, values, color=colour, linestyle=style, marker="o", markersize=3, label=label)
        chosen = run["selected_step"]
        if chosen is not None:
            loss_ax.axvline(chosen, color=colour, linestyle=":", linewidth=0.8)
            hits = [v for s, v in run["val"] if s == chosen]
            if hits:
                val_ax.scatter([chosen], hits[:1], marker="*", s=140, color=colour, edgecolors="black", zorder=3)
    metrics = sorted({r["metric"] for r in runs if r["metric"]})
    loss_ax.set_xlabel("step")
    loss_ax.set_ylabel("training loss")
    loss_ax.set_title("Training loss (dotted: selected step)")
    loss_ax.grid(alpha=0.3)
    loss_ax.legend(fontsize=7)
    val_ax.set_xlabel("step")
    val_ax.set_ylabel(f"validation {', '.join(metrics) or 'metric'} (%)")
    val_ax.set_title("Validation (star: selected step)" if any(r["val"] for r in runs) else "No validation lines")
    val_ax.grid(alpha=0.3)
    return fig
