"""benchmarks/relation_probe.py's two measures, on hand-made embeddings (arithmetic in comments)."""

import pytest
import torch
from helpers import import_benchmark


@pytest.fixture(scope="module")
def probe():
    return import_benchmark("relation_probe")


def test_kind_stats_cosine_separation_and_accuracy_per_kind(probe):
    # two "flip" pairs whose texts are one point (cosine 1: not separated, the image cannot beat the
    # negative strictly) and one "colour" pair at 90 degrees (cosine 0) whose image is the caption itself
    e0, e1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    caption = torch.stack([e0, e0, e0])
    negative = torch.stack([e0, e0, e1])
    image = torch.stack([e1, e0, e0])
    out = probe.kind_stats(caption, negative, image, ["flip", "flip", "colour"])
    assert out["flip"] == {"text_cosine": 1.0, "separated": 0.0, "itc_accuracy": 0.0, "pairs": 2}
    # colour: cosine e0.e1 = 0 -> separated 100 %; image e0 scores the caption 1 > the negative 0 -> 100 %
    assert out["colour"] == {"text_cosine": 0.0, "separated": 100.0, "itc_accuracy": 100.0, "pairs": 1}


def test_least_squares_r2_exact_fit_and_no_information(probe):
    # features (f, 1): target x = 2 f + 1 is fitted exactly -> R^2 = 1 on new rows;
    # target y = the same 5 everywhere on train, but 4 and 6 on test: the fit predicts 5,
    # residual (1 + 1) = 2 against a spread of (1 + 1) = 2 around the test mean 5 -> R^2 = 1 - 2/2 = 0
    train = torch.tensor([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]])
    test = torch.tensor([[3.0, 1.0], [4.0, 1.0]])
    train_y = torch.stack([2 * train[:, 0] + 1, torch.full((3,), 5.0)], dim=1)
    test_y = torch.stack([2 * test[:, 0] + 1, torch.tensor([4.0, 6.0])], dim=1)
    r2_x, r2_y = probe.least_squares_r2(train, train_y, test, test_y)
    assert r2_x == pytest.approx(1.0, abs=1e-12)
    assert r2_y == pytest.approx(0.0, abs=1e-12)
