"""Where relation flips and argument swaps fail: the text side or the image side.

Run from the repository root, after ``ashbench sweep benchmarks/ashnets_converged.toml``::

    .venv/bin/python benchmarks/relation_probe.py [--runs results/ashnets-converged/runs.csv]
                                                  [--checkpoints runs/ashnets-converged] [--split test]
                                                  [--groups 'arm=ann;arm=hybrid'] [--untrained] [--json PATH]

For every run of the sweep (``model.pt``, the weights selected on validation), on the split's
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

position R^2   the share of the variance of a lone object's x and y (one-object test images) that a linear
                least-squares fit on the unit image embedding explains, fitted on the train split's
                one-object images: near 0, the embedding has dropped where things are and no relation
                can be read from it; near 1, positions are there for a text embedding to align with.

Read: when the text cosine of a kind is as far from 1 as for kinds the model gets right, and its
accuracy is still at chance, the text encoder tells the strings apart and the image embedding does
not carry what would decide between them; when the cosine is at 1, the text side alone puts the kind at
chance, whatever the image side holds. ``--untrained`` probes each run's initial weights instead (what
training changed). Medians and ranges over the seeds of each group (an arm, or an ablation).
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
def probe(checkpoint: Path, split_name: str, untrained: bool = False) -> dict[str, dict[str, float]]:
    """{kind: {"text_cosine", "separated", "itc_accuracy", "pairs"}} of one checkpoint (``untrained``:
    of the run's initial weights, rebuilt from its config and seed, instead of the trained ones)."""
    from ashbench.ashnet.checkpoint import load_model
    from ashbench.ashnet.data import load_split
    from ashbench.ashnet.model import build_model

    model, cfg, tokenizer = load_model(str(checkpoint))
    if untrained:
        model = build_model(cfg, len(tokenizer))
    return probe_model(model, cfg, tokenizer, load_split(cfg.data, split_name))


@torch.no_grad()
def probe_model(model, cfg, tokenizer, split, positions: bool = True) -> dict[str, dict[str, float]]:
    """``probe`` of a model in memory on a loaded split (``positions``: also ``position_r2``)."""
    from ashbench.ashnet.evaluate import embed_split

    model.eval()
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
    image = emb["img"][emb["owners"][caption_of]]
    stats = kind_stats(emb["txt"][caption_of], neg, image, kind_of)
    return {"position_r2": position_r2(model, cfg, split), **stats} if positions else stats


def kind_stats(caption: torch.Tensor, negative: torch.Tensor, image: torch.Tensor, kinds: list[str]) -> dict:
    """Per negative kind, over the (caption, negative) pairs of that kind (rows of the unit embeddings
    ``caption``, ``negative`` and of the caption's ``image``): mean text cosine, % of pairs with cosine
    below ``SEPARATED_BELOW``, % where the image scores the caption strictly above the negative, pairs."""
    text_cos = (caption * negative).sum(1)
    beats = (image * caption).sum(1) > (image * negative).sum(1)
    out = {}
    for kind in sorted(set(kinds)):
        sel = torch.tensor([k == kind for k in kinds])
        out[kind] = {"text_cosine": text_cos[sel].mean().item(),
                     "separated": (text_cos[sel] < SEPARATED_BELOW).float().mean().item() * 100,
                     "itc_accuracy": beats[sel].float().mean().item() * 100, "pairs": int(sel.sum())}
    return out


def _one_object_images(split) -> tuple[torch.Tensor, torch.Tensor]:
    """(images, their object's (x, y)) of the split's scenes that hold exactly one object."""
    present = split.scene[..., 0] >= 0  # padding rows have colour -1
    single = present.sum(1) == 1
    return split.images[single], split.scene[single, 0, 3:5].float()


@torch.no_grad()
def position_r2(model, cfg, test_split) -> dict[str, float]:
    """How much of a lone object's position the image embedding holds: least-squares regression (with an
    intercept, no penalty) of (x, y) on the unit image embedding, fitted on the train split's one-object
    images, R^2 on ``test_split``'s. No ridge: the position lies in low-variance directions of the unit
    embedding, and a penalty scaled to the data (1e-2 x N) drove R^2 to 0 where least squares gets 0.7."""
    from ashbench.ashnet.data import load_split

    def embed(images):
        feats = torch.cat([model.encode_image(images[s:s + 256])["emb"] for s in range(0, len(images), 256)])
        return torch.cat([feats.double(), torch.ones(len(feats), 1, dtype=torch.float64)], dim=1)

    train_x, train_y = _one_object_images(load_split(cfg.data, "train"))
    test_x, test_y = _one_object_images(test_split)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.train.seed)
        a, b = embed(train_x), embed(test_x)
    r2 = least_squares_r2(a, train_y, b, test_y)
    return {"x": r2[0], "y": r2[1], "train_images": len(train_x), "test_images": len(test_x),
            "embedding_dims": a.shape[1] - 1}


