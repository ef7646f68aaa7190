"""Energy models applied to a profile (plain data: ``Profile.to_dict()``); no torch import.

An energy model is an instance of one *kind* (an entry of ``ENERGY_KINDS``): a small dataclass
that declares its fields (validated by :mod:`ashbench.schema`) and prices one layer row of a
profile with ``price(row) -> {"ann", "snn", "neuron", "memory"}`` in pJ. Per layer, ``macs``,
``synops``, ``neuron_updates`` and ``elementwise_ops`` are the module's own (self) counts;
elementwise ops are split by branch (``self_branch_elementwise``).

``compute`` prices operations only:
    ann = mac_pj * macs + elementwise_pj * ann elementwise ops
    snn = ac_pj * synops + elementwise_pj * snn elementwise ops
    neuron = neuron_update_pj * neuron_updates;  memory = 0
A zero ``neuron_update_pj``/``elementwise_pj`` means that quantity is not counted.

``memory-aware`` follows Lemaire et al., "An analytical estimation of spiking neural networks
energy efficiency", ICONIP 2022: operations (``add_pj``, ``mult_pj``), addressing, and memory
traffic priced per ``access_bits`` access by the size of the SRAM buffer that holds the data
(``memory`` tiers: the smallest tier that holds the buffer; larger buffers take the last tier):
    ann = (mult_pj + add_pj) * macs            (each MAC = mult + add)
    snn = 2 * add_pj * synops                  (accumulate + address computation)
    neuron = (mult_pj + add_pj) * neuron_updates   (leak mult + integrate add)
    (+ elementwise_pj * elementwise ops per branch, as for ``compute``)
    memory = synops * w * (E(weights) + 2 * E(membranes))       (event-driven: per synaptic event
                 one weight read and a read + write of the target accumulator; w = bit_width / access_bits)
           + dense weight_read_bytes * 8 / access_bits * E(weights)   (layers with no synops)
           + activation read + write bytes * 8 / access_bits * E(activations)
           + membrane read + write bytes * 8 / access_bits * E(membranes)
where E(x) is the per-access energy of the buffer holding x: weights by the layer's parameter
bytes (params * bit_width / 8), activations by the bytes it writes per sample and time step,
membranes by neurons * bit_width / 8. A synaptic layer (no neurons of its own) accumulates into a
local buffer priced at the smallest tier.

``neuromorphic`` prices a network mapped onto a neuromorphic chip, from the chip's published
figures, and says where each figure comes from:
    snn = sop_pj * synops                     (per synaptic operation)
    neuron = active_pj * active + inactive_pj * (neuron_updates - active) + spike_pj * spikes
    ann = mac_pj * macs                       (the hybrid's ANN branch does not run on the chip:
                                               ``mac_source`` names the processor it runs on)
    (+ elementwise_pj * elementwise ops per branch, as for ``compute``);  memory = 0
``neuron_update_pj`` is one figure for every update, or ``{active = pJ, inactive = pJ}`` when the
chip publishes both. The profiler does not record which updates were "active", so ashbench counts
an update as active when the neuron spikes at that step: active = min(spikes, neuron_updates), an
approximation (a neuron that integrates input without spiking is priced as inactive; a graded or
multi-spike step counts once). Its provenance is required and stated in every report: ``source``
(citation), ``process`` ("14 nm"), ``figure`` ("measured on silicon" or "simulated
(pre-silicon)"), ``operating_point`` ("0.75 V") and ``caveat`` (what the figure is and is not).
``mac_pj`` and ``mac_source`` are required too: no default, because a host's MAC energy taken
silently from another process node would be an unstated assumption; the built-in chips price the
host at Horowitz's 45 nm int8 MAC (0.23 pJ) and say so. Built-in chips: ``loihi``, ``truenorth``,
``odin``, ``darwin3``, ``spinnaker2`` (each TOML quotes its source, and says which figures could
not be checked against the paper).

Built-in models are TOML files in ``ashbench/energy/profiles/`` (each names its source), loaded
exactly like a user's file: ``45nm-fp32``, ``45nm-fp16``, ``45nm-int8`` (Horowitz, "Computing's
energy problem", ISSCC 2014, 45 nm CMOS: fp32 MAC 4.6 pJ (mult 3.7 + add 0.9), AC 0.9 pJ; fp16
1.5 / 0.4 pJ; int8 0.23 / 0.03 pJ) and ``memory-aware`` (int32 add 0.1 pJ, mult 3.1 pJ; SRAM
<= 8 KiB: 10 pJ, <= 32 KiB: 20 pJ, <= 1 MiB (and beyond): 100 pJ per 64-bit access).

A user model (``ashbench energy -e my_chip.toml``)::

    name = "my-chip"
    kind = "compute"          # optional (the default); or "memory-aware"
    mac_pj = 2.0              # compute: mac_pj and ac_pj are required
    ac_pj = 0.5
    neuron_update_pj = 0.1    # optional; 0 = not counted
    elementwise_pj = 0.0      # optional; 0 = not counted
    bit_width = 8             # optional (32)
    source = "datasheet"      # optional, stated in reports
    description = "my chip"   # optional
    # kind = "memory-aware" takes add_pj, mult_pj and memory = [[8192, 10.0], [32768, 20.0]]
    # (required; [max_bytes, pj_per_access] pairs) and access_bits (64), not mac_pj / ac_pj.
    # kind = "neuromorphic" takes sop_pj, mac_pj, mac_source, source, process, figure,
    # operating_point and caveat (all required), neuron_update_pj (0, or {active = 81.0,
    # inactive = 52.0}) and spike_pj (0), not ac_pj.

Every value is checked (non-negative finite energies, positive bit widths, no unknown keys) and
a problem is one ``EnergyModelError`` line naming the file and key. A new kind is one class
registered with ``@ENERGY_KINDS.register("name")``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ashbench.errors import EnergyModelError
from ashbench.files import read_toml
from ashbench.registry import Registry
from ashbench.schema import build, spec

PARTS = ("ann", "snn", "neuron", "memory")
PROFILES_DIR = Path(__file__).parent / "profiles"
ENERGY_KINDS: Registry[type] = Registry("energy model kind", EnergyModelError)
ENERGY_PROFILES: Registry[Path] = Registry("energy model", EnergyModelError)


@dataclass(frozen=True, kw_only=True)
class EnergyModel:
    """Fields every kind has. name: shown in reports; bit_width (>= 1): bits per weight,
    activation and membrane word; elementwise_pj (>= 0): per elementwise op (0 = not counted);
    source, description: stated in every report's assumptions."""

    name: str
    bit_width: int = spec(32, ge=1)
    elementwise_pj: float = spec(0.0, ge=0)
    source: str = ""
    description: str = ""

    def price(self, row: dict) -> dict:
        """pJ of one profile layer row, by part (``PARTS``)."""
        raise NotImplementedError

    def assumptions(self) -> dict:
        """What the estimate assumes, stated in every report."""
        raise NotImplementedError

    def _elementwise_pj(self, row: dict) -> tuple[float, float]:
        by_branch = row.get("self_branch_elementwise", {})
        return by_branch.get("ann", 0) * self.elementwise_pj, by_branch.get("snn", 0) * self.elementwise_pj

    def _stated(self, *, mac_pj: float, ac_pj: float, neuron_pj: float, memory: str) -> dict:
        return {
            "description": self.description,
            "source": self.source,
            "bit_width": self.bit_width,
            "first_layer_on_real_input": "counted as MACs (real-valued input)",
            "mac_pj": mac_pj,
            "ac_pj": ac_pj,
            "neuron_updates": _priced(neuron_pj),
            "elementwise_ops": _priced(self.elementwise_pj),
            "memory": memory,
        }


