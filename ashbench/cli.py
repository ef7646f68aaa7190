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
