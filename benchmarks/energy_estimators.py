"""ashbench's energy models beside spikingjelly 2.0's energy estimators, on the same forward pass.

Run from the repository root::

    .venv/bin/python benchmarks/energy_estimators.py [--batch 16] [--nets reference,ashnet]
                                                     [--table-format markdown] [--json PATH]

Nets: ``reference``, the spikingjelly CNN of ``benchmarks/profiler_overhead.py`` (its ``build_net``,
input scale of the ``rate~12%`` regime, T=4, layout TB), and ``ashnet``, the ASH-Net default
(``MODELS.get("ashnet")(batch_size=B)``: the trained checkpoint on its own example inputs).

Pairs compared (spikingjelly's ``spikingjelly.activation_based.op_counter``):

- ``45nm-fp32`` / ``45nm-fp16`` / ``45nm-int8`` (ashbench ``compute`` models: MAC and AC prices of
  Horowitz, ISSCC 2014) beside ``SimpleEnergyProfiler`` with ``SimpleEnergyCostConfig.fp32()`` /
  ``.fp16()`` / ``.int8()`` (the same MAC / AC prices; ``model_id`` simple_horowitz_step_composite_v1);
- ``memory-aware`` (ashbench's Lemaire-style model) beside ``estimate_lemaire_energy``
  (``lemaire_2022_runtime_v1``; ``strict=False``, so layers outside the paper's scope are omitted with
  a warning instead of refusing the net);
- ``estimate_spikesim_energy`` (dense and event modes) and ``estimate_neuromc_runtime_energy``: hardware
  models with no ashbench counterpart, shown for scale.

Every energy is per sample (spikingjelly's totals divided by the batch size). Each estimator's energy is
split into the parts where its definition and ashbench's agree (the same count at the same price: these
rows must be equal) and the parts only one of them counts, each with the reason (the notes under the
table). The split uses spikingjelly's own counters (``MACCounter`` / ``ACCounter`` / ``SynOpCounter``
records per aten op, the Lemaire report's counts) and ashbench's profile (per aten op, per module), and
is checked: the parts add up to each side's reported total, or the script stops.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import sys
import warnings
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (ROOT, os.path.join(ROOT, "benchmarks")):
    if path not in sys.path:
        sys.path.insert(0, path)

import torch  # noqa: E402
from profiler_overhead import REGIMES, T_DEFAULT, build_net, make_input  # noqa: E402
from spikingjelly.activation_based import functional, neuron  # noqa: E402
from spikingjelly.activation_based import op_counter as sj  # noqa: E402

from ashbench.energy import estimate_energy, get_energy_model  # noqa: E402
from ashbench.profiler import profile  # noqa: E402
from ashbench.report.tables import FORMATS as TABLE_FORMATS  # noqa: E402
from ashbench.report.tables import Column, Table  # noqa: E402
from ashbench.report.tables import render as render_table  # noqa: E402

HOROWITZ = {"45nm-fp32": "fp32", "45nm-fp16": "fp16", "45nm-int8": "int8"}
SJ_MAC_OPS = ("aten.mm.default", "aten.addmm.default", "aten.bmm.default", "aten.baddbmm.default",
              "aten.convolution.default")  # the matmul/conv rules of spikingjelly's MACCounter
LEMAIRE_MODULES = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)
REL_TOL = 1e-9  # "equal": the same count at the same price; only float summation order may differ
NOTES = {
    "a": "MACs in ops spikingjelly's MACCounter has no rule for (scaled_dot_product_attention: Q.K^T and A.V); "
         "ashbench counts them as dense MACs.",
    "n": "Lemaire counts the MACs of nn.Linear / nn.Conv modules only; ashbench also counts those of matmuls "
         "outside them (ASH-Net: scaled_dot_product_attention, and the image-text logits mm).",
    "b": "batch norm: spikingjelly prices the affine step as one MAC per element; ashbench counts batch norm as "
         "elementwise ops (2 per element), which the Horowitz models price at 0 (elementwise_pj = 0).",
    "c": "other ACs of spikingjelly's ACCounter: batch-norm normalisation (C + N per call), the adds/subs inside "
         "the LIF neurons' charge/reset, reductions; ashbench does not price neuron updates or elementwise ops "
         "in the Horowitz models.",
    "d": "a spikingjelly artefact: for a conv on spikes, NeuromorphicMemoryAccessCounter sums its occupancy map "
         "(occupancy.sum(), after its dispatch-exclusion guard has ended) inside a module hook while the dispatch "
         "counters are active, and ACCounter counts that reduction (aten.sum: numel - 1 adds) as model work; the "
         "same ACCounter run on its own does not see it.",
    "e": "memory: spikingjelly prices 24.96 pJ per byte (STEP's 3.12 pJ/bit) of weight reads (one per weight use: "
         "per MAC, or per synaptic event, of Linear/Conv modules: 4 bytes x (ashbench's MACs + synops there)), "
         "bias reads (one per output) and neuron state (read + write per step: ashbench's membrane bytes), at "
         "the tensors' dtype (fp32: 4 bytes, whatever the preset); ashbench's Horowitz models count no memory.",
    "f": "synapses: Lemaire counts C_out*k^2 (kernel/stride) fan-out per input spike of a conv, ignoring the "
         "borders; ashbench counts the outputs a spike really reaches (padding, stride). Linear layers agree.",
    "g": "Lemaire adds one AC per output of a biased Linear/Conv (bias add); ashbench excludes bias adds (fvcore's "
         "convention).",
    "h": "Lemaire adds one AC per emitted spike (spike emission); ashbench does not price spikes.",
    "i": "Lemaire's addressing of dense layers: x.numel + out.numel (+ C_out*k^2 for a conv) adds per call; "
         "ashbench prices addressing only per synaptic event (the second add of 2 * add_pj * synops).",
    "j": "Lemaire: 2 multiplies (+ adds) per input spike of a conv to locate its first output; ashbench: none.",
    "k": "memory: ashbench prices 64-bit accesses (32-bit words: 1/2 access each) at a step per buffer size "
         "(<= 8 KiB 10 pJ, <= 32 KiB 20 pJ, larger 100 pJ); per synaptic event one weight read and a read + "
         "write of the target accumulator, per op call its dense weights (shared by the batch) and activations, "
         "per neuron update a membrane read + write, buffers sized per sample. Lemaire prices bytes at a cost "
         "interpolated linearly between (0, 0), (8 KiB, 10/4), (32 KiB, 20/4), (1 MiB, 100/4) pJ per byte (a "
         "32-bit access at Horowitz's 64-bit figure), reads a dense conv's input once per MAC, spike FIFOs of "
         "1000 words, and sizes input and membrane buffers from tensors that include the batch (per-sample "
         "energy depends on B).",
    "l": "SpikeSim: 65 nm RRAM crossbar (64x64) PE-cycle energy of Conv2d stages only (Linear layers, neurons "
         "outside conv stages and memory traffic are not in it); dense mode ignores spikes, event mode counts "
         "active input patches. No ashbench model describes a crossbar.",
    "m": "NeuroMC: 32 nm NeuroMC accelerator (1-bit spikes, 16-bit values, its SRAM hierarchy); no ashbench "
         "counterpart.",
}


@dataclass
class Net:
    name: str
    model: torch.nn.Module
    inputs: tuple
    layout: str
    batch: int


def nets(names: list[str], batch: int) -> list[Net]:
    out = []
    for name in names:
        if name == "reference":
            out.append(Net(name, build_net(), (make_input(REGIMES["rate~12%"], T_DEFAULT, batch),), "TB", batch))
        elif name == "ashnet":
            from ashbench.models import MODELS

            workload = MODELS.get("ashnet")(batch_size=batch)
            out.append(Net(name, workload.model, tuple(workload.inputs), workload.layout, batch))
        else:
            raise SystemExit(f"unknown net {name!r}; nets: reference, ashnet")
    return out


# -- one forward per estimator ----------------------------------------------------------------------
def fresh(net: Net):
    functional.reset_net(net.model)
    return net.model


def run_ashbench(net: Net) -> dict:
    doc = profile(fresh(net), net.inputs, layout=net.layout).to_dict()
    functional.reset_net(net.model)
    return {"doc": doc, "energy": {m: estimate_energy(doc, m) for m in (*HOROWITZ, "memory-aware")}}


def _by_op(counter) -> dict:
    return {str(op): n for op, n in counter.get_counts().get("Global", {}).items()}


def run_sj_counters(net: Net) -> dict:
    """spikingjelly's MAC / AC / SynOp counters on their own: counts per aten op."""
    counters = [sj.MACCounter(), sj.ACCounter(), sj.SynOpCounter()]
    with torch.no_grad(), sj.DispatchCounterMode(counters):
        fresh(net)(*net.inputs)
    functional.reset_net(net.model)
    return dict(zip(("mac", "ac", "synop"), map(_by_op, counters)))


