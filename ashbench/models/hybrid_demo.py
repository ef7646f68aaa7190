"""A small ASH-Net-shaped hybrid (untrained) that exercises every counting rule.

ANN image encoder (conv stem) -> SNN branch (direct encoding over T steps, spiking convs with
multi-step LIF, rate decoding) fused as V = F_ann + r * E_snn, plus a tiny ANN text encoder with
scaled-dot-product attention. Registered as ``hybrid-demo`` and, smaller, ``test-hybrid-tiny``.
Its weights are random (seeded): it is for profiling the toolkit, not for accuracy.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from spikingjelly.activation_based import functional, layer, neuron, surrogate

from ashbench.models.registry import Workload, register_model


class SpikingBranch(nn.Module):
    """Direct-encoded spiking conv stack: [B, C, H, W] -> rate-decoded [B, C, H, W]."""

    def __init__(self, channels: int, timesteps: int):
        super().__init__()
        self.timesteps = timesteps
        self.conv1 = layer.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = layer.BatchNorm2d(channels)
        self.lif1 = neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan(), detach_reset=True)
        self.conv2 = layer.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = layer.BatchNorm2d(channels)
        self.lif2 = neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan(), detach_reset=True)
        functional.set_step_mode(self, "m")
        for bn in (self.bn1, self.bn2):  # untrained: scale so the LIF layers fire (~10-30%)
            nn.init.constant_(bn.weight, 3.0)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = features.unsqueeze(0).repeat(self.timesteps, 1, 1, 1, 1)  # direct encoding [T,B,C,H,W]
        s = self.lif1(self.bn1(self.conv1(x)))
        s = self.lif2(self.bn2(self.conv2(s)) + s)  # residual on spikes (real-valued sum)
        return s.mean(0)  # rate decoding over T


class DemoTextEncoder(nn.Module):
    """One attention layer and an MLP over token embeddings, mean-pooled."""

    def __init__(self, vocab: int, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.embed = nn.Embedding(vocab, dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens)
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        x = x + F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, d)
        x = x + self.mlp(self.norm(x))
        return x.mean(1)


class HybridDemo(nn.Module):
    def __init__(self, width: int = 16, timesteps: int = 4, vocab: int = 64, dim: int = 32):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, stride=2, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                                  nn.Conv2d(width, width, 3, stride=2, padding=1), nn.BatchNorm2d(width), nn.ReLU())
        self.snn = SpikingBranch(width, timesteps)
        self.r = nn.Parameter(torch.tensor(0.5))
        self.image_proj = nn.Linear(width, dim)
        self.text = DemoTextEncoder(vocab, dim, heads=2)

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        f = self.stem(images)
        v = f + self.r * self.snn(f)  # V = F_ann + r * E_snn
        img = F.normalize(self.image_proj(v.mean((2, 3))), dim=-1)
        txt = F.normalize(self.text(tokens), dim=-1)
        return img @ txt.t()


def _workload(batch_size: int, timesteps: int, width: int, size: int) -> Workload:
    torch.manual_seed(0)
    model = HybridDemo(width=width, timesteps=timesteps).eval()
    images = torch.randn(batch_size, 3, size, size, generator=torch.Generator().manual_seed(1)) * 2.0
    tokens = torch.randint(0, 64, (batch_size, 8), generator=torch.Generator().manual_seed(2))
    return Workload(model, (images, tokens), "B", {"description": "untrained ASH-Net-shaped hybrid"})


@register_model("hybrid-demo")
def hybrid_demo(batch_size: int = 8, timesteps: int = 4) -> Workload:
    return _workload(batch_size, timesteps, width=32, size=32)


@register_model("test-hybrid-tiny")
def test_hybrid_tiny(batch_size: int = 2, timesteps: int = 2) -> Workload:
    return _workload(batch_size, timesteps, width=4, size=8)
