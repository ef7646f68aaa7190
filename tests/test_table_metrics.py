"""``comparison_table(metrics=...)`` and ``ashbench table --metric``: chosen accuracy metrics, their means,
95% t-intervals and paired differences on a hand-made runs table; bad names; the default output unchanged."""

import math
from pathlib import Path

import pytest
from helpers import run_cli

from ashbench.errors import ResultsError
from ashbench.sweeps.comparison import comparison_table, load_runs, render_table
from ashbench.sweeps.runs_table import append_row

T = 4.302653  # t_{0.975, 2}: 3 seeds
METRICS = ["truth:t2i_r1", "comp:truth:t2i_r1", "hn:relation_flip"]
ROOT = Path(__file__).resolve().parents[1]

# (arm, seed, truth:t2i_r1, comp:truth:t2i_r1, hn:relation_flip, energy pJ); hybrid's rows out of seed order
RUNS = [("ann", 0, 40.0, 30.0, 60.0, 1000.0), ("ann", 1, 44.0, 30.0, 60.0, 1000.0),
        ("ann", 2, 45.0, 30.0, 63.0, 1000.0),
        ("hybrid", 2, 49.0, 35.0, 60.0, 730.0), ("hybrid", 0, 42.0, 31.0, 58.0, 700.0),
        ("hybrid", 1, 47.0, 33.0, 62.0, 760.0)]


def _row(arm, seed, truth, comp, flip, energy):
    return {"run_id": f"{arm}{seed}", "label": f"arm={arm},seed={seed}", "axis:arm": arm, "axis:seed": seed,
            "t2i_r1": truth - 1, "i2t_r1": truth - 2, "mean_recall": truth + 30, "hard_negative_accuracy": flip,
            "truth:t2i_r1": truth, "comp:truth:t2i_r1": comp, "hn:relation_flip": flip,
            "hard_negative_accuracy_itm": 55.0, "synops": 100.0 * seed if arm == "hybrid" else 0.0,
            "macs": 1000.0, "firing_rate": 0.1 if arm == "hybrid" else 0.0, "energy_pj:45nm-fp32": energy,
            "comp:hn:relation_flip": ""}  # a column some runs lack: not a usable metric


@pytest.fixture
def runs_csv(tmp_path):
    path = tmp_path / "runs.csv"  # written with the runs table's schema (ashbench-runs-v1)
    for run in RUNS:
        append_row(path, _row(*run))
    return path


