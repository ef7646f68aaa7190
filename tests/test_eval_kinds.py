"""Per-kind hard-negative accuracy, scene-graph truth and the reference lines (chance, bag-of-objects,
perfect) of ashbench.ashnet.evaluate, on hand-made cases with the arithmetic in the comments."""

import math

import pytest
import torch

from ashbench.ashnet.checkpoint import load_model
from ashbench.ashnet.data import VLSplit
from ashbench.ashnet.data import scenes as sc
from ashbench.ashnet.data.shapes import ShapeObject
from ashbench.ashnet.evaluate import (
    _chance_truth_i2t,
    bootstrap_ci,
    evaluate,
    hard_negative_hits_by_kind,
    reference_lines,
    retrieval_report,
    split_truth,
)

NEG = float("-inf")


def test_hard_negative_accuracy_by_kind_hand_made():
    pos = torch.tensor([0.9, 0.5, 0.2])
    neg = torch.tensor([[0.8, 0.95, NEG], [0.1, 0.6, 0.4], [0.1, 0.3, NEG]])
    valid = torch.tensor([[True, True, False], [True, True, True], [True, True, False]])
    kinds = [["colour", "count"], ["colour", "count", "colour"], ["count", "colour"]]
    hits = hard_negative_hits_by_kind(pos, neg, valid, kinds)
    # colour: caption 0 (0.8 < 0.9 beaten), caption 1 (0.1, 0.4 < 0.5 beaten), caption 2 (0.3 > 0.2 not) -> 2/3
    # count:  caption 0 (0.95 > 0.9 not), caption 1 (0.6 > 0.5 not), caption 2 (0.1 < 0.2 beaten)         -> 1/3
    acc = {k: 100 * b[h].float().mean().item() for k, (h, b) in hits.items()}
    assert acc == pytest.approx({"colour": 200 / 3, "count": 100 / 3})


def test_kind_intervals_share_the_draws_of_the_others():
    # adding per-kind columns to the bootstrap changes no other interval (same generator, same draws)
    owners = torch.tensor([0, 0, 1, 2, 3, 3])
    i2t = {"retrieval": torch.tensor([0, 3, 1, 0])}
    t2i = {"retrieval": torch.tensor([0, 2, 0, 5, 0, 1])}
    has = torch.ones(6, dtype=torch.bool)
    hard = {"hard_negative_accuracy": (has, torch.tensor([1, 0, 1, 1, 0, 1], dtype=torch.bool))}
    base = bootstrap_ci(i2t, t2i, owners, hard, n_resamples=200, seed=3)
    more = bootstrap_ci(i2t, t2i, owners, hard | {"hard_negative_accuracy_by_kind/colour": (has, has)},
                        n_resamples=200, seed=3)
    assert more["retrieval"] == base["retrieval"] and more["hard_negative_accuracy"] == base["hard_negative_accuracy"]
    assert more["hard_negative_accuracy_by_kind/colour"] == [100.0, 100.0]


def _spec(a, rel, b, count_a=1):
    return {"groups": [[count_a, None, *a], [1, None, *b]], "rel": [0, rel, 1]}


def tiny_split() -> VLSplit:
    """Image 0: red circle left of blue square; image 1: the same objects swapped (circle on the right)."""
    red, blue = ("red", "circle"), ("blue", "square")
    scenes = [[ShapeObject("circle", "red", "small", 0.2, 0.5), ShapeObject("square", "blue", "small", 0.8, 0.5)],
              [ShapeObject("circle", "red", "small", 0.8, 0.5), ShapeObject("square", "blue", "small", 0.2, 0.5)]]
    caps = [_spec(red, "left of", blue), _spec(red, "right of", blue)]  # each true of its own image only
    negs = [[(_spec(red, "right of", blue), "relation_flip"), (_spec(("green", "circle"), "left of", blue), "colour")],
            [({"groups": caps[1]["groups"], "rel": [1, "right of", 0]}, "argument_swap"),
             (_spec(red, "right of", blue, count_a=2), "count")]]
    neg_specs = torch.tensor([[[sc.encode_spec(s) for s, _ in per]] for per in negs])  # [2, 1, 2, W]
    return VLSplit(images=torch.zeros(2, 3, 8, 8, dtype=torch.uint8), captions=[[sc.spec_text(c)] for c in caps],
                   negatives=[[[sc.spec_text(s) for s, _ in per]] for per in negs], name="test",
                   negative_kinds=[[[k for _, k in per]] for per in negs],
                   scene=torch.tensor([sc.encode_scene(o) for o in scenes], dtype=torch.float64),
                   caption_specs=torch.tensor([[sc.encode_spec(c)] for c in caps]), negative_specs=neg_specs)


