"""The unit every ASH-Nets data set yields: a split of images with their captions and hard negatives.

Splits: ``train``, ``val``, ``test`` (every data set), and ``compositional`` (only data sets with
held-out combinations, e.g. ``scenes``: images whose captions use colour x shape or (shape, relation,
shape) combinations that never occur in the other splits; see :mod:`ashbench.ashnet.data.scenes`).

Optional fields (``None`` for data sets without them):

* ``negative_kinds``: parallel to ``negatives``, the kind of each hard negative (e.g. ``"colour"``,
  ``"count"``, ``"relation_flip"``).
* ``scene``: float [N, M, 5] scene graph per image: ``(colour id, shape id, size id, x, y)`` of up to M
  objects (colour id -1 pads); ``caption_specs`` int [N, K, W] and ``negative_specs`` int [N, K, H, W]:
  the encoded meaning of each caption and hard negative (a row with first count 0 pads). With them the
  truth of any caption of any image is decided by the scene graph (``scenes.truth_matrix``), not by
  string identity.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

SPLITS = ("train", "val", "test", "compositional")
BASIC_SPLITS = ("train", "val", "test")  # the splits every data set may have


@dataclass
class VLSplit:
    images: torch.Tensor  # uint8 [N, 3, H, W]
    captions: list[list[str]]  # per image: its captions
    negatives: list[list[list[str]]]  # per image, per caption: hard negative captions
    name: str = ""
    negative_kinds: list[list[list[str]]] | None = None  # parallel to negatives: the kind of each
    scene: torch.Tensor | None = None  # float [N, M, 5] (colour, shape, size, x, y); colour -1 pads
    caption_specs: torch.Tensor | None = None  # int [N, K, W]: the meaning of each caption
    negative_specs: torch.Tensor | None = None  # int [N, K, H, W]: of each hard negative (count 0 pads)

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

    def flat_negative_kinds(self) -> list[list[str]] | None:
        """Per caption (in ``flat_captions`` order) the kind of each of its hard negatives, or None."""
        if self.negative_kinds is None:
            return None
        out = []
        for caps, kinds in zip(self.captions, self.negative_kinds):
            out += [kinds[j] if j < len(kinds) else [] for j in range(len(caps))]
        return out

    @property
    def has_scene_graph(self) -> bool:
        return self.scene is not None and self.caption_specs is not None

    def head(self, n: int) -> "VLSplit":
        def cut(x):
            return None if x is None else x[:n]

        return VLSplit(self.images[:n], self.captions[:n], self.negatives[:n], self.name,
                       cut(self.negative_kinds), cut(self.scene), cut(self.caption_specs), cut(self.negative_specs))
