"""``scenes``: a procedural compositional image-caption set with scene graphs, counts, relations and a
compositional split, rendered deterministically from (seed, split, index) with the ``shapes`` renderer.

Scenes. An image (default 64x64 RGB) shows n objects (n uniform in 1..``max_objects``, default 5, at most 5)
in g *groups* (g = 1 when n = 1 or, for a share ``SINGLE_GROUP`` of the rest, else uniform in 2..n; counts:
a uniform composition of n into g parts); a group is ``count`` identical objects (same size, colour and
shape; shapes, colours and sizes as in :mod:`ashbench.ashnet.data.shapes`). Within an image no two groups
share (colour, shape). Objects do not overlap: every object lies in its bounding box (half side = its
radius; all six shapes fit in it) and any two boxes are at least ``GAP`` (2 px at 64x64) apart along x or y.
A scene whose objects cannot be placed (tried ``PLACE_TRIES`` times per object) is redrawn (up to
``SCENE_TRIES`` times, then a fixed fallback scene). The scene graph is the list of objects (colour, shape,
size, centre x, y in [0, 1]). (The draws are as stated; redrawing makes crowded scenes rarer: on the default
test split 29% of images have 1 object, 9% have 5, and 42% have a single group.)

Relations. ``a left of b`` holds when ``b.x - a.x >= REL_MARGIN`` (0.08 of the side), ``right of`` when
``a.x - b.x >= REL_MARGIN``, ``above`` / ``below`` likewise on y (y grows downwards). Between groups a
relation is stated only when it holds for EVERY pair (a in the first group, b in the second), so a
stated relation, its flip and its argument swap are never true together.

Captions. A phrase is ``<count> [<size>] <colour> <shape>[s]`` ("a red circle", "two large blue
squares"). Its meaning: the image has EXACTLY ``count`` objects of that colour and shape (and size, when
stated); captions need not name every object. Caption kinds cycle per image over ``CAPTION_KINDS``:
"counts" (every group, no sizes), "attributes" (every group with sizes), "pair" (only the two related
groups, with sizes). Every caption naming two or more groups states a relation between two of them,
first: "two red circles are left of a blue square ; a green star". (Single-group scenes have no
relation; their captions are "counts"/"attributes" only.) A caption is true of an image when every
phrase's count is exact there and its relation holds for every pair (:func:`spec_true`; vectorised:
:func:`judge_matrix`). With ``model.max_text_len`` 24 the longest captions (5 groups with sizes, 27 tokens)
are truncated: use 32 for this set.

Hard negatives. Each caption's negatives are drawn by kind quotas: the negative in global slot ``s``
(``s = (image * K + caption) * H + t`` over the split) has the kind ``RELATIONAL_QUOTA[s % 8]`` for a
caption with a relation (relation_flip 1/4, argument_swap 1/4, count, colour, shape, size 1/8 each) and
``PLAIN_QUOTA[s % 4]`` otherwise (count, colour, shape, size: 1/4 each); when no candidate of that kind
exists the next kind of the cycle is used (the label always tells the actual kind). A candidate changes
one thing: a colour / shape / size (one phrase; a size is added to a size-less phrase), a count (one
phrase, to another of 1..5), the relation flipped (left of <-> right of, above <-> below), or the two
related phrases swapped. It is kept only when it is FALSE of the image by the scene graph, differs from
the caption's other negatives, and names distinct (colour, shape) pairs.

Held-out combinations (a function of the data seed only, :func:`held_out`): ``HELD_COLOUR_SHAPES`` (4)
colour x shape pairs with distinct colours and distinct shapes, and ``HELD_RELATIONS`` (4) facts
(shape_a, left of | above, shape_b), shape_a != shape_b, each with its mirror phrasing
(shape_b, right of | below, shape_a), no fact together with its reverse. In ``train``, ``val`` and ``test``
no image contains an object of a held-out colour x shape, no image has two objects whose centres realise a
held-out fact at all (margin 0), and no caption or hard negative uses one. The ``compositional`` split
(``SPLIT_IDS`` 3; as many images as ``test``) holds images whose every caption uses one: even indices
contain a group of a held-out colour x shape (named by every caption), odd indices two groups realising a
held-out fact (stated as the relation of every caption).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ashbench.ashnet.data.registry import DATASETS
from ashbench.ashnet.data.shapes import COLOURS, FLIP, SHAPES, SIZES, ShapeObject, render
from ashbench.ashnet.data.split import VLSplit
from ashbench.errors import ConfigError
from ashbench.files import write_atomic

COLOUR_NAMES, SIZE_NAMES = tuple(COLOURS), tuple(SIZES)
RELATIONS = ("left of", "right of", "above", "below")
COUNT_WORDS = ("no", "a", "two", "three", "four", "five")
SPLIT_IDS = {"train": 0, "val": 1, "test": 2, "compositional": 3}
MAX_OBJECTS = 5  # objects per image at most (count words go to five)
DEFAULT_MAX_OBJECTS = 5
REL_MARGIN = 0.08  # a relation needs centres this far apart (fraction of the side) on its axis
GAP = 2 / 64  # the least distance between two objects' bounding boxes
EDGE = 0.01  # the least distance between a bounding box and the image border
PLACE_TRIES, SCENE_TRIES = 60, 200
HELD_COLOUR_SHAPES, HELD_RELATIONS = 4, 4
SINGLE_GROUP = 0.15  # of scenes of 2+ objects, the share drawn as one group ("three red circles")
CAPTION_KINDS = ("counts", "attributes", "pair")
NEGATIVE_KINDS = ("colour", "shape", "size", "count", "relation_flip", "argument_swap")
RELATIONAL_QUOTA = ("relation_flip", "colour", "count", "argument_swap",
                    "relation_flip", "shape", "size", "argument_swap")
PLAIN_QUOTA = ("count", "colour", "shape", "size")
SPEC_WIDTH = 4 * MAX_OBJECTS + 3  # per group (count, size id | -1, colour id, shape id); (i, relation id, j)
FORMAT_VERSION = 1


@dataclass(frozen=True)
class HeldOut:
    colour_shapes: frozenset  # {(colour, shape)}
    relations: frozenset  # {(shape_a, relation, shape_b)}, both phrasings of each fact


def held_out(seed: int, n_colour_shapes: int = HELD_COLOUR_SHAPES, n_relations: int = HELD_RELATIONS) -> HeldOut:
    """The held-out combinations of data seed ``seed`` (see the module doc)."""
    if not 1 <= n_colour_shapes <= len(SHAPES) - 1:
        raise ConfigError(f"scenes: held-out colour x shape pairs must be 1..{len(SHAPES) - 1}, got {n_colour_shapes}")
    if not 1 <= n_relations <= 30:
        raise ConfigError(f"scenes: held-out relation facts must be 1..30, got {n_relations}")
    rng = np.random.default_rng([seed, 9001])
    cols, shps = rng.permutation(len(COLOUR_NAMES)), rng.permutation(len(SHAPES))
    pairs = frozenset((COLOUR_NAMES[cols[i]], SHAPES[shps[i]]) for i in range(n_colour_shapes))
    facts = [(a, rel, b) for a in SHAPES for b in SHAPES if a != b for rel in ("left of", "above")]
    chosen: list = []
    for k in rng.permutation(len(facts)):
        a, rel, b = facts[k]
        if (b, rel, a) not in chosen and len(chosen) < n_relations:
            chosen.append((a, rel, b))
    rels = frozenset([*chosen, *[(b, FLIP[rel], a) for a, rel, b in chosen]])
    return HeldOut(pairs, rels)


def holds(a: ShapeObject, b: ShapeObject, rel: str, margin: float = REL_MARGIN) -> bool:
    """Whether ``a <rel> b`` holds for the two objects' centres with ``margin``."""
    d = {"left of": b.x - a.x, "right of": a.x - b.x, "above": b.y - a.y, "below": a.y - b.y}[rel]
    return d >= margin if margin > 0 else d > 0


