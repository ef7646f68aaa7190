"""The ``scenes`` data set (ashbench.ashnet.data.scenes): held-out combinations never leak into
train/val/test, every hard negative is false by the scene graph, kind quotas, no overlap, determinism,
typed errors; and the ``shapes`` strings/images unchanged by the negative-kind labels."""

import hashlib
from collections import Counter

import numpy as np
import pytest
import torch

from ashbench.ashnet.config import DataConfig
from ashbench.ashnet.data import dataset_names, has_split, load_split
from ashbench.ashnet.data import scenes as sc
from ashbench.ashnet.data.shapes import build_split as build_shapes
from ashbench.ashnet.data.shapes import make_sample as shapes_sample
from ashbench.ashnet.data.shapes import render
from ashbench.errors import ConfigError, DataError

SEED = 0


@pytest.fixture(scope="module")
def iid():
    return {name: sc.build_split(SEED, name, n) for name, n in (("train", 2000), ("val", 500), ("test", 1000))}


@pytest.fixture(scope="module")
def comp():
    return sc.build_split(SEED, "compositional", 300)


def _objects(split, i):
    return [(int(c), int(s), int(z), float(x), float(y)) for c, s, z, x, y in split.scene[i].tolist() if c >= 0]


def _spec_uses(row, held) -> bool:
    """Whether an encoded spec row names a held-out colour x shape or states a held-out fact."""
    groups = [row[4 * g: 4 * g + 4] for g in range(sc.MAX_OBJECTS) if row[4 * g] > 0]
    if any((sc.COLOUR_NAMES[c], sc.SHAPES[s]) in held.colour_shapes for _n, _z, c, s in groups):
        return True
    i, r, j = row[-3:]
    return i >= 0 and (sc.SHAPES[groups[i][3]], sc.RELATIONS[r], sc.SHAPES[groups[j][3]]) in held.relations


def test_held_out_combinations_never_occur_in_train_val_test(iid):
    held = sc.held_out(SEED)
    assert len(held.colour_shapes) == sc.HELD_COLOUR_SHAPES and len(held.relations) == 2 * sc.HELD_RELATIONS
    for split in iid.values():
        for i in range(len(split)):
            objs = _objects(split, i)
            for c, s, _z, _x, _y in objs:  # every object
                assert (sc.COLOUR_NAMES[c], sc.SHAPES[s]) not in held.colour_shapes
            for a in objs:  # every ordered pair of objects, at margin 0
                for b in objs:
                    if a is b:
                        continue
                    d = {"left of": b[3] - a[3], "right of": a[3] - b[3], "above": b[4] - a[4], "below": a[4] - b[4]}
                    for rel, gap in d.items():
                        assert not (gap > 0 and (sc.SHAPES[a[1]], rel, sc.SHAPES[b[1]]) in held.relations)
        rows = torch.cat([split.caption_specs.reshape(-1, sc.SPEC_WIDTH),
                          split.negative_specs.reshape(-1, sc.SPEC_WIDTH)])
        for row in rows.tolist():  # every caption and every hard negative
            if row[0] > 0:
                assert not _spec_uses(row, held)


def test_compositional_captions_all_use_a_held_out_combination(comp):
    held = sc.held_out(SEED)
    assert all(_spec_uses(row, held) for row in comp.caption_specs.reshape(-1, sc.SPEC_WIDTH).tolist())
    modes = Counter(any((sc.COLOUR_NAMES[c], sc.SHAPES[s]) in held.colour_shapes for c, s, *_ in _objects(comp, i))
                    for i in range(0, len(comp), 2))
    assert modes[True] == len(range(0, len(comp), 2))  # even indices: a held-out colour x shape object


def test_held_out_choice_is_a_function_of_the_seed():
    assert sc.held_out(0) == sc.held_out(0) and sc.held_out(0) != sc.held_out(1)
    h = sc.held_out(3)
    assert len({c for c, _ in h.colour_shapes}) == len({s for _, s in h.colour_shapes}) == sc.HELD_COLOUR_SHAPES
    assert all((b, sc.FLIP[r], a) in h.relations for a, r, b in h.relations)  # both phrasings of each fact


