"""``ashbench table`` / ``plot`` / ``sweep`` on damaged results, and unusable output places, through
the real entry point: one line ``error: ...``, exit code 2, nothing written."""

from __future__ import annotations

import csv
import json
import os

import pytest
from helpers import run_cli
from test_tables_plots import _row

from ashbench.sweeps.runs_table import append_row


@pytest.fixture
def good_csv(tmp_path):
    path = tmp_path / "runs.csv"
    for row in [_row("a0", "ann", 0, 40.0, 4600.0, 0, 1000), _row("h0", "hybrid", 0, 44.0, 2300.0, 1000, 300)]:
        append_row(path, row)
    return path


def _damage(path, how: str) -> None:
    """Break the second run's row (h0) of a two-run table as ``how`` says."""
    if how in ("text", "nan"):
        rows = list(csv.DictReader(path.open()))
        rows[1]["t2i_r1"] = {"text": "abc", "nan": "nan"}[how]
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return
    header, first, second = path.read_text().splitlines()
    lines = {"truncated": [header, first, second[: len(second) // 2]], "ragged": [header, first, second + ",extra"],
             "duplicated": [header, first, second, second]}[how]
    path.write_text("\n".join(lines) + "\n")


DAMAGE = {
    "text": "the comparison table needs numbers in column 't2i_r1'; run h0 holds 'abc'",
    "nan": "the comparison table needs numbers in column 't2i_r1'; run h0 holds 'nan'",
    "truncated": "line 3 has ",
    "ragged": "line 3 has ",
    "duplicated": "holds run h0 twice",
}


@pytest.mark.parametrize("how", DAMAGE)
@pytest.mark.parametrize("command", [["table"], ["plot", "pareto"]])
def test_damaged_runs_table_is_one_line(good_csv, tmp_path, how, command):
    _damage(good_csv, how)
    out = tmp_path / "out"
    result = run_cli(*command, good_csv, "-o", out)
    assert result.exit_code == 2 and result.stdout == "" and result.stderr.count("\n") == 1, result.output
    assert result.stderr.startswith("error: ") and DAMAGE[how] in result.stderr, result.stderr
    assert not list(tmp_path.glob("out*"))


@pytest.mark.parametrize("how", ["truncated", "ragged", "duplicated"])
def test_breakdown_plot_and_sweep_refuse_a_damaged_runs_table(good_csv, tmp_path, how):
    _damage(good_csv, how)
    result = run_cli("plot", "breakdown", good_csv, "-o", tmp_path / "b")
    assert result.exit_code == 2 and DAMAGE[how] in result.stderr
    results = tmp_path / "results" / "s"
    results.mkdir(parents=True)
    good_csv.rename(results / "runs.csv")
    spec = tmp_path / "s.toml"
    spec.write_text(f'name = "s"\nbase = "test-tiny"\noutput = "{tmp_path / "results"}"\n[grid]\nmode = ["ann"]\n')
    sweep = run_cli("sweep", spec, "--dry-run")
    assert sweep.exit_code == 2 and DAMAGE[how] in sweep.stderr and sweep.stderr.count("\n") == 1


@pytest.mark.parametrize("command,place,message", [
    (["table"], "folder", "output path is a folder"), (["table"], "/proc/x", "cannot write in /proc"),
    (["plot", "pareto"], "/proc/x", "cannot write in /proc"),  # a plot's -o is a stem: PATH.png, PATH.svg
])
def test_unusable_output_is_one_line(good_csv, tmp_path, command, place, message):
    target = tmp_path if place == "folder" else place
    result = run_cli(*command, good_csv, "-o", target)
    assert result.exit_code == 2 and result.stderr.startswith(f"error: {message}") and result.stderr.count("\n") == 1


def test_sparsity_plot_of_a_document_without_a_layers_list(tmp_path):
    bad = tmp_path / "p.json"
    bad.write_text(json.dumps({"layers": 5}))
    result = run_cli("plot", "sparsity", bad, "-o", tmp_path / "sp")
    expected = f"error: {bad} is not an ashbench energy JSON report (no 'layers' list)\n"
    assert (result.exit_code, result.stderr) == (2, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json"]


def test_figures_get_the_umask_mode_and_keep_a_dotted_stem(good_csv, tmp_path):
    result = run_cli("plot", "pareto", good_csv, "-o", tmp_path / "fig.v2")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.glob("fig*")) == ["fig.v2.png", "fig.v2.svg"]
    mask = os.umask(0)
    os.umask(mask)
    assert all((p.stat().st_mode & 0o777) == 0o666 & ~mask for p in tmp_path.glob("fig*"))
