"""Student t quantiles, 95% t-intervals over seeds and paired differences to a baseline, against
scipy (a test-only oracle: ashbench itself does not import scipy), and their display in ``ashbench table``
and ``ashbench plot pareto``."""

import math
import statistics

import pytest
from helpers import run_cli
from matplotlib.collections import LineCollection
from scipy import stats

from ashbench.report import figures
from ashbench.sweeps.comparison import comparison_table, load_runs, render_table
from ashbench.sweeps.runs_table import append_row
from ashbench.sweeps.statistics import mean_ci, paired_difference, t_quantile

PROBS = (1e-6, 0.005, 0.025, 0.05, 0.1, 0.25, 0.75, 0.9, 0.95, 0.975, 0.99, 0.995, 1 - 1e-6)


# -- t quantiles ------------------------------------------------------------------------------------
@pytest.mark.parametrize("df", [*range(1, 51), 60, 100, 500, 999, 1000, 1001, 5000, 1e5, 1e7, 1e9, 1.5, 2.5, 7.25])
def test_t_quantile_matches_scipy(df):
    # the stated accuracy: relative error < 1e-10 for p in [1e-6, 1 - 1e-6] (away from p = 0.5, where
    # scipy's own ppf is off by ~1e-9 relative: t_{0.5001, 4} = 2.6666667061728e-4 exactly, scipy 2.66666671e-4)
    for p in PROBS:
        assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-10, abs=0), (p, df)


def test_t_quantile_known_values_and_errors():
    assert t_quantile(0.975, 1) == pytest.approx(12.706204736174698, rel=1e-14)  # tan(0.475 pi)
    assert t_quantile(0.975, 2) == pytest.approx(4.302652729749464, rel=1e-14)  # 0.95 / sqrt(2 * 0.975 * 0.025)
    assert t_quantile(0.5, 7) == 0.0 and t_quantile(0.025, 9) == -t_quantile(0.975, 9)
    for p, df in ((0.0, 3), (1.0, 3), (0.5, 0)):
        with pytest.raises(ValueError):
            t_quantile(p, df)


# -- intervals over seeds -----------------------------------------------------------------------------
@pytest.mark.parametrize("values", [[1.0, 2.0, 3.0], [40.0, 50.0], [44.0, 46.0, 47.0, 41.5, 45.25], [2.0] * 4])
def test_mean_ci_matches_scipy_interval(values):
    mean, half, n = mean_ci(values)
    assert n == len(values) and mean == pytest.approx(sum(values) / n, rel=1e-15)
    std = statistics.stdev(values)  # the sample std (scipy's tstd warns on the constant sample)
    low, high = stats.t.interval(0.95, n - 1, loc=mean, scale=std / math.sqrt(n)) if std else (mean, mean)
    assert half == pytest.approx((high - low) / 2, rel=1e-10, abs=1e-15)


def test_mean_ci_by_hand_and_for_one_value():
    # [1, 2, 3]: mean 2, s = 1, half = t_{0.975, 2} / sqrt(3) = 4.302652729749464 / 1.7320508 = 2.4841377117503
    assert mean_ci([1, 2, 3]) == (2.0, pytest.approx(2.4841377117503303, rel=1e-12), 3)
    # [40, 50]: s = sqrt(50), half = 12.706204736174698 * sqrt(50) / sqrt(2) = 12.7062 * 5 = 63.53102368
    assert mean_ci([40, 50])[1] == pytest.approx(63.53102368087349, rel=1e-12)
    mean, half, n = mean_ci([7.5])
    assert (mean, n) == (7.5, 1) and math.isnan(half)  # one value: no interval


def test_paired_difference_resolved_or_not():
    # diffs 4, -4, 2: mean 2/3, s^2 = (3.333^2 + 4.667^2 + 1.333^2) / 2 = 17.333, half = 4.3027 * 4.1633 / 1.7321
    d = paired_difference({0: 44, 1: 46, 2: 47}, {0: 40, 1: 50, 2: 45})
    low, high = stats.t.interval(0.95, 2, loc=2 / 3, scale=stats.tstd([4, -4, 2]) / math.sqrt(3))
    assert (d.pairs, d.mean) == (3, pytest.approx(2 / 3, rel=1e-14))
    assert (d.low, d.high) == (pytest.approx(low, rel=1e-10), pytest.approx(high, rel=1e-10))
    assert d.low < 0 < d.high and not d.resolved  # the interval includes 0
    # diffs 12, 11, 11: mean 11.333, s = 0.57735, half = 4.3027 * 0.57735 / 1.7321 = 1.4342: [9.90, 12.77]
    d = paired_difference({0: 52, 1: 61, 2: 56}, {0: 40, 1: 50, 2: 45})
    assert d.half_width == pytest.approx(4.302652729749464 / 3, rel=1e-12) and d.resolved
    # only seed 1 in both: one pair, no interval, not resolved; no common seed: nothing
    d = paired_difference({1: 60, 9: 0}, {0: 40, 1: 50})
    assert (d.pairs, d.mean, d.resolved) == (1, 10.0, False) and math.isnan(d.half_width)
    d = paired_difference({7: 60}, {0: 40})
    assert (d.pairs, d.resolved) == (0, False) and math.isnan(d.mean)


