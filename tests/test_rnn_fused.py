"""Exact counts of recurrent layers and of PyTorch's fused inference kernels (MultiheadAttention,
TransformerEncoderLayer). Arithmetic in the comments; counts are per sample (whole batch / B).

RNN conventions (rules.py, ``_recurrent_counts``): per layer and direction, over T x B tokens,
dense_macs = T*B * G*H * (I + H) with G = 4 (LSTM), 3 (GRU), 1 (RNN), I the layer's input size;
elementwise_ops = T*B * H * {LSTM 13, GRU 10, RNN 2} (the ops of PyTorch's own cell decomposition)."""

import warnings

import pytest
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from ashbench.profiler import engine, profile, walk
from ashbench.profiler.rules import RULES

aten = torch.ops.aten
T, B, D_IN, H = 5, 3, 8, 16  # steps, batch, input size (I), hidden size


class Out0(nn.Module):
    """Run a recurrent module (or a cell) and return its first output."""

    def __init__(self, rnn, *extra):
        super().__init__()
        self.rnn = rnn
        self.extra = extra

    def forward(self, x):
        out = self.rnn(x, *self.extra)
        return out[0] if isinstance(out, tuple) else out


class _OpLog(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.add(str(func))
        return func(*args, **(kwargs or {}))


def _plain_ops(model, *inputs) -> set:
    """The aten ops of a plain eval-mode ``torch.no_grad()`` forward (no ashbench)."""
    with torch.no_grad(), _OpLog() as log:
        model(*inputs)
    return log.ops


def _x(*shape):
    torch.manual_seed(0)
    return torch.randn(*shape)


def _rnn(cls, *args, **kwargs):
    torch.manual_seed(0)
    return cls(*args, **kwargs).eval()


def _totals(model, x, **kwargs):
    t = profile(model, x, strict=True, batch_size=B, **kwargs).totals
    return t["dense_macs"], t["macs"], t["elementwise_ops"]


# -- exact integers --------------------------------------------------------------------------

def test_lstm_two_layers_exact():
    # per sample (T=5 tokens): layer 0: 5 * 4*16 * (8 + 16) = 7,680; layer 1: 5 * 64 * (16 + 16) = 10,240
    # elementwise: 2 layers * 5 steps * 13 * 16 = 2,080
    model = Out0(_rnn(nn.LSTM, D_IN, H, 2)).eval()
    assert _totals(model, _x(T, B, D_IN)) == (7_680 + 10_240, 17_920, 2_080)


def test_lstm_whole_batch_example_from_the_brief():
    # whole batch: 5*3*4*16*(8+16) + 5*3*4*16*(16+16) = 23,040 + 30,720 = 53,760 = 3 * 17,920
    p = profile(Out0(_rnn(nn.LSTM, D_IN, H, 2)), _x(T, B, D_IN), strict=True, batch_size=B)
    assert p.totals["dense_macs"] * B == 5 * 3 * 4 * 16 * (8 + 16) + 5 * 3 * 4 * 16 * (16 + 16) == 53_760


def test_lstm_bidirectional_batch_first_no_bias_exact():
    # batch_first [B=3, T=5, 8], 2 layers, 2 directions; layer 1 reads 2*16 = 32 features
    # per direction: layer 0: 5 * 64 * (8 + 16) = 7,680; layer 1: 5 * 64 * (32 + 16) = 15,360
    # total 2 * (7,680 + 15,360) = 46,080; elementwise 4 layer-directions * 5 * 13 * 16 = 4,160
    model = Out0(_rnn(nn.LSTM, D_IN, H, 2, bidirectional=True, batch_first=True, bias=False))
    assert _totals(model, _x(B, T, D_IN)) == (46_080, 46_080, 4_160)


def test_lstm_unbatched_input():
    # [T=5, 8] without a batch dim: one sample, 5 * 64 * 24 = 7,680; 5 * 13 * 16 = 1,040
    t = profile(Out0(_rnn(nn.LSTM, D_IN, H)), _x(T, D_IN), strict=True, batch_size=1).totals
    assert (t["dense_macs"], t["elementwise_ops"]) == (7_680, 1_040)


def test_lstm_with_projection_exact():
    # proj_size P=4 (PyTorch runs it decomposed on CPU: the rule set counts its addmm/mm/pointwise ops)
    # layer 0: 5 * 64 * (8 + 4) + 5 * 16 * 4 (projection) = 3,840 + 320; layer 1 reads 4: 5 * 64 * 8 + 320
    # = 2,560 + 320; total 7,040. elementwise: 2 * 5 * 13 * 16 = 2,080 (the projection is a matmul)
    model = Out0(_rnn(nn.LSTM, D_IN, H, 2, proj_size=4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "LSTM with projections is not supported with oneDNN"
        assert _totals(model, _x(T, B, D_IN)) == (4_160 + 2_880, 7_040, 2_080)


def test_gru_bidirectional_two_layers_exact():
    # per direction: layer 0: 5 * 3*16 * (8 + 16) = 5,760; layer 1: 5 * 48 * (32 + 16) = 11,520
    # total 2 * 17,280 = 34,560; elementwise: 4 layer-directions * 5 * 10 * 16 = 3,200
    model = Out0(_rnn(nn.GRU, D_IN, H, 2, bidirectional=True))
    assert _totals(model, _x(T, B, D_IN)) == (34_560, 34_560, 3_200)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_exact(nonlinearity):
    # 2 layers: 5 * 16 * (8 + 16) + 5 * 16 * (16 + 16) = 1,920 + 2,560 = 4,480; elementwise 2 * 5 * 2 * 16 = 320
    model = Out0(_rnn(nn.RNN, D_IN, H, 2, nonlinearity=nonlinearity))
    assert _totals(model, _x(T, B, D_IN)) == (4_480, 4_480, 320)


@pytest.mark.parametrize("cls,gates,per_h", [(nn.LSTMCell, 4, 13), (nn.GRUCell, 3, 10), (nn.RNNCell, 1, 2)])
def test_cells_exact(cls, gates, per_h):
    # one step: G*16 * (8 + 16) MACs (LSTM 1,536, GRU 1,152, RNN 384); elementwise per_h * 16
    dense, macs, ew = _totals(Out0(_rnn(cls, D_IN, H)), _x(B, D_IN))
    assert (dense, macs, ew) == (gates * H * (D_IN + H), gates * H * (D_IN + H), per_h * H)


def test_cell_with_given_state():
    # the state passed in changes nothing: 4*16*(8+16) = 1,536
    h0, c0 = torch.zeros(B, H), torch.zeros(B, H)
    assert _totals(Out0(_rnn(nn.LSTMCell, D_IN, H), (h0, c0)), _x(B, D_IN))[0] == 1_536


@pytest.mark.parametrize("cls,gates,per_h,layers,bidir", [
    (nn.LSTM, 4, 13, 2, False), (nn.GRU, 3, 10, 1, True), (nn.RNN, 1, 2, 1, False)])
def test_packed_sequences_count_real_tokens(cls, gates, per_h, layers, bidir):
    # lengths 5, 3, 2: 10 tokens in all (whole batch), not T*B = 15
    class Packed(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = _rnn(cls, D_IN, H, layers, bidirectional=bidir)

        def forward(self, x):
            out, _ = self.rnn(pack_padded_sequence(x, torch.tensor([5, 3, 2])))
            return pad_packed_sequence(out)[0]

    p = profile(Packed(), _x(T, B, D_IN), strict=True, batch_size=1)  # batch_size 1: whole-batch counts
    dirs = 2 if bidir else 1
    dense = dirs * 10 * gates * H * (D_IN + H) + (layers - 1) * dirs * 10 * gates * H * (dirs * H + H)
    # LSTM: 10 * 64 * 24 + 10 * 64 * 32 = 15,360 + 20,480 = 35,840; GRU bi: 2 * 10 * 48 * 24 = 23,040
    assert p.totals["dense_macs"] == dense
    assert p.totals["elementwise_ops"] == layers * dirs * 10 * per_h * H


# -- oracles ---------------------------------------------------------------------------------

class UnrolledLSTM(nn.Module):
    """An nn.LSTM written as explicit nn.Linear layers and pointwise ops, step by step."""

    def __init__(self, lstm: nn.LSTM):
        super().__init__()
        self.batch_first, self.hidden = lstm.batch_first, lstm.hidden_size
        self.dirs = 2 if lstm.bidirectional else 1
        self.ih, self.hh = nn.ModuleList(), nn.ModuleList()
        for layer in range(lstm.num_layers):
            for suffix in ["", "_reverse"][:self.dirs]:
                w_ih, w_hh = getattr(lstm, f"weight_ih_l{layer}{suffix}"), getattr(lstm, f"weight_hh_l{layer}{suffix}")
                ih = nn.Linear(w_ih.shape[1], w_ih.shape[0], bias=lstm.bias)
                hh = nn.Linear(w_hh.shape[1], w_hh.shape[0], bias=lstm.bias)
                ih.weight.data.copy_(w_ih)
                hh.weight.data.copy_(w_hh)
                if lstm.bias:
                    ih.bias.data.copy_(getattr(lstm, f"bias_ih_l{layer}{suffix}"))
                    hh.bias.data.copy_(getattr(lstm, f"bias_hh_l{layer}{suffix}"))
                self.ih.append(ih)
                self.hh.append(hh)

    def _direction(self, x, ih, hh, reverse):
        steps = x.shape[1] if self.batch_first else x.shape[0]
        batch = x.shape[0] if self.batch_first else x.shape[1]
        h = c = torch.zeros(batch, self.hidden)
        outs = [None] * steps
        for t in (reversed(range(steps)) if reverse else range(steps)):
            gates = ih(x[:, t] if self.batch_first else x[t]) + hh(h)
            i, f, g, o = gates.chunk(4, 1)
            i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
            c = f * c + i * g
            h = o * torch.tanh(c)
            outs[t] = h
        return torch.stack(outs, 1 if self.batch_first else 0)

    def forward(self, x):
        for k in range(0, len(self.ih), self.dirs):
            x = torch.cat([self._direction(x, self.ih[k + d], self.hh[k + d], d == 1) for d in range(self.dirs)], -1)
        return x


@pytest.mark.parametrize("layers,bidir,batch_first,bias", [
    (1, False, False, True), (2, False, False, True), (2, True, False, True), (2, True, True, False),
    (3, False, True, True)])
def test_lstm_equals_unrolled_linear_oracle(layers, bidir, batch_first, bias):
    """The fused LSTM (oneDNN's mkldnn_rnn_layer here) counts exactly what the same LSTM written as
    explicit nn.Linear matmuls and pointwise ops counts: dense_macs, macs and elementwise_ops."""
    lstm = _rnn(nn.LSTM, D_IN, H, layers, bidirectional=bidir, batch_first=batch_first, bias=bias)
    oracle = UnrolledLSTM(lstm).eval()
    x = _x(B, T, D_IN) if batch_first else _x(T, B, D_IN)
    with torch.no_grad():
        torch.testing.assert_close(oracle(x), lstm(x)[0], rtol=1e-5, atol=1e-5)
    fused = _totals(Out0(lstm), x)
    assert fused == _totals(oracle, x)
    assert fused[0] > 0


@pytest.mark.filterwarnings("ignore:TF32 acceleration")
@pytest.mark.parametrize("build,bias_adds", [
    (lambda: nn.LSTM(D_IN, H, 2), 0), (lambda: nn.LSTM(D_IN, H, 2, bidirectional=True, batch_first=True), 2 * T * 64),
    (lambda: nn.GRU(D_IN, H, 2, bidirectional=True), 0), (lambda: nn.RNN(D_IN, H, 3), 0),
    (lambda: nn.GRUCell(D_IN, H), 0), (lambda: nn.LSTMCell(D_IN, H), 0)])
def test_module_counted_whole_equals_every_op_level_path(build, bias_adds, monkeypatch):
    """A recurrent module is counted whole, as one op (rules.WHOLE_MODULES), the same with oneDNN on or
    off; its dense_macs are what torch's FlopCounterMode counts on the addmm decomposition that runs with
    oneDNN off (flops = 2 x MACs). Counted op by op instead (WHOLE_MODULES empty), the op-level rules count
    the same: oneDNN's fused layer (mkldnn_rnn_layer), and the decomposition. Except: on batch_first input
    the decomposition runs layer 0's input projection as mm + a separate bias add (per sample 2 directions
    * 5 steps * 64 = 640 elementwise ops), which the whole-module and the fused rule exclude as bias."""
    torch.manual_seed(0)
    model = Out0(build().eval())
    x = _x(B, D_IN) if isinstance(model.rnn, nn.RNNCellBase) else _x(T, B, D_IN)
    whole = _totals(model, x)
    with torch.backends.mkldnn.flags(enabled=False):
        assert _totals(model, x) == whole
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(x)
    assert counter.get_total_flops() == 2 * whole[0] * B and whole[0] > 0
    monkeypatch.setattr(walk, "WHOLE_MODULES", {})  # the module's ops are dispatched and counted one by one
    assert _totals(model, x) == whole  # the fused op's rule (the decomposition for cells, GRU, RNN)
    with torch.backends.mkldnn.flags(enabled=False):
        dense, macs, ew = _totals(model, x)
    assert (dense, macs, ew) == (whole[0], whole[1], whole[2] + bias_adds)


def test_lstm_is_one_op_and_runs_the_plain_kernel():
    # 2 layers, T*B = 15 tokens: dense_macs 15 * 64 * (8 + 16) + 15 * 64 * (16 + 16) = 23,040 + 30,720
    # = 53,760 (whole batch; 17,920 per sample); one op. A caller's dispatch mode below the profiler's
    # sees the LSTM's own kernels, those of a plain forward (oneDNN's mkldnn_rnn_layer on this CPU build)
    model = Out0(_rnn(nn.LSTM, D_IN, H, 2))
    x = _x(T, B, D_IN)
    plain = _plain_ops(model, x)
    with _OpLog() as outer:
        p = profile(model, x, strict=True, batch_size=1)
    assert p.unsupported_ops == [] and p.totals["dense_macs"] == 53_760
    assert {op: row["calls"] for op, row in p.by_operator().items()} == {"lstm": 1}
    assert outer.ops >= plain


def test_a_module_counted_whole_sends_no_op_to_the_counting_mode(monkeypatch):
    # nn.LSTM's initial states (two zeros) and its fused kernel run with the counting mode off; the module
    # is counted: dense_macs 17,920 per sample (3 samples; see test_lstm_is_one_op_...)
    seen = []
    dispatch = engine._CountingMode.__torch_dispatch__

    def logged(self, func, types, args=(), kwargs=None):
        seen.append(str(func))
        return dispatch(self, func, types, args, kwargs)

    monkeypatch.setattr(engine._CountingMode, "__torch_dispatch__", logged)
    p = profile(Out0(_rnn(nn.LSTM, D_IN, H, 2)), _x(T, B, D_IN), strict=True, batch_size=B)
    assert seen == [] and p.totals["dense_macs"] == 17_920


class DoubledLSTM(nn.LSTM):
    """A subclass adds work of its own: it is not counted whole, its ops are counted one by one."""

    def forward(self, x, hx=None):
        out, state = super().forward(x, hx)
        return out * 2, state


def test_a_subclass_of_a_whole_module_has_its_own_ops_counted():
    # the LSTM as before (dense 17,920 per sample, 13 * 16 = 208 elementwise ops per token, 5 tokens a
    # sample, 2 layers: 2,080) plus the doubling: 5 * 16 = 80 elementwise ops per sample
    torch.manual_seed(0)
    t = profile(Out0(DoubledLSTM(D_IN, H, 2).eval()), _x(T, B, D_IN), strict=True, batch_size=B).totals
    assert (t["dense_macs"], t["elementwise_ops"]) == (17_920, 2_080 + 80)


class AttentionThenLSTM(nn.Module):
    """An SDPA reference taken before the profile (its math fallback makes the profile again under the
    TorchFunctionMode), then an LSTM: the LSTM is counted whole on that path too."""

    def __init__(self):
        super().__init__()
        from torch.nn.functional import scaled_dot_product_attention

        self.sdpa = scaled_dot_product_attention
        self.lstm = _rnn(nn.LSTM, D_IN, H, 2)

    def forward(self, x):
        return self.lstm(self.sdpa(x, x, x))[0]


def test_a_whole_module_is_counted_under_the_function_mode_fallback():
    # the LSTM: 17,920 dense MACs and 2,080 elementwise ops per sample (batch 3 on axis 1 of [T, B, I]);
    # the attention over x [5, 3, 8] (batch 5, L = S = 3, E = 8): Q.K^T 3*3*8 + A.V 3*3*8 = 144 per
    # batch row, 720 in all, 240 per sample; 9 scores per batch row, 45 in all, 15 per sample
    t = profile(AttentionThenLSTM(), _x(T, B, D_IN), strict=True, batch_size=B).totals
    assert (t["dense_macs"], t["elementwise_ops"]) == (17_920 + 240, 2_080 + 15)


def test_lstm_memory_traffic_is_its_operands_and_results():
    # a module counted whole reads its operands and writes its results (rules.WHOLE_MODULES), whole batch
    # (batch_size=1); the initial state it makes itself (zeros) is not read:
    # read  x 5*3*8 = 120 floats = 480 bytes
    # write out 5*3*16 + hn 96 + cn 96 = 240 + 192 = 432 floats = 1,728 bytes
    # weights layer 0: 64*8 + 64*16 + 64 + 64 = 1,664; layer 1: 64*16 + 64*16 + 128 = 2,176 -> 3,840 floats
    p = profile(Out0(_rnn(nn.LSTM, D_IN, H, 2)), _x(T, B, D_IN), strict=True, batch_size=1)
    t = p.totals
    assert (t["activation_read_bytes"], t["activation_write_bytes"], t["weight_read_bytes"]) == (480, 1_728, 15_360)
    # given an initial state, it is read: h0, c0 [2 layers, 3, 16] = 96 floats each -> 480 + 2 * 384 = 1,248
    state = (torch.zeros(2, B, H), torch.zeros(2, B, H))
    t = profile(Out0(_rnn(nn.LSTM, D_IN, H, 2), state), _x(T, B, D_IN), strict=True, batch_size=1).totals
    assert (t["activation_read_bytes"], t["activation_write_bytes"]) == (1_248, 1_728)


def test_lstm_on_event_input_counts_synops_for_the_input_projection():
    # binary input with 7 events (whole batch): layer 0's input projection = 7 * 4*16 synops;
    # the recurrent products stay MACs: 5*3 * 64 * 16 (layer 0) + 5*3 * 64 * (16 + 16) (layer 1)
    x = torch.zeros(T, B, D_IN)
    for t, b, i in [(0, 0, 1), (0, 2, 7), (1, 1, 0), (2, 0, 3), (3, 2, 2), (4, 1, 5), (4, 0, 0)]:
        x[t, b, i] = 1.0
    p = profile(Out0(_rnn(nn.LSTM, D_IN, H, 2)), x, strict=True, batch_size=1)
    assert p.totals["synops"] == 7 * 64  # 448
    assert p.totals["macs"] == 15 * 64 * 16 + 15 * 64 * 32  # 15,360 + 30,720 = 46,080
    assert p.totals["dense_macs"] == 15 * 64 * 24 + 15 * 64 * 32  # 23,040 + 30,720 = 53,760


@pytest.mark.parametrize("layers,bidir,proj", [(2, True, 0), (2, False, 4), (1, False, 0)])
def test_cudnn_rnn_rule_matches_cpu_counts(layers, bidir, proj):
    """The ``_cudnn_rnn`` rule (GPU; its weights come as a flat list, ``weight_stride0`` per layer
    and direction) counts what the CPU path counts for the same LSTM."""

    class Ctx:
        def spike(self, t):
            return None

    lstm = _rnn(nn.LSTM, D_IN, H, layers, bidirectional=bidir, proj_size=proj)
    x = _x(T, B, D_IN)
    weights = lstm._flat_weights
    stride = len(weights) // (layers * (2 if bidir else 1))
    args = (x, weights, stride, None, None, None, 2, H, proj, layers, False, 0.0, False, bidir, [], None)
    _branch, counts = RULES[aten._cudnn_rnn.default](Ctx(), args, {}, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dense, _macs, ew = _totals(Out0(lstm), x)
    assert (counts["dense_macs"], counts["elementwise_ops"]) == (dense * B, ew * B)


# -- fused transformer kernels ---------------------------------------------------------------
E, HEADS, F_DIM, L = 16, 4, 32, 5


class SelfAttention(nn.Module):
    def __init__(self, need_weights=False):
        super().__init__()
        torch.manual_seed(0)
        self.attn = nn.MultiheadAttention(E, HEADS, batch_first=True)
        self.need_weights = need_weights

    def forward(self, x):
        return self.attn(x, x, x, need_weights=self.need_weights)[0]


def _mha_counts(model, x, fast=True, training=False):
    model.train(training)
    previous = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(fast)
    try:
        p = profile(model, x, strict=True)
    finally:
        torch.backends.mha.set_fastpath_enabled(previous)
        model.eval()
    return p


def test_mha_runs_its_fused_kernel_under_profile_as_in_plain_eval():
    model = SelfAttention().eval()
    x = _x(B, L, E)
    assert "aten._native_multi_head_attention.default" in _plain_ops(model, x)
    p = profile(model, x, strict=True)
    assert set(p.by_operator()) == {"aten._native_multi_head_attention.default"}


@pytest.mark.parametrize("need_weights", [False, True])
def test_mha_fused_equals_unfused(need_weights):
    # per sample, L = S = 5, E = 16, 4 heads: in-projection 5 * 3*16*16 = 3,840; Q.K^T 5*5*16 = 400;
    # A.V 400; out-projection 5 * 16*16 = 1,280; dense_macs 5,920.
    # elementwise: scale + softmax one per score, 4 * 5*5 = 100 (+ 100 for the mean over heads of
    # the returned weights when need_weights)
    model = SelfAttention(need_weights)
    x = _x(B, L, E)
    fused = _mha_counts(model, x).totals
    assert set(_mha_counts(model, x).by_operator()) == {"aten._native_multi_head_attention.default"}
    assert fused["dense_macs"] == fused["macs"] == 3_840 + 400 + 400 + 1_280 == 5_920
    assert fused["elementwise_ops"] == (200 if need_weights else 100)
    for unfused in (_mha_counts(model, x, fast=False), _mha_counts(model, x, training=True)):
        assert "aten._native_multi_head_attention.default" not in unfused.by_operator()
        assert unfused.totals["dense_macs"] == unfused.totals["macs"] == 5_920
        # the unfused path on batch_first input adds the in-projection bias as a separate op
        # (5 * 48 = 240, bias excluded in the fused count) and, when it returns weights, scales q
        # itself (5 * 16 = 80; attention_rule folds scaling into the per-score op)
        assert unfused.totals["elementwise_ops"] == fused["elementwise_ops"] + 240 + (80 if need_weights else 0)


def test_mha_fused_on_event_input_counts_in_projection_synops():
    # binary input, 6 events in all: in-projection 6 * 3*16 synops (q, k, v from the same events)
    x = torch.zeros(B, L, E)
    for b, t, e in [(0, 0, 1), (0, 4, 3), (1, 2, 2), (2, 1, 15), (2, 3, 0), (1, 0, 9)]:
        x[b, t, e] = 1.0
    model = SelfAttention()
    fused = _mha_counts(model, x)
    assert set(fused.by_operator()) == {"aten._native_multi_head_attention.default"}
    unfused = _mha_counts(model, x, training=True)
    whole = {k: v * B for k, v in fused.totals.items() if k in ("synops", "macs", "dense_macs")}
    assert whole["synops"] == 6 * 48  # 288
    assert whole["macs"] == 3 * (400 + 400 + 1_280)  # attention and out-projection: real, 6,240
    assert whole["dense_macs"] == 3 * 5_920
    for key in ("synops", "macs", "dense_macs"):
        assert unfused.totals[key] == fused.totals[key]


def _encoder_layer(**kwargs):
    torch.manual_seed(0)
    return nn.TransformerEncoderLayer(E, HEADS, F_DIM, dropout=0.0, batch_first=True, **kwargs).eval()


@pytest.mark.parametrize("kwargs", [{}, {"norm_first": True, "activation": "gelu"}])
def test_encoder_layer_fused_rule_equals_unfused(kwargs):
    # per sample, L = 5, E = 16, F = 32: attention 3,840 + 400 + 400 + 1,280 = 5,920;
    # feed-forward 5 * 16*32 + 5 * 32*16 = 5,120; dense_macs 11,040.
    # elementwise: softmax 4 * 5*5 = 100; residual adds 2 * 5*16 = 160; layer norms 2 * 80 * 5 = 800;
    # relu/gelu 5 * 32 = 160; total 1,220
    layer = _encoder_layer(**kwargs)
    x = _x(B, L, E)
    fused = profile(layer, x, strict=True)  # the fused kernel a plain eval() forward runs
    assert set(fused.by_operator()) == {"aten._transformer_encoder_layer_fwd.default"}
    t = fused.totals
    assert (t["dense_macs"], t["macs"], t["elementwise_ops"]) == (11_040, 11_040, 1_220)
    layer.train()
    unfused = profile(layer, x, strict=True)  # training mode: separate ops, no fused kernel at all
    assert "aten._transformer_encoder_layer_fwd.default" not in unfused.by_operator()
    assert unfused.totals["dense_macs"] == 11_040
    assert unfused.totals["elementwise_ops"] == 1_220 + 240  # + the in-projection bias add (5 * 48)


def test_encoder_layer_runs_its_fused_kernel_under_profile():
    layer, x = _encoder_layer(), _x(B, L, E)
    assert "aten._transformer_encoder_layer_fwd.default" in _plain_ops(layer, x)
    assert "aten._transformer_encoder_layer_fwd.default" in profile(layer, x, strict=True).by_operator()


def test_transformer_encoder_with_padding_mask_is_strict_clean():
    # 2 layers, dense as if unmasked: 2 * 11,040 = 22,080
    torch.manual_seed(0)
    encoder = nn.TransformerEncoder(_encoder_layer(), 2).eval()
    mask = torch.zeros(B, L, dtype=torch.bool)
    mask[0, 3:] = mask[1, 4:] = True

    class WithMask(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder

        def forward(self, x):
            return self.encoder(x, src_key_padding_mask=mask)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert profile(WithMask(), _x(B, L, E), strict=True).totals["dense_macs"] == 22_080
        assert profile(encoder, _x(B, L, E), strict=True).totals["dense_macs"] == 22_080