def scene_uses(objects: list[ShapeObject], held: HeldOut) -> bool:
    """Whether the image shows a held-out colour x shape or realises a held-out fact (margin 0)."""
    if any((o.colour, o.shape) in held.colour_shapes for o in objects):
        return True
    return any((a.shape, rel, b.shape) in held.relations and holds(a, b, rel, 0.0)
               for a in objects for b in objects if a is not b for rel in RELATIONS)


def spec_uses(spec: dict, held: HeldOut) -> bool:
    """Whether a caption spec names a held-out colour x shape or states a held-out fact."""
    groups = spec["groups"]
    if any((g[2], g[3]) in held.colour_shapes for g in groups):
        return True
    if spec["rel"] is None:
        return False
    i, rel, j = spec["rel"]
    return (groups[i][3], rel, groups[j][3]) in held.relations


def _matches(objects, phrase) -> list[ShapeObject]:
    _count, size, colour, shape = phrase
    return [o for o in objects if o.colour == colour and o.shape == shape and (size is None or o.size == size)]


def spec_true(spec: dict, objects: list[ShapeObject]) -> bool:
    """The scene-graph truth of a caption spec: every phrase's count exact, the relation true of every pair."""
    sets = []
    for phrase in spec["groups"]:
        found = _matches(objects, phrase)
        if len(found) != phrase[0]:
            return False
        sets.append(found)
    if spec["rel"] is None:
        return True
    i, rel, j = spec["rel"]
    return all(holds(a, b, rel) for a in sets[i] for b in sets[j])


