"""The Profile: what one counted forward pass measured (plain data; no torch import).

Raw counts are whole-batch integers, held as rows in ``counts.ROW_FIELDS`` order; every public view
divides by ``batch_size`` (per sample) and is summed over all time steps. Derived per-layer fields:
``neurons`` (per sample), ``timesteps``, ``firing_rate`` = spikes / neuron_updates (= spikes /
(neurons x timesteps) for one layer) and ``firing_rate_per_step`` = spikes at step t / neurons.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ashbench.profiler.counts import BRANCHES, OP_FIELDS, ROW_FIELDS

EMPTY_ROW = (0,) * len(ROW_FIELDS)
_UPDATES, _SPIKES = ROW_FIELDS.index("neuron_updates"), ROW_FIELDS.index("spikes")


def per_sample(value: int, batch_size: int):
    """value / batch_size, as an int when exact."""
    return value // batch_size if value % batch_size == 0 else value / batch_size


@dataclass(slots=True)
class LayerRecord:
    """Raw counts of one module: ``counts`` its own work plus that of all its descendants, ``own`` its
    own work (rows in ROW_FIELDS order); ``own_elementwise`` its own elementwise_ops per branch."""

    name: str
    type: str
    depth: int
    params: int = 0
    is_neuron: bool = False
    counts: list | tuple = EMPTY_ROW
    branches: set = field(default_factory=set)
    spikes_per_step: list = field(default_factory=list)
    units_per_step: list = field(default_factory=list)
    own: list | tuple = EMPTY_ROW
    own_elementwise: dict = field(default_factory=dict)

    @property
    def branch(self) -> str:
        if self.is_neuron:
            return "neuron"
        return next(iter(self.branches)) if len(self.branches) == 1 else ("mixed" if self.branches else "-")


@dataclass
class Profile:
    """Result of :func:`ashbench.profile`. ``layers`` in module order, root first (name '')."""

    model: str
    batch_size: int
    layout: str
    spikes: str
    layers: list
    totals_raw: list  # a row (ROW_FIELDS)
    branches_raw: dict  # branch -> row
    by_operator_raw: dict  # op -> [OP_FIELDS..., calls]
    unsupported_ops: list
    spikes_per_step_raw: list
    units_per_step_raw: list
    params: int
    input_timesteps: int | None = None
    warnings: list = field(default_factory=list)  # conditions every report states (one line each)

    @property
    def timesteps(self) -> int:
        """Input T for a [T,B,...] layout, else the most steps any neuron ran, else 1."""
        return self.input_timesteps or max(len(self.spikes_per_step_raw), 1)

    def _derive(self, raw, spikes_t: list, units_t: list, params: int) -> dict:
        """The per-sample counts of a raw row, with the derived fields."""
        b = self.batch_size
        out = {k: per_sample(v, b) for k, v in zip(ROW_FIELDS, raw)}
        out["params"] = params
        out["neurons"] = per_sample(max(units_t, default=0), b)
        out["timesteps"] = len(spikes_t)
        updates = raw[_UPDATES]
        out["firing_rate"] = raw[_SPIKES] / updates if updates else 0.0
        out["firing_rate_per_step"] = [s / u if u else 0.0 for s, u in zip(spikes_t, units_t)]
        return out

    @property
    def totals(self) -> dict:
        return self._derive(self.totals_raw, self.spikes_per_step_raw, self.units_per_step_raw, self.params)

    @property
    def branches(self) -> dict:
        """Counts per branch: 'ann' (ops on real-valued inputs), 'snn' (ops on spike inputs),
        'neuron' (spiking-neuron state updates)."""
        out = {name: self._derive(self.branches_raw.get(name, EMPTY_ROW), [], [], 0) for name in BRANCHES}
        totals = self.totals
        for key in ("neurons", "timesteps", "firing_rate_per_step"):
            out["neuron"][key] = totals[key]
        return out

    def layer_rows(self, depth: int | None = None) -> list[dict]:
        """One dict per module that ran, root first (module ''), up to ``depth`` (1 = children).

        Counts are inclusive (the module and its descendants); ``self`` holds the module's own
        counts (per sample), which add up over all modules to the totals."""
        rows = []
        for rec in self.layers:
            if depth is not None and rec.depth > depth:
                continue
            row = {"module": rec.name, "type": rec.type, "branch": rec.branch, "depth": rec.depth}
            row.update(self._derive(rec.counts, rec.spikes_per_step, rec.units_per_step, rec.params))
            row["self"] = {k: per_sample(v, self.batch_size) for k, v in zip(ROW_FIELDS, rec.own)}
            row["self_branch_elementwise"] = {k: per_sample(v, self.batch_size) for k, v in rec.own_elementwise.items()}
            rows.append(row)
        return rows

    def by_operator(self) -> dict[str, dict]:
        """Per aten op: calls and per-sample counts (e.g. 'aten.convolution.default')."""
        b = self.batch_size
        return {op: {"calls": row[-1], **{k: per_sample(v, b) for k, v in zip(OP_FIELDS, row)}}
                for op, row in sorted(self.by_operator_raw.items())}

    def to_dict(self, depth: int | None = None) -> dict:
        """The documented JSON schema (without energy, which ``ashbench.energy`` adds)."""
        return {
            "model": self.model,
            "batch_size": self.batch_size,
            "timesteps": self.timesteps,
            "layout": self.layout,
            "spikes": self.spikes,
            "totals": self.totals,
            "branches": self.branches,
            "layers": self.layer_rows(depth),
            "by_operator": self.by_operator(),
            "unsupported_ops": list(self.unsupported_ops),
            "warnings": list(self.warnings),
        }
