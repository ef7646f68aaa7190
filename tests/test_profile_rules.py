"""Exact-integer tests of every op rule. Arithmetic in the comments; batch 1 unless stated, so
per-sample counts are the raw counts."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from ashbench.errors import InputError, UnsupportedOpError
from ashbench.profiler import profile


class Fn(nn.Module):
    """Wrap a function of the inputs as a module so the profiler can credit it."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def _linear(cin, cout, bias=True):
    torch.manual_seed(0)
    return nn.Linear(cin, cout, bias=bias)


def test_linear_on_spikes_counts_events_times_out_features():
    x = torch.tensor([[1.0, 0.0, 1.0, 1.0]])  # 3 events
    t = profile(_linear(4, 5), x).totals
    assert t["synops"] == 3 * 5  # 15: each event reaches the 5 outputs
    assert t["dense_macs"] == 1 * 4 * 5  # 20, bias excluded
    assert t["macs"] == 0


def test_linear_on_real_input_is_mac_work():
    x = torch.tensor([[0.5, 0.0, 1.0, 2.0]])
    p = profile(_linear(4, 5), x)
    assert p.totals["macs"] == p.totals["dense_macs"] == 20  # 4 * 5
    assert p.totals["synops"] == 0
    assert p.branches["ann"]["macs"] == 20


def test_linear_on_3d_input_per_sample():
    # [B=2, N=3, 4] -> Linear(4, 6): dense per sample = 3 rows * 4 * 6 = 72
    x = torch.zeros(2, 3, 4)
    x[0, 0, :2] = 1  # 2 events in sample 0
    x[1, 2, 3] = 1  # 1 event in sample 1
    t = profile(_linear(4, 6), x).totals
    assert t["dense_macs"] == 72
    assert t["synops"] == (3 * 6) / 2  # 3 events * 6 outputs over 2 samples = 9.0


def _conv1d(cin, cout, k, **kw):
    conv = nn.Conv1d(cin, cout, k, bias=False, **kw)
    nn.init.constant_(conv.weight, 1.0)
    return conv


def test_conv1d_padding_border_fanout():
    # k=3, pad=1, stride 1, L=5: input i reaches outputs {i-1, i, i+1} within [0, 4]
    # i=0 -> 2 outputs, i=2 -> 3 outputs; C_out/groups = 2 -> (2 + 3) * 2 = 10
    x = torch.tensor([[[1.0, 0, 1, 0, 0]]])
    t = profile(_conv1d(1, 2, 3, padding=1), x).totals
    assert t["synops"] == 10
    assert t["dense_macs"] == 2 * 5 * 1 * 3  # out numel 10 * C_in/g 1 * k 3 = 30


def test_conv1d_stride_fanout():
    # k=3, pad=1, stride=2, L=5 -> 3 outputs; output o reads i = 2o - 1 + k:
    # o0:{0,1} o1:{1,2,3} o2:{3,4} -> fan-out i0:1 i1:2 i2:1 i3:2 i4:1
    # x = [1,1,1,0,1] -> 1+2+1+1 = 5, times C_out 2 = 10
    x = torch.tensor([[[1.0, 1, 1, 0, 1]]])
    assert profile(_conv1d(1, 2, 3, padding=1, stride=2), x).totals["synops"] == 10


def test_conv1d_dilation_fanout():
    # k=3, dilation=2, no padding, L=7 -> 3 outputs reading {0,2,4}, {1,3,5}, {2,4,6}
    # fan-out 1,1,2,1,2,1,1 = 9 for an all-ones input, times C_out 3 = 27
    x = torch.ones(1, 1, 7)
    assert profile(_conv1d(1, 3, 3, dilation=2), x).totals["synops"] == 27


def test_conv1d_groups_fanout():
    # 4 -> 6 channels, groups=2, k=1: each event reaches C_out/groups = 3 outputs
    x = torch.zeros(1, 4, 3)
    x[0, 0, 0] = x[0, 3, 2] = x[0, 2, 1] = x[0, 1, 1] = x[0, 0, 2] = 1  # 5 events
    t = profile(_conv1d(4, 6, 1, groups=2), x).totals
    assert t["synops"] == 5 * 3  # 15
    assert t["dense_macs"] == 6 * 3 * 2 * 1  # out numel 18 * C_in/g 2 * k 1 = 36


