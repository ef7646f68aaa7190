"""Events by provenance, weights by identity: exact counts on hand-made nets whose arithmetic is
written out, and repeated profiles that are bit-identical."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from ashbench.profiler import profile


class Step(nn.Module):
    """A stateless spiking 'neuron' (declared with neuron_classes): spike where the input >= 0.5."""

    def forward(self, x):
        return (x >= 0.5).float()


def _events_through_conv(events: torch.Tensor, conv: nn.Conv2d) -> int:
    """Independent synop count: every input event times the outputs it reaches = the sum of the
    event tensor convolved with an all-ones kernel of the conv's shape (same stride/padding)."""
    ones = torch.ones_like(conv.weight)
    return int(F.conv2d(events, ones, stride=conv.stride, padding=conv.padding, groups=conv.groups).sum())


class SEWBlock(nn.Module):
    """SEW-ResNet ADD: s = sn(conv1(x)); out = s + x (spike counts 0..2), then conv2(out)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 2, 3, padding=1, bias=False)
        self.sn = Step()
        self.conv2 = nn.Conv2d(2, 3, 3, padding=1, bias=False)
        nn.init.constant_(self.conv1.weight, 0.2)
        nn.init.constant_(self.conv2.weight, 0.1)

    def forward(self, x):
        return self.conv2(self.sn(self.conv1(x)) + x)


def _spike_input() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return (torch.rand(1, 2, 5, 5, generator=g) > 0.6).float()


def test_a_sew_sum_of_spikes_carries_event_counts_by_default():
    block, x = SEWBlock(), _spike_input()
    with torch.no_grad():
        residual = block.sn(block.conv1(x)) + x
    assert residual.max() == 2  # the sum does reach 2: two events on one input
    expected = _events_through_conv(residual, block.conv2)
    # conv1 sees input spikes (events by the input rule), conv2 the SEW sum (events by provenance)
    synops = profile(block, x, neuron_classes=(Step,)).totals["synops"]
    assert synops == _events_through_conv(x, block.conv1) + expected
    # declared binary spikes: a sum of 2 is no spike, conv2 is dense ANN work (3*2*9*25 = 1350 MACs)
    binary = profile(block, x, spikes="binary", neuron_classes=(Step,)).totals
    assert (binary["synops"], binary["macs"]) == (_events_through_conv(x, block.conv1), 3 * 2 * 9 * 25)


class Attention(nn.Module):
    """Spiking self-attention: q, k, v spikes; scores = q k^T (products of events: not events);
    out = scores v."""

    def __init__(self):
        super().__init__()
        self.q, self.k, self.v = Step(), Step(), Step()

    def forward(self, x):
        q, k, v = self.q(x), self.k(x.flip(-1)), self.v(x * 2)
        return (q @ k.transpose(-2, -1)) @ v


def test_attention_scores_are_products_not_events():
    x = torch.tensor([[[0.9, 0.6, 0.1], [0.7, 0.2, 0.8]]])  # [B=1, L=2, E=3]
    q, k, v = (x >= 0.5).float(), (x.flip(-1) >= 0.5).float(), (x * 2 >= 0.5).float()
    scores = q @ k.transpose(-2, -1)
    assert scores.max() > 1  # integer-valued (2): a value scan under multi:N would take it for events
    # q k^T: co-active pairs = sum_e (events of q in column e) * (events of k in column e)
    pairs = int((q.sum(-2) * k.sum(-2)).sum())
    # scores @ v with real scores: each event of v[s, e] meets the L = 2 rows of scores
    av = int(v.sum()) * 2
    for spikes in ("auto", "multi:8"):
        t = profile(Attention(), x, spikes=spikes, neuron_classes=(Step,)).totals
        assert (t["synops"], t["macs"]) == (pairs + av, 0), spikes


class TimeLoop(nn.Module):
    """The same SEW block run step by step over T (single-step) or on [T, B, ...] folded."""

    def __init__(self, multi_step: bool):
        super().__init__()
        self.block, self.multi_step = SEWBlock(), multi_step

    def forward(self, x_seq):
        if self.multi_step:
            out = self.block(x_seq.flatten(0, 1))
            return out.view(*x_seq.shape[:2], *out.shape[1:])
        return torch.stack([self.block(x) for x in x_seq])


def test_single_step_equals_multi_step():
    x_seq = torch.stack([_spike_input(), _spike_input().flip(-1), _spike_input().flip(-2)])  # T = 3
    single = profile(TimeLoop(False), x_seq, layout="TB", neuron_classes=(Step,)).totals
    multi = profile(TimeLoop(True), x_seq, layout="TB", neuron_classes=(Step,)).totals
    assert single["synops"] == multi["synops"] > 0 and single["macs"] == multi["macs"] == 0


class ReplacesItsBuffer(nn.Module):
    """Like snnTorch's neurons: a registered buffer replaced by a new tensor on every call."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(16, 16)
        self.register_buffer("mem", torch.zeros(1))

    def forward(self, x):
        for _ in range(4):
            self.mem = torch.zeros(x.shape[0], 16)  # the old buffer is freed; its address reused
            x = self.lin(x + self.mem)
        return x


