"""Image-caption data for ASH-Nets: the procedural ``shapes`` set and Karpathy-split JSON sets.

Every source yields a :class:`VLSplit`: a uint8 image tensor plus, per image, its captions and,
per caption, its hard negative captions (possibly none).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class VLSplit:
    images: torch.Tensor  # uint8 [N, 3, H, W]
    captions: list[list[str]]  # per image: its captions
    negatives: list[list[list[str]]]  # per image, per caption: hard negative captions
    name: str = ""

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def flat_captions(self) -> tuple[list[str], torch.Tensor, list[list[str]]]:
        """All captions in order, the image index of each, and each caption's hard negatives."""
        texts, owners, negs = [], [], []
        for i, (caps, caps_negs) in enumerate(zip(self.captions, self.negatives)):
            for j, cap in enumerate(caps):
                texts.append(cap)
                owners.append(i)
                negs.append(caps_negs[j] if j < len(caps_negs) else [])
        return texts, torch.tensor(owners, dtype=torch.long), negs

    def head(self, n: int) -> "VLSplit":
        return VLSplit(self.images[:n], self.captions[:n], self.negatives[:n], self.name)


def load_split(data_cfg, split: str) -> VLSplit:
    """The ``split`` ("train", "val" or "test") of the data set a ``DataConfig`` names."""
    if data_cfg.dataset == "karpathy":
        from ashbench.data.karpathy import load_karpathy

        return load_karpathy(data_cfg.karpathy_json, data_cfg.image_root, split, image_size=data_cfg.image_size)
    from ashbench.data.shapes import build_split

    n = {"train": data_cfg.n_train, "val": data_cfg.n_val, "test": data_cfg.n_test}[split]
    return build_split(data_cfg.seed, split, n, image_size=data_cfg.image_size, max_objects=data_cfg.max_objects,
                       captions=data_cfg.captions_per_image, negatives=data_cfg.negatives_per_caption,
                       cache_dir=data_cfg.cache_dir)
