"""Retrieval metrics (exact, on hand-built matrices), the evaluate() report and ``ashbench eval``."""

import json
import math

import pytest
import torch
from helpers import run_cli

from ashbench.ashnet.evaluate import evaluate, hard_negative_accuracy, recall_at_k


def test_vl_recall_at_k_on_a_hand_built_matrix():
    # 3 images, 4 texts; texts 0,1 belong to image 0, text 2 to image 1, text 3 to image 2.
    sim = torch.tensor([[0.9, 0.1, 0.8, 0.0],
                        [0.2, 0.3, 0.1, 0.5],
                        [0.5, 0.6, 0.7, 0.4]])
    owners = torch.tensor([0, 0, 1, 2])
    r = recall_at_k(sim, owners, ks=(1, 2, 3))
    # image->text: image 0's best own caption (0.9) is first -> rank 0.
    # image 1's own text 2 (0.1) is beaten by texts 0, 1, 3 -> rank 3.
    # image 2's own text 3 (0.4) is beaten by 0.5, 0.6, 0.7 -> rank 3.
    # ranks [0, 3, 3]: R@1 = R@2 = R@3 = 1/3.
    assert r["i2t_r1"] == pytest.approx(100 / 3) and r["i2t_r3"] == pytest.approx(100 / 3)
    # text->image: text 0: column [0.9, 0.2, 0.5], own image 0 -> rank 0.
    # text 1: [0.1, 0.3, 0.6], own 0 -> rank 2.  text 2: [0.8, 0.1, 0.7], own 1 -> rank 2.
    # text 3: [0.0, 0.5, 0.4], own 2 -> rank 1.  ranks [0, 2, 2, 1]: R@1 1/4, R@2 2/4, R@3 4/4.
    assert (r["t2i_r1"], r["t2i_r2"], r["t2i_r3"]) == (25.0, 50.0, 100.0)
    assert r["mean_recall"] == pytest.approx((100 / 3 * 3 + 25 + 50 + 100) / 6)


def test_vl_recall_counts_ties_against_the_model():
    sim = torch.ones(2, 2)  # a constant model: every candidate ties
    r = recall_at_k(sim, torch.tensor([0, 1]), ks=(1, 2))
    assert (r["i2t_r1"], r["t2i_r1"], r["i2t_r2"], r["t2i_r2"]) == (0.0, 0.0, 100.0, 100.0)


def test_vl_hard_negative_accuracy_exact():
    pos = torch.tensor([0.5, 0.5, 0.5, 0.5])
    neg = torch.tensor([[0.4, 0.1], [0.6, 0.1], [0.5, 0.0], [0.9, 0.9]])
    valid = torch.tensor([[True, True], [True, True], [True, True], [False, False]])
    # caption 0 beats both; 1 loses to 0.6; 2 ties 0.5 (not strictly higher); 3 has no negatives.
    assert hard_negative_accuracy(pos, neg, valid) == pytest.approx(100 / 3)
    assert math.isnan(hard_negative_accuracy(pos, neg, torch.zeros_like(valid)))


def test_vl_evaluate_returns_a_json_able_report(tiny_checkpoint):
    result = evaluate(tiny_checkpoint, profile=False)
    json.dumps(result)
    assert set(result["retrieval"]) == {"i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10", "mean_recall"}
    assert (result["n_images"], result["n_captions"], result["split"], result["seed"]) == (32, 64, "test", 0)
    assert 0 <= result["hard_negative_accuracy"] <= 100 and 0 <= result["hard_negative_accuracy_itm"] <= 100
    rates = result["firing_rate"]
    assert 0 <= rates["mean"] <= 1 and list(rates["layers"]) == ["blocks.0.sn"]
    assert result["config"]["model"]["timesteps"] == 2 and result["versions"]["torch"]
    assert evaluate(tiny_checkpoint, profile=False, timesteps=1)["timesteps"] == 1


def test_vl_evaluate_profiles_efficiency(tiny_checkpoint):
    eff = evaluate(tiny_checkpoint, batch_size=4)["efficiency"]
    json.dumps(eff)
    totals = eff["profile"]["totals"]
    assert eff["batch_size"] == 4 and totals["synops"] > 0 and totals["dense_macs"] > 0
    assert 0 < totals["firing_rate"] < 1 and eff["energy"]["total_pj"] > 0


def test_vl_eval_command_prints_and_writes_json(tiny_checkpoint, tmp_path):
    out = tmp_path / "eval.json"
    res = run_cli("eval", tiny_checkpoint, "--no-profile", "--output", out)
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["retrieval"] == json.loads(res.stdout)["retrieval"]
    missing = run_cli("eval", tmp_path / "none.pt", "--no-profile")
    assert missing.exit_code == 2 and missing.stderr == f"error: checkpoint not found: {tmp_path / 'none.pt'}\n"
