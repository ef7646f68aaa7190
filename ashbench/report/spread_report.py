"""The energy-spread section of the ``ashbench energy`` report (no torch import).

When a report priced two or more energy models (``ashbench energy -e all``), its document holds
``spread`` (``ashbench.energy.spread.energy_spread``) and the table, markdown and latex formats
end with one more table: per part (ann, snn, neuron, memory, total) the lowest and highest energy
per sample over the models, the models that give each, and max / min. json holds the ``spread``
key itself; csv stays one table (the module rows), so the spread is not appended there.
"""

from __future__ import annotations

from ashbench.report import tables

SKIPPED_FORMATS = ("csv", "json")
SHOWN_TIED = 2  # model names shown per cell; more tied models are counted ("+3 tied")


def spread_text(doc: dict, fmt: str) -> str:
    """The spread table in ``fmt``, after a blank line; '' when the document has no spread or
    ``fmt`` is csv or json."""
    if "spread" not in doc or fmt in SKIPPED_FORMATS:
        return ""
    return "\n" + tables.render(spread_table(doc["spread"]), fmt)


def spread_table(spread: dict) -> tables.Table:
    """The spread as a renderer table: part, min, min model(s), max, max model(s), max/min; energies
    in the unit of the largest (µJ from 1e6 pJ up, else nJ), raw pJ in csv."""
    rows = spread["parts"]
    scale, unit = (1e6, "µJ") if max(abs(r["max_pj"]) for r in rows.values()) >= 1e6 else (1e3, "nJ")
    columns = [tables.Column("part", align="left"),
               tables.Column("min_pj", f"min ({unit})", fmt=lambda pj: _significant(pj / scale)),
               tables.Column("min_models", "min model", "left", _names),
               tables.Column("max_pj", f"max ({unit})", fmt=lambda pj: _significant(pj / scale)),
               tables.Column("max_models", "max model", "left", _names),
               tables.Column("max_over_min", "max/min", fmt=lambda r: f"{r:.3g}x")]
    body = [[part, r["min_pj"], r["min_models"], r["max_pj"], r["max_models"], r["max_over_min"]]
            for part, r in rows.items()]
    models = spread["models"]
    title = f"energy spread over {len(models)} energy models (per sample)"
    footer = [f"models: {', '.join(models)}",
              "total: the lowest and highest model total (not the sum of the parts' extremes); "
              "max/min empty where the minimum is 0"]
    return tables.Table(columns, body, title=title, footer=footer)


def _names(models: list[str]) -> str:
    shown = ", ".join(models[:SHOWN_TIED])
    return shown + (f" +{len(models) - SHOWN_TIED} tied" if len(models) > SHOWN_TIED else "")


def _significant(value: float) -> str:
    """3 significant digits; whole numbers from 100 up (as the report's energy column)."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