@ENERGY_KINDS.register("compute")
@dataclass(frozen=True, kw_only=True)
class ComputeModel(EnergyModel):
    """Operations only. mac_pj (>= 0): per multiply-accumulate (dense/ANN work); ac_pj (>= 0):
    per accumulate (synaptic event); neuron_update_pj (>= 0): per neuron update (0 = not counted)."""

    mac_pj: float = spec(ge=0)
    ac_pj: float = spec(ge=0)
    neuron_update_pj: float = spec(0.0, ge=0)

    def price(self, row: dict) -> dict:
        own = row["self"]
        ann_ew, snn_ew = self._elementwise_pj(row)
        return {"ann": own["macs"] * self.mac_pj + ann_ew, "snn": own["synops"] * self.ac_pj + snn_ew,
                "neuron": own["neuron_updates"] * self.neuron_update_pj, "memory": 0.0}

    def assumptions(self) -> dict:
        return self._stated(mac_pj=self.mac_pj, ac_pj=self.ac_pj, neuron_pj=self.neuron_update_pj,
                            memory="not counted")


def _tiers(rows) -> tuple:
    """``memory``: a non-empty list of [max_bytes, pj_per_access] pairs (positive, finite), sorted."""
    if not rows or not all(_is_tier(r) for r in rows):
        raise ValueError("it must be a non-empty list of [max_bytes, pj_per_access] pairs of positive numbers")
    return tuple(sorted((int(a), float(b)) for a, b in rows))


