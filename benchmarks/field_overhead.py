"""Wall-time overhead of ashbench's profiler, and of other counters, on the field's models (``field-*``).

Run from the repository root::

    .venv/bin/python benchmarks/field_overhead.py [--quick] [--rounds R] [--models A,B] [--batches 2,32]
                                                  [--json PATH]

For every model registered in ``ashbench/models/field_zoo.py`` and every batch size, the same
model and input (``MODELS.get(name)(batch_size=B)``) are timed side by side in interleaved rounds:

  plain          ``torch.no_grad()`` forward (the denominator of every ratio)
  ashbench       ``ashbench.profiler.profile(model, inputs, layout=..., neuron_classes=...)``
  sj_opcount     spikingjelly 2.0 ``DispatchCounterMode([SynOpCounter(), MACCounter(), FlopCounter()])``
  fvcore         ``FlopCountAnalysis(model, inputs).total()`` (JIT trace); skipped, with the reason
                 printed, for a model whose trace fails
  neurobench     NeuroBench ``SynapticOperations`` + ``ActivationSparsity`` one batch the way
                 ``Benchmark.run`` does it (hooks, forward, metrics, hooks removed); only for
                 snnTorch models (skipped for the others, and everywhere when it is not importable)
  dispatch_noop  a TorchDispatchMode that only re-dispatches every op: the floor of any
                 dispatch-mode counter (ashbench and sj_opcount both are one)

The runners ``plain``, ``sj_opcount``, ``fvcore``, ``dispatch_noop`` and the summary are those of
``benchmarks/profiler_overhead.py`` (imported from it); ashbench and NeuroBench need the
workload's layout, neuron classes and output, so they have thin runners here.

Timing method: per (model, batch) one warm-up call per variant, then R rounds (default 5,
``--quick`` 2); each round runs every variant once, in an order shuffled by round
(``profiler_overhead.round_orders``, seeded), so all variants see the same machine load and no
variant always follows the same one. The garbage collector is off inside each timed call (``timeit``'s
and pyperf's convention); ``--cold`` adds a ``gc.collect()`` before every call, leaving the CPU caches
cold (the method of the runs before 2026-11-29 12:00). The neuron state is reset before and after every
call, outside the timer, by the frameworks' own calls (``framework_reset``: spikingjelly ``reset_net``,
snnTorch ``reset_mem()``; nothing for a model of neither). Until 2026-11-29 17:00 it went through
ashbench's ``reset_state``, whose code ashbench's profile shares: it left that code warm for ashbench's
call alone (about 1.5% in ashbench's favour on the LSTM, measured with two identical copies of the package).
Reported: the plain median ms, median(variant) / median(plain), and median(ashbench) /
median(dispatch_noop). A batch whose plain forward takes over ``--max-forward-s`` (10 s) is
lowered to the largest batch found under it, and the row says so.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for _p in (ROOT, HERE):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import profiler_overhead as po  # noqa: E402  (benchmarks/profiler_overhead.py: runners, summary, machine)
import torch  # noqa: E402

from ashbench.errors import AshbenchError  # noqa: E402
from ashbench.models import MODELS  # noqa: E402
from ashbench.report.tables import FORMATS as TABLE_FORMATS  # noqa: E402

FIELD_MODELS = sorted(n for n in MODELS.names() if n.startswith("field-"))
BATCHES = (2, 32)
FLOOR_TARGET = 1.15  # ashbench / dispatch_noop
PLAIN_TARGET = 1.2  # ashbench / plain at the largest batch
MAX_FORWARD_S = 10.0


# -- the timed variants (each one full counted forward of the workload; inputs is a tuple) ------------------
def _single(inputs: tuple):
    """profiler_overhead's runners call ``net(x)``: the one input of a single-input model."""
    if len(inputs) != 1:
        raise ValueError(f"expected a single-input workload, got {len(inputs)} inputs")
    return inputs[0]


def run_plain(w):
    return po.run_plain(w.model, _single(w.inputs))


def run_ashbench(w):
    from ashbench.profiler import profile

    return profile(w.model, w.inputs, layout=w.layout, neuron_classes=w.neuron_classes)


def run_sj_opcount(w):
    return po.run_sj_opcount(w.model, _single(w.inputs))


def run_fvcore(w):
    return po.run_fvcore(w.model, _single(w.inputs))


def run_dispatch_noop(w):
    return po.run_dispatch_noop(w.model, _single(w.inputs))


def _snntorch_neurons(model) -> bool:
    try:
        import snntorch
    except ImportError:
        return False
    return any(isinstance(m, snntorch.SpikingNeuron) for m in model.modules())