def run_sj_simple(net: Net, preset: str) -> dict:
    cost = getattr(sj.SimpleEnergyCostConfig, preset)()
    profiler = sj.SimpleEnergyProfiler(config=sj.SimpleEnergyConfig(cost_config=cost))
    profiler.bind_model(fresh(net))
    with profiler, torch.no_grad():
        net.model(*net.inputs)
    functional.reset_net(net.model)
    report = profiler.get_report()
    return {"report": report, "cost": cost, "mac_by_op": _by_op(profiler.mac_counter),
            "ac_by_op": _by_op(profiler.ac_counter)}


def run_sj_lemaire(net: Net):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the omitted layers, also listed in report.warnings
        report = sj.estimate_lemaire_energy(fresh(net), net.inputs, config=sj.LemaireEnergyConfig(strict=False))
    functional.reset_net(net.model)
    return report


def run_refusable(fn, net: Net):
    try:
        return fn(fresh(net))
    except Exception as exc:  # noqa: BLE001 - an estimator refusing the net is a result to report
        message = str(exc).splitlines()[0]
        if "aten ops: " in message:  # NeuroMC: "... does not support these aten ops: a (calls=2), b (calls=1), ..."
            ops = message.split("aten ops: ", 1)[1].split(", ")
            message = f"no rule for {len(ops)} aten ops: {ops[0]}" + (", ..." if len(ops) > 1 else "")
        return f"refused ({message[:110]})"
    finally:
        functional.reset_net(net.model)


