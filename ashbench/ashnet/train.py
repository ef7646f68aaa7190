"""Training of ASH-Nets (library function; the CLI prints progress from the callback).

Seeded and deterministic on CPU: the batch, caption and hard-negative choices and every random
draw of step s come from generators seeded with (seed, s[, rank]), so a resumed run repeats an
uninterrupted one exactly. Under ``torchrun`` (WORLD_SIZE > 1) the model is wrapped in
DistributedDataParallel (gloo on CPU, nccl on CUDA) and each rank takes its slice of the global
batch; only rank 0 writes logs and checkpoints.

Convergence: every ``train.eval_every`` steps and at the last step, when the data has a val split,
the model is evaluated on it (``validation_report``: the retrieval report without bootstrap
intervals, under ``fork_rng`` so the training's random stream is untouched) and an ``"event": "val"``
line is logged. The step with the best ``train.select_metric`` (improvement: more than
``train.min_delta`` above the best so far) is the selected one; after ``train.patience`` evaluations
in a row without improvement the run stops early (0: never). Selection is on val only, never test.

Outputs in ``out_dir``: ``metrics.jsonl`` (one JSON object per logged step, and one ``"event": "val"``
line per evaluation), ``last.pt`` (periodic and final checkpoint with optimizer state; its metrics
hold the selection state, so a resumed run selects and stops as an uninterrupted one), ``best.pt``
(the best evaluated weights so far, while an evaluation before the last step is the best) and
``model.pt`` (the selected weights without optimizer state: the shippable one; its metrics give
``selected_step``, ``stopped_step``, the selection metric and value, and the val report). Each
checkpoint that names a new best is written to ``last.pt`` before ``best.pt``, so ``best.pt`` never
holds a step that ``last.pt`` does not know; when the selected step is the last one, ``best.pt``
is removed at the end (``model.pt`` and ``last.pt`` hold those weights).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist

from ashbench.ashnet.checkpoint import (
    load_checkpoint,
    load_optimizer_state,
    load_state,
    read_config_and_vocab,
    save_checkpoint,
)
from ashbench.ashnet.config import VLConfig, apply_overrides, load_config
from ashbench.ashnet.data import has_split, load_split
from ashbench.ashnet.data.tokenizer import WordTokenizer
from ashbench.ashnet.evaluate import (
    caption_ids,
    embed_split,
    firing_rates,
    hard_negative_accuracy,
    hard_negative_scores,
    recall_at_k,
    recalls_from_ranks,
    split_truth,
    truth_ranks,
)
from ashbench.ashnet.model import build_model
from ashbench.ashnet.objectives import VLObjective
from ashbench.errors import AshbenchError, CheckpointError, ConfigError, InputError
from ashbench.files import check_output_path, write_atomic

# Config keys that may differ between a run and the checkpoint it resumes from: logging, threads,
# and the learning rate (to continue a diverged run with a smaller one; the log records lr per step).
RESUMABLE_DIFFERENCES = {"train.log_every", "train.checkpoint_every", "train.threads", "train.lr"}


class TrainingDivergedError(AshbenchError):
    """The loss became NaN or infinite; the message names the step and the last good checkpoint."""


@dataclass
class TrainResult:
    out_dir: str
    checkpoint: str  # model.pt: final weights without optimizer state
    steps: int
    wall_s: float
    last: dict = field(default_factory=dict)  # the last logged training record
    val: dict = field(default_factory=dict)  # validation report of the selected step ({}: no val split)
    model: torch.nn.Module | None = None  # the selected weights, in eval mode
    selected_step: int = 0  # the step whose weights model.pt holds (the best on val; the last without val)
    stopped_step: int = 0  # the last step trained: train.steps, or where early stopping ended the run
    early_stopped: bool = False
    select_metric: str = ""
    select_value: float | None = None  # the selected step's value of select_metric (None: no val split)

    def to_dict(self) -> dict:
        return {"out_dir": self.out_dir, "checkpoint": self.checkpoint, "steps": self.steps,
                "wall_s": self.wall_s, "last": self.last, "val": self.val, "selected_step": self.selected_step,
                "stopped_step": self.stopped_step, "early_stopped": self.early_stopped,
                "select_metric": self.select_metric, "select_value": self.select_value}


@dataclass
class Batch:
    images: torch.Tensor  # uint8 [B, 3, H, W], distinct images
    ids: torch.Tensor  # [B, L] one caption per image
    pos: torch.Tensor  # bool [B, B]: caption j is the same string as image i's caption
    hard_ids: torch.Tensor | None  # [H, L] hard negative captions
    hard_owner: torch.Tensor | None  # [H] the batch row whose caption each was made from
    hard_mask: torch.Tensor | None = None  # bool [B, H]: hard caption h is the same string as row i's caption


class TextBank:
    """Tokenised captions and hard negatives of a split, indexed by (image, caption)."""

    def __init__(self, split, tokenizer: WordTokenizer, max_len: int):
        self.captions, self.negatives = split.captions, split.negatives
        self.ids = [tokenizer.encode(caps, max_len) for caps in split.captions]
        self.neg_ids = [[tokenizer.encode(ns, max_len) if ns else None for ns in per_image]
                        for per_image in split.negatives]


def resolve_config(config: VLConfig | str | Path, overrides=()) -> VLConfig:
    """A config object, preset name or TOML path, with ``key=value`` overrides applied."""
    if isinstance(config, VLConfig):
        return apply_overrides(config, overrides)
    return load_config(config, overrides)


def lr_at(step: int, cfg) -> float:
    """Linear warm-up over ``warmup_steps``, then cosine decay to 0 at ``steps`` (step counts from 1)."""
    if step <= cfg.warmup_steps:
        return cfg.lr * step / max(1, cfg.warmup_steps)
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def make_batch(bank: TextBank, images: torch.Tensor, cfg: VLConfig, step: int, rank: int, world: int) -> Batch:
    """Batch of step ``step`` for ``rank``: distinct images, one random caption each, one hard negative each."""
    g = torch.Generator().manual_seed(cfg.train.seed * 1_000_003 + step)
    n, b = images.shape[0], cfg.train.batch_size
    chosen = torch.randperm(n, generator=g)[: b * world]
    caption_pick = torch.randint(0, 1 << 30, (chosen.numel(), 2), generator=g)
    mine = slice(rank * b, (rank + 1) * b)
    idx, picks = chosen[mine].tolist(), caption_pick[mine].tolist()
    caps = [p[0] % len(bank.ids[i]) for i, p in zip(idx, picks)]
    texts = [bank.captions[i][c] for i, c in zip(idx, caps)]
    pos = torch.tensor([[a == t for t in texts] for a in texts])
    hard_ids = hard_owner = hard_mask = None
    if cfg.loss.hard_negatives:
        hard_ids, hard_owner, hard_texts = _hard_negatives(bank, idx, caps, picks)
        hard_mask = torch.tensor([[a == h for h in hard_texts] for a in texts], dtype=torch.bool)
    ids = torch.stack([bank.ids[i][c] for i, c in zip(idx, caps)])
    return Batch(images[idx], ids, pos, hard_ids, hard_owner, hard_mask)


def _hard_negatives(bank, idx, caps, picks):
    """One hard negative per batch caption that has any: (token ids [H, L], owner rows [H], texts)."""
    rows, owners, texts = [], [], []
    for row, (i, c, p) in enumerate(zip(idx, caps, picks)):
        negs = bank.neg_ids[i][c] if c < len(bank.neg_ids[i]) else None
        if negs is not None:
            pick = p[1] % negs.shape[0]
            rows.append(negs[pick])
            owners.append(row)
            texts.append(bank.negatives[i][c][pick])
    if not rows:
        return None, None, []
    return torch.stack(rows), torch.tensor(owners, dtype=torch.long), texts


def _setup_distributed() -> tuple[int, int, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}" if cuda else "cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return rank, world, device


FILL_UNINITIALIZED_MEMORY = False  # see _seeded_and_deterministic


@contextmanager
def _seeded_and_deterministic(cfg: VLConfig):
    """Inside: the global RNG seeded with the train seed, deterministic algorithms on, and
    ``train.threads`` CPU threads. Afterwards the caller's RNG state, deterministic-algorithm
    settings and thread count are restored.

    Deterministic algorithms also fill every new uninitialised tensor with NaN by default
    (``torch.utils.deterministic.fill_uninitialized_memory``), a guard against ops that read memory
    they never wrote. No op of a training step does (the trained weights are bit-identical either
    way, ``tests/test_train.py``), and the fills were 5% of a CPU step (1,070 per step), so they
    are off here."""
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    fill = torch.utils.deterministic.fill_uninitialized_memory
    threads = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.train.seed)
        torch.use_deterministic_algorithms(True, warn_only=torch.cuda.is_available())
        torch.utils.deterministic.fill_uninitialized_memory = FILL_UNINITIALIZED_MEMORY
        if cfg.train.threads:
            torch.set_num_threads(cfg.train.threads)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
            torch.utils.deterministic.fill_uninitialized_memory = fill
            torch.set_num_threads(threads)


def _optimizer(model: torch.nn.Module, cfg) -> torch.optim.Optimizer:
    """AdamW; weight decay on every parameter of 2 or more dimensions (weight matrices, conv
    kernels, embeddings and the position embeddings), none on 1-D and scalar ones (biases, norm
    scales, r, the temperature, per-step weights)."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                              {"params": rest, "weight_decay": 0.0}], lr=cfg.lr)


