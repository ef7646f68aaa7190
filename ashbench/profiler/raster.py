"""Capturing a spike raster: which sample neurons of one spiking layer fired at which time step
for one input (forward hooks on the neuron module; runs under torch.no_grad())."""

from __future__ import annotations

import torch

from ashbench.errors import InputError
from ashbench.profiler.engine import reset_state
from ashbench.profiler.neurons import framework_of, neuron_types


def neuron_layers(model, neuron_classes=()) -> list[str]:
    classes = neuron_types() + tuple(neuron_classes)
    return [name for name, m in model.named_modules() if isinstance(m, classes)]


def capture_raster(model, inputs: tuple, *, layer: str | None = None, n_neurons: int = 32, sample: int = 0,
                   neuron_classes=()) -> dict:
    """Spikes of ``n_neurons`` evenly spaced neurons of ``layer`` (default: the first spiking
    layer) for batch element ``sample``: {'layer', 'times', 'neurons', 'n_neurons', 'timesteps'}."""
    layers = neuron_layers(model, neuron_classes)
    if not layers:
        raise InputError("the model has no spiking-neuron layers to draw a raster of")
    name = layer or layers[0]
    if name not in layers:
        raise InputError(f"unknown spiking layer {name!r}; spiking layers: {', '.join(layers)}")
    steps: list[torch.Tensor] = []
    module = dict(model.named_modules())[name]
    framework = framework_of(module, tuple(neuron_classes))
    handle = module.register_forward_hook(lambda m, a, out: steps.extend(_per_step(framework, m, out, sample)))
    try:
        reset_state(model)
        with torch.no_grad():
            model(*inputs)
    finally:
        handle.remove()
        reset_state(model)
    return _raster(name, torch.stack(steps), n_neurons)


def _per_step(framework, module, out, sample: int) -> list[torch.Tensor]:
    """The spikes of batch element ``sample`` per time step of one call, as the neuron's framework
    reads its output (a tuple's first element; time on its own axis or one step per call)."""
    spikes = framework.spikes(out)
    axis = framework.time_axis(module)
    if axis is None:
        return [spikes[sample].flatten().cpu()]
    per_time = spikes.movedim(axis, 0)  # [T, B, ...] whether time was on axis 0 or 1
    return [per_time[t, sample].flatten().cpu() for t in range(per_time.shape[0])]


def _raster(name: str, spikes: torch.Tensor, n_neurons: int) -> dict:
    """Evenly spaced picks among the neurons that fired at least once (topped up with silent
    ones when fewer fired), so a sparse layer does not give an empty picture."""
    active = spikes.ne(0).any(0).nonzero().flatten()
    silent = spikes.eq(0).all(0).nonzero().flatten()
    count = min(n_neurons, spikes.shape[1])
    take = min(count, active.numel())
    picks = torch.cat([active[torch.linspace(0, active.numel() - 1, take).round().long()] if take else active[:0],
                       silent[: count - take]]).sort().values
    chosen = spikes[:, picks]
    times, neurons = chosen.nonzero(as_tuple=True)
    return {"layer": name, "times": times.tolist(), "neurons": neurons.tolist(), "n_neurons": count,
            "timesteps": int(spikes.shape[0]), "neuron_index": picks.tolist()}
