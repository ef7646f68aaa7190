"""Comparison tables (exact means, stds and ratios on a hand-made runs table) and headless plots."""

import math

import pytest
from helpers import run_cli

from ashbench.errors import ResultsError
from ashbench.report.figures import pareto_front
from ashbench.sweeps.comparison import comparison_table, load_runs, render_table
from ashbench.sweeps.runs_table import SCHEMA, append_row, read_rows


def _row(run_id, mode, seed, r1, energy, synops, macs):
    parts = {"ann": energy - synops * 0.9, "snn": synops * 0.9, "neuron": 0.0, "memory": 0.0}
    row = {"run_id": run_id, "label": f"mode={mode},seed={seed}", "axis:mode": mode, "axis:seed": seed,
           "t2i_r1": r1, "i2t_r1": r1, "mean_recall": r1 + 10, "hard_negative_accuracy": 50.0,
           "synops": synops, "macs": macs, "firing_rate": 0.1 if synops else 0.0, "energy_pj:45nm-fp32": energy}
    row.update({f"energy_{k}_pj:45nm-fp32": v for k, v in parts.items()})
    return row


@pytest.fixture
def runs_csv(tmp_path):
    path = tmp_path / "runs.csv"
    for row in [_row("a0", "ann", 0, 40.0, 4600.0, 0, 1000), _row("a1", "ann", 1, 50.0, 4600.0, 0, 1000),
                _row("h0", "hybrid", 0, 44.0, 2300.0, 1000, 300), _row("h1", "hybrid", 1, 46.0, 2760.0, 1200, 300)]:
        append_row(path, row)
    return path


def test_runs_table_appends_atomically_and_replaces_same_id(tmp_path):
    path = tmp_path / "runs.csv"
    append_row(path, {"run_id": "x", "label": "a", "v": 1})
    append_row(path, {"run_id": "y", "label": "b", "v": 2, "w": 3})
    append_row(path, {"run_id": "x", "label": "a", "v": 5})
    rows = read_rows(path)
    assert [(r["run_id"], r["v"]) for r in rows] == [("y", "2"), ("x", "5")]
    assert all(r["schema"] == SCHEMA for r in rows)
    assert [p.name for p in tmp_path.iterdir()] == ["runs.csv"]  # no temp files left


def test_comparison_table_means_stds_and_ratios(runs_csv):
    table = comparison_table(load_runs(str(runs_csv)), baseline="mode=ann").set_index("mode")
    # ann: t2i_r1 mean (40 + 50) / 2 = 45, sample std sqrt(((40-45)^2 + (50-45)^2) / 1) = sqrt(50) = 7.0711
    assert table.loc["ann", "t2i_r1"] == 45.0
    assert table.loc["ann", "t2i_r1_std"] == pytest.approx(math.sqrt(50))
    # hybrid energy mean (2300 + 2760) / 2 = 2530 pJ -> 2530 / 4600 = 0.55 of the ANN baseline
    assert table.loc["hybrid", "energy_pj"] == 2530.0
    assert table.loc["hybrid", "energy_x"] == pytest.approx(0.55)
    # ops: hybrid macs 300 + synops mean 1100 = 1400 vs ann 1000 + 0 -> 1.4; delta R@1 45 - 45 = 0
    assert table.loc["hybrid", "ops_x"] == pytest.approx(1.4)
    assert table.loc["hybrid", "t2i_r1_delta"] == 0.0
    assert table.loc["hybrid", "n"] == 2


def test_table_sorting_and_formats(runs_csv):
    table = comparison_table(load_runs(str(runs_csv)), sort="energy_pj")
    assert list(table["mode"]) == ["hybrid", "ann"]
    md = render_table(table, "markdown")
    assert "| mode |" in md and "45.0 ± 7.1" in md
    assert r"\begin{tabular}" in render_table(table, "latex")
    assert render_table(table, "csv").startswith("mode,config,")


