"""Exact fan-out of convolution inputs.

For a convolution, the fan-out of an input element is the number of multiply-accumulates it takes
part in: (output positions whose receptive field covers it, honouring padding, stride and
dilation) x (output channels of its group, C_out / groups). Elements near a padded border reach
fewer outputs than interior ones, and with stride > kernel some reach none.

Along one spatial axis, input index ``i`` is read by output ``o`` through kernel tap ``k`` when
``i = o*stride - padding + k*dilation``; for a given (i, o) at most one k fits, so counting the
(o, k) pairs counts distinct outputs. The axes are independent, so the spatial fan-out map is the
outer product of the per-axis counts.
"""

from __future__ import annotations

from functools import lru_cache
from math import prod

import torch

from ashbench.profiler.spikes import FLOAT32_EXACT_LIMIT


@lru_cache(maxsize=512)
def axis_fanout(size_in: int, size_out: int, kernel: int, stride: int, padding: int, dilation: int,
                transposed: bool = False) -> tuple[int, ...]:
    """Per-index count of outputs reached along one axis (pure Python, cached).

    Normal conv: output o reads input o*stride - padding + k*dilation.
    Transposed conv: input i writes output i*stride - padding + k*dilation.
    """
    counts = [0] * size_in
    if transposed:
        for i in range(size_in):
            counts[i] = sum(0 <= i * stride - padding + k * dilation < size_out for k in range(kernel))
        return tuple(counts)
    for o in range(size_out):
        for k in range(kernel):
            i = o * stride - padding + k * dilation
            if 0 <= i < size_in:
                counts[i] += 1
    return tuple(counts)


def spatial_fanout(in_shape, out_shape, kernel, stride, padding, dilation, transposed=False) -> torch.Tensor:
    """The fan-out map over the spatial dims (float64 tensor of shape ``in_shape``)."""
    axes = [
        torch.tensor(axis_fanout(i, o, k, s, p, d, transposed), dtype=torch.float64)
        for i, o, k, s, p, d in zip(in_shape, out_shape, kernel, stride, padding, dilation)
    ]
    fan = axes[0]
    for axis in axes[1:]:
        fan = torch.outer(fan.flatten(), axis).reshape(*fan.shape, axis.numel())
    return fan


def conv_synops(events: torch.Tensor, weight_shape, out_shape, stride, padding, dilation,
                transposed: bool, groups: int) -> int:
    """Exact synaptic operations of a convolution whose input carries ``events`` per element.

    ``events`` has shape [N, C_in, *spatial]; returns sum over elements of events x fan-out, as
    (events per spatial position, summed over batch and channels) . (fan-out per position) x C_out/groups.
    The per-position sums are taken in float32 and multiplied against [fan-out, 1] in one matmul,
    whose second column is their total: when the total is below 2**24 every per-position sum is
    below it too, so exact (``spikes.event_sums``). When total x the largest fan-out is below 2**24
    too, every product and partial sum of the float32 matmul is an integer below 2**24, so exact;
    otherwise the matmul is made again in float64 (exact below 2**53), and when the total is 2**24
    or more the per-position sums are taken again in float64.
    """
    spatial_in = tuple(events.shape[2:])
    kernel = tuple(weight_shape[2:])
    per_group_out = weight_shape[1] if transposed else weight_shape[0] // groups
    key = (spatial_in, tuple(out_shape[2:]), kernel, tuple(stride), tuple(padding), tuple(dilation), transposed)
    basis32, max_fanout = _fanout_basis32(*key)
    per_position = events.sum(dim=(0, 1), dtype=torch.float32).reshape(-1)
    reached, total = (per_position @ basis32).tolist()
    if total * max_fanout < FLOAT32_EXACT_LIMIT:  # every partial sum an integer below 2**24: exact in float32
        return int(reached) * per_group_out
    basis = _fanout_basis(*key)
    reached, total = (per_position.double() @ basis).tolist()
    if total >= FLOAT32_EXACT_LIMIT:
        reached = float(events.sum(dim=(0, 1), dtype=torch.float64).reshape(-1) @ basis[:, 0])
    return int(reached) * per_group_out


@lru_cache(maxsize=256)
def _fanout_basis32(*key) -> tuple[torch.Tensor, int]:
    """``_fanout_basis`` in float32 (its values are integers far below 2**24), and the largest fan-out."""
    basis = _fanout_basis(*key)
    return basis.float(), int(basis[:, 0].max()) if basis.numel() else 0


@lru_cache(maxsize=256)
def _fanout_basis(spatial_in, spatial_out, kernel, stride, padding, dilation, transposed) -> torch.Tensor:
    """[positions, 2] float64: the flattened fan-out map, and a column of ones (the total)."""
    fan = spatial_fanout(spatial_in, spatial_out, kernel, stride, padding, dilation, transposed).reshape(-1)
    return torch.stack([fan, torch.ones_like(fan)], dim=1)


def conv_dense_macs(in_shape, weight_shape, out_shape, transposed: bool) -> int:
    """Dense MACs as fvcore counts them (bias excluded).

    conv: prod(out_shape) * C_in/groups * prod(kernel) = N * prod(w_shape) * prod(out spatial);
    transposed conv: N * prod(w_shape) * prod(in spatial).
    """
    spatial = in_shape[2:] if transposed else out_shape[2:]
    return in_shape[0] * prod(weight_shape) * prod(spatial)
