"""Formatting profiles and energy estimates as tables (no torch import; returns strings).

Formats: ``table`` (rich, for terminals), ``csv``, ``json`` (the documented schema),
``markdown`` and ``latex``. Views (``by``): ``module`` (one row per module, inclusive counts),
``op`` (one row per aten op) and ``branch`` (ann / snn / neuron).
"""

from __future__ import annotations

import csv
import io
import json

FORMATS = ("table", "csv", "json", "markdown", "latex")
VIEWS = ("module", "op", "branch")
MODULE_COLUMNS = ("module", "type", "branch", "params", "dense_macs", "macs", "synops", "elementwise_ops",
                  "neuron_updates", "spikes", "firing_rate")
OP_COLUMNS = ("op", "calls", "dense_macs", "macs", "synops", "elementwise_ops")
BRANCH_COLUMNS = ("branch", "dense_macs", "macs", "synops", "elementwise_ops", "neuron_updates", "spikes",
                  "firing_rate")


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
    """Render the report in ``fmt``; json ignores ``by`` and returns the whole document."""
    if depth is not None:
        doc = {**doc, "layers": [row for row in doc["layers"] if row["depth"] <= depth]}
    if fmt == "json":
        return json.dumps(doc, indent=2) + "\n"
    return _render_text(doc, fmt, by) + _fvcore_text(doc)


def _fvcore_text(doc: dict) -> str:
    if "fvcore_check" not in doc:
        return ""
    lines = ["", "fvcore cross-check (whole batch; dense MACs, norms as elementwise ops):"]
    for row in doc["fvcore_check"]:
        mark = "equal" if row["equal"] else "differs"
        lines.append(f"  {row['family']:9s} ashbench {row['ashbench']:>14,}  fvcore {row['fvcore']:>14,}  {mark}")
    return "\n".join(lines) + "\n"


def _render_text(doc: dict, fmt: str, by: str) -> str:
    columns, body = rows(doc, by)
    if fmt == "csv":
        return _csv(columns, body)
    if fmt == "markdown":
        return _markdown(columns, body) + "\n" + _markdown_summary(doc)
    if fmt == "latex":
        return _latex(columns, body)
    return _rich(doc, columns, body)


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


def _csv(columns, body) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(body)
    return buf.getvalue()


def _markdown(columns, body) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(human(r.get(c, "")) for c in columns) + " |" for r in body]
    return "\n".join(lines) + "\n"


def summary_lines(doc: dict) -> list[str]:
    """Totals by branch and energy per sample, one line each."""
    t = doc["totals"]
    lines = [f"model {doc['model']}: batch {doc['batch_size']}, T={doc['timesteps']}, spikes={doc['spikes']}, counts per sample",
             f"totals: dense_macs {human(t['dense_macs'])}, macs {human(t['macs'])}, synops {human(t['synops'])}, "
             f"neuron_updates {human(t['neuron_updates'])}, firing_rate {t['firing_rate']:.4f}, params {human(t['params'])}"]
    for name, b in doc["branches"].items():
        lines.append(f"  {name:6s} macs {human(b['macs'])}, synops {human(b['synops'])}, "
                     f"elementwise {human(b['elementwise_ops'])}, neuron_updates {human(b['neuron_updates'])}")
    for e in doc.get("energy", []):
        parts = ", ".join(f"{k} {v / 1e6:.4g} uJ" for k, v in e["breakdown_pj"].items())
        lines.append(f"energy [{e['model']}]: {e['total_pj'] / 1e6:.4g} uJ per sample ({parts})")
        a = e["assumptions"]
        lines.append(f"  assumes: {a['bit_width']}-bit, MAC {a['mac_pj']:g} pJ, AC {a['ac_pj']:g} pJ, first layer on "
                     f"real input as MACs, neuron updates {a['neuron_updates']}, memory {a['memory']} ({a['source']})")
    if doc.get("unsupported_ops"):
        ops = ", ".join(f"{u['op']} x{u['calls']} in '{u['module'] or 'model'}'" for u in doc["unsupported_ops"])
        lines.append(f"unsupported ops (counted as 0): {ops}")
    return lines


def _markdown_summary(doc: dict) -> str:
    return "\n".join(f"- {line}" for line in summary_lines(doc)) + "\n"


def _latex(columns, body) -> str:
    esc = lambda s: str(s).replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")  # noqa: E731
    lines = [r"\begin{tabular}{l" + "r" * (len(columns) - 1) + "}", r"\toprule",
             " & ".join(esc(c) for c in columns) + r" \\", r"\midrule"]
    lines += [" & ".join(esc(human(r.get(c, ""))) for c in columns) + r" \\" for r in body]
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def _rich(doc: dict, columns, body) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"ashbench energy — {doc['model']} (per sample)", show_lines=False)
    for c in columns:
        table.add_column(c, justify="left" if c in ("module", "type", "branch", "op") else "right")
    for r in body:
        table.add_row(*(human(r.get(c, "")) for c in columns))
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(table)
    for line in summary_lines(doc):
        console.print(line, highlight=False, markup=False)
    return console.file.getvalue()
