"""Retrieval evaluation of ASH-Nets checkpoints, plus efficiency through the ashbench profiler.

Metrics (all percentages in [0, 100]; ties always count against the model):

* ``i2t_r{k}`` (image->text recall@k): the share of images for which at least one of their own
  captions is among the k highest-scored captions of the whole split.
* ``t2i_r{k}`` (text->image recall@k): the share of captions whose own image is among the k
  highest-scored images.
* ``mean_recall``: the mean of the six recalls above (k = 1, 5, 10).
* ``hard_negative_accuracy``: the share of captions (having at least one hard negative) that score
  strictly higher with their image than every one of their hard negatives does.
* ``firing_rate``: spikes / (neurons x time steps) of each spiking layer, and over all of them.

The recalls above are the standard (Karpathy-style) ones: only a caption's own image, and only an
image's own captions, count as correct, so a caption whose text also belongs to another image is a
miss there. Added next to them (same keys, percentages):

* ``retrieval_truth`` (truth-aware recall@k): caption j is *true of* image i when its text equals the
  text of any of image i's own captions (for generated data this string identity is the ground truth
  available without scene graphs: a caption is generated from its scene, so an identical string
  describes another scene equally well; a different string is taken as false). Identical strings are
  one caption. image->text: an image is a hit at k when fewer than k *distinct* caption strings that
  are false of it score at least as high as its best-scoring true caption (a false string counts when
  any copy of it does). text->image: a caption is a hit at k when fewer than k images of which it is
  false score at least as high as the best-scoring image of which it is true. Ties: an equal score of
  a false item counts against the model; of a true item, not (every true item is a correct answer).
* ``retrieval_ceiling``: the standard metrics of a perfect scorer, which gives 1 to every caption true
  of an image and 0 to every other (``recall_at_k(truth.float(), owners)``): identical strings tie
  (as they do for any text encoder that is a function of the text) and, under the standard rules,
  another image's copy of a caption is a wrong answer and a tie counts against; so this is the cap the
  duplicates put on the standard metrics, which the truth-aware ones do not have (their ceiling: 100).
* ``ci95``: 95% percentile-bootstrap confidence intervals ``[low, high]`` of the standard and
  truth-aware recalls (and their means) and of both hard-negative accuracies. Unit: the test image;
  each of ``n_resamples`` resamples draws N images with replacement (``torch.randint`` from a
  ``torch.Generator`` seeded with ``seed``), each drawn image bringing all its captions. Ranks are
  computed once, on the full split, and only the per-image hit counts are resampled; a replicate is
  (hits over the drawn images) / (items over the drawn images). Bounds: ``torch.nanquantile`` (linear
  interpolation) at 2.5% and 97.5% of the replicates (a replicate with no item is NaN and skipped).
  ``bootstrap`` records the seed, the resample count, the level and the unit.

Scene-graph truth. When the split carries scene graphs (``VLSplit.has_scene_graph``, e.g. ``scenes``),
"caption j is true of image i" is decided by the scene graph (:func:`ashbench.ashnet.data.scenes.judge_matrix`:
every phrase's count exact in image i, the stated relation true of every pair), not by string identity;
``retrieval_truth``, ``retrieval_ceiling`` and their intervals then use that truth (:func:`split_truth`).

Per-kind hard negatives (only when the split labels its negatives, ``VLSplit.negative_kinds``):

* ``hard_negative_accuracy_by_kind`` / ``hard_negative_accuracy_itm_by_kind``: ``{kind: percent}`` with ITC
  / ITM scores: among the captions having at least one hard negative of that kind, the share that score
  strictly higher with their image than every one of their negatives of that kind. Their intervals are
  in ``ci95`` under the same keys, from the same bootstrap draws as the others.

Reference lines (``reference``, only for splits with scene graphs), each with ``retrieval`` (standard),
``retrieval_truth`` and ``hard_negative_accuracy`` (+ ``_by_kind``) of a scorer that needs no model:

* ``chance``: the EXACT expected value under random scoring: every (image, caption) entry and every
  (caption, hard negative) score is an independent continuous random variable (no ties). Standard:
  t2i R@k = k / N (own image's rank is uniform); i2t R@k = 1 - C(T - m_i, k) / C(T, k) averaged over
  images (m_i own captions of T). Truth-aware t2i: 1 - C(b_j, k) / C(N, k) (b_j images the caption is false
  of). Truth-aware i2t: P(fewer than k distinct false strings have a copy above the best of the t_i true
  captions) = integral over x in [0, 1] of t x^(t-1) P(sum_u B_u < k), B_u ~ Bernoulli(1 - x^(c_u)) (c_u
  copies of false string u), evaluated by Gauss-Legendre quadrature (``CHANCE_NODES`` nodes in z, with
  x = 1 - z^3; error < 1e-6, checked against the closed form 1 - C(F, k) / C(F + t, k) of the copy-free
  case, F false strings, t true captions). Hard negatives: a
  caption with n negatives (of the kind) beats them all with probability 1 / (n + 1).
* ``bag_of_objects``: the score of caption c for image i is 1 when every phrase of c names a (colour, shape,
  size-if-stated) present at least once in image i, else 0: the scorer knows each image's multiset of
  (size, colour, shape) objects only up to presence, and ignores counts, positions and relations. Ties
  count against it, as in every metric here (so count changes, relation flips and argument swaps, which
  keep every phrase present, are never beaten).
* ``perfect``: 1 for a caption true of the image (scene graph), 0 otherwise (hard negatives are false: 0).
"""

