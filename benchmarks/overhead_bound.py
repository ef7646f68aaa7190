"""How far below the no-op floor ratio ashbench could get if two of its fixed costs were free.

Run from the repository root::

    .venv/bin/python benchmarks/overhead_bound.py [--models field-lstm,field-snntorch-csnn] [--batches 2]
                                                  [--rounds 61]

A diagnostic for the models that miss ``field_overhead.py``'s target (ashbench within 1.15x of a no-op
``TorchDispatchMode``). Beside that benchmark's variants (plain, the floor, spikingjelly's op_counter and
fvcore, in the same seeded shuffled rounds, so the caches are as cold as there), ashbench is timed with
pieces of its profile made free, each variant in a series of rounds of its own (two ashbench variants in
one round keep each other's code warm: the full profile read 1.14x on the LSTM that way, 1.31x in
``field_overhead.py``). The pieces (``PIECES``):

  walk          the module walk, made once before the rounds (every profile gets that one ``ModelWalk``)
  build         the Profile's build (``build_profile`` returns None: the call stops after counting)
  flush         the count of the held ops and neuron outputs after the forward (nothing is counted)
  input_check   the check of the model's inputs for events (no input is marked)

The variants (``VARIANTS``): ``ashbench`` (nothing free), ``prewalked`` (walk), ``unbuilt`` (build),
``neither`` (walk and build: a bound on what any change to those two could give), ``uncounted`` (flush)
and ``unchecked`` (input_check). Each piece is replaced for the timed call only and restored after it; the
results are not read, so a variant misleads nothing but time.
"""

from __future__ import annotations

import argparse
import datetime
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

from ashbench.profiler import engine  # noqa: E402

VARIANTS = {"ashbench": (), "prewalked": ("walk",), "unbuilt": ("build",), "neither": ("walk", "build"),
            "uncounted": ("flush",), "unchecked": ("input_check",)}


def _pieces(w) -> dict:
    """piece -> (object, attribute, the replacement made free) for workload ``w``."""
    walk = engine.ModelWalk(list(w.model.named_modules()), tuple(w.neuron_classes))
    return {"walk": (engine, "ModelWalk", lambda *args, **kwargs: walk),
            "build": (engine, "build_profile", lambda *args, **kwargs: None),
            "flush": (engine._Run, "flush_pending", lambda run: None),
            "input_check": (engine.SpikeTracker, "mark_inputs", lambda tracker, tensors: None)}


def shortcut_runner(w, skips: tuple):
    """A runner of ``fo.run_ashbench`` with the pieces in ``skips`` made free for its call."""
    pieces = _pieces(w)
    replaced = [pieces[piece] for piece in skips]

    def run(w):
        saved = [(owner, attribute, getattr(owner, attribute)) for owner, attribute, _ in replaced]
        for owner, attribute, free in replaced:
            setattr(owner, attribute, free)
        try:
            return fo.run_ashbench(w)
        finally:
            for owner, attribute, real in saved:
                setattr(owner, attribute, real)

    return run


def measure(name: str, batch: int, rounds: int, variants: list) -> dict:
    """{variant: ratio of its median to the floor's median} for one model and batch."""
    w, _, _, _ = fo.build(name, batch, fo.MAX_FORWARD_S)
    others = {"plain": fo.run_plain, "dispatch_noop": fo.run_dispatch_noop, "sj_opcount": fo.run_sj_opcount}
    if not fo._fvcore_skip(w):
        others["fvcore"] = fo.run_fvcore
    found, floors = {}, []
    for label in variants:  # one series each: two ashbench variants in one round keep each other warm
        times = fo.interleaved(others | {label: shortcut_runner(w, VARIANTS[label])}, w, rounds)
        floors.append(statistics.median(times["dispatch_noop"]))
        found[label] = statistics.median(times[label]) / floors[-1]
    return found | {"floor_ms": statistics.median(floors)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="field-lstm,field-snntorch-csnn", help="comma-separated field-* models")
    ap.add_argument("--batches", default="2", help="comma-separated batch sizes (default 2)")
    ap.add_argument("--rounds", type=int, default=61)
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS)}")
    args = ap.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        ap.error(f"unknown variant(s) {', '.join(unknown) or '(none given)'}; valid: {', '.join(VARIANTS)}")
    models, batches = fo.models_and_batches(ap, args)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    info = po.machine()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"ashbench / no-op floor, {args.rounds} shuffled rounds, {now}; torch {info['torch']}, git {info['git']}")
    print(f"{'model':32s} {'B':>3s} {'floor ms':>9s} " + " ".join(f"{label:>10s}" for label in variants))
    for m in models:
        for b in batches:
            r = measure(m, b, args.rounds, variants)
            print(f"{m:32s} {b:3d} {r['floor_ms']:9.2f} " + " ".join(f"{r[label]:9.2f}x" for label in variants))
    return 0


if __name__ == "__main__":
    sys.exit(main())
