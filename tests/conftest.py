"""Session fixtures shared by the test modules (the ``slow`` marker is declared in pyproject.toml)."""

from __future__ import annotations

import pytest

from ashbench.ashnet.train import train


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> str:
    """One tiny trained ASH-Net (preset test-tiny, 3 steps, no validation split), trained once per
    session: the path of its ``model.pt``. Tests read it and never write to it."""
    out = tmp_path_factory.mktemp("tiny_run")
    return train("test-tiny", out, overrides=["train.steps=3", "data.n_val=0"]).checkpoint