def test_chosen_metrics_means_intervals_and_paired_differences(runs_csv):
    table = comparison_table(load_runs(str(runs_csv)), baseline="arm=ann", metrics=METRICS).set_index("arm")
    ann, hybrid = table.loc["ann"], table.loc["hybrid"]
    # truth:t2i_r1, ann [40, 44, 45]: mean 43, deviations -3, 1, 2: s^2 = 14 / 2 = 7, ci = T * sqrt(7 / 3) = 6.5724
    assert ann["truth:t2i_r1"] == 43.0 and ann["truth:t2i_r1_std"] == pytest.approx(math.sqrt(7))
    assert ann["truth:t2i_r1_ci"] == pytest.approx(T * math.sqrt(7 / 3), rel=1e-6)
    # hybrid [42, 47, 49]: mean 46, deviations -4, 1, 3: s^2 = 26 / 2 = 13, ci = T * sqrt(13 / 3) = 8.9567
    assert hybrid["truth:t2i_r1"] == 46.0 and hybrid["truth:t2i_r1_ci"] == pytest.approx(T * math.sqrt(13 / 3))
    # paired by seed (0, 1, 2): 42-40, 47-44, 49-45 = 2, 3, 4: mean 3, s 1, ci T / sqrt(3) = 2.4841: resolved
    assert hybrid["pairs"] == 3 and hybrid["truth:t2i_r1_diff"] == pytest.approx(3.0)
    assert hybrid["truth:t2i_r1_diff_ci"] == pytest.approx(T / math.sqrt(3), rel=1e-6)
    assert hybrid["truth:t2i_r1_diff_resolved"]
    # comp:truth:t2i_r1: ann [30, 30, 30] (s 0, ci 0), hybrid [31, 33, 35]: mean 33, s 2, ci 2T / sqrt(3) = 4.9683;
    # diffs 1, 3, 5: mean 3, s 2, ci 4.9683 > 3: not resolved
    assert ann["comp:truth:t2i_r1_ci"] == 0.0 and hybrid["comp:truth:t2i_r1"] == 33.0
    assert hybrid["comp:truth:t2i_r1_ci"] == pytest.approx(2 * T / math.sqrt(3), rel=1e-6)
    assert hybrid["comp:truth:t2i_r1_diff"] == pytest.approx(3.0) and not hybrid["comp:truth:t2i_r1_diff_resolved"]
    # hn:relation_flip: ann [60, 60, 63] mean 61, s sqrt(3), ci T; hybrid [58, 62, 60] mean 60;
    # diffs -2, 2, -3: mean -1, deviations -1, 3, -2: s^2 = 14 / 2 = 7, ci T * sqrt(7 / 3) = 6.5724: not resolved
    assert ann["hn:relation_flip"] == 61.0 and ann["hn:relation_flip_ci"] == pytest.approx(T, rel=1e-6)
    assert hybrid["hn:relation_flip_diff"] == pytest.approx(-1.0)
    assert hybrid["hn:relation_flip_diff_ci"] == pytest.approx(T * math.sqrt(7 / 3), rel=1e-6)
    assert not hybrid["hn:relation_flip_diff_resolved"]
    # energy is always paired: 700-1000, 760-1000, 730-1000 = -300, -240, -270: mean -270, s 30, ci 30T / sqrt(3)
    assert hybrid["energy_pj_diff"] == pytest.approx(-270.0)
    assert hybrid["energy_pj_diff_ci"] == pytest.approx(30 * T / math.sqrt(3), rel=1e-6)
    assert hybrid["energy_pj_diff_resolved"] and hybrid["energy_x"] == pytest.approx(0.73)
    # only the chosen accuracy metrics: no default ones, no t2i_r1 delta or pairing
    assert not {"t2i_r1", "mean_recall", "t2i_r1_delta", "t2i_r1_diff"} & set(table.columns)
    assert table.attrs["metrics"] == tuple(METRICS)


def _cells(markdown: str) -> tuple[list[str], dict]:
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    return header, {cells[0]: dict(zip(header, cells)) for cells in rows}


def test_cli_shows_exactly_the_chosen_metrics(runs_csv):
    args = [a for m in METRICS for a in ("--metric", m)]
    result = run_cli("table", str(runs_csv), "--baseline", "arm=ann", "-f", "markdown", *args)
    assert result.exit_code == 0, result.output
    header, rows = _cells(result.stdout)
    assert header == ["arm", *METRICS, "synops", "macs", "firing_rate", "energy (µJ)", "energy_x", "ops_x",
                      *(f"Δ {m} (pp, paired)" for m in METRICS), "Δ energy (µJ, paired)", "pairs", "n"]
    assert rows["ann"]["truth:t2i_r1"] == "43.0 ± 6.6" and rows["hybrid"]["truth:t2i_r1"] == "46.0 ± 9.0"
    # hn:relation_flip, hybrid [58, 62, 60]: mean 60, deviations -2, 2, 0: s 2, ci 2T / sqrt(3) = 4.9683
    assert rows["ann"]["comp:truth:t2i_r1"] == "30.0 ± 0.0" and rows["hybrid"]["hn:relation_flip"] == "60.0 ± 5.0"
    hybrid = rows["hybrid"]
    assert hybrid["Δ truth:t2i_r1 (pp, paired)"] == "+3.0 ± 2.5"
    assert hybrid["Δ comp:truth:t2i_r1 (pp, paired)"] == "+3.0 ± 5.0 (n.s.)"
    assert hybrid["Δ hn:relation_flip (pp, paired)"] == "-1.0 ± 6.6 (n.s.)"
    assert hybrid["Δ energy (µJ, paired)"] == "-0.00027 ± 7.45e-05" and hybrid["pairs"] == "3"
    assert rows["ann"]["Δ truth:t2i_r1 (pp, paired)"] == "+0.0 ± 0.0 (n.s.)"
    # repeats count once; without a baseline no paired columns
    header, _ = _cells(run_cli("table", str(runs_csv), "-f", "markdown", "--metric", "hn:relation_flip",
                               "--metric", "hn:relation_flip").stdout)
    assert header == ["arm", "hn:relation_flip", "synops", "macs", "firing_rate", "energy (µJ)", "n"]