def run_sj_spikesim(net: Net, mode: str):
    config = sj.SpikeSimEnergyConfig(activity_mode=mode)
    return run_refusable(lambda m: sj.estimate_spikesim_energy(m, net.inputs, config=config, strict=False), net)


def run_sj_neuromc(net: Net):
    return run_refusable(lambda m: sj.estimate_neuromc_runtime_energy(m, net.inputs), net)


# -- the comparison -----------------------------------------------------------------------------------
def _row(pair, part, ash, sjv, counts="", note="", equal=None) -> dict:
    if equal is None:
        agree = "ashbench only" if not sjv else "sj only" if not ash else "differs"
    else:
        agree = "equal" if equal and _close(ash, sjv) else "DIFFERS"
    return {"pair": pair, "part": part, "ashbench_pj": ash, "sj_pj": sjv, "counts": counts,
            "agree": agree + (f" ({note})" if note else "")}


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b), 1.0)


def _n(value) -> str:
    return f"{value:,.10g}"


def _check(what: str, a: float, b: float) -> None:
    if not _close(a, b):
        raise SystemExit(f"decomposition check failed: {what}: {a!r} != {b!r}")


def horowitz_rows(name: str, preset: str, ash: dict, counters: dict, simple: dict, batch: int) -> list[dict]:
    doc, energy = ash["doc"], ash["energy"][name]
    model, cost, report = get_energy_model(name), simple["cost"], simple["report"]
    assert (model.mac_pj, model.ac_pj) == (cost.e_mac_pj, cost.e_ac_pj), "presets differ"
    pair = f"{name} / Simple {preset}"
    by_op = doc["by_operator"]
    ash_shared = sum(by_op.get(op, {}).get("macs", 0) for op in SJ_MAC_OPS)
    ash_only = doc["totals"]["macs"] - ash_shared
    sj_shared = sum(simple["mac_by_op"].get(op, 0) for op in SJ_MAC_OPS) / batch
    sj_bn = simple["mac_by_op"].get("aten.native_batch_norm.default", 0) / batch
    sj_other_mac = report.counts["mac"] / batch - sj_shared - sj_bn
    synops = report.counts["synop"] / batch
    model_acs = sum(counters["ac"].values()) / batch - sum(counters["synop"].values()) / batch
    artefact_acs = report.counts["ac"] / batch - sum(counters["ac"].values()) / batch
    ann = energy["breakdown_pj"]["ann"]
    ash_shared_pj = ann - model.mac_pj * ash_only if ash_only else ann  # ashbench's own part, less what sj lacks
    rows = [
        _row(pair, "MACs both count (conv, linear, matmul)", ash_shared_pj, cost.e_mac_pj * sj_shared,
             f"{_n(ash_shared)} / {_n(sj_shared)}", equal=ash_shared == sj_shared),
        _row(pair, "MACs of attention (no MACCounter rule)", model.mac_pj * ash_only, 0.0, _n(ash_only), "a"),
        _row(pair, "batch-norm affine as MACs", 0.0, cost.e_mac_pj * sj_bn, _n(sj_bn), "b"),
        _row(pair, "other MACs", 0.0, cost.e_mac_pj * sj_other_mac, _n(sj_other_mac)),
        _row(pair, "synops as ACs", energy["breakdown_pj"]["snn"], cost.e_ac_pj * synops,
             f"{_n(doc['totals']['synops'])} / {_n(synops)}", equal=doc["totals"]["synops"] == synops),
        _row(pair, "other ACs (BN, LIF charge/reset, reductions)", 0.0, cost.e_ac_pj * model_acs, _n(model_acs), "c"),
        _row(pair, "ACs of sj's own occupancy sum", 0.0, cost.e_ac_pj * artefact_acs, _n(artefact_acs), "d"),
        _row(pair, "memory (24.96 pJ/byte)", energy["breakdown_pj"]["memory"], report.energy_memory_pj / batch,
             f"{_n(report.counts['memory_access_bytes'] / batch)} bytes", "e"),
    ]
    rows = [r for r in rows if r["ashbench_pj"] or r["sj_pj"] or r["agree"].startswith("equal")]
    _check(f"{pair} ashbench ann", energy["breakdown_pj"]["ann"], model.mac_pj * doc["totals"]["macs"])
    _check(f"{pair} ashbench parts", energy["total_pj"], sum(r["ashbench_pj"] for r in rows))
    _check(f"{pair} sj parts", report.energy_total_pj / batch, sum(r["sj_pj"] for r in rows))
    return rows + [_total(pair, energy["total_pj"], report.energy_total_pj / batch)]


