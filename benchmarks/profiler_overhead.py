"""Wall-time and peak-memory overhead of ashbench's profiler against a plain forward and other counters.

Run from the repository root::

    .venv/bin/python benchmarks/profiler_overhead.py [--quick] [--rounds R] [--json PATH]

Every timed variant is one full counted forward pass of the same spikingjelly multi-step CNN on the
same input ([T=4, B=64, 3, 32, 32]):

  plain       ``torch.no_grad()`` forward (the denominator of every ratio)
  ashbench    ``ashbench.profiler.profile(net, x, layout="TB")`` (the thing under test)
  sj_opcount  spikingjelly 2.0 ``DispatchCounterMode([SynOpCounter(), MACCounter(), FlopCounter()])``
  fvcore      ``FlopCountAnalysis(net, x).total()`` (JIT trace; dense counts only, no spikes)
  neurobench  NeuroBench 2.x SynapticOperations + ActivationSparsity, computed per batch as
              ``Benchmark.run`` does (hooks registered, forward, metrics, hooks removed); skipped
              with a note when neurobench is not importable (it is not a project dependency)
  dispatch_noop  a TorchDispatchMode that only re-dispatches each op: the floor of any
              dispatch-mode counter (ashbench and sj_opcount both are one)

Timing method: one warm-up call per variant, then R rounds; each round runs every variant once, in
an order shuffled by round (``round_orders``, seeded), so all variants see the same machine load and
each follows every other about equally often. (A rotated order, used before 2026-11-29 15:20 UTC, made
each variant always follow the same one; ashbench followed plain, which left the model's data and
torch's code in the caches: with the same code, field_overhead.py's LSTM read ashbench / dispatch_noop
1.05-1.18x in ten rotated 201-round runs and 1.26-1.35x in five shuffled ones.) The garbage collector is
off inside each timed call (``timeit``'s and pyperf's convention); ``--cold`` adds a ``gc.collect()``
before every call (cold CPU caches: the method before 2026-11-29 12:00). Reported: median ms per
variant, median(variant) / median(plain), and median(ashbench) / median(sj_opcount).

Peak memory: each variant runs one forward in a fresh subprocess; ru_maxrss is read before and
after the forward (forward peak = difference), and also compared with a baseline subprocess that
only builds the net and the input.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import io
import json
import os
import platform
import pstats
import random
import resource
import statistics
import subprocess
import sys
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import torch  # noqa: E402
from spikingjelly.activation_based import functional, layer, neuron  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

from ashbench.report.tables import FORMATS as TABLE_FORMATS  # noqa: E402
from ashbench.report.tables import Column, Table  # noqa: E402
from ashbench.report.tables import render as render_table  # noqa: E402

# BN2 affine weight: with the default init the second LIF layer stays silent at every input scale
# (conv2 outputs of spike inputs are ~0.2); weight 8 makes it fire 15-20% (see README).
BN2_WEIGHT = 8.0
BN2_BIAS = 0.0
# input scale -> regime (measured firing rates are printed by every run)
REGIMES = {"rate~12%": 2.8, "rate~21%": 5.5, "rate~0%": 1e-3}
MEMORY_REGIME = "rate~21%"
SCALING_REGIME = "rate~12%"
T_DEFAULT, B_DEFAULT = 4, 64


# -- model and inputs -------------------------------------------------------------------------------
def build_net() -> torch.nn.Module:
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        layer.Conv2d(3, 16, 3, padding=1), layer.BatchNorm2d(16), neuron.LIFNode(), layer.MaxPool2d(2),
        layer.Conv2d(16, 32, 3, padding=1), layer.BatchNorm2d(32), neuron.LIFNode(), layer.MaxPool2d(2),
        layer.Flatten(), layer.Linear(2048, 10),
    )
    functional.set_step_mode(net, "m")
    net.eval()
    with torch.no_grad():
        net[5].weight.fill_(BN2_WEIGHT)
        net[5].bias.fill_(BN2_BIAS)
    return net


def make_input(scale: float, t: int = T_DEFAULT, b: int = B_DEFAULT) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.randn(t, b, 3, 32, 32, generator=g) * scale


# -- the timed variants: each is one full counted forward; returns what it measured --------------------
def run_plain(net, x):
    with torch.no_grad():
        return net(x)


def run_ashbench(net, x):
    from ashbench.profiler import profile

    return profile(net, x, layout="TB")


def run_sj_opcount(net, x):
    from spikingjelly.activation_based.op_counter import DispatchCounterMode, FlopCounter, MACCounter, SynOpCounter

    counters = [SynOpCounter(), MACCounter(), FlopCounter()]
    with torch.no_grad(), DispatchCounterMode(counters) as mode:
        net(x)
    return {"synops": counters[0].get_total(), "macs": counters[1].get_total(), "flops": counters[2].get_total(),
            "unsupported": {type(c).__name__: mode.get_unsupported(c) for c in counters}}


def run_fvcore(net, x):
    from fvcore.nn import FlopCountAnalysis

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings from spikingjelly's python loops
        analysis = FlopCountAnalysis(net, x).unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        return {"total": analysis.total(), "by_operator": dict(analysis.by_operator()),
                "unsupported": dict(analysis.unsupported_ops())}


class _NoopMode(TorchDispatchMode):
    """Re-dispatches every op and does nothing else. Defined once, as a counter's mode class is: a
    class made on every call costs about 8 us warm and 100 us after a gc.collect(), and PyTorch's
    per-mode-class caches start empty for each new class, which made the floor look higher."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))


