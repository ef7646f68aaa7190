"""The ``ashbench energy`` report: a profile and its energy estimates as text (no torch import).

Formats (``FORMATS``): ``json`` (the documented schema, every row) and the formats of the one
table renderer, ``ashbench.report.tables``: ``table`` (rich, for terminals), ``csv``,
``markdown`` and ``latex``. Views (``by``): ``module`` (one row per module, counts inclusive of
its submodules), ``op`` (one row per aten op) and ``branch`` (ann / snn / neuron). Counts are per
sample.

What is shown:

- ``csv`` and ``json`` keep every module and every column, exact (energy in ``energy_pj``);
- ``table``, ``markdown`` and ``latex`` show modules down to depth ``DEFAULT_DEPTH`` and every
  spiking-neuron layer, whatever its depth, unless a depth is given (a footer line says which
  rows are shown), the module columns of ``BRIEF_MODULE_COLUMNS`` and energy in
  µJ or nJ (the unit of the largest shown value, named in the header: ``energy (µJ)``); the
  default table fits a 120-column terminal. Counts are shown as ``human`` writes them (``14.9M``),
  then the ``summary_lines`` (totals, energy per model and its assumptions).
"""

from __future__ import annotations

import json

from ashbench.report import tables

FORMATS = (*tables.FORMATS.names(), "json")
VIEWS = ("module", "op", "branch")
DEFAULT_DEPTH = 2
MODULE_COLUMNS = ("module", "type", "branch", "params", "dense_macs", "macs", "synops", "elementwise_ops",
                  "neuron_updates", "spikes", "firing_rate")
BRIEF_MODULE_COLUMNS = ("module", "type", "branch", "params", "macs", "synops", "neuron_updates", "firing_rate")
OP_COLUMNS = ("op", "calls", "dense_macs", "macs", "synops", "elementwise_ops")
BRANCH_COLUMNS = ("branch", "dense_macs", "macs", "synops", "elementwise_ops", "neuron_updates", "spikes",
                  "firing_rate")
HEADERS = {"dense_macs": "dense MACs", "macs": "MACs", "elementwise_ops": "elementwise",
           "neuron_updates": "neuron updates", "firing_rate": "firing rate"}
TEXT_COLUMNS = ("module", "type", "branch", "op")


def report_dict(prof: dict, energies: list[dict]) -> dict:
    """The JSON document: the profile plus ``energy`` (one entry per energy model)."""
    doc = dict(prof)
    doc["energy"] = [{k: e[k] for k in ("model", "total_pj", "breakdown_pj", "assumptions", "per_layer_pj")}
                     for e in energies]
    return doc


def rows(doc: dict, by: str) -> tuple[tuple, list[dict]]:
    """(columns, rows) of the chosen view; module rows carry the first energy model's pJ."""
    if by == "op":
        return OP_COLUMNS, [{"op": op, **c} for op, c in doc["by_operator"].items()]
    if by == "branch":
        return BRANCH_COLUMNS, [{"branch": name, **c} for name, c in doc["branches"].items()]
    energy = doc["energy"][0] if doc.get("energy") else None
    columns = MODULE_COLUMNS + (("energy_pj",) if energy else ())
    out = []
    for layer in doc["layers"]:
        row = {k: layer.get(k) for k in MODULE_COLUMNS}
        row["module"] = layer["module"] or "(model)"
        if energy:
            row["energy_pj"] = _inclusive_energy(layer["module"], energy["per_layer_pj"])
        out.append(row)
    return columns, out


def _inclusive_energy(name: str, per_layer: dict) -> float:
    if name == "":
        return sum(per_layer.values())
    return sum(v for k, v in per_layer.items() if k == name or k.startswith(name + "."))


def render(doc: dict, fmt: str = "table", by: str = "module", depth: int | None = None) -> str:
    """The report in ``fmt`` (json: the whole document, ``by`` ignored), then the energy spread
    (``ashbench.report.spread_report``; not in csv) and the fvcore cross-check when the document
    has them. ``depth``: deepest module level kept (None: every level in csv and json,
    ``DEFAULT_DEPTH`` in the other formats)."""
    if fmt == "json":
        return json.dumps(_to_depth(doc, depth), indent=2) + "\n"
    from ashbench.report.spread_report import spread_text

    return tables.render(report_table(doc, fmt, by, depth), fmt) + spread_text(doc, fmt) + _fvcore_text(doc)


def report_table(doc: dict, fmt: str = "table", by: str = "module", depth: int | None = None) -> tables.Table:
    """The view ``by`` as a table for ``fmt``: every column for csv, the brief module columns
    otherwise; the footer holds a note when modules deeper than the shown depth were left out,
    then the summary lines."""
    brief = depth is None and fmt != "csv"
    shown = _default_rows(doc) if brief else _to_depth(doc, depth)
    keys, body = rows(shown, by)
    if by == "module" and fmt != "csv":
        keys = BRIEF_MODULE_COLUMNS + tuple(k for k in keys if k == "energy_pj")
    columns = [energy_column([r["energy_pj"] for r in body]) if k == "energy_pj" else _count_column(k) for k in keys]
    level = f"{DEFAULT_DEPTH} and the spiking-neuron layers" if brief else depth
    note = _depth_note(level, len(shown["layers"]), len(doc["layers"])) if by == "module" else []
    footer = note + summary_lines(doc)
    return tables.Table(columns, [[r.get(k) for k in keys] for r in body], title=_title(doc, by), footer=footer)


def _default_rows(doc: dict) -> dict:
    """Modules down to ``DEFAULT_DEPTH``, plus every spiking-neuron layer (the point of an SNN
    profile) however deep it sits."""
    keep = [row for row in doc["layers"] if row["depth"] <= DEFAULT_DEPTH or row["branch"] == "neuron"]
    return {**doc, "layers": keep}


