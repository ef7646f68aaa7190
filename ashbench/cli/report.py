"""``ashbench report``: one self-contained HTML page of a sweep's results folder or of one profile."""

from __future__ import annotations

from typing import Optional

import typer


def report_command(
    source: str = typer.Argument(..., help="A results folder (results/<sweep>/ with runs.csv) or a profile JSON "
                                           "of `ashbench energy -f json`."),
    output: Optional[str] = typer.Option(None, "--output", "-o",
                                         help="HTML file to write (atomically); default: <folder>/report.html "
                                              "or <profile>.html."),
):
    """Self-contained HTML report: comparison table, accuracy vs energy, energy breakdown, per-layer
    sparsity and every energy model's assumptions (figures inline, no network needed)."""
    from ashbench.report.html_report import write_report

    typer.echo(f"wrote {write_report(source, output)}")
