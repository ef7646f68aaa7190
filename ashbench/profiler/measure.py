"""``ashbench energy`` as one library call: resolve the workload, profile it, price it.

Returns the JSON report document (``ashbench.report.profile_report.report_dict``); prints nothing.
An energy model ``"all"`` stands for every built-in model; with two or more models priced the
document gains ``spread`` (``ashbench.energy.spread.energy_spread``).
"""

from __future__ import annotations

from ashbench.energy import estimate_energy, get_energy_model
from ashbench.energy.spread import energy_spread, expand_energy_models
from ashbench.models.factory import DEFAULT_MODEL, resolve_workload
from ashbench.profiler.engine import profile
from ashbench.profiler.fvcore_check import check_against_fvcore
from ashbench.profiler.inputs import normalise_layout
from ashbench.profiler.power import measure_energy, nvml_counter
from ashbench.profiler.spikes import parse_semantics
from ashbench.report.profile_report import report_dict

DEFAULT_ENERGY_MODELS = ("45nm-fp32",)


def energy_report(model: str | None = None, *, checkpoint=None, timesteps=None, batch_size=None,
                  energy_models=DEFAULT_ENERGY_MODELS, strict=False, spikes="auto", layout=None,
                  neuron_classes=(), check_fvcore: bool = False, inputs=None, input_rate=None,
                  measure: bool = False, counter=None) -> dict:
    """Profile a workload and price it under each energy model: the JSON report document.

    ``energy_models``: names or TOML paths; ``"all"`` is every built-in model, ``45nm-fp32`` first
    (with any others given; a model named twice is priced once). With two or more models the document gains
    ``spread``: per branch and in total, the min and max energy per sample over the models.

    ``inputs`` (a saved [T, B, ...] tensor) and ``input_rate`` (Poisson input spikes) apply to a
    NIR graph ``model='graph.nir'`` only (see ``ashbench.models.nir_graph``).

    With ``check_fvcore`` the document gains ``fvcore_check``: rows {family, ashbench, fvcore,
    equal} of dense counts over the whole batch (see ``ashbench.profiler.fvcore_check``).

    With ``measure`` the document gains ``measured``: the board energy per sample of repeated
    forwards on an NVIDIA GPU, idle power subtracted (``ashbench.profiler.power``; ``counter``
    replaces NVML's, e.g. in tests). Without such a device: DeviceError, before any model is built."""
    parse_semantics(spikes)  # bad options fail before any model is built
    if layout is not None:
        normalise_layout(layout)
    names = expand_energy_models(energy_models or DEFAULT_ENERGY_MODELS, lead=DEFAULT_ENERGY_MODELS)
    if measure and counter is None:
        counter = nvml_counter()
    priced = [get_energy_model(m) for m in names]
    workload = resolve_workload(model, batch_size=batch_size, timesteps=timesteps, checkpoint=checkpoint,
                                layout=layout, neuron_classes=neuron_classes, inputs=inputs,
                                input_rate=input_rate)
    prof = profile(workload.model, workload.inputs, layout=workload.layout, spikes=spikes, strict=strict,
                   name=model or DEFAULT_MODEL, neuron_classes=workload.neuron_classes)
    doc = prof.to_dict()
    doc["warnings"] = list(workload.warnings) + doc["warnings"]
    doc = report_dict(doc, [estimate_energy(doc, m) for m in priced])
    if len(priced) > 1:
        doc["spread"] = energy_spread(doc["energy"])
    if check_fvcore:
        doc["fvcore_check"] = check_against_fvcore(workload, doc)
    if measure:
        device = "cuda" if counter.device != "cpu" else "cpu"
        doc["measured"] = measure_energy(workload.model, workload.inputs, prof.batch_size, counter, device=device)
    return doc
