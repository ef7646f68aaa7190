"""The ``ashbench`` command line. Each command maps options to one library call and prints.

Every user error is an AshbenchError: printed as one line ``error: ...`` on stderr, exit code 2.
"""

from __future__ import annotations

import functools
import logging
import sys
from typing import List, Optional

import typer

from ashbench.errors import AshbenchError

# torch logs a "Triton not available" warning when spikingjelly registers its ops on a CPU-only
# machine; it is noise for every ashbench command.
logging.getLogger("torch._library.triton").setLevel(logging.ERROR)

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="ashbench: exact efficiency profiling of spiking and hybrid ANN+SNN networks.")


def one_line_errors(command):
    """Turn AshbenchError into 'error: <message>' on stderr and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except AshbenchError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=exc.exit_code) from None

    return wrapper


@app.command()
@one_line_errors
def energy(
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Registered model name or path/to/file.py:factory."),
    checkpoint: Optional[str] = typer.Option(None, "--checkpoint", help="Checkpoint (state dict) to load."),
    timesteps: Optional[int] = typer.Option(None, "--timesteps", "-T", help="Time steps T (passed to the factory)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", "-b", help="Example batch size."),
    energy_model: List[str] = typer.Option(["45nm-fp32"], "--energy-model", "-e",
                                           help="Energy model name or TOML file; repeatable."),
    by: str = typer.Option("module", "--by", help="Table rows: module | op | branch."),
    depth: Optional[int] = typer.Option(None, "--depth", help="Deepest module level shown (1 = children)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table | csv | json | markdown | latex."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write the report to FILE (atomically)."),
    strict: bool = typer.Option(False, "--strict", help="Fail on ops without a counting rule."),
    spikes: str = typer.Option("binary", "--spikes", help="Spike semantics: binary | ternary | multi:N."),
    layout: Optional[str] = typer.Option(None, "--layout", help="Input layout B ([B,...]) or TB ([T,B,...])."),
    check_fvcore: bool = typer.Option(False, "--check-fvcore", help="Print fvcore's dense counts beside ashbench's."),
):
    """Profile a model: synops, MACs, firing rates, memory traffic and energy per sample."""
    from ashbench import harness
    from ashbench.report import FORMATS, VIEWS, render

    _check_choice("--format", fmt, FORMATS)
    _check_choice("--by", by, VIEWS)
    if depth is not None and depth < 0:
        raise _usage(f"--depth must be >= 0, got {depth}")
    doc = harness.energy_report(model, checkpoint=checkpoint, timesteps=timesteps, batch_size=batch_size,
                                energy_models=energy_model, strict=strict, spikes=spikes, layout=layout, depth=depth)
    text = render(doc, fmt, by)
    if check_fvcore:
        text += _fvcore_text(model, checkpoint, timesteps, batch_size, layout, doc)
    if output:
        harness.write_atomic(output, text)
        typer.echo(f"wrote {output}")
    else:
        sys.stdout.write(text)


def _fvcore_text(model, checkpoint, timesteps, batch_size, layout, doc) -> str:
    from ashbench import harness
    from ashbench.fvcore_check import check_against_fvcore

    workload = harness.resolve_workload(model, batch_size=batch_size, timesteps=timesteps, checkpoint=checkpoint,
                                        layout=layout)
    lines = ["", "fvcore cross-check (whole batch; dense MACs, norms as elementwise ops):"]
    for row in check_against_fvcore(workload, doc):
        mark = "equal" if row["equal"] else "differs"
        lines.append(f"  {row['family']:9s} ashbench {row['ashbench']:>14,}  fvcore {row['fvcore']:>14,}  {mark}")
    return "\n".join(lines) + "\n"


def _usage(message: str) -> AshbenchError:
    from ashbench.errors import InputError

    return InputError(message)


def _check_choice(option: str, value: str, choices) -> None:
    if value not in choices:
        raise _usage(f"{option} must be one of {', '.join(choices)}; got {value!r}")


@app.command("models")
@one_line_errors
def models_command():
    """List the registered models."""
    from ashbench.models.registry import list_models

    typer.echo("\n".join(list_models()))


def main() -> None:  # pragma: no cover - console entry point
    app()


def _register_vl_commands() -> None:
    """`ashbench train` and `ashbench eval` (ASH-Nets), wrapped for one-line errors."""
    from ashbench.cli_vl import eval_command, train_command

    app.command("train")(one_line_errors(train_command))
    app.command("eval")(one_line_errors(eval_command))


_register_vl_commands()


@app.command("sweep")
@one_line_errors
def sweep_command(
    spec: str = typer.Argument(..., help="Sweep spec TOML (see benchmarks/ashnets.toml)."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Configurations run in parallel processes."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the runs and whether each is done; run nothing."),
):
    """Train, evaluate and profile every configuration of a sweep; rows go to results/<sweep>/runs.csv."""
    from ashbench.sweep_run import plan, run_sweep

    if jobs < 1:
        raise _usage(f"--jobs must be >= 1, got {jobs}")
    sweep_spec, runs, done = plan(spec)
    if dry_run:
        for run in runs:
            typer.echo(f"{run.run_id}  {'done   ' if run.run_id in done else 'pending'}  {run.label}")
        typer.echo(f"{len(runs)} runs, {len(runs) - len([r for r in runs if r.run_id in done])} pending "
                   f"-> {sweep_spec.folder / 'runs.csv'}")
        return
    result = _with_progress(len(runs), lambda cb: run_sweep(spec, jobs=jobs, callback=cb))
    typer.echo(f"{len(result.finished)} finished, {len(result.skipped)} already done -> {result.folder}/runs.csv")


def _with_progress(total: int, work):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("runs", total=total)

        def callback(event, run, row):
            progress.update(task, advance=1, description=f"{event}: {run.label}"[:60])

        return work(callback)


@app.command("table")
@one_line_errors
def table_command(
    results: str = typer.Argument(..., help="A runs.csv written by ashbench sweep."),
    energy_model: str = typer.Option("45nm-fp32", "--energy-model", "-e", help="Energy model column to show."),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="Row for ratio columns, e.g. mode=ann."),
    group_by: Optional[str] = typer.Option(None, "--group-by", help="Comma-separated axis columns (default: all but seed)."),
    sort: Optional[str] = typer.Option(None, "--sort", help="Column to sort by; prefix '-' for descending."),
    fmt: str = typer.Option("table", "--format", "-f", help="table | markdown | latex | csv."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write to FILE (atomically)."),
):
    """Accuracy vs efficiency per configuration (mean ± std over seeds, ratios to a baseline)."""
    from ashbench import harness
    from ashbench.tables import TABLE_FORMATS, comparison_table, load_runs, render_table

    _check_choice("--format", fmt, TABLE_FORMATS)
    groups = [f"axis:{g.strip()}" if not g.strip().startswith("axis:") else g.strip()
              for g in group_by.split(",")] if group_by else None
    table = comparison_table(load_runs(results), energy_model=energy_model, group_by=groups, baseline=baseline, sort=sort)
    text = render_table(table, fmt)
    if output:
        harness.write_atomic(output, text)
        typer.echo(f"wrote {output}")
    else:
        sys.stdout.write(text)


plot_app = typer.Typer(no_args_is_help=True, help="Figures: spike sparsity, rasters, accuracy vs energy, breakdowns.")
app.add_typer(plot_app, name="plot")


@plot_app.command("sparsity")
@one_line_errors
def plot_sparsity(
    profile_json: str = typer.Argument(..., help="JSON report of `ashbench energy --format json`."),
    out: str = typer.Option("sparsity", "--out", "-o", help="Output path stem (writes <out>-bars/-heatmap .png/.svg)."),
):
    """Firing rate per layer (bars, by branch) and per layer x time step (heatmap)."""
    from ashbench.plots import sparsity_bars, sparsity_heatmap

    doc = _read_json(profile_json)
    paths = sparsity_bars(doc, f"{out}-bars") + sparsity_heatmap(doc, f"{out}-heatmap")
    typer.echo("\n".join(f"wrote {p}" for p in paths))


@plot_app.command("raster")
@one_line_errors
def plot_raster(
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Registered model or file.py:factory."),
    checkpoint: Optional[str] = typer.Option(None, "--checkpoint"),
    layer: Optional[str] = typer.Option(None, "--layer", help="Spiking layer (default: the first)."),
    neurons: int = typer.Option(32, "--neurons", help="Sample neurons shown."),
    out: str = typer.Option("raster", "--out", "-o", help="Output path stem."),
):
    """Spike raster of sample neurons of one layer for one input."""
    from ashbench import harness
    from ashbench.plots import spike_raster
    from ashbench.raster import capture_raster

    if neurons < 1:
        raise _usage(f"--neurons must be >= 1, got {neurons}")
    workload = harness.resolve_workload(model, checkpoint=checkpoint)
    raster = capture_raster(workload.model, workload.inputs, layer=layer, n_neurons=neurons)
    typer.echo("\n".join(f"wrote {p}" for p in spike_raster(raster, out)))


@plot_app.command("pareto")
@one_line_errors
def plot_pareto(
    results: str = typer.Argument(..., help="A runs.csv written by ashbench sweep."),
    energy_model: str = typer.Option("45nm-fp32", "--energy-model", "-e"),
    metric: str = typer.Option("t2i_r1", "--metric", help="Accuracy column (t2i_r1, mean_recall, ...)."),
    out: str = typer.Option("accuracy_vs_energy", "--out", "-o", help="Output path stem."),
):
    """Accuracy vs energy per sample, one point per configuration, with the Pareto front."""
    from ashbench.plots import accuracy_vs_energy
    from ashbench.tables import comparison_table, load_runs

    table = comparison_table(load_runs(results), energy_model=energy_model)
    typer.echo("\n".join(f"wrote {p}" for p in accuracy_vs_energy(table, out, metric=metric, label="config")))


@plot_app.command("breakdown")
@one_line_errors
def plot_breakdown(
    results: str = typer.Argument(..., help="A runs.csv written by ashbench sweep."),
    energy_model: str = typer.Option("memory-aware", "--energy-model", "-e"),
    out: str = typer.Option("energy_breakdown", "--out", "-o", help="Output path stem."),
):
    """Stacked energy per configuration: ANN compute / SNN synops / neuron updates / memory."""
    from ashbench.plots import energy_breakdown
    from ashbench.tables import breakdown_table, load_runs

    parts = breakdown_table(load_runs(results), energy_model)
    data = {p: list(parts[p]) for p in ("ann", "snn", "neuron", "memory")}
    typer.echo("\n".join(f"wrote {p}" for p in energy_breakdown(data, list(parts["config"]), out, model=energy_model)))


def _read_json(path: str) -> dict:
    import json

    from ashbench.errors import ResultsError

    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except FileNotFoundError:
        raise ResultsError(f"file not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path} is not JSON: {exc}") from None
    if not isinstance(doc, dict) or "layers" not in doc:
        raise ResultsError(f"{path} is not an ashbench energy JSON report (no 'layers')")
    return doc


if __name__ == "__main__":
    app()
