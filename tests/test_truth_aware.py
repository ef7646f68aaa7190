"""Truth-aware recall@k, the standard metrics' perfect-scorer ceiling and the bootstrap intervals of
ashbench.ashnet.evaluate: exact, on hand-built matrices (arithmetic in the comments)."""

import json
import math

import pytest
import torch

from ashbench.ashnet.evaluate import (
    bootstrap_ci,
    bootstrap_replicates,
    caption_ids,
    caption_truth,
    ceiling_recall_at_k,
    evaluate,
    percentile_interval,
    recall_at_k,
    standard_ranks,
    truth_aware_recall_at_k,
    truth_ranks,
)

# 3 images, 4 captions: captions 0, 1 belong to image 0, caption 2 to image 1, caption 3 to image 2.
# Captions 0 and 2 are the same string "a": it is true of images 0 and 1 (identical columns, as any text
# encoder gives identical strings).
TEXTS = ["a", "b", "a", "c"]
OWNERS = torch.tensor([0, 0, 1, 2])
SIM = torch.tensor([[0.5, 0.2, 0.5, 0.5],
                    [0.9, 0.1, 0.9, 0.3],
                    [0.4, 0.4, 0.4, 0.4]])
KS = (1, 2, 3)


def test_caption_truth_treats_identical_strings_as_one_caption():
    assert caption_ids(TEXTS).tolist() == [0, 1, 0, 2]
    assert caption_truth(TEXTS, OWNERS).tolist() == [[True, True, True, False],   # "a", "b", "a" of image 0
                                                     [True, False, True, False],  # "a" (also image 0's)
                                                     [False, False, False, True]]


def test_truth_aware_recall_with_duplicates_and_ties():
    r = truth_aware_recall_at_k(SIM, OWNERS, TEXTS, ks=KS)
    # image->text (distinct false strings scoring >= the best true caption):
    #   image 0: best true 0.5 (captions 0, 2 tie with it: true, so no penalty); false "c" = 0.5 ties -> rank 1.
    #   image 1: best true 0.9; false "b" 0.1, "c" 0.3 -> rank 0.
    #   image 2: best true "c" 0.4; false captions 0, 1, 2 all tie at 0.4, but 0 and 2 are one string "a"
    #            -> distinct false strings {"a", "b"} -> rank 2 (not 3).
    #   ranks [1, 0, 2]: R@1 = 1/3, R@2 = 2/3, R@3 = 3/3.
    assert r["i2t_r1"] == pytest.approx(100 / 3) and r["i2t_r2"] == pytest.approx(200 / 3) and r["i2t_r3"] == 100
    # text->image (images the caption is false of scoring >= its best true image):
    #   caption 0 "a": true of images 0, 1 -> best 0.9; false image 2 0.4 -> rank 0.
    #   caption 1 "b": true of image 0 (0.2); false image 2 0.4 >= 0.2 -> rank 1 (image 1: 0.1, no).
    #   caption 2 "a": as caption 0 -> rank 0.
    #   caption 3 "c": true of image 2 (0.4); false image 0 0.5 -> rank 1 (image 1: 0.3, no).
    #   ranks [0, 1, 0, 1]: R@1 = 2/4, R@2 = R@3 = 4/4.
    assert (r["t2i_r1"], r["t2i_r2"], r["t2i_r3"]) == (50.0, 100.0, 100.0)
    assert r["mean_recall"] == pytest.approx((100 / 3 + 200 / 3 + 100 + 50 + 100 + 100) / 6)


def test_standard_recall_on_the_same_matrix_counts_duplicates_as_misses():
    r = recall_at_k(SIM, OWNERS, ks=KS)
    # image->text: image 0 best own 0.5; caption 2 (image 1's "a") 0.5 and caption 3 0.5 tie -> rank 2.
    #   image 1 own caption 2 0.9; caption 0 (image 0's "a") 0.9 ties -> rank 1.  image 2: 0.4, three ties -> 3.
    #   ranks [2, 1, 3]: R@1 = 0, R@2 = 1/3, R@3 = 2/3.
    assert (r["i2t_r1"], r["i2t_r2"], r["i2t_r3"]) == pytest.approx((0.0, 100 / 3, 200 / 3))
    # text->image: caption 0 own image 0 0.5 < image 1 0.9 -> rank 1; caption 1 0.2 < 0.4 -> 1;
    #   caption 2 own image 1 0.9 -> 0; caption 3 own 0.4 < image 0 0.5 -> 1.  R@1 = 1/4, R@2 = 4/4.
    assert (r["t2i_r1"], r["t2i_r2"]) == (25.0, 100.0)
    # truth-aware ranks are never worse than standard ones (best true >= best own; false items are a subset)
    std, tru = standard_ranks(SIM, OWNERS), truth_ranks(SIM, caption_truth(TEXTS, OWNERS), caption_ids(TEXTS))
    assert (tru[0] <= std[0]).all() and (tru[1] <= std[1]).all()


