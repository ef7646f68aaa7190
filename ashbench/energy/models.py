"""Energy models applied to a profile (plain data: ``Profile.to_dict()``); no torch import.

Compute-only models price operations:   E = E_MAC * macs + E_AC * synops (+ optional terms).
``45nm-*`` constants: Horowitz, "Computing's energy problem", ISSCC 2014 (45 nm CMOS):
fp32 MAC 4.6 pJ (mult 3.7 + add 0.9), AC 0.9 pJ; fp16 1.5 / 0.4 pJ; int8 0.23 / 0.03 pJ
(int8 mult 0.2 + add 0.03). These are the literature defaults for SNN-vs-ANN energy claims.

``memory-aware`` follows Lemaire et al., "An analytical estimation of spiking neural networks
energy efficiency", ICONIP 2022: operations (int32 add 0.1 pJ, mult 3.1 pJ), addressing, and
memory traffic priced per 64-bit access by the size of the SRAM buffer that holds the data
(<= 8 KiB: 10 pJ, <= 32 KiB: 20 pJ, larger (up to 1 MiB and beyond): 100 pJ). Its choices:
- ANN work: each MAC = mult + add; weights read once per op call (``weight_read_bytes``);
- SNN work: each synaptic event = one add (accumulate) + one add (address computation) + one
  weight read (bit_width bits) + one read and one write of the target accumulator;
- neuron update = mult (leak) + add (integrate) + membrane read and write;
- activations read and written densely as PyTorch stores them (``activation_*_bytes``);
- buffer size per layer: weights by the layer's parameter bytes, activations by the bytes it
  writes per sample and time step, membranes by neurons x bit_width. A synaptic layer (no
  neurons of its own) accumulates into a local buffer priced at the smallest tier.

Users add models from TOML (see ``load_energy_model_file``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from ashbench.errors import EnergyModelError
from ashbench.files import read_toml

MEMORY_TIERS_45NM = ((8 * 1024, 10.0), (32 * 1024, 20.0), (1024 * 1024, 100.0))


@dataclass(frozen=True)
class EnergyModel:
    """Per-operation energies in pJ. A zero ``neuron_update_pj``/``elementwise_pj`` means that
    quantity is not counted. ``kind`` is 'compute' or 'memory-aware'."""

    name: str
    mac_pj: float
    ac_pj: float
    bit_width: int = 32
    neuron_update_pj: float = 0.0
    elementwise_pj: float = 0.0
    kind: str = "compute"
    add_pj: float = 0.0
    mult_pj: float = 0.0
    memory_tiers: tuple = ()
    access_bits: int = 64
    source: str = ""
    description: str = ""


BUILTIN_MODELS = {
    m.name: m
    for m in (
        EnergyModel("45nm-fp32", 4.6, 0.9, 32, source="Horowitz, ISSCC 2014 (45 nm)",
                    description="fp32 MAC 4.6 pJ, AC 0.9 pJ"),
        EnergyModel("45nm-fp16", 1.5, 0.4, 16, source="Horowitz, ISSCC 2014 (45 nm)",
                    description="fp16 MAC 1.5 pJ, AC 0.4 pJ"),
        EnergyModel("45nm-int8", 0.23, 0.03, 8, source="Horowitz, ISSCC 2014 (45 nm)",
                    description="int8 MAC 0.23 pJ, AC 0.03 pJ"),
        EnergyModel("memory-aware", 3.2, 0.1, 32, kind="memory-aware", add_pj=0.1, mult_pj=3.1,
                     memory_tiers=MEMORY_TIERS_45NM, source="Lemaire et al., ICONIP 2022; Horowitz, ISSCC 2014",
                     description="int32 ops + addressing + SRAM traffic priced by buffer size"),
    )
}


def list_energy_models() -> list[str]:
    return sorted(BUILTIN_MODELS)


def get_energy_model(spec: str) -> EnergyModel:
    """A built-in model by name, or a user model from a path ending in '.toml'."""
    if spec in BUILTIN_MODELS:
        return BUILTIN_MODELS[spec]
    if spec.endswith(".toml"):
        return load_energy_model_file(spec)
    raise EnergyModelError(f"unknown energy model {spec!r}; valid: {', '.join(list_energy_models())} or a .toml file")


_NUMBER_KEYS = {"mac_pj", "ac_pj", "neuron_update_pj", "elementwise_pj", "add_pj", "mult_pj"}
_INT_KEYS = {"bit_width", "access_bits"}
_STR_KEYS = {"name", "kind", "source", "description"}


def load_energy_model_file(path: str) -> EnergyModel:
    """Read a user energy model. Keys: name, mac_pj, ac_pj (required); bit_width,
    neuron_update_pj, elementwise_pj, source, description; for kind = "memory-aware" also
    add_pj, mult_pj and ``memory = [[max_bytes, pj_per_access], ...]``."""
    return _model_from_dict(read_toml(path, EnergyModelError, "energy model"), path)


def _model_from_dict(data: dict, path: str) -> EnergyModel:
    known = {f.name for f in fields(EnergyModel)} - {"memory_tiers"} | {"memory"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise EnergyModelError(f"{path}: unknown key {unknown[0]!r}; valid keys: {', '.join(sorted(known))}")
    for key in ("name", "mac_pj", "ac_pj"):
        if key not in data:
            raise EnergyModelError(f"{path}: missing required key {key!r}")
    values = {k: _checked(k, v, path) for k, v in data.items() if k != "memory"}
    if values.get("kind", "compute") not in ("compute", "memory-aware"):
        raise EnergyModelError(f"{path}: kind must be 'compute' or 'memory-aware', got {values['kind']!r}")
    values["memory_tiers"] = _tiers(data.get("memory", []), path)
    return EnergyModel(**values)


def _checked(key: str, value, path: str):
    if key in _STR_KEYS and isinstance(value, str):
        return value
    if key in _INT_KEYS and isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if key in _NUMBER_KEYS and isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    raise EnergyModelError(f"{path}: invalid value for {key!r}: {value!r}")


def _tiers(rows, path: str) -> tuple:
    ok = isinstance(rows, list) and all(
        isinstance(r, list) and len(r) == 2 and all(isinstance(v, (int, float)) and v > 0 for v in r) for r in rows
    )
    if not ok:
        raise EnergyModelError(f"{path}: 'memory' must be a list of [max_bytes, pj_per_access] pairs")
    return tuple(sorted((int(a), float(b)) for a, b in rows))


@dataclass
class _Breakdown:
    ann: float = 0.0
    snn: float = 0.0
    neuron: float = 0.0
    memory: float = 0.0
    per_layer: dict = field(default_factory=dict)

    def total(self) -> float:
        return self.ann + self.snn + self.neuron + self.memory


def estimate_energy(prof: dict, model: EnergyModel | str) -> dict:
    """Energy per sample (pJ) of a profile dict, with a breakdown by branch and per layer.

    Returns ``{"model", "total_pj", "breakdown_pj": {"ann","snn","neuron","memory"},
    "per_layer_pj": {module: pJ}, "assumptions": {...}}``. Branch terms use the branch totals;
    per-layer terms use each module's own (self) counts, so they add up to the total."""
    model = get_energy_model(model) if isinstance(model, str) else model
    parts = _Breakdown()
    for row in prof["layers"]:
        parts.per_layer[row["module"]] = _layer_energy(row, model, parts)
    return {
        "model": model.name,
        "total_pj": parts.total(),
        "breakdown_pj": {"ann": parts.ann, "snn": parts.snn, "neuron": parts.neuron, "memory": parts.memory},
        "per_layer_pj": parts.per_layer,
        "assumptions": assumptions(model),
    }


