"""Processes killed with SIGKILL, and two sweeps at once: nothing lost, duplicated or orphaned."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import run_cli

from ashbench.sweeps.runs_table import read_rows

pytestmark = pytest.mark.slow
ASHBENCH = [sys.executable, "-m", "ashbench"]
TRAIN = ["train", "test-tiny", "train.steps=30", "data.n_val=8", "train.checkpoint_every=10", "train.log_every=1",
         "train.threads=1"]


def _start(args: list, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(ASHBENCH + [str(a) for a in args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, **kwargs)


def _wait_for(condition, timeout_s: float = 120.0) -> None:
    deadline = time.time() + timeout_s
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _without_times(path: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "elapsed_s"} for line in path.read_text().splitlines()]


def test_sigkill_then_resume_gives_the_log_of_an_uninterrupted_run(tmp_path):
    """Killed between checkpoints 10 and 20 (after >= 15 logged steps), the run resumes from step 10;
    its metrics.jsonl then equals the uninterrupted run's, every record once (elapsed times aside)."""
    subprocess.run(ASHBENCH + TRAIN + ["--out", str(tmp_path / "full")], check=True, capture_output=True)
    cut, log = tmp_path / "cut", tmp_path / "cut" / "metrics.jsonl"
    proc = _start(TRAIN + ["--out", cut])
    _wait_for(lambda: _lines(log) >= 15)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 15 <= _lines(log) < 30
    subprocess.run(ASHBENCH + TRAIN + ["--out", str(cut)], check=True, capture_output=True)
    assert _without_times(log) == _without_times(tmp_path / "full" / "metrics.jsonl")
    rerun = subprocess.run(ASHBENCH + TRAIN + ["--out", str(cut)], check=True, capture_output=True, text=True)
    assert _without_times(log) == _without_times(tmp_path / "full" / "metrics.jsonl")  # a finished run: same log
    assert json.loads(rerun.stdout)["wall_s"] > 0  # training time of the run, not of the (empty) rerun


def test_repeated_sigkills_leave_no_temporary_files(tmp_path):
    """A checkpoint every step gives many kills mid-write; the next run removes what they left."""
    out = tmp_path / "run"
    args = [*TRAIN[:-3], "train.checkpoint_every=1", "train.log_every=1", "train.threads=1", "--out", out]
    for kill_after in (5, 12, 20):
        proc = _start(args)
        _wait_for(lambda n=kill_after: _lines(out / "metrics.jsonl") >= n)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    (out / ".last.pt.left-by-a-kill.tmp").write_bytes(b"half a checkpoint")
    subprocess.run(ASHBENCH + [str(a) for a in args], check=True, capture_output=True)
    assert sorted(p.name for p in out.iterdir()) == ["last.pt", "metrics.jsonl", "model.pt"]


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _spec(tmp_path: Path, modes: str) -> Path:
    spec = tmp_path / "spec.toml"
    spec.write_text(f'name = "k"\nbase = "test-tiny"\noutput = "{tmp_path / "results"}"\n'
                    f'work_dir = "{tmp_path / "runs"}"\nenergy_models = ["45nm-fp32"]\n'
                    f'set = {{ "train.steps" = 3, "data.n_val" = 0 }}\n[grid]\nmode = {modes}\n')
    return spec


def test_killing_the_sweep_process_kills_its_workers_and_the_rerun_times_are_honest(tmp_path):
    spec = _spec(tmp_path, '["ann", "hybrid", "snn"]')
    proc = _start(["sweep", spec, "--jobs", "2"])
    _wait_for(lambda: len(_children(proc.pid)) >= 3)  # the resource tracker and two workers
    workers = _children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)  # the parent alone, not its process group
    proc.wait()
    _wait_for(lambda: not any(Path(f"/proc/{w}").exists() for w in workers), timeout_s=15)
    done = subprocess.run(ASHBENCH + ["sweep", str(spec), "--jobs", "2"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = read_rows(tmp_path / "results" / "k" / "runs.csv")
    assert sorted(r["mode"] for r in rows) == ["ann", "hybrid", "snn"]
    assert all(float(r["train_s"]) > 0 for r in rows)


def test_a_second_sweep_on_the_same_results_refuses_and_the_first_keeps_every_row(tmp_path):
    spec = _spec(tmp_path, '["ann", "hybrid"]')
    lock = tmp_path / "results" / "k" / ".sweep.lock"
    first = _start(["sweep", spec])
    _wait_for(lambda: lock.exists() and lock.read_text().startswith("pid"))
    second = run_cli("sweep", spec)
    assert second.exit_code == 2 and second.stderr.startswith("error: another sweep is writing to ")
    assert f"pid {first.pid} " in second.stderr and second.stderr.count("\n") == 1
    assert first.wait(timeout=300) == 0
    assert sorted(r["mode"] for r in read_rows(tmp_path / "results" / "k" / "runs.csv")) == ["ann", "hybrid"]