def run_dispatch_noop(net, x):
    """Floor of any TorchDispatchMode-based counter: a mode that only re-dispatches every op."""
    with torch.no_grad(), _NoopMode():
        return net(x)


def _neurobench_available() -> str | None:
    """None when importable, else the reason it is not."""
    try:
        import neurobench  # noqa: F401
        from neurobench.metrics.workload import ActivationSparsity, SynapticOperations  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure means "skip"
        return f"{type(exc).__name__}: {exc}"
    return None


def run_neurobench(net, x):
    """What Benchmark.run does for one batch, minus the DataLoader/tqdm: hooks, forward, metrics."""
    from neurobench.models import NeuroBenchModel

    class _TBModel(NeuroBenchModel):  # NeuroBench feeds [B, T, ...]; the net wants [T, B, ...]
        def __init__(self, module):
            super().__init__()
            self.net = module
            self.add_activation_module(neuron.BaseNode)  # LIF is not in NeuroBench's default list

        def __call__(self, batch):
            return self.net(batch.transpose(0, 1))

        def __net__(self):
            return self.net

    return neurobench_counts(_TBModel(net), x.transpose(0, 1))


def neurobench_counts(model, batch_first) -> dict:
    """NeuroBench's SynapticOperations and ActivationSparsity of a wrapped ``model`` on one batch-first
    input (hooks registered around the forward and removed)."""
    from neurobench.metrics.workload import ActivationSparsity, SynapticOperations

    synops, sparsity = SynapticOperations(), ActivationSparsity()
    data = (batch_first, torch.zeros(batch_first.shape[0]))
    model.register_hooks()
    try:
        with torch.no_grad():
            preds = model(data[0])
            ops = synops(model, preds, data)
            sp = sparsity(model, preds, data)
    finally:
        model.cleanup_hooks()
    return {**ops, "ActivationSparsity": sp}


VARIANTS = {"plain": run_plain, "ashbench": run_ashbench, "sj_opcount": run_sj_opcount, "fvcore": run_fvcore,
            "neurobench": run_neurobench, "dispatch_noop": run_dispatch_noop}


# -- timing ---------------------------------------------------------------------------------------
COLD = False  # --cold: a gc.collect() before every timed call (the method of runs before 2026-11-29 12:00)


def stopwatch(call) -> float:
    """ms of ``call()`` with the garbage collector off inside the timed region, as ``timeit`` and
    pyperf time; it runs between calls. With ``COLD`` every call follows a ``gc.collect()``, which
    leaves the CPU caches cold and adds 0.2-0.5 ms to every variant's call alike."""
    if COLD:
        gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        call()
        return (time.perf_counter() - t0) * 1e3
    finally:
        if enabled:
            gc.enable()


