"""The energy spread over several energy models: exact spreads of hand-made profiles and runs tables,
``ashbench energy -e all``, ``ashbench table --energy-spread`` and ``ashbench plot pareto --energy-band``."""

import json

import pytest
from helpers import run_cli

from ashbench.energy import estimate_energy, list_energy_models
from ashbench.energy.models import ComputeModel, MemoryAwareModel
from ashbench.energy.spread import SPREAD_PARTS, energy_spread, expand_energy_models
from ashbench.errors import ResultsError
from ashbench.report import figures, profile_report, tables
from ashbench.report.spread_report import spread_table, spread_text
from ashbench.sweeps.comparison import comparison_table, load_runs, render_table
from ashbench.sweeps.runs_table import append_row

ZERO = dict.fromkeys(["dense_macs", "macs", "synops", "elementwise_ops", "weight_read_bytes", "activation_read_bytes",
                      "activation_write_bytes", "neuron_updates", "spikes", "membrane_read_bytes",
                      "membrane_write_bytes"], 0)


def _row(module, params=0, neurons=0, timesteps=1, **own):
    return {"module": module, "params": params, "neurons": neurons, "timesteps": timesteps,
            "self": {**ZERO, **own}, "self_branch_elementwise": {}}


# conv: 1000 MACs; fc: 200 synops, 50 params (200 bytes at 32 bits); lif: 40 updates, no traffic
PROFILE = {"layers": [_row("conv", params=100, macs=1000), _row("fc", params=50, synops=200),
                      _row("lif", neurons=10, timesteps=4, neuron_updates=40, spikes=8)]}
# prices that are exact in binary, so every expected value below is exact
MODELS = [
    ComputeModel(name="cheap", mac_pj=0.5, ac_pj=0.25),  # ann 500, snn 50 -> 550
    ComputeModel(name="dense-heavy", mac_pj=4.0, ac_pj=1.0, neuron_update_pj=0.5),  # 4000, 200, 20 -> 4220
    # ann 1000 * (1.5 + 0.5) = 2000; snn 200 * 2 * 0.5 = 200; neuron 40 * 2 = 80; memory: each of fc's
    # 200 events reads a 32-bit weight (half a 64-bit access) and reads + writes an accumulator, all from
    # buffers <= 8 KiB at 8 pJ: 200 * 0.5 * (8 + 2 * 8) = 2400 -> total 4680
    MemoryAwareModel(name="mem", add_pj=0.5, mult_pj=1.5, memory=((8192, 8.0),)),
    ComputeModel(name="tie-cheap", mac_pj=0.5, ac_pj=0.25),  # the same as cheap: ties on every part
]


def _spread():
    return energy_spread([estimate_energy(PROFILE, m) for m in MODELS])


def test_spread_of_a_hand_made_profile():
    spread = _spread()
    assert spread["models"] == ["cheap", "dense-heavy", "mem", "tie-cheap"]
    assert list(spread["parts"]) == list(SPREAD_PARTS) == ["ann", "snn", "neuron", "memory", "total"]
    assert spread["parts"] == {
        "ann": {"min_pj": 500.0, "min_models": ["cheap", "tie-cheap"], "max_pj": 4000.0,
                "max_models": ["dense-heavy"], "max_over_min": 8.0},
        "snn": {"min_pj": 50.0, "min_models": ["cheap", "tie-cheap"], "max_pj": 200.0,
                "max_models": ["dense-heavy", "mem"], "max_over_min": 4.0},  # a tie at the top too
        "neuron": {"min_pj": 0.0, "min_models": ["cheap", "tie-cheap"], "max_pj": 80.0, "max_models": ["mem"],
                   "max_over_min": None},  # min 0: no ratio
        "memory": {"min_pj": 0.0, "min_models": ["cheap", "dense-heavy", "tie-cheap"], "max_pj": 2400.0,
                   "max_models": ["mem"], "max_over_min": None},
        # the total's extremes are model totals: mem (4680) tops the total although dense-heavy tops ann
        "total": {"min_pj": 550.0, "min_models": ["cheap", "tie-cheap"], "max_pj": 4680.0, "max_models": ["mem"],
                  "max_over_min": 4680.0 / 550.0},
    }


