"""Event-preserving ops: the op -> operands table that decides when an op's output holds events.

An op's output holds events when the op only moves, copies, selects or pads the values of event
tensors (views, ``cat``, ``repeat``, ``constant_pad_nd`` with 0, ``index_select``, ...), when it
is max pooling (the output values are input values), when it multiplies event tensors element by
element (``mul`` of two event tensors: an AND of spikes, as in the Spike-driven Transformer's
Q ⊗ K or QKFormer's token mask), or — for semantics that carry counts (``auto`` and ``multi:N``) —
when it adds event tensors (``add`` with alpha 1, ``sum``: a SEW residual sum of 2 is two events).
Each entry maps an aten op to a function of ``(args, kwargs)`` returning the operands that must
all hold events (``None``: this call's output does not carry events, e.g. a pad with a non-zero
value). Any other op ends the events: its output is real-valued — in particular a matrix product
of event tensors (attention scores Q·Kᵀ), a product with a real tensor or a scalar, a division.
"""

from __future__ import annotations

import torch

from ashbench.profiler.rules import op_table


def _all_tensor_args(args, kwargs):
    return args


def _first(args, kwargs):
    return args[:1]


def _source_of_copy(args, kwargs):
    return args[1:2]  # copy_(dst, src): the values are src's


def _zero_pad(args, kwargs):
    value = args[2] if len(args) > 2 else kwargs.get("value", 0)
    return args[:1] if value == 0 else None


def _two_tensors(args, kwargs):
    both = len(args) > 1 and torch.is_tensor(args[0]) and torch.is_tensor(args[1])
    return args[:2] if both else None


def _plain_add(args, kwargs):
    alpha = args[2] if len(args) > 2 else kwargs.get("alpha", 1)
    both = len(args) > 1 and torch.is_tensor(args[0]) and torch.is_tensor(args[1])
    return args[:2] if both and alpha == 1 else None


# Ops whose output rearranges or copies the values of their tensor operands (views too: any op
# with ``func.is_view`` is treated like these).
MOVING_OPS = op_table([
    (["clone", "_to_copy", "contiguous", "detach", "alias", "_unsafe_view", "lift_fresh", "lift_fresh_copy",
      "cat", "stack", "expand", "repeat", "unbind", "split", "split_with_sizes", "chunk", "unsafe_split",
      "index_select", "index", "gather", "flip", "roll", "tril", "triu", "masked_select", "select_scatter",
      "slice_scatter", "upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d"], _all_tensor_args),
    (["copy_", "copy"], _source_of_copy),
    (["constant_pad_nd"], _zero_pad),
    (["max_pool1d", "max_pool2d", "max_pool3d", "max_pool2d_with_indices", "max_pool3d_with_indices",
      "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d"], _first),
    (["mul", "mul_", "logical_and", "bitwise_and"], _two_tensors),
])

# Ops whose output is a sum of event counts (events only for semantics that carry counts).
SUMMING_OPS = op_table([
    (["add", "add_"], _plain_add),
    (["sum"], _first),
])


def event_operands(func, args, kwargs, counts_allowed: bool):
    """The operands that must all hold events for ``func``'s output to hold events; None when its
    output never does (the default for any op not listed)."""
    rule = MOVING_OPS.get(func) or (SUMMING_OPS.get(func) if counts_allowed else None)
    if rule is None:
        return args if func.is_view else None
    return rule(args, kwargs)


def event_rule(func, counts_allowed: bool):
    """What ``event_operands`` does for ``func``, looked up once: its rule, True (a view: all its
    arguments), or None (its output never holds events)."""
    rule = MOVING_OPS.get(func) or (SUMMING_OPS.get(func) if counts_allowed else None)
    if rule is None:
        return True if func.is_view else None
    return rule
