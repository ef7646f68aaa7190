"""The op -> handler table (fvcore style): small pure handlers, one per family of aten ops.

A handler takes ``(ctx, args, kwargs, out)`` and returns ``(branch, counts)`` where ``branch`` is
'snn' when a spike-valued activation operand drove the op, else 'ann', and ``counts`` holds
``dense_macs``, ``macs``, ``synops`` and/or ``elementwise_ops`` (see ``counts.py`` for the
definitions). ``ctx.spike(t)`` returns the event tensor of a spike-valued activation operand, or
None for real-valued activations and for parameters. Ops in ``FREE_OPS`` (views, copies, tensor
creation) do no arithmetic and count nothing; every other op without a handler is reported as
unsupported.
"""

from __future__ import annotations

from math import prod

import torch

from ashbench.profiler.fanout import conv_dense_macs, conv_synops
from ashbench.profiler.spikes import exact_sum

aten = torch.ops.aten


def _total(ctx, events: torch.Tensor) -> int:
    return exact_sum(events.reshape(-1), ctx.semantics.max_events)


def _coactive_pairs(a_events: torch.Tensor, b_events: torch.Tensor) -> int:
    """Co-active pairs of a [.., M, K] @ b [.., K, N] with both operands spiking:
    sum over k of (events in column k of a) x (events in row k of b), per batch."""
    col = a_events.sum(dim=-2).double()  # exact: M * max_events < 2**24 for any real layer
    row = b_events.sum(dim=-1).double()
    return int((col * row).sum())


def matmul_counts(ctx, a: torch.Tensor, b: torch.Tensor):
    """a [.., M, K] @ b [.., K, N] (batch dims broadcast as in bmm)."""
    dense = a.numel() * b.shape[-1]  # fvcore: prod(a.shape) * N
    ea, eb = ctx.spike(a), ctx.spike(b)
    if ea is None and eb is None:
        return "ann", {"dense_macs": dense, "macs": dense}
    if ea is not None and eb is not None:
        synops = _coactive_pairs(ea, eb)
    elif ea is not None:  # each event of a[.., m, k] meets the N columns of b
        synops = _total(ctx, ea) * b.shape[-1]
    else:  # each event of b[.., k, n] meets the M rows of a
        synops = _total(ctx, eb) * a.shape[-2]
    return "snn", {"dense_macs": dense, "synops": synops}


def _mm(ctx, args, kwargs, out):
    return matmul_counts(ctx, args[0], args[1])


def _addmm(ctx, args, kwargs, out):
    return matmul_counts(ctx, args[1], args[2])


def _mv(ctx, args, kwargs, out):
    return matmul_counts(ctx, args[0], args[1].unsqueeze(-1))


def _dot(ctx, args, kwargs, out):
    return matmul_counts(ctx, args[0].unsqueeze(0), args[1].unsqueeze(-1))


def _convolution(ctx, args, kwargs, out):
    x, w, _bias, stride, padding, dilation, transposed, _out_pad, groups = args[:9]
    dense = conv_dense_macs(tuple(x.shape), tuple(w.shape), tuple(out.shape), transposed)
    events = ctx.spike(x)
    if events is None:
        return "ann", {"dense_macs": dense, "macs": dense}
    synops = conv_synops(events, tuple(w.shape), tuple(out.shape), stride, padding, dilation, transposed, groups,
                         ctx.semantics.max_events)
    return "snn", {"dense_macs": dense, "synops": synops}


def attention_rule(ctx, args, kwargs, out):
    """Scaled-dot-product attention: Q.K^T then softmax(.).V (attention mask ignored: dense
    counts as if unmasked; the scale factor is not a separate op). q [.., L, E], k [.., S, E],
    v [.., S, Ev]. Spikes are judged on the q, k, v given by the caller."""
    q, k, v = args[:3]
    branch_qk, qk = matmul_counts(ctx, q, k.transpose(-2, -1))
    scores = q.shape[:-1] + (k.shape[-2],)
    probs = torch.empty(scores, device="meta")  # softmax output: real-valued by construction
    branch_av, av = matmul_counts(_RealFirst(ctx), probs, v)
    counts = {key: qk.get(key, 0) + av.get(key, 0) for key in ("dense_macs", "macs", "synops")}
    counts["elementwise_ops"] = prod(scores)  # scaling + softmax, one op per score
    return ("snn" if "snn" in (branch_qk, branch_av) else "ann"), counts


