"""Sweeps: spec validation before any training, dry runs, resumption, SIGKILL safety, --jobs."""

import os
import signal
import subprocess
import sys
import time

import pytest
from helpers import run_cli
from helpers import sweep_spec as _spec

from ashbench.errors import ConfigError
from ashbench.sweeps.runs_table import read_rows
from ashbench.sweeps.spec import AXES, expand, load_spec


def test_expand_grid_and_explicit_runs(tmp_path):
    path = _spec(tmp_path, 'mode = ["ann", "hybrid"]\nT = [1, 2]\n')
    path.write_text(path.read_text() + '\n[[runs]]\nmode = "snn"\nT = 4\n[[runs]]\nmode = "ann"\nT = 1\n')
    runs = expand(load_spec(str(path)))
    # 2 x 2 grid + 1 new explicit run; the explicit (ann, 1) duplicates a grid run and is dropped
    assert [r.label for r in runs] == ["mode=ann,T=1", "mode=ann,T=2", "mode=hybrid,T=1", "mode=hybrid,T=2",
                                       "mode=snn,T=4"]
    assert len({r.run_id for r in runs}) == 5
    assert "model.timesteps=4" in runs[-1].overrides


def test_objectives_axis_maps_to_loss_switches(tmp_path):
    runs = expand(load_spec(str(_spec(tmp_path, 'objectives = ["itc", "itc+hn+itm+stua"]\n'))))
    assert "loss.itm_weight=0.0" in runs[0].overrides and "loss.hard_negatives=false" in runs[0].overrides
    assert "loss.itm_weight=0.0" not in runs[1].overrides


@pytest.mark.parametrize("grid,message", [
    ('mode = ["ann"\n', "malformed sweep spec TOML"),
    ('colour = ["red"]\n', "unknown axis 'colour'"),
    ('neuron = ["xyz"]\n', "invalid model.neuron='xyz'"),
    ('T = [0]\n', "model.timesteps=0"),
    ('mode = []\n', "the sweep is empty"),
    ('objectives = ["everything"]\n', "unknown objectives"),
])
def test_bad_specs_fail_before_training(tmp_path, grid, message):
    result = run_cli("sweep", str(_spec(tmp_path, grid)))
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "results").exists() and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("key,value,message", [
    # wrong types were TypeError tracebacks, [] and ".." passed; each is now one ConfigError line
    ("set", "5", "invalid set=5; it needs a dict"),
    ("runs", "5", "invalid runs=5; it needs a list of dict"),
    ("runs", "[1, 2]", "invalid runs=[1, 2]; it needs a list of dict"),
    ("output", "5", "invalid output=5; it needs a str"),
    ("energy_models", "[]", "invalid energy_models=[]; it must not be empty"),
    ("energy_models", '["45nm-fp32", 8]', "invalid energy_models=['45nm-fp32', 8]; it needs a list of str"),
    ("name", '".."', "invalid name='..'; it must be a plain folder name (not empty, '.' or '..'; no '/')"),
    ("name", '"a/b"', "invalid name='a/b'; it must be a plain folder name (not empty, '.' or '..'; no '/')"),
    ("grid", '{ mode = "ann" }', "invalid grid={'mode': 'ann'}; it needs a dict of list"),
    ("colour", '"red"',
     "unknown key 'colour'; valid keys: base, energy_models, grid, name, output, runs, set, work_dir"),
])
def test_bad_spec_values_are_one_line_config_errors(tmp_path, key, value, message):
    path = tmp_path / "bad.toml"
    runs = '[[runs]]\nmode = "ann"\n' if key != "runs" else ""
    path.write_text(f'base = "test-tiny"\n{key} = {value}\n{runs}')
    with pytest.raises(ConfigError) as info:
        load_spec(str(path))
    assert str(info.value) == f"{path}: {message}"
    result = run_cli("sweep", path)  # the same through the command: one line, exit 2, nothing written
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"error: {path}: {message}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_spec_defaults_and_axes_registry(tmp_path):
    # name defaults to the file's stem; aliases and objectives are AXES entries; a config key is an axis too
    path = tmp_path / "mine.toml"
    path.write_text('base = "test-tiny"\n[grid]\n"model.tau" = [2.0]\nlambda = [0.5]\n')
    spec = load_spec(str(path))
    assert (spec.name, spec.energy_models, spec.fixed, str(spec.output)) == ("mine", ["45nm-fp32", "memory-aware"], {},
                                                                           "results")
    assert {"mode", "T", "neuron", "objectives"} <= set(AXES.names())
    assert expand(spec)[0].overrides == ("loss.firing_rate_weight=0.5", "model.tau=2.0")


