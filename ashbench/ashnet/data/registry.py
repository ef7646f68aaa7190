"""The data-set registry of ASH-Nets: one entry per data set, nothing else to touch.

An entry is an object with three methods (see :class:`Dataset`); add one with
``@DATASETS.register("name")`` on its class (an instance is made on lookup) and select it with
``data.dataset = "name"`` in a config. ``shapes`` (procedural, built in) and ``karpathy``
(Karpathy-split JSON + image folder) are the built-in entries.
"""

from __future__ import annotations

from typing import Protocol

from ashbench.ashnet.data.split import VLSplit
from ashbench.errors import ConfigError
from ashbench.registry import Registry


class Dataset(Protocol):
    def load(self, data_cfg, split: str) -> VLSplit:
        """The ``split`` ("train", "val" or "test") as a config's ``data`` section describes it."""

    def example(self, data_cfg, n: int) -> VLSplit:
        """The first ``n`` test images, one caption each: the inputs a profile runs on."""

    def has_split(self, data_cfg, split: str) -> bool:
        """Whether the configured data has a non-empty ``split`` (training validates on "val")."""


DATASETS: Registry[type] = Registry("data set", ConfigError)