def _total(pair: str, ash: float, sjv: float) -> dict:
    return {"pair": pair, "part": "total", "ashbench_pj": ash, "sj_pj": sjv, "counts": "",
            "agree": "equal" if _close(ash, sjv) else f"differs: sj/ashbench {sjv / ash:.3g}x"}


def lemaire_rows(net: Net, ash: dict, report) -> list[dict]:
    doc, energy, batch = ash["doc"], ash["energy"]["memory-aware"], net.batch
    model, cost = get_energy_model("memory-aware"), report.config.cost_config
    assert (model.add_pj, model.mult_pj) == (cost.e_add_pj, cost.e_mul_pj), "Lemaire constants differ"
    op_pj, pair = cost.e_mul_pj + cost.e_add_pj, "memory-aware / Lemaire"
    modules = dict(net.model.named_modules())
    rows_of = [(r, modules[r["module"]]) for r in doc["layers"]]
    module_macs = sum(r["self"]["macs"] for r, m in rows_of if isinstance(m, LEMAIRE_MODULES))
    lif_updates = sum(r["self"]["neuron_updates"] for r, m in rows_of if isinstance(m, neuron.LIFNode))
    spikes = sum(r["self"]["spikes"] for r, m in rows_of if isinstance(m, (neuron.LIFNode, neuron.IFNode)))
    for r, m in rows_of:  # the spike-layer addressing below is C_out*k^2 per spike = Lemaire's synop count
        if r["self"]["synops"] and isinstance(m, LEMAIRE_MODULES[1:]) and any(s != 1 for s in m.stride):
            raise SystemExit(f"{r['module']}: a strided conv on spikes; the addressing split below assumes stride 1")
    c = {k: v / batch for k, v in report.counts.items()}
    totals = doc["totals"]
    bias_acs = c["ac"] - c["synop"] - spikes
    outside = (totals["macs"] - module_macs) + (totals["neuron_updates"] - lif_updates)
    ash_both = energy["breakdown_pj"]["ann"] + energy["breakdown_pj"]["neuron"]
    rows = [
        _row(pair, "MACs of Linear/Conv modules + LIF updates", ash_both - op_pj * outside if outside else ash_both,
             op_pj * c["mac"],
             f"{_n(module_macs + lif_updates)} / {_n(c['mac'])}", equal=module_macs + lif_updates == c["mac"]),
        _row(pair, "MACs outside Linear/Conv modules", op_pj * (totals["macs"] - module_macs), 0.0,
             _n(totals["macs"] - module_macs), "n"),
        _row(pair, "updates of non-LIF neurons", op_pj * (totals["neuron_updates"] - lif_updates), 0.0,
             _n(totals["neuron_updates"] - lif_updates)),
        _row(pair, "synaptic accumulate + address (2 adds)", energy["breakdown_pj"]["snn"],
             2 * cost.e_add_pj * c["synop"], f"{_n(totals['synops'])} / {_n(c['synop'])}",
             **({"equal": True} if totals["synops"] == c["synop"] else {"note": "f"})),
        _row(pair, "bias adds", 0.0, cost.e_add_pj * bias_acs, _n(bias_acs), "g"),
        _row(pair, "spike emission adds", 0.0, cost.e_add_pj * spikes, _n(spikes), "h"),
        _row(pair, "dense-layer addressing adds", 0.0, cost.e_add_pj * (c["acc_addr"] - c["synop"]),
             _n(c["acc_addr"] - c["synop"]), "i"),
        _row(pair, "conv spike address multiplies", 0.0, op_pj * c["mac_addr"], _n(c["mac_addr"]), "j"),
        _row(pair, "memory", energy["breakdown_pj"]["memory"], report.breakdown_pj["memory_pj"] / batch, "", "k"),
    ]
    rows = [r for r in rows if r["ashbench_pj"] or r["sj_pj"] or r["agree"].startswith("equal")]
    _check(f"{pair} ashbench ann + neuron", energy["breakdown_pj"]["ann"] + energy["breakdown_pj"]["neuron"],
           op_pj * (totals["macs"] + totals["neuron_updates"]))
    _check(f"{pair} ashbench parts", energy["total_pj"], sum(r["ashbench_pj"] for r in rows))
    _check(f"{pair} sj parts", report.total_pj / batch, sum(r["sj_pj"] for r in rows))
    return rows + [_total(pair, energy["total_pj"], report.total_pj / batch)]


