"""The procedural ``shapes`` data set and the word tokenizer."""

import numpy as np
import pytest
import torch

from ashbench.ashnet.data import shapes
from ashbench.ashnet.data.shapes import (
    COLOURS,
    SHAPES,
    SIZES,
    ShapeObject,
    build_split,
    caption_specs,
    hard_negative_specs,
    make_sample,
    make_scene,
    region,
    relation,
    render,
    spec_text,
)
from ashbench.ashnet.data.tokenizer import WordTokenizer


def test_vl_same_seed_and_index_render_identical_samples():
    a = make_sample(3, "train", 17, image_size=32)
    b = make_sample(3, "train", 17, image_size=32)
    assert np.array_equal(a[0], b[0]) and a[1:] == b[1:]
    assert a[0].shape == (32, 32, 3) and a[0].dtype == np.uint8


def test_vl_other_index_seed_or_split_differ():
    base = make_sample(0, "train", 0)[0]
    assert not np.array_equal(base, make_sample(0, "train", 1)[0])
    assert not np.array_equal(base, make_sample(1, "train", 0)[0])
    assert not np.array_equal(base, make_sample(0, "test", 0)[0])


def test_vl_every_shape_colour_and_size_renders_a_distinct_image():
    """Each word of the vocabulary is visible: the 6 x 6 x 2 = 72 single-object scenes at the centre
    give 72 different images."""
    images = {render([ShapeObject(s, c, z, 0.5, 0.5)], 32).tobytes() for s in SHAPES for c in COLOURS for z in SIZES}
    assert len(images) == len(SHAPES) * len(COLOURS) * len(SIZES) == 72


def test_vl_scenes_have_one_to_three_distinct_objects():
    counts = set()
    for i in range(200):
        objs = make_scene(np.random.default_rng([0, 0, i]), 3)
        counts.add(len(objs))
        assert len({(o.shape, o.colour) for o in objs}) == len(objs)
    assert counts == {1, 2, 3}


def test_vl_relations_regions_and_caption_text_of_a_hand_built_scene():
    circle = ShapeObject("circle", "red", "large", x=0.2, y=0.5)
    square = ShapeObject("square", "blue", "small", x=0.8, y=0.45)
    star = ShapeObject("star", "green", "small", x=0.75, y=0.9)
    assert relation(circle, square) == "left of" and relation(square, circle) == "right of"
    assert relation(square, star) == "above" and relation(star, square) == "below"
    assert (region(circle), region(square), region(star)) == ("left", "right", "bottom right")
    spec = {"kind": "relation", "objs": [list(circle.words), list(square.words)], "rel": "left of", "regions": None}
    assert spec_text(spec) == "a large red circle left of a small blue square"
    spec_count = {"kind": "count", "objs": [list(circle.words), list(star.words)], "rel": None, "regions": None}
    assert spec_text(spec_count) == "two objects : a large red circle and a small green star"


def _changes(spec: dict, neg: dict) -> int:
    words = sum(a != b for o, n in zip(spec["objs"], neg["objs"]) for a, b in zip(o, n))
    regions = sum(a != b for a, b in zip(spec["regions"] or [], neg["regions"] or []))
    return words + regions + (spec["rel"] != neg["rel"])


def _is_true(neg: dict, objects: list) -> bool:
    by_words = {o.words: o for o in objects}
    if any(tuple(w) not in by_words for w in neg["objs"]):
        return False
    found = [by_words[tuple(w)] for w in neg["objs"]]
    if neg["rel"] is not None and relation(found[0], found[1]) != neg["rel"]:
        return False
    return all(region(o) == r for o, r in zip(found, neg["regions"] or []))


def test_vl_hard_negatives_make_exactly_one_change_and_are_false():
    for i in range(150):
        rng = np.random.default_rng([5, 0, i])
        objects = make_scene(rng, 3)
        for spec in caption_specs(objects, rng, 4):
            assert _is_true(spec, objects)
            negs = hard_negative_specs(spec, objects, rng, 3)
            assert len(negs) == 3
            for neg in negs:
                assert _changes(spec, neg) == 1 and not _is_true(neg, objects)


def test_vl_build_split_shapes_and_caption_owners():
    split = build_split(0, "val", 6, image_size=32, captions=3, negatives=2)
    assert split.images.shape == (6, 3, 32, 32) and split.images.dtype == torch.uint8
    assert [len(c) for c in split.captions] == [3] * 6
    texts, owners, negs = split.flat_captions()
    assert len(texts) == 18 and owners.tolist() == [i // 3 for i in range(18)]
    assert all(len(n) == 2 and t not in n for t, n in zip(texts, negs))


def test_vl_disk_cache_round_trip(tmp_path, monkeypatch):
    first = build_split(0, "train", 4, image_size=16, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.pt"))) == 1 and not list(tmp_path.glob("*.tmp*"))
    monkeypatch.setattr(shapes, "make_sample", lambda *a, **k: pytest.fail("not served from the cache"))
    again = build_split(0, "train", 4, image_size=16, cache_dir=tmp_path)
    assert torch.equal(first.images, again.images) and first.captions == again.captions


def test_vl_tokenizer_builds_encodes_and_decodes():
    tok = WordTokenizer.build(["a red circle", "A blue square, left of a red circle"])
    assert tok.vocab[:3] == ["[PAD]", "[UNK]", "[CLS]"]
    assert tok.vocab[3:] == sorted(["a", "red", "circle", "blue", "square", ",", "left", "of"])
    ids = tok.encode(["a red circle", "a green circle"], max_len=5)
    a, red, circle = tok.index["a"], tok.index["red"], tok.index["circle"]
    assert ids.tolist() == [[2, a, red, circle, 0], [2, a, 1, circle, 0]]  # 1 = unknown "green"
    assert tok.encode(["a red circle left of"], max_len=3).tolist() == [[2, a, red]]  # truncated
    assert tok.decode(ids[0]) == "a red circle"
    with pytest.raises(ValueError):
        WordTokenizer(["a", "b"])