def run_neurobench(w):
    """One batch as ``Benchmark.run`` does it (hooks, forward, SynapticOperations + ActivationSparsity,
    hooks removed), as in tests/test_field_models.py: NeuroBench's data are [B, T, ...]; a TB model
    gets them transposed back; a model returning (spikes, membranes) is scored on its spikes."""
    import snntorch
    from neurobench.models import NeuroBenchModel

    net, tb = w.model, w.layout == "TB"

    class _Wrapped(NeuroBenchModel):
        def __init__(self):
            super().__init__()
            self.add_activation_module(snntorch.SpikingNeuron)

        def __call__(self, data):
            out = net(data.transpose(0, 1) if tb else data)
            out = out[0] if isinstance(out, (tuple, list)) else out
            return out.transpose(0, 1) if tb else out

        def __net__(self):
            return net

    x = _single(w.inputs)
    return po.neurobench_counts(_Wrapped(), x.transpose(0, 1) if tb else x)


VARIANTS = {"plain": run_plain, "ashbench": run_ashbench, "sj_opcount": run_sj_opcount, "fvcore": run_fvcore,
            "neurobench": run_neurobench, "dispatch_noop": run_dispatch_noop}


# -- timing ---------------------------------------------------------------------------------------
def framework_reset(model):
    """A function clearing ``model``'s neuron state through its frameworks' own calls, found once: spikingjelly
    ``functional.reset_net`` when it holds a ``MemoryModule``, ``reset_mem()`` of each snnTorch
    ``SpikingNeuron``; it does nothing for a model of neither. No ashbench code runs in it (see the docstring)."""
    calls = []
    base = sys.modules.get("spikingjelly.activation_based.base")
    if base is not None and any(isinstance(m, base.MemoryModule) for m in model.modules()):
        from spikingjelly.activation_based import functional

        calls.append(lambda: functional.reset_net(model))
    snntorch = sys.modules.get("snntorch")
    neurons = [m for m in model.modules() if isinstance(m, snntorch.SpikingNeuron)] if snntorch else []
    if neurons:
        calls.append(lambda: [m.reset_mem() for m in neurons])
    return lambda: [call() for call in calls]


_RESETS: dict = {}  # id(model) -> (model, framework_reset(model))


def reset_state(model) -> None:
    """``framework_reset(model)()``, the function found once per model. The entry holds the model itself and is
    used only for that object: an id alone would be reused by a later model once the first is freed (a model
    with nothing to reset holds no reference to itself), which then kept its neuron state between calls."""
    entry = _RESETS.get(id(model))
    if entry is None or entry[0] is not model:
        entry = _RESETS[id(model)] = (model, framework_reset(model))
    entry[1]()


def timed(fn, w) -> float:
    reset_state(w.model)
    elapsed = po.stopwatch(lambda: fn(w))  # gc off inside; po.COLD: gc.collect() first
    reset_state(w.model)
    return elapsed


def interleaved(variants: dict, w, rounds: int) -> dict[str, list[float]]:
    names = list(variants)
    for name in names:  # warm-up (lazy imports, first-call kernel set-up)
        timed(variants[name], w)
    times = {name: [] for name in names}
    for order in po.round_orders(names, rounds):
        for name in order:
            times[name].append(timed(variants[name], w))
    return times


def build(name: str, batch: int, max_forward_s: float):
    """(workload, batch used, plain forward s, note): the workload at ``batch``, or, when one plain
    forward of it takes over ``max_forward_s``, at the largest smaller batch found under it."""
    factory, note, tried = MODELS.get(name), "", {}
    while True:
        torch.manual_seed(0)
        w = factory(batch_size=batch)
        timed(run_plain, w)  # warm-up
        secs = timed(run_plain, w) / 1e3
        tried[batch] = secs
        if secs <= max_forward_s or batch == 1:
            break
        guess = max(1, min(batch - 1, int(batch * max_forward_s / secs * 0.9)))
        first = max(tried)
        note = f"batch lowered from {first}: one plain forward took {tried[first]:.1f} s > {max_forward_s:g} s"
        batch = guess
    return w, batch, secs, note


def _fvcore_skip(w) -> str | None:
    """None when fvcore's JIT trace of the workload works, else why not."""
    try:
        reset_state(w.model)
        run_fvcore(w)
    except Exception as exc:  # noqa: BLE001 - any trace failure means "skip"
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ''}"
    finally:
        reset_state(w.model)
    return None


