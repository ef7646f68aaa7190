"""The spread of one profile's energy over several energy models (plain data; no torch import).

A claim such as "the hybrid saves 20%" depends on the energy model; the spread puts every
estimator side by side. ``energy_spread(energies)`` takes the entries ``estimate_energy`` returned
for one profile (the ``energy`` list of a report) and gives, per branch (``ann``, ``snn``,
``neuron``, ``memory``) and for the ``total``, the lowest and highest energy per sample over the
models and which models give them::

    {"models": ["45nm-fp32", "memory-aware"],
     "parts": {"ann": {"min_pj": 4600.0, "min_models": ["memory-aware"],
                       "max_pj": 9200.0, "max_models": ["45nm-fp32"], "max_over_min": 2.0},
               ..., "total": {...}}}

``min_models`` / ``max_models`` list every model that gives the extreme (ties keep the order in
which the models were priced); ``max_over_min`` is max / min, ``None`` when the minimum is 0. The
total's extremes are those of the models' totals, not the sum of the parts' extremes (the cheapest
ANN branch and the cheapest memory may come from different models).

``ALL_MODELS`` ("all") is the energy-model argument that stands for every built-in model;
``expand_energy_models`` replaces it by ``list_energy_models()`` (``ashbench energy -e all`` puts
its default, ``45nm-fp32``, first: the module table's energy column shows the first model).
"""

from __future__ import annotations

from ashbench.energy.models import PARTS, list_energy_models

ALL_MODELS = "all"
SPREAD_PARTS = (*PARTS, "total")


def expand_energy_models(names, lead=()) -> list[str]:
    """``names`` with ``"all"`` replaced, in place, by every built-in model (``list_energy_models()``,
    those of ``lead`` first, the rest by name); a name given twice is kept once, where it first
    appears (``["x.toml", "all", "45nm-fp32"]`` -> ``["x.toml", "45nm-fp16", "45nm-fp32", ...]``)."""
    builtins = list_energy_models()
    every = [m for m in lead if m in builtins] + [m for m in builtins if m not in lead]
    out: list[str] = []
    for name in names:
        for one in (every if name == ALL_MODELS else [name]):
            if one not in out:
                out.append(one)
    return out


def energy_spread(energies: list[dict]) -> dict:
    """Min and max energy per sample over ``energies`` (entries of ``estimate_energy``), per part
    of ``SPREAD_PARTS``, with the models that give them (see the module docstring)."""
    if not energies:
        raise ValueError("the energy spread needs at least one priced energy model")
    models = [e["model"] for e in energies]
    parts = {}
    for part in SPREAD_PARTS:
        values = [e["total_pj"] if part == "total" else e["breakdown_pj"][part] for e in energies]
        low, high = min(values), max(values)
        parts[part] = {"min_pj": low, "min_models": [m for m, v in zip(models, values) if v == low],
                       "max_pj": high, "max_models": [m for m, v in zip(models, values) if v == high],
                       "max_over_min": high / low if low > 0 else None}
    return {"models": models, "parts": parts}