@pytest.mark.parametrize("name", ["test", "compositional"])
def test_captions_true_and_every_negative_false_by_the_scene_graph(iid, comp, name):
    split = iid["test"] if name == "test" else comp
    n, k, h = split.negative_specs.shape[:3]
    truth, present = sc.judge(split.scene.repeat_interleave(k, 0), split.caption_specs.reshape(-1, sc.SPEC_WIDTH))
    assert truth.all() and present.all()
    neg = split.negative_specs.reshape(-1, sc.SPEC_WIDTH)
    real = neg[:, 0] > 0
    assert int(real.sum()) == sum(len(x) for per in split.negatives for x in per) == n * k * h  # none missing
    neg_truth, _ = sc.judge(split.scene.repeat_interleave(k * h, 0), neg)
    assert not neg_truth[real].any()
    # the vectorised matrix agrees with the row-by-row judge and with the pure-Python spec_true
    m, _ = sc.judge_matrix(split.scene[:40], split.caption_specs[:40].reshape(-1, sc.SPEC_WIDTH))
    assert bool(m[torch.arange(40).repeat_interleave(k), torch.arange(40 * k)].all())  # own captions true
    for i in range(5):
        sample = sc.make_sample(SEED, name, i, sc.held_out(SEED))
        assert sample["captions"] == split.captions[i] and sample["negatives"] == split.negatives[i]
        for j in range(40):
            for c in range(k):
                spec_row = split.caption_specs[j, c]
                expect = bool(m[i, j * k + c])
                assert sc.spec_true(_decode(spec_row), sample["objects"]) == expect


def _decode(row: torch.Tensor) -> dict:
    row = row.tolist()
    groups = [[row[4 * g], None if row[4 * g + 1] < 0 else sc.SIZE_NAMES[row[4 * g + 1]],
               sc.COLOUR_NAMES[row[4 * g + 2]], sc.SHAPES[row[4 * g + 3]]] for g in range(sc.MAX_OBJECTS) if row[4 * g]]
    i, r, j = row[-3:]
    return {"groups": groups, "rel": None if i < 0 else [i, sc.RELATIONS[r], j]}


def test_negative_kinds_follow_the_quotas(iid):
    split = iid["train"]
    n, k, h = split.negative_specs.shape[:3]
    followed = total = 0
    relational = Counter()
    for i in range(n):
        for c in range(k):
            has_rel = int(split.caption_specs[i, c, -3]) >= 0
            quota = sc.RELATIONAL_QUOTA if has_rel else sc.PLAIN_QUOTA
            for t, kind in enumerate(split.negative_kinds[i][c]):
                total += 1
                followed += kind == quota[((i * k + c) * h + t) % len(quota)]
                if has_rel:
                    relational[kind] += 1
    assert followed / total > 0.97  # the rest: the quota's kind had no false candidate (next kind used)
    share = {kind: v / sum(relational.values()) for kind, v in relational.items()}
    assert abs(share["relation_flip"] - 0.25) < 0.02 and abs(share["argument_swap"] - 0.25) < 0.02
    assert set(relational) <= set(sc.NEGATIVE_KINDS)


def test_objects_do_not_overlap_at_64px(iid):
    split = iid["test"]
    for i in range(300):
        objs = sc.make_sample(SEED, "test", i, sc.held_out(SEED))["objects"]
        masks = [render([o], 64).any(2) for o in objs]
        assert np.sum(masks, axis=0).max(initial=0) <= 1 if masks else True
    counts = Counter(int((split.scene[i, :, 0] >= 0).sum()) for i in range(len(split)))
    assert set(counts) == {1, 2, 3, 4, 5}


def test_same_seed_same_bytes_and_cache_round_trip(tmp_path):
    a = sc.build_split(5, "val", 30)
    b = sc.build_split(5, "val", 30, cache_dir=tmp_path)
    c = sc.build_split(5, "val", 30, cache_dir=tmp_path)  # read back from the cache
    assert len(list(tmp_path.glob("scenes-val-*.pt"))) == 1
    for other in (b, c):
        assert torch.equal(a.images, other.images) and a.captions == other.captions
        assert a.negatives == other.negatives and a.negative_kinds == other.negative_kinds
        assert torch.equal(a.scene, other.scene) and torch.equal(a.negative_specs, other.negative_specs)
    assert sc.build_split(6, "val", 30).captions != a.captions