def _layer_energy(row: dict, model: EnergyModel, parts: _Breakdown) -> float:
    own = row["self"]
    ann, snn, neuron = _compute_terms(own, row.get("self_branch_elementwise", {}), model)
    memory = _memory_terms(row, own, model) if model.kind == "memory-aware" else 0.0
    parts.ann += ann
    parts.snn += snn
    parts.neuron += neuron
    parts.memory += memory
    return ann + snn + neuron + memory


def _compute_terms(own: dict, elementwise_by_branch: dict, model: EnergyModel) -> tuple[float, float, float]:
    if model.kind == "memory-aware":
        ann = own["macs"] * (model.mult_pj + model.add_pj)
        snn = own["synops"] * 2 * model.add_pj  # accumulate + address computation
        neuron = own["neuron_updates"] * (model.mult_pj + model.add_pj)
    else:
        ann = own["macs"] * model.mac_pj
        snn = own["synops"] * model.ac_pj
        neuron = own["neuron_updates"] * model.neuron_update_pj
    ann += elementwise_by_branch.get("ann", 0) * model.elementwise_pj
    snn += elementwise_by_branch.get("snn", 0) * model.elementwise_pj
    return ann, snn, neuron


def access_pj(model: EnergyModel, buffer_bytes: float) -> float:
    """Energy of one ``access_bits`` access to the smallest buffer that holds ``buffer_bytes``."""
    for max_bytes, pj in model.memory_tiers:
        if buffer_bytes <= max_bytes:
            return pj
    return model.memory_tiers[-1][1] if model.memory_tiers else 0.0


def _memory_terms(row: dict, own: dict, model: EnergyModel) -> float:
    word = model.bit_width / model.access_bits  # accesses per weight/potential word
    steps = max(row.get("timesteps") or 1, 1)
    weight_bytes = row["params"] * model.bit_width / 8
    act_bytes = own["activation_write_bytes"] / steps
    membrane_bytes = row["neurons"] * model.bit_width / 8
    energy = own["synops"] * word * (access_pj(model, weight_bytes) + 2 * access_pj(model, membrane_bytes))
    dense_weight_bytes = own["weight_read_bytes"] if own["synops"] == 0 else 0
    energy += dense_weight_bytes * 8 / model.access_bits * access_pj(model, weight_bytes)
    energy += (own["activation_read_bytes"] + own["activation_write_bytes"]) * 8 / model.access_bits * access_pj(model, act_bytes)
    energy += (own["membrane_read_bytes"] + own["membrane_write_bytes"]) * 8 / model.access_bits * access_pj(model, membrane_bytes)
    return energy


def assumptions(model: EnergyModel) -> dict:
    """What the estimate assumes, stated in every report."""
    return {
        "description": model.description,
        "source": model.source,
        "bit_width": model.bit_width,
        "first_layer_on_real_input": "counted as MACs (real-valued input)",
        "mac_pj": model.mult_pj + model.add_pj if model.kind == "memory-aware" else model.mac_pj,
        "ac_pj": model.add_pj if model.kind == "memory-aware" else model.ac_pj,
        "neuron_updates": _priced(model.mult_pj + model.add_pj if model.kind == "memory-aware" else model.neuron_update_pj),
        "elementwise_ops": _priced(model.elementwise_pj),
        "memory": "priced per 64-bit SRAM access by buffer size" if model.kind == "memory-aware" else "not counted",
    }


def _priced(pj: float) -> str:
    return f"counted at {pj:g} pJ each" if pj else "not counted"