class _RealFirst:
    """Context wrapper that treats the first operand (a meta tensor of probabilities) as real."""

    def __init__(self, ctx):
        self._ctx = ctx
        self.semantics = ctx.semantics

    def spike(self, t):
        return None if t.device.type == "meta" else self._ctx.spike(t)


def _spiking(ctx, tensors) -> str:
    """Branch of a non-synaptic op: 'snn' when an operand is a known spike tensor (emitted by a
    spiking neuron, or a view/copy of one). No value scan here: these ops are cheap and the scan
    would double their cost; the branch only decides where their elementwise_ops are credited."""
    return "snn" if any(torch.is_tensor(t) and ctx.known_spike(t) for t in tensors) else "ann"


def _pointwise(ctx, args, kwargs, out):
    first = out[0] if isinstance(out, (tuple, list)) else out
    return _spiking(ctx, args[:2]), {"elementwise_ops": first.numel()}


def _reduction(ctx, args, kwargs, out):
    return _spiking(ctx, args[:1]), {"elementwise_ops": args[0].numel()}


def _pool(ctx, args, kwargs, out):
    first = out[0] if isinstance(out, (tuple, list)) else out
    return _spiking(ctx, args[:1]), {"elementwise_ops": first.numel() * prod(args[1])}


def _norm_training_like(affine: bool, numel: int) -> int:
    return numel * (5 if affine else 4)


def _batch_norm(ctx, args, kwargs, out):
    x, weight, training = args[0], args[1], args[5]
    affine = weight is not None
    ops = _norm_training_like(affine, x.numel()) if training else x.numel() * (2 if affine else 1)
    return _spiking(ctx, args[:1]), {"elementwise_ops": ops}


def _batch_norm_no_training(ctx, args, kwargs, out):
    return _spiking(ctx, args[:1]), {"elementwise_ops": args[0].numel() * (2 if args[1] is not None else 1)}


def _batch_norm_legit(ctx, args, kwargs, out):
    training = args[5] if len(args) > 5 and isinstance(args[5], bool) else True
    affine = args[1] is not None
    ops = _norm_training_like(affine, args[0].numel()) if training else args[0].numel() * (2 if affine else 1)
    return _spiking(ctx, args[:1]), {"elementwise_ops": ops}


def _layer_norm(ctx, args, kwargs, out):
    return _spiking(ctx, args[:1]), {"elementwise_ops": _norm_training_like(args[2] is not None, args[0].numel())}


def _group_norm(ctx, args, kwargs, out):
    return _spiking(ctx, args[:1]), {"elementwise_ops": _norm_training_like(args[1] is not None, args[0].numel())}


def _lookup(ctx, args, kwargs, out):
    return "ann", {}


SDPA_OPS = [
    "_scaled_dot_product_flash_attention_for_cpu",
    "_scaled_dot_product_flash_attention",
    "_scaled_dot_product_efficient_attention",
    "_scaled_dot_product_cudnn_attention",
    "_scaled_dot_product_fused_attention_overrideable",
]
POOL_OPS = ["max_pool1d", "max_pool2d", "max_pool3d", "max_pool2d_with_indices", "max_pool3d_with_indices",
            "avg_pool1d", "avg_pool2d", "avg_pool3d"]
ADAPTIVE_POOL_OPS = ["adaptive_avg_pool1d", "_adaptive_avg_pool2d", "_adaptive_avg_pool3d", "adaptive_max_pool1d",
                     "adaptive_max_pool2d", "adaptive_max_pool3d", "mean"]
