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
    """Return (batch size, T or None). Every tensor input must agree on B (and T for 'TB')."""
    layout = normalise_layout(layout)
    tensors = [a for a in args if torch.is_tensor(a)]
    if batch_size is not None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not tensors:
        if batch_size is None:
            raise InputError("no tensor inputs to read the batch size from; pass batch_size")
        return batch_size, None
    dim = 1 if layout == "TB" else 0
    for t in tensors:
        if t.dim() <= dim:
            raise InputError(f"input of shape {tuple(t.shape)} has no batch dimension for layout {layout!r}")
    sizes = {t.shape[dim] for t in tensors}
    if len(sizes) > 1:
        raise InputError(f"tensor inputs disagree on the batch size at dim {dim}: {sorted(sizes)}")
    steps = {t.shape[0] for t in tensors} if layout == "TB" else {None}
    if len(steps) > 1:
        raise InputError(f"tensor inputs disagree on T at dim 0: {sorted(steps)}")
    found = sizes.pop()
    if found < 1:
        raise InputError("inputs have an empty batch")
    if batch_size is not None and batch_size != found:
        raise InputError(f"batch_size={batch_size} but the inputs have batch {found} at dim {dim} (layout {layout})")
    return found, steps.pop()