def _to_depth(doc: dict, depth: int | None) -> dict:
    if depth is None:
        return doc
    return {**doc, "layers": [row for row in doc["layers"] if row["depth"] <= depth]}


def _depth_note(depth, kept: int, total: int) -> list[str]:
    """One line when modules deeper than ``depth`` were left out."""
    if kept == total:
        return []
    return [f"rows: depth <= {depth} ({kept} of {total} modules); --depth N or --format csv for more"]


def _title(doc: dict, by: str) -> str:
    energy = f"; energy: {doc['energy'][0]['model']}" if doc.get("energy") and by == "module" else ""
    return f"ashbench energy — {doc['model']} (per sample{energy})"


def _count_column(key: str) -> tables.Column:
    align = "left" if key in TEXT_COLUMNS else "right"
    return tables.Column(key, HEADERS.get(key, key), align, human)


def energy_unit(largest_pj: float) -> tuple[str, float]:
    """(unit, pJ per unit) for energies up to ``largest_pj``: µJ from 1 µJ (1e6 pJ) up, else nJ."""
    return ("µJ", 1e6) if abs(largest_pj) >= 1e6 else ("nJ", 1e3)


def energy_column(values_pj: list[float], key: str = "energy_pj") -> tables.Column:
    """A column of energies given in pJ, shown in the unit ``energy_unit`` picks for the largest
    (e.g. 68_400_000 pJ -> '68.4' under 'energy (µJ)'); csv keeps the pJ under ``key``."""
    unit, scale = energy_unit(max((abs(v) for v in values_pj if v is not None), default=0.0))
    return tables.Column(key, f"energy ({unit})", "right", lambda pj: significant(pj / scale))


def significant(value: float) -> str:
    """3 significant digits (68.44 -> '68.4', 0.04861 -> '0.0486'); whole numbers from 100 up
    (1234.5 -> '1,234')."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _fvcore_text(doc: dict) -> str:
    if "fvcore_check" not in doc:
        return ""
    lines = ["", "fvcore cross-check (whole batch; dense MACs, norms as elementwise ops):"]
    for row in doc["fvcore_check"]:
        mark = "equal" if row["equal"] else "differs"
        lines.append(f"  {row['family']:9s} ashbench {row['ashbench']:>14,}  fvcore {row['fvcore']:>14,}  {mark}")
    return "\n".join(lines) + "\n"


def human(value) -> str:
    """1234567 -> '1.23M'; rates as 0.1234; small ints as is."""
    if isinstance(value, float) and value < 1 and value != 0:
        return f"{value:.4f}"
    if not isinstance(value, (int, float)):
        return str(value)
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def summary_lines(doc: dict) -> list[str]:
    """Totals by branch and energy per sample, one line each; a chip's energy (assumptions with a
    ``figure``, the ``neuromorphic`` kind) also states its provenance and caveat."""
    t = doc["totals"]
    lines = [f"model {doc['model']}: batch {doc['batch_size']}, T={doc['timesteps']}, spikes={doc['spikes']}, "
             "counts per sample",
             f"totals: dense_macs {human(t['dense_macs'])}, macs {human(t['macs'])}, synops {human(t['synops'])}, "
             f"neuron_updates {human(t['neuron_updates'])}, firing_rate {t['firing_rate']:.4f}, "
             f"params {human(t['params'])}"]
    for name, b in doc["branches"].items():
        lines.append(f"  {name:6s} macs {human(b['macs'])}, synops {human(b['synops'])}, "
                     f"elementwise {human(b['elementwise_ops'])}, neuron_updates {human(b['neuron_updates'])}")
    for e in doc.get("energy", []):
        parts = ", ".join(f"{k} {v / 1e6:.4g} uJ" for k, v in e["breakdown_pj"].items())
        lines.append(f"energy [{e['model']}]: {e['total_pj'] / 1e6:.4g} uJ per sample ({parts})")
        a = e["assumptions"]
        if "figure" not in a:
            lines.append(f"  assumes: {a['bit_width']}-bit, MAC {a['mac_pj']:g} pJ, AC {a['ac_pj']:g} pJ, first layer "
                         f"on real input as MACs, neuron updates {a['neuron_updates']}, memory {a['memory']} "
                         f"({a['source']})")
        else:
            lines += [f"  assumes: SOP {a['ac_pj']:g} pJ, neuron updates {a['neuron_updates']}, spikes {a['spikes']}, "
                      f"elementwise ops {a['elementwise_ops']}, memory {a['memory']}; ANN-branch MACs (first layer "
                      f"on real input included) off the chip at {a['mac_pj']:g} pJ ({a['mac_source']})",
                      f"  provenance: {a['source']}; process {a['process']}; {a['figure']}; "
                      f"operating point {a['operating_point']}",
                      f"  caveat: {a['caveat']}"]
    if doc.get("unsupported_ops"):
        ops = ", ".join(f"{u['op']} x{u['calls']} in '{u['module'] or 'model'}'" for u in doc["unsupported_ops"])
        lines.append(f"unsupported ops (counted as 0): {ops}")
    if "measured" in doc:
        m = doc["measured"]
        lines.append(f"measured [{m['device']}]: {m['joules_per_sample']:.4g} J per sample above idle "
                     f"({m['joules_per_sample_gross']:.4g} J gross; idle {m['idle_w']:.4g} W subtracted; "
                     f"{m['calls']} calls in {m['seconds']:.3g} s; {m['counter']})")
    lines += [f"warning: {w}" for w in doc.get("warnings", [])]
    return lines


