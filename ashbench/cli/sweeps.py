"""``ashbench sweep`` and ``ashbench table``."""

from __future__ import annotations

from typing import List, Optional

import typer

from ashbench.cli.options import check_at_least, check_choice, emit


def sweep_command(
    spec: str = typer.Argument(..., help="Sweep spec TOML (see benchmarks/ashnets.toml)."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Configurations run in parallel processes."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the runs and whether each is done; run nothing."),
    executor: str = typer.Option("local", "--executor", help="local (this machine) | ray (each run a Ray task; "
                                                             "needs ashbench[ray])."),
    address: Optional[str] = typer.Option(None, "--address", help="With --executor ray: the cluster to use "
                                          "(HOST:PORT of its head, ray://HOST:PORT or auto); default: start a "
                                          "local Ray instance of --jobs x --cpus-per-run CPUs."),
    cpus_per_run: int = typer.Option(1, "--cpus-per-run", help="With --executor ray: CPUs (and torch threads) "
                                                               "reserved per run."),
    gpus_per_run: float = typer.Option(0.0, "--gpus-per-run", help="With --executor ray: GPUs reserved per run "
                                                                   "(fractions share a GPU); 0 trains on CPU."),
):
    """Train, evaluate and profile every configuration of a sweep; rows go to results/<sweep>/runs.csv."""
    from ashbench.errors import InputError
    from ashbench.sweeps.runner import EXECUTORS, plan, run_sweep

    check_at_least("--jobs", jobs, 1)
    check_choice("--executor", executor, EXECUTORS)
    check_at_least("--cpus-per-run", cpus_per_run, 1)
    if gpus_per_run < 0:
        raise InputError(f"--gpus-per-run must be >= 0, got {gpus_per_run:g}")
    if executor == "local" and (address is not None or cpus_per_run != 1 or gpus_per_run):
        raise InputError("--address, --cpus-per-run and --gpus-per-run need --executor ray")
    sweep_spec, runs, done = plan(spec)
    if dry_run:
        for run in runs:
            typer.echo(f"{run.run_id}  {'done   ' if run.run_id in done else 'pending'}  {run.label}")
        pending = len([r for r in runs if r.run_id not in done])
        typer.echo(f"{len(runs)} runs, {pending} pending -> {sweep_spec.folder / 'runs.csv'}")
        return
    if executor == "ray":  # ray installed, address reachable: checked before the progress bar starts
        from ashbench.sweeps import ray_executor

        ray_executor.check(address, cpus_per_run, gpus_per_run)
    result = _with_progress(len(runs), lambda cb: run_sweep(spec, jobs=jobs, callback=cb, executor=executor,
                                                            address=address, cpus_per_run=cpus_per_run,
                                                            gpus_per_run=gpus_per_run))
    typer.echo(f"{len(result.finished)} finished, {len(result.skipped)} already done -> {result.folder}/runs.csv")


def _with_progress(total: int, work):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("runs", total=total)

        def callback(event, run, row):
            progress.update(task, advance=1, description=f"{event}: {run.label}"[:60])

        return work(callback)


def table_command(
    results: str = typer.Argument(..., help="A runs.csv written by ashbench sweep."),
    energy_model: str = typer.Option("45nm-fp32", "--energy-model", "-e", help="Energy model column to show."),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="Row for ratio columns, e.g. mode=ann."),
    group_by: Optional[str] = typer.Option(None, "--group-by",
                                           help="Comma-separated axis columns (default: all but seed)."),
    sort: Optional[str] = typer.Option(None, "--sort", help="Column to sort by; prefix '-' for descending."),
    energy_spread: bool = typer.Option(False, "--energy-spread",
                                       help="Also show the min-max energy over every energy model in the runs "
                                            "table and the models giving them (and the range of the energy "
                                            "ratios to --baseline)."),
    interval: str = typer.Option("ci", "--interval",
                                 help="What follows '±' in the shown cells: ci (half-width of the 95% t-interval "
                                      "over seeds; one seed is marked n=1) | std (sample std). csv keeps both."),
    metric: Optional[List[str]] = typer.Option(None, "--metric",
                                               help="Accuracy column of the runs table to show (mean ± ci, in %) "
                                                    "and with --baseline pair (Δ pp), in place of the default "
                                                    "t2i_r1, mean_recall, hard_negative_accuracy; repeatable, e.g. "
                                                    "--metric truth:t2i_r1 --metric hn:relation_flip."),
    fmt: str = typer.Option("table", "--format", "-f", help="table | markdown | latex | csv."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write to FILE (atomically)."),
):
    """Accuracy vs efficiency per configuration (mean ± 95% CI over seeds; with --baseline, ratios and
    paired differences over common seeds, marked (n.s.) when the interval includes 0)."""
    from ashbench.errors import InputError
    from ashbench.files import check_output_path
    from ashbench.sweeps.comparison import (
        INTERVALS,
        TABLE_FORMATS,
        comparison_table,
        load_runs,
        metric_problem,
        render_table,
    )

    check_choice("--format", fmt, TABLE_FORMATS)
    check_choice("--interval", interval, INTERVALS)
    if output:
        check_output_path(output)
    groups = [g.strip() if g.strip().startswith("axis:") else f"axis:{g.strip()}"
              for g in group_by.split(",")] if group_by else None
    runs = load_runs(results)
    for name in metric or ():
        problem = metric_problem(runs, name)
        if problem:
            raise InputError(f"--metric {name!r}: {problem}")
    table = comparison_table(runs, energy_model=energy_model, group_by=groups, baseline=baseline,
                             sort=sort, energy_spread=energy_spread, metrics=metric or None)
    emit(render_table(table, fmt, interval=interval), output)
