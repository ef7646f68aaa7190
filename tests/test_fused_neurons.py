"""Oracle: the fused multi-step IF/LIF/PLIF neurons (ashbench.ashnet.fused_neurons) equal the stock
spikingjelly nodes: spikes, membrane state, and gradients w.r.t. the input and PLIF's ``w``.

Hand case (LIF, tau = 2, threshold 1, hard reset to 0, v0 = 0, inputs x = [1.5, 0.2, 1.8]):
    t0: h = 0 + (1.5 - 0) / 2 = 0.75   < 1 -> spike 0, v = 0.75
    t1: h = 0.75 + (0.2 - 0.75) / 2 = 0.475 < 1 -> spike 0, v = 0.475
    t2: h = 0.475 + (1.8 - 0.475) / 2 = 1.1375 >= 1 -> spike 1, v = 0
With the ATan surrogate (alpha 2: sg(u) = 1 / (1 + (pi u)^2)) and dL/ds = [0, 0, 1], detached reset:
    dL/dh2 = sg(0.1375) = 1 / (1 + (0.1375 pi)^2); dL/dx2 = dL/dh2 / 2;
    dL/dh1 = sg(-0.525) + (1 - 1/2) dL/dh2 * (1 - s1), dL/dx1 = dL/dh1 / 2; likewise t0.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
from spikingjelly.activation_based import functional, neuron, surrogate

from ashbench.ashnet import fused_neurons

SURROGATES = {"atan": surrogate.ATan, "sigmoid": surrogate.Sigmoid, "piecewise_quadratic": surrogate.PiecewiseQuadratic}


def _pair(kind: str, surrogate_name: str, threshold: float = 1.0):
    kwargs = dict(v_threshold=threshold, surrogate_function=SURROGATES[surrogate_name](), detach_reset=True,
                  step_mode="m")
    stock = {"if": lambda: neuron.IFNode(**kwargs), "lif": lambda: neuron.LIFNode(tau=2.0, **kwargs),
             "plif": lambda: neuron.ParametricLIFNode(init_tau=2.0, **kwargs)}[kind]()
    if kind == "plif":
        with torch.no_grad():
            stock.w.fill_(0.3)  # tau = 1 / sigmoid(0.3): not the initial 2
    fast = fused_neurons.use_implementation(copy.deepcopy(stock), "fused")
    assert type(fast) is not type(stock) and isinstance(fast, type(stock))
    return stock, fast


def _run(node, x, gs, gv):
    functional.reset_net(node)
    x = x.clone().requires_grad_(True)
    out = node(x)
    v = node.v
    (out * gs).sum().add((v * gv).sum()).backward()
    w_grad = node.w.grad.clone() if getattr(node, "w", None) is not None else None
    return out.detach(), v.detach(), x.grad, w_grad


@pytest.mark.parametrize("T", [1, 4])
@pytest.mark.parametrize("surrogate_name", sorted(SURROGATES))
@pytest.mark.parametrize("kind", ["if", "lif", "plif"])
def test_fused_equals_spikingjelly(kind, surrogate_name, T):
    torch.manual_seed(7)
    stock, fast = _pair(kind, surrogate_name, threshold=0.8)
    x = torch.randn(T, 5, 3, 16) * 1.5
    gs, gv = torch.randn_like(x), torch.randn_like(x[0])
    s_ref, v_ref, gx_ref, gw_ref = _run(stock, x, gs, gv)
    s_new, v_new, gx_new, gw_new = _run(fast, x, gs, gv)
    assert 0 < s_ref.mean() < 1  # both branches of the spike function are exercised
    assert torch.equal(s_new, s_ref) and torch.equal(v_new, v_ref)
    torch.testing.assert_close(gx_new, gx_ref, rtol=1e-6, atol=1e-7)
    if kind == "plif":
        torch.testing.assert_close(gw_new, gw_ref, rtol=1e-5, atol=1e-6)


def test_fused_without_state_gradient_and_across_two_calls():
    """Only the spikes feed the loss (the model's case: no gradient reaches v), and a second
    forward without reset continues from the first one's membrane state."""
    torch.manual_seed(3)
    stock, fast = _pair("lif", "atan")
    x1, x2 = torch.randn(4, 8, 32), torch.randn(4, 8, 32)
    outs = []
    for node in (stock, fast):
        functional.reset_net(node)
        a = x1.clone().requires_grad_(True)
        y = node(a) * 2 + node(x2)
        y.sum().backward()
        outs.append((y.detach(), node.v.detach(), a.grad))
    for ref, new in zip(*outs):
        torch.testing.assert_close(new, ref, rtol=1e-6, atol=1e-7)


def test_hand_case_lif():
    _, fast = _pair("lif", "atan")
    x = torch.tensor([[1.5], [0.2], [1.8]], requires_grad=True)
    s = fast(x)
    assert s.flatten().tolist() == [0.0, 0.0, 1.0] and fast.v.item() == 0.0
    (s.flatten() * torch.tensor([0.0, 0.0, 1.0])).sum().backward()
    sg = lambda u: 1 / (1 + (math.pi * u) ** 2)  # noqa: E731  (ATan, alpha 2)
    gh2 = sg(1.1375 - 1)
    gh1 = sg(0.475 - 1) * 0 + 0.5 * gh2
    gh0 = 0.5 * gh1
    torch.testing.assert_close(x.grad.flatten(), torch.tensor([gh0 / 2, gh1 / 2, gh2 / 2]))


def test_fallback_and_switch_back():
    """Soft reset (not fused) runs the stock forward; use_implementation round-trips the classes and
    keeps PLIF's state_dict keys."""
    node = fused_neurons.LIFNode(tau=2.0, v_reset=None, step_mode="m")
    assert not node._fusable(torch.zeros(2, 3))
    assert node(torch.full((2, 3), 2.5)).tolist() == [[1.0] * 3, [1.0] * 3]  # h 1.25, then 0.25 + 1.125
    torch.testing.assert_close(node.v, torch.full((3,), 0.375))  # soft reset: 1.375 - 1
    plif = fused_neurons.ParametricLIFNode(init_tau=2.0, detach_reset=True, step_mode="m")
    keys = set(plif.state_dict())
    fused_neurons.use_implementation(plif, "spikingjelly")
    assert type(plif) is neuron.ParametricLIFNode and set(plif.state_dict()) == keys == {"w"}
    with pytest.raises(ValueError, match="unknown neuron implementation"):
        fused_neurons.use_implementation(plif, "cuda")
