"""ASH-Nets objectives: ITC (with hard-sample augmentation), ITM, STUA and a firing-rate regulariser.

Notation: ``pos[i, j]`` is True when text j describes image i (same image, or the same caption text).
Logits are ``scale * cosine`` with the learned inverse temperature ``scale = exp(logit_scale)``
(clamped at 100). ``hard_mask[i, h]`` is True when hard negative caption h is the same string as
image i's batch caption: for image i it is no negative, so it is left out of image i's row of
ITC (neither positive nor negative); it stays a negative for every other image.

Which parameters each objective moves (checked with gradients in ``tests/test_objectives.py``):

* ITC: everything on the retrieval path: the concrete encoder (stem, norm, pool), the abstract
  encoder, r, the text encoder, ``image_proj``, ``text_proj`` and the temperature.
* ITM: the ITM head (``itm_text``, ``itm_image``, ``itm_spike``, ``itm_block``, ``itm_head``,
  ``itm_pos``), r, and through the image tokens (the fused latent V first, then the patches) and the
  text tokens the whole concrete encoder, the abstract encoder and the text encoder; not the
  projections or the temperature.
* STUA: the head of what it aligns (``spike_proj``; in mode "ann" ``concrete_proj``) and the image
  path below it: the abstract encoder and the concrete stem and norm it reads (in mode "ann": the
  whole concrete encoder). The text side is detached, so not the text encoder or ``text_proj``; the
  temperature is shared with ITC but moves only through ITC (STUA uses it detached).
* firing-rate penalty: the abstract encoder and the concrete stem and norm below it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def soft_info_nce(logits: torch.Tensor, pos: torch.Tensor, exclude: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over rows of the cross-entropy between softmax(logits row) and the uniform
    distribution over that row's positives: -sum_j y_ij log softmax(l_i)_j, y_ij = pos_ij / |pos_i|.
    Entries where ``exclude`` is True take no part (left out of the softmax; never positives)."""
    if exclude is not None:
        logits, pos = logits.masked_fill(exclude, float("-inf")), pos & ~exclude
    target = pos.float() / pos.float().sum(1, keepdim=True).clamp_min(1.0)
    return -torch.where(pos, target * logits.log_softmax(1), 0.0).sum(1).mean()


def boost_nearest_negatives(logits: torch.Tensor, pos: torch.Tensor, k: int, boost: float) -> torch.Tensor:
    """Count each row's ``k`` most similar negatives (1 + boost) times in the softmax denominator,
    i.e. add log(1 + boost) to their logits (the choice itself carries no gradient)."""
    if k <= 0 or boost <= 0:
        return logits
    k = min(k, logits.shape[1] - 1)
    if k <= 0:
        return logits
    scores = logits.detach().masked_fill(pos, float("-inf"))
    top = scores.topk(k, dim=1).indices
    mask = torch.zeros_like(pos).scatter_(1, top, True) & ~pos
    return logits + math.log1p(boost) * mask.float()