def hardware_rows(spikesim: dict, neuromc, batch: int) -> list[dict]:
    rows = []
    for mode, report in spikesim.items():
        value = report if isinstance(report, str) else report.energy_total_pj / batch
        rows.append(_hw_row(f"- / SpikeSim {mode}", value, "l"))
    value = neuromc if isinstance(neuromc, str) else neuromc.energy_total_pj / batch
    rows.append(_hw_row("- / NeuroMC", value, "m"))
    return rows


def _hw_row(pair: str, value, note: str) -> dict:
    refused = isinstance(value, str)
    return {"pair": pair, "part": "total", "ashbench_pj": None, "sj_pj": None if refused else value,
            "counts": value if refused else "", "agree": f"no counterpart ({note})"}


def compare(net: Net) -> dict:
    ash = run_ashbench(net)
    counters = run_sj_counters(net)
    rows = []
    for name, preset in HOROWITZ.items():
        rows += horowitz_rows(name, preset, ash, counters, run_sj_simple(net, preset), net.batch)
    lemaire = run_sj_lemaire(net)
    rows += lemaire_rows(net, ash, lemaire)
    rows += hardware_rows({m: run_sj_spikesim(net, m) for m in ("dense", "event")}, run_sj_neuromc(net), net.batch)
    return {"rows": rows, "lemaire_warnings": lemaire.warnings, "totals": ash["doc"]["totals"]}


