"""Reading the batch size (and T) from inputs according to the declared layout."""

from __future__ import annotations

import torch

from ashbench.errors import InputError

LAYOUTS = {"B": "B", "[B,...]": "B", "TB": "TB", "[T,B,...]": "TB"}


def normalise_layout(layout: str) -> str:
    key = layout.replace(" ", "") if isinstance(layout, str) else layout
    if key not in LAYOUTS:
        raise InputError(f"unknown layout {layout!r}; use 'B' for [B,...] inputs or 'TB' for [T,B,...]")
    return LAYOUTS[key]


def resolve_batch(args: tuple, layout: str, batch_size: int | None) -> tuple[int, int | None]:
    """Return (batch size, T or None).

    The first tensor input is read at the layout's batch position ([B,...]: dim 0, [T,B,...]:
    dim 1; T is dim 0). An explicit ``batch_size`` wins over the inputs (for inputs whose
    batch dimension is folded, e.g. [T*B, ...])."""
    layout = normalise_layout(layout)
    if batch_size is not None and (not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1):
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    first = next((a for a in args if torch.is_tensor(a)), None)
    if first is None:
        if batch_size is None:
            raise InputError("no tensor inputs to read the batch size from; pass batch_size")
        return batch_size, None
    dim = 1 if layout == "TB" else 0
    if first.dim() <= dim:
        raise InputError(f"input of shape {tuple(first.shape)} has no batch dimension for layout {layout!r}")
    if first.shape[dim] < 1:
        raise InputError(f"input of shape {tuple(first.shape)} has an empty batch")
    steps = first.shape[0] if layout == "TB" else None
    return batch_size or first.shape[dim], steps