def _is_tier(row) -> bool:
    return isinstance(row, (list, tuple)) and len(row) == 2 and all(_positive(v) for v in row)


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


@ENERGY_KINDS.register("memory-aware")
@dataclass(frozen=True, kw_only=True)
class MemoryAwareModel(EnergyModel):
    """Operations, addressing and SRAM traffic (see the module docstring). add_pj, mult_pj (>= 0):
    per integer add / multiply; memory: [max_bytes, pj_per_access] tiers of SRAM buffer size;
    access_bits (>= 1): bits per memory access."""

    add_pj: float = spec(ge=0)
    mult_pj: float = spec(ge=0)
    memory: tuple = spec(convert=_tiers)
    access_bits: int = spec(64, ge=1)

    def price(self, row: dict) -> dict:
        own = row["self"]
        ann_ew, snn_ew = self._elementwise_pj(row)
        return {"ann": own["macs"] * (self.mult_pj + self.add_pj) + ann_ew,
                "snn": own["synops"] * 2 * self.add_pj + snn_ew,
                "neuron": own["neuron_updates"] * (self.mult_pj + self.add_pj),
                "memory": _memory_pj(self, row)}

    def assumptions(self) -> dict:
        op_pj = self.mult_pj + self.add_pj
        return self._stated(mac_pj=op_pj, ac_pj=self.add_pj, neuron_pj=op_pj,
                            memory=f"priced per {self.access_bits}-bit SRAM access by buffer size")


def access_pj(model: MemoryAwareModel, buffer_bytes: float) -> float:
    """Energy of one ``access_bits`` access to the smallest buffer that holds ``buffer_bytes``."""
    for max_bytes, pj in model.memory:
        if buffer_bytes <= max_bytes:
            return pj
    return model.memory[-1][1]


def _traffic_pj(model: MemoryAwareModel, n_bytes: float, buffer_bytes: float) -> float:
    return n_bytes * 8 / model.access_bits * access_pj(model, buffer_bytes)


def _memory_pj(model: MemoryAwareModel, row: dict) -> float:
    own = row["self"]
    word = model.bit_width / model.access_bits  # accesses per weight/potential word
    weight_bytes = row["params"] * model.bit_width / 8
    act_bytes = own["activation_write_bytes"] / max(row.get("timesteps") or 1, 1)
    membrane_bytes = row["neurons"] * model.bit_width / 8
    energy = own["synops"] * word * (access_pj(model, weight_bytes) + 2 * access_pj(model, membrane_bytes))
    energy += _traffic_pj(model, own["weight_read_bytes"] if own["synops"] == 0 else 0, weight_bytes)
    energy += _traffic_pj(model, own["activation_read_bytes"] + own["activation_write_bytes"], act_bytes)
    energy += _traffic_pj(model, own["membrane_read_bytes"] + own["membrane_write_bytes"], membrane_bytes)
    return energy


def _priced(pj: float) -> str:
    return f"counted at {pj:g} pJ each" if pj else "not counted"