def _config_differences(a: dict, b: dict) -> list[str]:
    return [f"{s}.{k}" for s in a if isinstance(a[s], dict) for k in a[s] if a[s][k] != b.get(s, {}).get(k)]


def metric_value(report: dict, name: str) -> float:
    """The value of validation metric ``name`` (``section.key`` or ``key``) in a report; NaN when absent."""
    value = report
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float("nan")


@dataclass
class Selection:
    """Checkpoint selection on the val split and early stopping. Stored in last.pt's metrics
    (``"selection"``), so a resumed run selects and stops as an uninterrupted one."""

    best_step: int = 0  # the best evaluated step so far (0: no evaluation with a finite value yet)
    best_value: float | None = None  # its value of train.select_metric
    best_val: dict = field(default_factory=dict)  # its validation report
    bad_evals: int = 0  # evaluations since the last improvement
    stopped_step: int = 0  # the step where early stopping ended the run (0: it did not)

    def update(self, step: int, report: dict, cfg) -> bool:
        """Record the evaluation of ``step`` (``cfg``: the train section); True when it is the new best.
        A NaN value never improves."""
        value = metric_value(report, cfg.select_metric)
        if math.isfinite(value) and (self.best_value is None or value > self.best_value + cfg.min_delta):
            self.best_step, self.best_value, self.best_val, self.bad_evals = step, value, report, 0
            return True
        self.bad_evals += 1
        if cfg.patience and self.bad_evals >= cfg.patience:
            self.stopped_step = step
        return False

    @classmethod
    def from_metrics(cls, metrics, path) -> "Selection":
        """The state saved in a checkpoint's metrics (a fresh one when it has none: an older checkpoint)."""
        saved = metrics.get("selection") if isinstance(metrics, dict) else None
        if saved is None:
            return cls()
        try:
            sel = cls(**saved)
            ints = (sel.best_step, sel.bad_evals, sel.stopped_step)
            if not all(isinstance(v, int) and v >= 0 for v in ints) or not isinstance(sel.best_val, dict) or not (
                    sel.best_value is None or isinstance(sel.best_value, (int, float))):
                raise TypeError("bad field values")
        except TypeError as exc:
            raise CheckpointError(f"checkpoint {path} holds a malformed selection state: {exc}") from None
        return sel


