"""ASH-Nets: a hybrid ANN+SNN vision-language model (after arXiv 2308.09455; fusion after GSHN, 2501.19069).

* Visual concrete encoder (ANN): conv stem or patch-embedding transformer -> continuous patch
  features [B, N, Dv] and a global continuous latent F_ann [B, Dv].
* Semantic abstract encoder (SNN, spikingjelly): takes the concrete patch features (not pixels),
  normalises them (LayerNorm), encodes them over T steps (direct: repeated; or Poisson/rate coding),
  runs spiking MLP blocks (optional spiking self-attention) and reads the discrete spike latents
  out by rate over T (or learnable weights per step) -> E_snn [B, Dv].
* Fusion V = F_ann + r * E_snn with learnable r (mode "hybrid"); "ann" uses F_ann only; "snn" runs
  the SNN on a one-layer patchify stem and uses E_snn only.
* Text encoder: a small pre-norm transformer over word ids; its [CLS] output is the text feature.
* Projection heads to a shared embedding space (images, texts, and the spiking latent for STUA) and a
  cross-attention fusion head that scores image-text matching (ITM).

``forward(images, token_ids)`` runs all of it but the ITM head and returns the image-text
similarity matrix [B_images, B_texts] (cosine similarity divided by the learned temperature).
"""

from __future__ import annotations

import math
import zlib
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional, layer, neuron
from torch import nn

from ashbench.ashnet.config import VLConfig
from ashbench.ashnet.neurons import make_neuron
from ashbench.errors import InputError

# --- building blocks ------------------------------------------------------------------------