def timed(fn, net, x) -> float:
    functional.reset_net(net)
    elapsed = stopwatch(lambda: fn(net, x))
    functional.reset_net(net)
    return elapsed


def interleaved(variants: dict, net, x, rounds: int) -> dict[str, list[float]]:
    names = list(variants)
    for name in names:  # warm-up
        timed(variants[name], net, x)
    times = {name: [] for name in names}
    for order in round_orders(names, rounds):
        for name in order:
            times[name].append(timed(variants[name], net, x))
    return times


def round_orders(names: list, rounds: int, seed: int = 0) -> list[list]:
    """The order of the variants in each round: shuffled, from a fixed seed (reproducible), so that no
    variant always runs right after the same one (whose code and data it would find in the caches)."""
    rng = random.Random(seed)
    orders = []
    for _ in range(rounds):
        order = list(names)
        rng.shuffle(order)
        orders.append(order)
    return orders


def summarise(times: dict[str, list[float]]) -> dict:
    med = {k: statistics.median(v) for k, v in times.items()}
    out = {k: {"median_ms": med[k], "ratio_vs_plain": med[k] / med["plain"], "min_ms": min(v), "max_ms": max(v),
               "paired_ratio_vs_plain": statistics.median(a / p for a, p in zip(v, times["plain"])),
               "times_ms": v} for k, v in times.items()}
    if "ashbench" in med and "sj_opcount" in med:
        out["ashbench"]["ratio_vs_sj_opcount"] = med["ashbench"] / med["sj_opcount"]
        out["ashbench"]["paired_ratio_vs_sj_opcount"] = statistics.median(
            a / b for a, b in zip(times["ashbench"], times["sj_opcount"]))
    return out


# -- firing rates and count agreement -------------------------------------------------------------------
def firing_rates(prof) -> dict:
    rates = {f"lif{r['module']}": r["firing_rate"] for r in prof.layer_rows() if r["type"] == "LIFNode"}
    rates["mean"] = prof.totals["firing_rate"]
    return rates


def count_check(net, x) -> dict:
    batch = x.shape[1]
    prof = run_ashbench(net, x)
    functional.reset_net(net)
    sj = run_sj_opcount(net, x)
    functional.reset_net(net)
    tot = prof.totals
    out = {
        "ashbench_synops_per_sample": tot["synops"],
        "sj_synops_total": sj["synops"],
        "sj_synops_per_sample": sj["synops"] / batch,
        "ashbench_dense_macs_per_sample": tot["dense_macs"],
        "ashbench_macs_per_sample": tot["macs"],
        "sj_macs_per_sample": sj["macs"] / batch,
        "sj_flops_per_sample": sj["flops"] / batch,
        "ashbench_unsupported_ops": prof.unsupported_ops,
        "sj_unsupported_ops": sj["unsupported"],
        "ashbench_synops_by_layer": {r["module"]: r["synops"] for r in prof.layer_rows() if r["synops"]},
    }
    out["synops_equal"] = out["ashbench_synops_per_sample"] == out["sj_synops_per_sample"]
    fv = run_fvcore(net, x)
    functional.reset_net(net)
    out["fvcore_total_per_sample"] = fv["total"] / batch
    out["fvcore_by_operator_per_sample"] = {k: v / batch for k, v in fv["by_operator"].items()}
    out["fvcore_unsupported_ops"] = fv["unsupported"]
    if _neurobench_available() is None:
        nb = run_neurobench(net, x)
        functional.reset_net(net)
        out["neurobench"] = nb
    return out


