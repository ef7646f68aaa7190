"""One run of a sweep: train, evaluate (retrieval + profile) and price one configuration, and its
tidy row of ``runs.csv``. Used by every executor (local processes, Ray tasks); the sweep's own
process alone appends rows (``ashbench.sweeps.runner``)."""

from __future__ import annotations

import json
from pathlib import Path

from ashbench.files import write_atomic
from ashbench.sweeps.spec import RunSpec, SweepSpec, axis_cells


def run_one(spec: SweepSpec, run: RunSpec, threads: int = 0) -> dict:
    """Train, evaluate (retrieval + profile) and price one run; writes its profile, returns its tidy row."""
    row, profile_doc = compute_one(spec, run, threads)
    write_profile(spec.folder / "profiles" / f"{run.run_id}.json", profile_doc)
    return row


def compute_one(spec: SweepSpec, run: RunSpec, threads: int = 0) -> tuple[dict, dict]:
    """Train, evaluate and price one run, writing nothing but its checkpoints: (tidy row, profile)."""
    from ashbench.ashnet.evaluate import evaluate
    from ashbench.ashnet.train import train

    overrides = list(run.overrides) + ([f"train.threads={threads}"] if threads else [])
    from ashbench.ashnet.data import has_split

    trained = train(spec.base, spec.work_dir / spec.name / run.run_id, overrides=overrides, resume=True)
    report = evaluate(trained.checkpoint, profile=True, energy_model=spec.energy_models[0], references=False)
    profile_doc = report["efficiency"]["profile"]
    row = tidy_row(spec, run, report, profile_doc, trained.wall_s,
                   training={"selected_step": trained.selected_step, "stopped_step": trained.stopped_step})
    cfg = trained_config(trained.checkpoint)
    if has_split(cfg.data, "compositional"):
        comp = evaluate(trained.checkpoint, split="compositional", profile=False, references=False)
        row.update(accuracy_columns(comp, prefix="comp:"))
    return row, profile_doc


def trained_config(checkpoint: str):
    from ashbench.ashnet.checkpoint import load_checkpoint, read_config_and_vocab

    return read_config_and_vocab(load_checkpoint(checkpoint), checkpoint)[0]


def accuracy_columns(report: dict, prefix: str = "") -> dict:
    """Accuracy columns of an evaluation report: the standard recalls (``i2t_r1`` ...), the truth-aware
    ones (``truth:i2t_r1`` ...), both hard-negative accuracies, and per negative kind (``hn:colour``,
    ``hn_itm:colour`` ...) where the data set labels its negatives; each name with ``prefix``."""
    out = {k: report["retrieval"][k] for k in report["retrieval"]}
    out |= {f"truth:{k}": v for k, v in report["retrieval_truth"].items()}
    out["hard_negative_accuracy"] = report["hard_negative_accuracy"]
    out["hard_negative_accuracy_itm"] = report["hard_negative_accuracy_itm"]
    for key, short in (("hard_negative_accuracy_by_kind", "hn"), ("hard_negative_accuracy_itm_by_kind", "hn_itm")):
        out |= {f"{short}:{kind}": v for kind, v in report.get(key, {}).items()}
    return {f"{prefix}{k}": round(v, 4) for k, v in out.items()}


def write_profile(path: Path, doc: dict) -> None:
    write_atomic(path, json.dumps(doc, indent=1), make_parents=True)


EFFICIENCY_COLUMNS = ("dense_macs", "macs", "synops", "elementwise_ops", "neuron_updates", "spikes", "neurons",
                      "firing_rate", "params")
CONFIG_COLUMNS = {"mode": "model.mode", "timesteps": "model.timesteps", "neuron": "model.neuron",
                  "v_threshold": "model.v_threshold", "snn_width": "model.snn_width",
                  "itc_weight": "loss.itc_weight", "itm_weight": "loss.itm_weight",
                  "stua_weight": "loss.stua_weight", "hard_negatives": "loss.hard_negatives",
                  "firing_rate_weight": "loss.firing_rate_weight", "seed": "train.seed", "steps": "train.steps"}


# Columns of the training's convergence (``ashbench.ashnet.train.TrainResult``): the step whose weights were
# evaluated (the best on the val split) and the last step trained (train.steps, or where early stopping ended it).
TRAINING_COLUMNS = ("selected_step", "stopped_step")


def tidy_row(spec: SweepSpec, run: RunSpec, report: dict, prof: dict, train_s: float,
             training: dict | None = None) -> dict:
    """One flat row: axis values, key config values, accuracy, efficiency totals and energies, and the
    training's ``TRAINING_COLUMNS`` from ``training`` ("" where it lacks them)."""
    from ashbench.energy import estimate_energy

    cfg = report["config"]
    row = {"run_id": run.run_id, "label": run.label, "sweep": spec.name, "base": spec.base}
    row.update(axis_cells(spec, run, cfg))
    row.update({name: cfg[key.split(".")[0]][key.split(".")[1]] for name, key in CONFIG_COLUMNS.items()})
    row.update(accuracy_columns(report))
    row.update({k: prof["totals"][k] for k in EFFICIENCY_COLUMNS})
    for model in spec.energy_models:
        energy = estimate_energy(prof, model)
        row[f"energy_pj:{model}"] = round(energy["total_pj"], 3)
        row.update({f"energy_{part}_pj:{model}": round(v, 3) for part, v in energy["breakdown_pj"].items()})
    row.update({name: (training or {}).get(name, "") for name in TRAINING_COLUMNS})
    row.update({"train_s": round(train_s, 3), "eval_s": round(report["wall_s"], 3),
                "torch": report["versions"].get("torch"), "spikingjelly": report["versions"].get("spikingjelly")})
    return row
