"""Executing a sweep: train, evaluate and profile each pending run; the parent process alone
writes ``runs.csv`` (atomically), so parallel jobs (``jobs > 1``) never race on it."""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import signal
import socket
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from ashbench.errors import ResultsError
from ashbench.files import write_atomic
from ashbench.sweeps.runs_table import append_row, done_ids
from ashbench.sweeps.spec import RunSpec, SweepSpec, effective_axis_value, expand, load_spec, validate_runs


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


def run_sweep(spec_path: str, *, jobs: int = 1, callback=None) -> SweepResult:
    """Run every pending configuration; ``callback(event, run, row)`` after each (event:
    'skipped' or 'finished'). One sweep per results folder at a time (ResultsError otherwise)."""
    spec = load_spec(spec_path)
    with sweep_lock(spec.folder):
        return _run_locked(spec_path, jobs, callback)


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


def _run_locked(spec_path: str, jobs: int, callback) -> SweepResult:
    spec, runs, done = plan(spec_path)
    result = SweepResult(str(spec.folder), [r.run_id for r in runs])
    pending = [r for r in runs if r.run_id not in done]
    for run in runs:
        if run.run_id in done:
            result.skipped.append(run.run_id)
            callback and callback("skipped", run, None)
    for run, row in _execute(spec, pending, jobs):
        append_row(spec.folder / "runs.csv", row)
        result.finished.append(run.run_id)
        callback and callback("finished", run, row)
    return result


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


def run_one(spec: SweepSpec, run: RunSpec, threads: int = 0) -> dict:
    """Train, evaluate (retrieval + profile) and price one run; returns its tidy row."""
    from ashbench.ashnet.evaluate import evaluate
    from ashbench.ashnet.train import train

    overrides = list(run.overrides) + ([f"train.threads={threads}"] if threads else [])
    trained = train(spec.base, spec.work_dir / spec.name / run.run_id, overrides=overrides, resume=True)
    report = evaluate(trained.checkpoint, profile=True, energy_model=spec.energy_models[0])
    profile_doc = report["efficiency"]["profile"]
    _write_profile(spec.folder / "profiles" / f"{run.run_id}.json", profile_doc)
    return tidy_row(spec, run, report, profile_doc, trained.wall_s)


def _write_profile(path: Path, doc: dict) -> None:
    write_atomic(path, json.dumps(doc, indent=1), make_parents=True)


EFFICIENCY_COLUMNS = ("dense_macs", "macs", "synops", "elementwise_ops", "neuron_updates", "spikes", "neurons",
                      "firing_rate", "params")
CONFIG_COLUMNS = {"mode": "model.mode", "timesteps": "model.timesteps", "neuron": "model.neuron",
                  "v_threshold": "model.v_threshold", "snn_width": "model.snn_width",
                  "itc_weight": "loss.itc_weight", "itm_weight": "loss.itm_weight",
                  "stua_weight": "loss.stua_weight", "hard_negatives": "loss.hard_negatives",
                  "firing_rate_weight": "loss.firing_rate_weight", "seed": "train.seed", "steps": "train.steps"}


def tidy_row(spec: SweepSpec, run: RunSpec, report: dict, prof: dict, train_s: float) -> dict:
    """One flat row: axis values, key config values, accuracy, efficiency totals and energies."""
    from ashbench.energy import estimate_energy

    cfg = report["config"]
    row = {"run_id": run.run_id, "label": run.label, "sweep": spec.name, "base": spec.base}
    row.update({f"axis:{a}": run.values.get(a, effective_axis_value(a, cfg)) for a in spec.axes})
    row.update({name: cfg[key.split(".")[0]][key.split(".")[1]] for name, key in CONFIG_COLUMNS.items()})
    row.update({k: round(v, 4) for k, v in report["retrieval"].items()})
    row["hard_negative_accuracy"] = round(report["hard_negative_accuracy"], 4)
    row.update({k: prof["totals"][k] for k in EFFICIENCY_COLUMNS})
    for model in spec.energy_models:
        energy = estimate_energy(prof, model)
        row[f"energy_pj:{model}"] = round(energy["total_pj"], 3)
        row.update({f"energy_{part}_pj:{model}": round(v, 3) for part, v in energy["breakdown_pj"].items()})
    row.update({"train_s": round(train_s, 3), "eval_s": round(report["wall_s"], 3),
                "torch": report["versions"].get("torch"), "spikingjelly": report["versions"].get("spikingjelly")})
    return row