def test_spread_needs_a_model():
    with pytest.raises(ValueError, match="at least one"):
        energy_spread([])


def test_all_expands_to_every_builtin_model_lead_first_without_duplicates():
    builtins = list_energy_models()
    assert expand_energy_models(["all"]) == builtins
    assert expand_energy_models(["all"], lead=("45nm-fp32",)) == ["45nm-fp32"] + [m for m in builtins
                                                                                  if m != "45nm-fp32"]
    rest = [m for m in builtins if m != "memory-aware"]
    assert expand_energy_models(["x.toml", "memory-aware", "all", "x.toml"]) == ["x.toml", "memory-aware", *rest]
    assert expand_energy_models(["45nm-fp32", "45nm-fp32"]) == ["45nm-fp32"]


def test_spread_table_in_markdown():
    # largest 4680 pJ < 1e6 pJ: nJ; ratios with 3 significant digits; 3 tied models: 2 names + "+1 tied"
    assert tables.render(spread_table(_spread()), "markdown") == "\n".join([
        "**energy spread over 4 energy models (per sample)**",
        "",
        "| part | min (nJ) | min model | max (nJ) | max model | max/min |",
        "| :--- | ---: | :--- | ---: | :--- | ---: |",
        "| ann | 0.5 | cheap, tie-cheap | 4 | dense-heavy | 8x |",
        "| snn | 0.05 | cheap, tie-cheap | 0.2 | dense-heavy, mem | 4x |",
        "| neuron | 0 | cheap, tie-cheap | 0.08 | mem |  |",
        "| memory | 0 | cheap, dense-heavy +1 tied | 2.4 | mem |  |",
        "| total | 0.55 | cheap, tie-cheap | 4.68 | mem | 8.51x |",
        "",
        "- models: cheap, dense-heavy, mem, tie-cheap",
        "- total: the lowest and highest model total (not the sum of the parts' extremes); max/min empty where "
        "the minimum is 0",
    ]) + "\n"


def test_spread_unit_is_uj_from_1e6_pj():
    spread = energy_spread([{"model": "m", "total_pj": 2.5e6, "breakdown_pj": {"ann": 2.5e6, "snn": 0.0,
                                                                                 "neuron": 0.0, "memory": 0.0}}])
    table = spread_table(spread)
    assert table.columns[1].header == "min (µJ)" and table.columns[1].fmt(2.5e6) == "2.5"


@pytest.fixture(scope="module")
def all_doc():
    from ashbench.profiler.measure import energy_report

    return energy_report("test-hybrid-tiny", energy_models=["all"])


def test_energy_all_prices_every_builtin_and_adds_the_spread(all_doc):
    names = [e["model"] for e in all_doc["energy"]]
    assert names == expand_energy_models(["all"], lead=("45nm-fp32",)) and names[0] == "45nm-fp32"
    assert all_doc["spread"] == energy_spread(all_doc["energy"])
    for part, row in all_doc["spread"]["parts"].items():
        values = {e["model"]: e["total_pj"] if part == "total" else e["breakdown_pj"][part] for e in all_doc["energy"]}
        assert row["min_pj"] == min(values.values()) and row["max_pj"] == max(values.values())
        assert row["min_models"] == [m for m in names if values[m] == row["min_pj"]]
        assert row["max_models"] == [m for m in names if values[m] == row["max_pj"]]


def test_the_report_shows_the_spread_in_text_formats_and_json_but_not_csv(all_doc):
    for fmt in ("table", "markdown", "latex"):
        assert f"energy spread over {len(all_doc['energy'])} energy models" in profile_report.render(all_doc, fmt)
    assert json.loads(profile_report.render(all_doc, "json"))["spread"] == all_doc["spread"]
    assert "spread" not in profile_report.render(all_doc, "csv")
    assert spread_text({k: v for k, v in all_doc.items() if k != "spread"}, "markdown") == ""
    markdown = profile_report.render(all_doc, "markdown")
    assert markdown.endswith(spread_text(all_doc, "markdown"))


