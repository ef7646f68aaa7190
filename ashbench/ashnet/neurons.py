"""Spiking neurons of the ASH-Nets semantic abstract encoder: one registry entry per type.

An entry is a function ``(model_cfg, v_threshold) -> nn.Module`` returning a multi-step
(``step_mode="m"``, input ``[T, B, ...]``) spiking neuron; ``model.neuron = "name"`` in a config
selects it. Built in: ``if``, ``lif`` (tau = ``model.tau``) and ``plif`` (learnable tau, initial
``model.tau``), all spikingjelly nodes with the configured surrogate gradient and a detached reset;
and ``relu``, not a spiking neuron: a ReLU in the same place, for the ANN twin of the spiking branch
(same topology and parameters, continuous activations; use it with ``model.timesteps=1``).
The profiler recognises any of them as neurons because they are spikingjelly ``BaseNode``s; a
neuron of another framework must also be known to the profiler (``ashbench.profiler.neurons``).
The spiking ones are the fused CPU subclasses of :mod:`ashbench.ashnet.fused_neurons` (same maths,
parameters and state as spikingjelly's nodes; ``fused_neurons.use_implementation(model,
"spikingjelly")`` switches a model back to the stock nodes).
"""

from __future__ import annotations

from ashbench.errors import ConfigError
from ashbench.registry import Registry

NEURONS: Registry = Registry("neuron", ConfigError)
SURROGATES = ("atan", "sigmoid", "piecewise_quadratic")


def _spikingjelly_kwargs(m, v_threshold: float) -> dict:
    from spikingjelly.activation_based import surrogate

    functions = {"atan": surrogate.ATan, "sigmoid": surrogate.Sigmoid,
                 "piecewise_quadratic": surrogate.PiecewiseQuadratic}
    return dict(v_threshold=v_threshold, surrogate_function=functions[m.surrogate](), detach_reset=True,
                step_mode="m")


@NEURONS.register("if")
def integrate_and_fire(m, v_threshold: float):
    from ashbench.ashnet import fused_neurons

    return fused_neurons.IFNode(**_spikingjelly_kwargs(m, v_threshold))


@NEURONS.register("lif")
def leaky_integrate_and_fire(m, v_threshold: float):
    from ashbench.ashnet import fused_neurons

    return fused_neurons.LIFNode(tau=m.tau, **_spikingjelly_kwargs(m, v_threshold))


@NEURONS.register("plif")
def parametric_lif(m, v_threshold: float):
    from ashbench.ashnet import fused_neurons

    return fused_neurons.ParametricLIFNode(init_tau=m.tau, **_spikingjelly_kwargs(m, v_threshold))


@NEURONS.register("relu")
def rectified_linear(m, v_threshold: float):
    """The ANN twin's activation: continuous, so the profiler counts its inputs' consumers as MACs."""
    from torch import nn

    return nn.ReLU()


def make_neuron(m, v_threshold: float | None = None):
    """The configured neuron (``m``: a ModelConfig) with ``v_threshold`` or the config's threshold."""
    return NEURONS.get(m.neuron)(m, v_threshold or m.v_threshold)
