"""The objective fixes of issue 10: ITM negatives from softmax(cosine / tau), identical strings left
out of ITC, positions visible to ITM, STUA in every mode, which parameters each objective moves,
and seeds paired across modes (the controlled baselines)."""

import math

import pytest
import torch

from ashbench.ashnet import objectives as objectives_module
from ashbench.ashnet.config import BASELINES, load_config
from ashbench.ashnet.model import build_model
from ashbench.ashnet.objectives import VLObjective, itc_loss, sample_hard_indices
from ashbench.sweeps.spec import ObjectivesAxis

VOCAB = 40


def _batch(b=4, h=2, size=32, length=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (b, 3, size, size), generator=g, dtype=torch.uint8)
    ids = torch.randint(3, VOCAB, (b, length), generator=g)
    hard = torch.randint(3, VOCAB, (h, length), generator=g)
    return images, ids, torch.eye(b, dtype=torch.bool), hard, torch.arange(h)


# --- ITM negatives: softmax(cosine / temperature) -----------------------------------------------

def test_itm_sampling_concentrates_on_the_most_similar_negatives():
    cos = torch.tensor([[0.9, 0.5, 0.1, 1.0]])
    pos = torch.tensor([[False, False, False, True]])  # column 3 is the positive
    g = torch.Generator().manual_seed(0)
    n = 4000

    def share_of_first(logits):
        picks = torch.stack([sample_hard_indices(logits, pos, g) for _ in range(n)])
        assert not (picks == 3).any()  # never the positive
        return (picks == 0).float().mean().item()

    # scale 1/0.07 = 14.286: weights exp(12.857), exp(7.143), exp(1.429) -> p(col 0) = 1 / (1 + e^-5.714
    # + e^-11.43) = 0.99671; with the raw cosine (scale 1): e^.9 / (e^.9 + e^.5 + e^.1) = 0.4729.
    assert share_of_first(cos / 0.07) == pytest.approx(0.99671, abs=0.004)
    assert share_of_first(cos) == pytest.approx(0.4729, abs=0.03)


def test_itm_draws_from_the_temperature_scaled_similarity(monkeypatch):
    seen = []

    def spy(logits, pos, generator):
        seen.append(logits.detach().clone())
        return sample_hard_indices(logits, pos, generator)

    monkeypatch.setattr(objectives_module, "sample_hard_indices", spy)
    model = build_model(load_config("test-tiny"), VOCAB).train()
    images, ids, pos, hard, owner = _batch()
    with torch.no_grad():
        VLObjective(model, load_config("test-tiny").loss)(images, ids, pos, hard, owner, torch.Generator())
        img, txt = model.encode_image(images), model.encode_text(ids)
    scale = model.logit_scale.exp()  # 1 / 0.07 at initialisation
    assert torch.allclose(seen[0], scale * img["emb"] @ txt["emb"].t(), atol=1e-5)
    assert torch.allclose(seen[1], seen[0].t())


# --- identical strings are no negatives -----------------------------------------------------------

def test_itc_leaves_a_hard_caption_identical_to_an_images_caption_out_of_its_row():
    img = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    txt = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    pos, scale = torch.eye(2, dtype=torch.bool), torch.tensor(1.0)
    hard = torch.tensor([[0.0, 1.0]])  # made from image 0's caption, but the same string as image 1's
    mask = torch.tensor([[False], [True]])
    # i2t row 0: logits (1, 0 | 0) -> -log(e / (e + 2)); row 1: (0, 1 | excluded) -> -log(e / (e + 1)).
    # t2i has no hard captions: each row softmax(1, 0) -> -log(e / (e + 1)).
    base = -math.log(math.e / (math.e + 1))
    i2t = (-math.log(math.e / (math.e + 2)) + base) / 2
    assert itc_loss(img, txt, scale, pos, hard, hard_mask=mask).item() == pytest.approx((i2t + base) / 2)
    # unmasked, row 1 would count its own string as a negative: (0, 1 | 1) -> -log(e / (2e + 1))
    unmasked = (-math.log(math.e / (math.e + 2)) - math.log(math.e / (2 * math.e + 1))) / 2
    assert itc_loss(img, txt, scale, pos, hard).item() == pytest.approx((unmasked + base) / 2)


def test_make_batch_masks_hard_captions_equal_to_a_batch_caption():
    from ashbench.ashnet.data.split import VLSplit
    from ashbench.ashnet.data.tokenizer import WordTokenizer
    from ashbench.ashnet.train import TextBank, make_batch

    split = VLSplit(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), [["a red circle"], ["a blue circle"]],
                    [[["a blue circle"]], [["a green circle"]]])
    tok = WordTokenizer.build(["a red blue green circle"])
    cfg = load_config("test-tiny", ["train.batch_size=2"])
    batch = make_batch(TextBank(split, tok, 8), split.images, cfg, 1, 0, 1)
    captions = [split.captions[0][0], split.captions[1][0]]
    order = [0, 1] if tok.encode(captions[0:1], 8).equal(batch.ids[:1]) else [1, 0]
    hard_texts = [split.negatives[order[o]][0][0] for o in batch.hard_owner.tolist()]
    expected = [[captions[order[r]] == h for h in hard_texts] for r in range(2)]
    assert batch.hard_mask.tolist() == expected
    assert batch.hard_mask.sum().item() == 1  # "a blue circle" is image 1's own caption


