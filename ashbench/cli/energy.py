"""``ashbench energy`` and ``ashbench models``."""

from __future__ import annotations

from typing import List, Optional

import typer

from ashbench.cli.options import check_at_least, check_choice, emit, user_code_prints_to_stderr


def energy_command(
    model: Optional[str] = typer.Option(None, "--model", "-m",
                                        help="Registered model name, path/to/file.py:factory, or a NIR graph "
                                             "path/to/graph.nir."),
    checkpoint: Optional[str] = typer.Option(None, "--checkpoint", help="Checkpoint (state dict) to load."),
    timesteps: Optional[int] = typer.Option(None, "--timesteps", "-T", help="Time steps T (passed to the factory)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", "-b", help="Example batch size."),
    energy_model: List[str] = typer.Option(["45nm-fp32"], "--energy-model", "-e",
                                           help="Energy model name or TOML file; repeatable; 'all' = every "
                                                "built-in model (the report then shows the spread)."),
    by: str = typer.Option("module", "--by", help="Table rows: module | op | branch."),
    depth: Optional[int] = typer.Option(None, "--depth", help="Deepest module level shown (1 = children)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table | csv | json | markdown | latex."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write the report to FILE (atomically)."),
    strict: bool = typer.Option(False, "--strict", help="Fail on ops without a counting rule."),
    spikes: str = typer.Option("auto", "--spikes",
                               help="What neurons emit: auto (non-negative integer counts) | binary | ternary | "
                                    "multi:N. Which tensors hold events is decided by provenance."),
    layout: Optional[str] = typer.Option(None, "--layout", help="Input layout B ([B,...]) or TB ([T,B,...])."),
    neuron_class: List[str] = typer.Option([], "--neuron-class",
                                           help="Also count this module type as a spiking neuron "
                                                "(module:Class or file.py:Class); repeatable."),
    check_fvcore: bool = typer.Option(False, "--check-fvcore", help="Print fvcore's dense counts beside ashbench's."),
    measure: bool = typer.Option(False, "--measure",
                                 help="Also measure the board energy of the forward on an NVIDIA GPU (NVML counter, "
                                      ">= 1 s of repeated forwards, idle power subtracted)."),
    inputs: Optional[str] = typer.Option(None, "--inputs",
                                         help="NIR graphs only: a tensor saved with torch.save, shape [T, B, "
                                              "*input shape], run one time step per graph call (default: "
                                              "Poisson spikes, see --input-rate)."),
    input_rate: Optional[float] = typer.Option(None, "--input-rate",
                                               help="NIR graphs only, without --inputs: probability in [0, 1] of an "
                                                    "input spike per input, per time step (Bernoulli, seed 0; "
                                                    "default 0.1; T from --timesteps, default 8, B from "
                                                    "--batch-size, default 1)."),
):
    """Profile a model: synops, MACs, firing rates, memory traffic and energy per sample."""
    from ashbench.files import check_output_path
    from ashbench.profiler.measure import energy_report
    from ashbench.report.profile_report import FORMATS, VIEWS, render

    check_choice("--format", fmt, FORMATS)
    check_choice("--by", by, VIEWS)
    check_at_least("--depth", depth, 0)
    if output:
        check_output_path(output)
    with user_code_prints_to_stderr():
        doc = energy_report(model, checkpoint=checkpoint, timesteps=timesteps, batch_size=batch_size,
                            energy_models=energy_model, strict=strict, spikes=spikes, layout=layout,
                            neuron_classes=neuron_class, check_fvcore=check_fvcore, inputs=inputs,
                            input_rate=input_rate, measure=measure)
    emit(render(doc, fmt, by, depth), output)


def models_command():
    """List the registered models."""
    from ashbench.models import list_models

    typer.echo("\n".join(list_models()))