def table(net: Net, result: dict) -> Table:
    energy = lambda v: f"{v:,.3f}"  # noqa: E731
    columns = [Column("pair", "ashbench / spikingjelly", "left"), Column("part", align="left"),
               Column("ashbench_pj", "ashbench (pJ)", fmt=energy), Column("sj_pj", "spikingjelly (pJ)", fmt=energy),
               Column("counts", "count per sample (ashbench / sj)", "left"), Column("agree", align="left")]
    body = [[r[c.key] for c in columns] for r in result["rows"]]
    used = sorted({k for r in result["rows"] for k in NOTES if f"({k})" in r["agree"]})
    t = result["totals"]
    footer = [f"per sample; batch {net.batch}, T={t['timesteps']}; ashbench: macs {t['macs']:,}, synops "
              f"{t['synops']:,}, neuron updates {t['neuron_updates']:,}, spikes {t['spikes']:,}",
              _equal_line(result["rows"]),
              *(f"({k}) {NOTES[k]}" for k in used),
              f"Lemaire omitted (strict=False): {', '.join(_omitted(result['lemaire_warnings'])) or 'nothing'}"]
    return Table(columns, body, title=f"{net.name}: ashbench energy models vs spikingjelly 2.0 estimators",
                 footer=footer, width=200)


def _equal_line(rows: list[dict]) -> str:
    equal = [r for r in rows if r["agree"] == "equal"]
    off = [abs(r["ashbench_pj"] - r["sj_pj"]) / abs(r["sj_pj"]) for r in equal if r["ashbench_pj"] != r["sj_pj"]]
    line = f"equal: the same count at the same price; {len(equal) - len(off)} of {len(equal)} bit-identical"
    if off:
        line += (f", the others within {max(off):.1g} relative (float rounding: ashbench's part less the rows only "
                 "it counts, summed per layer; spikingjelly's batch total / B)")
    return line


def _omitted(lemaire_warnings: list[str]) -> list[str]:
    """'Lemaire formulas do not support BatchNorm2d; its energy is omitted.' -> 'BatchNorm2d'."""
    return [w.split("do not support ", 1)[-1].split(";", 1)[0] for w in lemaire_warnings]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=16, help="batch size of both nets (default 16)")
    ap.add_argument("--nets", default="reference,ashnet", help="comma-separated: reference, ashnet")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    ap.add_argument("--table-format", choices=TABLE_FORMATS.names(), default="table")
    ap.add_argument("--json", metavar="PATH", help="write the rows as JSON")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    started = datetime.datetime.now().astimezone()
    print(f"energy_estimators.py {started:%Y-%m-%d %H:%M %Z}; torch {torch.__version__}, spikingjelly "
          f"{importlib.metadata.version('spikingjelly')}\n")
    results = {}
    for net in nets([n.strip() for n in args.nets.split(",") if n.strip()], args.batch):
        result = compare(net)
        results[net.name] = result
        print(render_table(table(net, result), args.table_format))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2, default=str)
    bad = [(n, r["pair"], r["part"]) for n, res in results.items() for r in res["rows"] if r["agree"] == "DIFFERS"]
    if bad:
        print(f"rows that should be equal but differ: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