SOFTMAX_OPS = ["_softmax", "_log_softmax", "softmax", "log_softmax"]


def _overloads(names):
    """All overloads of the named aten ops that exist in this torch build."""
    found = []
    for name in names:
        packet = getattr(aten, name, None)
        if packet is not None:
            found.extend(getattr(packet, o) for o in packet.overloads())
    return found


def _build_rules() -> dict:
    table = {}
    for names, handler in [
        (["mm"], _mm), (["addmm"], _addmm), (["bmm"], _mm), (["baddbmm"], _addmm), (["mv"], _mv),
        (["dot", "vdot"], _dot), (["convolution", "convolution_overrideable"], _convolution),
        (SDPA_OPS, attention_rule), (POOL_OPS, _pool), (ADAPTIVE_POOL_OPS, _reduction), (SOFTMAX_OPS, _reduction),
        (["native_batch_norm"], _batch_norm), (["_native_batch_norm_legit_no_training"], _batch_norm_no_training),
        (["_native_batch_norm_legit"], _batch_norm_legit), (["native_layer_norm"], _layer_norm),
        (["native_group_norm"], _group_norm), (["embedding", "embedding_bag"], _lookup),
    ]:
        table.update(dict.fromkeys(_overloads(names), handler))
    return table


RULES = _build_rules()

FREE_OPS = frozenset(_overloads([
    "empty", "empty_like", "empty_strided", "zeros", "zeros_like", "ones", "ones_like", "full", "full_like",
    "rand", "rand_like", "randn", "randn_like", "randint", "arange", "scalar_tensor", "lift_fresh", "lift_fresh_copy",
    "clone", "_to_copy", "copy_", "copy", "contiguous", "cat", "stack", "expand", "repeat", "unbind", "split",
    "split_with_sizes", "chunk", "index_select", "index", "gather", "constant_pad_nd", "fill_", "zero_", "detach",
    "alias", "_unsafe_view", "new_empty", "new_zeros", "new_ones", "new_full", "new_empty_strided", "resize_",
    "set_", "masked_select", "nonzero", "bernoulli", "bernoulli_", "uniform_", "normal_", "item", "_local_scalar_dense",
    "flip", "roll", "tril", "triu", "select_scatter", "slice_scatter", "index_put_", "index_put", "scatter",
    "scatter_", "sort", "topk", "argsort", "_assert_async", "_assert_tensor_metadata", "sym_size", "sym_numel",
    "sym_stride", "sym_storage_offset", "is_nonzero", "equal", "one_hot", "pad", "reflection_pad2d",
    "replication_pad2d",
    "upsample_nearest2d", "_pin_memory", "record_stream", "dropout", "native_dropout", "feature_dropout",
]))


# Max pooling of spikes yields spikes: its output is marked so the next layer needs no value scan.
SPIKE_PRESERVING_OPS = frozenset(_overloads(["max_pool1d", "max_pool2d", "max_pool3d", "max_pool2d_with_indices",
                                             "max_pool3d_with_indices", "adaptive_max_pool2d"]))


# Composite torch functions counted as one op, absorbing the aten ops they decompose into (which
# differ by backend): torch function -> (name in reports, handler).
COMPOSITE_RULES = {
    torch.nn.functional.scaled_dot_product_attention: ("scaled_dot_product_attention", attention_rule),
}


# Module types whose forward runs without the TorchFunctionMode, so that PyTorch keeps its fused
# inference path (a function mode disables it); their fused aten ops need rules in RULES.
FAST_PATH_MODULES: tuple[type, ...] = ()


def classify(func):
    """Return the handler for ``func``, 'free' for ops that do no arithmetic, or None (unsupported)."""
    handler = RULES.get(func)
    if handler is not None:
        return handler
    if func in FREE_OPS or func.is_view:
        return "free"
    tags = func.tags
    if torch.Tag.pointwise in tags:
        return _pointwise
    if torch.Tag.reduction in tags:
        return _reduction
    return None