@dataclass
class Resumed:
    """Where a run continues: the checkpoint's step, vocabulary, training seconds so far and selection state."""

    step: int = 0
    tokenizer: WordTokenizer | None = None
    elapsed_s: float = 0.0
    selection: Selection = field(default_factory=Selection)


def _resume(path: Path, cfg: VLConfig, model, optimizer) -> Resumed:
    if not path.exists():
        return Resumed()
    data = load_checkpoint(path)
    saved, tokenizer = read_config_and_vocab(data, path)
    differ = [d for d in _config_differences(cfg.to_dict(), saved.to_dict()) if d not in RESUMABLE_DIFFERENCES]
    if differ:
        raise CheckpointError(f"cannot resume from {path}: its config differs in {', '.join(differ)}")
    if data["step"] > cfg.train.steps:
        raise CheckpointError(f"cannot resume from {path}: it is at step {data['step']} > train.steps")
    load_state(model, data["model"], path)
    if "optimizer" in data:
        load_optimizer_state(optimizer, data["optimizer"], path)
    elapsed = data["metrics"].get("elapsed_s", 0.0) if isinstance(data.get("metrics"), dict) else 0.0
    return Resumed(data["step"], tokenizer, float(elapsed) if isinstance(elapsed, (int, float)) else 0.0,
                   Selection.from_metrics(data.get("metrics"), path))


