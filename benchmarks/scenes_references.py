"""Reference lines of a data set with scene graphs: chance, the bag-of-objects oracle and the perfect
scorer on the test and compositional splits (``ashbench.ashnet.evaluate.reference_lines``; a property of
the data alone, so computed once per sweep rather than per run).

    .venv/bin/python benchmarks/scenes_references.py [--config ashnet-scenes] [-o results/ashnets/references]

Writes ``<o>.json`` (every number) and ``<o>.md`` (truth-aware and standard R@1, hard-negative accuracy
overall and per kind, in percent), both atomically.
"""

from __future__ import annotations

import argparse
import json
import sys

KINDS = ("relation_flip", "argument_swap", "count", "colour", "shape", "size")


def references(config: str) -> dict:
    from ashbench.ashnet.config import load_config
    from ashbench.ashnet.data import has_split, load_split
    from ashbench.ashnet.evaluate import reference_lines

    cfg = load_config(config)
    return {split: reference_lines(load_split(cfg.data, split)) for split in ("test", "compositional")
            if has_split(cfg.data, split)}


def markdown(refs: dict) -> str:
    head = ("| split | scorer | t2i R@1 truth | i2t R@1 truth | t2i R@1 std | i2t R@1 std | hard neg. | "
            + " | ".join(KINDS) + " |")
    lines = [head, "|" + "---|" * (7 + len(KINDS))]
    for split, scorers in refs.items():
        for name, r in scorers.items():
            kinds = r["hard_negative_accuracy_by_kind"]
            truth, std = r["retrieval_truth"], r["retrieval"]
            cells = [truth["t2i_r1"], truth["i2t_r1"], std["t2i_r1"], std["i2t_r1"], r["hard_negative_accuracy"],
                     *(kinds.get(k, float("nan")) for k in KINDS)]
            lines.append(f"| {split} | {name} | " + " | ".join(f"{v:.1f}" for v in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    from ashbench.files import write_atomic

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="ashnet-scenes")
    ap.add_argument("-o", "--output", default="results/ashnets/references")
    args = ap.parse_args(argv)
    refs = references(args.config)
    write_atomic(f"{args.output}.json", json.dumps({"config": args.config, **refs}, indent=1), make_parents=True)
    write_atomic(f"{args.output}.md", markdown(refs), make_parents=True)
    print(markdown(refs), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