def itc_loss(img: torch.Tensor, txt: torch.Tensor, scale: torch.Tensor, pos: torch.Tensor,
             hard_txt: torch.Tensor | None = None, nn_k: int = 0, nn_boost: float = 0.0,
             hard_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE: (image->text + text->image) / 2. Hard negative captions ``hard_txt`` [H, E]
    join every image's candidate texts except where ``hard_mask`` [B, H] is True (the same string as
    that image's caption); the k in-batch nearest negatives are up-weighted."""
    i2t, pos_i2t, excl = scale * img @ txt.t(), pos, None
    if hard_txt is not None and hard_txt.shape[0]:
        i2t = torch.cat([i2t, scale * img @ hard_txt.t()], 1)
        pos_i2t = torch.cat([pos, pos.new_zeros(pos.shape[0], hard_txt.shape[0])], 1)
        if hard_mask is not None:
            excl = torch.cat([torch.zeros_like(pos), hard_mask], 1)
    i2t = boost_nearest_negatives(i2t, pos_i2t if excl is None else pos_i2t | excl, nn_k, nn_boost)
    t2i = boost_nearest_negatives(scale * txt @ img.t(), pos.t(), nn_k, nn_boost)
    return (soft_info_nce(i2t, pos_i2t, excl) + soft_info_nce(t2i, pos.t())) / 2


def stua_loss(stua_emb: torch.Tensor, txt: torch.Tensor, scale: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """Spiking-to-Text Uni-Alignment: InfoNCE with each text as anchor over the images' spiking
    latents (``stua_emb``); the text features and the temperature are detached, so only the image
    side moves towards the text."""
    return soft_info_nce(scale.detach() * txt.detach() @ stua_emb.t(), pos.t())


def sample_hard_indices(logits: torch.Tensor, pos: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """For each row, one column index sampled with probability softmax(logits row) over its negatives.
    As ALBEF does, the logits are the cosine similarities divided by the temperature (``scale *
    cosine``), so the draw concentrates on the most similar negatives. Raises FloatingPointError on
    non-finite similarities (a diverged model)."""
    weights = logits.detach().float().softmax(1).masked_fill(pos, 0.0)
    if not torch.isfinite(weights).all():
        raise FloatingPointError("non-finite image-text similarities")
    empty = weights.sum(1) <= 0
    weights[empty] = 1.0  # a row without negatives (degenerate tiny batch): sample uniformly
    return torch.multinomial(weights, 1, generator=generator).squeeze(1)


def mean_firing_rate(spikes: list[torch.Tensor]) -> torch.Tensor:
    """Total spikes / total neuron-steps over all spiking layers (0 when there are none)."""
    if not spikes:
        return torch.zeros(())
    total = sum(s.sum() for s in spikes)
    return total / sum(s.numel() for s in spikes)


class VLObjective(nn.Module):
    """The weighted sum of the switched-on objectives; forward returns a dict of scalar tensors
    (each unweighted component, ``firing_rate`` and ``loss``, the weighted total)."""

    def __init__(self, model: nn.Module, loss_cfg):
        super().__init__()
        self.model, self.cfg = model, loss_cfg

    def forward(self, images, ids, pos, hard_ids=None, hard_owner=None, generator=None, hard_mask=None) -> dict:
        c, m = self.cfg, self.model
        img, txt = m.encode_image(images), m.encode_text(ids)
        hard = m.encode_text(hard_ids) if hard_ids is not None and hard_ids.shape[0] else None
        scale = m.logit_scale.clamp(max=math.log(100.0)).exp()
        out = {"firing_rate": mean_firing_rate(img["spikes"])}
        terms = {"itc": (c.itc_weight, lambda: itc_loss(img["emb"], txt["emb"], scale, pos,
                                                        None if hard is None else hard["emb"],
                                                        c.nn_negatives_k, c.nn_negatives_boost, hard_mask)),
                 "itm": (c.itm_weight, lambda: self._itm(img, txt, hard, hard_owner, pos, scale, generator)),
                 "stua": (c.stua_weight, lambda: stua_loss(img["stua_emb"], txt["emb"], scale, pos)),
                 "rate": (c.firing_rate_weight if img["spikes"] else 0.0, lambda: out["firing_rate"])}
        total = scale.new_zeros(())
        for name, (weight, fn) in terms.items():
            if weight > 0:
                out[name] = fn()
                total = total + weight * out[name]
        out["loss"] = total
        return out

    def _itm(self, img, txt, hard, hard_owner, pos, scale, generator) -> torch.Tensor:
        """ITM cross-entropy over: matched pairs, each image with a negative text and each text with a
        negative image sampled from softmax(cosine / temperature), and each image with a hard negative caption."""
        sim = scale * img["emb"] @ txt["emb"].t()
        neg_txt = sample_hard_indices(sim, pos, generator)
        neg_img = sample_hard_indices(sim.t(), pos.t(), generator)
        idx = torch.arange(sim.shape[0], device=sim.device)
        image_rows = [idx, idx, neg_img]
        cls = txt["tokens"][:, :1]  # the ITM head reads the text's [CLS] feature only
        text_tokens = [cls, cls[neg_txt], cls]
        if hard is not None:
            image_rows.append(hard_owner)
            text_tokens.append(hard["tokens"][:, :1])
        logits = self.model.itm_logits(img["itm_tokens"], torch.cat(text_tokens), rows=torch.cat(image_rows))
        labels = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
        labels[: sim.shape[0]] = 1
        return F.cross_entropy(logits, labels)
