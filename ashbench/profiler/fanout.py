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

from ashbench.profiler.spikes import event_sums


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

    ``events`` has shape [N, C_in, *spatial]; returns sum over elements of events x fan-out.
    """
    spatial_in = tuple(events.shape[2:])
    kernel = tuple(weight_shape[2:])
    per_group_out = weight_shape[1] if transposed else weight_shape[0] // groups
    fan = _cached_fanout(spatial_in, tuple(out_shape[2:]), kernel, tuple(stride), tuple(padding),
                         tuple(dilation), transposed)
    events_per_position = event_sums(events, dim=(0, 1))  # exact integer sums over (batch, channel)
    return int(torch.dot(events_per_position.reshape(-1), fan)) * per_group_out


@lru_cache(maxsize=256)
def _cached_fanout(spatial_in, spatial_out, kernel, stride, padding, dilation, transposed):
    """The fan-out map, flattened (float64, one element per spatial input position)."""
    return spatial_fanout(spatial_in, spatial_out, kernel, stride, padding, dilation, transposed).reshape(-1)


def conv_dense_macs(in_shape, weight_shape, out_shape, transposed: bool) -> int:
    """Dense MACs as fvcore counts them (bias excluded).

    conv: prod(out_shape) * C_in/groups * prod(kernel) = N * prod(w_shape) * prod(out spatial);
    transposed conv: N * prod(w_shape) * prod(in spatial).
    """
    spatial = in_shape[2:] if transposed else out_shape[2:]
    return in_shape[0] * prod(weight_shape) * prod(spatial)
