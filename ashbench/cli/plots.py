"""``ashbench plot``: figures of a profile, a model's spikes, or a sweep's runs table."""

from __future__ import annotations

from typing import List, Optional

import typer

from ashbench.cli.options import check_at_least

plot_app = typer.Typer(no_args_is_help=True,
                       help="Figures: spike sparsity, rasters, accuracy vs energy, breakdowns, learning curves.")


def _echo_paths(paths: list[str]) -> None:
    typer.echo("\n".join(f"wrote {p}" for p in paths))


@plot_app.command("sparsity")
def plot_sparsity(
    profile_json: str = typer.Argument(..., help="JSON report of `ashbench energy --format json`."),
    out: str = typer.Option("sparsity", "--out", "-o", help="Output path stem (writes <out>-bars/-heatmap .png/.svg)."),
):
    """Firing rate per layer (bars, by branch) and per layer x time step (heatmap)."""
    from ashbench.report.figures import read_profile, sparsity_bars, sparsity_heatmap

    doc = read_profile(profile_json)
    _echo_paths(sparsity_bars(doc, f"{out}-bars") + sparsity_heatmap(doc, f"{out}-heatmap"))


@plot_app.command("raster")
def plot_raster(
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Registered model or file.py:factory."),
    checkpoint: Optional[str] = typer.Option(None, "--checkpoint"),
    layer: Optional[str] = typer.Option(None, "--layer", help="Spiking layer (default: the first)."),
    neurons: int = typer.Option(32, "--neurons", help="Sample neurons shown."),
    neuron_class: List[str] = typer.Option([], "--neuron-class", help="Extra neuron type (module:Class); repeatable."),
    out: str = typer.Option("raster", "--out", "-o", help="Output path stem."),
):
    """Spike raster of sample neurons of one layer for one input."""
    from ashbench.models.factory import resolve_workload
    from ashbench.profiler.raster import capture_raster
    from ashbench.report.figures import spike_raster

    check_at_least("--neurons", neurons, 1)
    workload = resolve_workload(model, checkpoint=checkpoint, neuron_classes=neuron_class)
    raster = capture_raster(workload.model, workload.inputs, layer=layer, n_neurons=neurons,
                            neuron_classes=workload.neuron_classes)
    _echo_paths(spike_raster(raster, out))


@plot_app.command("pareto")
def plot_pareto(
    results: str = typer.Argument(..., help="A runs.csv written by ashbench sweep."),
    energy_model: str = typer.Option("45nm-fp32", "--energy-model", "-e"),
    metric: str = typer.Option("t2i_r1", "--metric", help="Accuracy column (t2i_r1, mean_recall, truth:t2i_r1, "
                               "comp:truth:t2i_r1, hn:count, ...)."),
    energy_band: bool = typer.Option(False, "--energy-band",
                                     help="Draw each point's min-max energy over every energy model in the runs "
                                          "table as a horizontal bar."),
    ci: bool = typer.Option(True, "--ci/--no-ci", help="Vertical error bars: the 95% t-interval of the accuracy "
                                                       "metric over seeds (none for a single seed)."),
    out: str = typer.Option("accuracy_vs_energy", "--out", "-o", help="Output path stem."),
):
    """Accuracy vs energy per sample, one point per configuration (mean over seeds ± 95% CI), with the Pareto
    front."""
    from ashbench.report.figures import accuracy_vs_energy
    from ashbench.sweeps.comparison import ACCURACY, comparison_table, load_runs

    frame = load_runs(results)
    chosen = None if metric in ACCURACY else [metric]  # any accuracy column of the runs table (truth:t2i_r1, ...)
    table = comparison_table(frame, energy_model=energy_model, energy_spread=energy_band, metrics=chosen)
    _echo_paths(accuracy_vs_energy(table, out, metric=metric, label="config", band=energy_band, ci=ci))


@plot_app.command("breakdown")
def plot_breakdown(
    results: str = typer.Argument(..., help="A runs.csv written by ashbench sweep."),
    energy_model: str = typer.Option("memory-aware", "--energy-model", "-e"),
    out: str = typer.Option("energy_breakdown", "--out", "-o", help="Output path stem."),
):
    """Stacked energy per configuration: ANN compute / SNN synops / neuron updates / memory."""
    from ashbench.report.figures import energy_breakdown
    from ashbench.sweeps.comparison import breakdown_table, load_runs

    parts = breakdown_table(load_runs(results), energy_model)
    data = {p: list(parts[p]) for p in ("ann", "snn", "neuron", "memory")}
    _echo_paths(energy_breakdown(data, list(parts["config"]), out, model=energy_model))


@plot_app.command("curves")
def plot_curves(
    runs: List[str] = typer.Argument(..., help="Training run folders (with metrics.jsonl) and/or sweep work dirs."),
    out: str = typer.Option("curves", "--out", "-o", help="Output path stem."),
):
    """Learning curves: training loss and the validation selection metric vs step, one line per run,
    coloured by model mode, the selected (best-on-val) step marked."""
    from ashbench.report.figures import learning_curves, read_learning_curves

    _echo_paths(learning_curves(read_learning_curves(runs), out))