def test_conv2d_borders_differ_from_interior():
    # 3x3 kernel, pad 1 on a 3x3 all-ones input: per-axis fan-out (2, 3, 2); 2-D = outer product
    # corners 2*2=4 (x4), edges 2*3=6 (x4), centre 3*3=9 -> 16 + 24 + 9 = 49 synops;
    # dense counts padding taps too: 9 outputs * 9 taps = 81
    conv = nn.Conv2d(1, 1, 3, padding=1, bias=False)
    t = profile(conv, torch.ones(1, 1, 3, 3)).totals
    assert t["synops"] == 49
    assert t["dense_macs"] == 81


def test_conv3d_counts():
    # 1x1x1 kernel, 2 -> 4 channels: each of the 3 events reaches 4 outputs = 12
    conv = nn.Conv3d(2, 4, 1, bias=False)
    x = torch.zeros(1, 2, 2, 2, 2)
    x[0, 0, 0, 0, 0] = x[0, 1, 1, 1, 1] = x[0, 1, 0, 1, 0] = 1
    t = profile(conv, x).totals
    assert t["synops"] == 12
    assert t["dense_macs"] == 4 * 8 * 2  # out numel 32 * C_in 2 * k 1 = 64


@pytest.mark.parametrize("stride,padding,dilation,groups,transposed", [
    (1, 0, 1, 1, False), (2, 1, 1, 1, False), (1, 2, 2, 1, False), (2, 1, 1, 2, False), (3, 0, 1, 1, False),
    (1, 0, 1, 1, True), (2, 1, 1, 1, True), (2, 0, 2, 2, True),
])
def test_conv_synops_match_naive_oracle(stride, padding, dilation, groups, transposed):
    """Oracle: synops = sum over (output position, group) of active inputs in its receptive
    field (a convolution with an all-ones kernel) x C_out/groups; for transposed convs every
    event's reached outputs are counted by scattering through an all-ones kernel."""
    torch.manual_seed(1)
    cin, cout, k = 4, 6, 3
    x = (torch.rand(2, cin, 9, 8) < 0.3).float()
    conv_cls = nn.ConvTranspose2d if transposed else nn.Conv2d
    conv = conv_cls(cin, cout, k, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=False)
    got = profile(conv, x).totals["synops"] * 2  # back to whole-batch
    assert got == _oracle(x, conv, transposed)


