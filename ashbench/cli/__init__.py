"""The ``ashbench`` command line: one module per command group, each command mapping its options
to one library call and printing what it returns.

Errors are mapped in one place, :func:`main` (the console entry point and ``python -m ashbench``):
an ``AshbenchError`` from any command prints one line ``error: <message>`` on stderr and exits
with code 2; a usage error (unknown option, bad option type) prints click's usage message, exit 2.
"""

from __future__ import annotations

import logging
import sys

import typer

from ashbench.cli import ashnet, energy, plots, report, sweeps
from ashbench.errors import AshbenchError

# torch logs a "Triton not available" warning when spikingjelly registers its ops on a CPU-only
# machine; it is noise for every ashbench command.
logging.getLogger("torch._library.triton").setLevel(logging.ERROR)

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="ashbench: exact efficiency profiling of spiking and hybrid ANN+SNN networks.")
app.command("energy")(energy.energy_command)
app.command("models")(energy.models_command)
app.command("train")(ashnet.train_command)
app.command("eval")(ashnet.eval_command)
app.command("sweep")(sweeps.sweep_command)
app.command("table")(sweeps.table_command)
app.command("report")(report.report_command)
app.add_typer(plots.plot_app, name="plot")


def main(argv: list[str] | None = None) -> int:
    """Run the ``ashbench`` command line on ``argv`` (default: ``sys.argv[1:]``); the exit code."""
    try:
        result = app(args=argv, prog_name="ashbench", standalone_mode=False)
    except AshbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except typer.TyperException as exc:  # click's usage errors: the usage line and the problem, exit 2
        show = getattr(exc, "show", None)
        show() if show else print(f"Error: {exc.format_message()}", file=sys.stderr)
        return exc.exit_code
    except typer.Abort:
        print("Aborted!", file=sys.stderr)
        return 1
    return result if isinstance(result, int) else 0
