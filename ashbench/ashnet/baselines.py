"""Resolving the controlled arms of ``ashbench.ashnet.config.BASELINES`` on a base config: the arms whose
overrides depend on the base (``match_image_params``: ``ann-wide``'s width) need the model to count
parameters, so this lives apart from the (model-free) config module."""

from __future__ import annotations

import copy

import torch

from ashbench.ashnet.config import BASELINES, VLConfig, apply_overrides
from ashbench.ashnet.model import build_model


def image_side_params(cfg: VLConfig) -> int:
    """Parameters of the retrieval path's image side: concrete encoder, abstract encoder, r and the
    image projection (counted on the meta device: nothing is allocated)."""
    with torch.device("meta"):
        m = build_model(cfg, 8)
    parts = [m.concrete, m.abstract, m.image_proj]
    return sum(p.numel() for part in parts if part is not None for p in part.parameters()) + (m.r is not None)


def matched_vision_width(base: VLConfig, overrides: dict) -> int:
    """The ``model.vision_width`` (a multiple of ``model.vision_heads``, from the base width up) whose
    image-side parameters with ``overrides`` applied are closest to the base hybrid's (the count grows
    with the width, so the scan stops at the first width above the target)."""
    target = image_side_params(base)
    arm = _apply(base, overrides)
    step = arm.model.vision_heads
    best = (float("inf"), base.model.vision_width)
    for width in range(max(step, base.model.vision_width // step * step), 4 * base.model.vision_width + 1, step):
        count = image_side_params(_apply(arm, {"model": {"vision_width": width}}))
        best = min(best, (abs(count - target), width))
        if count > target:
            break
    return best[1]


def _apply(cfg: VLConfig, nested: dict) -> VLConfig:
    return apply_overrides(cfg, [f"{s}.{k}={v!r}" if isinstance(v, str) else f"{s}.{k}={str(v).lower()}"
                                 if isinstance(v, bool) else f"{s}.{k}={v}"
                                 for s, kv in nested.items() for k, v in kv.items()])


def arm_overrides(arm: str, base: VLConfig | None = None) -> dict:
    """The nested overrides of a ``BASELINES`` arm on ``base`` (default: ``ashnet-default``)."""
    entry = BASELINES.get(arm)
    out = copy.deepcopy(entry.overrides)
    if entry.match_image_params:
        width = matched_vision_width(base or VLConfig(), out)
        out.setdefault("model", {})["vision_width"] = width
    return out
