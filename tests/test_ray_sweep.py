"""Sweeps on Ray (``ashbench sweep SPEC --executor ray``): the same rows as the local executor, a
SIGKILLed driver resumed to every row once, one-line errors, and no Ray process left behind."""

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import run_cli
from helpers import sweep_spec as _spec

from ashbench.sweeps.runs_table import read_rows

pytestmark = pytest.mark.ray
needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                               reason="ray is not installed (pip install 'ashbench[ray]')")
TIMING = {"train_s", "eval_s"}
RAY_PROCESSES = ("raylet", "gcs_server", "ray::", "default_worker.py", "runtime_env/agent", "dashboard/agent",
                 "log_monitor.py", "monitor.py")




def _ray_pids() -> set:
    """Pids of this user's Ray processes (head services, raylets, workers)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != os.getuid():
                continue
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "ray" in cmd and any(p in cmd for p in RAY_PROCESSES):
            pids.add(int(entry.name))
    return pids


def _wait_gone(before: set, timeout: float = 60.0) -> set:
    """Ray processes started since ``before`` still alive after up to ``timeout`` seconds."""
    deadline = time.time() + timeout
    while (left := _ray_pids() - before) and time.time() < deadline:
        time.sleep(0.5)
    return left


@pytest.fixture
def no_orphans():
    """Ray down after the test, and none of the Ray processes it started still running."""
    before = _ray_pids()
    yield
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        ray.shutdown()
    assert not _wait_gone(before), "Ray processes outlived the test"


def _rows(folder: Path) -> dict:
    return {r["run_id"]: {k: v for k, v in r.items() if k not in TIMING} for r in read_rows(folder / "runs.csv")}


@needs_ray
@pytest.mark.slow
def test_ray_executor_gives_the_local_rows(tmp_path, no_orphans):
    local, remote = tmp_path / "local", tmp_path / "ray"
    for where in (local, remote):
        where.mkdir()
    grid = 'mode = ["ann", "hybrid"]\n'
    first = run_cli("sweep", _spec(local, grid), "--jobs", "2")
    assert first.exit_code == 0, first.output
    result = run_cli("sweep", _spec(remote, grid), "--executor", "ray", "--jobs", "2")
    assert result.exit_code == 0, result.output
    assert "2 finished, 0 already done" in result.stdout
    ray_rows, local_rows = _rows(remote / "results" / "s"), _rows(local / "results" / "s")
    assert len(ray_rows) == 2 and ray_rows == local_rows
    for run_id in ray_rows:  # the driver wrote each run's profile, identical to the local one
        name = f"profiles/{run_id}.json"
        assert (remote / "results" / "s" / name).read_text() == (local / "results" / "s" / name).read_text()
    again = run_cli("sweep", _spec(remote, grid), "--executor", "ray")  # nothing pending: Ray is not started
    assert again.exit_code == 0 and "0 finished, 2 already done" in again.stdout
    assert len(read_rows(remote / "results" / "s" / "runs.csv")) == 2


@needs_ray
@pytest.mark.slow
def test_sigkilled_ray_driver_resumes_to_every_row_once(tmp_path, no_orphans):
    spec = _spec(tmp_path, 'mode = ["ann", "hybrid", "snn"]\n', name="k")
    table = tmp_path / "results" / "k" / "runs.csv"
    cmd = [sys.executable, "-m", "ashbench", "sweep", str(spec), "--executor", "ray"]  # one run at a time
    before = _ray_pids()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and not (table.exists() and len(read_rows(table)) >= 1):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # mid-sweep: run 2 is a Ray task in flight
    proc.wait()
    killed_rows = len(read_rows(table))
    assert 1 <= killed_rows < 3
    assert not _wait_gone(before), "the killed driver's Ray instance outlived it"
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{3 - killed_rows} finished, {killed_rows} already done" in done.stdout
    ids = [r["run_id"] for r in read_rows(table)]
    assert len(ids) == len(set(ids)) == 3
    assert sorted(p.stem for p in (tmp_path / "results" / "k" / "profiles").iterdir()) == sorted(ids)


def _one_line_error(result, message: str) -> None:
    assert (result.exit_code, result.stdout) == (2, ""), result.output
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@needs_ray
def test_unreachable_address_fails_fast_in_one_line(tmp_path, no_orphans):
    start = time.time()
    result = run_cli("sweep", _spec(tmp_path, 'mode = ["ann"]\n'), "--executor", "ray", "--address", "127.0.0.1:1")
    _one_line_error(result, "cannot reach the Ray cluster at 127.0.0.1:1")
    assert time.time() - start < 30
    assert not (tmp_path / "results").exists() and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("args,message", [
    (["--executor", "dask"], "--executor must be one of local, ray; got 'dask'"),
    (["--address", "127.0.0.1:6379"], "need --executor ray"),
    (["--executor", "ray", "--cpus-per-run", "0"], "--cpus-per-run must be >= 1"),
    (["--executor", "ray", "--gpus-per-run", "-1"], "--gpus-per-run must be >= 0"),
    (["--executor", "ray", "--address", "no-port"], "--address must be HOST:PORT"),
])
def test_bad_executor_options_are_one_line(tmp_path, args, message):
    if "no-port" in args and importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed")
    result = run_cli("sweep", _spec(tmp_path, 'mode = ["ann"]\n'), *args)
    _one_line_error(result, message)
    assert not (tmp_path / "results").exists()


def test_missing_ray_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError, as when it is not installed
    result = run_cli("sweep", _spec(tmp_path, 'mode = ["ann"]\n'), "--executor", "ray")
    _one_line_error(result, "pip install 'ashbench[ray]'")
    assert not (tmp_path / "results").exists()