def test_repeated_profiles_are_identical_when_a_buffer_is_replaced():
    model, x = ReplacesItsBuffer(), torch.rand(2, 16)
    docs = [profile(model, x).to_dict() for _ in range(8)]
    # 4 calls of Linear(16, 16) on real input: 4 * 16 * 16 = 1024 MACs per sample, no synops
    assert docs[0]["totals"]["macs"] == 1024 and docs[0]["totals"]["synops"] == 0
    assert all(d == docs[0] for d in docs[1:])


class Thresholds(nn.Module):
    """Spikes made by a plain comparison, with no neuron module the profiler knows."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 2)

    def forward(self, x):
        return self.b((self.a(x) > 0).float())


def test_spike_like_activations_without_a_recognised_neuron_are_warned_about():
    prof = profile(Thresholds(), torch.randn(3, 4))
    assert prof.totals["synops"] == 0  # counted as MACs, as the warning says
    assert len(prof.warnings) == 1 and prof.warnings[0].startswith("no recognised spiking neuron ran")
    assert profile(Thresholds(), torch.randn(3, 4), neuron_classes=(Step,)).warnings == prof.warnings


class Gate(nn.Module):
    """Spike-driven gating: q * k (an AND of spikes) feeds a Linear; q @ k^T would not be events."""

    def __init__(self):
        super().__init__()
        self.q, self.k, self.lin = Step(), Step(), nn.Linear(3, 2)

    def forward(self, x):
        return self.lin(self.q(x) * self.k(x.flip(-1)))


def test_an_elementwise_product_of_spikes_holds_events():
    x = torch.tensor([[0.9, 0.6, 0.1], [0.7, 0.2, 0.8]])
    # q = [[1,1,0],[1,0,1]], k = flip -> [[0.1,0.6,0.9] -> 0,1,1], [[0.8,0.2,0.7] -> 1,0,1]]
    # q * k = [[0,1,0],[1,0,1]]: 3 events x 2 outputs = 6 synops over 2 samples = 3 per sample
    t = profile(Gate(), x, neuron_classes=(Step,)).totals
    assert (t["synops"], t["macs"]) == (3, 0)


class Silent(nn.Module):
    """A declared 'neuron' that returns no tensor."""

    def forward(self, x):
        return {"spikes": (x >= 0.5).float()}


class UsesSilent(nn.Module):
    def __init__(self):
        super().__init__()
        self.sn = Silent()

    def forward(self, x):
        return self.sn(x)["spikes"].sum()


def test_a_declared_neuron_that_returns_no_tensor_is_warned_about():
    prof = profile(UsesSilent(), torch.rand(2, 4), neuron_classes=(Silent,))
    assert prof.warnings == ["neuron 'sn' (Silent) returned no spike tensor; it is not counted"]
    assert prof.totals["neuron_updates"] == 0


# -- the first element read by the value checks: from memory on dense CPU tensors, the oracle is indexing --
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64, torch.int32, torch.int16,
                                   torch.int8, torch.uint8, torch.float16, torch.bfloat16, torch.bool])
def test_first_element_equals_indexing_on_every_layout(dtype):
    from ashbench.profiler.spikes import first_element

    torch.manual_seed(0)
    base = (torch.randn(4, 5, 6) * 50).to(dtype)
    views = [base, base[1:], base[:, 2:, 3:], base.transpose(0, 2), base[..., ::2][1:], base.permute(2, 0, 1)[3],
             base.reshape(-1)[7:], base[2, 3, 4], base.expand(2, 4, 5, 6)[1]]
    if dtype.is_floating_point:
        views.append(torch._neg_view(base[1:]))  # a negated view: its memory holds -x
    for v in views:
        assert first_element(v) == v[(0,) * v.dim()].item()


def test_a_weakref_to_a_storage_lives_exactly_as_long_as_the_storage():
    # tracking.py keys event marks by storage address and holds a weakref to the storage's Python object;
    # PyTorch keeps that object alive while the storage lives (PyObject preservation), so the weakref dies
    # with the storage, not with the wrapper object untyped_storage() returned
    import gc
    import weakref

    t = torch.rand(8)
    ref = weakref.ref(t.untyped_storage())  # no Python reference to the storage object is left
    gc.collect()
    view = t[2:]
    del t
    gc.collect()
    assert ref() is not None  # a view still holds the storage
    del view
    gc.collect()
    assert ref() is None


def test_a_mark_dies_with_its_storage_even_when_the_address_is_reused():
    from ashbench.profiler.spikes import BINARY
    from ashbench.profiler.tracking import SpikeTracker

    tracker = SpikeTracker(BINARY, [])
    spikes = torch.ones(1024)
    tracker.mark(spikes)
    assert tracker.known_spike(spikes)
    address = spikes.untyped_storage().data_ptr()
    del spikes
    found = None
    for _ in range(64):  # the allocator hands the freed block out again (same size, same version 0)
        candidate = torch.zeros(1024)
        if candidate.untyped_storage().data_ptr() == address:
            found = candidate
            break
        del candidate
    if found is None:
        pytest.skip("the allocator did not reuse the address")
    assert found._version == 0 and not tracker.known_spike(found)  # a new storage there is no event