def test_registered_with_a_compositional_split_the_others_lack():
    assert "scenes" in dataset_names()
    d = DataConfig(dataset="scenes", n_train=4, n_val=0, n_test=6, max_objects=5)
    assert has_split(d, "compositional") and not has_split(d, "val")
    split = load_split(d, "compositional")
    assert len(split) == 6 and split.has_scene_graph and split.name == "compositional"
    assert int((load_split(d, "test").scene[..., 0] >= 0).sum(1).max()) <= d.max_objects == 5
    shapes = DataConfig(dataset="shapes", n_train=4, n_val=0, n_test=6)
    assert not has_split(shapes, "compositional")
    with pytest.raises(DataError) as err:
        load_split(shapes, "compositional")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("call", [
    lambda: sc.build_split(0, "test", 3, max_objects=1),  # no relation can be held out
    lambda: sc.build_split(0, "test", 3, max_objects=6),  # count words stop at five
    lambda: sc.build_split(0, "test", 3, held_colour_shapes=0),
    lambda: sc.build_split(0, "test", 3, held_colour_shapes=6),  # a shape would vanish entirely
    lambda: sc.build_split(0, "test", 3, held_relations=31),
    lambda: sc.build_split(0, "nope", 3),
])
def test_bad_requests_raise_one_line_config_errors(call):
    with pytest.raises(ConfigError) as err:
        call()
    assert "\n" not in str(err.value) and str(err.value).startswith("scenes:")


# --- shapes: the kind labels changed no string, image or draw -------------------------------

SHAPES_TEST_0 = ['a small cyan triangle, a large yellow diamond and a small blue square',
                 'a small cyan triangle below a small blue square and a large yellow diamond',
                 'a large yellow diamond at the right, a small blue square at the left and a small cyan triangle at '
                 'the left']
SHAPES_TEST_0_NEG_0 = ['a small red triangle, a large yellow diamond and a small blue square',
                       'a small cyan triangle, a large blue diamond and a small blue square',
                       'a small cyan star, a large yellow diamond and a small blue square']
SHAPES_TEST_1_NEG_2 = ['a small blue circle at the right, a large cyan diamond at the center and a large cyan square '
                       'at the bottom left',
                       'a small blue circle at the right, a large cyan diamond at the center and a large cyan square '
                       'at the top left',
                       'a small red circle at the right, a large cyan diamond at the center and a large cyan square '
                       'at the top']
SHAPES_TRAIN_3_5_NEG_1 = ['a large purple circle above a small purple diamond and a large yellow star',
                          'a large purple cross above a large purple diamond and a large yellow star',
                          'a large purple circle above a large purple diamond and a large cyan star']


def test_shapes_strings_and_images_unchanged():
    img, caps, negs = shapes_sample(0, "test", 0)
    assert caps == SHAPES_TEST_0 and negs[0] == SHAPES_TEST_0_NEG_0
    assert hashlib.sha1(img.tobytes()).hexdigest() == "6e68377fbcfc54d7b6aec92389687768f2fbe8f5"
    img, _caps, negs = shapes_sample(0, "test", 1)
    assert negs[2] == SHAPES_TEST_1_NEG_2
    assert hashlib.sha1(img.tobytes()).hexdigest() == "e5195bcdf64cdacd4f80beaa7815e8b28dc2eff3"
    assert shapes_sample(3, "train", 5)[2][1] == SHAPES_TRAIN_3_5_NEG_1


def test_shapes_negatives_are_labelled_by_kind():
    split = build_shapes(0, "test", 2)
    assert split.negative_kinds[0][0] == ["colour", "colour", "shape"]  # red / blue for cyan / yellow; star
    assert split.negative_kinds[1][2] == ["region", "region", "colour"]
    assert split.negatives[0] == shapes_sample(0, "test", 0)[2]
