"""The one table renderer (every format, exact), the energy report's units, depth and width, the
figures' registry and their independence from pyplot and torch."""

import json
import os
import subprocess
import sys

import pytest
from helpers import run_cli

from ashbench.errors import InputError
from ashbench.report import profile_report
from ashbench.report.figures import PLOTS, save
from ashbench.report.tables import FORMATS, Column, Table, render

# 2 columns x 2 rows: a left-aligned name and an energy given in pJ, shown in nJ (pJ / 1000, 3 digits)
TWO_BY_TWO = Table([Column("name", "layer", "left"),
                    Column("energy_pj", "energy (nJ)", "right", lambda pj: f"{pj / 1e3:.3g}")],
                   [["conv_1", 1500.0], ["lif", 250.0]], title="demo", footer=["per sample, 5% spikes"])


def widest_line_bytes(text: str) -> int:
    """Widest line in UTF-8 bytes, as `awk '{ print length }'` (mawk) measures it; >= characters."""
    return max(len(line.encode("utf-8")) for line in text.splitlines())


def test_markdown_is_exact():
    # title in bold, ':---' for the left column and '---:' for the right one; 1500 pJ = 1.5 nJ, 250 pJ = 0.25 nJ
    assert render(TWO_BY_TWO, "markdown") == (
        "**demo**\n\n"
        "| layer | energy (nJ) |\n"
        "| :--- | ---: |\n"
        "| conv_1 | 1.5 |\n"
        "| lif | 0.25 |\n\n"
        "- per sample, 5% spikes\n")


def test_csv_is_exact_and_raw():
    # keys as headers and the raw pJ values, unformatted; no title, no footer
    assert render(TWO_BY_TWO, "csv") == "name,energy_pj\nconv_1,1500.0\nlif,250.0\n"


def test_latex_is_exact():
    # l/r from the alignments; '_' escaped in cells; title and footer as comments
    assert render(TWO_BY_TWO, "latex") == (
        "% demo\n"
        "\\begin{tabular}{lr}\n\\toprule\n"
        "layer & energy (nJ) \\\\\n\\midrule\n"
        "conv\\_1 & 1.5 \\\\\n"
        "lif & 0.25 \\\\\n"
        "\\bottomrule\n\\end{tabular}\n"
        "% per sample, 5% spikes\n")


def test_rich_table_headers_cells_and_width():
    text = render(TWO_BY_TWO, "table")
    lines = text.splitlines()
    header = next(line for line in lines if "layer" in line)
    assert "energy (nJ)" in header
    row = next(line for line in lines if "conv_1" in line)
    # right alignment: the cell '1.5' ends where its header 'energy (nJ)' ends
    assert row.rstrip().endswith("1.5") and len(row.rstrip()) == len(header.rstrip())
    assert any("0.25" in line for line in lines)
    assert lines[0].strip() == "demo" and lines[-1] == "per sample, 5% spikes"
    assert widest_line_bytes(text) <= TWO_BY_TWO.width


def test_rich_table_keeps_to_its_width():
    # 3 text columns of 60 characters (3 * 60 + separators > 100): text columns wrap to fit 100
    wide = Table([Column(k, align="left") for k in "abc"], [["x" * 60] * 3], width=100)
    assert widest_line_bytes(render(wide, "table")) <= 100


@pytest.mark.parametrize("fmt", FORMATS.names())
def test_every_format_shows_every_row(fmt):
    text = render(TWO_BY_TWO, fmt)
    assert "conv" in text and "lif" in text
    # csv shows the raw pJ, every other format the nJ cell
    assert ("1500.0" if fmt == "csv" else "1.5") in text


def test_unknown_format_names_the_valid_ones():
    valid = "valid table formats: csv, latex, markdown, table"
    with pytest.raises(InputError, match=f"unknown table format 'yaml'; {valid}"):
        render(TWO_BY_TWO, "yaml")


@pytest.mark.parametrize("pj,header,cell", [
    (68_400_000, "energy (µJ)", "68.4"),  # 68.4e6 pJ / 1e6 pJ per µJ = 68.4 µJ
    (5_000, "energy (nJ)", "5"),  # 5e3 pJ / 1e3 pJ per nJ = 5 nJ
    (999_999, "energy (nJ)", "1,000"),  # below 1 µJ: 999.999 nJ, whole number from 100 up
    (1_234_500_000, "energy (µJ)", "1,234"),  # 1234.5 µJ (no mJ)
])
def test_energy_unit_from_the_largest_value(pj, header, cell):
    column = profile_report.energy_column([pj, 0.0])
    assert (column.header, column.fmt(pj), column.fmt(0.0)) == (header, cell, "0")


