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
"""

from __future__ import annotations

import platform
import time
from importlib import metadata

import torch

from ashbench.ashnet.checkpoint import load_model
from ashbench.ashnet.data import VLSplit, load_split
from ashbench.ashnet.workloads import example_inputs
from ashbench.energy import estimate_energy
from ashbench.profiler.engine import profile


def recall_at_k(sim: torch.Tensor, txt_to_img: torch.Tensor, ks=(1, 5, 10)) -> dict[str, float]:
    """Image->text and text->image recall@k (percent) and their mean, from sim [N_images, N_texts]."""
    n_img = sim.shape[0]
    own = sim[txt_to_img, torch.arange(sim.shape[1])]  # [N_texts]: score of each text with its image
    t2i_rank = (sim >= own[None, :]).sum(0) - 1  # other images scoring at least as high
    gt = torch.zeros_like(sim, dtype=torch.bool)
    gt[txt_to_img, torch.arange(sim.shape[1])] = True
    best = sim.masked_fill(~gt, float("-inf")).max(1).values  # best own caption per image
    i2t_rank = ((sim >= best[:, None]) & ~gt).sum(1)  # other images' captions scoring at least as high
    out = {}
    for k in ks:
        out[f"i2t_r{k}"] = 100.0 * (i2t_rank < k).float().sum().item() / n_img
    for k in ks:
        out[f"t2i_r{k}"] = 100.0 * (t2i_rank < k).float().mean().item()
    out["mean_recall"] = sum(out.values()) / len(out)
    return out


def hard_negative_accuracy(pos_scores: torch.Tensor, neg_scores: torch.Tensor, neg_valid: torch.Tensor) -> float:
    """Percent of captions with >= 1 hard negative whose score beats all of them (strictly).
    pos_scores [M]; neg_scores, neg_valid [M, H] (invalid entries are ignored)."""
    has_neg = neg_valid.any(1)
    if not has_neg.any():
        return float("nan")
    beaten = (pos_scores[:, None] > neg_scores) | ~neg_valid
    return 100.0 * beaten.all(1)[has_neg].float().mean().item()


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


def retrieval_report(model, split: VLSplit, tokenizer, max_len: int, device="cpu") -> dict:
    """Recalls, hard-negative accuracies (ITC and ITM) and firing rates of ``model`` on ``split``."""
    model.eval()
    emb = embed_split(model, split, tokenizer, max_len, device)
    scores = hard_negative_scores(model, emb, tokenizer, max_len, device)
    return {"retrieval": recall_at_k(emb["img"] @ emb["txt"].t(), emb["owners"]),
            "hard_negative_accuracy": hard_negative_accuracy(*scores["itc"], scores["valid"]),
            "hard_negative_accuracy_itm": hard_negative_accuracy(*scores["itm"], scores["valid"]),
            "n_images": len(split), "n_captions": int(emb["owners"].numel()),
            "firing_rate": firing_rates(emb, model)}


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
             energy_model: str = "45nm-fp32", timesteps: int | None = None, device: str | None = None) -> dict:
    """Evaluate a checkpoint on a split of its own data set; a JSON-able dict (see the module doc)."""
    started = time.perf_counter()
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model, cfg, tokenizer = load_model(checkpoint)
    if timesteps is not None:
        model.set_timesteps(timesteps)
    data = load_split(cfg.data, split)
    with torch.random.fork_rng(devices=[]):  # Poisson encoding draws from the RNG: seeded, then restored
        torch.manual_seed(cfg.train.seed)
        report = retrieval_report(model.to(device), data, tokenizer, cfg.model.max_text_len, device)
    result = {"checkpoint": str(checkpoint), "config_name": cfg.name, "config": cfg.to_dict(),
              "seed": cfg.train.seed, "data_seed": cfg.data.seed, "split": split, "mode": cfg.model.mode,
              "timesteps": model.timesteps, **report}
    if profile:
        inputs = example_inputs(cfg, tokenizer, batch_size)
        result["efficiency"] = efficiency(model.cpu(), inputs, energy_model)
    result["versions"] = package_versions()
    result["wall_s"] = time.perf_counter() - started
    return result