def least_squares_r2(train_features, train_targets, test_features, test_targets) -> list[float]:
    """R^2 per target column on the test rows of the least-squares fit (no penalty) on the train rows:
    1 - sum((prediction - truth)^2) / sum((truth - mean(truth))^2), the mean being the test rows'. The
    features carry their own intercept column when one is wanted."""
    weights = torch.linalg.lstsq(train_features.double(), train_targets.double()).solution
    truth = test_targets.double()
    residual = ((test_features.double() @ weights - truth) ** 2).sum(0)
    return (1 - residual / ((truth - truth.mean(0)) ** 2).sum(0)).tolist()


def _group(label: str) -> str:
    """A run's label without its seed: the seeds of one arm or ablation form one group."""
    return ",".join(part for part in label.split(",") if not part.startswith("seed="))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", default="results/ashnets-converged/runs.csv")
    ap.add_argument("--checkpoints", default="runs/ashnets-converged", help="folder of <run_id>/model.pt")
    ap.add_argument("--split", default="test")
    ap.add_argument("--groups", default=None,
                    help="';'-separated run labels without their seed, e.g. 'arm=hybrid;arm=ann' (default: all)")
    ap.add_argument("--untrained", action="store_true",
                    help="probe each run's initial weights (its config and seed, before training) instead")
    ap.add_argument("--json", metavar="PATH", help="write every run's numbers as JSON")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    with open(args.runs, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if args.groups:
        keep = set(args.groups.split(";"))
        rows = [r for r in rows if _group(r["label"]) in keep]
    per_arm: dict[str, list] = defaultdict(list)
    every = []
    for r in rows:
        path = Path(args.checkpoints) / r["run_id"] / "model.pt"
        if not path.exists():
            print(f"skip {r['label']}: {path} not found", file=sys.stderr)
            continue
        result = probe(path, args.split, args.untrained)
        per_arm[_group(r["label"])].append(result)
        every.append({"run_id": r["run_id"], "label": r["label"], "probe": result})
        pos = result["position_r2"]
        print(f"{r['label']}: position R2 x {pos['x']:.3f} y {pos['y']:.3f}; "
              + ", ".join(f"{k} cos {v['text_cosine']:.3f} acc {v['itc_accuracy']:.1f}"
                          for k, v in result.items() if k != "position_r2"), flush=True)
    weights = "initial weights (untrained)" if args.untrained else "trained weights (model.pt)"
    print(f"\nmedian over seeds [min-max]; {weights}; split {args.split}; separated = text cosine < {SEPARATED_BELOW}")
    print("| group | seeds | kind | pairs | text cosine | separated % | ITC accuracy % |")
    print("|---|---:|---|---:|---|---:|---|")
    for arm, results in sorted(per_arm.items()):
        for kind in (k for k in results[0] if k != "position_r2"):
            col = {f: [res[kind][f] for res in results] for f in ("text_cosine", "separated", "itc_accuracy")}
            print(f"| {arm} | {len(results)} | {kind} | {results[0][kind]['pairs']} | "
                  f"{statistics.median(col['text_cosine']):.3f} [{min(col['text_cosine']):.3f}-"
                  f"{max(col['text_cosine']):.3f}] | {statistics.median(col['separated']):.1f} | "
                  f"{statistics.median(col['itc_accuracy']):.1f} [{min(col['itc_accuracy']):.1f}-"
                  f"{max(col['itc_accuracy']):.1f}] |")
    print("\nposition of a lone object from the image embedding: "
          "least-squares R^2 on the test split's one-object images")
    print("| group | seeds | R2 x | R2 y |")
    print("|---|---:|---|---|")
    for arm, results in sorted(per_arm.items()):
        xs, ys = [res["position_r2"]["x"] for res in results], [res["position_r2"]["y"] for res in results]
        print(f"| {arm} | {len(results)} | {statistics.median(xs):.3f} [{min(xs):.3f}-{max(xs):.3f}] | "
              f"{statistics.median(ys):.3f} [{min(ys):.3f}-{max(ys):.3f}] |")
    if args.json:
        Path(args.json).write_text(json.dumps(every, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