def test_ceiling_is_the_standard_metric_of_the_perfect_scorer():
    r = ceiling_recall_at_k(OWNERS, TEXTS, ks=KS)
    # perfect scorer: 1 where the caption is true of the image (matrix above), else 0.
    # image->text: image 0 own best 1; caption 2 (image 1's "a") scores 1 too, a tie with another image's
    #   caption -> rank 1.  image 1: own caption 2 ties with caption 0 -> rank 1.  image 2 -> rank 0.
    #   ranks [1, 1, 0]: R@1 = 1/3, R@2 = R@3 = 1.
    # text->image: caption 0 (own image 0) ties with image 1 -> rank 1; caption 1 -> 0; caption 2 (own image 1)
    #   ties with image 0 -> 1; caption 3 -> 0.  ranks [1, 0, 1, 0]: R@1 = 2/4, R@2 = R@3 = 1.
    assert r["i2t_r1"] == pytest.approx(100 / 3) and (r["i2t_r2"], r["i2t_r3"]) == (100.0, 100.0)
    assert (r["t2i_r1"], r["t2i_r2"], r["t2i_r3"]) == (50.0, 100.0, 100.0)
    assert r["mean_recall"] == pytest.approx((100 / 3 + 100 + 100 + 50 + 100 + 100) / 6)
    # the perfect scorer is perfect under the truth-aware metric
    perfect = caption_truth(TEXTS, OWNERS).float()
    assert truth_aware_recall_at_k(perfect, OWNERS, TEXTS, ks=KS)["mean_recall"] == 100.0


def test_ties_all_same_string_and_all_distinct():
    ones = torch.ones(2, 2)
    owners = torch.tensor([0, 1])
    # distinct strings, constant model: each image's one false caption ties its true one -> rank 1 (against);
    # each caption's false image ties its true one -> rank 1.  R@1 = 0, R@2 = 100, as the standard metric.
    r = truth_aware_recall_at_k(ones, owners, ["x", "y"], ks=(1, 2))
    assert (r["i2t_r1"], r["t2i_r1"], r["i2t_r2"], r["t2i_r2"]) == (0.0, 0.0, 100.0, 100.0)
    # one string for both images: every caption is true of every image, ties with true items are free -> 100;
    # the standard ceiling: every other image / other image's caption ties -> rank 1 -> R@1 = 0, R@2 = 100.
    r = truth_aware_recall_at_k(ones, owners, ["x", "x"], ks=(1, 2))
    assert (r["i2t_r1"], r["t2i_r1"]) == (100.0, 100.0)
    c = ceiling_recall_at_k(owners, ["x", "x"], ks=(1, 2))
    assert (c["i2t_r1"], c["t2i_r1"], c["i2t_r2"], c["t2i_r2"]) == (0.0, 0.0, 100.0, 100.0)


def _example(n_img=40, caps=3, seed=1):
    g = torch.Generator().manual_seed(seed)
    owners = torch.arange(n_img).repeat_interleave(caps)
    i2t = torch.randint(0, 4, (n_img,), generator=g)
    t2i = torch.randint(0, 4, (n_img * caps,), generator=g)
    has_neg = torch.rand(n_img * caps, generator=g) < 0.8
    beaten = torch.rand(n_img * caps, generator=g) < 0.7
    return i2t, t2i, owners, has_neg, beaten


def test_bootstrap_is_seeded():
    i2t, t2i, owners, has_neg, beaten = _example()
    kw = {"ks": (1, 2), "n_resamples": 200}
    a = bootstrap_ci({"r": i2t}, {"r": t2i}, owners, {"hn": (has_neg, beaten)}, seed=7, **kw)
    b = bootstrap_ci({"r": i2t}, {"r": t2i}, owners, {"hn": (has_neg, beaten)}, seed=7, **kw)
    c = bootstrap_ci({"r": i2t}, {"r": t2i}, owners, {"hn": (has_neg, beaten)}, seed=8, **kw)
    assert a == b and a != c
    assert set(a["r"]) == {"i2t_r1", "i2t_r2", "t2i_r1", "t2i_r2", "mean_recall"}
    assert all(lo <= hi for lo, hi in [*a["r"].values(), a["hn"]])


