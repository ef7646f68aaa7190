"""Run a sweep's pending runs as Ray tasks (``ashbench sweep SPEC --executor ray [--address ADDR]``).

Only the runs travel: the driver (the ``ashbench sweep`` process) keeps the sweep lock, writes each
run's profile and appends its row to ``runs.csv`` as the task finishes, exactly as the local
executor does, so a sweep is resumable the same way (a run in flight when the driver died has no
row and is redone; its training resumes from ``<work_dir>/<sweep>/<run_id>/last.pt`` when that
folder is on a filesystem the nodes share). Ray kills a dead driver's tasks itself, and a local
instance started here shares the driver's fate (its processes die with it).

Without an address a local Ray instance is started (``jobs * cpus_per_run`` CPUs, no dashboard)
and shut down afterwards; with one, the driver connects to that cluster (``host:port`` of the head
node's GCS, ``ray://host:port`` for Ray Client, or ``auto``), after a short TCP check, so an
unreachable address fails in seconds. Workers get the ``ashbench`` package through
``runtime_env={"py_modules": [...]}`` (so a cluster's nodes need ray, torch and ashbench's
dependencies, not ashbench itself) and run in the driver's working directory when it exists on
their node (relative paths of the spec then mean the same there). A run reserves ``cpus_per_run``
CPUs (its torch threads too) and ``gpus_per_run`` GPUs; with none it sees no GPU and trains on CPU.

``ray`` is an optional extra (``pip install 'ashbench[ray]'``) imported only here, lazily.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

from ashbench.errors import AshbenchError, InputError
from ashbench.sweeps.single_run import compute_one, write_profile

CONNECT_TIMEOUT_S = 5.0


def import_ray():
    """The ``ray`` module, or InputError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise InputError("--executor ray needs the ray package, which is not installed; "
                         "install it with: pip install 'ashbench[ray]' (or pip install ray)") from None
    return ray


def check(address: str | None, cpus_per_run: float = 1, gpus_per_run: float = 0) -> None:
    """Fail fast, before any training: ray importable, resources sane and ``address`` reachable."""
    import_ray()
    if cpus_per_run < 1:
        raise InputError(f"--cpus-per-run must be >= 1, got {cpus_per_run}")
    if gpus_per_run < 0:
        raise InputError(f"--gpus-per-run must be >= 0, got {gpus_per_run}")
    if address is not None:
        _probe(address)


def _probe(address: str) -> None:
    """A TCP connection to ``address`` within CONNECT_TIMEOUT_S (ray.init itself waits a minute)."""
    if address in ("auto", "local"):
        return
    target = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise InputError(f"--address must be HOST:PORT, ray://HOST:PORT or auto; got {address!r}")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise InputError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc} "
                         f"(is `ray start --head` running there?)") from None


def execute(spec, pending: list, *, jobs: int = 1, address: str | None = None, cpus_per_run: float = 1,
            gpus_per_run: float = 0):
    """Yield ``(run, row)`` for each of ``pending`` as its Ray task finishes (any order)."""
    if not pending:
        return
    ray = import_ray()
    started = _connect(ray, address, jobs, cpus_per_run)
    refs = {}
    try:
        _check_resources(ray, cpus_per_run, gpus_per_run)
        task = ray.remote(num_cpus=cpus_per_run, num_gpus=gpus_per_run,
                          runtime_env=_runtime_env(gpus_per_run))(_run_task)
        threads = max(1, int(cpus_per_run))
        refs = {task.remote(spec, run, threads, os.getcwd()): run for run in pending}
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                run = refs.pop(ref)
                row, profile_doc = _result(ray, ref)
                _write_profile(spec, run, profile_doc)
                yield run, row
    finally:
        for ref in refs:  # runs not finished (an error, or the caller stopped early)
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()


def _connect(ray, address: str | None, jobs: int, cpus_per_run: float) -> bool:
    """Connect (or start a local instance); True when this call started Ray and must shut it down."""
    if ray.is_initialized():  # a library caller's own ray.init: use it as it is (it ships ashbench, if need be)
        return False
    import ashbench

    # the package travels with the job (a local folder can only be shipped at ray.init)
    options = dict(include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False,
                   runtime_env={"py_modules": [str(Path(ashbench.__file__).parent)]})
    if address is None:
        options.update(num_cpus=max(1, int(jobs * cpus_per_run)))  # GPUs: those Ray detects
    else:
        options.update(address=address)
    try:
        ray.init(**options)
    except (ConnectionError, TimeoutError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise InputError(f"cannot start or connect to {where}: {str(exc).splitlines()[0] if str(exc) else exc!r}") \
            from None
    return True


def _runtime_env(gpus_per_run: float) -> dict:
    """Each task's environment: no GPU in sight unless the run reserved one (Ray leaves
    ``CUDA_VISIBLE_DEVICES`` alone for a task without GPUs)."""
    return {} if gpus_per_run else {"env_vars": {"CUDA_VISIBLE_DEVICES": ""}}


def _check_resources(ray, cpus_per_run: float, gpus_per_run: float) -> None:
    have = ray.cluster_resources()
    for name, need, option in (("CPU", cpus_per_run, "--cpus-per-run"), ("GPU", gpus_per_run, "--gpus-per-run")):
        if need and have.get(name, 0) < need:
            raise InputError(f"{option} {need:g} asks for more than the Ray cluster has ({have.get(name, 0):g} {name})")


def _result(ray, ref):
    from ray.exceptions import RayTaskError

    try:
        return ray.get(ref)
    except RayTaskError as exc:  # a user error in the run (bad config ...) stays one line
        cause = getattr(exc, "cause", None)
        if isinstance(cause, AshbenchError):
            raise cause from None
        raise


def _write_profile(spec, run, doc: dict) -> None:
    write_profile(spec.folder / "profiles" / f"{run.run_id}.json", doc)


def _run_task(spec, run, threads: int, cwd: str):
    """In a Ray worker: train + evaluate one run; its (row, profile) go back to the driver."""
    if os.path.isdir(cwd):
        os.chdir(cwd)
    return compute_one(spec, run, threads)