# --- scenes --------------------------------------------------------------------------------

def make_scene(rng: np.random.Generator, max_objects: int, held: HeldOut, mode: str = "iid"):
    """(objects, groups, usable relations) of one image. ``mode``: "iid" (no held-out combination),
    "colour_shape" (group 0 has a held-out colour x shape; relations must involve it) or "relation"
    (groups 0 and 1 realise a held-out fact, the only usable relation)."""
    for _ in range(SCENE_TRIES):
        groups = _draw_groups(rng, max_objects, held, mode)
        placed = _place_all(rng, groups)
        if placed is None:
            continue
        objects, owner = placed
        if mode == "iid" and scene_uses(objects, held):
            continue
        usable = _usable(objects, owner, groups, held, mode)
        if len(groups) == 1 or usable:
            return objects, groups, usable
    return _fallback(held, mode)


def _draw_groups(rng, max_objects: int, held: HeldOut, mode: str) -> list[tuple]:
    low = 2 if mode == "relation" else 1
    n = int(rng.integers(low, max_objects + 1))
    g = 1 if n == 1 or (low == 1 and rng.random() < SINGLE_GROUP) else int(rng.integers(2, n + 1))
    cuts = sorted(int(c) + 1 for c in rng.choice(n - 1, g - 1, replace=False)) if g > 1 else []
    counts = np.diff([0, *cuts, n]).tolist()
    allowed = [(c, s) for s in SHAPES for c in COLOUR_NAMES if (c, s) not in held.colour_shapes]
    kinds: list = []
    if mode == "colour_shape":
        options = sorted(held.colour_shapes)
        kinds.append(options[int(rng.integers(len(options)))])
    elif mode == "relation":
        facts = sorted(held.relations)
        a, _rel, b = facts[int(rng.integers(len(facts)))]
        for shape in (a, b):
            colours = [c for c, s in allowed if s == shape and (c, s) not in kinds]
            kinds.append((colours[int(rng.integers(len(colours)))], shape))
    rest = [allowed[k] for k in rng.permutation(len(allowed)) if allowed[k] not in kinds]
    kinds += rest[: g - len(kinds)]
    sizes = rng.integers(2, size=g)
    return [(int(counts[k]), SIZE_NAMES[int(sizes[k])], *kinds[k]) for k in range(g)]


def _place_all(rng, groups):
    objects, owner = [], []
    for gi, (count, size, colour, shape) in enumerate(groups):
        r = SIZES[size]
        for _ in range(count):
            for _try in range(PLACE_TRIES):
                x, y = rng.uniform(r + EDGE, 1 - r - EDGE, size=2)
                if all(max(abs(x - o.x), abs(y - o.y)) >= r + SIZES[o.size] + GAP for o in objects):
                    break
            else:
                return None
            objects.append(ShapeObject(shape, colour, size, float(x), float(y)))
            owner.append(gi)
    return objects, owner


def _usable(objects, owner, groups, held: HeldOut, mode: str) -> list[tuple[int, str, int]]:
    members = [[o for o, g in zip(objects, owner) if g == k] for k in range(len(groups))]
    out = []
    for i in range(len(groups)):
        for j in range(len(groups)):
            if i == j:
                continue
            for rel in RELATIONS:
                if not all(holds(a, b, rel) for a in members[i] for b in members[j]):
                    continue
                fact_held = (groups[i][3], rel, groups[j][3]) in held.relations
                if mode == "iid" or (mode == "colour_shape" and 0 in (i, j) and not fact_held) \
                        or (mode == "relation" and {i, j} == {0, 1} and fact_held):
                    out.append((i, rel, j))
    return out


