"""Where relation flips and argument swaps fail: the text side or the image side.

Run from the repository root, after ``ashbench sweep benchmarks/ashnets_converged.toml``::

    .venv/bin/python benchmarks/relation_probe.py [--runs results/ashnets-converged/runs.csv]
                                                  [--checkpoints runs/ashnets-converged] [--split test]
                                                  [--arms ann,hybrid] [--json PATH]

For every run of the sweep (``best.pt``, the checkpoint selected on validation), on the split's
captions and their hard negatives, per negative kind (colour, shape, count, relation flip, argument
swap):

  text cosine   mean cosine between the unit text embedding of a caption and that of its negative:
                1 means the text encoder maps both strings to the same point, so no image can
                prefer the true one; lower means the text side separates them.
  separated     share of (caption, negative) pairs whose text embeddings differ by more than
                cosine 0.999.
  ITC accuracy  share of pairs where the image scores its true caption strictly above the negative
                (the ``hn:`` columns of runs.csv, per pair here rather than per caption: a caption
                with two negatives of a kind counts twice).

Read: when the text cosine of a kind is as far from 1 as for kinds the model gets right, and its
accuracy is still at chance, the text encoder tells the strings apart and the image embedding does
not carry what would decide between them. Medians and ranges over the seeds of each arm.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

SEPARATED_BELOW = 0.999


@torch.no_grad()
def probe(checkpoint: Path, split_name: str) -> dict[str, dict[str, float]]:
    """{kind: {"text_cosine", "separated", "itc_accuracy", "pairs"}} of one checkpoint."""
    from ashbench.ashnet.checkpoint import load_model
    from ashbench.ashnet.data import load_split
    from ashbench.ashnet.evaluate import embed_split

    model, cfg, tokenizer = load_model(str(checkpoint))
    model.eval()
    split = load_split(cfg.data, split_name)
    with torch.random.fork_rng(devices=[]):  # Poisson encoding draws from the RNG (as evaluate does)
        torch.manual_seed(cfg.train.seed)
        emb = embed_split(model, split, tokenizer, cfg.model.max_text_len)
    kinds = split.flat_negative_kinds()
    flat, caption_of, kind_of = [], [], []
    for j, (negs, ks) in enumerate(zip(emb["negatives"], kinds)):
        flat += negs
        caption_of += [j] * len(negs)
        kind_of += ks
    neg = torch.cat([model.encode_text(tokenizer.encode(flat[s:s + 512], cfg.model.max_text_len))["emb"]
                     for s in range(0, len(flat), 512)])
    caption_of = torch.tensor(caption_of)
    text_cos = (emb["txt"][caption_of] * neg).sum(1)
    image = emb["img"][emb["owners"][caption_of]]
    beats = (image * emb["txt"][caption_of]).sum(1) > (image * neg).sum(1)
    out = {}
    for kind in sorted(set(kind_of)):
        sel = torch.tensor([k == kind for k in kind_of])
        out[kind] = {"text_cosine": text_cos[sel].mean().item(),
                     "separated": (text_cos[sel] < SEPARATED_BELOW).float().mean().item() * 100,
                     "itc_accuracy": beats[sel].float().mean().item() * 100, "pairs": int(sel.sum())}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", default="results/ashnets-converged/runs.csv")
    ap.add_argument("--checkpoints", default="runs/ashnets-converged", help="folder of <run_id>/best.pt")
    ap.add_argument("--split", default="test")
    ap.add_argument("--arms", default=None, help="comma-separated arms (default: every arm row of the sweep)")
    ap.add_argument("--json", metavar="PATH", help="write every run's numbers as JSON")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    with open(args.runs, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r.get("axis:arm")]
    if args.arms:
        keep = set(args.arms.split(","))
        rows = [r for r in rows if r["axis:arm"] in keep]
    per_arm: dict[str, list] = defaultdict(list)
    every = []
    for r in rows:
        path = Path(args.checkpoints) / r["run_id"] / "best.pt"
        if not path.exists():
            print(f"skip {r['label']}: {path} not found", file=sys.stderr)
            continue
        result = probe(path, args.split)
        per_arm[r["axis:arm"]].append(result)
        every.append({"run_id": r["run_id"], "label": r["label"], "probe": result})
        print(f"{r['label']}: " + ", ".join(f"{k} cos {v['text_cosine']:.3f} acc {v['itc_accuracy']:.1f}"
                                             for k, v in result.items()), flush=True)
    print(f"\nmedian over seeds [min-max]; split {args.split}; separated = text cosine < {SEPARATED_BELOW}")
    print("| arm | seeds | kind | pairs | text cosine | separated % | ITC accuracy % |")
    print("|---|---:|---|---:|---|---:|---|")
    for arm, results in sorted(per_arm.items()):
        for kind in results[0]:
            col = {f: [res[kind][f] for res in results] for f in ("text_cosine", "separated", "itc_accuracy")}
            print(f"| {arm} | {len(results)} | {kind} | {results[0][kind]['pairs']} | "
                  f"{statistics.median(col['text_cosine']):.3f} [{min(col['text_cosine']):.3f}-"
                  f"{max(col['text_cosine']):.3f}] | {statistics.median(col['separated']):.1f} | "
                  f"{statistics.median(col['itc_accuracy']):.1f} [{min(col['itc_accuracy']):.1f}-"
                  f"{max(col['itc_accuracy']):.1f}] |")
    if args.json:
        Path(args.json).write_text(json.dumps(every, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