def test_scene_graph_truth_replaces_string_identity():
    split = tiny_split()
    texts, owners, _ = split.flat_captions()
    assert texts == ["a red circle is left of a blue square", "a red circle is right of a blue square"]
    assert split_truth(split, texts, owners).tolist() == [[True, False], [False, True]]
    assert split.negatives[1][0] == ["a blue square is right of a red circle",
                                     "two red circles are right of a blue square"]


def test_reference_lines_on_a_tiny_split():
    ref = reference_lines(tiny_split(), ks=(1, 2))
    # perfect: sim = truth = identity -> every rank 0; hard negatives score 0 < 1.
    assert ref["perfect"]["retrieval"] == {"i2t_r1": 100, "i2t_r2": 100, "t2i_r1": 100, "t2i_r2": 100,
                                           "mean_recall": 100}
    assert ref["perfect"]["hard_negative_accuracy"] == 100
    # bag of objects: both images hold a red circle and a blue square, so both captions score 1 on both
    # images: every rank is 1 (the other item ties, ties count against) -> R@1 = 0, R@2 = 100; mean 50.
    for key in ("retrieval", "retrieval_truth"):
        assert ref["bag_of_objects"][key] == {"i2t_r1": 0, "i2t_r2": 100, "t2i_r1": 0, "t2i_r2": 100, "mean_recall": 50}
    # its hard negatives: flip, swap and count keep every phrase present (score 1, a tie: lost); the
    # green circle is absent (0 < 1: beaten). Caption 0 loses to its flip, caption 1 to both -> 0 overall.
    assert ref["bag_of_objects"]["hard_negative_accuracy"] == 0
    assert ref["bag_of_objects"]["hard_negative_accuracy_by_kind"] == {
        "argument_swap": 0, "colour": 100, "count": 0, "relation_flip": 0}
    # chance, N = 2 images, T = 2 captions, one own caption each:
    #   standard t2i R@k = k / N -> 50, 100; i2t R@k = 1 - C(T - 1, k) / C(T, k): k=1: 1 - 1/2 = 50; k=2: 100.
    #   truth-aware: each image has 1 true, 1 false caption (and each caption 1 false image): same, 50 / 100.
    #   hard negatives: 2 per caption -> 1/3; one of each kind per caption -> 1/2.
    for key in ("retrieval", "retrieval_truth"):
        got = ref["chance"][key]
        assert got == pytest.approx({"i2t_r1": 50, "i2t_r2": 100, "t2i_r1": 50, "t2i_r2": 100, "mean_recall": 75})
    assert ref["chance"]["hard_negative_accuracy"] == pytest.approx(100 / 3)
    assert ref["chance"]["hard_negative_accuracy_by_kind"] == pytest.approx(
        {"argument_swap": 50, "colour": 50, "count": 50, "relation_flip": 50})


def test_chance_quadrature_matches_the_closed_form_without_copies():
    # 3 images over 200 distinct strings; image i has t_i true strings: P(hit@k) = 1 - C(F, k) / C(F + t, k)
    truth = torch.zeros(3, 200, dtype=torch.bool)
    truth[0, :1], truth[1, :4], truth[2, 10:30] = True, True, True
    got = _chance_truth_i2t(truth, torch.arange(200), (1, 5, 10))
    want = [100 * sum(1 - math.comb(200 - t, k) / math.comb(200, k) for t in (1, 4, 20)) / 3 for k in (1, 5, 10)]
    assert got == pytest.approx(want, abs=1e-6)


def test_report_has_kinds_and_references(tiny_checkpoint):
    # shapes: per-kind keys (ITC and ITM) and their intervals appear; the old keys are still there
    result = evaluate(tiny_checkpoint, profile=False, bootstrap_resamples=50)
    for key in ("hard_negative_accuracy_by_kind", "hard_negative_accuracy_itm_by_kind"):
        assert set(result[key]) <= {"colour", "shape", "size", "relation_flip", "region"}
        assert set(result["ci95"][key]) == set(result[key])
    assert "reference" not in result and "hard_negative_accuracy" in result["ci95"]
    # a scenes split (words unknown to this tiny model's vocabulary become [UNK]): scene-graph truth + references
    model, cfg, tokenizer = load_model(tiny_checkpoint)
    split = sc.build_split(0, "compositional", 12, image_size=cfg.data.image_size)
    report = retrieval_report(model, split, tokenizer, cfg.model.max_text_len, n_resamples=20)
    assert set(report["reference"]) == {"chance", "bag_of_objects", "perfect"}
    assert report["reference"]["perfect"]["retrieval_truth"]["mean_recall"] == 100
    assert set(report["hard_negative_accuracy_by_kind"]) <= set(sc.NEGATIVE_KINDS)
