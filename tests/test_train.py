"""Objectives (exact values), training (determinism, resume, divergence), checkpoints, ``ashbench train``."""

import json
import math
from pathlib import Path

import pytest
import torch
from helpers import run_cli

from ashbench.ashnet import train as train_module
from ashbench.ashnet.checkpoint import load_checkpoint, load_model, save_checkpoint
from ashbench.ashnet.objectives import (
    boost_nearest_negatives,
    itc_loss,
    mean_firing_rate,
    sample_hard_indices,
    soft_info_nce,
    stua_loss,
)
from ashbench.ashnet.train import TrainingDivergedError, lr_at, train
from ashbench.errors import CheckpointError

TINY = ["train.steps=4", "data.n_val=0"]


# --- objectives -----------------------------------------------------------------------------

def test_vl_soft_info_nce_exact():
    logits = torch.tensor([[math.log(3.0), 0.0], [0.0, 0.0]])
    pos = torch.eye(2, dtype=torch.bool)
    # row 0: softmax = [3/4, 1/4] -> -log(3/4); row 1: [1/2, 1/2] -> -log(1/2).
    expected = (-math.log(0.75) - math.log(0.5)) / 2
    assert soft_info_nce(logits, pos).item() == pytest.approx(expected)
    both = torch.tensor([[True, True], [False, True]])
    # row 0 with two positives: -(log(3/4) + log(1/4)) / 2.
    expected2 = (-(math.log(0.75) + math.log(0.25)) / 2 - math.log(0.5)) / 2
    assert soft_info_nce(logits, both).item() == pytest.approx(expected2)


def test_vl_itc_is_symmetric_and_hard_negatives_join_the_denominator():
    img = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    txt = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    pos, scale = torch.eye(2, dtype=torch.bool), torch.tensor(1.0)
    # logits = identity: each row softmax(1, 0) -> loss = -log(e / (e + 1)) in both directions.
    base = -math.log(math.e / (math.e + 1))
    assert itc_loss(img, txt, scale, pos).item() == pytest.approx(base)
    hard = torch.tensor([[1.0, 0.0]])  # a hard negative identical to image 0's caption
    # i2t row 0: softmax(1, 0, 1) -> -log(e / (2e + 1)); row 1: (0, 1, 0) -> -log(e / (e + 2)).
    i2t = (-math.log(math.e / (2 * math.e + 1)) - math.log(math.e / (math.e + 2))) / 2
    assert itc_loss(img, txt, scale, pos, hard).item() == pytest.approx((i2t + base) / 2)


def test_vl_nearest_negatives_are_boosted_by_log_one_plus_boost():
    logits = torch.tensor([[5.0, 3.0, 1.0, 2.0]])
    pos = torch.tensor([[True, False, False, False]])
    out = boost_nearest_negatives(logits, pos, k=2, boost=1.0)
    # the two most similar negatives are columns 1 (3.0) and 3 (2.0): + log 2.
    assert out.tolist()[0] == pytest.approx([5.0, 3.0 + math.log(2), 1.0, 2.0 + math.log(2)])
    assert torch.equal(boost_nearest_negatives(logits, pos, k=0, boost=1.0), logits)


def test_vl_stua_anchors_on_text_and_moves_only_the_spiking_latent():
    spike = torch.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    txt = torch.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    loss = stua_loss(spike, txt, torch.tensor(1.0), torch.eye(2, dtype=torch.bool))
    assert loss.item() == pytest.approx(-math.log(math.e / (math.e + 1)))
    loss.backward()
    assert txt.grad is None and spike.grad.abs().sum() > 0


def test_vl_firing_rate_and_itm_negative_sampling():
    spikes = [torch.tensor([1.0, 0.0, 0.0, 1.0]), torch.tensor([[1.0, 1.0], [1.0, 1.0]])]
    assert mean_firing_rate(spikes).item() == pytest.approx(6 / 8)  # 6 spikes over 8 neuron-steps
    assert mean_firing_rate([]).item() == 0.0
    sim = torch.tensor([[9.0, 0.0, 5.0], [1.0, 1.0, 1.0], [0.0, 3.0, 3.0]])
    pos = torch.tensor([[True, False, False], [False, True, False], [False, True, True]])
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        picks = sample_hard_indices(sim, pos, g)
        assert not pos[torch.arange(3), picks].any()  # never a positive
        assert picks[2].item() == 0  # row 2's only negative


def test_vl_lr_schedule_warms_up_then_decays_to_zero():
    cfg = train_module.load_config("test-tiny", ["train.steps=10", "train.warmup_steps=2", "train.lr=1.0"]).train
    assert [lr_at(s, cfg) for s in (1, 2)] == [0.5, 1.0]
    assert lr_at(6, cfg) == pytest.approx(0.5) and lr_at(10, cfg) == pytest.approx(0.0, abs=1e-12)


# --- training -------------------------------------------------------------------------------