def _is_energy(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def _neuron_update(value) -> tuple:
    """``neuron_update_pj``: one energy for every update, or ``{active = pJ, inactive = pJ}``;
    stored as (active, inactive)."""
    if _is_energy(value):
        return float(value), float(value)
    if isinstance(value, dict) and set(value) == {"active", "inactive"} and all(map(_is_energy, value.values())):
        return float(value["active"]), float(value["inactive"])
    raise ValueError("it must be a finite number >= 0 or a table {active = pJ, inactive = pJ} of them")


def _text(value: str) -> str:
    """A ``convert`` rule: a string that is not blank."""
    if not value.strip():
        raise ValueError("it must not be empty")
    return value


@ENERGY_KINDS.register("neuromorphic")
@dataclass(frozen=True, kw_only=True)
class NeuromorphicModel(EnergyModel):
    """A network mapped onto a neuromorphic chip, priced from the chip's published figures (see
    the module docstring). sop_pj (>= 0): per synaptic operation; neuron_update_pj: per neuron
    update, one figure or {active, inactive} (stored as the pair (active, inactive)); spike_pj
    (>= 0): per emitted spike (0 = not counted); mac_pj (>= 0) and mac_source: the ANN branch's MACs,
    which run off the chip, and where that figure comes from. Provenance, all required: source,
    process, figure ("measured on silicon" or "simulated (pre-silicon)"), operating_point, caveat."""

    sop_pj: float = spec(ge=0)
    neuron_update_pj: Any = spec((0.0, 0.0), convert=_neuron_update)
    spike_pj: float = spec(0.0, ge=0)
    mac_pj: float = spec(ge=0)
    mac_source: str = spec(convert=_text)
    source: str = spec(convert=_text)
    process: str = spec(convert=_text)
    figure: Literal["measured on silicon", "simulated (pre-silicon)"] = spec()
    operating_point: str = spec(convert=_text)
    caveat: str = spec(convert=_text)

    def price(self, row: dict) -> dict:
        own = row["self"]
        ann_ew, snn_ew = self._elementwise_pj(row)
        active_pj, inactive_pj = self.neuron_update_pj
        updates = own["neuron_updates"]
        active = min(own["spikes"], updates)  # an update is "active" when the neuron spikes at that step
        neuron = active * active_pj + (updates - active) * inactive_pj + own["spikes"] * self.spike_pj
        return {"ann": own["macs"] * self.mac_pj + ann_ew, "snn": own["synops"] * self.sop_pj + snn_ew,
                "neuron": neuron, "memory": 0.0}

    def assumptions(self) -> dict:
        active_pj, inactive_pj = self.neuron_update_pj
        stated = self._stated(mac_pj=self.mac_pj, ac_pj=self.sop_pj, neuron_pj=inactive_pj,
                              memory="not counted separately (see caveat)")
        if active_pj != inactive_pj:
            stated["neuron_updates"] = (f"counted at {active_pj:g} pJ active (the neuron spikes at that step) / "
                                        f"{inactive_pj:g} pJ inactive")
        stated.update(spikes=_priced(self.spike_pj), mac_source=self.mac_source, process=self.process,
                      figure=self.figure, operating_point=self.operating_point, caveat=self.caveat)
        return stated


for _file in sorted(PROFILES_DIR.glob("*.toml")):
    ENERGY_PROFILES.register(_file.stem, _file)


def list_energy_models() -> list[str]:
    """Names of the built-in models (the TOML files of ``PROFILES_DIR``)."""
    return ENERGY_PROFILES.names()


def get_energy_model(name_or_path: str) -> EnergyModel:
    """A built-in model by name, or a user model from a path ending in '.toml'."""
    if name_or_path in ENERGY_PROFILES:
        return _builtin(name_or_path)
    if name_or_path.endswith(".toml"):
        return load_energy_model_file(name_or_path)
    valid = ", ".join(list_energy_models())
    raise EnergyModelError(f"unknown energy model {name_or_path!r}; valid: {valid} or a .toml file")


@functools.cache
def _builtin(name: str) -> EnergyModel:
    return load_energy_model_file(str(ENERGY_PROFILES.get(name)))


def load_energy_model_file(path: str) -> EnergyModel:
    """Read an energy model TOML file (see the module docstring for its keys); ``kind`` selects
    the class (default "compute"). Raises EnergyModelError (one line naming the file)."""
    data = read_toml(path, EnergyModelError, "energy model")
    return build(_kind(data.pop("kind", "compute"), path), data, EnergyModelError, source=str(path))


def _kind(name, path: str) -> type:
    try:
        return ENERGY_KINDS.get(name)
    except EnergyModelError as exc:
        raise EnergyModelError(f"{path}: {exc}") from None


def estimate_energy(prof: dict, model: EnergyModel | str) -> dict:
    """Energy per sample (pJ) of a profile dict, with a breakdown by branch and per layer.

    Returns ``{"model", "total_pj", "breakdown_pj": {"ann","snn","neuron","memory"},
    "per_layer_pj": {module: pJ}, "assumptions": {...}}``. Each layer is priced on its own (self)
    counts, so the per-layer terms add up to the total."""
    model = get_energy_model(model) if isinstance(model, str) else model
    breakdown, per_layer = dict.fromkeys(PARTS, 0.0), {}
    for row in prof["layers"]:
        parts = model.price(row)
        for part in PARTS:
            breakdown[part] += parts[part]
        per_layer[row["module"]] = parts["ann"] + parts["snn"] + parts["neuron"] + parts["memory"]
    return {
        "model": model.name,
        "total_pj": breakdown["ann"] + breakdown["snn"] + breakdown["neuron"] + breakdown["memory"],
        "breakdown_pj": breakdown,
        "per_layer_pj": per_layer,
        "assumptions": model.assumptions(),
    }
