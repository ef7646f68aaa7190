"""``ashbench train`` and ``ashbench eval``: thin typer commands over ashbench.ashnet.train / ashbench.ashnet.evaluate.

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
    config: str = typer.Argument("ashnet-default", help="Config name (ashnet-default, ashnet-ann, ashnet-snn, "
                                                        "test-tiny, ...) or a TOML file."),
    overrides: Optional[List[str]] = typer.Argument(None, help="key=value overrides, e.g. model.timesteps=2 "
                                                              "train.steps=500."),
    out: Path = typer.Option(Path("runs/ashnet"), "--out", "-o", help="Run folder: metrics.jsonl, last.pt, model.pt."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Continue from OUT/last.pt when it exists."),
) -> None:
    """Train an ASH-Nets model (hybrid ANN+SNN vision-language retrieval)."""
    from ashbench.ashnet.train import train

    progress = _TrainProgress()
    try:
        result = train(config, out, overrides=tuple(overrides or ()), resume=resume, callback=progress.on_step)
    finally:
        progress.stop()
    typer.echo(json.dumps(result.to_dict(), indent=2))


class _TrainProgress:
    """A progress bar on stderr, when stderr is a terminal, that appears with the first training
    step and disappears when training ends: an error is then the only line printed."""

    def __init__(self):
        self.progress = self.task = None
        self.first_step = 0
        self.console = Console(stderr=True)

    def on_step(self, rec: dict) -> None:
        if not self.console.is_terminal:
            return
        if self.progress is None:
            columns = (TextColumn("step {task.completed}/{task.total}"), BarColumn(),
                       TextColumn("loss {task.fields[loss]:.3f}"), TextColumn("lr {task.fields[lr]:.2e}"),
                       TextColumn("{task.fields[rate]:.0f} samples/s"), TimeElapsedColumn(), TimeRemainingColumn())
            self.progress = Progress(*columns, console=self.console, transient=True)
            self.progress.start()
            self.task = self.progress.add_task("train", total=rec["steps"], loss=float("nan"), lr=0.0, rate=0.0)
            self.first_step = rec["step"] - 1
        rate = (rec["step"] - self.first_step) * rec["batch_size"] / max(rec["elapsed_s"], 1e-9)
        self.progress.update(self.task, completed=rec["step"], total=rec["steps"], loss=rec["loss"], lr=rec["lr"],
                             rate=rate)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def eval_command(
    checkpoint: Path = typer.Argument(..., help="An ASH-Nets checkpoint (model.pt or last.pt)."),
    split: str = typer.Option("test", "--split", help="train, val, test, or compositional (scenes only)."),
    batch_size: int = typer.Option(16, "--batch-size", help="Inputs profiled for efficiency."),
    timesteps: Optional[int] = typer.Option(None, "--timesteps", help="Override T of the spiking branch."),
    energy_model: str = typer.Option("45nm-fp32", "--energy-model", help="Energy model for the efficiency estimate."),
    no_profile: bool = typer.Option(False, "--no-profile", help="Skip the efficiency profile."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Also write the JSON result here."),
) -> None:
    """Evaluate a checkpoint: retrieval R@1/5/10, hard-negative accuracy, firing rates, efficiency (JSON)."""
    from ashbench.ashnet.evaluate import evaluate
    from ashbench.files import check_output_path, write_atomic

    if output is not None:
        check_output_path(output)
    result = evaluate(str(checkpoint), split=split, profile=not no_profile, batch_size=batch_size,
                      energy_model=energy_model, timesteps=timesteps)
    text = json.dumps(result, indent=2, default=str)
    if output is not None:
        write_atomic(output, text + "\n")
    typer.echo(text)
