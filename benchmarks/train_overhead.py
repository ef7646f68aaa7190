"""Toolkit overhead of `ashbench train`: one training step of ashbench's loop vs a bare
torch + spikingjelly loop on the same model, objective and batches, measured side by side.

    .venv/bin/python benchmarks/train_overhead.py [--config ashnet-default] [--steps 10] [--rounds 5]

- ashbench: ``ashbench.ashnet.train._loop`` (batch assembly from the caption bank, seeding, the
  non-finite-loss check, lr schedule, grad clipping, step records, JSONL log and checkpoint at
  their intervals), run in chunks of ``--steps`` steps;
- bare: the minimal loop a researcher writes: forward of the same objective on ready-made
  batches (built before timing), zero_grad, backward, clip, optimizer step.
Both variants own identical copies of the model; chunks alternate (bare first on odd rounds),
one torch thread. Prints the median seconds per step and the ratio ashbench / bare.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch


def setup(config: str):
    from ashbench.ashnet.data import load_split
    from ashbench.ashnet.data.tokenizer import WordTokenizer
    from ashbench.ashnet.model import build_model
    from ashbench.ashnet.objectives import VLObjective
    from ashbench.ashnet.train import TextBank, _optimizer, resolve_config

    cfg = resolve_config(config, ["train.threads=1", "data.n_train=2000", "train.log_every=25",
                                  "train.checkpoint_every=200"])
    split = load_split(cfg.data, "train")
    tokenizer = WordTokenizer.build([t for caps in split.captions for t in caps] +
                                    [t for per in split.negatives for ns in per for t in ns])
    model = build_model(cfg, len(tokenizer))
    bank = TextBank(split, tokenizer, cfg.model.max_text_len)
    variants = {}
    for name in ("ashbench", "bare"):
        m = copy.deepcopy(model).train()
        variants[name] = (m, VLObjective(m, cfg.loss), _optimizer(m, cfg.train))
    return cfg, bank, split.images, tokenizer, variants


def run_ashbench(cfg, bank, images, tokenizer, variant, start, steps, out):
    from ashbench.ashnet.train import _loop

    model, objective, optimizer = variant
    cfg.train.steps = start + steps
    t0 = time.perf_counter()
    _loop(cfg, objective, model, optimizer, bank, images, tokenizer, out, start, 0, 1, "cpu", None)
    return (time.perf_counter() - t0) / steps


def run_bare(batches, variant, start, steps):
    model, objective, optimizer = variant
    t0 = time.perf_counter()
    for step in range(start + 1, start + steps + 1):
        b = batches[step]
        gen = torch.Generator().manual_seed(step)
        loss = objective(b.images, b.ids, b.pos, b.hard_ids, b.hard_owner, gen)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    return (time.perf_counter() - t0) / steps


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="ashnet-default")
    ap.add_argument("--steps", type=int, default=10, help="steps per timed chunk")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    from ashbench.ashnet.train import make_batch

    cfg, bank, images, tokenizer, variants = setup(args.config)
    total = args.steps * (args.rounds + 1)
    batches = {s: make_batch(bank, images, cfg, s, 0, 1) for s in range(1, total + 1)}
    times = {"ashbench": [], "bare": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds + 1):  # round 0 warms up
            start = r * args.steps
            order = ("bare", "ashbench") if r % 2 else ("ashbench", "bare")
            for name in order:
                t = (run_bare(batches, variants[name], start, args.steps) if name == "bare" else
                     run_ashbench(cfg, bank, images, tokenizer, variants[name], start, args.steps, Path(tmp)))
                if r:
                    times[name].append(t)
    med = {k: statistics.median(v) for k, v in times.items()}
    paired = statistics.median(a / b for a, b in zip(times["ashbench"], times["bare"]))
    print(f"config {args.config}, batch {cfg.train.batch_size}, {args.rounds} rounds x {args.steps} steps, 1 thread")
    print(f"bare loop      {med['bare'] * 1000:8.1f} ms/step")
    print(f"ashbench loop  {med['ashbench'] * 1000:8.1f} ms/step")
    print(f"ratio ashbench/bare: {med['ashbench'] / med['bare']:.3f} (median of per-round ratios {paired:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