def _params(model):
    return {k: v.detach().clone() for k, v in model.named_parameters()}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_vl_same_seed_same_weights_and_outputs(tmp_path):
    a = train("test-tiny", tmp_path / "a", overrides=TINY)
    b = train("test-tiny", tmp_path / "b", overrides=TINY)
    c = train("test-tiny", tmp_path / "c", overrides=TINY + ["train.seed=1"])
    assert _same(_params(a.model), _params(b.model)) and not _same(_params(a.model), _params(c.model))
    lines = [json.loads(x) for x in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [1, 2, 3, 4] and all(math.isfinite(r["loss"]) for r in lines)
    assert {"itc", "itm", "stua", "firing_rate", "lr", "r", "temperature"} <= set(lines[0])
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["last.pt", "metrics.jsonl", "model.pt"]



def test_vl_weights_identical_with_pytorchs_nan_fill_of_new_tensors(tmp_path, monkeypatch):
    # training leaves torch's NaN fill of uninitialised memory off for speed: no op of a step reads
    # memory it did not write, so the trained weights are bit-identical with the fill on
    fast = train("test-tiny", tmp_path / "fast", overrides=TINY)
    monkeypatch.setattr(train_module, "FILL_UNINITIALIZED_MEMORY", True)
    filled = train("test-tiny", tmp_path / "filled", overrides=TINY)
    assert _same(_params(fast.model), _params(filled.model))
    assert torch.utils.deterministic.fill_uninitialized_memory is True  # the caller's setting is back

def test_vl_resume_repeats_the_uninterrupted_run(tmp_path):
    full = train("test-tiny", tmp_path / "full", overrides=TINY)

    def stop_at_2(rec):
        if rec["step"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train("test-tiny", tmp_path / "cut", overrides=TINY, callback=stop_at_2)
    assert load_checkpoint(tmp_path / "cut" / "last.pt")["step"] == 2
    resumed = train("test-tiny", tmp_path / "cut", overrides=TINY)
    assert _same(_params(full.model), _params(resumed.model))
    steps = [json.loads(x)["step"] for x in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]
    with pytest.raises(CheckpointError, match="differs in model.timesteps"):
        train("test-tiny", tmp_path / "cut", overrides=TINY + ["model.timesteps=3"])


def test_vl_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    real, calls = train_module.compute_losses, []

    def diverge_at_4(*args):
        out = real(*args)
        calls.append(1)
        if len(calls) == 4:
            out["loss"] = out["loss"] * float("nan")
        return out

    # checkpoints every 2 steps: step 2's weights gave a finite loss at step 3, so it is kept; the
    # loss of step 4 is NaN, so nothing after step 2 is written
    monkeypatch.setattr(train_module, "compute_losses", diverge_at_4)
    with pytest.raises(TrainingDivergedError, match="at step 4; last good checkpoint: .*last.pt"):
        train("test-tiny", tmp_path, overrides=TINY)
    kept = load_checkpoint(tmp_path / "last.pt")
    assert kept["step"] == 2 and all(torch.isfinite(v).all() for v in kept["model"].values())


def test_vl_variants_train_a_step(tmp_path):
    for i, extra in enumerate([["model.mode=ann"], ["model.mode=snn", "loss.firing_rate_weight=0.1"],
                               ["loss.hard_negatives=false", "loss.itm_weight=0", "model.neuron=plif"]]):
        result = train("test-tiny", tmp_path / str(i), overrides=["train.steps=1", "data.n_val=0", *extra])
        assert math.isfinite(result.last["loss"])


# --- checkpoints ----------------------------------------------------------------------------

def test_vl_checkpoint_round_trip_is_weights_only_plain_data(tiny_checkpoint):
    data = torch.load(tiny_checkpoint, weights_only=True)
    assert isinstance(data["config"], dict) and all(isinstance(w, str) for w in data["vocab"])
    model, cfg, tok = load_model(tiny_checkpoint)
    assert cfg.name == "test-tiny" and tok.vocab == data["vocab"] and not model.training


def test_vl_bad_checkpoints_raise_checkpoint_errors(tiny_checkpoint, tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_model(tmp_path / "missing.pt")
    blob = Path(tiny_checkpoint).read_bytes()
    (tmp_path / "trunc.pt").write_bytes(blob[: len(blob) // 2])
    (tmp_path / "junk.pt").write_bytes(b"\x00not a checkpoint" * 10)
    for name in ("trunc.pt", "junk.pt"):
        with pytest.raises(CheckpointError, match="corrupt or truncated") as info:
            load_model(tmp_path / name)
        assert "\n" not in str(info.value)
    torch.save({"weight": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not an ASH-Nets checkpoint"):
        load_model(tmp_path / "foreign.pt")
    data = torch.load(tiny_checkpoint, weights_only=True)
    data["config"]["model"]["snn_width"] = 48
    save_checkpoint(tmp_path / "other.pt", {k: v for k, v in data.items() if k != "format"})
    with pytest.raises(CheckpointError, match="another architecture"):
        load_model(tmp_path / "other.pt")


# --- CLI ------------------------------------------------------------------------------------

def test_vl_train_command_maps_options_to_train(tmp_path):
    out = tmp_path / "run"
    res = run_cli("train", "test-tiny", "train.steps=2", "data.n_val=0", "--out", out)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["steps"] == 2 and (out / "model.pt").exists()
    bad = run_cli("train", "test-tiny", "model.timesteps=0", "--out", out)
    assert bad.exit_code == 2 and bad.stderr.startswith("error: invalid model.timesteps=0")
