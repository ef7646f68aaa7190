"""``ashbench train`` and ``ashbench eval``: thin typer commands over ashbench.train / ashbench.evaluate.

They map options to one library call and print; errors propagate (the CLI app turns an
AshbenchError into a one-line message and exit code 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def train_command(
    config: str = typer.Argument("ashnet-default", help="Config name (ashnet-default, ashnet-ann, ashnet-snn, test-tiny, ...) or a TOML file."),
    overrides: Optional[List[str]] = typer.Argument(None, help="key=value overrides, e.g. model.timesteps=2 train.steps=500."),
    out: Path = typer.Option(Path("runs/ashnet"), "--out", "-o", help="Run folder: metrics.jsonl, last.pt, model.pt."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Continue from OUT/last.pt when it exists."),
) -> None:
    """Train an ASH-Nets model (hybrid ANN+SNN vision-language retrieval)."""
    from ashbench.train import train

    console = Console(stderr=True)
    columns = (TextColumn("step {task.completed}/{task.total}"), BarColumn(), TextColumn("loss {task.fields[loss]:.3f}"),
               TextColumn("lr {task.fields[lr]:.2e}"), TextColumn("{task.fields[rate]:.0f} samples/s"),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("train", total=None, loss=float("nan"), lr=0.0, rate=0.0)
        first: dict = {}

        def on_step(rec: dict) -> None:
            first.setdefault("step", rec["step"] - 1)
            rate = (rec["step"] - first["step"]) * rec["batch_size"] / max(rec["elapsed_s"], 1e-9)
            progress.update(task, completed=rec["step"], total=rec["steps"], loss=rec["loss"], lr=rec["lr"], rate=rate)

        result = train(config, out, overrides=tuple(overrides or ()), resume=resume, callback=on_step)
    typer.echo(json.dumps(result.to_dict(), indent=2))


def eval_command(
    checkpoint: Path = typer.Argument(..., help="An ASH-Nets checkpoint (model.pt or last.pt)."),
    split: str = typer.Option("test", "--split", help="train, val or test."),
    batch_size: int = typer.Option(16, "--batch-size", help="Inputs profiled for efficiency."),
    timesteps: Optional[int] = typer.Option(None, "--timesteps", help="Override T of the spiking branch."),
    energy_model: str = typer.Option("45nm-fp32", "--energy-model", help="Energy model for the efficiency estimate."),
    no_profile: bool = typer.Option(False, "--no-profile", help="Skip the efficiency profile."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Also write the JSON result here."),
) -> None:
    """Evaluate a checkpoint: retrieval R@1/5/10, hard-negative accuracy, firing rates, efficiency (JSON)."""
    from ashbench.evaluate import evaluate

    result = evaluate(str(checkpoint), split=split, profile=not no_profile, batch_size=batch_size,
                      energy_model=energy_model, timesteps=timesteps)
    text = json.dumps(result, indent=2, default=str)
    if output is not None:
        output.write_text(text + "\n")
    typer.echo(text)
