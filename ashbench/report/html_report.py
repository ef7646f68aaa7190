"""``ashbench report``: one self-contained HTML page of a sweep's results or of one profile (no torch import).

The page needs nothing from the network: figures are inline SVG (``figures.svg_text``), the CSS is
in a ``<style>`` element, there are no scripts, links or external fonts. Tables scroll
sideways on narrow screens; ``@media print`` lays the page out for paper.

- A results folder (``results/<sweep>/``, with ``runs.csv``): the comparison table (mean ± std over
  seeds, ``comparison_table`` with the energy spread over every energy model of the runs table),
  the accuracy-vs-energy figure (with each point's min–max energy over the models), the energy
  breakdown per energy model (figure and table), per-layer sparsity of one profile JSON of the folder
  (``PROFILE_NAMES``, else the first ``*.json`` profile at the top, else ``profiles/*.json``) and the
  assumptions of every energy model (stated by the profile, else by the built-in model of that name).
- A profile JSON (``ashbench energy -f json``): its module, branch and operator tables with the
  summary lines, the energy spread when it has one, per-layer sparsity and the energy assumptions.

Errors (an empty folder, no runs.csv, a file that is not a profile JSON) are ``ResultsError``s.
"""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path

from ashbench.errors import AshbenchError, ResultsError
from ashbench.files import check_output_path, read_json, write_atomic
from ashbench.report import figures
from ashbench.report import profile_report as pr
from ashbench.report.spread_report import spread_table
from ashbench.report.tables import Table

PROFILE_NAMES = ("ashnet_default_profile.json",)
RUNS = "runs.csv"
ENERGY_MODEL = "45nm-fp32"
PARTS = ("ann", "snn", "neuron", "memory")
ASSUMPTION_NAMES = {"mac_pj": "MAC (pJ)", "ac_pj": "AC / SOP (pJ)", "bit_width": "bit width",
                    "first_layer_on_real_input": "first layer on real input"}


# ---------------------------------------------------------------- entry points

def write_report(source: str, output: str | None = None) -> Path:
    """Build the page for ``source`` (a results folder, its runs.csv, or a profile JSON) and write it
    atomically to ``output`` (default: ``<folder>/report.html`` or ``<profile>.html``). The output
    path is checked before any work and the file is written only once the page is complete."""
    path = Path(source)
    target = Path(output) if output else default_output(path)
    check_output_path(target)
    page = build_report(str(path))
    return write_atomic(target, page)


def default_output(path: Path) -> Path:
    if path.is_dir():
        return path / "report.html"
    if path.suffix == ".csv":
        return path.parent / "report.html"
    return path.with_suffix(".html")


def build_report(source: str) -> str:
    """The HTML page of a results folder (or its runs.csv) or of one profile JSON."""
    path = Path(source)
    if path.is_dir():
        return results_report(path)
    if not path.exists():
        raise ResultsError(f"not found: {source} (a results folder with runs.csv, or a profile JSON)")
    if path.suffix == ".csv":
        return results_report(path.parent, runs=path)
    return profile_page(path)


# ---------------------------------------------------------------- results folder