def test_bootstrap_degenerate_all_correct_is_100_100():
    n = 10
    owners = torch.arange(n).repeat_interleave(2)
    ci = bootstrap_ci({"r": torch.zeros(n, dtype=torch.long)}, {"r": torch.zeros(2 * n, dtype=torch.long)},
                      owners, {"hn": (torch.ones(2 * n, dtype=torch.bool), torch.ones(2 * n, dtype=torch.bool))},
                      n_resamples=50, seed=0)
    # every rank is 0 and every caption beats its negatives: every replicate is 100% -> [100, 100]
    assert all(v == [100.0, 100.0] for v in ci["r"].values()) and ci["hn"] == [100.0, 100.0]


def _naive_quantile(values, q):
    v = sorted(values)
    pos = q * (len(v) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def test_bootstrap_matches_a_naive_reference():
    i2t, t2i, owners, has_neg, beaten = _example(n_img=25, caps=2, seed=3)
    n_img, B, seed, k = 25, 300, 11, 2
    ci = bootstrap_ci({"r": i2t}, {"r": t2i}, owners, {"hn": (has_neg, beaten)}, ks=(k,), n_resamples=B, seed=seed)
    # the same draws: B rows of n_img image indices from a generator seeded with `seed`
    draws = torch.randint(0, n_img, (B, n_img), generator=torch.Generator().manual_seed(seed)).tolist()
    caps_of = {i: [j for j in range(len(owners)) if owners[j] == i] for i in range(n_img)}
    reps = {"i2t": [], "t2i": [], "hn": [], "mean": []}
    for row in draws:
        i2t_hits = [int(i2t[i] < k) for i in row]
        t2i_hits = [int(t2i[j] < k) for i in row for j in caps_of[i]]  # captions go with their image
        hn = [bool(beaten[j]) for i in row for j in caps_of[i] if has_neg[j]]
        reps["i2t"].append(100.0 * sum(i2t_hits) / len(i2t_hits))
        reps["t2i"].append(100.0 * sum(t2i_hits) / len(t2i_hits))
        reps["hn"].append(100.0 * sum(hn) / len(hn))
        reps["mean"].append((reps["i2t"][-1] + reps["t2i"][-1]) / 2)
    ref = {name: [_naive_quantile(v, 0.025), _naive_quantile(v, 0.975)] for name, v in reps.items()}
    assert ci["r"][f"i2t_r{k}"] == pytest.approx(ref["i2t"])
    assert ci["r"][f"t2i_r{k}"] == pytest.approx(ref["t2i"])
    assert ci["r"]["mean_recall"] == pytest.approx(ref["mean"])
    assert ci["hn"] == pytest.approx(ref["hn"])


def test_bootstrap_replicates_and_interval_exact():
    # 2 units: num/den (1/1) and (0/3). draws of 2 units: counts (c0, c1) -> 100 * c0 / (c0 + 3 c1).
    num, den = torch.tensor([[1.0], [0.0]]), torch.tensor([[1.0], [3.0]])
    reps = bootstrap_replicates(num, den, n_resamples=4, seed=0)
    draws = torch.randint(0, 2, (4, 2), generator=torch.Generator().manual_seed(0))
    c0 = (draws == 0).sum(1).double()
    expected = 100 * c0 / (c0 + 3 * (2 - c0))
    assert reps[:, 0].tolist() == pytest.approx(expected.tolist())
    assert percentile_interval(torch.tensor([[0.0], [10.0], [20.0], [float("nan")]]), 0.5) == [[5.0, 15.0]]


def test_evaluate_reports_truth_ceiling_and_intervals(tiny_checkpoint):
    result = evaluate(tiny_checkpoint, profile=False, bootstrap_resamples=50, bootstrap_seed=3)
    json.dumps(result)
    keys = {"i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10", "mean_recall"}
    assert set(result["retrieval_truth"]) == set(result["retrieval_ceiling"]) == keys
    assert all(result["retrieval_truth"][k] >= result["retrieval"][k] - 1e-9 for k in keys)
    assert result["bootstrap"]["seed"] == 3 and result["bootstrap"]["n_resamples"] == 50
    ci = result["ci95"]
    assert set(ci["retrieval"]) == set(ci["retrieval_truth"]) == keys
    assert all(lo <= hi for lo, hi in [*ci["retrieval"].values(), ci["hard_negative_accuracy"]])
    again = evaluate(tiny_checkpoint, profile=False, bootstrap_resamples=50, bootstrap_seed=3)
    assert again["ci95"] == ci
