"""Executing a sweep: train, evaluate and profile each pending run; the parent process alone
writes ``runs.csv`` (atomically), so parallel jobs (``jobs > 1``) never race on it."""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import socket
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from multiprocessing import get_context
from pathlib import Path

from ashbench.errors import InputError, ResultsError
from ashbench.sweeps.runs_table import append_row, done_ids, fill_empty
from ashbench.sweeps.single_run import run_one
from ashbench.sweeps.spec import RunSpec, SweepSpec, axis_cells, expand, load_spec, validate_runs


@dataclass
class SweepResult:
    folder: str
    runs: list
    skipped: list = field(default_factory=list)
    finished: list = field(default_factory=list)


def plan(spec_path: str) -> tuple[SweepSpec, list[RunSpec], set]:
    """Spec, its runs, and the ids already finished. Validates everything before any training."""
    spec = load_spec(spec_path)
    runs = expand(spec)
    validate_runs(spec, runs)
    return spec, runs, done_ids(spec.folder / "runs.csv")


EXECUTORS = ("local", "ray")


def run_sweep(spec_path: str, *, jobs: int = 1, callback=None, executor: str = "local", address: str | None = None,
              cpus_per_run: float = 1, gpus_per_run: float = 0) -> SweepResult:
    """Run every pending configuration; ``callback(event, run, row)`` after each (event:
    'skipped' or 'finished'). One sweep per results folder at a time (ResultsError otherwise).

    ``executor``: "local" (in this process, or ``jobs`` spawned processes) or "ray" (each run a Ray
    task on the cluster at ``address``, or on a local instance of ``jobs * cpus_per_run`` CPUs;
    ``cpus_per_run`` / ``gpus_per_run`` are each task's resources; see ``ashbench.sweeps.ray_executor``).
    Either way this process alone holds the lock and appends the rows."""
    if executor not in EXECUTORS:
        raise InputError(f"--executor must be one of {', '.join(EXECUTORS)}; got {executor!r}")
    if executor == "ray":
        from ashbench.sweeps import ray_executor

        ray_executor.check(address, cpus_per_run, gpus_per_run)
        execute = partial(ray_executor.execute, jobs=jobs, address=address, cpus_per_run=cpus_per_run,
                          gpus_per_run=gpus_per_run)
    else:
        execute = partial(_execute, jobs=jobs)
    spec = load_spec(spec_path)
    with sweep_lock(spec.folder):
        return _run_locked(spec_path, execute, callback)


@contextmanager
def sweep_lock(folder: Path):
    """Hold ``folder/.sweep.lock`` (an exclusive ``flock``, released by the kernel when the process
    dies, however it dies) while a sweep writes there; ResultsError naming the holder if taken."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ".sweep.lock"
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise ResultsError(f"another sweep is writing to {folder} ({holder}); wait for it or stop it") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        yield


def _run_locked(spec_path: str, execute, callback) -> SweepResult:
    spec, runs, done = plan(spec_path)
    result = SweepResult(str(spec.folder), [r.run_id for r in runs])
    pending = [r for r in runs if r.run_id not in done]
    fill_axes(spec, [r for r in runs if r.run_id in done])
    for run in runs:
        if run.run_id in done:
            result.skipped.append(run.run_id)
            callback and callback("skipped", run, None)
    for run, row in execute(spec, pending):
        append_row(spec.folder / "runs.csv", row)
        result.finished.append(run.run_id)
        callback and callback("finished", run, row)
    return result


def fill_axes(spec: SweepSpec, finished: list[RunSpec]) -> int:
    """Give the finished rows the spec's axis columns they lack: a row written before the spec gained an
    axis (e.g. ablation runs added to a spec of arms) has no ``axis:T`` cell, and a table would take it
    for another group. The value is the one ``tidy_row`` would have written: the run's own value, else
    the axis's effective value in the run's config (the sweep's base, its ``set`` and the run's
    overrides, which is what the run trained with: its id hashes them). Cells with a value are kept."""
    path = spec.folder / "runs.csv"
    if not finished or not path.exists():
        return 0
    return fill_empty(path, {run.run_id: axis_cells(spec, run, base_config_of(spec, run)) for run in finished})


def base_config_of(spec: SweepSpec, run: RunSpec) -> dict:
    """The config a run trained with, as a nested dict (``VLConfig.to_dict()``)."""
    from ashbench.ashnet.config import load_config

    return load_config(spec.base, list(run.overrides)).to_dict()


def _execute(spec: SweepSpec, pending: list[RunSpec], jobs: int):
    if jobs <= 1:
        for run in pending:
            yield run, run_one(spec, run, threads=0)
        return
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"), initializer=_die_with_parent,
                             initargs=(os.getpid(),)) as pool:
        futures = {pool.submit(run_one, spec, run, 1): run for run in pending}
        for future in as_completed(futures):
            yield futures[future], future.result()


def _die_with_parent(parent: int) -> None:
    """In a worker: be killed (SIGKILL) when the sweep's process ``parent`` dies, even by SIGKILL
    (Linux ``PR_SET_PDEATHSIG``; elsewhere a watchdog thread polls the parent's pid)."""
    if os.getppid() != parent:  # the sweep died while this worker was starting
        os._exit(1)
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        if libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0:  # 1 = PR_SET_PDEATHSIG
            if os.getppid() != parent:  # the parent died before the call took effect
                os._exit(1)
            return
    except OSError:
        pass
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)