# --- positions reach the ITM head --------------------------------------------------------------

def test_itm_logits_depend_on_where_the_patches_are():
    model = build_model(load_config("test-tiny"), VOCAB).eval()
    images, ids, *_ = _batch(b=2)
    with torch.no_grad():
        img, txt = model.encode_image(images), model.encode_text(ids)
        tokens = img["itm_tokens"]
        perm = torch.cat([torch.zeros(1, dtype=torch.long), 1 + torch.randperm(tokens.shape[1] - 1,
                                                                                generator=torch.Generator())])
        a = model.itm_logits(tokens, txt["tokens"])
        b = model.itm_logits(tokens[:, perm], txt["tokens"])
    assert (a - b).abs().max().item() > 1e-3  # without positions it was <= 1.2e-6 (attention is a set op)


# --- which parameters each objective moves (docs: objectives.py module doc) --------------------

def _moved(config, objective, overrides=()):
    """Names of the top-level parts whose parameters get a non-zero gradient from one objective."""
    weights = {"itc": "loss.itc_weight", "itm": "loss.itm_weight", "stua": "loss.stua_weight",
               "rate": "loss.firing_rate_weight"}
    ov = [f"{key}={1.0 if name == objective else 0.0}" for name, key in weights.items()]
    cfg = load_config(config, [*ov, *overrides])
    model = build_model(cfg, VOCAB).train()
    images, ids, pos, hard, owner = _batch()
    out = VLObjective(model, cfg.loss)(images, ids, pos, hard, owner, torch.Generator().manual_seed(0))
    out["loss"].backward()
    moved = set()
    for name, p in model.named_parameters():
        if p.grad is not None and p.grad.abs().sum() > 0:
            parts = name.split(".")
            moved.add(".".join(parts[:2]) if parts[0] == "concrete" else parts[0])
    return moved


STEM = {"concrete.stem", "concrete.norm"}
ITM_HEAD = {"itm_text", "itm_image", "itm_spike", "itm_block", "itm_head", "itm_pos"}


@pytest.mark.parametrize(("config", "objective", "expected"), [
    ("test-tiny", "itc", STEM | {"concrete.pool", "abstract", "r", "text", "image_proj", "text_proj", "logit_scale"}),
    ("test-tiny", "itm", STEM | {"concrete.pool", "abstract", "r", "text"} | ITM_HEAD),
    ("test-tiny", "stua", STEM | {"abstract", "spike_proj"}),
    ("test-tiny", "rate", STEM | {"abstract"}),
    ("test-tiny-ann-aux", "stua", STEM | {"concrete.pool", "concrete_proj"}),
    ("test-tiny-ann", "itm", STEM | {"concrete.pool", "text", "itm_text", "itm_image", "itm_block", "itm_head",
                                     "itm_pos"}),
])
def test_each_objective_moves_exactly_the_documented_parameters(config, objective, expected):
    # the firing-rate penalty needs spikes: threshold 0.05 makes the untrained LIF fire.
    extra = ["model.v_threshold=0.05"] if objective == "rate" else []
    assert _moved(config, objective, extra) == expected


# --- STUA is on (and labelled) the same way in every mode ----------------------------------------

@pytest.mark.parametrize("config", ["test-tiny", "test-tiny-ann-aux", "test-tiny-snn"])
def test_stua_runs_whenever_its_weight_is_on_and_the_label_says_so(config):
    cfg = load_config(config)
    model = build_model(cfg, VOCAB).train()
    images, ids, pos, hard, owner = _batch()
    out = VLObjective(model, cfg.loss)(images, ids, pos, hard, owner, torch.Generator())
    assert "stua" in out and ObjectivesAxis().effective(cfg.to_dict()).endswith("+stua")
    plain = load_config("test-tiny-ann")  # the plain ANN arm: STUA off, and no head for it
    assert "stua" not in ObjectivesAxis().effective(plain.to_dict())
    assert build_model(plain, VOCAB).concrete_proj is None


# --- controlled baselines: paired initial weights, registered arms ----------------------------

