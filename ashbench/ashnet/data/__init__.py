"""Image-caption data for ASH-Nets: the procedural ``shapes`` set and Karpathy-split JSON sets.

Every data set yields a :class:`VLSplit`: a uint8 image tensor plus, per image, its captions and,
per caption, its hard negative captions (possibly none). Data sets are entries of
:data:`ashbench.ashnet.data.registry.DATASETS`; importing this package registers the built-in ones.
"""

from __future__ import annotations

from ashbench.ashnet.data import karpathy, shapes  # noqa: F401  (registers the built-in data sets)
from ashbench.ashnet.data.registry import DATASETS
from ashbench.ashnet.data.split import SPLITS, VLSplit
from ashbench.errors import DataError

__all__ = ["DATASETS", "SPLITS", "VLSplit", "dataset_names", "example_split", "has_split", "load_split"]


def _dataset(data_cfg):
    return DATASETS.get(data_cfg.dataset)()


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")


def load_split(data_cfg, split: str) -> VLSplit:
    """The ``split`` ("train", "val" or "test") of the data set a ``DataConfig`` names."""
    _check_split(split)
    return _dataset(data_cfg).load(data_cfg, split)


def has_split(data_cfg, split: str) -> bool:
    _check_split(split)
    return _dataset(data_cfg).has_split(data_cfg, split)


def example_split(data_cfg, n: int) -> VLSplit:
    """The first ``n`` test images of the configured data set, one caption each."""
    return _dataset(data_cfg).example(data_cfg, n)


def dataset_names() -> list[str]:
    return DATASETS.names()
