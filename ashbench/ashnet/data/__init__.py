"""Image-caption data for ASH-Nets: the procedural ``shapes`` and ``scenes`` sets and Karpathy-split JSON sets.

Every data set yields a :class:`VLSplit`: a uint8 image tensor plus, per image, its captions and,
per caption, its hard negative captions (possibly none). Data sets are entries of
:data:`ashbench.ashnet.data.registry.DATASETS`; importing this package registers the built-in ones.
"""

from __future__ import annotations

from ashbench.ashnet.data import karpathy, scenes, shapes  # noqa: F401  (registers the built-in data sets)
from ashbench.ashnet.data.registry import DATASETS
from ashbench.ashnet.data.split import BASIC_SPLITS, SPLITS, VLSplit
from ashbench.errors import DataError

__all__ = ["DATASETS", "SPLITS", "VLSplit", "dataset_names", "example_split", "has_split", "load_split"]


def _dataset(data_cfg):
    return DATASETS.get(data_cfg.dataset)()


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")


def _offers(dataset, split: str) -> bool:
    """Whether a data set knows ``split`` at all: every one knows train/val/test; others (e.g.
    "compositional") only when the entry lists them in an ``extra_splits`` attribute."""
    return split in BASIC_SPLITS or split in getattr(dataset, "extra_splits", ())


def load_split(data_cfg, split: str) -> VLSplit:
    """The ``split`` ("train", "val", "test" or, where offered, "compositional") of the configured data set."""
    _check_split(split)
    dataset = _dataset(data_cfg)
    if not _offers(dataset, split):
        raise DataError(f"data set {data_cfg.dataset!r} has no {split!r} split")
    return dataset.load(data_cfg, split)


def has_split(data_cfg, split: str) -> bool:
    _check_split(split)
    dataset = _dataset(data_cfg)
    return _offers(dataset, split) and dataset.has_split(data_cfg, split)


def example_split(data_cfg, n: int) -> VLSplit:
    """The first ``n`` test images of the configured data set, one caption each."""
    return _dataset(data_cfg).example(data_cfg, n)


def dataset_names() -> list[str]:
    return DATASETS.names()