def _fallback(held: HeldOut, mode: str):
    """A fixed scene for when drawing failed SCENE_TRIES times (practically never)."""
    allowed = [(c, s) for s in SHAPES for c in COLOURS if (c, s) not in held.colour_shapes]
    if mode == "relation":
        a, rel, b = sorted(held.relations)[0]
        ka = next(k for k in allowed if k[1] == a)
        kb = next(k for k in allowed if k[1] == b)
        pos = {"left of": ((0.25, 0.5), (0.75, 0.5)), "right of": ((0.75, 0.5), (0.25, 0.5)),
               "above": ((0.5, 0.25), (0.5, 0.75)), "below": ((0.5, 0.75), (0.5, 0.25))}[rel]
        groups = [(1, "small", *ka), (1, "small", *kb)]
        objects = [ShapeObject(k[1], k[0], "small", *p) for k, p in zip((ka, kb), pos)]
        return objects, groups, [(0, rel, 1)]
    kind = sorted(held.colour_shapes)[0] if mode == "colour_shape" else allowed[0]
    return [ShapeObject(kind[1], kind[0], "small", 0.5, 0.5)], [(1, "small", *kind)], []


# --- captions and hard negatives -----------------------------------------------------------

def plural(shape: str) -> str:
    return shape + ("es" if shape.endswith("s") else "s")


def phrase_text(phrase) -> str:
    count, size, colour, shape = phrase
    return " ".join([COUNT_WORDS[count], *([size] if size else []), colour, shape if count == 1 else plural(shape)])


def _join(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]


def spec_text(spec: dict) -> str:
    phrases = [phrase_text(p) for p in spec["groups"]]
    if spec["rel"] is None:
        return _join(phrases)
    i, rel, j = spec["rel"]
    head = f"{phrases[i]} {'is' if spec['groups'][i][0] == 1 else 'are'} {rel} {phrases[j]}"
    rest = [p for k, p in enumerate(phrases) if k not in (i, j)]
    return f"{head} ; {_join(rest)}" if rest else head


def caption_specs(groups, usable, rng, k: int) -> list[dict]:
    kinds = CAPTION_KINDS if len(groups) > 1 else CAPTION_KINDS[:2]
    out = []
    for c in range(k):
        kind = kinds[c % len(kinds)]
        rel = usable[int(rng.integers(len(usable)))] if len(groups) > 1 else None
        listed = [rel[0], rel[2]] if kind == "pair" else [int(g) for g in rng.permutation(len(groups))]
        phrases = [[groups[g][0], None if kind == "counts" else groups[g][1], groups[g][2], groups[g][3]]
                   for g in listed]
        spec_rel = None if rel is None else [listed.index(rel[0]), rel[1], listed.index(rel[2])]
        out.append({"groups": phrases, "rel": spec_rel})
    return out


def _candidates(spec: dict, kind: str) -> list[dict]:
    groups, out = spec["groups"], []
    if kind in ("relation_flip", "argument_swap"):
        if spec["rel"] is not None:
            i, rel, j = spec["rel"]
            out.append({"groups": groups, "rel": [i, FLIP[rel], j] if kind == "relation_flip" else [j, rel, i]})
        return out
    field = {"count": 0, "size": 1, "colour": 2, "shape": 3}[kind]
    values = {"count": range(1, MAX_OBJECTS + 1), "size": SIZE_NAMES, "colour": COLOUR_NAMES, "shape": SHAPES}[kind]
    for g, phrase in enumerate(groups):
        for v in values:
            if v != phrase[field]:
                new = [list(p) for p in groups]
                new[g][field] = v
                if len({(p[2], p[3]) for p in new}) == len(new):
                    out.append({"groups": new, "rel": spec["rel"]})
    return out