def _check_best(out: Path, cfg: VLConfig, tokenizer, model, resumed: Resumed) -> None:
    """Before training (rank 0): a fresh run removes an older run's best.pt; a resumed one needs best.pt
    to hold the selected step when that is earlier than last.pt's, and rewrites it from last.pt's weights
    when they are the best (a kill between writing last.pt and best.pt leaves an older best.pt)."""
    best, sel = out / "best.pt", resumed.selection
    if resumed.step == 0:
        best.unlink(missing_ok=True)
        return
    if not sel.best_step:
        return
    step = load_checkpoint(best)["step"] if best.exists() else None
    if sel.best_step == resumed.step:
        if step != sel.best_step and resumed.step < cfg.train.steps and not sel.stopped_step:
            save_checkpoint(best, _payload(cfg, tokenizer, model, resumed.step, metrics={"val": sel.best_val}))
    elif step != sel.best_step:
        raise CheckpointError(f"cannot resume from {out / 'last.pt'}: its selected step {sel.best_step} needs "
                              f"{best}, which " + ("is missing" if step is None else f"holds step {step}"))


def _payload(cfg, tokenizer, model, step, optimizer=None, metrics=None) -> dict:
    out = {"config": cfg.to_dict(), "vocab": tokenizer.vocab, "model": model.state_dict(), "step": step,
           "metrics": metrics or {}}
    if optimizer is not None:
        out["optimizer"] = optimizer.state_dict()
    return out


def _record(step: int, cfg: VLConfig, losses: dict, model, started: float) -> dict:
    """One step's log record; ``elapsed_s`` counts training seconds since step 1, across resumes."""
    rec = {"step": step, "steps": cfg.train.steps, "lr": lr_at(step, cfg.train), "batch_size": cfg.train.batch_size,
           "elapsed_s": time.perf_counter() - started}
    rec.update({k: float(v.detach()) for k, v in losses.items()})
    rec["temperature"] = float(1.0 / model.logit_scale.detach().exp())
    if model.r is not None:
        rec["r"] = float(model.r.detach())
    return rec


def train(config: VLConfig | str | Path, out_dir: str | Path, *, overrides=(), resume: bool = True,
          callback: Callable[[dict], None] | None = None) -> TrainResult:
    """Train an ASH-Net; ``callback(record)`` gets every step's record (step, steps, losses, lr, ...).

    Raises ConfigError, DataError, CheckpointError, or TrainingDivergedError on a non-finite loss.
    The caller's RNG state, deterministic-algorithm setting and thread count are left as they were."""
    cfg = resolve_config(config, overrides)
    with _seeded_and_deterministic(cfg):
        return _train(cfg, Path(out_dir), resume, callback)