def _doc() -> dict:
    """A hand-made report: (model) > a > a.b > a.b.c (depths 0..3), 68.4 µJ in a.b.c, 0.9 µJ in a."""
    counts = {"params": 10, "dense_macs": 2_000, "macs": 1_000, "synops": 300, "elementwise_ops": 7,
              "neuron_updates": 40, "spikes": 4, "firing_rate": 0.1}
    layers = [{"module": m, "type": t, "branch": "ann", "depth": d, **counts}
              for m, t, d in (("", "Net", 0), ("a", "Block", 1), ("a.b", "Seq", 2), ("a.b.c", "Linear", 3))]
    energy = {"model": "45nm-fp32", "total_pj": 69_300_000.0, "breakdown_pj": {"ann": 69_300_000.0},
              "per_layer_pj": {"a": 900_000.0, "a.b.c": 68_400_000.0},
              "assumptions": {"bit_width": 32, "mac_pj": 4.6, "ac_pj": 0.9, "neuron_updates": "not counted",
                              "memory": "not counted", "source": "test"}}
    return {"model": "hand", "batch_size": 1, "timesteps": 4, "spikes": "binary", "totals": counts,
            "branches": {"ann": counts}, "layers": layers, "by_operator": {}, "energy": [energy]}


def test_report_table_rows_to_depth_2_with_a_note_and_energy_in_uj():
    table = profile_report.report_table(_doc(), "table")
    # a.b.c (depth 3) is left out; (model) = 68.4 + 0.9 = 69.3 µJ, a and a.b include a.b.c
    assert [row[0] for row in table.rows] == ["(model)", "a", "a.b"]
    energy = table.columns[-1]
    assert energy.header == "energy (µJ)" and [energy.fmt(row[-1]) for row in table.rows] == ["69.3", "69.3", "68.4"]
    assert table.footer[0] == ("rows: depth <= 2 and the spiking-neuron layers (3 of 4 modules); "
                               "--depth N or --format csv for more")
    assert [c.key for c in table.columns] == [*profile_report.BRIEF_MODULE_COLUMNS, "energy_pj"]


def test_report_table_keeps_a_deep_spiking_neuron_layer_by_default_but_not_under_an_explicit_depth():
    doc = _doc()
    doc["layers"][3]["branch"] = "neuron"  # a.b.c (depth 3) is a spiking-neuron layer
    assert [row[0] for row in profile_report.report_table(doc, "table").rows] == ["(model)", "a", "a.b", "a.b.c"]
    assert [row[0] for row in profile_report.report_table(doc, "table", depth=2).rows] == ["(model)", "a", "a.b"]


def test_report_csv_and_json_keep_every_row_and_exact_numbers():
    csv_lines = profile_report.render(_doc(), "csv").splitlines()
    assert csv_lines[0] == ",".join([*profile_report.MODULE_COLUMNS, "energy_pj"])
    # 4 modules; energy of a.b.c exact in pJ
    assert len(csv_lines) == 5 and csv_lines[-1].startswith("a.b.c,Linear,") and csv_lines[-1].endswith(",68400000.0")
    assert len(json.loads(profile_report.render(_doc(), "json"))["layers"]) == 4
    # an explicit depth applies to csv and json too
    assert len(profile_report.render(_doc(), "csv", depth=1).splitlines()) == 1 + 2
    assert len(json.loads(profile_report.render(_doc(), "json", depth=1))["layers"]) == 2


def test_report_formats_are_the_renderer_formats_and_json():
    assert sorted(profile_report.FORMATS) == sorted([*FORMATS.names(), "json"])


@pytest.mark.parametrize("args", [["--model", "test-hybrid-tiny"], [], ["--model", "hybrid-demo"],
                                  ["--model", "hybrid-demo", "--by", "op"]])
def test_energy_table_fits_120_columns(args):
    result = run_cli("energy", *args)
    assert result.exit_code == 0, result.output
    assert widest_line_bytes(result.stdout) <= 120, result.stdout
    if "--by" not in args:
        assert "energy (µJ)" in result.stdout or "energy (nJ)" in result.stdout
        assert "rows: depth <= 2 and the spiking-neuron layers (" in result.stdout  # every one has deeper modules