def test_cli_other_formats_with_metrics(runs_csv):
    args = ["table", str(runs_csv), "--baseline", "arm=ann", *(a for m in METRICS for a in ("--metric", m))]
    csv = run_cli(*args, "-f", "csv")
    assert csv.exit_code == 0, csv.output
    columns = csv.stdout.splitlines()[0].split(",")
    assert {"truth:t2i_r1", "truth:t2i_r1_std", "truth:t2i_r1_ci", "hn:relation_flip_diff",
            "comp:truth:t2i_r1_diff_resolved", "energy_pj_diff", "pairs"} <= set(columns)
    assert "mean_recall" not in columns and "t2i_r1_delta" not in columns
    latex = run_cli(*args, "-f", "latex")
    assert latex.exit_code == 0 and r"\begin{tabular}" in latex.stdout and "hn:relation" in latex.stdout
    text = run_cli(*args)  # the table format: as wide as needed up to a cap, then wraps
    assert text.exit_code == 0 and "truth:t2i_r1" in text.stdout and "43.0 ± 6.6" in text.stdout


def test_t2i_r1_among_the_metrics_keeps_its_delta(runs_csv):
    table = comparison_table(load_runs(str(runs_csv)), baseline="arm=ann", metrics=["t2i_r1"]).set_index("arm")
    # t2i_r1 = truth - 1 on every run: the same differences as truth:t2i_r1
    assert table.loc["hybrid", "t2i_r1_delta"] == pytest.approx(3.0)
    assert table.loc["hybrid", "t2i_r1_diff"] == pytest.approx(3.0)


@pytest.mark.parametrize("name, message", [
    ("truth:t2i_r5", "not a column of these results; did you mean truth:t2i_r1"),
    ("synops", "not an accuracy metric"),
    ("energy_pj:45nm-fp32", "not an accuracy metric"),
    ("axis:arm", "not an accuracy metric"),
    ("axis:seed", "not an accuracy metric"),
    ("run_id", "not a number in every run (run ann0 holds 'ann0')"),
    ("comp:hn:relation_flip", "not a number in every run"),
])
def test_bad_metric_names(runs_csv, tmp_path, name, message):
    out = tmp_path / "table.md"
    result = run_cli("table", str(runs_csv), "--metric", "truth:t2i_r1", "--metric", name, "-o", str(out))
    assert result.exit_code == 2 and not out.exists()
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --metric {name!r}: ") and message in lines[0]
    with pytest.raises(ResultsError, match="metric"):
        comparison_table(load_runs(str(runs_csv)), metrics=[name])


def test_no_metrics_is_an_error_and_none_the_default(runs_csv):
    frame = load_runs(str(runs_csv))
    with pytest.raises(ResultsError, match="at least one"):
        comparison_table(frame, metrics=[])
    default = comparison_table(frame, baseline="arm=ann")
    assert default.attrs["metrics"] is None
    assert [c for c in default.columns if c.endswith("_diff")] == ["t2i_r1_diff", "energy_pj_diff"]