def results_report(folder: Path, runs: Path | None = None) -> str:
    from ashbench.report.figures import accuracy_vs_energy_figure, energy_breakdown_figure
    from ashbench.sweeps.comparison import breakdown_table, comparison_table, energy_models, load_runs

    runs = runs or folder / RUNS
    if not runs.is_file():
        what = "is empty" if not any(folder.iterdir()) else f"has no {RUNS}"
        raise ResultsError(f"results folder {folder} {what} (ashbench sweep writes results/<sweep>/{RUNS})")
    frame = load_runs(str(runs))
    models = energy_models(frame)
    lead = ENERGY_MODEL if ENERGY_MODEL in models else (models[0] if models else ENERGY_MODEL)
    spread = len(models) > 1
    table = comparison_table(frame, energy_model=lead, energy_spread=spread)
    profile_path, profile = find_profile(folder)
    sweep = str(frame["sweep"].iloc[0]) if "sweep" in frame else folder.name
    seeds = frame["axis:seed"].nunique() if "axis:seed" in frame else 1

    sections = []
    spread_note = (f"; the spread columns give the lowest and highest mean energy over the energy models "
                   f"({', '.join(models)})" if spread else "")
    note = (f"{len(frame)} runs, {len(table)} configurations; each cell is the mean ± the half-width of its "
            f"95% t-interval over {seeds} seeds (n per row; a single seed has no interval); accuracy in %, "
            f"counts per sample, energy per sample in µJ under {lead}{spread_note}.")
    sections.append(section("comparison", "Comparison", paragraph(note) + table_html(comparison_display(table))))
    scatter = accuracy_vs_energy_figure(table, label="config", band=spread)
    sections.append(section("accuracy-vs-energy", "Accuracy vs energy",
                            figure_html(scatter, "t2i R@1 against energy per sample; the Pareto front is drawn "
                                                 f"in orange; energy under {lead}"
                                                 + ("; bars: min–max over the energy models" if spread else ""))))
    parts_body = []
    for model in models:
        try:
            parts = breakdown_table(frame, model)
        except AshbenchError:
            continue  # a model without per-part columns
        data = {p: list(parts[p]) for p in PARTS}
        parts_body.append(f"<h3>{esc(model)}</h3>")
        parts_body.append(figure_html(energy_breakdown_figure(data, list(parts["config"]), model=model),
                                      f"energy per sample by part under {model}"))
        parts_body.append(table_html(breakdown_display(parts)))
    sections.append(section("energy-breakdown", "Energy breakdown",
                            "".join(parts_body) or paragraph("The runs table has no per-part energy columns.")))
    if profile is None:
        sparsity = paragraph(f"No profile JSON in {folder} ({', '.join(PROFILE_NAMES)}, *.json or profiles/*.json).")
    else:
        where = profile_path.relative_to(folder).as_posix()
        sparsity = paragraph(f"From {where}: model {profile['model']}, T={profile['timesteps']}.")
        sparsity += sparsity_html(profile)
    sections.append(section("sparsity", "Per-layer sparsity", sparsity))
    sections.append(section("assumptions", "Energy-model assumptions",
                            assumptions_html(models, (profile or {}).get("energy", []))))
    return page(f"ashbench report — {sweep}", f"{runs.resolve().parent.name}/{runs.name}", sections)


def find_profile(folder: Path) -> tuple[Path | None, dict | None]:
    """(path, document) of the profile the sparsity section shows; (None, None) when the folder has none."""
    candidates = [folder / n for n in PROFILE_NAMES]
    candidates += sorted(p for p in folder.glob("*.json") if p.name not in PROFILE_NAMES)
    candidates += sorted((folder / "profiles").glob("*.json"))
    for path in candidates:
        if not path.is_file():
            continue
        try:
            return path, figures.read_profile(str(path))
        except AshbenchError:
            continue
    return None, None


def comparison_display(table) -> Table:
    """The comparison table as ``render_table`` shows it (markdown, latex, table): the same cells."""
    from ashbench.sweeps.comparison import ENERGY_HEADER, SPREAD_DISPLAY, _display_frame, frame_table

    numeric = table.rename(columns=ENERGY_HEADER)
    for column, right in SPREAD_DISPLAY.items():
        numeric[column] = 0.0 if right else ""
    return frame_table(_display_frame(table, "ci"), numeric=numeric)


def breakdown_display(parts) -> Table:
    from ashbench.report.tables import Column

    columns = [Column("config", align="left")] + [Column(p, f"{p} (µJ)", fmt=lambda v: f"{v / 1e6:.3g}")
                                                  for p in PARTS]
    columns.append(Column("total", "total (µJ)", fmt=lambda v: f"{v / 1e6:.3g}"))
    rows = [[r["config"], *(r[p] for p in PARTS), sum(r[p] for p in PARTS)] for _, r in parts.iterrows()]
    return Table(columns, rows)


# ---------------------------------------------------------------- one profile

def profile_page(path: Path) -> str:
    doc = read_json(str(path), ResultsError, "ashbench energy JSON report")
    if not (isinstance(doc, dict) and isinstance(doc.get("layers"), list) and isinstance(doc.get("totals"), dict)
            and isinstance(doc.get("branches"), dict)):
        raise ResultsError(f"{path} is not an ashbench energy JSON report (no 'layers', 'totals' and 'branches')")
    try:
        sections = [section("tables", "Tables", profile_tables(doc)),
                    section("sparsity", "Per-layer sparsity", sparsity_html(doc)),
                    section("assumptions", "Energy-model assumptions",
                            assumptions_html([e["model"] for e in doc.get("energy", [])], doc.get("energy", [])))]
    except (KeyError, TypeError, ValueError) as exc:
        raise ResultsError(f"{path} is not an ashbench energy JSON report (bad entry: {exc})") from None
    return page(f"ashbench report — {doc['model']}", path.name, sections)


