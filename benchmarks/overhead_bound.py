"""How far below the no-op floor ratio ashbench could get if two of its fixed costs were free.

Run from the repository root::

    .venv/bin/python benchmarks/overhead_bound.py [--models field-lstm,field-snntorch-csnn] [--batches 2]
                                                  [--rounds 61]

A diagnostic for the models that miss ``field_overhead.py``'s target (ashbench within 1.15x of a no-op
``TorchDispatchMode``). Beside that benchmark's variants (plain, the floor, spikingjelly's op_counter and
fvcore, in the same seeded shuffled rounds, so the caches are as cold as there), ashbench is timed four
ways, each in a series of rounds of its own (two ashbench variants in one round keep each other's code
warm: the full profile read 1.14x on the LSTM that way, 1.31x in ``field_overhead.py``): the full profile;
with the module walk made once before the rounds (``prewalked``: every profile gets that one
``ModelWalk``); with the Profile not built (``unbuilt``: ``build_profile`` returns None, so the call stops
after counting); and with both (``neither``). The last is a bound: what the rest of a profile (the
counting context, hooks, the counted forward, the flush of held ops, the input check) costs over the
floor, which no change to the walk or the build could go below.

Both shortcuts are made by replacing ``engine.ModelWalk`` and ``engine.build_profile`` for the timed call
only (restored after each); the counts are not read, so the shortcuts cannot mislead anything but time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for _p in (ROOT, HERE):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import field_overhead as fo  # noqa: E402
import profiler_overhead as po  # noqa: E402
import torch  # noqa: E402

from ashbench.errors import AshbenchError  # noqa: E402
from ashbench.models import MODELS  # noqa: E402
from ashbench.profiler import engine  # noqa: E402

SHORTCUTS = {"ashbench": (), "prewalked": ("walk",), "unbuilt": ("build",), "neither": ("walk", "build")}


def shortcut_runner(w, skips: tuple):
    """A runner of ``fo.run_ashbench`` with the pieces in ``skips`` made free for its call."""
    walk = engine.ModelWalk(list(w.model.named_modules()), tuple(w.neuron_classes))

    def run(w):
        real_walk, real_build = engine.ModelWalk, engine.build_profile
        if "walk" in skips:
            engine.ModelWalk = lambda *args, **kwargs: walk
        if "build" in skips:
            engine.build_profile = lambda *args, **kwargs: None
        try:
            return fo.run_ashbench(w)
        finally:
            engine.ModelWalk, engine.build_profile = real_walk, real_build

    return run


def measure(name: str, batch: int, rounds: int) -> dict:
    """{variant: ratio of its median to the floor's median} for one model and batch."""
    w, _, _, _ = fo.build(name, batch, fo.MAX_FORWARD_S)
    others = {"plain": fo.run_plain, "dispatch_noop": fo.run_dispatch_noop, "sj_opcount": fo.run_sj_opcount}
    if not fo._fvcore_skip(w):
        others["fvcore"] = fo.run_fvcore
    found, floors = {}, []
    for label, skips in SHORTCUTS.items():  # one series each: two ashbench variants in a round keep each other warm
        times = fo.interleaved(others | {label: shortcut_runner(w, skips)}, w, rounds)
        floors.append(statistics.median(times["dispatch_noop"]))
        found[label] = statistics.median(times[label]) / floors[-1]
    return found | {"floor_ms": statistics.median(floors)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="field-lstm,field-snntorch-csnn", help="comma-separated field-* models")
    ap.add_argument("--batches", default="2", help="comma-separated batch sizes (default 2)")
    ap.add_argument("--rounds", type=int, default=61)
    args = ap.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    for m in models:
        try:
            MODELS.get(m)
        except AshbenchError as exc:
            ap.error(str(exc))
    try:
        batches = [int(b) for b in args.batches.split(",")]
    except ValueError:
        ap.error(f"--batches takes comma-separated integers, got {args.batches!r}")
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    info = po.machine()
    print(f"ashbench / no-op floor, {args.rounds} shuffled rounds; torch {info['torch']}, git {info['git']}")
    print(f"{'model':32s} {'B':>3s} {'floor ms':>9s} " + " ".join(f"{label:>10s}" for label in SHORTCUTS))
    for m in models:
        for b in batches:
            r = measure(m, b, args.rounds)
            print(f"{m:32s} {b:3d} {r['floor_ms']:9.2f} " + " ".join(f"{r[label]:9.2f}x" for label in SHORTCUTS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