def _train(cfg: VLConfig, out: Path, resume: bool, callback) -> TrainResult:
    rank, world, device = _setup_distributed()
    if rank == 0:
        _prepare_out(out)
    split = load_split(cfg.data, "train")
    if cfg.train.batch_size * world > len(split):
        raise ConfigError(f"train.batch_size={cfg.train.batch_size} x {world} rank(s) exceeds the {len(split)} "
                          f"training images (a batch holds distinct images)")
    tokenizer = WordTokenizer.build([t for caps in split.captions for t in caps] +
                                    [t for per in split.negatives for ns in per for t in ns])
    model = build_model(cfg, len(tokenizer)).to(device)
    optimizer = _optimizer(model, cfg.train)
    resumed = _resume(out / "last.pt", cfg, model, optimizer) if resume else Resumed()
    if resumed.tokenizer is not None and resumed.tokenizer.vocab != tokenizer.vocab:
        raise CheckpointError(f"cannot resume from {out / 'last.pt'}: its vocabulary differs from the data's")
    objective = VLObjective(model, cfg.loss)
    runner = objective
    if world > 1:
        runner = torch.nn.parallel.DistributedDataParallel(objective, find_unused_parameters=True)
    bank = TextBank(split, tokenizer, cfg.model.max_text_len)
    val = None
    if has_split(cfg.data, "val"):
        val = load_split(cfg.data, "val") if rank == 0 else True  # other ranks only follow rank 0's stop
    if rank == 0:
        _check_best(out, cfg, tokenizer, model, resumed)
    last = _loop(cfg, runner, model, optimizer, bank, split.images, tokenizer, out, resumed, rank, world, device,
                 callback, val)
    return _finish(cfg, model, tokenizer, out, last, rank, resumed.selection)


def _prepare_out(out: Path) -> None:
    """Create the run folder (one line on a file or an unwritable place) and remove the temporary
    files of checkpoints a killed run was writing."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, not a run folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create run folder {out}: {exc.strerror}") from None
    check_output_path(out / "metrics.jsonl")
    for stale in [*out.glob(".last.pt.*"), *out.glob(".model.pt.*"), *out.glob(".best.pt.*")]:
        stale.unlink(missing_ok=True)


def _resume_log(path: Path, start: int) -> dict:
    """Make the log that of an uninterrupted run up to step ``start``: keep the training records and
    validation lines of steps <= start (a killed run may have logged later steps). Returns the last
    kept training record ({} for a fresh run)."""
    if start == 0:
        path.unlink(missing_ok=True)
        return {}
    kept = [rec for rec in _read_jsonl(path) if rec.get("event", "val") == "val" and rec.get("step", 0) <= start]
    write_atomic(path, "".join(json.dumps(rec) + "\n" for rec in kept))
    training = [rec for rec in kept if "event" not in rec]
    return training[-1] if training else {}


def _read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a line cut by a kill: it and anything after it are redone
    return [r for r in records if isinstance(r, dict)]


def _loop(cfg, runner, model, optimizer, bank, images, tokenizer, out, resumed, rank, world, device,
          callback, val) -> dict:
    """Train steps start+1..steps (or until early stopping), evaluating on ``val`` (the val split on
    rank 0, None without one) at the evaluation steps. A checkpoint is written only once its weights
    have given a finite loss at the next step (or the run ends, or the user interrupts it), so that
    after a divergence ``last.pt`` is a point a smaller learning rate can resume from. A step whose
    evaluation is the new best is also checkpointed, and (before the last step) written to best.pt too."""
    started = time.perf_counter() - resumed.elapsed_s
    last = _resume_log(out / "metrics.jsonl", resumed.step) if rank == 0 else {}
    sel, steps = resumed.selection, cfg.train.steps
    model.train()
    pending = []  # at most one (checkpoint, also best.pt?) whose weights have not yet given a finite loss
    try:
        for step in range(resumed.step + 1, (resumed.step if sel.stopped_step else steps) + 1):
            losses = _step(cfg, runner, model, optimizer, bank, images, step, rank, world, device, out)
            _save_pending(pending, out)
            rec = _record(step, cfg, losses, model, started)
            logged = step % cfg.train.log_every == 0 or step == steps
            if rank == 0 and logged:
                _append_jsonl(out / "metrics.jsonl", rec)
                last = rec
            improved = stop = False
            if val is not None and ((cfg.train.eval_every and step % cfg.train.eval_every == 0) or step == steps):
                if rank == 0:
                    improved = _evaluate(cfg, model, val, tokenizer, device, step, sel, out)
                stop = _agree(sel.stopped_step == step, world, device)
            if rank == 0 and stop and not logged:  # the last step trained is always logged
                _append_jsonl(out / "metrics.jsonl", rec)
                last = rec
            if rank == 0 and (step % cfg.train.checkpoint_every == 0 or step == steps or improved or stop):
                _check_finite_weights(model, step, out)
                metrics = {**rec, "selection": dataclasses.asdict(sel)}
                pending.append((copy.deepcopy(_payload(cfg, tokenizer, model, step, optimizer, metrics)),
                                improved and step < steps))
            if callback is not None:
                callback(rec)
            if stop:
                break
    except KeyboardInterrupt:  # stopped by the user, not diverged: keep the latest checkpoint
        _save_pending(pending, out)
        raise
    _save_pending(pending, out)  # the final weights
    return last


def _save_pending(pending: list, out: Path) -> None:
    """Write the pending checkpoint to last.pt and then, when it is a new best, to best.pt (without
    optimizer state): best.pt never holds a step that last.pt's selection state does not name."""
    while pending:
        payload, best = pending.pop()
        save_checkpoint(out / "last.pt", payload)
        if best:
            save_checkpoint(out / "best.pt", {k: v for k, v in payload.items() if k != "optimizer"})