# -- the comparison table -------------------------------------------------------------------------------
def _row(mode, seed, r1, energy):
    return {"run_id": f"{mode}{seed}", "label": f"mode={mode},seed={seed}", "axis:mode": mode, "axis:seed": seed,
            "t2i_r1": r1, "i2t_r1": r1, "mean_recall": r1 + 10, "hard_negative_accuracy": 50.0,
            "synops": 0 if mode == "ann" else 1000, "macs": 1000, "firing_rate": 0.1, "energy_pj:45nm-fp32": energy}


@pytest.fixture
def runs_csv(tmp_path):
    path = tmp_path / "runs.csv"
    rows = [("ann", 0, 40.0, 4600.0), ("ann", 1, 50.0, 4600.0), ("ann", 2, 45.0, 4700.0),
            ("hybrid", 0, 44.0, 2300.0), ("hybrid", 1, 46.0, 2760.0), ("hybrid", 2, 47.0, 2500.0),
            ("big", 0, 52.0, 9000.0), ("big", 1, 61.0, 9000.0), ("big", 2, 56.0, 9300.0),
            ("one", 1, 60.0, 1000.0),  # one seed, shared with the baseline: one pair
            ("lone", 7, 30.0, 1000.0)]  # a seed the baseline lacks: no pair
    for row in rows:
        append_row(path, _row(*row))
    return path


def test_table_ci_and_paired_columns(runs_csv):
    table = comparison_table(load_runs(str(runs_csv)), baseline="mode=ann").set_index("mode")
    # ann t2i_r1 [40, 50, 45]: s = 5, ci = 4.302652729749464 * 5 / sqrt(3) = 12.420688558751650
    assert table.loc["ann", "t2i_r1_std"] == pytest.approx(5.0)
    assert table.loc["ann", "t2i_r1_ci"] == pytest.approx(12.42068855875165, rel=1e-12)
    assert math.isnan(table.loc["one", "t2i_r1_ci"]) and table.loc["one", "t2i_r1_std"] == 0.0  # n = 1
    # hybrid - ann over seeds 0, 1, 2: t2i 4, -4, 2 (not resolved); energy -2300, -1840, -2200: mean -2113.33,
    # s = sqrt((186.67^2 + 273.33^2 + 86.67^2) / 2) = 241.94, ci = 4.3027 * 241.94 / 1.7321 = 601.00 (resolved)
    energy_diffs = [-2300.0, -1840.0, -2200.0]
    low, high = stats.t.interval(0.95, 2, loc=-6340 / 3, scale=stats.tstd(energy_diffs) / math.sqrt(3))
    hybrid = table.loc["hybrid"]
    assert hybrid["pairs"] == 3 and hybrid["t2i_r1_diff"] == pytest.approx(2 / 3)
    assert not hybrid["t2i_r1_diff_resolved"]
    assert hybrid["energy_pj_diff"] == pytest.approx(-6340 / 3)
    assert hybrid["energy_pj_diff_ci"] == pytest.approx((high - low) / 2, rel=1e-10)
    assert hybrid["energy_pj_diff_resolved"]
    assert table.loc["big", "t2i_r1_diff_resolved"] and table.loc["big", "t2i_r1_diff"] == pytest.approx(34 / 3)
    # one pair (seed 1: 60 - 50 = 10) and no pair (seed 7)
    assert (table.loc["one", "pairs"], table.loc["one", "t2i_r1_diff"]) == (1, 10.0)
    assert not table.loc["one", "t2i_r1_diff_resolved"] and math.isnan(table.loc["one", "t2i_r1_diff_ci"])
    assert table.loc["lone", "pairs"] == 0 and math.isnan(table.loc["lone", "energy_pj_diff"])
    # the unpaired difference of means stays: hybrid 45.667 - 45 = 0.667
    assert hybrid["t2i_r1_delta"] == pytest.approx(2 / 3)


