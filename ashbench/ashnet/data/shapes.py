"""``shapes``: a procedural image-caption data set rendered deterministically from (seed, split, index).

Each image (default 64x64 RGB) shows 1-3 objects; an object is a shape (6) x colour (6) x size (2)
at a position. Within one image no two objects share (shape, colour), so every object phrase names
exactly one object. Captions are templated from the scene: a list of the objects, a spatial relation
between two of them ("left of", "right of", "above", "below": the dominant axis between their centres),
the 3x3 region of each object, or a count. Each caption has hard negatives: the same caption with ONE
change (a colour, shape or size of one object, the relation flipped, or one region moved) that makes
it false for the image. Each hard negative is labelled with the kind of its change (``NEGATIVE_KINDS``:
"colour", "shape", "size", "relation_flip", "region"); the labels are derived alongside the candidates,
so no string or random draw differs from before they existed (``VLSplit.negative_kinds``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from ashbench.ashnet.data.registry import DATASETS
from ashbench.ashnet.data.split import VLSplit
from ashbench.files import write_atomic

SHAPES = ("circle", "square", "triangle", "diamond", "cross", "star")
COLOURS = {"red": (230, 40, 40), "green": (40, 200, 60), "blue": (60, 100, 255),
           "yellow": (235, 220, 40), "purple": (170, 60, 230), "cyan": (40, 225, 230)}
SIZES = {"small": 0.09, "large": 0.16}  # radius as a fraction of the image side
SPLIT_IDS = {"train": 0, "val": 1, "test": 2}
ROWS, COLS = ("top", "middle", "bottom"), ("left", "center", "right")
FLIP = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
COUNT_WORDS = ("zero", "one", "two", "three", "four", "five")
FORMAT_VERSION = 2  # 2: caches also hold negative_kinds (strings and images as in 1)
NEGATIVE_KINDS = ("colour", "shape", "size", "relation_flip", "region")


@dataclass(frozen=True)
class ShapeObject:
    shape: str
    colour: str
    size: str
    x: float  # centre, fraction of width (0 = left)
    y: float  # centre, fraction of height (0 = top)

    @property
    def words(self) -> tuple[str, str, str]:
        return (self.size, self.colour, self.shape)


def make_scene(rng: np.random.Generator, max_objects: int) -> list[ShapeObject]:
    """1..max_objects objects with distinct (shape, colour), placed without overlap."""
    n = int(rng.integers(1, max_objects + 1))
    kinds = rng.permutation(len(SHAPES) * len(COLOURS))[:n]
    objects: list[ShapeObject] = []
    for kind in kinds:
        size = ("small", "large")[int(rng.integers(2))]
        shape, colour = SHAPES[kind // len(COLOURS)], list(COLOURS)[kind % len(COLOURS)]
        objects.append(_place(rng, shape, colour, size, objects))
    return objects


def _place(rng, shape, colour, size, others) -> ShapeObject:
    r = SIZES[size]
    for _ in range(200):
        x, y = rng.uniform(r + 0.02, 1 - r - 0.02, size=2)
        if all(np.hypot(x - o.x, y - o.y) > r + SIZES[o.size] + 0.06 for o in others):
            break
    return ShapeObject(shape, colour, size, float(x), float(y))


def relation(a: ShapeObject, b: ShapeObject) -> str:
    """Where ``a`` is relative to ``b`` along the axis on which their centres differ most."""
    dx, dy = a.x - b.x, a.y - b.y
    if abs(dx) >= abs(dy):
        return "left of" if dx < 0 else "right of"
    return "above" if dy < 0 else "below"


def region(o: ShapeObject) -> str:
    row, col = ROWS[min(int(o.y * 3), 2)], COLS[min(int(o.x * 3), 2)]
    if row == "middle":
        return "center" if col == "center" else col
    return row if col == "center" else f"{row} {col}"


ALL_REGIONS = tuple(sorted({region(ShapeObject("", "", "", (c + 0.5) / 3, (r + 0.5) / 3))
                            for r in range(3) for c in range(3)}))


# --- rendering -----------------------------------------------------------------------------

def render(objects: list[ShapeObject], size_px: int, background: int = 0) -> np.ndarray:
    """uint8 [H, W, 3] image of ``objects`` on a grey ``background`` level."""
    img = Image.new("RGB", (size_px, size_px), (background,) * 3)
    draw = ImageDraw.Draw(img)
    for o in objects:
        _draw(draw, o, size_px)
    return np.asarray(img, dtype=np.uint8)


def _draw(draw: ImageDraw.ImageDraw, o: ShapeObject, px: int) -> None:
    cx, cy, r, fill = o.x * px, o.y * px, SIZES[o.size] * px, COLOURS[o.colour]
    if o.shape == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif o.shape == "square":
        s = r * 0.85
        draw.rectangle((cx - s, cy - s, cx + s, cy + s), fill=fill)
    elif o.shape == "cross":
        t = r * 0.35
        draw.rectangle((cx - r, cy - t, cx + r, cy + t), fill=fill)
        draw.rectangle((cx - t, cy - r, cx + t, cy + r), fill=fill)
    else:
        draw.polygon(_polygon(o.shape, cx, cy, r), fill=fill)


def _polygon(shape: str, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    if shape == "triangle":
        return [(cx, cy - r), (cx - r, cy + r * 0.8), (cx + r, cy + r * 0.8)]
    if shape == "diamond":
        return [(cx, cy - r), (cx + r * 0.75, cy), (cx, cy + r), (cx - r * 0.75, cy)]
    angles = np.pi / 2 + np.arange(10) * np.pi / 5  # star: 5 outer + 5 inner points
    radii = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
    return [(cx + rad * np.cos(a), cy - rad * np.sin(a)) for a, rad in zip(angles, radii)]


# --- captions ------------------------------------------------------------------------------
# A caption "spec" is a dict: kind, objs (list of [size, colour, shape]), rel, regions.

def caption_specs(objects: list[ShapeObject], rng: np.random.Generator, k: int) -> list[dict]:
    kinds = ["list", "relation", "region", "count"] if len(objects) > 1 else ["list", "region", "count"]
    return [_spec(kinds[i % len(kinds)], objects, rng) for i in range(k)]


def _spec(kind: str, objects: list[ShapeObject], rng) -> dict:
    order = [objects[i] for i in rng.permutation(len(objects))]
    spec = {"kind": kind, "objs": [list(o.words) for o in order], "rel": None, "regions": None}
    if kind == "relation":
        spec["rel"] = relation(order[0], order[1])
    if kind == "region":
        spec["regions"] = [region(o) for o in order]
    return spec


def spec_text(spec: dict) -> str:
    phrases = [f"a {' '.join(words)}" for words in spec["objs"]]
    if spec["kind"] == "region":
        phrases = [f"{p} at the {where}" for p, where in zip(phrases, spec["regions"])]
    if spec["kind"] == "relation":
        phrases = [f"{phrases[0]} {spec['rel']} {phrases[1]}", *phrases[2:]]
    text = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    if spec["kind"] == "count":
        n = len(spec["objs"])
        text = f"{COUNT_WORDS[n]} object{'s' if n > 1 else ''} : {text}"
    return text


def hard_negative_specs(spec: dict, objects: list[ShapeObject], rng, h: int) -> list[dict]:
    """Up to ``h`` distinct false variants of ``spec``, each with exactly one change."""
    return [neg for neg, _kind in labelled_hard_negatives(spec, objects, rng, h)]


def labelled_hard_negatives(spec: dict, objects: list[ShapeObject], rng, h: int) -> list[tuple[dict, str]]:
    """``hard_negative_specs`` (the same draws, the same order), each with the kind of its change."""
    present = {o.words for o in objects}
    present_kinds = {(o.shape, o.colour) for o in objects}
    candidates = _attribute_changes(spec, present, present_kinds) + _structure_changes(spec)
    order = rng.permutation(len(candidates)) if candidates else []
    return [(candidates[i], negative_kind(spec, candidates[i])) for i in order[:h]]


def negative_kind(spec: dict, negative: dict) -> str:
    """The kind of the one change that turns ``spec`` into ``negative`` (one of ``NEGATIVE_KINDS``)."""
    if negative["rel"] != spec["rel"]:
        return "relation_flip"
    if negative["regions"] != spec["regions"]:
        return "region"
    for old, new in zip(spec["objs"], negative["objs"]):
        for kind, a, b in zip(("size", "colour", "shape"), old, new):
            if a != b:
                return kind
    raise ValueError("a hard negative identical to its caption")


def _attribute_changes(spec: dict, present: set, present_kinds: set) -> list[dict]:
    out = []
    for i, (size, colour, shape) in enumerate(spec["objs"]):
        options = [(s, colour, shape) for s in SIZES if s != size]
        options += [(size, c, shape) for c in COLOURS if (shape, c) not in present_kinds]
        options += [(size, colour, s) for s in SHAPES if (s, colour) not in present_kinds]
        for words in options:
            if words not in present:
                out.append(_with(spec, objs={i: list(words)}))
    return out


def _structure_changes(spec: dict) -> list[dict]:
    out = []
    if spec["rel"] is not None:
        out.append({**spec, "rel": FLIP[spec["rel"]]})
    for i, where in enumerate(spec["regions"] or []):
        for other in ALL_REGIONS:
            if other != where:
                regions = list(spec["regions"])
                regions[i] = other
                out.append({**spec, "regions": regions})
    return out


def _with(spec: dict, objs: dict[int, list]) -> dict:
    return {**spec, "objs": [objs.get(i, o) for i, o in enumerate(spec["objs"])]}


def vocabulary() -> list[str]:
    """Every word the templates can produce (used only by untrained test models)."""
    words = {"a", "at", "the", "and", ",", ":", "object", "objects", *SHAPES, *COLOURS, *SIZES, *COUNT_WORDS}
    words |= {w for phrase in [*FLIP, *ALL_REGIONS] for w in phrase.split()}
    return sorted(words)


# --- samples and splits --------------------------------------------------------------------

def make_sample(seed: int, split: str, index: int, *, image_size: int = 64, max_objects: int = 3,
                captions: int = 3, negatives: int = 3) -> tuple[np.ndarray, list[str], list[list[str]]]:
    """(image uint8 [H, W, 3], captions, hard negatives per caption) for one index; deterministic."""
    return labelled_sample(seed, split, index, image_size=image_size, max_objects=max_objects,
                           captions=captions, negatives=negatives)[:3]


def labelled_sample(seed: int, split: str, index: int, *, image_size: int = 64, max_objects: int = 3,
                    captions: int = 3, negatives: int = 3):
    """``make_sample`` plus the kind of each hard negative (the same draws: strings are unchanged)."""
    rng = np.random.default_rng([seed, SPLIT_IDS[split], index])
    objects = make_scene(rng, max_objects)
    image = render(objects, image_size, background=int(rng.integers(0, 48)))
    specs = caption_specs(objects, rng, captions)
    labelled = [labelled_hard_negatives(s, objects, rng, negatives) for s in specs]
    negs = [[spec_text(n) for n, _ in per] for per in labelled]
    return image, [spec_text(s) for s in specs], negs, [[k for _, k in per] for per in labelled]


def build_split(seed: int, split: str, n: int, *, image_size: int = 64, max_objects: int = 3,
                captions: int = 3, negatives: int = 3, start: int = 0, cache_dir: str | os.PathLike = "") -> VLSplit:
    """Render images ``start..start+n-1`` of ``split`` into a uint8 [N, 3, H, W] tensor (cached on disk if asked)."""
    key = dict(v=FORMAT_VERSION, seed=seed, split=split, n=n, size=image_size, obj=max_objects,
               k=captions, h=negatives, start=start)
    path = _cache_path(cache_dir, key)
    cached = _read_cache(path)
    if cached is not None:
        return cached
    samples = [labelled_sample(seed, split, start + i, image_size=image_size, max_objects=max_objects,
                               captions=captions, negatives=negatives) for i in range(n)]
    images = torch.from_numpy(np.stack([s[0] for s in samples])).permute(0, 3, 1, 2).contiguous()
    result = VLSplit(images=images, captions=[s[1] for s in samples], negatives=[s[2] for s in samples], name=split,
                     negative_kinds=[s[3] for s in samples])
    if path is not None:
        _save_atomic(path, result)
    return result


def _cache_path(cache_dir, key: dict) -> Path | None:
    if not cache_dir:
        return None
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return Path(cache_dir) / f"shapes-{key['split']}-{digest}.pt"


def _read_cache(path: Path | None) -> VLSplit | None:
    """The cached split, or None when there is none or it is unreadable (then it is rebuilt)."""
    if path is None or not path.exists():
        return None
    try:
        return VLSplit(**torch.load(path, weights_only=True))
    except Exception:  # a truncated or foreign cache file is rebuilt, never trusted
        return None


def _save_atomic(path: Path, split: VLSplit) -> None:
    payload = {"images": split.images, "captions": split.captions, "negatives": split.negatives, "name": split.name,
               "negative_kinds": split.negative_kinds}
    write_atomic(path, lambda handle: torch.save(payload, handle), make_parents=True)


@DATASETS.register("shapes")
class ShapesDataset:
    """The procedural ``shapes`` set; sizes ``data.n_train`` / ``n_val`` / ``n_test``."""

    def load(self, d, split: str) -> VLSplit:
        n = {"train": d.n_train, "val": d.n_val, "test": d.n_test}[split]
        return build_split(d.seed, split, n, image_size=d.image_size, max_objects=d.max_objects,
                           captions=d.captions_per_image, negatives=d.negatives_per_caption, cache_dir=d.cache_dir)

    def example(self, d, n: int) -> VLSplit:
        return build_split(d.seed, "test", n, image_size=d.image_size, max_objects=d.max_objects,
                           captions=1, negatives=0)

    def has_split(self, d, split: str) -> bool:
        return {"train": d.n_train, "val": d.n_val, "test": d.n_test}.get(split, 0) > 0
