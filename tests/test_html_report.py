"""``ashbench report``: a self-contained HTML page of a results folder or of one profile JSON."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from helpers import run_cli
from test_browser import SWEEP, small_results

from ashbench.report.figures import sparsity_bars_figure, svg_text
from ashbench.report.html_report import build_report, inline_svg
from ashbench.sweeps.comparison import comparison_table, load_runs, render_table

SECTIONS = ("comparison", "accuracy-vs-energy", "energy-breakdown", "sparsity", "assumptions")


class Tables(HTMLParser):
    """Every table's rows as lists of cell texts."""

    def __init__(self):
        super().__init__()
        self.tables, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables_of(page: str) -> list[list[list[str]]]:
    parser = Tables()
    parser.feed(page)
    return parser.tables


def assert_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    for banned in ("http://", "https://", "<script", "<link", "<img", "<iframe", "@import", "url(http", "//cdn"):
        assert banned not in page, banned
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "duplicate ids between inline figures"
    refs = set(re.findall(r'href="#([^"]+)"', page)) | set(re.findall(r"url\(#([^)]+)\)", page))
    assert refs <= set(ids), sorted(refs - set(ids))[:5]


@pytest.fixture
def results(tmp_path):
    return small_results(tmp_path / "sweep")


def test_results_report_is_self_contained_with_every_section(results, tmp_path):
    out = tmp_path / "report.html"
    result = run_cli("report", results, "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"wrote {out}"
    page = out.read_text()
    assert_self_contained(page)
    assert re.findall(r'<section id="([^"]+)"', page) == list(SECTIONS)
    assert page.count("<svg") == 1 + 3 + 2  # accuracy vs energy, a breakdown per energy model, bars + heatmap
    assert "@media print" in page and "overflow-x: auto" in page
    for model in ("45nm-fp32", "45nm-int8", "memory-aware"):
        assert f"<th scope=\"col\">{model}</th>" in page  # every energy model's assumptions
    assert "Horowitz, ISSCC 2014 (45 nm)" in page and "priced per 64-bit SRAM access by buffer size" in page
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_comparison_cells_equal_comparison_table(results):
    page = build_report(str(results))
    html_rows = tables_of(page)[0]
    frame = load_runs(str(results / "runs.csv"))
    table = comparison_table(frame, energy_spread=True)
    markdown = render_table(table, "markdown", interval="ci").splitlines()
    md_rows = [[c.strip().replace(r"\|", "|") for c in line.strip("|").split(" | ")]
               for line in markdown[2:] if line.startswith("|")]  # the table rows, not the footer notes
    header = [c.strip() for c in markdown[0].strip("| ").split(" | ")]
    assert html_rows[0] == header
    assert html_rows[1:] == md_rows
    # the numbers themselves: mean ± 95% t-interval half-width over the seeds, per configuration
    assert table["n"].tolist() == [2, 2]
    col = header.index("t2i_r1")
    for row, (_, expect) in zip(html_rows[1:], table.iterrows()):
        assert row[col] == f"{expect['t2i_r1']:.1f} ± {expect['t2i_r1_ci']:.1f}"
        energy = f"{expect['energy_pj'] / 1e6:.3g} ± {expect['energy_pj_ci'] / 1e6:.3g}"
        assert row[header.index("energy (µJ)")] == energy
        assert row[-1] == str(expect["n"])


def test_profile_report(tmp_path):
    out = tmp_path / "p.html"
    result = run_cli("report", SWEEP / "ashnet_default_profile.json", "-o", out)
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert_self_contained(page)
    assert re.findall(r'<section id="([^"]+)"', page) == ["tables", "sparsity", "assumptions"]
    assert page.count("<svg") == 2
    assert "totals: dense_macs" in page and "energy [45nm-fp32]" in page and "By branch" in page


def test_profile_without_energy_and_default_output(tmp_path):
    profile = tmp_path / "run.json"
    shutil.copy(next(iter(sorted((SWEEP / "profiles").glob("*.json")))), profile)
    result = run_cli("report", profile)
    assert result.exit_code == 0, result.output
    page = (tmp_path / "run.html").read_text()
    assert "No energy model priced these results." in page


def test_results_folder_with_profiles_only(tmp_path):
    folder = small_results(tmp_path / "sweep")
    (folder / "ashnet_default_profile.json").rename(tmp_path / "elsewhere.json")
    (folder / "profiles").mkdir()
    shutil.copy(tmp_path / "elsewhere.json", folder / "profiles" / "a.json")
    page = build_report(str(folder))
    assert "From profiles/a.json" in page
    (folder / "profiles" / "a.json").unlink()
    assert "No profile JSON in" in build_report(str(folder))


def test_inline_svg_has_no_prolog_namespaces_or_shared_ids():
    doc = json.loads((SWEEP / "ashnet_default_profile.json").read_text())
    svg = svg_text(sparsity_bars_figure(doc))
    assert svg.startswith("<?xml") and "<metadata" not in svg  # a valid SVG file, without the metadata block
    inline = inline_svg(svg, "x-")
    assert inline.startswith('<svg role="img"') and "xmlns" not in inline and "<style" not in inline
    assert all(i.startswith("x-") for i in re.findall(r'\bid="([^"]+)"', inline))


def _bad_inputs(tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    no_runs = tmp_path / "no_runs"
    no_runs.mkdir()
    (no_runs / "notes.txt").write_text("x")
    not_profile = tmp_path / "other.json"
    not_profile.write_text('{"rows": []}')
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    empty_runs = tmp_path / "empty_runs"
    empty_runs.mkdir()
    (empty_runs / "runs.csv").write_text("")
    good = small_results(tmp_path / "good")
    return [
        ([empty], "is empty"),
        ([no_runs], "has no runs.csv"),
        ([empty_runs], "is not an ashbench runs table"),
        ([not_profile], "is not an ashbench energy JSON report"),
        ([bad_json], "bad.json"),
        ([tmp_path / "missing"], "not found"),
        ([good, "-o", tmp_path / "nofolder" / "r.html"], "output folder does not exist"),
        ([good, "-o", tmp_path], "output path is a folder"),
        ([good, "-o", "/proc/r.html"], "cannot write in /proc"),
    ]


def test_bad_inputs_are_one_line_exit_2_and_write_nothing(tmp_path):
    for args, message in _bad_inputs(tmp_path):
        before = sorted(p for p in tmp_path.rglob("*"))
        result = run_cli("report", *args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stdout == ""
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
        assert message in result.stderr, (message, result.stderr)
        assert sorted(p for p in tmp_path.rglob("*")) == before, args  # nothing written


def test_committed_report_is_current_and_self_contained():
    page = (SWEEP / "report.html").read_text()
    assert_self_contained(page)
    assert re.findall(r'<section id="([^"]+)"', page) == list(SECTIONS)
    assert tables_of(page) == tables_of(build_report(str(SWEEP))), "regenerate: ashbench report results/ashnets"