class TransformerBlock(nn.Module):
    """Pre-norm self-attention (scaled_dot_product_attention) + MLP; optional key padding mask."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.out = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None, first_only: bool = False) -> torch.Tensor:
        """[B, N, D] -> [B, N, D]; with ``first_only`` only row 0 ([B, 1, D]): its query attends to every
        key and value, and the rows no later layer reads are never computed (same values for row 0)."""
        b, n, d = x.shape
        heads, h = self.heads, self.norm1(x)
        if first_only:
            q = F.linear(h[:, :1], self.qkv.weight[:d], self.qkv.bias[:d]).view(b, 1, heads, d // heads).transpose(1, 2)
            k, v = F.linear(h, self.qkv.weight[d:], self.qkv.bias[d:]).view(b, n, 2, heads, d // heads) \
                .permute(2, 0, 3, 1, 4)
            x = x[:, :1]
        else:
            q, k, v = self.qkv(h).view(b, n, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
        mask = None if keep is None else keep[:, None, None, :]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = x + self.out(y.transpose(1, 2).reshape(b, x.shape[1], d))
        return x + self.mlp(self.norm2(x))


class CrossBlock(nn.Module):
    """Text tokens attend to image tokens (pre-norm cross-attention + MLP): the ITM fusion head."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm_q, self.norm_kv, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width), nn.LayerNorm(width)
        self.q, self.kv, self.out = nn.Linear(width, width), nn.Linear(width, 2 * width), nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))

    def forward(self, text: torch.Tensor, image: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """text [B, n, D] attends to image [B, m, D], or with ``rows`` [B] to ``image[rows]`` (keys and
        values are computed once per image, then gathered: the same values as gathering first)."""
        b, n, d = text.shape
        h = self.heads
        q = self.q(self.norm_q(text)).view(b, n, h, d // h).transpose(1, 2)
        kv = self.kv(self.norm_kv(image))
        kv = kv if rows is None else kv[rows]
        k, v = kv.view(b, image.shape[1], 2, h, d // h).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v)
        x = text + self.out(y.transpose(1, 2).reshape(b, n, d))
        return x + self.mlp(self.norm2(x))


class TokenBatchNorm(nn.BatchNorm1d):
    """BatchNorm over the last (feature) dimension of a tensor of any rank."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.reshape(-1, x.shape[-1])).view_as(x)


# --- visual concrete encoder (ANN) ----------------------------------------------------------

class ConvStem(nn.Module):
    """``depth`` stride-2 3x3 conv + BN + ReLU layers -> patch tokens [B, (S/2^depth)^2, width]."""

    def __init__(self, width: int, depth: int, image_size: int):
        super().__init__()
        chans = [3] + [max(8, width >> max(0, depth - 2 - i)) for i in range(depth)]
        self.convs = nn.Sequential(*[nn.Sequential(nn.Conv2d(chans[i], chans[i + 1], 3, 2, 1, bias=False),
                                                   nn.BatchNorm2d(chans[i + 1]), nn.ReLU())
                                     for i in range(depth)])
        self.num_tokens = (image_size >> depth) ** 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.convs(x).flatten(2).transpose(1, 2)


class PatchStem(nn.Module):
    """Patch embedding (conv, stride = patch) + positions, then ``depth`` transformer blocks (0: none)."""

    def __init__(self, width: int, depth: int, image_size: int, patch: int, heads: int):
        super().__init__()
        self.embed = nn.Conv2d(3, width, patch, patch)
        self.num_tokens = (image_size // patch) ** 2
        self.pos = nn.Parameter(torch.zeros(1, self.num_tokens, width))
        nn.init.trunc_normal_(self.pos, std=0.02)
        self.blocks = nn.ModuleList([TransformerBlock(width, heads) for _ in range(depth)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x).flatten(2).transpose(1, 2) + self.pos
        for block in self.blocks:
            x = block(x)
        return x


class ConcreteEncoder(nn.Module):
    """ANN image encoder: continuous patch features and a global continuous latent F_ann.

    In mode "snn" there is no global latent: with ``snn_stem="patch"`` the stem is one patchify
    layer; with ``snn_stem="conv"`` there is no ANN layer at all (``stem`` is None) and the pixels
    go to the abstract encoder, whose spiking conv stem (:class:`SpikingConvStem`) takes them."""

    def __init__(self, cfg: VLConfig):
        super().__init__()
        m, size = cfg.model, cfg.data.image_size
        self.norm = nn.LayerNorm(m.vision_width)
        if m.mode == "snn" and m.snn_stem == "conv":
            self.stem, self.norm = None, None
            self.num_tokens = (size >> m.vision_depth) ** 2
        elif m.mode == "snn":  # minimal stem: one patchify layer, no global ANN latent
            self.stem = PatchStem(m.vision_width, 0, size, m.patch_size, m.vision_heads)
        elif m.vision == "vit":
            self.stem = PatchStem(m.vision_width, m.vision_depth, size, m.patch_size, m.vision_heads)
        else:
            self.stem = ConvStem(m.vision_width, m.vision_depth, size)
        if self.stem is not None:
            self.num_tokens = self.stem.num_tokens
        self.pool = None if m.mode == "snn" else nn.Linear(self.num_tokens * m.vision_width, m.vision_width)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.stem is None:
            return images, None
        tokens = self.norm(self.stem(images))
        return tokens, (None if self.pool is None else self.pool(tokens.flatten(1)))


class SpikingConvStem(nn.Module):
    """The conv stem's hierarchy (same channels, stride-2 3x3 conv + BN per layer) with a spiking
    neuron in place of each ReLU, run over T steps on the directly encoded image: [T, B, 3, H, W] ->
    spike tokens [T, B, (S/2^depth)^2, width]. Only the first conv sees real values (the pixels)."""

    def __init__(self, cfg: VLConfig):
        super().__init__()
        m = cfg.model
        depth = m.vision_depth
        chans = [3] + [max(8, m.vision_width >> max(0, depth - 2 - i)) for i in range(depth)]
        self.layers = nn.ModuleList(
            nn.ModuleDict({"conv": nn.Conv2d(chans[i], chans[i + 1], 3, 2, 1, bias=False),
                           "bn": nn.BatchNorm2d(chans[i + 1]), "sn": make_neuron(m)})
            for i in range(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t, b = x.shape[:2]
        for lay in self.layers:
            y = lay["bn"](lay["conv"](x.flatten(0, 1)))
            x = lay["sn"](y.view(t, b, *y.shape[1:]))
        return x.flatten(3).transpose(2, 3)


# --- semantic abstract encoder (SNN) --------------------------------------------------------

class SpikingMLP(nn.Module):
    """Linear -> BN -> spiking neuron, applied at every time step ([T, B, N, D] in and out)."""

    def __init__(self, cfg, d_in: int, d_out: int):
        super().__init__()
        self.fc = layer.Linear(d_in, d_out, step_mode="m")
        self.bn = TokenBatchNorm(d_out)
        self.sn = make_neuron(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sn(self.bn(self.fc(x)))


class SpikingSelfAttention(nn.Module):
    """Spikformer SSA: spiking Q, K, V; attention = Q K^T V * scale (no softmax), then a spiking projection."""

    def __init__(self, cfg, width: int, heads: int):
        super().__init__()
        self.heads, self.scale = heads, 0.125
        self.q, self.k, self.v = (SpikingMLP(cfg, width, width) for _ in range(3))
        self.attn_sn = make_neuron(cfg, v_threshold=0.5)
        self.proj = SpikingMLP(cfg, width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t, b, n, d = x.shape
        split = lambda s: s.view(t, b, n, self.heads, d // self.heads).transpose(2, 3)  # noqa: E731
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        y = (q @ k.transpose(-2, -1)) @ v * self.scale
        return self.proj(self.attn_sn(y.transpose(2, 3).reshape(t, b, n, d)))


class AbstractEncoder(nn.Module):
    """SNN over the concrete patch features: encode over T steps, spiking blocks, rate read-out.

    ``forward`` also returns the binary outputs of every neuron layer (named ``neuron_names``), in
    execution order; nothing of a forward is kept in the module afterwards."""

    def __init__(self, cfg: VLConfig, num_tokens: int):
        super().__init__()
        m = cfg.model
        self.timesteps, self.encoding, self.decoding = m.timesteps, m.encoding, m.decoding
        conv_stem = m.mode == "snn" and m.snn_stem == "conv"
        self.norm = None if conv_stem else nn.LayerNorm(m.vision_width)
        self.stem = SpikingConvStem(cfg) if conv_stem else None  # takes the (normalised) pixels
        blocks: list[nn.Module] = []
        for i in range(m.snn_depth):
            if m.snn_attention and i > 0:
                blocks.append(SpikingSelfAttention(m, m.snn_width, m.snn_heads))
            blocks.append(SpikingMLP(m, m.vision_width if i == 0 else m.snn_width, m.snn_width))
        self.blocks = nn.ModuleList(blocks)
        self.readout = layer.Linear(num_tokens * m.snn_width, m.vision_width, step_mode="m")
        self.step_logits = nn.Parameter(torch.zeros(m.timesteps)) if m.decoding == "weighted" else None
        self.neuron_names = [n for n, mod in self.named_modules() if isinstance(mod, neuron.BaseNode)]

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Direct coding: the normalised features repeated T times; Poisson: Bernoulli(sigmoid(x))
        spikes with a straight-through gradient. With the spiking conv stem the input is the image
        [B, 3, H, W], coded the same way, and the stem's spike tokens [T, B, N, C] come out."""
        x = (tokens if self.norm is None else self.norm(tokens)).unsqueeze(0)
        x = x.repeat(self.timesteps, *([1] * tokens.dim()))
        if self.encoding == "poisson":
            p = torch.sigmoid(x)
            x = p + (torch.bernoulli(p.detach()) - p).detach()
        return x if self.stem is None else self.stem(x)

    def decode(self, per_step: torch.Tensor) -> torch.Tensor:
        """Mean over T (rate) or a softmax-weighted sum with one learnable weight per step."""
        if self.step_logits is None:
            return per_step.mean(0)
        if self.step_logits.numel() != per_step.shape[0]:
            raise InputError(f"weighted decoding was trained for T={self.step_logits.numel()}, "
                             f"not T={per_step.shape[0]}")
        return torch.einsum("t,t...->...", self.step_logits.softmax(0), per_step)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """(E_snn [B, Dv], spike latents [T, B, N, Ds], every neuron layer's spikes in execution order)."""
        functional.reset_net(self)
        spikes: list[torch.Tensor] = []
        handles = [self.get_submodule(name).register_forward_hook(lambda m, a, out: spikes.append(out))
                   for name in self.neuron_names]
        try:
            x = self.encode(tokens)
            for block in self.blocks:
                x = block(x)
        finally:
            for handle in handles:
                handle.remove()
        return self.decode(self.readout(x.flatten(2))), x, spikes


# --- text encoder ---------------------------------------------------------------------------

class TextEncoder(nn.Module):
    """Word embeddings + positions -> pre-norm transformer -> [CLS] feature and token features."""

    def __init__(self, cfg: VLConfig, vocab_size: int):
        super().__init__()
        m = cfg.model
        self.embed = nn.Embedding(vocab_size, m.text_width, padding_idx=0)
        self.pos = nn.Parameter(torch.zeros(1, m.max_text_len, m.text_width))
        nn.init.trunc_normal_(self.pos, std=0.02)
        self.blocks = nn.ModuleList([TransformerBlock(m.text_width, m.text_heads) for _ in range(m.text_depth)])
        self.norm = nn.LayerNorm(m.text_width)

    def forward(self, ids: torch.Tensor, cls_only: bool = True) -> torch.Tensor:
        """Token features [B, L, D]; with ``cls_only`` (the default) the [CLS] feature [B, 1, D] alone,
        the one thing read downstream (retrieval embedding and ITM query): the padding columns no
        caption of the batch uses are dropped (they are masked keys: no value changes) and the last
        block computes only the [CLS] row."""
        if cls_only:
            used = (ids != 0).any(0).nonzero()
            ids = ids[:, : int(used.max()) + 1 if used.numel() else 1]
        keep = ids != 0
        x = self.embed(ids) + self.pos[:, : ids.shape[1]]
        for i, block in enumerate(self.blocks):
            x = block(x, keep, first_only=cls_only and i == len(self.blocks) - 1)
        return self.norm(x)


# --- the whole model ------------------------------------------------------------------------

class ASHNet(nn.Module):
    """The whole model. Each part is initialised from its own seed, derived from ``seed`` and the
    part's name (:func:`part_seed`), so models of different modes built with one seed start from
    identical weights in every part they share (stem, text encoder, projections, ITM head): seeds
    are paired across modes."""

    def __init__(self, cfg: VLConfig, vocab_size: int, seed: int = 0):
        super().__init__()
        m = cfg.model
        self.mode = m.mode
        part = lambda name: _part_rng(seed, name)  # noqa: E731
        with part("concrete"):
            self.concrete = ConcreteEncoder(cfg)
        with part("abstract"):
            self.abstract = None if m.mode == "ann" else AbstractEncoder(cfg, self.concrete.num_tokens)
        self.r = nn.Parameter(torch.tensor(float(m.r_init))) if m.mode == "hybrid" else None
        # exact shortcuts of the training step (same values; False runs the naive computation, the
        # "before" of benchmarks/train_speed.py): [CLS]-only text, ITM keys and values once per image
        self.shortcuts = True
        with part("text"):
            self.text = TextEncoder(cfg, vocab_size)
        with part("projections"):
            self.image_proj = nn.Linear(m.vision_width, m.embed_dim)
            self.text_proj = nn.Linear(m.text_width, m.embed_dim)
        with part("stua"):  # STUA's head: the spike latent's, or in mode "ann" the concrete latent's
            self.spike_proj = None if self.abstract is None else nn.Linear(m.vision_width, m.embed_dim)
            self.concrete_proj = (nn.Linear(m.vision_width, m.embed_dim)
                                  if self.abstract is None and cfg.loss.stua_weight > 0 else None)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / cfg.loss.temperature_init)))
        with part("itm"):
            self.itm_text = nn.Linear(m.text_width, m.embed_dim)
            self.itm_image = nn.Linear(m.vision_width, m.embed_dim)
            self.itm_block = CrossBlock(m.embed_dim, m.itm_heads)
            self.itm_head = nn.Linear(m.embed_dim, 2)
            # where each image token is (the fused global token first, then the patches)
            self.itm_pos = nn.Parameter(nn.init.trunc_normal_(torch.zeros(1, 1 + self.concrete.num_tokens,
                                                                          m.embed_dim), std=0.02))
        with part("itm_spike"):
            self.itm_spike = None if self.abstract is None else nn.Linear(m.snn_width, m.embed_dim)

    @property
    def timesteps(self) -> int | None:
        return None if self.abstract is None else self.abstract.timesteps

    def set_timesteps(self, timesteps: int) -> None:
        if timesteps < 1:
            raise InputError(f"timesteps must be >= 1, got {timesteps}")
        if self.abstract is not None:
            self.abstract.timesteps = int(timesteps)

    def encode_image(self, images: torch.Tensor, heads: bool = True) -> dict:
        """emb (unit [B, E]); with ``heads`` also the ITM tokens, every neuron layer's spikes and
        stua_emb (unit, what STUA aligns: the spike latent E_snn, or in mode "ann" with STUA on the
        concrete latent F_ann through its own head; None otherwise). Retrieval (``forward``) needs only
        ``emb``: ``heads=False`` skips the training-time heads, so the profiler counts exactly the
        retrieval work."""
        x = images.float() / 255.0 if images.dtype == torch.uint8 else images
        tokens, f_ann = self.concrete((x - 0.5) / 0.25)
        out = {"spikes": [], "stua_emb": None}
        e_snn = spikes = layer_spikes = None
        if self.abstract is not None:
            e_snn, spikes, layer_spikes = self.abstract(tokens)
        v = f_ann if e_snn is None else (e_snn if self.r is None else f_ann + self.r * e_snn)
        out["emb"] = F.normalize(self.image_proj(v), dim=-1)
        if heads:
            out.update(self._head_outputs(tokens, v, e_snn, spikes, layer_spikes))
            if self.concrete_proj is not None:
                out["stua_emb"] = F.normalize(self.concrete_proj(f_ann), dim=-1)
        return out

    def _head_outputs(self, tokens, v, e_snn, spikes, layer_spikes) -> dict:
        """ITM image tokens (the fused latent first) and the STUA embedding of the spike latent."""
        if e_snn is None:
            itm_tokens, extra = self.itm_image(tokens), {}
        else:
            rate_tokens = self.itm_spike(spikes.mean(0))
            itm_tokens = rate_tokens if self.r is None else self.itm_image(tokens) + self.r * rate_tokens
            extra = {"spikes": layer_spikes, "stua_emb": F.normalize(self.spike_proj(e_snn), dim=-1)}
        global_token = self.itm_image(v).unsqueeze(1)
        return {"itm_tokens": torch.cat([global_token, itm_tokens], 1), **extra}

    def encode_text(self, ids: torch.Tensor) -> dict:
        """emb (unit [B, E]) and tokens: the text encoder's [CLS] feature [B, 1, D] (ITM's query)."""
        feats = self.text(ids, cls_only=self.shortcuts)
        return {"emb": F.normalize(self.text_proj(feats[:, 0]), dim=-1), "tokens": feats}

    def itm_logits(self, image_tokens: torch.Tensor, text_tokens: torch.Tensor,
                   rows: torch.Tensor | None = None) -> torch.Tensor:
        """[B, 2] logits (not matched, matched) of paired rows of image tokens (or of ``image_tokens[rows]``)
        and text tokens; the
        text's [CLS] feature queries the image tokens, with their position embeddings added, through
        one cross-attention block."""
        if rows is not None and not self.shortcuts:
            image_tokens, rows = image_tokens[rows], None
        fused = self.itm_block(self.itm_text(text_tokens[:, :1]), image_tokens + self.itm_pos, rows)
        return self.itm_head(fused[:, 0])

    def forward(self, images: torch.Tensor, token_ids: torch.Tensor) -> torch.Tensor:
        img, txt = self.encode_image(images, heads=False), self.encode_text(token_ids)
        return self.logit_scale.exp() * img["emb"] @ txt["emb"].t()


def part_seed(seed: int, part: str) -> int:
    """The initial-weight seed of one part of the model: a function of the run's seed and the part's
    name only (CRC-32 of the name), never of which other parts exist."""
    return (seed * 1_000_003 + zlib.crc32(part.encode())) % (1 << 63)


@contextmanager
def _part_rng(seed: int, part: str):
    torch.manual_seed(part_seed(seed, part))
    yield


def build_model(cfg: VLConfig, vocab_size: int, seed: int | None = None) -> ASHNet:
    """A fresh ASHNet; ``seed`` (default: the config's train seed) fixes the initial weights, part
    by part (see :class:`ASHNet`). The caller's global RNG state is left as it was."""
    with torch.random.fork_rng(devices=[]):
        return ASHNet(cfg, vocab_size, cfg.train.seed if seed is None else seed)