def _evaluate(cfg, model, val, tokenizer, device, step: int, sel: Selection, out: Path) -> bool:
    """Evaluate on the val split, log the ``"event": "val"`` line and update ``sel``; True on a new best."""
    report = validation_report(model, val, tokenizer, cfg.model.max_text_len, device, seed=cfg.train.seed)
    improved = sel.update(step, report, cfg.train)
    _append_jsonl(out / "metrics.jsonl", {"event": "val", "step": step, "mode": cfg.model.mode,
                                          "select_metric": cfg.train.select_metric,
                                          "select_value": metric_value(report, cfg.train.select_metric),
                                          "best_step": sel.best_step, "improved": improved,
                                          "stop": sel.stopped_step == step, **report})
    return improved


def _agree(flag: bool, world: int, device) -> bool:
    """Rank 0's ``flag`` on every rank (rank 0 alone evaluates and decides to stop)."""
    if world == 1:
        return flag
    shared = torch.tensor([int(flag)], device=device)
    dist.broadcast(shared, src=0)
    return bool(shared.item())


def validation_report(model, split, tokenizer, max_len: int, device="cpu", *, seed: int = 0) -> dict:
    """The retrieval report (``evaluate.retrieval_report``) without the bootstrap intervals, fast enough to
    run during training: standard and truth-aware recalls, both hard-negative accuracies, firing rates.
    Poisson encoding draws from the global RNG: it is seeded with ``seed`` inside ``fork_rng``, so the
    training's random stream is left as it was, and the model's train/eval mode is restored."""
    device = torch.device(device)
    training = model.training
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        model.eval()
        try:
            emb = embed_split(model, split, tokenizer, max_len, device)
            scores = hard_negative_scores(model, emb, tokenizer, max_len, device)
        finally:
            model.train(training)
    sim, owners, texts = emb["img"] @ emb["txt"].t(), emb["owners"], emb["texts"]
    truth = split_truth(split, texts, owners)  # the scene graph's truth where the split has one
    return {"retrieval": recall_at_k(sim, owners),
            "retrieval_truth": recalls_from_ranks(*truth_ranks(sim, truth, caption_ids(texts)), (1, 5, 10)),
            "hard_negative_accuracy": hard_negative_accuracy(*scores["itc"], scores["valid"]),
            "hard_negative_accuracy_itm": hard_negative_accuracy(*scores["itm"], scores["valid"]),
            "n_images": len(split), "n_captions": int(owners.numel()), "firing_rate": firing_rates(emb, model)}