def test_energy_cli_all_with_a_repeated_model_and_one_model_without_spread(tmp_path):
    out = tmp_path / "r.json"
    result = run_cli("energy", "-m", "test-hybrid-tiny", "-e", "45nm-int8", "-e", "all", "-e", "45nm-int8",
                     "-f", "json", "-o", out)
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert [e["model"] for e in doc["energy"]] == ["45nm-int8", *(m for m in expand_energy_models(
        ["all"], lead=("45nm-fp32",)) if m != "45nm-int8")]
    assert doc["spread"]["models"] == [e["model"] for e in doc["energy"]]
    result = run_cli("energy", "-m", "test-hybrid-tiny", "-f", "json", "-o", out)
    assert result.exit_code == 0 and "spread" not in json.loads(out.read_text())


def test_energy_cli_unknown_model_beside_all_is_one_line(tmp_path):
    result = run_cli("energy", "-m", "test-hybrid-tiny", "-e", "all", "-e", "7nm-magic")
    assert result.exit_code == 2 and result.output.startswith("error: unknown energy model '7nm-magic'")
    assert len(result.output.strip().splitlines()) == 1


# -- the runs table ----------------------------------------------------------------------------------
def _run(run_id, mode, seed, r1, energies):
    row = {"run_id": run_id, "label": f"mode={mode},seed={seed}", "axis:mode": mode, "axis:seed": seed,
           "t2i_r1": r1, "i2t_r1": r1, "mean_recall": r1 + 10, "hard_negative_accuracy": 50.0, "synops": 100,
           "macs": 1000, "firing_rate": 0.1}
    row.update({f"energy_pj:{m}": v for m, v in energies.items()})
    return row


@pytest.fixture
def runs_csv(tmp_path):
    path = tmp_path / "runs.csv"
    for run in [_run("a0", "ann", 0, 40.0, {"45nm-fp32": 4600.0, "memory-aware": 8000.0, "45nm-int8": 230.0}),
                _run("a1", "ann", 1, 50.0, {"45nm-fp32": 4600.0, "memory-aware": 8000.0, "45nm-int8": 230.0}),
                _run("h0", "hybrid", 0, 44.0, {"45nm-fp32": 2300.0, "memory-aware": 6000.0, "45nm-int8": 100.0}),
                _run("h1", "hybrid", 1, 46.0, {"45nm-fp32": 2760.0, "memory-aware": 7000.0, "45nm-int8": 140.0})]:
        append_row(path, run)
    return path


def test_comparison_table_energy_spread_and_ratio_range(runs_csv):
    table = comparison_table(load_runs(str(runs_csv)), baseline="mode=ann", energy_spread=True).set_index("mode")
    # per-model means over seeds: ann 4600 / 8000 / 230; hybrid (2300+2760)/2 = 2530, (6000+7000)/2 = 6500,
    # (100+140)/2 = 120
    assert table.loc["hybrid", ["energy_pj:45nm-fp32", "energy_pj:memory-aware", "energy_pj:45nm-int8"]].tolist() == [
        2530.0, 6500.0, 120.0]
    assert table.loc["ann", ["energy_min_pj", "energy_min_model", "energy_max_pj", "energy_max_model"]].tolist() == [
        230.0, "45nm-int8", 8000.0, "memory-aware"]
    assert table.loc["hybrid", ["energy_min_pj", "energy_min_model", "energy_max_pj", "energy_max_model"]].tolist() == [
        120.0, "45nm-int8", 6500.0, "memory-aware"]
    # ratio to the ANN under each model: fp32 2530/4600 = 0.55, memory-aware 6500/8000 = 0.8125,
    # int8 120/230 = 0.5217...: "saves 18.75% to 47.8%", depending on the estimator
    ratio_range = ["energy_x_min", "energy_x_min_model", "energy_x_max", "energy_x_max_model"]
    assert table.loc["hybrid", ratio_range].tolist() == [120.0 / 230.0, "45nm-int8", 0.8125, "memory-aware"]
    # the baseline's ratios are all 1: every model ties
    assert table.loc["ann", ["energy_x_min", "energy_x_min_model", "energy_x_max"]].tolist() == [
        1.0, "45nm-fp32, memory-aware, 45nm-int8", 1.0]
    assert table.loc["hybrid", "energy_pj"] == 2530.0 and table.loc["hybrid", "energy_x"] == 2530.0 / 4600.0


def test_comparison_table_without_the_option_is_unchanged(runs_csv):
    table = comparison_table(load_runs(str(runs_csv)))
    assert not [c for c in table.columns if c.startswith(("energy_pj:", "energy_min", "energy_max"))]


