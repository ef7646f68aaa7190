"""How much a sweep's runs were still gaining on validation at the end of their budget.

Run from the repository root after a sweep, e.g.::

    .venv/bin/python benchmarks/val_gains.py results/ashnets-converged/runs.csv runs/ashnets-converged \
        --steps 1800,2400,3000,3600 [--by axis:arm] [-f markdown]

For every row of ``runs.csv`` it reads ``<runs_dir>/<run_id>/metrics.jsonl`` and takes the validation
metric the run selected its checkpoint on (``select_value`` of each ``"event": "val"`` line,
e.g. truth-aware mean recall, %) at the given steps. Printed per group (default: the ``label``
without its seed; ``--by`` a runs.csv column): n, the mean value at each step, and the mean gain
over the last two intervals, with the selected (best) step. A gain near 0 at the end of a cosine
schedule says the run has settled at this budget (the learning rate is ~0 there), not that a
longer budget would not help: compare sweeps of different budgets for that.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for _p in (str(HERE.parent), str(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from profiler_overhead import fmt_table  # noqa: E402  (ashbench's table renderer, first column left)

from ashbench.report.tables import FORMATS  # noqa: E402


def val_curve(metrics: Path) -> dict[int, float]:
    """step -> validation select_value of one run's metrics.jsonl."""
    curve = {}
    for line in metrics.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("event") == "val":
            curve[int(entry["step"])] = float(entry["select_value"])
    return curve


def _group(row: dict, by: str | None) -> str:
    if by:
        return row.get(by, "")
    return ",".join(p for p in row["label"].split(",") if not p.startswith("seed=")) or row["label"]


def gains(rows: list[dict], runs_dir: Path, steps: list[int], by: str | None) -> list[list[str]]:
    groups: dict[str, list[tuple[dict, dict]]] = {}
    for row in rows:
        groups.setdefault(_group(row, by), []).append((row, val_curve(runs_dir / row["run_id"] / "metrics.jsonl")))
    table = []
    for name, runs in groups.items():
        usable = [(row, c) for row, c in runs if all(s in c for s in steps)]
        if not usable:
            continue
        means = [statistics.mean(c[s] for _, c in usable) for s in steps]
        best = [int(row.get("selected_step") or 0) for row, _ in usable]
        table.append([name, str(len(usable))] + [f"{m:.2f}" for m in means]
                     + [f"{means[-2] - means[-3]:+.2f}", f"{means[-1] - means[-2]:+.2f}",
                        f"{statistics.median(best):.0f}"])
    return table


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs_csv", type=Path)
    ap.add_argument("runs_dir", type=Path, help="the sweep's run folders (work_dir/name)")
    ap.add_argument("--steps", default="1800,2400,3000,3600", help="comma-separated validation steps (at least 3)")
    ap.add_argument("--by", default=None, help="group by this runs.csv column (default: the label without seed)")
    ap.add_argument("-f", "--format", default="table", choices=FORMATS.names())
    args = ap.parse_args(argv)
    steps = [int(s) for s in args.steps.split(",")]
    if len(steps) < 3:
        ap.error("--steps needs at least 3 steps")
    with args.runs_csv.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    headers = ["group", "n"] + [f"val@{s}" for s in steps] + [
        f"gain {steps[-3]}->{steps[-2]}", f"gain {steps[-2]}->{steps[-1]}", "median selected step"]
    print(fmt_table(headers, gains(rows, args.runs_dir, steps, args.by), args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
