"""The op -> handler table (fvcore style): small pure handlers, one per family of aten ops.

A handler takes ``(ctx, args, kwargs, out)`` and returns ``(branch, counts)`` where ``branch`` is
'snn' when a spike-valued activation operand drove the op, else 'ann', and ``counts`` holds
``dense_macs``, ``macs``, ``synops`` and/or ``elementwise_ops`` (see ``counts.py`` for the
definitions), integers. The engine runs a handler after the op, normally at the next flush after the
forward (engine.py), with the operands as they were when the op ran. ``ctx.spike(t)`` returns the
event tensor of a spike-valued activation operand, or None for real-valued activations and for
parameters. Ops in ``FREE_OPS`` (views, copies, tensor creation) do no arithmetic and count nothing;
every other op without a handler is reported as unsupported.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any, Callable

import torch
from torch.nn.utils.rnn import PackedSequence

from ashbench.profiler.fanout import conv_dense_macs, conv_synops
from ashbench.profiler.spikes import event_sums

aten = torch.ops.aten


def _total(events: torch.Tensor) -> int:
    """The events of ``events`` (an exact integer sum)."""
    return int(event_sums(events))


def _coactive_pairs(a_events: torch.Tensor, b_events: torch.Tensor) -> int:
    """Co-active pairs of a [.., M, K] @ b [.., K, N] with both operands spiking:
    sum over k of (events in column k of a) x (events in row k of b), per batch."""
    col = event_sums(a_events, dim=-2)  # exact integer sums, float64
    row = event_sums(b_events, dim=-1)
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
        synops = _total(ea) * b.shape[-1]
    else:  # each event of b[.., k, n] meets the M rows of a
        synops = _total(eb) * a.shape[-2]
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
    shapes = (tuple(w.shape), tuple(out.shape), tuple(stride), tuple(padding), tuple(dilation), transposed, groups)
    return "snn", {"dense_macs": dense, "synops": conv_synops(events, *shapes)}


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
        return None if t.is_meta else self._ctx.spike(t)


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


# -- recurrent layers ------------------------------------------------------------------------
# Elementwise ops per time step and batch row of one recurrent cell, in units of the hidden size H,
# keyed by the number of gates G (rows of W_ih = G*H). They are the ops PyTorch's own decomposition
# runs (CPU GRU/RNN, LSTM with proj_size, every *Cell), each counted as ``elementwise_ops`` one per
# output element, so a fused kernel counts what its decomposition counts (bias adds excluded, as
# in addmm):
#   LSTM 13H: gate sum i+h 4H, sigmoid(i, f, o) 3H, tanh(g) H, c' = f*c + i*g 3H, tanh(c') H, o*tanh(c') H
#   GRU  10H: r = sigmoid(i_r + h_r) 2H, z = sigmoid(i_z + h_z) 2H, n = tanh(i_n + r*h_n) 3H,
#             h' = n + z*(h - n) 3H
#   RNN   2H: sum i+h H, tanh or relu H
RNN_STEP_ELEMENTWISE = {4: 13, 3: 10, 1: 2}


def _rnn_layer_terms(tokens: int, w_ih, w_hh, hidden: int, proj_macs_per_token: int) -> tuple[int, int, int, int]:
    """(input-projection MACs, recurrent MACs, elementwise ops, G*H) of one layer and direction (``_rnn_layer``)."""
    gh = w_ih.shape[0]
    return (tokens * gh * w_ih.shape[1], tokens * (gh * w_hh.shape[1] + proj_macs_per_token),
            tokens * hidden * RNN_STEP_ELEMENTWISE[gh // hidden], gh)


def _rnn_layer(tokens: int, w_ih, w_hh, hidden: int, proj_macs_per_token: int, input_events: int | None) -> dict:
    """One layer and direction of a recurrent net run by one kernel over all its ``tokens`` (T x B, or
    the packed length). G*H = rows of W_ih, I = columns of W_ih, R = columns of W_hh (H, or proj_size):
    dense_macs = tokens * G*H * (I + R) + tokens * proj_macs_per_token (bias excluded);
    elementwise_ops = tokens * H * RNN_STEP_ELEMENTWISE[G]. The input projection of an event input
    (``input_events`` events; None: real-valued) is synops (events x G*H); the recurrent product is on
    the real-valued state, always macs."""
    dense_in, recurrent, elementwise, gh = _rnn_layer_terms(tokens, w_ih, w_hh, hidden, proj_macs_per_token)
    counts = {"dense_macs": dense_in + recurrent, "elementwise_ops": elementwise}
    if input_events is None:
        counts["macs"] = dense_in + recurrent
    else:
        counts["macs"], counts["synops"] = recurrent, input_events * gh
    return counts


def _events_of(ctx, x) -> tuple[str, int | None]:
    """The branch of an op reading ``x``, and its events (None when ``x`` is real-valued)."""
    events = ctx.spike(x)
    return ("ann", None) if events is None else ("snn", _total(events))


def _recurrent_counts(ctx, x, w_ih, w_hh, hidden: int):
    """One layer and direction (``_rnn_layer``) over x [T, B, I], [B, T, I], [sum(batch_sizes), I] or [B, I]."""
    branch, events = _events_of(ctx, x)
    return branch, _rnn_layer(x.numel() // w_ih.shape[1], w_ih, w_hh, hidden, 0, events)


def _mkldnn_rnn_layer(ctx, args, kwargs, out):
    """oneDNN's fused layer (CPU LSTM without proj_size): (input, w_ih, w_hh, b_ih, b_hh, hx, cx,
    reverse, batch_sizes, mode, hidden_size, ...), one call per layer and direction."""
    return _recurrent_counts(ctx, args[0], args[1], args[2], args[10])


def _fused_rnn(ctx, x, weights, stride: int, hidden: int, proj: int, layers: int, directions: int):
    """All layers and directions of a recurrent net (``_rnn_layer`` each, summed); ``weights`` holds, per layer
    and direction, ``stride`` tensors [w_ih, w_hh, (b_ih, b_hh), (w_hr)]. Layers above the first read the
    real-valued outputs of the layer below."""
    branch, events = _events_of(ctx, x)
    tokens = x.numel() // weights[0].shape[1]
    dense = macs = synops = elementwise = 0
    for i in range(layers * directions):
        dense_in, recurrent, ops, gh = _rnn_layer_terms(tokens, weights[i * stride], weights[i * stride + 1], hidden,
                                                        proj * hidden)
        dense += dense_in + recurrent
        elementwise += ops
        if events is not None and i < directions:  # the first layer reads the input's events
            macs += recurrent
            synops += events * gh
        else:
            macs += dense_in + recurrent
    counts = {"dense_macs": dense, "macs": macs, "elementwise_ops": elementwise}
    if events is not None:
        counts["synops"] = synops
    return branch, counts


def _cudnn_rnn(ctx, args, kwargs, out):
    """(input, weights, weight_stride0, weight_buf, hx, cx, mode, hidden_size, proj_size, num_layers,
    batch_first, dropout, train, bidirectional, ...)."""
    return _fused_rnn(ctx, args[0], args[1], args[2], args[7], args[8], args[9], 2 if args[13] else 1)


def _miopen_rnn(ctx, args, kwargs, out):
    """(input, weights, weight_stride0, hx, cx, mode, hidden_size, num_layers, batch_first, dropout,
    train, bidirectional, ...)."""
    return _fused_rnn(ctx, args[0], args[1], args[2], args[6], 0, args[7], 2 if args[11] else 1)


def _fused_lstm_cell(ctx, args, kwargs, out):
    """CUDA LSTM cell pointwise kernel (input_gates, hidden_gates, cx, ...): 13 ops per cx element
    (see RNN_STEP_ELEMENTWISE); its matmuls run as separate mm ops."""
    return "ann", {"elementwise_ops": RNN_STEP_ELEMENTWISE[4] * args[2].numel()}


def _fused_gru_cell(ctx, args, kwargs, out):
    """CUDA GRU cell pointwise kernel (input_gates, hidden_gates, hx, ...): 10 ops per hx element."""
    return "ann", {"elementwise_ops": RNN_STEP_ELEMENTWISE[3] * args[2].numel()}


# -- fused transformer inference kernels -------------------------------------------------------
def _meta(*shape):
    return torch.empty(shape, device="meta")  # a real-valued operand (never spike-valued)


def _fused_attention_counts(ctx, q, k, v, embed_dim: int, heads: int, qkv_weight, proj_weight):
    """Counts of the fused multi-head attention of q [B, L, E], k [B, S, E], v [B, S, E]:
    in-projection (B*L + 2*B*S) * E * E, Q.K^T B*L*S*E, A.V B*L*S*E, out-projection B*L*E*E
    (dense_macs, bias excluded); scaling + softmax one op per score: heads * B*L*S elementwise_ops
    (as ``attention_rule`` counts them; an attention mask is ignored: dense as if unmasked)."""
    e = embed_dim
    batch = q.shape[0] if q.dim() == 3 else 1
    length, source = q.shape[-2], k.shape[-2]
    parts = [matmul_counts(ctx, q, qkv_weight[:e].t()), matmul_counts(ctx, k, qkv_weight[e:2 * e].t()),
             matmul_counts(ctx, v, qkv_weight[2 * e:].t()),  # x [.., E] @ W^T: numel(x) * E
             matmul_counts(ctx, _meta(batch, heads, length, e // heads), _meta(batch, heads, e // heads, source)),
             matmul_counts(ctx, _meta(batch, heads, length, source), _meta(batch, heads, source, e // heads)),
             matmul_counts(ctx, _meta(batch * length, e), _meta(e, proj_weight.shape[0]))]
    counts = {"elementwise_ops": heads * batch * length * source}
    for _branch, part in parts:
        for key, value in part.items():
            counts[key] = counts.get(key, 0) + value
    return ("snn" if any(b == "snn" for b, _ in parts) else "ann"), counts


def _native_multi_head_attention(ctx, args, kwargs, out):
    """nn.MultiheadAttention's inference fast path: (query, key, value, embed_dim, num_head,
    qkv_weight, qkv_bias, proj_weight, proj_bias, mask, need_weights, average_attn_weights, ...).
    Counts of ``_fused_attention_counts``; when it returns head-averaged weights (need_weights and
    average_attn_weights, the defaults), the mean over heads adds heads * B*L*S elementwise_ops (a
    reduction: one per input element)."""
    q, k, v, e, heads, qkv_weight, _qkv_bias, proj_weight = args[:8]
    branch, counts = _fused_attention_counts(ctx, q, k, v, e, heads, qkv_weight, proj_weight)
    if _arg(args, kwargs, 10, "need_weights", True) and _arg(args, kwargs, 11, "average_attn_weights", True):
        counts["elementwise_ops"] += heads * (q.numel() // e) * k.shape[-2]  # mean over heads of [B, h, L, S]
    return branch, counts


def _transformer_encoder_layer_fwd(ctx, args, kwargs, out):
    """nn.TransformerEncoderLayer's inference fast path: (src, embed_dim, num_heads, qkv_weight,
    qkv_bias, proj_weight, proj_bias, use_gelu, norm_first, eps, norm_weight_1, norm_bias_1,
    norm_weight_2, norm_bias_2, ffn_weight_1, ffn_bias_1, ffn_weight_2, ffn_bias_2, mask, ...).

    With src [B, L, E], N = B*L tokens and F = ffn width: self-attention as
    ``_fused_attention_counts`` (q = k = v = src, or its layer norm when norm_first), plus the
    feed-forward linears N*E*F + N*F*E dense_macs; elementwise_ops: heads*B*L*L (softmax) + 2*N*E
    (two residual adds) + 2 layer norms of N*E (5 ops per element if affine, else 4, see counts.py)
    + N*F (relu or gelu)."""
    src, e, heads, qkv_weight, _qkv_bias, proj_weight = args[:6]
    norm_first, norm_weight_1, ffn_weight_1, ffn_weight_2 = args[8], args[10], args[14], args[16]
    x = _meta(*src.shape) if norm_first else src
    branch, counts = _fused_attention_counts(ctx, x, x, x, e, heads, qkv_weight, proj_weight)
    tokens, width = src.numel() // e, ffn_weight_1.shape[0]
    for _branch, part in (matmul_counts(ctx, _meta(tokens, e), ffn_weight_1.t()),
                          matmul_counts(ctx, _meta(tokens, width), ffn_weight_2.t())):
        for key, value in part.items():
            counts[key] = counts.get(key, 0) + value
    norms = 2 * _norm_training_like(norm_weight_1 is not None, tokens * e)
    counts["elementwise_ops"] += 2 * tokens * e + norms + tokens * width
    return branch, counts


def _arg(args, kwargs, index: int, name: str, default):
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


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


def overloads(names) -> list:
    """All overloads of the named aten ops that exist in this torch build."""
    found = []
    for name in names:
        packet = getattr(aten, name, None)
        if packet is not None:
            found.extend(getattr(packet, o) for o in packet.overloads())
    return found


def op_table(entries) -> dict:
    """{aten op overload: value} for every overload of the named ops; ``entries``: (names, value) pairs."""
    table = {}
    for names, value in entries:
        table.update(dict.fromkeys(overloads(names), value))
    return table


def _build_rules() -> dict:
    return op_table([
        (["mm"], _mm), (["addmm"], _addmm), (["bmm"], _mm), (["baddbmm"], _addmm), (["mv"], _mv),
        (["dot", "vdot"], _dot), (["convolution", "convolution_overrideable"], _convolution),
        (SDPA_OPS, attention_rule), (POOL_OPS, _pool), (ADAPTIVE_POOL_OPS, _reduction), (SOFTMAX_OPS, _reduction),
        (["native_batch_norm"], _batch_norm), (["_native_batch_norm_legit_no_training"], _batch_norm_no_training),
        (["_native_batch_norm_legit"], _batch_norm_legit), (["native_layer_norm"], _layer_norm),
        (["native_group_norm"], _group_norm), (["embedding", "embedding_bag"], _lookup),
        (["masked_fill_"], _pointwise),  # as masked_fill (tagged pointwise; its in-place form is not)
        (["mkldnn_rnn_layer"], _mkldnn_rnn_layer), (["_cudnn_rnn"], _cudnn_rnn), (["miopen_rnn"], _miopen_rnn),
        (["_thnn_fused_lstm_cell"], _fused_lstm_cell), (["_thnn_fused_gru_cell"], _fused_gru_cell),
        (["_native_multi_head_attention"], _native_multi_head_attention),
        (["_transformer_encoder_layer_fwd"], _transformer_encoder_layer_fwd),
    ])


RULES = _build_rules()

FREE_OPS = frozenset(overloads([
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
    # RNN plumbing: gate splits, in-place transposes/reshapes of the state, packed sequences
    "unsafe_split", "unsafe_split_with_sizes", "unsafe_chunk", "transpose_", "t_", "squeeze_", "unsqueeze_",
    "swapaxes_", "swapdims_", "as_strided_", "detach_", "_pack_padded_sequence", "_pad_packed_sequence",
    "_nested_tensor_from_mask_left_aligned",  # a bool: is a padding mask left-aligned (TransformerEncoder)
]))



# Composite torch functions counted as one op: while a profile runs, the attribute ``name`` of each of
# ``namespaces`` is a wrapper that runs the function with the counting mode off (its aten ops are not
# seen, as inside a neuron: they run natively, at their plain cost) and counts the call with ``rule``
# from its operands and results. The counts are then the same whichever backend runs it (a fused kernel,
# or a decomposition that differs by device and by build), and its memory traffic is that of its operands
# and results (what a fused kernel reads and writes; no intermediate). Calls that look the function up in
# these namespaces at call time are counted this way: ``F.scaled_dot_product_attention`` (and
# nn.MultiheadAttention's unfused path). A reference taken before the profile started (``from
# torch.nn.functional import scaled_dot_product_attention``) reaches the dispatch level, where the fused
# kernels (SDPA_OPS) have rules with the same arithmetic, and only the math fallback (e.g. 3-D inputs on
# CPU) cannot be told apart: it makes the profile again under a TorchFunctionMode (engine.py).
@dataclass(frozen=True, eq=False)
class Composite:
    """A composite torch function counted as one op (see the comment above); equal only to itself."""

    namespaces: tuple
    rule: Callable


COMPOSITE_RULES = {
    "scaled_dot_product_attention": Composite((torch.nn.functional, torch._C._nn), attention_rule),
}


# -- modules counted whole, as one op --------------------------------------------------------------
# Modules (exactly these types, not subclasses, which may add work of their own) whose forward is one
# fused computation plus plumbing that does no arithmetic (initial states, permutations of a packed batch):
# they run with the counting mode off, like a neuron (none of their ops returns to Python: a CPU LSTM
# dispatches 16 aten ops, each about 10 us through a Python dispatch mode), and each call is counted as
# one op, named ``name(module)``, by ``rule(ctx, module, args, kwargs, out)`` from the module's
# configuration and inputs, the same on every backend (oneDNN's fused layer, cuDNN, or the
# decomposition). Its memory traffic is that of its operands (the inputs given, its parameters) and
# results: an initial state the module makes itself (zeros) is not read, the outputs of inner layers,
# which a fused kernel may keep in cache, are not counted. The fused kernels also have dispatch-level
# rules with the same arithmetic (``mkldnn_rnn_layer``, ``_cudnn_rnn``, ``miopen_rnn``), which count a
# subclass or a direct ``torch._VF.lstm`` call.
@dataclass(frozen=True, eq=False)
class WholeModule:
    """How one module type is counted whole (see the comment above)."""

    name: Callable[[Any], str]
    rule: Callable


_RNN_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _rnn_module(ctx, module, args, kwargs, out):
    """nn.LSTM / GRU / RNN over its input ([T, B, I], [B, T, I], [T, I], or a PackedSequence: its data):
    ``_fused_rnn`` over ``module._flat_weights`` (per layer and direction [w_ih, w_hh, (b_ih, b_hh),
    (w_hr: LSTM proj_size)]; layers above the first read the real-valued output of the layer below)."""
    x = args[0] if args else kwargs["input"]
    data = x.data if isinstance(x, PackedSequence) else x
    directions = 2 if module.bidirectional else 1
    weights = module._flat_weights
    stride = len(weights) // (module.num_layers * directions)
    return _fused_rnn(ctx, data, weights, stride, module.hidden_size, module.proj_size, module.num_layers,
                      directions)


def _rnn_cell_module(ctx, module, args, kwargs, out):
    """nn.LSTMCell / GRUCell / RNNCell over its input [B, I] or [I]: one step of ``_recurrent_counts``."""
    x = args[0] if args else kwargs["input"]
    return _recurrent_counts(ctx, x, module.weight_ih, module.weight_hh, module.hidden_size)


def _cell_name(kind: str):
    return lambda module: f"{kind}_cell" if kind != "rnn" else f"rnn_{module.nonlinearity}_cell"


WHOLE_MODULES = {
    torch.nn.LSTM: WholeModule(lambda module: module.mode.lower(), _rnn_module),
    torch.nn.GRU: WholeModule(lambda module: module.mode.lower(), _rnn_module),
    torch.nn.RNN: WholeModule(lambda module: module.mode.lower(), _rnn_module),
    torch.nn.LSTMCell: WholeModule(_cell_name("lstm"), _rnn_cell_module),
    torch.nn.GRUCell: WholeModule(_cell_name("gru"), _rnn_cell_module),
    torch.nn.RNNCell: WholeModule(_cell_name("rnn"), _rnn_cell_module),
}


# Modules whose fast path the dispatch mode cannot count, switched off while a profile runs (the
# attribute set to False, then restored): nn.TransformerEncoder turns a padded batch into nested
# tensors (skipping padding; NestedTensorImpl has no sizes). With it off, the padded batch and the
# mask go to its layers (counted dense, as if unmasked). Every other fused inference path a plain
# ``eval()`` forward takes is taken under the profile too (nn.MultiheadAttention ->
# _native_multi_head_attention, nn.TransformerEncoderLayer -> _transformer_encoder_layer_fwd), and
# has a rule in RULES.
UNCOUNTABLE_FAST_PATHS: tuple[tuple[type, str], ...] = ((torch.nn.TransformerEncoder, "use_nested_tensor"),)


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