def measure(name: str, batch: int, rounds: int, nb_missing: str | None, max_forward_s: float) -> dict:
    w, used, secs, note = build(name, batch, max_forward_s)
    variants, skipped = dict(VARIANTS), {}
    fv = _fvcore_skip(w)
    if fv:
        skipped["fvcore"] = f"JIT trace failed: {fv}"
    if nb_missing:
        skipped["neurobench"] = f"not importable: {nb_missing}"
    elif not _snntorch_neurons(w.model):
        skipped["neurobench"] = "not an snnTorch model"
    for k in skipped:
        variants.pop(k)
    prof = run_ashbench(w)
    reset_state(w.model)
    times = interleaved(variants, w, rounds)
    s = po.summarise(times)
    s["ashbench"]["ratio_vs_noop"] = s["ashbench"]["median_ms"] / s["dispatch_noop"]["median_ms"]
    s["ashbench"]["paired_ratio_vs_noop"] = statistics.median(
        a / b for a, b in zip(times["ashbench"], times["dispatch_noop"]))
    tot = prof.totals
    return {"model": name, "batch_requested": batch, "batch": used, "note": note, "skipped": skipped,
            "layout": w.layout, "input_shapes": [list(t.shape) for t in w.inputs if isinstance(t, torch.Tensor)],
            "info": dict(getattr(w, "info", {}) or {}), "probe_plain_s": secs,
            "ashbench_totals": {k: tot[k] for k in ("synops", "macs", "dense_macs", "spikes", "neuron_updates",
                                                    "firing_rate")},
            "ashbench_unsupported_ops": prof.unsupported_ops, "timing": s}


def fixed_cost(rounds: int) -> dict:
    """The per-call cost of a profile that does not grow with the model: ashbench and the no-op floor
    on a one-op model (``nn.Linear(4, 4)`` on a [1, 4] input), 10 x ``rounds`` interleaved rounds.
    ``fixed_us`` = median(ashbench) - median(dispatch_noop): module walk, hooks, tracker, resets and
    building the Profile. For a floor under ``fixed_us / (FLOOR_TARGET - 1)`` this alone breaks the target."""
    from types import SimpleNamespace

    torch.manual_seed(0)
    w = SimpleNamespace(model=torch.nn.Linear(4, 4), inputs=(torch.rand(1, 4),), layout="B", neuron_classes=())
    times = interleaved({k: VARIANTS[k] for k in ("plain", "ashbench", "dispatch_noop")}, w, 10 * rounds)
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}  # us
    fixed = med["ashbench"] - med["dispatch_noop"]
    return {"plain_us": med["plain"], "dispatch_noop_us": med["dispatch_noop"], "ashbench_us": med["ashbench"],
            "fixed_us": fixed, "floor_ms_below_which_fixed_cost_alone_misses": fixed / (FLOOR_TARGET - 1) / 1e3}


# -- report --------------------------------------------------------------------------------------
NAMES = ["ashbench", "sj_opcount", "fvcore", "neurobench", "dispatch_noop"]


def summary_rows(rows: list[dict], largest: dict) -> list[list]:
    out = []
    for r in rows:
        t = r["timing"]
        ash = t["ashbench"]
        big = r["batch_requested"] == largest[r["model"]]
        cells = [r["model"], f"{r['batch']}" + ("*" if r["note"] else ""), f"{t['plain']['median_ms']:.2f}"]
        cells += [f"{t[n]['ratio_vs_plain']:.2f}x" if n in t else "skip" for n in NAMES]
        cells += [f"{ash['ratio_vs_noop']:.2f}x",
                  ("yes" if ash["ratio_vs_noop"] <= FLOOR_TARGET else "NO"),
                  ("yes" if ash["ratio_vs_plain"] <= PLAIN_TARGET else "NO") if big else "-"]
        out.append(cells)
    return out


