"""The ASH-Nets workloads the profiler runs (registered models ``ashnet`` and two tiny test ones).

Inputs are real data: the first images of the configured data set's test split and their first
captions, as the model sees them in evaluation.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ashbench.ashnet.checkpoint import load_model
from ashbench.ashnet.config import VLConfig, load_config
from ashbench.ashnet.data import example_split
from ashbench.ashnet.data.shapes import vocabulary
from ashbench.ashnet.data.tokenizer import SPECIALS, WordTokenizer
from ashbench.ashnet.model import ASHNet, build_model
from ashbench.errors import InputError
from ashbench.models.registry import Workload, register_model

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "assets" / "ashnet-default.pt"


def example_inputs(cfg: VLConfig, tokenizer, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` images (float in [0, 1]) and first captions of the data set's test split."""
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    split = example_split(cfg.data, batch_size)
    ids = tokenizer.encode([caps[0] for caps in split.captions], cfg.model.max_text_len)
    return split.images.float() / 255.0, ids


def _workload(model: ASHNet, cfg: VLConfig, tokenizer, batch_size: int, timesteps: int | None, info: dict) -> Workload:
    if timesteps is not None:
        model.set_timesteps(timesteps)
    inputs = example_inputs(cfg, tokenizer, batch_size)
    info = {**info, "config": cfg.name, "mode": cfg.model.mode, "timesteps": model.timesteps,
            "data": f"{cfg.data.dataset} test split", "outputs": "image-text similarity logits [B, B]"}
    return Workload(model=model.eval(), inputs=inputs, layout="B", info=info)


@register_model("ashnet")
def ashnet(batch_size: int = 16, timesteps: int | None = None, checkpoint: str | None = None) -> Workload:
    """ASH-Nets hybrid model; default weights: the embedded trained checkpoint (``assets/ashnet-default.pt``)."""
    path = str(checkpoint or DEFAULT_CHECKPOINT)
    model, cfg, tokenizer = load_model(path)
    return _workload(model, cfg, tokenizer, batch_size, timesteps, {"checkpoint": path, "trained": True})


def _untrained_or_checkpoint(name: str, batch_size: int, timesteps: int | None,
                             checkpoint: str | None) -> Workload:
    """The preset ``name`` with seeded random weights, or the model of ``checkpoint`` when given."""
    if checkpoint:
        return ashnet(batch_size=batch_size, timesteps=timesteps, checkpoint=checkpoint)
    cfg = load_config(name)
    tokenizer = WordTokenizer([*SPECIALS, *vocabulary()])
    model = build_model(cfg, len(tokenizer), seed=0)
    return _workload(model, cfg, tokenizer, batch_size, timesteps, {"checkpoint": None, "trained": False})


@register_model("test-ashnet-tiny")
def ashnet_tiny(batch_size: int = 16, timesteps: int | None = None, checkpoint: str | None = None) -> Workload:
    """Tiny untrained hybrid ASH-Net (32x32 images, T=2) for tests."""
    return _untrained_or_checkpoint("test-tiny", batch_size, timesteps, checkpoint)


@register_model("test-ashnet-tiny-snn")
def ashnet_tiny_snn(batch_size: int = 16, timesteps: int | None = None, checkpoint: str | None = None) -> Workload:
    """Tiny untrained SNN-mode ASH-Net (minimal stem + spiking encoder) for tests."""
    return _untrained_or_checkpoint("test-tiny-snn", batch_size, timesteps, checkpoint)