def profile_tables(doc: dict) -> str:
    module = pr.report_table(doc, "markdown", "module")
    out = [table_html(module, with_footer=False), "<h3>Summary</h3>", lines_html(module.footer)]
    out += ["<h3>By branch</h3>", table_html(pr.report_table(doc, "markdown", "branch"), with_footer=False)]
    if doc.get("by_operator"):
        out += ["<h3>By operator</h3>", table_html(pr.report_table(doc, "markdown", "op"), with_footer=False)]
    if "spread" in doc:
        out += ["<h3>Energy spread</h3>", table_html(spread_table(doc["spread"]))]
    return "".join(out)


# ---------------------------------------------------------------- shared pieces

def sparsity_html(doc: dict) -> str:
    out = []
    for build, caption in ((figures.sparsity_bars_figure, "firing rate of spiking-neuron layers and the active "
                                                          "fraction of dense MACs of MAC layers, by branch"),
                           (figures.sparsity_heatmap_figure, "firing rate per spiking-neuron layer and time step")):
        try:
            out.append(figure_html(build(doc), caption))
        except ResultsError as exc:
            out.append(paragraph(f"{exc}."))
    return "".join(out)


def assumptions_html(models: list[str], stated: list[dict]) -> str:
    """One table, a column per energy model and a row per assumption: what the profile states for
    the model, else what the built-in model of that name states (the 'stated by' row says which)."""
    by_name = {e["model"]: e["assumptions"] for e in stated}
    names = list(dict.fromkeys([*models, *by_name]))
    if not names:
        return paragraph("No energy model priced these results.")
    columns = {}
    for name in names:
        if name in by_name:
            columns[name] = {"stated by": "the profile JSON", **by_name[name]}
        elif (builtin := _builtin_assumptions(name)) is not None:
            columns[name] = {"stated by": "the built-in model of that name", **builtin}
        else:
            columns[name] = {"stated by": "unknown: not a built-in model and not in the profile"}
    keys = list(dict.fromkeys(k for c in columns.values() for k in c))
    head = '<th scope="col">assumption</th>' + "".join(f'<th scope="col">{esc(n)}</th>' for n in names)
    rows = "".join(f'<tr><th scope="row">{esc(ASSUMPTION_NAMES.get(k, k.replace("_", " ")))}</th>'
                   + "".join(f"<td>{esc(columns[n].get(k, ''))}</td>" for n in names) + "</tr>" for k in keys)
    return (f'<div class="scroll"><table class="assumptions"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>")


def _builtin_assumptions(name: str) -> dict | None:
    from ashbench.energy.models import get_energy_model, list_energy_models

    return get_energy_model(name).assumptions() if name in list_energy_models() else None


def table_html(table: Table, with_footer: bool = True) -> str:
    """``table`` as an HTML table (the cells every text format shows; right-aligned numbers), in a
    box that scrolls sideways on narrow screens; the footer lines after it."""
    head = "".join(f'<th scope="col" class="{c.align}">{breakable(c.heading)}</th>' for c in table.columns)
    body = "".join("<tr>" + "".join(f'<td class="{c.align}">{esc(v)}</td>' for c, v in zip(table.columns, row))
                   + "</tr>" for row in table.cells())
    caption = f"<caption>{esc(table.title)}</caption>" if table.title else ""
    out = (f'<div class="scroll"><table>{caption}<thead><tr>{head}</tr></thead>'
           f"<tbody>{body}</tbody></table></div>")
    return out + (lines_html(table.footer) if with_footer and table.footer else "")


def breakable(heading: str) -> str:
    """A column heading that may wrap after its underscores (hard_negative_accuracy), escaped."""
    return "_<wbr>".join(esc(part) for part in heading.split("_"))


def lines_html(lines) -> str:
    return '<ul class="notes">' + "".join(f"<li>{esc(line.strip())}</li>" for line in lines) + "</ul>"


def figure_html(fig, caption: str) -> str:
    """``fig`` as inline SVG in a ``<figure>`` with ``caption``; its ids are prefixed with a digest of
    the drawing (unique per figure, and the page stays the same from run to run)."""
    svg = figures.svg_text(fig)
    prefix = "f" + hashlib.sha1(svg.encode()).hexdigest()[:8] + "-"
    return f"<figure>{inline_svg(svg, prefix)}<figcaption>{esc(caption)}</figcaption></figure>"


def inline_svg(svg: str, prefix: str) -> str:
    """Matplotlib's SVG file text made fit to sit inside an HTML page: no XML prolog or DOCTYPE, no
    namespace declarations (the HTML parser puts ``<svg>`` in the SVG namespace), no global
    ``<style>`` (the page's CSS has it), ids prefixed with ``prefix`` so several figures never share
    one, and a ``role``/``aria-label`` for screen readers."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    svg = re.sub(r"<style[^>]*>.*?</style>", "", svg, flags=re.S)
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = re.sub(r'(xlink:href|href)="#([^"]+)"', lambda m: f'{m.group(1)}="#{prefix}{m.group(2)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
    return svg.replace("<svg ", '<svg role="img" ', 1).strip()


def section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{esc(title)}</h2>{body}</section>'


def paragraph(text: str) -> str:
    return f"<p>{esc(text)}</p>"


def esc(value) -> str:
    return html.escape(str(value), quote=True)


CSS = """
:root { color-scheme: light; --rule: #d0d4da; --muted: #5b6470; --head: #f3f5f8; }
* { box-sizing: border-box; }
body { margin: 0 auto; padding: 1.2rem 1.5rem 3rem; max-width: 84rem; color: #1d2330; background: #fff;
       font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
h1 { font-size: 1.6rem; margin: 0.4rem 0 0.2rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 0.6rem; padding-bottom: 0.2rem; border-bottom: 2px solid var(--rule); }
h3 { font-size: 1.05rem; margin: 1.3rem 0 0.4rem; }
p, .meta { max-width: 60rem; }
.meta { color: var(--muted); margin: 0 0 0.6rem; }
nav ul { list-style: none; padding: 0; margin: 0.4rem 0 0; display: flex; flex-wrap: wrap; gap: 0.3rem 1.2rem; }
nav a { color: #2456a6; text-decoration: none; }
nav a:hover { text-decoration: underline; }
.scroll { overflow-x: auto; margin: 0.5rem 0 0.8rem; border: 1px solid var(--rule); border-radius: 4px; }
table { border-collapse: collapse; font-size: 0.85rem; width: auto; min-width: 100%; }
caption { caption-side: top; text-align: left; padding: 0.35rem 0.6rem; color: var(--muted); }
th, td { padding: 0.3rem 0.5rem; border-bottom: 1px solid var(--rule); white-space: nowrap; vertical-align: baseline; }
thead th { vertical-align: bottom; }
thead th { white-space: normal; min-width: 3.5rem; }
thead th { background: var(--head); position: sticky; top: 0; }
tbody tr:nth-child(even) { background: #fafbfc; }
th.left, td.left { text-align: left; }
th.right, td.right { text-align: right; font-variant-numeric: tabular-nums; }
table.assumptions { table-layout: fixed; width: 100%; min-width: 44rem; }
table.assumptions thead th:first-child { width: 11rem; }
table.assumptions th, table.assumptions td { text-align: left; white-space: normal; vertical-align: top; }
table.assumptions tbody th { background: var(--head); font-weight: 600; }
ul.notes { font-size: 0.85rem; color: var(--muted); padding-left: 1.2rem; }
figure { margin: 0.8rem 0 1.2rem; }
figure svg { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figure svg * { stroke-linejoin: round; stroke-linecap: butt; }
figcaption { font-size: 0.85rem; color: var(--muted); text-align: center; margin-top: 0.3rem; }
@media (max-width: 40rem) { body { padding: 0.8rem; font-size: 14px; } }
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav { display: none; }
  h2 { break-after: avoid; }
  figure, tr, .assumptions { break-inside: avoid; }
  .scroll { overflow: visible; border: none; }
  table.assumptions { min-width: 0; }
  table { font-size: 6.5pt; width: 100%; min-width: 0; }
  th, td { padding: 0.1rem 0.2rem; }
  th, td.left { white-space: normal; }
  thead { display: table-header-group; }
  figure svg { max-height: 24cm; }
  a { color: inherit; text-decoration: none; }
}
"""


def page(title: str, source: str, sections: list[str]) -> str:
    anchors = re.findall(r'<section id="([^"]+)"><h2>([^<]+)</h2>', "".join(sections))
    nav = "".join(f'<li><a href="#{a}">{t}</a></li>' for a, t in anchors)
    return ("<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            f'<header><h1>{esc(title)}</h1><p class="meta">from {esc(source)}; generated by ashbench report</p>'
            f"<nav><ul>{nav}</ul></nav></header>\n<main>\n"
            + "\n".join(sections) + "\n</main>\n</body>\n</html>\n")
