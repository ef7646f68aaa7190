"""Training steps/s of ASH-Nets before and after the exact speed-ups, side by side in one process,
and the step's FLOPs against what this machine's plain matmul achieves.

- before: the naive computation: stock spikingjelly neurons, every text token through every text
  block at the full ``max_text_len``, ITM keys and values computed on gathered image rows
  (``model.shortcuts = False``);
- after (the default): the fused CPU neurons of ``ashbench.ashnet.fused_neurons``, the text encoder
  trimmed to the batch's longest caption with only the [CLS] row through its last block, ITM
  keys and values once per image, then gathered (``model.shortcuts = True``), and no NaN fill of
  new tensors (``torch.utils.deterministic.fill_uninitialized_memory = False``, as ``ashbench
  train`` sets it; the before variant has torch's default, on). Same values
  (``tests/test_objectives.py`` and ``tests/test_fused_neurons.py`` check them against the naive path).

    .venv/bin/python benchmarks/train_speed.py [--modes hybrid ann snn] [--steps 3] [--rounds 5] [--threads 1]

- A step: forward of ``VLObjective`` (ITC with hard negatives, ITM, STUA), zero_grad, backward,
  grad-norm clip at 1, AdamW step; batches of ``train.batch_size`` images are built before timing
  (``make_batch``'s own cost is printed apart). One torch thread, deterministic algorithms on (as
  ``ashbench train``). Modes: hybrid = preset ``ashnet-default``, ann = ``ashnet-ann``, snn =
  ``ashnet-snn``.
- before/after own identical copies of the model (same initial weights); chunks of ``--steps``
  steps alternate (before first on even rounds), round 0 warms up. Printed: median steps/s of each
  and the median of the per-round ratios after/before. ``--threads`` sets torch's threads (default
  1, as each job of a ``--jobs 2`` sweep); ``--after-threads`` gives the after variant its own count
  (e.g. 2: one training using both cores of this machine; the matmul rate stays at ``--threads``).
- FLOPs: ``torch.utils.flop_counter.FlopCounterMode`` over one whole step (forward + backward +
  optimizer). It counts the matmul-like ops only (mm, addmm, bmm, baddbmm, convolution and its
  backward, scaled-dot-product attention and its backward) as 2 FLOPs per multiply-add; the
  elementwise ops, norms, softmax, neurons and AdamW count 0, so the figure is a lower bound of the
  arithmetic and the "achieved" rate is FLOPs / median step time. The machine's rate: a plain fp32
  square matmul (n = 256, 512, 1024), 1 thread, best of them, timed before every round of chunks
  (the machine's load varies) and summarised by the median.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time

import torch

PRESETS = {"hybrid": "ashnet-default", "ann": "ashnet-ann", "snn": "ashnet-snn"}


def setup(preset: str, n_batches: int):
    from ashbench.ashnet.data import load_split
    from ashbench.ashnet.data.tokenizer import WordTokenizer
    from ashbench.ashnet.fused_neurons import use_implementation
    from ashbench.ashnet.model import build_model
    from ashbench.ashnet.objectives import VLObjective
    from ashbench.ashnet.train import TextBank, _optimizer, make_batch, resolve_config

    cfg = resolve_config(preset, ["data.n_train=2000"])
    split = load_split(cfg.data, "train")
    tokenizer = WordTokenizer.build([t for caps in split.captions for t in caps] +
                                    [t for per in split.negatives for ns in per for t in ns])
    bank = TextBank(split, tokenizer, cfg.model.max_text_len)
    t0 = time.perf_counter()
    batches = [make_batch(bank, split.images, cfg, s, 0, 1) for s in range(1, n_batches + 1)]
    batch_s = (time.perf_counter() - t0) / n_batches
    model = build_model(cfg, len(tokenizer))
    variants = {}
    for name, impl in (("before", "spikingjelly"), ("after", "fused")):
        m = use_implementation(copy.deepcopy(model), impl).train()
        m.shortcuts = name == "after"
        variants[name] = (m, VLObjective(m, cfg.loss), _optimizer(m, cfg.train))
    return cfg, batches, batch_s, variants


def train_step(variant, batch, step: int) -> None:
    model, objective, optimizer = variant
    gen = torch.Generator().manual_seed(step)
    loss = objective(batch.images, batch.ids, batch.pos, batch.hard_ids, batch.hard_owner, gen,
                     batch.hard_mask)["loss"]
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()


def step_flops(variant, batch) -> int:
    from spikingjelly.activation_based import functional
    from torch.utils.flop_counter import FlopCounterMode

    functional.reset_net(variant[0])  # the neurons' state holds the last forward's graph: not deep-copyable
    counter = FlopCounterMode(display=False)
    with counter:
        train_step(copy.deepcopy(variant), batch, 0)
    return counter.get_total_flops()


def matmul_gflops(seconds: float = 0.5) -> float:
    best = 0.0
    for n in (256, 512, 1024):
        a, b = torch.randn(n, n), torch.randn(n, n)
        for _ in range(2):
            a @ b
        k, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            a @ b
            k += 1
        best = max(best, 2 * n ** 3 * k / (time.perf_counter() - t0) / 1e9)
    return best


def bench_mode(mode: str, steps: int, rounds: int, threads: dict) -> dict:
    cfg, batches, batch_s, variants = setup(PRESETS[mode], steps * (rounds + 1))
    times, matmul = {"before": [], "after": []}, []
    for r in range(rounds + 1):  # round 0 warms up
        torch.set_num_threads(threads["before"])
        matmul.append(matmul_gflops(0.1))  # the machine's rate, measured between the chunks (load varies)
        for name in (("before", "after") if r % 2 == 0 else ("after", "before")):
            torch.set_num_threads(threads[name])
            # before: torch's NaN fill of every new tensor under deterministic algorithms; after: off,
            # as ``ashbench train`` has it (bit-identical weights, tests/test_train.py)
            torch.utils.deterministic.fill_uninitialized_memory = name == "before"
            t0 = time.perf_counter()
            for i in range(steps):
                s = r * steps + i
                train_step(variants[name], batches[s], s + 1)
            if r:
                times[name].append((time.perf_counter() - t0) / steps)
    return {"mode": mode, "preset": PRESETS[mode], "batch": cfg.train.batch_size, "batch_s": batch_s,
            "before_s": statistics.median(times["before"]), "after_s": statistics.median(times["after"]),
            "ratio": statistics.median(b / a for a, b in zip(times["after"], times["before"])),
            "flops": step_flops(variants["after"], batches[0]),
            "flops_before": step_flops(variants["before"], batches[0]), "matmul": statistics.median(matmul[1:])}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modes", nargs="+", default=["hybrid", "ann", "snn"], choices=sorted(PRESETS))
    ap.add_argument("--steps", type=int, default=3, help="steps per timed chunk")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--after-threads", type=int, default=None,
                    help="torch threads of the after variant (default: --threads)")
    args = ap.parse_args(argv)
    threads = {"before": args.threads, "after": args.after_threads or args.threads}
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    rows = [bench_mode(mode, args.steps, args.rounds, threads) for mode in args.modes]
    torch.set_num_threads(args.threads)
    peak = statistics.median(r["matmul"] for r in rows)
    print(f"{args.rounds} rounds x {args.steps} steps per variant, threads before {threads['before']}, after "
          f"{threads['after']}; before = the naive path, after = the default (see the module doc)")
    print(f"{'mode':7s} {'before steps/s':>14s} {'after steps/s':>14s} {'after/before':>12s} {'GFLOP before':>12s} "
          f"{'GFLOP/step':>10s} "
          f"{'GFLOP/s after':>13s} {'of matmul':>9s} {'make_batch ms':>13s}")
    for r in rows:
        achieved = r["flops"] / r["after_s"] / 1e9
        print(f"{r['mode']:7s} {1 / r['before_s']:14.2f} {1 / r['after_s']:14.2f} {r['ratio']:12.3f} "
              f"{r['flops_before'] / 1e9:12.2f} "
              f"{r['flops'] / 1e9:10.2f} {achieved:13.1f} {achieved / peak:9.0%} {r['batch_s'] * 1000:13.1f}")
    print(f"plain fp32 matmul, {args.threads} thread(s) (median between chunks): {peak:.1f} GFLOP/s; at that "
          f"rate the hybrid step's FLOPs alone take "
          f"{next((r['flops'] / peak / 1e6 for r in rows if r['mode'] == 'hybrid'), float('nan')):.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