def test_shared_parts_start_from_identical_weights_in_every_mode():
    states = {arm: build_model(load_config("test-tiny" if arm == "hybrid" else f"test-tiny-{arm}"), VOCAB,
                               seed=3).state_dict() for arm in ("hybrid", "ann", "ann-twin")}
    hybrid, ann, twin = states["hybrid"], states["ann"], states["ann-twin"]
    shared = [k for k in ann if k in hybrid]
    assert len(shared) == len(ann) and any(k.startswith("text.") for k in shared)
    assert all(torch.equal(ann[k], hybrid[k]) for k in shared)
    assert twin.keys() == hybrid.keys() and all(torch.equal(twin[k], hybrid[k]) for k in twin)
    other = build_model(load_config("test-tiny"), VOCAB, seed=4).state_dict()
    assert not torch.equal(other["text.embed.weight"], hybrid["text.embed.weight"])


def test_the_ann_twin_has_the_hybrids_parameters_and_no_spiking_neuron():
    hybrid = build_model(load_config("ashnet-default"), VOCAB)
    twin = build_model(load_config("ashnet-ann-twin"), VOCAB)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(twin) == count(hybrid) and twin.abstract.neuron_names == [] and twin.timesteps == 1


def test_the_wide_ann_matches_the_hybrids_image_side_parameters():
    def image_side(m):
        parts = [m.concrete, m.abstract, m.image_proj]
        return sum(p.numel() for part in parts if part is not None for p in part.parameters()) + (m.r is not None)

    # the numbers BASELINES["ann-wide"] states: 520,224 vs 522,457 (0.4% fewer)
    assert image_side(build_model(load_config("ashnet-ann-wide"), VOCAB)) == 520_224
    assert image_side(build_model(load_config("ashnet-default"), VOCAB)) == 522_457


@pytest.mark.parametrize("arm", BASELINES.names())
def test_every_arm_is_a_preset_that_trains_one_step(arm):
    cfg = load_config("ashnet-default" if arm == "hybrid" else f"ashnet-{arm}")
    assert BASELINES.get(arm).controls
    tiny = load_config("test-tiny", [f"{s}.{k}={v}" for s, kv in BASELINES.get(arm).overrides.items()
                                     for k, v in kv.items() if k != "vision_width"])
    model = build_model(tiny, VOCAB).train()
    images, ids, pos, hard, owner = _batch()
    out = VLObjective(model, tiny.loss)(images, ids, pos, hard, owner, torch.Generator())
    out["loss"].backward()
    assert math.isfinite(out["loss"].item()) and cfg.model.mode == tiny.model.mode


# --- exact shortcuts of the training step (oracles: the naive computation) --------------------

def test_the_last_text_block_computes_only_the_cls_row_with_the_same_values():
    from ashbench.ashnet.model import TransformerBlock

    torch.manual_seed(0)
    block = TransformerBlock(16, 2)
    x, keep = torch.randn(3, 7, 16), torch.tensor([[True] * 7, [True] * 4 + [False] * 3, [True] * 2 + [False] * 5])
    full = block(x, keep)
    first = block(x, keep, first_only=True)
    assert first.shape == (3, 1, 16) and torch.allclose(first, full[:, :1], atol=1e-6)


def test_itm_keys_and_values_computed_once_per_image_equal_gathering_first():
    model = build_model(load_config("test-tiny"), VOCAB).eval()
    images, ids, *_ = _batch(b=3)
    rows = torch.tensor([2, 0, 0, 1, 2])
    with torch.no_grad():
        img, txt = model.encode_image(images), model.encode_text(ids)
        text = txt["tokens"][torch.tensor([0, 1, 2, 0, 1])]
        naive = model.itm_logits(img["itm_tokens"][rows], text)
        fast = model.itm_logits(img["itm_tokens"], text, rows=rows)
    assert torch.allclose(naive, fast, atol=1e-6)


def test_the_snn_conv_arm_spikes_from_its_first_conv_on():
    """snn-conv (test-tiny: 32x32 image, vision_depth 3, T = 2): the stem's three conv + BN + LIF layers,
    then the spiking MLP; the profiler sees 3 + 1 neuron layers; only the first conv is dense (pixels)."""
    from ashbench.profiler import profile

    model = build_model(load_config("test-tiny-snn-conv", ["model.v_threshold=0.05"]), VOCAB).eval()
    assert model.abstract.neuron_names == ["stem.layers.0.sn", "stem.layers.1.sn", "stem.layers.2.sn",
                                           "blocks.0.sn"]
    images, ids, *_ = _batch(b=2)
    doc = profile(model, (images.float() / 255, ids)).to_dict()
    rows = {r["module"]: r for r in doc["layers"]}
    # first conv, layer rows count the whole batch: 16x16 outputs x 8 channels x (3 x 3 x 3) taps
    # x T = 2 steps x 2 images = 221,184 MACs
    assert rows["abstract.stem.layers.0.conv"]["macs"] == 16 * 16 * 8 * 27 * 2 * 2
    assert rows["abstract.stem.layers.1.conv"]["macs"] == 0 and rows["abstract.stem.layers.1.conv"]["synops"] > 0