def compute_losses(runner, batch: Batch, generator: torch.Generator) -> dict:
    """One forward of the objective (separate so tests can inject a divergence)."""
    return runner(batch.images, batch.ids, batch.pos, batch.hard_ids, batch.hard_owner, generator, batch.hard_mask)


def _step(cfg, runner, model, optimizer, bank, images, step, rank, world, device, out) -> dict:
    torch.manual_seed(cfg.train.seed * 1_000_003 + step * 101 + rank)
    batch = make_batch(bank, images, cfg, step, rank, world)
    batch = Batch(*(None if t is None else t.to(device) for t in vars(batch).values()))
    gen = torch.Generator(device=device).manual_seed(cfg.train.seed * 7919 + step * 31 + rank)
    try:
        losses = compute_losses(runner, batch, gen)
    except FloatingPointError as exc:  # e.g. ITM negatives sampled from NaN similarities
        raise _diverged(str(exc), step, out) from None
    if not torch.isfinite(losses["loss"]).item():
        raise _diverged(f"loss became {float(losses['loss'].detach())}", step, out)
    for group in optimizer.param_groups:
        group["lr"] = lr_at(step, cfg.train)
    optimizer.zero_grad(set_to_none=True)
    losses["loss"].backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return losses


def _diverged(what: str, step: int, out: Path) -> TrainingDivergedError:
    kept = out / "last.pt"
    return TrainingDivergedError(f"{what} at step {step}; last good checkpoint: "
                                 f"{kept if kept.exists() else 'none written yet'} (resume it with a smaller "
                                 f"train.lr)")


def _check_finite_weights(model, step: int, out: Path) -> None:
    """Never overwrite the last good checkpoint with non-finite weights. (A checkpoint is written
    only once its weights have given a finite loss at the next step: see ``_loop``.)"""
    if not all(torch.isfinite(p).all() for p in model.parameters()):
        raise _diverged("the weights became non-finite", step, out)


def _append_jsonl(path: Path, record: dict) -> None:
    with open(path, "a") as fh:
        fh.write(json.dumps(record) + "\n")


def _finish(cfg, model, tokenizer, out: Path, last: dict, rank: int, sel: Selection) -> TrainResult:
    """model.pt = the selected weights (the best evaluated step; the last step without a val split)."""
    wall = last.get("elapsed_s", 0.0)
    end = sel.stopped_step or cfg.train.steps
    selected = sel.best_step or end
    if rank == 0:
        if selected != end:
            data = load_checkpoint(out / "best.pt")
            if data["step"] != selected:
                raise CheckpointError(f"{out / 'best.pt'} holds step {data['step']}, not the selected step {selected}")
            load_state(model, data["model"], out / "best.pt")
        metrics = {"val": sel.best_val, "selected_step": selected, "stopped_step": end,
                   "early_stopped": bool(sel.stopped_step), "select_metric": cfg.train.select_metric,
                   "select_value": sel.best_value}
        save_checkpoint(out / "model.pt", _payload(cfg, tokenizer, model, selected, metrics=metrics))
        if selected == end:
            (out / "best.pt").unlink(missing_ok=True)  # superseded: model.pt and last.pt hold the selected weights
    return TrainResult(str(out), str(out / "model.pt"), end, wall, last, sel.best_val, model.eval(),
                       selected_step=selected, stopped_step=end, early_stopped=bool(sel.stopped_step),
                       select_metric=cfg.train.select_metric, select_value=sel.best_value)