def test_spread_rendered_in_markdown_and_csv(runs_csv):
    table = comparison_table(load_runs(str(runs_csv)), baseline="mode=ann", energy_spread=True)
    md = render_table(table, "markdown")
    header = md.splitlines()[0]
    assert "| energy min–max (µJ) | min / max model |" in header and "| energy_x min–max | energy_x min / max model |" \
        in header
    # hybrid: 120 pJ = 0.00012 µJ .. 6500 pJ = 0.0065 µJ; ratios 0.522 .. 0.812
    assert "| 0.00012–0.0065 | 45nm-int8 / memory-aware |" in md
    assert "| 0.522–0.812 | 45nm-int8 / memory-aware |" in md
    assert "| 1–1 | 45nm-fp32 +2 tied / 45nm-fp32 +2 tied |" in md  # the baseline
    csv_header = render_table(table, "csv").splitlines()[0].split(",")
    assert {"energy_pj:45nm-int8", "energy_min_pj", "energy_min_model", "energy_max_pj", "energy_max_model",
            "energy_x_min", "energy_x_min_model", "energy_x_max", "energy_x_max_model"} <= set(csv_header)


def test_table_cli_energy_spread(runs_csv):
    result = run_cli("table", str(runs_csv), "--energy-spread", "--baseline", "mode=ann", "-f", "markdown")
    assert result.exit_code == 0, result.output
    assert "| 0.00023–0.008 | 45nm-int8 / memory-aware |" in result.stdout  # ann: 230 .. 8000 pJ


def test_spread_needs_numbers_in_every_energy_column(runs_csv):
    append_row(runs_csv, {**_run("h2", "hybrid", 2, 45.0, {"45nm-fp32": 2000.0, "memory-aware": 6000.0}),
                          "energy_pj:45nm-int8": ""})
    with pytest.raises(ResultsError, match="the energy spread needs numbers in column 'energy_pj:45nm-int8'; "
                                           "run h2 holds"):
        comparison_table(load_runs(str(runs_csv)), energy_spread=True)
    result = run_cli("table", str(runs_csv), "--energy-spread")
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1


# -- the Pareto band ---------------------------------------------------------------------------------
def test_energy_band_in_uj_and_its_errors(runs_csv):
    table = comparison_table(load_runs(str(runs_csv)), energy_spread=True)
    assert figures.energy_band(table) == ([230.0 / 1e6, 120.0 / 1e6], [8000.0 / 1e6, 6500.0 / 1e6])
    with pytest.raises(ResultsError, match="needs column 'energy_min_pj'"):
        figures.energy_band(comparison_table(load_runs(str(runs_csv))))
    with pytest.raises(ResultsError, match="positive energies"):
        figures.energy_band({"energy_min_pj": [0.0], "energy_max_pj": [1.0]})


def test_pareto_band_draws_each_points_min_max(runs_csv, tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr(figures, "save", lambda fig, out: drawn.append(fig) or [out])
    result = run_cli("plot", "pareto", str(runs_csv), "--energy-band", "-o", str(tmp_path / "p"))
    assert result.exit_code == 0, result.output
    (ax,) = drawn[0].axes[:1]
    (bars,) = ax.containers  # one horizontal error bar per configuration, at its accuracy
    segments = bars.lines[2][0].get_segments()
    expected = [((230e-6, 45.0), (8000e-6, 45.0)), ((120e-6, 45.0), (6500e-6, 45.0))]
    assert len(segments) == len(expected)
    for segment, ((x0, y0), (x1, y1)) in zip(segments, expected):  # matplotlib recomputes x - (x - low)
        assert segment.ravel().tolist() == pytest.approx([x0, y0, x1, y1], rel=1e-12)
    assert ax.get_legend_handles_labels()[1] == ["Pareto front", "min–max energy over 3 energy models"]
    assert "[0.00023–0.008] µJ" in drawn[0].texts[0].get_text()


def test_pareto_band_cli_writes_the_files(runs_csv, tmp_path):
    result = run_cli("plot", "pareto", str(runs_csv), "--energy-band", "-o", str(tmp_path / "band"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "band.png").stat().st_size > 1000 and (tmp_path / "band.svg").exists()
