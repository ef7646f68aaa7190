"""Karpathy-split caption JSON loader, on a tiny fixture written here."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ashbench.ashnet.config import load_config
from ashbench.ashnet.data import load_split
from ashbench.ashnet.data.karpathy import load_karpathy, swap_negatives
from ashbench.errors import DataError

ENTRIES = [
    {"filename": "a.png", "filepath": "train2014", "split": "train",
     "sentences": [{"raw": "A red bus on the left.", "tokens": ["a", "red", "bus"]}, {"raw": "a bus"}]},
    {"filename": "b.png", "filepath": "val2014", "split": "restval", "sentences": [{"raw": "Two dogs play."}]},
    {"filename": "c.png", "split": "test", "sentences": [{"raw": "A man sitting."}]},
    {"filename": "d.png", "split": "val", "sentences": [{"raw": "Green grass."}]},
]


@pytest.fixture
def vl_karpathy(tmp_path):
    """A JSON file and image folder with four 20x12 images (one per entry)."""
    for i, e in enumerate(ENTRIES):
        folder = tmp_path / "images" / e.get("filepath", "")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((12, 20, 3), 40 * i, dtype=np.uint8)).save(folder / e["filename"])
    path = tmp_path / "dataset_tiny.json"
    path.write_text(json.dumps({"images": ENTRIES}))
    return path, tmp_path / "images"


def test_vl_train_split_includes_restval_and_resizes(vl_karpathy):
    path, root = vl_karpathy
    split = load_karpathy(path, root, "train", image_size=16)
    assert split.images.shape == (2, 3, 16, 16) and split.images.dtype == torch.uint8
    assert split.captions == [["A red bus on the left.", "a bus"], ["Two dogs play."]]
    assert split.images[1].float().mean().item() == pytest.approx(40.0)


def test_vl_swap_negatives_change_one_word(vl_karpathy):
    path, root = vl_karpathy
    split = load_karpathy(path, root, "train", image_size=16)
    assert split.negatives[0][0][0] == "a green bus on the left ."  # red -> green (next colour)
    assert split.negatives[0][0][1] == "a red bus on the right ."
    assert split.negatives[0][1] == []  # "a bus": nothing to swap
    assert swap_negatives("two men sitting", 2) == ["three men sitting", "two women sitting"]


def test_vl_load_split_through_the_data_config(vl_karpathy):
    path, root = vl_karpathy
    cfg = load_config("test-tiny", ["data.dataset=karpathy", f"data.karpathy_json={path}", f"data.image_root={root}"])
    test = load_split(cfg.data, "test")
    assert len(test) == 1 and test.captions == [["A man sitting."]]
    assert test.negatives == [[["a woman sitting .", "a man standing ."]]]


@pytest.mark.parametrize("text, fragment", [
    ("{not json", "malformed Karpathy JSON"),
    ('{"pictures": []}', "'images' list"),
    ('{"images": [{"filename": "a.png", "split": "train"}]}', "lacks 'sentences'"),
    ('{"images": [{"filename": "a.png", "split": "train", "sentences": [{"tokens": []}]}]}', "lacks 'raw'"),
    ('{"images": [3]}', "is not an object"),
])
def test_vl_malformed_json_raises_data_error(tmp_path, text, fragment):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(DataError, match=fragment) as info:
        load_karpathy(path, tmp_path, "train")
    assert "\n" not in str(info.value)


def test_vl_missing_image_file_and_split_raise_data_error(vl_karpathy, tmp_path):
    path, root = vl_karpathy
    (root / "c.png").unlink()
    with pytest.raises(DataError, match="missing image .*c.png"):
        load_karpathy(path, root, "test")
    with pytest.raises(DataError, match="not found"):
        load_karpathy(tmp_path / "nope.json", root, "test")
    with pytest.raises(DataError, match="unknown split"):
        load_karpathy(path, root, "restval")


def test_vl_train_and_evaluate_on_a_karpathy_set(vl_karpathy, tmp_path):
    from ashbench.ashnet.evaluate import evaluate
    from ashbench.ashnet.train import train

    path, root = vl_karpathy
    overrides = ["data.dataset=karpathy", f"data.karpathy_json={path}", f"data.image_root={root}", "train.steps=2",
                 "train.batch_size=2"]  # the set has 2 training images
    result = train("test-tiny", tmp_path / "run", overrides=overrides)
    assert result.val["n_images"] == 1
    report = evaluate(result.checkpoint, profile=False)
    assert report["n_images"] == 1 and report["retrieval"]["t2i_r1"] == 100.0  # one candidate image
    assert report["hard_negative_accuracy"] in (0.0, 100.0)  # one caption with two negatives
