"""Loader of the standard Karpathy-split caption JSON (COCO, Flickr30K) plus an image folder.

Format: ``{"images": [{"filename", "filepath"?, "split", "sentences": [{"raw", "tokens"?}]}]}``.
The image of an entry is ``image_root/filepath/filename`` (or ``image_root/filename``). Split
"restval" counts as "train". Hard negatives are made by swapping one word for its counterpart
(colour, count, spatial or gender word); captions without such a word get none.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ashbench.ashnet.data.registry import DATASETS
from ashbench.ashnet.data.split import VLSplit
from ashbench.ashnet.data.tokenizer import words
from ashbench.errors import DataError

SPLIT_ALIASES = {"train": ("train", "restval"), "val": ("val",), "test": ("test",)}
_COLOURS = ["red", "green", "blue", "yellow", "black", "white", "brown", "orange", "pink", "purple"]
SWAPS = {"left": "right", "right": "left", "above": "below", "below": "above", "top": "bottom",
         "bottom": "top", "man": "woman", "woman": "man", "men": "women", "women": "men", "boy": "girl",
         "girl": "boy", "one": "two", "two": "three", "three": "two", "small": "large", "large": "small",
         "big": "small", "little": "big", "young": "old", "old": "young", "sitting": "standing",
         "standing": "sitting", **{c: _COLOURS[(i + 1) % len(_COLOURS)] for i, c in enumerate(_COLOURS)}}


def read_entries(json_path: str | Path) -> list[dict]:
    """The validated ``images`` list of a Karpathy JSON file (DataError when malformed)."""
    path = Path(json_path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"Karpathy JSON not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"malformed Karpathy JSON {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise DataError(f"malformed Karpathy JSON {path}: expected an object with an 'images' list")
    for i, entry in enumerate(data["images"]):
        _check_entry(path, i, entry)
    return data["images"]


def _check_entry(path: Path, i: int, entry) -> None:
    where = f"malformed Karpathy JSON {path}: images[{i}]"
    if not isinstance(entry, dict):
        raise DataError(f"{where} is not an object")
    for key, kind in (("filename", str), ("split", str), ("sentences", list)):
        if not isinstance(entry.get(key), kind):
            raise DataError(f"{where} lacks {key!r} ({kind.__name__})")
    for j, sentence in enumerate(entry["sentences"]):
        if not isinstance(sentence, dict) or not isinstance(sentence.get("raw"), str):
            raise DataError(f"{where}.sentences[{j}] lacks 'raw' (str)")


def load_karpathy(json_path: str | Path, image_root: str | Path, split: str, *, image_size: int = 64,
                  negatives: int = 3) -> VLSplit:
    """Images of ``split`` resized to ``image_size`` square into uint8 [N, 3, H, W], with captions."""
    if split not in SPLIT_ALIASES:
        raise DataError(f"unknown split {split!r}; valid splits: {', '.join(SPLIT_ALIASES)}")
    entries = [e for e in read_entries(json_path) if e["split"] in SPLIT_ALIASES[split]]
    if not entries:
        raise DataError(f"Karpathy JSON {json_path} has no images in split {split!r}")
    images = torch.stack([_read_image(Path(image_root), e, image_size) for e in entries])
    captions = [[s["raw"].strip() for s in e["sentences"]] for e in entries]
    negs = [[swap_negatives(c, negatives) for c in caps] for caps in captions]
    return VLSplit(images=images, captions=captions, negatives=negs, name=split)


def _read_image(root: Path, entry: dict, image_size: int) -> torch.Tensor:
    path = root / entry.get("filepath", "") / entry["filename"]
    try:
        with Image.open(path) as img:
            rgb = img.convert("RGB").resize((image_size, image_size), Image.BILINEAR)
    except FileNotFoundError:
        raise DataError(f"missing image {path}") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"unreadable image {path}: {exc}") from None
    return torch.from_numpy(np.asarray(rgb, dtype=np.uint8).copy()).permute(2, 0, 1)


def swap_negatives(caption: str, limit: int) -> list[str]:
    """Up to ``limit`` variants of ``caption`` with one swappable word replaced (first ones first)."""
    tokens = words(caption)
    out = []
    for i, w in enumerate(tokens):
        if w in SWAPS and len(out) < limit:
            out.append(" ".join([*tokens[:i], SWAPS[w], *tokens[i + 1:]]))
    return out


@DATASETS.register("karpathy")
class KarpathyDataset:
    """A Karpathy-split caption JSON (``data.karpathy_json``) with its images under ``data.image_root``."""

    def load(self, d, split: str) -> VLSplit:
        return load_karpathy(d.karpathy_json, d.image_root, split, image_size=d.image_size)

    def example(self, d, n: int) -> VLSplit:
        return self.load(d, "test").head(n)

    def has_split(self, d, split: str) -> bool:
        return True  # a split absent from the JSON is reported by load() as a DataError