IMPORT_CHECK = """
import json, sys, tempfile
import ashbench.report.figures, ashbench.report.tables, ashbench.report.profile_report, ashbench.sweeps.comparison
import matplotlib
state = {"torch": "torch" in sys.modules, "backend_after_import": matplotlib.get_backend()}
ashbench.report.figures.PLOTS.get("raster")({"layer": "l", "times": [0, 1], "neurons": [0, 1], "n_neurons": 2,
                                              "timesteps": 2}, tempfile.mkdtemp() + "/r")
state.update(backend_after_plot=matplotlib.get_backend(), pyplot="matplotlib.pyplot" in sys.modules)
print(json.dumps(state))
"""


def test_report_modules_import_no_torch_and_leave_the_matplotlib_backend():
    env = {**os.environ, "MPLBACKEND": "svg"}
    out = subprocess.run([sys.executable, "-c", IMPORT_CHECK], capture_output=True, text=True, env=env, check=True)
    assert json.loads(out.stdout) == {"torch": False, "backend_after_import": "svg", "backend_after_plot": "svg",
                                      "pyplot": False}


PROFILE = {"model": "m", "timesteps": 3, "layers": [
    {"module": "", "branch": "mixed", "dense_macs": 10, "macs": 6, "synops": 2, "firing_rate": 0.2,
     "firing_rate_per_step": [0.1, 0.2, 0.3]},
    {"module": "fc", "branch": "ann", "dense_macs": 6, "macs": 6, "synops": 0, "firing_rate": 0.0,
     "firing_rate_per_step": []},
    {"module": "lif", "branch": "neuron", "dense_macs": 0, "macs": 0, "synops": 0, "firing_rate": 0.2,
     "firing_rate_per_step": [0.1, 0.2, 0.3]}]}
PLOT_SAMPLES = {
    "curves": (([{"name": "a", "mode": "hybrid", "train": [(1, 5.0), (2, 4.0)], "val": [(2, 30.0)],
                  "metric": "retrieval_truth.mean_recall", "selected_step": 2}],), {}),
    "sparsity-bars": ((PROFILE,), {}),
    "sparsity-heatmap": ((PROFILE,), {}),
    "raster": (({"layer": "lif", "times": [0, 1, 2], "neurons": [0, 3, 1], "n_neurons": 4, "timesteps": 3},), {}),
    "pareto": (({"energy_pj": [1e6, 2e6, 3e6], "t2i_r1": [40.0, 50.0, 45.0], "label": ["a", "b", "c"]},), {}),
    "breakdown": (({"ann": [1e6, 2e6], "snn": [0.0, 5e5], "neuron": [0.0, 0.0], "memory": [1e5, 1e5]}, ["a", "b"]),
                  {"model": "45nm-fp32"}),
}


def test_every_plot_kind_has_a_sample():
    assert sorted(PLOT_SAMPLES) == PLOTS.names()


@pytest.mark.parametrize("kind", PLOTS.names())
def test_every_plot_kind_writes_png_and_svg(kind, tmp_path):
    args, kwargs = PLOT_SAMPLES[kind]
    # a stem with a dot: the extensions are appended to the whole stem
    paths = PLOTS.get(kind)(*args, str(tmp_path / "fig.v2"), **kwargs)
    assert paths == [str(tmp_path / "fig.v2.png"), str(tmp_path / "fig.v2.svg")]
    assert (tmp_path / "fig.v2.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "fig.v2.svg").read_text().lstrip().startswith("<?xml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.v2.png", "fig.v2.svg"]  # no temp files left


def test_save_drops_an_image_extension_from_the_stem(tmp_path):
    from ashbench.report.figures import new_figure

    fig, ax = new_figure(2, 2)
    ax.plot([0, 1], [0, 1])
    assert save(fig, str(tmp_path / "fig.png")) == [str(tmp_path / "fig.png"), str(tmp_path / "fig.svg")]


def test_unknown_plot_kind_names_the_valid_ones():
    valid = "breakdown, curves, pareto, raster"
    with pytest.raises(InputError, match=f"unknown plot kind 'pie'; valid plot kinds: {valid}"):
        PLOTS.get("pie")