def _oracle(x, conv, transposed):
    per_group_out = conv.out_channels // conv.groups
    if transposed:  # outputs reached by each input, per input element, times C_out/groups
        return _reach_per_input(x, conv) * per_group_out
    ones = torch.ones(conv.groups, conv.in_channels // conv.groups, *conv.kernel_size)
    occ = F.conv2d(x, ones, stride=conv.stride, padding=conv.padding, dilation=conv.dilation, groups=conv.groups)
    return int(occ.sum()) * per_group_out


def _reach_per_input(x, conv):
    """Brute force: for every input position, count output positions it writes to."""
    total = 0
    out_h = (x.shape[2] - 1) * conv.stride[0] - 2 * conv.padding[0] + conv.dilation[0] * (conv.kernel_size[0] - 1) + 1
    out_w = (x.shape[3] - 1) * conv.stride[1] - 2 * conv.padding[1] + conv.dilation[1] * (conv.kernel_size[1] - 1) + 1
    events = x.sum(dim=(0, 1))
    for i in range(x.shape[2]):
        for j in range(x.shape[3]):
            reach = sum(0 <= i * conv.stride[0] - conv.padding[0] + a * conv.dilation[0] < out_h
                        for a in range(conv.kernel_size[0])) * sum(
                0 <= j * conv.stride[1] - conv.padding[1] + b * conv.dilation[1] < out_w
                for b in range(conv.kernel_size[1]))
            total += int(events[i, j]) * reach
    return total


def test_matmul_spike_times_real():
    # a spikes [2,3] with 3 events @ real b [3,4]: each event meets 4 columns -> 12
    a = torch.tensor([[[1.0, 0, 1], [0, 1, 0]]])
    b = torch.rand(1, 3, 4) + 0.1
    t = profile(Fn(torch.matmul), (a, b)).totals
    assert t["synops"] == 12
    assert t["dense_macs"] == 2 * 3 * 4  # 24


def test_matmul_real_times_spike_counts_rows():
    # real a [2,3] @ spikes b [3,4] with 2 events: each event meets the 2 rows of a -> 4
    a = torch.rand(1, 2, 3) + 0.1
    b = torch.zeros(1, 3, 4)
    b[0, 0, 1] = b[0, 2, 3] = 1
    assert profile(Fn(torch.matmul), (a, b)).totals["synops"] == 4


def test_spike_times_spike_counts_coactive_pairs():
    # a = [[1,1,0],[0,1,0]], b = [[1,0],[1,1],[0,1]]; a @ b = [[2,1],[1,1]] -> 5 co-active pairs
    # (column sums of a (1,2,0) . row sums of b (1,2,1) = 1 + 4 + 0 = 5)
    a = torch.tensor([[[1.0, 1, 0], [0, 1, 0]]])
    b = torch.tensor([[[1.0, 0], [1, 1], [0, 1]]])
    t = profile(Fn(torch.bmm), (a, b)).totals
    assert t["synops"] == 5
    assert t["macs"] == 0


def test_einsum_on_spikes():
    # 'bij,bjk->bik' with a = 2 events in [1,2,3], b real [1,3,5] -> 2 * 5 = 10; dense 2*3*5 = 30
    a = torch.tensor([[[1.0, 0, 0], [0, 0, 1]]])
    b = torch.rand(1, 3, 5) + 0.1
    t = profile(Fn(lambda x, y: torch.einsum("bij,bjk->bik", x, y)), (a, b)).totals
    assert (t["synops"], t["dense_macs"]) == (10, 30)


def test_baddbmm_and_addmm_exclude_the_bias():
    # addmm(bias, x[1,4] 2 events, W[4,3]) -> 2 * 3 = 6 synops, dense 12
    x = torch.tensor([[1.0, 0, 0, 1]])
    w = torch.rand(4, 3)
    t = profile(Fn(lambda a, b: torch.addmm(torch.ones(3), a, b)), (x, w)).totals
    assert (t["synops"], t["dense_macs"]) == (6, 12)
    # baddbmm with real operands: 1 * 2 * 4 * 3 = 24 MACs
    fn = Fn(lambda a, b: torch.baddbmm(torch.ones(1, 2, 3), a, b))
    t = profile(fn, (torch.rand(1, 2, 4), torch.rand(1, 4, 3))).totals
    assert t["macs"] == 24


def test_spiking_attention_qk_pairs_and_real_av():
    # q = [[1,0,1],[0,1,1]], k = [[1,1,0],[0,0,1]] (B=H=1, L=S=2, E=3): q.k^T = [[1,1],[1,1]] -> 4 pairs
    # A.V with real V [2,4]: L*S*Ev = 2*2*4 = 16 MACs; dense = 2*2*3 + 16 = 28; softmax 4 scores
    q = torch.tensor([[[[1.0, 0, 1], [0, 1, 1]]]])
    k = torch.tensor([[[[1.0, 1, 0], [0, 0, 1]]]])
    v = torch.rand(1, 1, 2, 4) + 0.1
    t = profile(Fn(F.scaled_dot_product_attention), (q, k, v)).totals
    assert (t["synops"], t["macs"], t["dense_macs"], t["elementwise_ops"]) == (4, 16, 28, 4)


def test_attention_with_spiking_values():
    # real q, k; V spikes with 3 events, L = 2 queries: each event meets 2 attention weights -> 6
    q, k = torch.rand(1, 1, 2, 3) + 0.1, torch.rand(1, 1, 2, 3) + 0.1
    v = torch.tensor([[[[1.0, 0, 1, 0], [0, 0, 0, 1]]]])
    t = profile(Fn(F.scaled_dot_product_attention), (q, k, v)).totals
    assert t["synops"] == 6
    assert t["macs"] == 2 * 2 * 3  # Q.K^T real: 12


def test_multi_spike_residual_counts_two_events():
    # SEW residual: s1 + s2 = [2,1,1,0] -> under multi:2 that is 4 events; Linear(4, 3) -> 12 synops
    s1 = torch.tensor([[1.0, 1, 0, 0]])
    s2 = torch.tensor([[1.0, 0, 1, 0]])
    lin = _linear(4, 3)
    model = Fn(lambda a, b: lin(a + b))
    assert profile(model, (s1, s2), spikes="multi:2").totals["synops"] == 12
    # by default (auto) a sum of event tensors holds event counts: the same 12 synops
    assert profile(model, (s1, s2)).totals["synops"] == 12
    # declared binary spikes carry one event each: a sum is real-valued ANN work (4 * 3 = 12 MACs)
    t = profile(model, (s1, s2), spikes="binary").totals
    assert (t["synops"], t["macs"]) == (0, 12)


def test_ternary_spikes_count_negative_events():
    # [-1, 0, 1, 1] -> 3 events (one negative) x 5 outputs = 15
    x = torch.tensor([[-1.0, 0, 1, 1]])
    assert profile(_linear(4, 5), x, spikes="ternary").totals["synops"] == 15
    assert profile(_linear(4, 5), x).totals["synops"] == 0  # binary: -1 is not a spike


@pytest.mark.parametrize("module,shape,expected", [
    (nn.BatchNorm2d(2).eval(), (1, 2, 3, 3), 18 * 2),  # inference, affine: numel 18 * 2
    (nn.BatchNorm2d(2, affine=False).eval(), (1, 2, 3, 3), 18),  # numel * 1
    (nn.LayerNorm(4), (1, 2, 4), 8 * 5),  # affine: numel 8 * 5 (fvcore's estimate)
    (nn.GroupNorm(2, 4), (1, 4, 2, 2), 16 * 5),
    (nn.MaxPool2d(2), (1, 1, 4, 4), 4 * 4),  # 4 outputs * 2*2 window
    (nn.AvgPool2d(2), (1, 1, 4, 4), 4 * 4),
    (nn.AdaptiveAvgPool2d(1), (1, 2, 4, 4), 32),  # one op per input element
    (nn.Softmax(dim=-1), (1, 2, 3), 6),
    (nn.ReLU(), (1, 2, 3), 6),  # pointwise: one per output element
])
def test_elementwise_ops(module, shape, expected):
    t = profile(module, torch.randn(*shape)).totals
    assert t["elementwise_ops"] == expected
    assert t["dense_macs"] == 0


def test_elementwise_residual_add_of_spikes_is_snn_branch():
    from spikingjelly.activation_based import neuron

    class Res(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = neuron.IFNode(v_threshold=0.5), neuron.IFNode(v_threshold=0.5)

        def forward(self, x):
            return self.a(x) + self.b(x)

    p = profile(Res(), torch.tensor([[1.0, 0.0, 1.0]]))
    assert p.branches["snn"]["elementwise_ops"] == 3  # one add per output element


def test_unsupported_ops_are_listed_with_module_and_calls():
    model = nn.Sequential(Fn(lambda x: torch.cumsum(torch.cumsum(x, 0), 0)))
    p = profile(model, torch.rand(3, 2))
    assert p.unsupported_ops == [{"op": "aten.cumsum.default", "module": "0", "calls": 2}]
    assert p.warnings == ["1 op kind(s) without a counting rule ran 2 time(s) and count as 0: every total and energy "
                          "is a lower bound (see unsupported_ops; --strict refuses instead)"]
    with pytest.raises(UnsupportedOpError, match="cumsum"):
        profile(model, torch.rand(3, 2), strict=True)


def test_counts_are_credited_to_module_and_ancestors():
    model = nn.Sequential(nn.Sequential(_linear(4, 5)), _linear(5, 2))
    p = profile(model, torch.rand(1, 4))
    rows = {r["module"]: r for r in p.layer_rows()}
    assert rows["0.0"]["macs"] == 20 and rows["0"]["macs"] == 20  # 4*5, inner and its parent
    assert rows["1"]["macs"] == 10  # 5*2
    assert rows[""]["macs"] == 30 == p.totals["macs"]
    assert rows["0"]["self"]["macs"] == 0 and rows["0.0"]["self"]["macs"] == 20


def test_event_sums_exact_above_float32_integer_range():
    from ashbench.profiler.spikes import event_sums

    # below 2**24 the float32 sum is exact: 1000 ones -> 1000
    assert int(event_sums(torch.ones(1000))) == 1000
    # 2**23 + 2**23 + 1 = 2**24 + 1 is not a float32 value (float32 gives 2**24): summed again in float64
    big = torch.tensor([2.0 ** 23, 2.0 ** 23, 1.0])
    assert int(event_sums(big)) == (1 << 24) + 1
    # along a dim: column 0 holds 2**24 + 1 events, column 1 holds 3 -> both exact
    cols = torch.tensor([[2.0 ** 23, 1.0], [2.0 ** 23, 1.0], [1.0, 1.0]])
    assert event_sums(cols, dim=0).tolist() == [float((1 << 24) + 1), 3.0]



def test_conv_synops_exact_above_float32_integer_range():
    from ashbench.profiler.fanout import conv_synops

    # 1x1 kernel, stride 1, 1 -> 2 channels: every input event reaches 1 position x 2 output channels.
    # Batch of 3 at one position: 2**23 + 2**23 + 1 = 2**24 + 1 events (float32 would give 2**24),
    # so synops = (2**24 + 1) * 2; the second position holds 1 + 1 + 1 = 3 events -> 3 * 2 more.
    events = torch.tensor([2.0 ** 23, 2.0 ** 23, 1.0]).reshape(3, 1, 1, 1).expand(3, 1, 1, 2).clone()
    events[:, :, :, 1] = 1.0
    assert conv_synops(events, (2, 1, 1, 1), (3, 2, 1, 2), (1, 1), (0, 0), (1, 1), False, 1) \
        == ((1 << 24) + 1) * 2 + 3 * 2
    # below the range: 3 x 2 ones -> 6 events x 2 channels = 12
    assert conv_synops(torch.ones(3, 1, 1, 2), (2, 1, 1, 1), (3, 2, 1, 2), (1, 1), (0, 0), (1, 1), False, 1) == 12


def test_conv_synops_exact_when_events_fit_float32_but_their_products_do_not():
    # 3x3 input, 3x3 kernel, padding 1: fan-out 9 at the centre, 6 at an edge, 4 at a corner. The centre
    # holds 2**22 + 1 events (a float32 integer), the 8 others one each: total 2**22 + 9 < 2**24, but
    # (2**22 + 1) * 9 = 37,748,745 > 2**24 is odd, so a float32 matmul would round it:
    # exact = 37,748,745 + 4 corners * 4 + 4 edges * 6 = 37,748,785
    from ashbench.profiler.fanout import conv_synops

    events = torch.ones(1, 1, 3, 3)
    events[0, 0, 1, 1] = float((1 << 22) + 1)
    assert conv_synops(events, (1, 1, 3, 3), (1, 1, 3, 3), (1, 1), (1, 1), (1, 1), False, 1) == 37_748_785

# -- composites: scaled_dot_product_attention counted as one op without a TorchFunctionMode -------
class CallTimeSDPA(nn.Module):
    """Looks the function up at call time, as model code does (``F.scaled_dot_product_attention``)."""

    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v)


def _spiking_qkv(dims: int):
    # the q, k, v of test_spiking_attention_qk_pairs_and_real_av: 4 co-active pairs, 16 real A.V MACs
    q = torch.tensor([[[1.0, 0, 1], [0, 1, 1]]])
    k = torch.tensor([[[1.0, 1, 0], [0, 0, 1]]])
    v = torch.rand(1, 2, 4) + 0.1
    return tuple(t.unsqueeze(0) for t in (q, k, v)) if dims == 4 else (q, k, v)


@pytest.mark.parametrize("dims", [3, 4])  # 3-D inputs run the math fallback on CPU, tiny 4-D ones too
@pytest.mark.parametrize("model", [CallTimeSDPA(), Fn(F.scaled_dot_product_attention)],
                         ids=["looked-up-at-call-time", "reference-taken-before"])
def test_sdpa_is_one_op_on_every_path(dims, model):
    # Q.K^T: 4 synops (co-active pairs); A.V: L*S*Ev = 2*2*4 = 16 MACs; dense 12 + 16 = 28; 4 scores.
    # The call-time lookup goes through the wrapper; a reference taken before the profile reaches the
    # math decomposition unwrapped, which makes the profile again under the function mode: same counts.
    t = profile(model, _spiking_qkv(dims), strict=True)
    assert (t.totals["synops"], t.totals["macs"], t.totals["dense_macs"], t.totals["elementwise_ops"]) == (4, 16, 28, 4)
    assert set(t.by_operator()) == {"scaled_dot_product_attention"}


def test_profile_leaves_torch_as_it_found_it():
    original = torch._C._nn.scaled_dot_product_attention
    seen = {}

    class Probe(nn.Module):
        def forward(self, x):
            seen["function_mode"] = torch._C._is_torch_function_mode_enabled()
            seen["wrapped"] = F.scaled_dot_product_attention is not original
            return x * 2

    profile(Probe(), torch.rand(2, 3))
    assert seen == {"function_mode": False, "wrapped": True}  # plain torch inside, SDPA wrapped
    assert F.scaled_dot_product_attention is original and torch._C._nn.scaled_dot_product_attention is original

    class Fails(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    with pytest.raises(Exception, match="boom"):
        profile(Fails(), torch.rand(2, 3))
    assert F.scaled_dot_product_attention is original  # restored after a failing forward too


def test_sdpa_from_another_thread_is_not_counted():
    import threading

    q = torch.rand(1, 1, 4, 8)

    class Spawns(nn.Module):
        def forward(self, x):
            worker = threading.Thread(target=lambda: F.scaled_dot_product_attention(q, q, q))
            worker.start()
            worker.join()
            return x

    t = profile(Spawns(), torch.rand(2, 3))
    assert t.totals["dense_macs"] == 0 and "scaled_dot_product_attention" not in t.by_operator()


def test_transformer_encoder_nested_path_switched_off_then_restored():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    encoder = nn.TransformerEncoder(layer, 1).eval()
    assert encoder.use_nested_tensor  # PyTorch's default: padded batches become nested tensors
    seen = []
    encoder.register_forward_pre_hook(lambda m, a: seen.append(m.use_nested_tensor))
    profile(encoder, torch.rand(2, 3, 8))
    assert seen == [False] and encoder.use_nested_tensor


def test_unwrapped_sdpa_counted_even_when_the_model_swallows_exceptions():
    # the model hides every exception of its attention (a "fallback" some code bases have); the
    # void first run is still detected and the profile made again: counts as in the test above
    sdpa = F.scaled_dot_product_attention

    class Swallows(nn.Module):
        def forward(self, q, k, v):
            try:
                return sdpa(q, k, v)
            except Exception:  # noqa: BLE001
                return v

    t = profile(Swallows(), _spiking_qkv(3), strict=True).totals
    assert (t["synops"], t["macs"], t["dense_macs"], t["elementwise_ops"]) == (4, 16, 28, 4)


def test_concurrent_profiles_each_count_their_own_attention_and_restore_torch():
    # two threads profile at once, each one SDPA call (4-D, fused): each profile holds its own call
    # only, dense 1*1*4*8*4 (Q.K^T, L=S=4, E=8) + 1*1*4*4*8 (A.V) = 128 + 128 = 256 per sample
    import threading

    original = torch._C._nn.scaled_dot_product_attention
    barrier = threading.Barrier(2)

    class Waits(nn.Module):
        def forward(self, q):
            barrier.wait(timeout=30)  # both profiles are inside their forward now
            out = F.scaled_dot_product_attention(q, q, q)
            barrier.wait(timeout=30)
            return out

    results = {}

    def work(key):
        results[key] = profile(Waits(), torch.rand(1, 1, 4, 8)).totals["dense_macs"]

    threads = [threading.Thread(target=work, args=(k,)) for k in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == {"a": 256, "b": 256}
    assert F.scaled_dot_product_attention is original and torch._C._nn.scaled_dot_product_attention is original


# -- ops counted after the forward, as they stood when they ran --------------------------------------
class _ReturnsItsInput(nn.Module):
    """A declared neuron whose spikes are its input tensor itself: that tensor holds events only from here on."""

    def forward(self, x):
        return x


class _ReadsThenBecomesSpikes(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.neuron = nn.Linear(3, 2, bias=False), _ReturnsItsInput()

    def forward(self, x):
        h = x * 0.5  # real-valued (a product with a real scalar), values 0/1
        before = self.fc(h)  # h is not an event tensor yet: MACs
        spikes = self.neuron(h)  # the same tensor, now the spikes of a neuron
        return before + self.fc(spikes)  # events: synops


@pytest.mark.parametrize("pending_bytes", [None, 0])  # held for after the forward / counted at once
def test_an_op_is_counted_with_the_provenance_its_operands_had_when_it_ran(pending_bytes, monkeypatch):
    # h = [1, 0, 1] (one sample): first fc 3 * 2 = 6 MACs (real operand when it ran); second fc 2 events
    # x 2 outputs = 4 synops, dense 6; the neuron: 3 updates, 2 spikes
    from ashbench.profiler import engine

    if pending_bytes is not None:
        monkeypatch.setattr(engine, "PENDING_BYTES", pending_bytes)
    t = profile(_ReadsThenBecomesSpikes(), torch.tensor([[2.0, 0.0, 2.0]]), strict=True,
                neuron_classes=(_ReturnsItsInput,)).totals
    assert (t["macs"], t["synops"], t["dense_macs"], t["spikes"], t["neuron_updates"]) == (6, 4, 12, 2, 3)


class _ConvThenClearsInput(nn.Module):
    """A conv reads the input spikes, then the model overwrites them in place: counted after the
    forward they would read as zeros; the version check makes the profile again counting at once."""

    def __init__(self, clear: bool):
        super().__init__()
        torch.manual_seed(0)
        self.conv, self.clear = nn.Conv2d(1, 2, 3, padding=1), clear

    def forward(self, x):
        out = self.conv(x)
        if self.clear:
            x.mul_(0)
        return out


def test_input_spikes_modified_in_place_after_the_conv_still_counted_as_read():
    # 1 x 1 x 3 x 3 input with spikes at a corner and the centre, conv 3x3 padding 1, 2 channels:
    # corner reaches 2x2 outputs x 2 channels = 8, centre 3x3 x 2 = 18 -> 26 synops
    def spikes():
        x = torch.zeros(1, 1, 3, 3)
        x[0, 0, 0, 0] = x[0, 0, 1, 1] = 1.0
        return x

    kept = profile(_ConvThenClearsInput(False), spikes()).totals
    cleared = profile(_ConvThenClearsInput(True), spikes()).totals
    assert kept["synops"] == cleared["synops"] == 26


class _ClearsItsInput(nn.Module):
    """A user-declared neuron that fires on inputs above 0.5 and then zeroes its input in place: its ops
    run with the counting mode off, so the change is only seen by the version check."""

    def __init__(self, clear: bool):
        super().__init__()
        self.clear = clear

    def forward(self, x):
        out = (x > 0.5).float()
        if self.clear:
            x.zero_()
        return out


class _ReadsThenNeuronClears(nn.Module):
    def __init__(self, clear: bool):
        super().__init__()
        torch.manual_seed(0)
        self.conv, self.neuron = nn.Conv2d(1, 2, 3, padding=1), _ClearsItsInput(clear)

    def forward(self, x):
        spikes = self.neuron(x + 0.0)  # a copy: the model's own input is left alone
        out = self.conv(spikes)
        self.neuron(spikes)  # zeroes the spikes the conv read, unseen by the counting mode
        return out


def test_a_change_unseen_by_the_counting_mode_makes_the_profile_again_exactly():
    # x holds 0.9 at a corner and the centre: the neuron fires there; conv 3x3 padding 1, 2 channels:
    # 2x2x2 + 3x3x2 = 26 synops, whether or not the second neuron call zeroes those spikes afterwards
    x = torch.zeros(1, 1, 3, 3)
    x[0, 0, 0, 0] = x[0, 0, 1, 1] = 0.9
    kept = profile(_ReadsThenNeuronClears(False), x.clone(), neuron_classes=(_ClearsItsInput,)).totals
    cleared = profile(_ReadsThenNeuronClears(True), x.clone(), neuron_classes=(_ClearsItsInput,)).totals
    assert kept["synops"] == cleared["synops"] == 26
    assert kept["spikes"] == cleared["spikes"] == 2 + 2  # two firings per neuron call, two calls


class _NeuronClearsModelInput(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv, self.neuron = nn.Conv2d(1, 2, 3, padding=1), _ClearsItsInput(True)

    def forward(self, x):
        out = self.conv(x)  # x holds 0/1 values: input spikes, read by a count held for later
        self.neuron(x)  # zeroes the model's own input, unseen: a second forward would read zeros
        return out


def test_a_second_forward_over_inputs_the_model_changed_is_refused():
    x = torch.zeros(1, 1, 3, 3)
    x[0, 0, 1, 1] = 1.0
    with pytest.raises(InputError, match="modified its input tensors in place"):
        profile(_NeuronClearsModelInput(), x, neuron_classes=(_ClearsItsInput,))


# -- parameter counts per module against module.parameters() (the oracle) ---------------------------
def _shared_structures():
    act = nn.Sigmoid()  # an empty leaf shared by every block (as a surrogate function is)
    tree = nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.Linear(4, 5), nn.ReLU()))
    empty_leaf = nn.Sequential(*[nn.Sequential(nn.Linear(4, 4), act) for _ in range(3)])
    inner = nn.Linear(4, 4)
    with_params = nn.Sequential(nn.Sequential(inner, nn.ReLU()), nn.Sequential(inner))  # 20 params, once
    twice = nn.Sequential()
    twice.add_module("a", inner)
    twice.add_module("b", inner)  # one module under two names of one parent
    tied_a, tied_b = nn.Linear(4, 4), nn.Linear(4, 4)
    tied_b.weight = tied_a.weight  # a shared parameter: 16 + 4 + 4 = 24, not 40
    tied = nn.Sequential(tied_a, tied_b)
    return {"tree": tree, "shared empty leaf": empty_leaf, "shared module with parameters": with_params,
            "one module twice in a parent": twice, "shared parameter": tied}


@pytest.mark.parametrize("name", list(_shared_structures()))
def test_subtree_params_equal_module_parameters(name):
    from ashbench.profiler.walk import subtree_params as _subtree_params

    model = _shared_structures()[name]
    modules = list(model.named_modules())
    counts = _subtree_params(modules)
    assert {n: counts[id(m)] for n, m in modules} == {n: sum(p.numel() for p in m.parameters()) for n, m in modules}


def test_the_forward_runs_without_gradients_and_the_grad_mode_is_restored_after_it():
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append(torch.is_grad_enabled())
            if x.sum() < 0:
                raise ValueError("negative input")
            return x

    assert torch.is_grad_enabled()
    profile(Probe(), torch.ones(1, 2))
    with pytest.raises(InputError):
        profile(Probe(), -torch.ones(1, 2))  # a forward that fails restores it too
    assert seen == [False, False] and torch.is_grad_enabled()
    with torch.no_grad():  # a caller's no_grad stays on
        profile(Probe(), torch.ones(1, 2))
        assert not torch.is_grad_enabled()


@pytest.mark.parametrize("lazy", [nn.LazyLinear(3), nn.LazyBatchNorm1d()])
def test_uninitialised_lazy_modules_are_refused_in_one_line_and_count_once_initialised(lazy):
    net = nn.Sequential(lazy)
    with pytest.raises(InputError, match="uninitialised lazy parameters"):
        profile(net, torch.randn(2, 4))
    net.eval()(torch.randn(2, 4))  # one forward gives them their shapes
    prof = profile(net, torch.randn(2, 4))
    # LazyLinear(3) on 4 features: 4 x 3 weights + 3 biases = 15 parameters, 4 x 3 = 12 MACs per sample;
    # LazyBatchNorm1d on 4 features: weight and bias, 4 each = 8 parameters, no MACs
    assert (prof.totals["params"], prof.totals["macs"]) == ((15, 12) if isinstance(lazy, nn.Linear) else (8, 0))


def test_parameters_of_a_module_the_forward_adds_are_counted():
    # the walk counts parameters before the forward; a forward that adds a module changes the module list,
    # and the counts are taken again: fc 2 x 2 + 2 = 6, late 2 x 3 + 3 = 9 -> 15 (the late module never ran)
    class Grows(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x):
            if not hasattr(self, "late"):
                self.late = nn.Linear(2, 3)
            return self.fc(x)

    assert profile(Grows(), torch.ones(1, 2)).totals["params"] == 15


def test_a_profile_leaves_no_hook_behind_in_torchs_global_tables():
    # RemovableHandle.remove() of a global forward hook registered with_kwargs=True leaves its flag in
    # torch's _global_forward_hooks_with_kwargs: 100 profiles left 100 entries before the engine dropped it
    from torch.nn.modules import module as torch_module

    tables = ("_global_forward_pre_hooks", "_global_forward_hooks", "_global_forward_hooks_with_kwargs",
              "_global_forward_hooks_always_called")
    before = {name: len(getattr(torch_module, name)) for name in tables}
    net = nn.Linear(4, 4)
    for _ in range(3):
        profile(net, torch.ones(1, 4))
    assert {name: len(getattr(torch_module, name)) for name in tables} == before