# ``ashbench table RUNS --baseline arm=ann -f markdown`` on the runs above, before --metric existed
DEFAULT_MARKDOWN = """\
| arm | t2i_r1 | mean_recall | hard_negative_accuracy | synops | macs | firing_rate | energy (µJ) | energy_x | ops_x | Δ t2i_r1 (pp, paired) | Δ energy (µJ, paired) | pairs | n |
| :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| ann | 42.0 ± 6.6 | 73.0 ± 6.6 | 61.0 ± 4.3 | 0 ± 0 | 1k ± 0 | 0.0000 ± 0.0000 | 0.001 ± 0 | 1 | 1 | +0.0 ± 0.0 (n.s.) | +0 ± 0 (n.s.) | 3 | 3 |
| hybrid | 45.0 ± 9.0 | 76.0 ± 9.0 | 60.0 ± 5.0 | 100 ± 248 | 1k ± 0 | 0.1000 ± 0.0000 | 0.00073 ± 7.45e-05 | 0.73 | 1.1 | +3.0 ± 2.5 | -0.00027 ± 7.45e-05 | 3 | 3 |

- mean ± half-width of the two-sided 95% t-interval over seeds (t_{0.975, n-1} · s / √n); (n=1): one seed, no interval; sample stds in the csv format
- Δ: paired difference to the baseline over the seeds both have (pairs), mean ± 95% t-interval; (n.s.): not resolved (the interval includes 0, or fewer than 2 pairs)
"""  # noqa: E501


def test_default_output_unchanged_on_the_hand_made_table(runs_csv):
    result = run_cli("table", str(runs_csv), "--baseline", "arm=ann", "-f", "markdown")
    assert result.exit_code == 0 and result.stdout == DEFAULT_MARKDOWN


def test_a_table_that_lost_its_attrs_renders_the_same(runs_csv):
    frame = load_runs(str(runs_csv))
    for metrics in (None, METRICS):
        table = comparison_table(frame, baseline="arm=ann", metrics=metrics)
        shown = render_table(table, "markdown", interval="ci")
        table.attrs.clear()
        assert render_table(table, "markdown", interval="ci") == shown


REPORT_BASE = "arm=hybrid,T=4,neuron=lif,objectives=itc+hn+itm+stua,lambda=0.0"  # as ashnets_report.sh
REPORT_ACC = [a for m in ("truth:t2i_r1", "truth:i2t_r1", "truth:mean_recall", "hard_negative_accuracy",
                          "comp:truth:t2i_r1", "comp:truth:mean_recall", "comp:hard_negative_accuracy")
              for a in ("--metric", m)]
REPORT_KINDS = [a for k in ("relation_flip", "argument_swap", "count", "colour", "shape", "size")
                for a in ("--metric", f"hn:{k}")]


@pytest.mark.parametrize("name, args", [
    ("table_accuracy.md", [*REPORT_ACC, "-f", "markdown"]),
    ("table_kinds_test.md", [*REPORT_KINDS, "-f", "markdown"]),
    ("table_45nm_fp32.md", ["-f", "markdown"]),
    ("table_memory_aware.md", ["-e", "memory-aware", "-f", "markdown"]),
    ("table_45nm_fp32.csv", [*REPORT_ACC, "-f", "csv"]),
])
def test_committed_tables_regenerate_unchanged(tmp_path, name, args):
    """benchmarks/ashnets_report.sh's table commands reproduce the committed results/ashnets tables."""
    folder = ROOT / "results" / "ashnets"
    script = (ROOT / "benchmarks" / "ashnets_report.sh").read_text()
    assert f'base="{REPORT_BASE}"' in script  # the same baseline as the script's
    if not (folder / "runs.csv").is_file() or not (folder / name).is_file():
        pytest.skip("no committed results/ashnets tables")
    out = tmp_path / name
    result = run_cli("table", str(folder / "runs.csv"), "--baseline", REPORT_BASE, *args, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == (folder / name).read_text(encoding="utf-8")