def models_and_batches(ap: argparse.ArgumentParser, args) -> tuple[list, list]:
    """The ``--models`` names (each registered) and ``--batches`` sizes of ``args``; a bad one ends the run
    in one line (``ap.error``: exit 2), before anything is timed."""
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        try:
            MODELS.get(m)
        except AshbenchError as exc:
            ap.error(str(exc))
    try:
        batches = [int(b) for b in args.batches.split(",")]
    except ValueError:
        ap.error(f"--batches takes comma-separated integers, got {args.batches!r}")
    return models, batches


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(FIELD_MODELS),
                    help=f"comma-separated model names (default: all {len(FIELD_MODELS)} field-* models)")
    ap.add_argument("--batches", default=",".join(map(str, BATCHES)), help="comma-separated batch sizes (default 2,32)")
    ap.add_argument("--quick", action="store_true", help="2 rounds")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds (default 5, --quick 2)")
    ap.add_argument("--cold", action="store_true", help="a gc.collect() before every timed call (cold caches)")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1: a shared 2-core box)")
    ap.add_argument("--max-forward-s", type=float, default=MAX_FORWARD_S,
                    help="lower a batch whose plain forward takes longer than this (default 10 s)")
    ap.add_argument("--json", metavar="PATH", help="write all measured numbers (per-round times too) as JSON")
    ap.add_argument("--table-format", choices=TABLE_FORMATS.names(), default="table",
                    help="format of the printed tables (markdown: ready for benchmarks/README.md)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    po.COLD = args.cold
    warnings.filterwarnings("ignore")  # TracerWarnings, spikingjelly/snntorch deprecation chatter
    models, batches = models_and_batches(ap, args)
    rounds = args.rounds or (2 if args.quick else 5)

    def show(headers, rows):
        print(po.fmt_table(headers, rows, args.table_format))

    started = datetime.datetime.now().astimezone()
    t_start = time.perf_counter()
    info = po.machine()
    info["timing"] = "cold: gc.collect() before every call" if args.cold else "gc off inside each timed call"
    print(f"field_overhead.py  {started:%Y-%m-%d %H:%M %Z}  rounds={rounds}  models={len(models)}  batches={batches}")
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    nb_missing = po._neurobench_available()
    if nb_missing:
        print(f"NOTE: neurobench skipped everywhere (not importable: {nb_missing})")

    rows = []
    for name in models:
        for b in batches:
            r = measure(name, b, rounds, nb_missing, args.max_forward_s)
            rows.append(r)
            t, tot = r["timing"], r["ashbench_totals"]
            print(f"\n== {name}  batch {r['batch']}  layout {r['layout']}  input {r['input_shapes']}  "
                  f"firing rate {tot['firing_rate']:.1%}  synops/sample {tot['synops']:,}  "
                  f"MACs/sample {tot['macs']:,}")
            if r["note"]:
                print(f"   NOTE: {r['note']}")
            for k, why in r["skipped"].items():
                print(f"   {k} skipped: {why}")
            show(["variant", "median ms", "min ms", "max ms", "vs plain", "paired vs plain"],
                 [[k, f"{v['median_ms']:.2f}", f"{v['min_ms']:.2f}", f"{v['max_ms']:.2f}",
                   f"{v['ratio_vs_plain']:.2f}x", f"{v['paired_ratio_vs_plain']:.2f}x"] for k, v in t.items()])
            print(f"   ashbench / dispatch_noop = {t['ashbench']['ratio_vs_noop']:.2f}x "
                  f"(paired {t['ashbench']['paired_ratio_vs_noop']:.2f}x); ashbench / sj_opcount = "
                  f"{t['ashbench']['ratio_vs_sj_opcount']:.2f}x", flush=True)

    fixed = fixed_cost(rounds)
    print(f"\n== fixed cost per call (nn.Linear(4, 4), input [1, 4]): plain {fixed['plain_us']:.0f} us, "
          f"dispatch_noop {fixed['dispatch_noop_us']:.0f} us, ashbench {fixed['ashbench_us']:.0f} us: "
          f"{fixed['fixed_us']:.0f} us more than the floor, so any forward whose floor is under "
          f"{fixed['floor_ms_below_which_fixed_cost_alone_misses']:.2f} ms misses ash/noop <= {FLOOR_TARGET} "
          "on this cost alone", flush=True)
    info["load_avg_end"] = os.getloadavg()
    info["git_end"] = po._git_state()  # others may commit while this runs: the code measured is the start's
    wall = time.perf_counter() - t_start
    largest = {m: max(r["batch_requested"] for r in rows if r["model"] == m) for m in models}
    print("\n" + "=" * 100)
    print(f"SUMMARY  {started:%Y-%m-%d %H:%M %Z}  ({rounds} interleaved rounds, medians; ratio = variant / plain; "
          f"wall {wall:.0f} s)")
    print(f"machine: {info['processor']}, {info['cpu_count']} CPUs, torch {info['torch']} "
          f"({info['torch_threads']} threads), spikingjelly {info['spikingjelly']}, load avg start "
          f"{info['load_avg_start'][0]:.2f} end {info['load_avg_end'][0]:.2f}, git {info['git']}"
          + (f" (at the end: {info['git_end']})" if info["git_end"] != info["git"] else ""))
    show(["model", "batch", "plain ms"] + NAMES
         + ["ash/noop", f"ash/noop<={FLOOR_TARGET}", f"ash/plain<={PLAIN_TARGET} (largest batch)"],
         summary_rows(rows, largest))
    for r in rows:
        if r["note"]:
            print(f"* {r['model']}: {r['note']}")
    fv = sorted({r["model"] for r in rows if "fvcore" in r["skipped"]})
    print("fvcore skipped (JIT trace failed): " + (", ".join(fv) if fv else "none"))
    nb = sorted({r["model"] for r in rows if "neurobench" not in r["skipped"]})
    print("neurobench run on: " + (", ".join(nb) if nb else "none") + " (the others are not snnTorch models)")
    print("=" * 100)

    if args.json:
        command = " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])])
        results = {"date": started.isoformat(timespec="seconds"), "command": command, "rounds": rounds,
                   "wall_s": wall, "machine": info, "fixed_cost": fixed, "floor_target": FLOOR_TARGET,
                   "plain_target": PLAIN_TARGET, "rows": rows}
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2, default=str)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
