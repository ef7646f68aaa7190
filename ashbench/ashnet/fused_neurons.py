"""Fused multi-step IF / LIF / PLIF neurons for CPU training: the same maths as spikingjelly's, faster.

On CPU, spikingjelly 2.0 runs a multi-step neuron (``sj_lif::forward`` etc.) as its Torch reference
under autograd: per time step a handful of elementwise ops, each recorded in the autograd graph,
and the surrogate spike as one more autograd Function per step. Here one
``torch.autograd.Function`` runs the T-step recurrence with a single Python loop over T on whole
tensors, without building a graph, and its backward runs the reverse recurrence by hand with the
same surrogate gradient (spikingjelly's own ``_surrogate_gradient`` for the configured ATan /
Sigmoid / PiecewiseQuadratic / ... and alpha). The forward repeats spikingjelly's float
operations in the same order (identical spikes and membrane potentials); gradients equal
autograd's up to float summation order (PLIF's ``w``) or exactly (inputs of IF and LIF).

The classes subclass spikingjelly's ``IFNode``, ``LIFNode`` and ``ParametricLIFNode`` under the
same names and only override ``multi_step_forward``: same constructor, parameters (PLIF's ``w``),
state (``v``, reset by ``functional.reset_net``), state_dict keys, and the profiler still counts
them as spikingjelly ``BaseNode`` neurons. Whatever the fused path does not cover (soft reset, no
detached reset, ``decay_input=False``, ``store_v_seq``, precision settings, non-float32 inputs, a
non-CPU device, a surrogate spikingjelly does not register) falls back to the stock forward.
:func:`use_implementation` switches a built model between the two in place (for before/after
benchmarks and oracle tests).
"""

from __future__ import annotations

import torch
from spikingjelly.activation_based import neuron

IMPLEMENTATIONS = ("fused", "spikingjelly")
_IF, _LIF, _PLIF = 0, 1, 2


def _surrogate_spec(function):
    from spikingjelly._ops.surrogate import _surrogate_spec as spec

    return spec(function)


class _MultiStep(torch.autograd.Function):
    """(x [T, ...], v0 [...], w) -> (spikes [T, ...], v_T); hard reset to ``reset``, detached reset."""

    @staticmethod
    def forward(ctx, x, v0, w, kind, tau, threshold, reset, surrogate_id, alpha):
        q = None if kind != _PLIF else w.detach().float().sigmoid()
        h_seq = torch.empty_like(x, memory_format=torch.contiguous_format)
        spikes = torch.empty_like(h_seq)
        v = v0
        for t in range(x.shape[0]):
            h = h_seq[t]
            if kind == _IF:  # h = v + x
                torch.add(v, x[t], out=h)
            else:  # h = v + (x - (v - reset)) / tau  (PLIF: * sigmoid(w)), in spikingjelly's order
                torch.sub(x[t], v if reset == 0.0 else v - reset, out=h)
                h.div_(tau) if kind == _LIF else h.mul_(q)
                h.add_(v)
            torch.ge(h, threshold, out=spikes[t])
            v = h.masked_fill(spikes[t].bool(), reset)  # = spike * reset + (1 - spike) * h
        ctx.kind, ctx.tau, ctx.threshold, ctx.reset = kind, tau, threshold, reset
        ctx.surrogate_id, ctx.alpha = surrogate_id, alpha
        ctx.save_for_backward(h_seq, *((x, v0, q) if kind == _PLIF else ()))
        ctx.set_materialize_grads(False)
        return spikes, v

    @staticmethod
    def backward(ctx, g_spikes, g_v):
        from spikingjelly._ops.surrogate import _surrogate_gradient

        h_seq, *plif = ctx.saved_tensors
        kind, tau, threshold = ctx.kind, ctx.tau, ctx.threshold
        q = plif[2] if kind == _PLIF else None
        # dL/dh_t = dL/ds_t * sg(h_t - thr) + dL/dv_t * (1 - s_t); dL/dv_{t-1} = dL/dh_t * dh_t/dv_{t-1};
        # step by step: tensors of one step stay in cache and no [T, ...] temporaries are allocated
        gh = torch.empty_like(h_seq)
        gx = gh if kind == _IF else torch.empty_like(h_seq)
        carry = g_v
        for t in range(h_seq.shape[0] - 1, -1, -1):
            h = h_seq[t]
            if g_spikes is None:
                gh[t] = 0.0
            else:
                torch.mul(g_spikes[t], _surrogate_gradient(h - threshold, ctx.alpha, ctx.surrogate_id), out=gh[t])
            if carry is not None:
                gh[t].add_(carry.masked_fill(h >= threshold, 0.0))
            if kind == _IF:
                carry = gh[t]
            else:  # dh/dx = 1/tau (q); dh/dv = 1 - 1/tau (1 - q), as autograd's gh + (-gh/tau)
                torch.div(gh[t], tau, out=gx[t]) if kind == _LIF else torch.mul(gh[t], q, out=gx[t])
                carry = gh[t] - gx[t]
        g_w = None
        if kind == _PLIF and ctx.needs_input_grad[2]:
            x, v0, q = plif
            before = h_seq[:-1].masked_fill(h_seq[:-1] >= threshold, ctx.reset)  # v_{t-1} for t >= 1
            v_prev = torch.cat([v0.unsqueeze(0), before])
            g_q = (gh * (x - (v_prev if ctx.reset == 0.0 else v_prev - ctx.reset))).sum()
            g_w = torch.ops.aten.sigmoid_backward(g_q, q).to(plif[2].dtype)
        g_v0 = carry if ctx.needs_input_grad[1] else None
        return (gx if ctx.needs_input_grad[0] else None), g_v0, g_w, None, None, None, None, None, None