def test_existing_results_of_another_schema_are_refused(tmp_path):
    folder = tmp_path / "results" / "s"
    folder.mkdir(parents=True)
    (folder / "runs.csv").write_text("a,b\n1,2\n")
    result = run_cli("sweep", str(_spec(tmp_path, 'mode = ["ann"]\n')))
    assert result.exit_code == 2 and "not an ashbench runs table" in result.output
    assert (folder / "runs.csv").read_text() == "a,b\n1,2\n"


def test_sweep_runs_skips_finished_and_dry_run_reports(tmp_path):
    spec = _spec(tmp_path, 'mode = ["ann", "hybrid"]\n')
    first = run_cli("sweep", str(spec))
    assert first.exit_code == 0, first.output
    rows = read_rows(tmp_path / "results" / "s" / "runs.csv")
    assert sorted(r["mode"] for r in rows) == ["ann", "hybrid"]
    hybrid = next(r for r in rows if r["mode"] == "hybrid")
    assert float(hybrid["synops"]) > 0 and float(hybrid["energy_pj:45nm-fp32"]) > 0
    assert (tmp_path / "results" / "s" / "profiles" / f"{hybrid['run_id']}.json").exists()
    again = run_cli("sweep", str(spec))
    assert "0 finished, 2 already done" in again.output
    dry = run_cli("sweep", str(spec), "--dry-run")
    assert dry.output.count("done") == 2 and "0 pending" in dry.output
    assert len(read_rows(tmp_path / "results" / "s" / "runs.csv")) == 2


@pytest.mark.slow
def test_sigkill_then_rerun_loses_and_duplicates_nothing(tmp_path):
    spec = _spec(tmp_path, 'mode = ["ann", "hybrid", "snn"]\n', name="k")
    table = tmp_path / "results" / "k" / "runs.csv"
    cmd = [sys.executable, "-m", "ashbench", "sweep", str(spec)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and not (table.exists() and len(read_rows(table)) >= 1):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # mid-sweep: run 2 is training or being evaluated
    proc.wait()
    killed_rows = len(read_rows(table))
    assert 1 <= killed_rows < 3
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    ids = [r["run_id"] for r in read_rows(table)]
    assert len(ids) == len(set(ids)) == 3


@pytest.mark.slow
def test_parallel_jobs(tmp_path):
    spec = _spec(tmp_path, 'seed = [0, 1]\n', name="j")
    result = run_cli("sweep", str(spec), "--jobs", "2")
    assert result.exit_code == 0, result.output
    rows = read_rows(tmp_path / "results" / "j" / "runs.csv")
    assert sorted(r["seed"] for r in rows) == ["0", "1"]


def test_rows_written_before_the_spec_gained_axes_get_their_axis_values(tmp_path):
    # a spec of arms, extended by ablation runs on a new axis (T): the arm rows, written before, had no
    # axis:T cell and would form groups of their own. fill_axes writes the value each run trained with:
    # test-tiny's T is 2, the ann-twin arm sets T = 1; a value already in a cell is never changed.
    from ashbench.sweeps.runner import fill_axes
    from ashbench.sweeps.runs_table import SCHEMA, append_row

    spec_path = _spec(tmp_path, 'seed = [0]\narm = ["hybrid", "ann-twin"]\n')
    arms = expand(load_spec(str(spec_path)))
    table = tmp_path / "results" / "s" / "runs.csv"
    for run in arms:  # rows as the sweep wrote them then: axes seed and arm only
        append_row(table, {"run_id": run.run_id, "label": run.label, "axis:seed": 0, "axis:arm": run.values["arm"]})
    spec_path.write_text(spec_path.read_text() + "\n[[runs]]\nT = 4\nseed = 0\n")
    spec = load_spec(str(spec_path))
    assert spec.axes == ["seed", "arm", "T"]
    finished = [r for r in expand(spec) if r.run_id in {a.run_id for a in arms}]
    assert len(finished) == 2  # adding runs keeps the old runs' ids
    assert fill_axes(spec, finished) == 2  # one axis:T cell per old row
    rows = {r["axis:arm"]: r for r in read_rows(table)}
    assert (rows["hybrid"]["axis:T"], rows["ann-twin"]["axis:T"]) == ("2", "1")
    assert all(r["schema"] == SCHEMA for r in rows.values())
    assert fill_axes(spec, finished) == 0  # nothing left to fill