# -- peak memory (fresh subprocess per variant) -------------------------------------------------------------
def _maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _proc_status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_hwm() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) of this process (Linux >= 4.0: clear_refs 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def memory_child(variant: str, scale: float) -> None:
    """Entry point of a memory subprocess: build net + input, import the variant's library, then
    one forward. Reports ru_maxrss before/after and, where the kernel allows resetting the peak
    mark, the forward's own peak (VmHWM after the reset minus VmRSS before)."""
    net = build_net()
    x = make_input(scale)
    fn = VARIANTS.get(variant)
    if fn is not None:
        # import the variant's libraries first so their footprint is not attributed to the forward
        {"ashbench": lambda: __import__("ashbench.profiler"), "fvcore": lambda: __import__("fvcore.nn"),
         "sj_opcount": lambda: __import__("spikingjelly.activation_based.op_counter"),
         "neurobench": lambda: __import__("neurobench.metrics.workload")}.get(variant, lambda: None)()
        # one warm-up call on a batch of 1: lazy imports (torch._dynamo behind dispatch modes) and
        # first-call kernel set-up are paid here, not attributed to the measured forward
        fn(net, make_input(scale, b=1))
        functional.reset_net(net)
    gc.collect()
    before = _maxrss_kib()
    rss_before = _proc_status_kib("VmRSS")
    hwm_before = _proc_status_kib("VmHWM")  # peak of imports + build
    hwm_reset = _reset_hwm()
    if fn is not None:
        fn(net, x)
    hwm = _proc_status_kib("VmHWM")
    print(json.dumps({"variant": variant, "maxrss_before_kib": before, "maxrss_after_kib": _maxrss_kib(),
                      "rss_before_kib": rss_before, "hwm_before_kib": hwm_before, "hwm_after_kib": hwm,
                      "hwm_reset": hwm_reset}))


def measure_memory(variants: list[str], scale: float, repeats: int) -> dict:
    rows: dict[str, list[dict]] = {v: [] for v in ["baseline"] + variants}
    for _ in range(repeats):
        for v in rows:  # interleaved, like the timings
            cmd = [sys.executable, os.path.abspath(__file__), "--_memory-child", v, "--_scale", repr(scale),
                   "--threads", str(torch.get_num_threads())]
            env = dict(os.environ, PYTHONWARNINGS="ignore")
            res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
            rows[v].append(json.loads(res.stdout.strip().splitlines()[-1]))
    # ru_maxrss is NOT used for the numbers: Linux carries the parent's high-water mark over
    # fork+exec into the child's ru_maxrss, so a child of this (large) process reads the parent's
    # peak. VmHWM belongs to the child's own address space.
    def peak(r):  # whole-process peak of the child (imports + build + forward)
        return max(r["hwm_before_kib"], r["hwm_after_kib"])

    def fwd_peak(r):  # the forward's own peak above the RSS it started from
        return r["hwm_after_kib"] - r["rss_before_kib"] if r["hwm_reset"] else float("nan")

    base = statistics.median(peak(r) for r in rows["baseline"])
    out = {"baseline_peak_mib": base / 1024, "raw": rows}
    for v in variants:
        vp = statistics.median(peak(r) for r in rows[v])
        out[v] = {"forward_peak_mib": statistics.median(fwd_peak(r) for r in rows[v]) / 1024,
                  "peak_mib": vp / 1024, "peak_minus_baseline_mib": (vp - base) / 1024}
    p = out["plain"]
    for v in variants:
        out[v]["forward_peak_ratio_vs_plain"] = _ratio(out[v]["forward_peak_mib"], p["forward_peak_mib"])
        out[v]["over_baseline_ratio_vs_plain"] = _ratio(out[v]["peak_minus_baseline_mib"],
                                                         p["peak_minus_baseline_mib"])
    return out


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("nan")


# -- scaling --------------------------------------------------------------------------------------
def scaling(net, scale: float, rounds: int) -> list[dict]:
    rows = []
    variants = {"plain": run_plain, "ashbench": run_ashbench}
    for t, b in [(4, 16), (4, 32), (4, 64), (2, 64), (8, 64)]:
        x = make_input(scale, t, b)
        s = summarise(interleaved(variants, net, x, rounds))
        rows.append({"T": t, "B": b, "plain_ms": s["plain"]["median_ms"], "ashbench_ms": s["ashbench"]["median_ms"],
                     "ratio": s["ashbench"]["ratio_vs_plain"],
                     "extra_ms_per_sample_step": (s["ashbench"]["median_ms"] - s["plain"]["median_ms"]) / (t * b)})
    return rows


# -- cProfile of the ashbench variant -----------------------------------------------------------------
def ashbench_hotspots(net, x, top: int = 10) -> list[dict]:
    functional.reset_net(net)
    prof = cProfile.Profile()
    prof.enable()
    run_ashbench(net, x)
    prof.disable()
    stats = pstats.Stats(prof, stream=io.StringIO())
    pkg = os.path.join(ROOT, "ashbench") + os.sep
    rows = []
    for (path, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():
        if path.startswith(pkg):
            rows.append({"where": f"{os.path.relpath(path, ROOT)}:{line}({func})", "calls": nc,
                         "tottime_ms": tt * 1e3, "cumtime_ms": ct * 1e3})
    rows.sort(key=lambda r: -r["cumtime_ms"])
    total = sum(tt for (_p, _l, _f), (_cc, _nc, tt, _ct, _c) in stats.stats.items()) * 1e3
    return [{"total_profiled_ms": total}] + rows[:top]


# -- report --------------------------------------------------------------------------------------
def _git_state() -> str:
    """HEAD commit, and whether ashbench/ has uncommitted changes (the tree is what is measured)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "ashbench"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.strip()
        return head + (" (ashbench/ has uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> dict:
    import spikingjelly

    try:
        from importlib.metadata import version

        sj_version = version("spikingjelly")
    except Exception:  # noqa: BLE001
        sj_version = getattr(spikingjelly, "__version__", "?")
    info = {"processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "torch": torch.__version__, "spikingjelly": sj_version,
            "load_avg_start": os.getloadavg(), "git": _git_state()}
    for pkg in ("fvcore", "neurobench"):
        try:
            from importlib.metadata import version

            info[pkg] = version(pkg)
        except Exception:  # noqa: BLE001
            info[pkg] = None
    return info


def fmt_table(headers: list[str], rows: list[list], fmt: str = "table") -> str:
    """``rows`` (cells as given) under ``headers``, rendered by ashbench's one table renderer in
    ``fmt`` (``ashbench.report.tables``): the first column left-aligned, the others right-aligned."""
    columns = [Column(h, align="right" if i else "left") for i, h in enumerate(headers)]
    return render_table(Table(columns, rows, width=200), fmt).rstrip("\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 rounds, 1 memory repeat")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds (default 15, --quick 3)")
    ap.add_argument("--json", metavar="PATH", help="write all measured numbers as JSON")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch.set_num_threads (default: torch's default; 1 is steadier on a shared machine)")
    ap.add_argument("--cold", action="store_true", help="a gc.collect() before every timed call (cold caches)")
    ap.add_argument("--no-memory", action="store_true", help="skip the subprocess peak-RSS measurement")
    ap.add_argument("--table-format", choices=TABLE_FORMATS.names(), default="table",
                    help="format of the printed tables (markdown: ready for benchmarks/README.md)")
    ap.add_argument("--_memory-child", dest="memory_child", help=argparse.SUPPRESS)
    ap.add_argument("--_scale", dest="scale", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    global COLD
    COLD = args.cold
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_child:
        memory_child(args.memory_child, args.scale)
        return 0
    warnings.filterwarnings("ignore", module="torch.jit")

    def show_table(headers: list[str], rows: list[list]) -> None:
        print(fmt_table(headers, rows, args.table_format))

    rounds = args.rounds or (3 if args.quick else 15)
    scale_rounds = max(3, rounds // 2) if not args.quick else 3
    started = datetime.datetime.now().astimezone()
    info = machine()
    print(f"profiler_overhead.py  {started:%Y-%m-%d %H:%M %Z}  rounds={rounds}")
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))

    variants = dict(VARIANTS)
    nb_missing = _neurobench_available()
    if nb_missing:
        variants.pop("neurobench")
        print(f"NOTE: neurobench skipped (not importable: {nb_missing})")

    net = build_net()
    command = " ".join([sys.argv[0], *(argv or sys.argv[1:])])
    results = {"date": started.isoformat(timespec="seconds"), "command": command,
               "rounds": rounds, "machine": info, "bn2_weight": BN2_WEIGHT, "bn2_bias": BN2_BIAS,
               "input_shape": [T_DEFAULT, B_DEFAULT, 3, 32, 32], "regimes": {},
               "neurobench_skipped": nb_missing}

    for regime, scale in REGIMES.items():
        x = make_input(scale)
        prof = run_ashbench(net, x)
        rates = firing_rates(prof)
        rate_txt = ", ".join(f"{k}={v:.2%}" for k, v in rates.items())
        print(f"\n== regime {regime}: input scale {scale:g}; ashbench firing rates: {rate_txt}")
        counts = count_check(net, x)
        print(f"   synops/sample: ashbench {counts['ashbench_synops_per_sample']:,}  |  spikingjelly "
              f"SynOpCounter {counts['sj_synops_total']:,} / B={x.shape[1]} = {counts['sj_synops_per_sample']:,}"
              f"  -> {'EQUAL' if counts['synops_equal'] else 'DIFFERENT'}")
        if "neurobench" in counts:
            nb = counts["neurobench"]
            print(f"   neurobench Effective_ACs/sample {nb['Effective_ACs']:,.1f}, Effective_MACs/sample "
                  f"{nb['Effective_MACs']:,.1f}, Dense {nb['Dense']:,.1f}, ActivationSparsity "
                  f"{nb['ActivationSparsity']:.4f}")
        print(f"   dense MACs/sample: ashbench {counts['ashbench_dense_macs_per_sample']:,} (macs "
              f"{counts['ashbench_macs_per_sample']:,}); sj MACCounter {counts['sj_macs_per_sample']:,.1f}; "
              f"fvcore total {counts['fvcore_total_per_sample']:,.1f}")
        sj_unsup = {k: f"{len(v)} op kinds/{sum(v.values())} calls"
                    for k, v in counts["sj_unsupported_ops"].items() if v}
        print(f"   unsupported: ashbench {counts['ashbench_unsupported_ops'] or 'none'}; "
              f"sj (no rule; views, LIF-internal ops, ...) {sj_unsup or 'none'}; "
              f"fvcore {counts['fvcore_unsupported_ops'] or 'none'}")
        s = summarise(interleaved(variants, net, x, rounds))
        rows = [[k, f"{v['median_ms']:.1f}", f"{v['min_ms']:.1f}", f"{v['max_ms']:.1f}", f"{v['ratio_vs_plain']:.2f}x",
                 f"{v['paired_ratio_vs_plain']:.2f}x"] for k, v in s.items()]
        show_table(["variant", "median ms", "min ms", "max ms", "vs plain", "paired vs plain"], rows)
        if "ratio_vs_sj_opcount" in s["ashbench"]:
            print(f"   ashbench / sj_opcount = {s['ashbench']['ratio_vs_sj_opcount']:.2f}x "
                  f"(paired {s['ashbench']['paired_ratio_vs_sj_opcount']:.2f}x)")
        results["regimes"][regime] = {"input_scale": scale, "firing_rates": rates, "counts": counts, "timing": s}

    x_main = make_input(REGIMES[SCALING_REGIME])
    print(f"\n== scaling (regime {SCALING_REGIME}, plain vs ashbench interleaved, {scale_rounds} rounds)")
    sc = scaling(net, REGIMES[SCALING_REGIME], scale_rounds)
    show_table(["T", "B", "plain ms", "ashbench ms", "ratio", "extra ms/(T*B)"],
               [[r["T"], r["B"], f"{r['plain_ms']:.1f}", f"{r['ashbench_ms']:.1f}", f"{r['ratio']:.2f}x",
                 f"{r['extra_ms_per_sample_step']:.3f}"] for r in sc])
    results["scaling"] = sc

    mem = None
    if not args.no_memory:
        repeats = 1 if args.quick else 3
        print(f"\n== peak memory (regime {MEMORY_REGIME}, fresh subprocess per variant, {repeats} repeat(s), "
              f"median; /proc VmHWM)")
        mem = measure_memory(list(variants), REGIMES[MEMORY_REGIME], repeats)
        print(f"   baseline subprocess (imports, build net + input only): peak RSS {mem['baseline_peak_mib']:.1f} MiB")
        print("   fwd peak = VmHWM after the forward (mark reset just before it) - VmRSS before it;"
              " peak-baseline = child's whole peak RSS - baseline child's")
        show_table(["variant", "fwd peak MiB", "vs plain", "peak-baseline MiB", "vs plain"],
                   [[v, f"{mem[v]['forward_peak_mib']:.1f}", f"{mem[v]['forward_peak_ratio_vs_plain']:.2f}x",
                     f"{mem[v]['peak_minus_baseline_mib']:.1f}", f"{mem[v]['over_baseline_ratio_vs_plain']:.2f}x"]
                    for v in variants])
        results["memory"] = mem

    print("\n== cProfile of one ashbench profile() call (regime "
          f"{SCALING_REGIME}): top 10 cumulative entries inside ashbench/")
    hot = ashbench_hotspots(net, x_main)
    print("   (profile/__torch_function__/__torch_dispatch__ cum times include running the model's ops;"
          " the other rows are ashbench's own counting work)")
    show_table(["function", "calls", "cum ms", "own ms"],
               [[h["where"], h["calls"], f"{h['cumtime_ms']:.1f}", f"{h['tottime_ms']:.1f}"] for h in hot[1:]])
    results["ashbench_hotspots"] = hot

    # -- summary ----------------------------------------------------------------------------------
    info["load_avg_end"] = os.getloadavg()
    print("\n" + "=" * 78)
    print(f"SUMMARY  {started:%Y-%m-%d %H:%M %Z}  ({rounds} interleaved rounds, medians; ratio = variant / plain)")
    print(f"machine: {info['processor']}, {info['cpu_count']} CPUs, torch {info['torch']} "
          f"({info['torch_threads']} threads), spikingjelly {info['spikingjelly']}, load avg start "
          f"{info['load_avg_start'][0]:.2f} end {info['load_avg_end'][0]:.2f}")
    names = list(variants)
    hdr = ["regime", "rates lif2/lif6/mean"] + [f"{n}" for n in names] + ["ash/sj"]
    rows = []
    for regime, r in results["regimes"].items():
        fr = r["firing_rates"]
        rate = "/".join(f"{fr[k]:.1%}" for k in fr)
        rows.append([regime, rate] + [f"{r['timing'][n]['ratio_vs_plain']:.2f}x" for n in names]
                    + [f"{r['timing']['ashbench'].get('ratio_vs_sj_opcount', float('nan')):.2f}x"])
    show_table(hdr, rows)
    print("plain median ms: " + ", ".join(f"{k} {r['timing']['plain']['median_ms']:.1f}"
                                          for k, r in results["regimes"].items()))
    if mem:
        print(f"peak memory ashbench/plain: forward-peak {mem['ashbench']['forward_peak_ratio_vs_plain']:.2f}x "
              f"({mem['ashbench']['forward_peak_mib']:.1f} vs {mem['plain']['forward_peak_mib']:.1f} MiB), "
              f"peak-minus-baseline-subprocess {mem['ashbench']['over_baseline_ratio_vs_plain']:.2f}x")
    print("ashbench scaling ratio: " + ", ".join(f"T{r['T']}B{r['B']} {r['ratio']:.2f}x" for r in sc))
    agree = {k: r["counts"]["synops_equal"] for k, r in results["regimes"].items()}
    print("synops ashbench == spikingjelly SynOpCounter/B: " + ", ".join(f"{k} {v}" for k, v in agree.items()))
    if nb_missing:
        print(f"neurobench: skipped ({nb_missing})")
    print("=" * 78)

    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2, default=str)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