def labelled_negatives(spec: dict, objects, rng, h: int, slot0: int, held: HeldOut | None) -> list[tuple[dict, str]]:
    """Up to ``h`` false variants of ``spec`` drawn by the kind quotas (module doc), with their kinds.
    ``held``: when given, candidates that use a held-out combination are refused (train/val/test)."""
    quota = RELATIONAL_QUOTA if spec["rel"] is not None else PLAIN_QUOTA
    seen, out = {spec_text(spec)}, []
    for t in range(h):
        for shift in range(len(quota)):
            kind = quota[(slot0 + t + shift) % len(quota)]
            cands = _candidates(spec, kind)
            pick = None
            for c in rng.permutation(len(cands)) if cands else []:
                cand = cands[c]
                text = spec_text(cand)
                if text in seen or spec_true(cand, objects) or (held is not None and spec_uses(cand, held)):
                    continue
                pick = (cand, kind, text)
                break
            if pick is not None:
                seen.add(pick[2])
                out.append(pick[:2])
                break
    return out


def encode_spec(spec: dict) -> list[int]:
    """A spec as SPEC_WIDTH ints (module constants): groups, then (i, relation id, j) or -1s."""
    row = [0] * SPEC_WIDTH
    for g, (count, size, colour, shape) in enumerate(spec["groups"]):
        row[4 * g: 4 * g + 4] = [count, -1 if size is None else SIZE_NAMES.index(size),
                                 COLOUR_NAMES.index(colour), SHAPES.index(shape)]
    rel = spec["rel"]
    row[-3:] = [-1, -1, -1] if rel is None else [rel[0], RELATIONS.index(rel[1]), rel[2]]
    return row


def encode_scene(objects: list[ShapeObject]) -> list[list[float]]:
    rows = [[COLOUR_NAMES.index(o.colour), SHAPES.index(o.shape), SIZE_NAMES.index(o.size), o.x, o.y] for o in objects]
    return rows + [[-1.0, -1.0, -1.0, 0.0, 0.0]] * (MAX_OBJECTS - len(rows))


def vocabulary() -> list[str]:
    """Every word the templates can produce."""
    words = {"is", "are", "and", ",", ";", *SHAPES, *map(plural, SHAPES), *COLOURS, *SIZES, *COUNT_WORDS[1:]}
    return sorted(words | {w for r in RELATIONS for w in r.split()})


# --- vectorised truth ----------------------------------------------------------------------

def judge(scene: torch.Tensor, specs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Row by row: (truth, presence) of specs [P, SPEC_WIDTH] on scenes [P, M, 5]. truth: as
    :func:`spec_true`. presence: every phrase's (colour, shape, size if stated) occurs at least once (the
    bag-of-objects view: no counts beyond presence, no positions). A padding row (count 0) is False."""
    colour, shape, size, x, y = scene.double().unbind(-1)
    valid = colour >= 0
    truth = specs[:, 0] > 0
    present = truth.clone()
    masks = []
    for g in range(MAX_OBJECTS):
        cnt, sz, col, shp = specs[:, 4 * g: 4 * g + 4].unbind(1)
        m = valid & (colour == col[:, None]) & (shape == shp[:, None]) & ((sz[:, None] < 0) | (size == sz[:, None]))
        n, used = m.sum(1), cnt > 0
        truth &= ~used | (n == cnt)
        present &= ~used | (n > 0)
        masks.append(m)
    i, r, j = specs[:, -3:].unbind(1)
    rows = torch.arange(specs.shape[0])
    stack = torch.stack(masks, 1)
    mi, mj = stack[rows, i.clamp(min=0)], stack[rows, j.clamp(min=0)]
    ok = _relation_table(x, y)[rows, r.clamp(min=0)]
    rel_ok = (ok | ~(mi[:, :, None] & mj[:, None, :])).all(2).all(1)
    truth &= (i < 0) | rel_ok
    return truth, present


def _relation_table(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """bool [P, 4, M, M]: whether object a <relation> object b (RELATIONS order) on each row's scene."""
    dx = x[:, None, :] - x[:, :, None]  # [P, a, b]: x_b - x_a
    dy = y[:, None, :] - y[:, :, None]
    return torch.stack([dx >= REL_MARGIN, -dx >= REL_MARGIN, dy >= REL_MARGIN, -dy >= REL_MARGIN], 1)