from __future__ import annotations

import math
import platform
import time
from importlib import metadata

import numpy as np
import torch

from ashbench.ashnet.checkpoint import load_model
from ashbench.ashnet.data import VLSplit, load_split
from ashbench.ashnet.data.scenes import SPEC_WIDTH, judge, judge_matrix
from ashbench.ashnet.workloads import example_inputs
from ashbench.energy import estimate_energy
from ashbench.profiler.engine import profile


def standard_ranks(sim: torch.Tensor, txt_to_img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Standard ranks (0 = first; ties against the model) from sim [N_images, N_texts]: per image, the other
    images' captions scoring at least as high as its best own caption; per caption, the other images
    scoring at least as high as its own image."""
    cols = torch.arange(sim.shape[1])
    own = sim[txt_to_img, cols]  # [N_texts]: score of each text with its image
    t2i_rank = (sim >= own[None, :]).sum(0) - 1  # other images scoring at least as high
    gt = torch.zeros_like(sim, dtype=torch.bool)
    gt[txt_to_img, cols] = True
    best = sim.masked_fill(~gt, float("-inf")).max(1).values  # best own caption per image
    i2t_rank = ((sim >= best[:, None]) & ~gt).sum(1)  # other images' captions scoring at least as high
    return i2t_rank, t2i_rank


def recalls_from_ranks(i2t_rank: torch.Tensor, t2i_rank: torch.Tensor, ks) -> dict[str, float]:
    out = {}
    for k in ks:
        out[f"i2t_r{k}"] = 100.0 * (i2t_rank < k).float().sum().item() / i2t_rank.numel()
    for k in ks:
        out[f"t2i_r{k}"] = 100.0 * (t2i_rank < k).float().mean().item()
    out["mean_recall"] = sum(out.values()) / len(out)
    return out


def recall_at_k(sim: torch.Tensor, txt_to_img: torch.Tensor, ks=(1, 5, 10)) -> dict[str, float]:
    """Image->text and text->image recall@k (percent) and their mean, from sim [N_images, N_texts]."""
    return recalls_from_ranks(*standard_ranks(sim, txt_to_img), ks)


def caption_ids(texts: list[str]) -> torch.Tensor:
    """One id per distinct caption string (identical strings are one caption), in order of first use."""
    ids: dict[str, int] = {}
    return torch.tensor([ids.setdefault(t, len(ids)) for t in texts], dtype=torch.long)


def caption_truth(texts: list[str], txt_to_img: torch.Tensor, n_images: int | None = None) -> torch.Tensor:
    """truth [N_images, N_texts]: caption j is true of image i when its text equals one of image i's own."""
    uid = caption_ids(texts)
    n_images = int(txt_to_img.max().item()) + 1 if n_images is None else n_images
    n_unique = int(uid.max().item()) + 1 if uid.numel() else 0
    has = torch.zeros(n_images, n_unique, dtype=torch.bool)
    has[txt_to_img, uid] = True
    return has[:, uid]


def truth_ranks(sim: torch.Tensor, truth: torch.Tensor, uid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Truth-aware ranks (0 = first) from sim and truth [N_images, N_texts] and the string id of each text:
    per image, the distinct caption strings false of it scoring at least as high as its best true caption;
    per caption, the images it is false of scoring at least as high as its best true image."""
    neg_inf = float("-inf")
    best_txt = sim.masked_fill(~truth, neg_inf).max(1).values  # best true caption per image
    beats = ((sim >= best_txt[:, None]) & ~truth).float()  # false captions at least as high
    n_unique = int(uid.max().item()) + 1 if uid.numel() else 0
    distinct = torch.zeros(sim.shape[0], n_unique).scatter_reduce_(1, uid.expand_as(beats), beats, "amax")
    i2t_rank = distinct.sum(1).long()
    best_img = sim.masked_fill(~truth, neg_inf).max(0).values  # best true image per caption
    t2i_rank = ((sim >= best_img[None, :]) & ~truth).sum(0)
    return i2t_rank, t2i_rank


def truth_aware_recall_at_k(sim: torch.Tensor, txt_to_img: torch.Tensor, texts: list[str],
                            ks=(1, 5, 10)) -> dict[str, float]:
    """Truth-aware recall@k (percent; see the module doc) and their mean, from sim [N_images, N_texts]."""
    truth = caption_truth(texts, txt_to_img, sim.shape[0])
    return recalls_from_ranks(*truth_ranks(sim, truth, caption_ids(texts)), ks)


def ceiling_recall_at_k(txt_to_img: torch.Tensor, texts: list[str], n_images: int | None = None,
                        ks=(1, 5, 10)) -> dict[str, float]:
    """The standard recalls of the perfect scorer (1 for a true caption, 0 otherwise): their cap."""
    return recall_at_k(caption_truth(texts, txt_to_img, n_images).float(), txt_to_img, ks)


def bootstrap_replicates(num: torch.Tensor, den: torch.Tensor, *, n_resamples: int = 1000,
                         seed: int = 0) -> torch.Tensor:
    """[n_resamples, M] percentages 100 * sum(num[drawn]) / sum(den[drawn]) over resamples of the N units
    (rows of num, den [N, M]) drawn with replacement by torch.randint from a generator seeded with seed."""
    n = num.shape[0]
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, n, (n_resamples, n), generator=gen)
    counts = torch.zeros(n_resamples, n, dtype=torch.float64).scatter_add_(
        1, idx, torch.ones(n_resamples, n, dtype=torch.float64))
    return 100.0 * (counts @ num.double()) / (counts @ den.double())  # 0/0 -> NaN (no item drawn)


def percentile_interval(replicates: torch.Tensor, level: float = 0.95) -> list[list[float]]:
    """Per column of replicates [B, M]: [low, high] = NaN-skipping linear-interpolation quantiles at
    (1 - level) / 2 and (1 + level) / 2."""
    q = torch.tensor([(1 - level) / 2, (1 + level) / 2], dtype=torch.float64)
    return torch.nanquantile(replicates.double(), q, dim=0).t().tolist()


def _per_image(values: torch.Tensor, owners: torch.Tensor, n_images: int) -> torch.Tensor:
    return torch.zeros(n_images, dtype=torch.float64).index_add_(0, owners, values.double())


def bootstrap_ci(i2t_ranks: dict, t2i_ranks: dict, owners: torch.Tensor, hard_negatives: dict | None = None, *,
                 ks=(1, 5, 10), n_resamples: int = 1000, seed: int = 0, level: float = 0.95) -> dict:
    """Percentile-bootstrap intervals over images (captions go with their image) of the recalls of each
    set of ranks (``{name: i2t_rank [N_images]}``, ``{name: t2i_rank [N_texts]}``) and their mean, and of
    hard-negative accuracies (``{name: (has_neg [N_texts], beaten [N_texts])}``), all from one set of draws."""
    n_img = next(iter(i2t_ranks.values())).numel()
    ones_img = torch.ones(n_img, dtype=torch.float64)
    n_cap = _per_image(torch.ones(owners.numel()), owners, n_img)
    num, den, names = [], [], []
    for name in i2t_ranks:
        for k in ks:
            num.append((i2t_ranks[name] < k).double()), den.append(ones_img), names.append((name, f"i2t_r{k}"))
        for k in ks:
            num.append(_per_image((t2i_ranks[name] < k).double(), owners, n_img))
            den.append(n_cap), names.append((name, f"t2i_r{k}"))
    for name, (has_neg, beaten) in (hard_negatives or {}).items():
        num.append(_per_image((beaten & has_neg).double(), owners, n_img))
        den.append(_per_image(has_neg.double(), owners, n_img)), names.append((name, None))
    reps = bootstrap_replicates(torch.stack(num, 1), torch.stack(den, 1), n_resamples=n_resamples, seed=seed)
    out: dict = {}
    cols = {}
    for c, (name, _key) in enumerate(names):
        cols.setdefault(name, []).append(c)
    for name in i2t_ranks:
        c = cols[name]
        bounds = percentile_interval(torch.cat([reps[:, c], reps[:, c].mean(1, keepdim=True)], 1), level)
        out[name] = {names[j][1]: b for j, b in zip(c, bounds)} | {"mean_recall": bounds[-1]}
    for name in hard_negatives or {}:
        out[name] = percentile_interval(reps[:, cols[name]], level)[0]
    return out


def hard_negative_hits(pos_scores: torch.Tensor, neg_scores: torch.Tensor,
                       neg_valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per caption: whether it has >= 1 hard negative, and whether its score beats all of them (strictly)."""
    return neg_valid.any(1), ((pos_scores[:, None] > neg_scores) | ~neg_valid).all(1)


def hard_negative_accuracy(pos_scores: torch.Tensor, neg_scores: torch.Tensor, neg_valid: torch.Tensor) -> float:
    """Percent of captions with >= 1 hard negative whose score beats all of them (strictly).
    pos_scores [M]; neg_scores, neg_valid [M, H] (invalid entries are ignored)."""
    has_neg, beaten = hard_negative_hits(pos_scores, neg_scores, neg_valid)
    if not has_neg.any():
        return float("nan")
    return 100.0 * beaten[has_neg].float().mean().item()


@torch.no_grad()
def embed_split(model, split: VLSplit, tokenizer, max_len: int, device="cpu", chunk: int = 256) -> dict:
    """Unit image and text embeddings of a split, ITM image tokens, and spike counts per layer."""
    texts, owners, negs = split.flat_captions()
    img_embs, itm_tokens, spike_sum, spike_n = [], [], None, None
    for start in range(0, len(split), chunk):
        out = model.encode_image(split.images[start:start + chunk].to(device))
        img_embs.append(out["emb"].cpu())
        itm_tokens.append(out["itm_tokens"].cpu())
        sums = [s.sum().item() for s in out["spikes"]]
        counts = [s.numel() for s in out["spikes"]]
        spike_sum = sums if spike_sum is None else [a + b for a, b in zip(spike_sum, sums)]
        spike_n = counts if spike_n is None else [a + b for a, b in zip(spike_n, counts)]
    ids = tokenizer.encode(texts, max_len)
    txt = [model.encode_text(ids[s:s + chunk].to(device)) for s in range(0, len(texts), chunk)]
    return {"img": torch.cat(img_embs), "itm_tokens": torch.cat(itm_tokens), "owners": owners, "ids": ids,
            "texts": texts,
            "txt": torch.cat([t["emb"].cpu() for t in txt]), "txt_tokens": torch.cat([t["tokens"].cpu() for t in txt]),
            "negatives": negs, "spike_sum": spike_sum or [], "spike_n": spike_n or []}


def firing_rates(emb: dict, model) -> dict | None:
    """Per spiking layer and overall firing rate (spikes per neuron per time step) over the split."""
    if not emb["spike_n"]:
        return None
    names = model.abstract.neuron_names
    layers = {name: s / n for name, s, n in zip(names, emb["spike_sum"], emb["spike_n"])}
    return {"mean": sum(emb["spike_sum"]) / sum(emb["spike_n"]), "layers": layers}


@torch.no_grad()
def hard_negative_scores(model, emb: dict, tokenizer, max_len: int, device="cpu", chunk: int = 512) -> dict:
    """ITC (cosine) and ITM (matched probability) scores of every caption and of its hard negatives."""
    negs = emb["negatives"]
    width = max((len(n) for n in negs), default=0)
    valid = torch.zeros(len(negs), width, dtype=torch.bool)
    flat, owner_caption = [], []
    for j, ns in enumerate(negs):
        valid[j, : len(ns)] = True
        flat += ns
        owner_caption += [j] * len(ns)
    owner_caption = torch.tensor(owner_caption, dtype=torch.long)
    neg_txt = [model.encode_text(tokenizer.encode(flat[s:s + chunk], max_len).to(device))
               for s in range(0, len(flat), chunk)]
    img_of = emb["owners"]
    itc_pos = (emb["img"][img_of] * emb["txt"]).sum(1)
    neg_emb = torch.cat([t["emb"].cpu() for t in neg_txt]) if flat else None
    itc_neg_flat = (emb["img"][img_of[owner_caption]] * neg_emb).sum(1) if flat else torch.zeros(0)
    itm_pos = _itm_prob(model, emb["itm_tokens"][img_of], emb["txt_tokens"], device, chunk)
    neg_tokens = torch.cat([t["tokens"].cpu() for t in neg_txt]) if flat else emb["txt_tokens"][:0]
    itm_neg_flat = _itm_prob(model, emb["itm_tokens"][img_of[owner_caption]], neg_tokens, device, chunk)
    return {"valid": valid, "itc": (itc_pos, _scatter(itc_neg_flat, valid)),
            "itm": (itm_pos, _scatter(itm_neg_flat, valid))}


def _scatter(flat: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    out = torch.full(valid.shape, float("-inf"))
    out[valid] = flat
    return out


def _itm_prob(model, image_tokens, text_tokens, device, chunk) -> torch.Tensor:
    probs = [model.itm_logits(image_tokens[s:s + chunk].to(device), text_tokens[s:s + chunk].to(device))
             .softmax(1)[:, 1].cpu() for s in range(0, text_tokens.shape[0], chunk)]
    return torch.cat(probs) if probs else torch.zeros(0)


def retrieval_report(model, split: VLSplit, tokenizer, max_len: int, device="cpu", *,
                     n_resamples: int = 1000, bootstrap_seed: int = 0, references: bool = True) -> dict:
    """Recalls (standard, truth-aware, and the standard ones' perfect-scorer ceiling), hard-negative
    accuracies (ITC and ITM), their bootstrap 95% intervals and firing rates of ``model`` on ``split``;
    with ``references`` also the reference lines of a split with scene graphs (a property of the data
    alone: a sweep computes them once, not per run)."""
    model.eval()
    emb = embed_split(model, split, tokenizer, max_len, device)
    scores = hard_negative_scores(model, emb, tokenizer, max_len, device)
    sim, owners, texts, n_img = emb["img"] @ emb["txt"].t(), emb["owners"], emb["texts"], len(split)
    truth = split_truth(split, texts, owners)
    std, tru = standard_ranks(sim, owners), truth_ranks(sim, truth, caption_ids(texts))
    hard = {"hard_negative_accuracy": hard_negative_hits(*scores["itc"], scores["valid"]),
            "hard_negative_accuracy_itm": hard_negative_hits(*scores["itm"], scores["valid"])}
    kinds = split.flat_negative_kinds()
    by_kind = {}
    if kinds is not None:
        for key, which in (("hard_negative_accuracy_by_kind", "itc"), ("hard_negative_accuracy_itm_by_kind", "itm")):
            by_kind[key] = hard_negative_hits_by_kind(*scores[which], scores["valid"], kinds)
            hard |= {f"{key}/{k}": hits for k, hits in by_kind[key].items()}
    ci = bootstrap_ci({"retrieval": std[0], "retrieval_truth": tru[0]},
                      {"retrieval": std[1], "retrieval_truth": tru[1]}, owners, hard,
                      n_resamples=n_resamples, seed=bootstrap_seed)
    for key in by_kind:
        ci[key] = {k: ci.pop(f"{key}/{k}") for k in by_kind[key]}
    extra = {key: {k: _accuracy(hits) for k, hits in per.items()} for key, per in by_kind.items()}
    if references and split.has_scene_graph:
        extra["reference"] = reference_lines(split)
    return {"retrieval": recalls_from_ranks(*std, (1, 5, 10)),
            "retrieval_truth": recalls_from_ranks(*tru, (1, 5, 10)),
            "retrieval_ceiling": recall_at_k(truth.float(), owners),
            "hard_negative_accuracy": hard_negative_accuracy(*scores["itc"], scores["valid"]),
            "hard_negative_accuracy_itm": hard_negative_accuracy(*scores["itm"], scores["valid"]),
            "ci95": ci, "bootstrap": {"seed": bootstrap_seed, "n_resamples": n_resamples, "level": 0.95,
                                      "unit": "image (captions go with their image)", "method": "percentile"},
            "n_images": n_img, "n_captions": int(owners.numel()),
            "firing_rate": firing_rates(emb, model), **extra}


def split_truth(split: VLSplit, texts: list[str], owners: torch.Tensor) -> torch.Tensor:
    """truth [N_images, N_texts]: by the scene graph when the split has one, else by string identity."""
    if split.has_scene_graph and split.caption_specs.shape[0] * split.caption_specs.shape[1] == len(texts):
        return judge_matrix(split.scene, split.caption_specs.reshape(-1, SPEC_WIDTH))[0]
    return caption_truth(texts, owners, len(split))


def kind_matrix(kinds: list[list[str]], width: int) -> tuple[list[str], torch.Tensor]:
    """(sorted kind names, long [M, width] index of each negative's kind; -1 where none)."""
    names = sorted({k for per in kinds for k in per})
    out = torch.full((len(kinds), width), -1, dtype=torch.long)
    for j, per in enumerate(kinds):
        out[j, : len(per)] = torch.tensor([names.index(k) for k in per], dtype=torch.long)
    return names, out


def hard_negative_hits_by_kind(pos_scores: torch.Tensor, neg_scores: torch.Tensor, neg_valid: torch.Tensor,
                               kinds: list[list[str]]) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """{kind: (has a negative of the kind [M], beats all of them strictly [M])}; kinds parallel to negatives."""
    names, idx = kind_matrix(kinds, neg_valid.shape[1])
    return {name: hard_negative_hits(pos_scores, neg_scores, neg_valid & (idx == k)) for k, name in enumerate(names)}


def _accuracy(hits: tuple[torch.Tensor, torch.Tensor]) -> float:
    has_neg, beaten = hits
    return 100.0 * beaten[has_neg].float().mean().item() if has_neg.any() else float("nan")


CHANCE_NODES = 512


def _chance_truth_i2t(truth: torch.Tensor, uid: torch.Tensor, ks, chunk: int = 128) -> list[float]:
    """Expected truth-aware i2t R@k (percent) under random scoring (module doc: quadrature over
    x = 1 - z^3, Gauss-Legendre in z, which puts the nodes where x^F varies, near x = 1)."""
    nodes, weights = np.polynomial.legendre.leggauss(CHANCE_NODES)
    z = torch.from_numpy((nodes + 1) / 2)
    w = torch.from_numpy(weights / 2) * 3 * z ** 2  # dx = 3 z^2 dz
    logx = torch.log1p(-z ** 3)  # [Q]
    kmax = max(ks)
    n_unique = int(uid.max().item()) + 1
    first = torch.zeros(n_unique, dtype=torch.long).scatter_(0, uid.flip(0), torch.arange(uid.numel() - 1, -1, -1))
    copies = torch.bincount(uid, minlength=n_unique)  # copies of each distinct string
    false_u = ~truth[:, first]  # [N, U]: string u false of image i (copies share their truth)
    values = torch.unique(copies)
    hist = (false_u.double() @ (copies[:, None] == values[None, :]).double())  # [N, V]: false strings per copy count
    t_img = truth.sum(1).double()
    m = torch.arange(kmax, dtype=torch.float64)[None, :, None]  # [1, k, 1]
    totals = torch.zeros(len(ks), dtype=torch.float64)
    for s0 in range(0, truth.shape[0], chunk):
        h, t = hist[s0:s0 + chunk], t_img[s0:s0 + chunk]
        pmf = torch.zeros(h.shape[0], kmax, z.numel(), dtype=torch.float64)
        pmf[:, 0] = 1.0
        for v, c in enumerate(values.tolist()):
            n_c = h[:, v][:, None, None]  # [B, 1, 1]
            if not (n_c > 0).any():
                continue
            log_binom = torch.lgamma(n_c + 1) - torch.lgamma(m + 1) - torch.lgamma((n_c - m).clamp(min=0) + 1)
            log_term = log_binom + m * torch.log(-torch.expm1(c * logx)) + (n_c - m) * c * logx
            term = torch.where(m <= n_c, torch.exp(log_term), torch.zeros(()))  # Binomial(n_c, 1 - x^c) pmf
            new = torch.zeros_like(pmf)
            for a in range(kmax):
                new[:, a:] += pmf[:, : kmax - a] * term[:, a:a + 1]
            pmf = new
        cdf = pmf.cumsum(1)  # [B, k, Q]
        density = t[:, None] * torch.exp((t[:, None] - 1) * logx[None, :])  # [B, Q]
        for q, k in enumerate(ks):
            totals[q] += (w[None, :] * density * cdf[:, k - 1]).sum()
    return (100.0 * totals / truth.shape[0]).tolist()


def chance_recalls(truth: torch.Tensor, owners: torch.Tensor, texts: list[str], ks=(1, 5, 10)) -> dict:
    """Exact expected standard and truth-aware recalls under random scoring (module doc)."""
    n, t = truth.shape
    own = torch.bincount(owners, minlength=n).tolist()
    std = {f"i2t_r{k}": 100.0 * sum(1 - math.comb(t - m, k) / math.comb(t, k) for m in own) / n for k in ks}
    std |= {f"t2i_r{k}": 100.0 * min(k, n) / n for k in ks}
    std["mean_recall"] = sum(std.values()) / len(std)
    false_imgs = (~truth).sum(0).tolist()
    tru = dict(zip((f"i2t_r{k}" for k in ks), _chance_truth_i2t(truth, caption_ids(texts), ks)))
    tru |= {f"t2i_r{k}": 100.0 * sum(1 - math.comb(b, k) / math.comb(n, k) for b in false_imgs) / t for k in ks}
    tru["mean_recall"] = sum(tru.values()) / len(tru)
    return {"retrieval": std, "retrieval_truth": tru}


def _chance_hard(valid: torch.Tensor, mask: torch.Tensor) -> float:
    n = (valid & mask).sum(1)
    return 100.0 * (1.0 / (n[n > 0].double() + 1)).mean().item() if (n > 0).any() else float("nan")


def reference_lines(split: VLSplit, ks=(1, 5, 10)) -> dict:
    """Chance, bag-of-objects and perfect scorers' metrics on a split with scene graphs (module doc)."""
    texts, owners, negs = split.flat_captions()
    specs = split.caption_specs.reshape(-1, SPEC_WIDTH)
    truth, present = judge_matrix(split.scene, specs)
    uid = caption_ids(texts)
    kinds = split.flat_negative_kinds() or [[] for _ in texts]
    width = max((len(nn) for nn in negs), default=0)
    valid = torch.zeros(len(negs), width, dtype=torch.bool)
    for j, nn in enumerate(negs):
        valid[j, : len(nn)] = True
    names, kind_idx = kind_matrix(kinds, width)
    neg_specs = split.negative_specs.reshape(len(texts), -1, SPEC_WIDTH)[:, :width]
    rows = owners[:, None].expand(-1, width).reshape(-1)
    bag_neg = judge(split.scene[rows], neg_specs.reshape(-1, SPEC_WIDTH))[1].view(len(texts), width).float()
    chance = chance_recalls(truth, owners, texts, ks)
    chance["hard_negative_accuracy"] = _chance_hard(valid, torch.ones_like(valid))
    chance["hard_negative_accuracy_by_kind"] = {k: _chance_hard(valid, kind_idx == i) for i, k in enumerate(names)}
    out = {"chance": chance}
    cols = torch.arange(len(texts))
    for name, sim, neg in (("bag_of_objects", present.float(), bag_neg),
                           ("perfect", truth.float(), torch.zeros(len(texts), width))):
        pos = sim[owners, cols]
        out[name] = {"retrieval": recall_at_k(sim, owners, ks),
                     "retrieval_truth": recalls_from_ranks(*truth_ranks(sim, truth, uid), ks),
                     "hard_negative_accuracy": hard_negative_accuracy(pos, neg, valid),
                     "hard_negative_accuracy_by_kind": {k: _accuracy(v) for k, v in hard_negative_hits_by_kind(
                         pos, neg, valid, kinds).items()}}
    out["chance"]["method"] = "exact expectation under independent continuous random scores"
    return out


def efficiency(model, inputs: tuple, energy_model: str = "45nm-fp32") -> dict:
    """The ashbench profiler's counts (MACs, synops, spikes, firing rate) and energy on ``inputs``."""
    prof = profile(model, inputs, layout="B", batch_size=None, spikes="binary").to_dict()
    return {"batch_size": int(inputs[0].shape[0]), "profile": prof, "energy": estimate_energy(prof, energy_model)}


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("ashbench", "torch", "spikingjelly", "numpy", "pillow"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def evaluate(checkpoint: str, *, split: str = "test", profile: bool = True, batch_size: int = 16,
             energy_model: str = "45nm-fp32", timesteps: int | None = None, device: str | None = None,
             bootstrap_resamples: int = 1000, bootstrap_seed: int = 0, references: bool = True) -> dict:
    """Evaluate a checkpoint on a split of its own data set; a JSON-able dict (see the module doc)."""
    started = time.perf_counter()
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model, cfg, tokenizer = load_model(checkpoint)
    if timesteps is not None:
        model.set_timesteps(timesteps)
    data = load_split(cfg.data, split)
    with torch.random.fork_rng(devices=[]):  # Poisson encoding draws from the RNG: seeded, then restored
        torch.manual_seed(cfg.train.seed)
        report = retrieval_report(model.to(device), data, tokenizer, cfg.model.max_text_len, device,
                                  n_resamples=bootstrap_resamples, bootstrap_seed=bootstrap_seed,
                                  references=references)
    result = {"checkpoint": str(checkpoint), "config_name": cfg.name, "config": cfg.to_dict(),
              "seed": cfg.train.seed, "data_seed": cfg.data.seed, "split": split, "mode": cfg.model.mode,
              "timesteps": model.timesteps, **report}
    if profile:
        inputs = example_inputs(cfg, tokenizer, batch_size)
        result["efficiency"] = efficiency(model.cpu(), inputs, energy_model)
    result["versions"] = package_versions()
    result["wall_s"] = time.perf_counter() - started
    return result