class _FusedMultiStep:
    """Mixin: the fused multi-step forward where it applies, the parent's forward elsewhere."""

    _kind = _LIF

    def _fusable(self, x_seq: torch.Tensor) -> bool:
        return (x_seq.device.type == "cpu" and x_seq.dtype == torch.float32 and x_seq.dim() >= 2
                and x_seq.shape[0] > 0 and self.detach_reset and self.v_reset is not None
                and not self.store_v_seq and self._neuron_precision is None
                and getattr(self, "decay_input", True) and _surrogate_spec(self.surrogate_function) is not None
                and (self._kind != _LIF or self.tau > 1.0)
                and (self._kind != _PLIF or (self.w.dim() == 0 and self.w.dtype == torch.float32)))

    def multi_step_forward(self, x_seq: torch.Tensor, *args, **kwargs):
        if args or kwargs or not self._fusable(x_seq):
            return super().multi_step_forward(x_seq, *args, **kwargs)
        v0 = self.materialize_states((x_seq,), tuple(self._memories.values()), "m")[0]
        if v0.dtype != torch.float32:
            return super().multi_step_forward(x_seq, *args, **kwargs)
        surrogate_id, alpha = _surrogate_spec(self.surrogate_function)
        spikes, v = _MultiStep.apply(x_seq, v0, self.w if self._kind == _PLIF else None, self._kind,
                                     float(getattr(self, "tau", 2.0)), float(self.v_threshold),
                                     float(self.v_reset), surrogate_id, alpha)
        self._memories["v"] = v
        self.v_seq = None
        return spikes


class IFNode(_FusedMultiStep, neuron.IFNode):
    _kind = _IF


class LIFNode(_FusedMultiStep, neuron.LIFNode):
    _kind = _LIF


class ParametricLIFNode(_FusedMultiStep, neuron.ParametricLIFNode):
    _kind = _PLIF


_PAIRS = ((IFNode, neuron.IFNode), (LIFNode, neuron.LIFNode), (ParametricLIFNode, neuron.ParametricLIFNode))


def use_implementation(module: torch.nn.Module, implementation: str) -> torch.nn.Module:
    """Switch every IF/LIF/PLIF node of ``module`` in place to the ``"fused"`` classes or back to the
    stock ``"spikingjelly"`` ones (same state: the fused classes add none); returns ``module``."""
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"unknown neuron implementation {implementation!r}; valid: {', '.join(IMPLEMENTATIONS)}")
    for sub in module.modules():
        for fused, stock in _PAIRS:
            if type(sub) in (fused, stock):
                sub.__class__ = fused if implementation == "fused" else stock
    return module
