"""Can the text side learn relations against a fixed image embedding? A control for relation_probe.py.

Run from the repository root, after ``ashbench sweep benchmarks/ashnets_converged.toml``::

    .venv/bin/python benchmarks/relation_finetune.py [--runs results/ashnets-converged/runs.csv]
                                                     [--group arm=hybrid] [--seeds 0,1,2]
                                                     [--steps 600] [--every 200] [--lr 5e-4] [--json PATH]

For each seed of the group, from its trained weights (``runs/ashnets-converged/<run_id>/model.pt``):
everything but the text encoder and its projection (``text.*``, ``text_proj.*``) is frozen, and those
are trained ``--steps`` more steps with the run's own objective (``VLObjective``: ITC with hard
negatives, ITM, STUA, as configured), its batches (``make_batch`` on the train split, steps after the
run's last) and AdamW at a constant ``--lr`` (weight decay as the run; no warm-up: the weights are
trained already). Every ``--every`` steps, on the test split: ITC accuracy per negative kind and the
caption-to-negative text cosine (``relation_probe.kind_stats``).

Read: the image embedding is fixed, so if relation flips and argument swaps rise above chance, it holds
what tells "A above B" from "A below B" in a form a text embedding can align with, and the joint training
is what left them at chance; if they stay at chance while the text encoder is free to move, the image
embedding does not offer that form (whatever a regression can read from it).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
for _p in (str(ROOT), str(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import relation_probe  # noqa: E402
import torch  # noqa: E402

TRAINED = ("text.", "text_proj.")
KINDS = ("relation_flip", "argument_swap", "count", "colour", "shape", "size")


def finetune(checkpoint: Path, steps: int, every: int, lr: float) -> list[dict]:
    """Rows {step, per kind: itc_accuracy, text_cosine} from step 0 (the trained weights) on."""
    from ashbench.ashnet.checkpoint import load_model
    from ashbench.ashnet.data import load_split
    from ashbench.ashnet.objectives import VLObjective
    from ashbench.ashnet.train import TextBank, make_batch

    model, cfg, tokenizer = load_model(str(checkpoint))
    train_split, test_split = load_split(cfg.data, "train"), load_split(cfg.data, "test")
    bank = TextBank(train_split, tokenizer, cfg.model.max_text_len)
    trained = [p for n, p in model.named_parameters() if n.startswith(TRAINED)]
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith(TRAINED))
    optimizer = torch.optim.AdamW(trained, lr=lr, weight_decay=cfg.train.weight_decay)
    objective = VLObjective(model, cfg.loss)
    rows = [_row(0, model, cfg, tokenizer, test_split)]
    torch.manual_seed(cfg.train.seed)
    for step in range(1, steps + 1):
        model.train()
        batch = make_batch(bank, train_split.images, cfg, cfg.train.steps + step, 0, 1)
        gen = torch.Generator().manual_seed(cfg.train.steps + step)
        loss = objective(batch.images, batch.ids, batch.pos, batch.hard_ids, batch.hard_owner, gen,
                         batch.hard_mask)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        optimizer.step()
        if step % every == 0 or step == steps:
            rows.append(_row(step, model, cfg, tokenizer, test_split))
    return rows


def _row(step: int, model, cfg, tokenizer, split) -> dict:
    stats = relation_probe.probe_model(model, cfg, tokenizer, split, positions=False)
    return {"step": step, **{k: {"itc_accuracy": v["itc_accuracy"], "text_cosine": v["text_cosine"]}
                             for k, v in stats.items()}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", default="results/ashnets-converged/runs.csv")
    ap.add_argument("--checkpoints", default="runs/ashnets-converged", help="folder of <run_id>/model.pt")
    ap.add_argument("--group", default="arm=hybrid", help="run label without its seed (relation_probe.py)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--every", type=int, default=200)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    with open(args.runs, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if relation_probe._group(r["label"]) == args.group]
    seeds = set(args.seeds.split(","))
    results = {}
    for r in rows:
        if r["axis:seed"] not in seeds:
            continue
        t0 = time.perf_counter()
        curve = finetune(Path(args.checkpoints) / r["run_id"] / "model.pt", args.steps, args.every, args.lr)
        results[r["label"]] = curve
        print(f"{r['label']} ({time.perf_counter() - t0:.0f} s): " + "; ".join(
            f"step {c['step']}: flip {c['relation_flip']['itc_accuracy']:.1f} swap "
            f"{c['argument_swap']['itc_accuracy']:.1f} (cos {c['relation_flip']['text_cosine']:.3f})"
            for c in curve), flush=True)
    steps = [c["step"] for c in next(iter(results.values()))]
    print(f"\n{args.group}, text encoder + projection trained at lr {args.lr:g} against the fixed image side; "
          f"ITC accuracy % on the test split, median over {len(results)} seeds [min-max]; text cosine of the kind")
    print("| kind | " + " | ".join(f"step {s}" for s in steps) + " |")
    print("|---|" + "---|" * len(steps))
    for kind in KINDS:
        cells = []
        for i in range(len(steps)):
            acc = [curve[i][kind]["itc_accuracy"] for curve in results.values()]
            cos = [curve[i][kind]["text_cosine"] for curve in results.values()]
            cells.append(f"{statistics.median(acc):.1f} [{min(acc):.1f}-{max(acc):.1f}] "
                         f"(cos {statistics.median(cos):.3f})")
        print(f"| {kind} | " + " | ".join(cells) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