def test_paired_seeds_from_a_plain_seed_column_and_without_any(tmp_path):
    path = tmp_path / "runs.csv"
    for mode, seed, r1 in (("ann", 0, 40.0), ("ann", 1, 50.0), ("snn", 1, 41.0), ("snn", 0, 45.0)):
        row = _row(mode, seed, r1, 100.0)
        row["seed"] = row.pop("axis:seed")
        append_row(path, row)
    frame = load_runs(str(path))
    # pairs by value whatever the row order: snn - ann = (45 - 40, 41 - 50) = (5, -9)
    table = comparison_table(frame, baseline="mode=ann").set_index("mode")
    assert table.loc["snn", "pairs"] == 2 and table.loc["snn", "t2i_r1_diff"] == pytest.approx(-2.0)
    unseeded = comparison_table(frame.drop(columns="seed"), baseline="mode=ann")
    assert unseeded["pairs"].tolist() == [0, 0]  # stated ("no common seeds"), not guessed
    assert "no common seeds" in render_table(unseeded, "markdown", interval="ci")


def _cells(markdown: str) -> dict:
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    return {cells[0]: dict(zip(header, cells)) for cells in
            ([c.strip() for c in line.strip("|").split("|")] for line in lines[2:])}


def test_table_cli_shows_ci_and_paired_differences(runs_csv):
    result = run_cli("table", str(runs_csv), "--baseline", "mode=ann", "-f", "markdown")
    assert result.exit_code == 0, result.output
    rows = _cells(result.stdout)
    assert rows["ann"]["t2i_r1"] == "45.0 ± 12.4"  # the CI half-width (std 5.0 is in the csv)
    assert rows["one"]["t2i_r1"] == "60.0 (n=1)" and rows["one"]["n"] == "1"
    assert rows["hybrid"]["Δ t2i_r1 (pp, paired)"] == "+0.7 ± 10.3 (n.s.)"
    # -2113.3 pJ = -0.00211 µJ, ci 601.0 pJ = 0.000601 µJ, resolved: no marker
    assert rows["hybrid"]["Δ energy (µJ, paired)"] == "-0.00211 ± 0.000601"
    assert rows["big"]["Δ t2i_r1 (pp, paired)"] == "+11.3 ± 1.4"  # 34/3 ± 4.3027/3
    assert rows["one"]["Δ t2i_r1 (pp, paired)"] == "+10.0 (1 pair, n.s.)"
    assert rows["lone"]["Δ t2i_r1 (pp, paired)"] == "no common seeds" and rows["lone"]["pairs"] == "0"
    assert rows["hybrid"]["pairs"] == "3" and rows["hybrid"]["energy_x"] == "0.544"  # 2520 / 4633.3
    assert "(n.s.): not resolved" in result.stdout and "t-interval over seeds" in result.stdout
    std = _cells(run_cli("table", str(runs_csv), "-f", "markdown", "--interval", "std").stdout)
    assert std["ann"]["t2i_r1"] == "45.0 ± 5.0" and std["one"]["t2i_r1"] == "60.0"
    bad = run_cli("table", str(runs_csv), "--interval", "sem")
    assert bad.exit_code == 2 and "--interval must be one of ci, std" in bad.output


def test_table_csv_keeps_raw_numbers(runs_csv):
    result = run_cli("table", str(runs_csv), "--baseline", "mode=ann", "-f", "csv")
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    columns = header.split(",")
    assert {"t2i_r1_std", "t2i_r1_ci", "energy_pj_ci", "pairs", "t2i_r1_diff", "t2i_r1_diff_ci",
            "t2i_r1_diff_resolved", "energy_pj_diff", "energy_pj_diff_ci", "energy_pj_diff_resolved"} <= set(columns)
    ann = dict(zip(columns, rows[0].split(",")))
    assert float(ann["t2i_r1_ci"]) == pytest.approx(12.42068855875165, rel=1e-12)


# -- the Pareto plot's error bars -----------------------------------------------------------------------
def test_pareto_error_bars_are_the_accuracy_ci(runs_csv, tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr(figures, "save", lambda fig, out: drawn.append(fig) or [out])
    assert run_cli("plot", "pareto", str(runs_csv), "-o", str(tmp_path / "p")).exit_code == 0
    ax = drawn[0].axes[0]
    (bars,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    # one vertical bar per configuration with several seeds (ann, hybrid, big), none for n = 1 (one, lone)
    ann = [s for s in bars.get_segments() if s[0][0] == pytest.approx(4633.333333333333e-6)]
    assert len(bars.get_segments()) == 3 and len(ann) == 1
    assert ann[0][:, 1].tolist() == pytest.approx([45 - 12.42068855875165, 45 + 12.42068855875165])
    assert "95% CI over seeds" in ax.get_ylabel() and ", n=1)" in drawn[0].texts[0].get_text()
    assert run_cli("plot", "pareto", str(runs_csv), "--no-ci", "-o", str(tmp_path / "q")).exit_code == 0
    assert not [c for c in drawn[1].axes[0].collections if isinstance(c, LineCollection)]
