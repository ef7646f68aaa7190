"""The unit every ASH-Nets data set yields: a split of images with their captions and hard negatives."""

from __future__ import annotations

from dataclasses import dataclass

import torch

SPLITS = ("train", "val", "test")


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
