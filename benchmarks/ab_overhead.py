"""A/B of two versions of ashbench's profiler, side by side in one process, neither of them the harness's.

Run from the repository root::

    .venv/bin/python benchmarks/ab_overhead.py --a WORKTREE --b 447c5f8 [--models field-lstm,linear]
                                               [--batches 2] [--rounds 400] [--json PATH]

``--a`` / ``--b``: ``WORKTREE`` (the working tree's ``ashbench/``) or any git revision. Each is copied into a
temporary folder as a package of its own, ``ashbench_a`` and ``ashbench_b`` (every ``ashbench.`` import
renamed: ``renamed_copy``), and both profile the same model objects (``MODELS.get(name)(batch_size=B)``, or
``linear``: ``nn.Linear(4, 4)`` on a [1, 4] input, the fixed cost per call) beside the plain forward,
spikingjelly's op_counter, fvcore (when its trace works) and the no-op dispatch floor, one call of each per
round in an order shuffled by round (``profiler_overhead.round_orders``), the garbage collector off inside each
timed call, neuron state reset between calls by the frameworks' own calls (``field_overhead.reset_state``).

Why two renamed copies: a copy that *is* the harness's ``ashbench`` shares modules with the harness (the model
zoo, a reset) and runs warm. With identical code in both, such an A/B read a paired ratio of 0.955-0.98, and
1.015 with the roles swapped; two renamed copies read 0.998 (2026-11-29, field-lstm, 300 rounds).

Reported per model and batch: median µs of the floor, median(a) / median(floor), median(b) / median(floor), and
the paired ratio a / b (the median of the per-round ratios; below 1: a is faster). Compare a version with
itself (``--a WORKTREE --b WORKTREE``) to see the noise of the machine at the moment.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from types import SimpleNamespace

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for _p in (ROOT, HERE):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import field_overhead as fo  # noqa: E402  (reset_state: the frameworks' own reset)
import profiler_overhead as po  # noqa: E402  (runners, round_orders, stopwatch, machine)
import torch  # noqa: E402

from ashbench.models import MODELS  # noqa: E402

WORKTREE = "WORKTREE"
_IMPORT = re.compile(r"\bashbench(?=[.\s])")  # ``ashbench.x`` and ``import ashbench`` / ``from ashbench import``


def renamed_copy(source: str, name: str, folder: str) -> str:
    """Put the ``ashbench`` package of ``source`` (``WORKTREE`` or a git revision) in ``folder`` as package
    ``name``, every import of ``ashbench`` renamed; returns the package's path."""
    target = os.path.join(folder, name)
    if os.path.exists(target):
        shutil.rmtree(target)
    if source == WORKTREE:
        shutil.copytree(os.path.join(ROOT, "ashbench"), target, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        staging = tempfile.mkdtemp(dir=folder)
        archive = subprocess.run(["git", "-C", ROOT, "archive", source, "ashbench"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", staging], input=archive, check=True)
        shutil.move(os.path.join(staging, "ashbench"), target)
        os.rmdir(staging)
    for dirpath, _, files in os.walk(target):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(dirpath, file)
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                with open(path, "w", encoding="utf-8") as f:
                    f.write(_IMPORT.sub(name, text))
    return target


def workload(model: str, batch: int):
    if model == "linear":
        return SimpleNamespace(model=torch.nn.Linear(4, 4).eval(), inputs=(torch.randn(1, 4),), layout="B",
                               neuron_classes=())
    torch.manual_seed(0)
    return MODELS.get(model)(batch_size=batch)


def _of_workload(call):
    """``call`` as field_overhead's runners are called (with the workload, which it already holds)."""
    return lambda _workload: call()


def measure(engines: dict, model: str, batch: int, rounds: int) -> dict:
    w = workload(model, batch)
    x = w.inputs[0]
    variants = {"plain": lambda: po.run_plain(w.model, x), "sj_opcount": lambda: po.run_sj_opcount(w.model, x),
                "dispatch_noop": lambda: po.run_dispatch_noop(w.model, x)}
    for side, engine in engines.items():
        variants[side] = (lambda e: lambda: e.profile(w.model, w.inputs, layout=w.layout,
                                                      neuron_classes=w.neuron_classes))(engine)
    try:
        fo.reset_state(w.model)
        po.run_fvcore(w.model, x)
        variants["fvcore"] = lambda: po.run_fvcore(w.model, x)
    except Exception:  # noqa: BLE001 - a trace that fails leaves fvcore out
        pass
    times = fo.interleaved({name: _of_workload(call) for name, call in variants.items()}, w, rounds)
    median = {name: statistics.median(t) for name, t in times.items()}
    return {"model": model, "batch": batch, "rounds": rounds, "median_ms": median,
            "floor_us": median["dispatch_noop"] * 1e3,
            "a_vs_floor": median["a"] / median["dispatch_noop"], "b_vs_floor": median["b"] / median["dispatch_noop"],
            "paired_a_vs_b": statistics.median(a / b for a, b in zip(times["a"], times["b"]))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--a", default=WORKTREE, help="WORKTREE or a git revision (default WORKTREE)")
    ap.add_argument("--b", default="HEAD", help="WORKTREE or a git revision (default HEAD)")
    ap.add_argument("--models", default="field-lstm,linear", help="comma-separated: field-* models or 'linear'")
    ap.add_argument("--batches", default="2")
    ap.add_argument("--rounds", type=int, default=400)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    folder = tempfile.mkdtemp(prefix="ashbench-ab-")
    try:
        renamed_copy(args.a, "ashbench_a", folder)
        renamed_copy(args.b, "ashbench_b", folder)
        sys.path.insert(0, folder)
        engines = {side: importlib.import_module(f"ashbench_{side}.profiler.engine") for side in ("a", "b")}
        rows = [measure(engines, model, 1 if model == "linear" else int(batch), args.rounds)
                for model in args.models.split(",")
                for batch in (["1"] if model == "linear" else args.batches.split(","))]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for r in rows:
        print(f"{r['model']} b{r['batch']}: floor {r['floor_us']:.0f} us  a/floor {r['a_vs_floor']:.3f}  "
              f"b/floor {r['b_vs_floor']:.3f}  a/b paired {r['paired_a_vs_b']:.3f}  ({r['rounds']} rounds)")
    if args.json:
        doc = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "command": " ".join(["benchmarks/ab_overhead.py"] + (argv if argv is not None else sys.argv[1:])),
               "a": args.a, "b": args.b, "machine": po.machine(), "rows": rows}
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