def _key_masks(scene: torch.Tensor) -> torch.Tensor:
    """bool [N, 3 * C * S, M]: objects matching each phrase key (size id or 2 = any, colour, shape)."""
    colour, shape, size = scene[..., 0].long(), scene[..., 1].long(), scene[..., 2].long()
    valid = colour >= 0
    n_c, n_s = len(COLOUR_NAMES), len(SHAPES)
    keys = torch.zeros(scene.shape[0], 3 * n_c * n_s, scene.shape[1], dtype=torch.bool)
    base = colour.clamp(min=0) * n_s + shape.clamp(min=0)
    for sz in (None, 0, 1):
        ok = valid if sz is None else valid & (size == sz)
        rows, objs = ok.nonzero(as_tuple=True)
        keys[rows, (2 if sz is None else sz) * n_c * n_s + base[rows, objs], objs] = True
    return keys


def _spec_keys(specs: torch.Tensor, g: int) -> tuple[torch.Tensor, torch.Tensor]:
    cnt, sz, col, shp = specs[:, 4 * g: 4 * g + 4].unbind(1)
    return cnt, (torch.where(sz < 0, 2, sz) * len(COLOUR_NAMES) + col.clamp(min=0)) * len(SHAPES) + shp.clamp(min=0)


def judge_matrix(scene: torch.Tensor, specs: torch.Tensor, chunk: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """(truth, presence) bool [N_images, N_specs] of every spec [T, SPEC_WIDTH] on every scene [N, M, 5]
    (as :func:`judge` row by row; computed from per-image counts of every phrase key, and the relation
    once per distinct (key, relation, key))."""
    scene = scene.double()
    keys = _key_masks(scene)  # [N, K, M]
    counts = keys.sum(2)  # [N, K]
    truth = (specs[:, 0] > 0)[None, :].expand(scene.shape[0], -1).clone()
    present = truth.clone()
    key_of = []
    for g in range(MAX_OBJECTS):
        cnt, key = _spec_keys(specs, g)
        n, used = counts[:, key], cnt > 0  # [N, T]
        truth &= ~used | (n == cnt)
        present &= ~used | (n > 0)
        key_of.append(key)
    i, r, j = specs[:, -3:].unbind(1)
    has = (i >= 0).nonzero(as_tuple=True)[0]
    if has.numel():
        key_of = torch.stack(key_of, 1)[has]  # [R, G]
        rows = torch.arange(has.numel())
        triples = torch.stack([key_of[rows, i[has]], r[has], key_of[rows, j[has]]], 1)
        uniq, inverse = torch.unique(triples, dim=0, return_inverse=True)
        table = _relation_table(scene[..., 3], scene[..., 4])  # [N, 4, M, M]
        ok = torch.zeros(scene.shape[0], uniq.shape[0], dtype=torch.bool)
        for s in range(0, uniq.shape[0], chunk):
            u = uniq[s:s + chunk]
            mi, mj = keys[:, u[:, 0]], keys[:, u[:, 2]]  # [N, U, M]
            rel = table[:, u[:, 1]]  # [N, U, M, M]
            ok[:, s:s + u.shape[0]] = (rel | ~(mi[..., :, None] & mj[..., None, :])).flatten(2).all(2)
        truth[:, has] &= ok[:, inverse]
    return truth, present


# --- samples and splits --------------------------------------------------------------------

def make_sample(seed: int, split: str, index: int, held: HeldOut, *, image_size: int = 64,
                max_objects: int = DEFAULT_MAX_OBJECTS, captions: int = 3, negatives: int = 3) -> dict:
    """One image: {image uint8 [H, W, 3], objects, captions, specs, negatives, negative_specs, kinds}."""
    rng = np.random.default_rng([seed, 100 + SPLIT_IDS[split], index])
    mode = ("colour_shape", "relation")[index % 2] if split == "compositional" else "iid"
    objects, groups, usable = make_scene(rng, max_objects, held, mode)
    image = render(objects, image_size, background=int(rng.integers(0, 48)))
    specs = caption_specs(groups, usable, rng, captions)
    restrict = None if split == "compositional" else held
    labelled = [labelled_negatives(s, objects, rng, negatives, (index * captions + c) * negatives, restrict)
                for c, s in enumerate(specs)]
    return {"image": image, "objects": objects, "captions": [spec_text(s) for s in specs], "specs": specs,
            "negatives": [[spec_text(n) for n, _ in per] for per in labelled],
            "negative_specs": [[n for n, _ in per] for per in labelled],
            "kinds": [[k for _, k in per] for per in labelled]}


def check_request(max_objects: int) -> None:
    if not 2 <= max_objects <= MAX_OBJECTS:
        raise ConfigError(f"scenes: max_objects must be 2..{MAX_OBJECTS} (relations need 2 objects), got {max_objects}")


def build_split(seed: int, split: str, n: int, *, image_size: int = 64, max_objects: int = DEFAULT_MAX_OBJECTS,
                captions: int = 3, negatives: int = 3, held_colour_shapes: int = HELD_COLOUR_SHAPES,
                held_relations: int = HELD_RELATIONS, cache_dir: str | os.PathLike = "") -> VLSplit:
    """Images ``0..n-1`` of ``split`` with scene graphs, encoded specs and labelled negatives (cached if asked)."""
    check_request(max_objects)
    if split not in SPLIT_IDS:
        raise ConfigError(f"scenes: unknown split {split!r}; valid: {', '.join(SPLIT_IDS)}")
    held = held_out(seed, held_colour_shapes, held_relations)
    key = dict(v=FORMAT_VERSION, seed=seed, split=split, n=n, size=image_size, obj=max_objects, k=captions,
               h=negatives, hcs=held_colour_shapes, hrel=held_relations)
    path = None
    if cache_dir:
        digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
        path = Path(cache_dir) / f"scenes-{split}-{digest}.pt"
        if path.exists():
            try:
                return VLSplit(**torch.load(path, weights_only=True))
            except Exception:  # a truncated or foreign cache file is rebuilt, never trusted
                pass
    samples = [make_sample(seed, split, i, held, image_size=image_size, max_objects=max_objects,
                           captions=captions, negatives=negatives) for i in range(n)]
    images = torch.from_numpy(np.stack([s["image"] for s in samples])).permute(0, 3, 1, 2).contiguous()
    neg_specs = torch.zeros(n, captions, negatives, SPEC_WIDTH, dtype=torch.long)
    for i, s in enumerate(samples):
        for c, per in enumerate(s["negative_specs"]):
            for t, spec in enumerate(per):
                neg_specs[i, c, t] = torch.tensor(encode_spec(spec))
    result = VLSplit(
        images=images, captions=[s["captions"] for s in samples], negatives=[s["negatives"] for s in samples],
        name=split, negative_kinds=[s["kinds"] for s in samples],
        scene=torch.tensor([encode_scene(s["objects"]) for s in samples], dtype=torch.float64).view(n, MAX_OBJECTS, 5),
        caption_specs=torch.tensor([[encode_spec(sp) for sp in s["specs"]] for s in samples],
                                   dtype=torch.long).view(n, captions, SPEC_WIDTH),
        negative_specs=neg_specs)
    if path is not None:
        payload = {f: getattr(result, f) for f in ("images", "captions", "negatives", "name", "negative_kinds",
                                                    "scene", "caption_specs", "negative_specs")}
        write_atomic(path, lambda handle: torch.save(payload, handle), make_parents=True)
    return result


def _size(d, split: str) -> int:
    if split == "compositional":
        return d.n_compositional or d.n_test
    return {"train": d.n_train, "val": d.n_val, "test": d.n_test}.get(split, 0)


@DATASETS.register("scenes")
class ScenesDataset:
    """The procedural ``scenes`` set; sizes ``data.n_train`` / ``n_val`` / ``n_test`` (``compositional``:
    ``data.n_compositional``, 0 meaning ``n_test``); ``data.max_objects`` objects at most (2..5; the
    ``scenes-*`` presets set 5); ``data.held_colour_shapes`` and ``data.held_relations`` held out."""

    extra_splits = ("compositional",)

    def load(self, d, split: str) -> VLSplit:
        return build_split(d.seed, split, _size(d, split), image_size=d.image_size, max_objects=d.max_objects,
                           captions=d.captions_per_image, negatives=d.negatives_per_caption,
                           held_colour_shapes=d.held_colour_shapes, held_relations=d.held_relations,
                           cache_dir=d.cache_dir)

    def example(self, d, n: int) -> VLSplit:
        return build_split(d.seed, "test", n, image_size=d.image_size, max_objects=d.max_objects,
                           captions=1, negatives=0, held_colour_shapes=d.held_colour_shapes,
                           held_relations=d.held_relations)

    def has_split(self, d, split: str) -> bool:
        return _size(d, split) > 0