def test_table_errors(runs_csv, tmp_path):
    with pytest.raises(ResultsError, match="matches 0 rows"):
        comparison_table(load_runs(str(runs_csv)), baseline="mode=snn")
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    result = run_cli("table", str(other))
    assert result.exit_code == 2 and "not an ashbench runs table" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_table_cli_writes_output(runs_csv, tmp_path):
    out = tmp_path / "t.md"
    result = run_cli("table", str(runs_csv), "--baseline", "mode=ann", "-f", "markdown", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "energy_x" in out.read_text()


def test_pareto_front():
    # (energy, accuracy): b dominates a? no: a cheaper; c dominated by b (more energy, less accuracy)
    points = [(1.0, 40.0), (2.0, 50.0), (3.0, 45.0), (4.0, 60.0)]
    assert pareto_front(points) == [0, 1, 3]


def test_plots_are_written_headless(runs_csv, tmp_path):
    for args in (["pareto", str(runs_csv)], ["breakdown", str(runs_csv), "-e", "45nm-fp32"]):
        out = tmp_path / args[0]
        result = run_cli("plot", *args, "-o", str(out))
        assert result.exit_code == 0, result.output
        assert (tmp_path / f"{args[0]}.png").stat().st_size > 1000
        assert (tmp_path / f"{args[0]}.svg").read_text().lstrip().startswith("<?xml")


def test_sparsity_and_raster_plots(tmp_path):
    report = tmp_path / "p.json"
    assert run_cli("energy", "-m", "test-hybrid-tiny", "-f", "json", "-o", str(report)).exit_code == 0
    result = run_cli("plot", "sparsity", str(report), "-o", str(tmp_path / "sp"))
    assert result.exit_code == 0, result.output
    assert {p.name for p in tmp_path.glob("sp-*.png")} == {"sp-bars.png", "sp-heatmap.png"}
    result = run_cli("plot", "raster", "-m", "test-hybrid-tiny", "-o", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r.png").exists()


def test_plot_needs_columns(tmp_path):
    path = tmp_path / "runs.csv"
    append_row(path, {"run_id": "x", "label": "a", "axis:mode": "ann", "t2i_r1": 1})
    result = run_cli("plot", "pareto", str(path), "-o", str(tmp_path / "p"))
    assert result.exit_code == 2 and "lack" in result.output
    assert not list(tmp_path.glob("p.*"))
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    result = run_cli("plot", "sparsity", str(bad))
    assert result.exit_code == 2 and "is not JSON" in result.output


@pytest.mark.parametrize("args,message", [
    (["--layer", "no.such.layer"], "unknown spiking layer 'no.such.layer'; spiking layers: snn.lif1"),
    (["--neurons", "0"], "--neurons must be >= 1"),
    (["-m", "no-such-model"], "unknown model 'no-such-model'"),
])
def test_raster_bad_input(tmp_path, args, message):
    base = ["plot", "raster", "-o", str(tmp_path / "r")]
    result = run_cli(*base, *(args if "-m" in args else ["-m", "test-hybrid-tiny", *args]))
    assert result.exit_code == 2 and message in result.output, result.output
    assert not list(tmp_path.iterdir())


def test_raster_of_a_model_without_spiking_layers(tmp_path):
    import torch

    from ashbench.errors import InputError
    from ashbench.profiler.raster import capture_raster

    with pytest.raises(InputError, match="no spiking-neuron layers"):
        capture_raster(torch.nn.Linear(2, 2), (torch.rand(1, 2),))


def test_comparison_table_shows_energy_in_microjoules_and_csv_keeps_picojoules(runs_csv):
    table = comparison_table(load_runs(str(runs_csv)))
    md = render_table(table, "markdown").splitlines()
    header = [c.strip() for c in md[0].strip("|").split("|")]
    hybrid = [c.strip() for c in md[3].strip("|").split("|")]
    # hybrid energy: mean (2300 + 2760) / 2 = 2530 pJ = 0.00253 µJ; sample std sqrt(2 * 230^2) = 325.3 pJ
    assert hybrid[header.index("energy (µJ)")] == "0.00253 ± 0.000325"
    csv_rows = render_table(table, "csv").splitlines()
    assert "energy_pj" in csv_rows[0].split(",") and ",2530.0," in csv_rows[2]
