"""ASH-Nets checkpoints: atomic save, validated load (``torch.load(weights_only=True)``).

A checkpoint is a dict of plain data: ``format``, ``config`` (nested dict), ``vocab`` (list of str),
``model`` (state dict), ``step``, and optionally ``optimizer``, ``scheduler`` and ``metrics``.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from ashbench.ashnet.config import from_dict
from ashbench.ashnet.data.tokenizer import WordTokenizer
from ashbench.ashnet.model import build_model
from ashbench.errors import CheckpointError, ConfigError
from ashbench.files import write_atomic

FORMAT = "ashnet-checkpoint-v1"
REQUIRED = ("format", "config", "vocab", "model", "step")


def save_checkpoint(path: str | Path, payload: dict) -> Path:
    """Write ``payload`` (plus the format tag) to ``path`` atomically (``ashbench.files.write_atomic``)."""
    document = {"format": FORMAT, **payload}
    return write_atomic(path, lambda handle: torch.save(document, handle), make_parents=True, error=CheckpointError)


def load_checkpoint(path: str | Path) -> dict:
    """The checkpoint dict; CheckpointError when missing, corrupt, truncated or not an ASH-Nets checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"corrupt or truncated checkpoint {path}: {first_line}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an ASH-Nets checkpoint (expected format {FORMAT!r})")
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {', '.join(missing)}")
    return data


def load_model(path: str | Path, data: dict | None = None):
    """(model in eval mode, VLConfig, WordTokenizer) from a checkpoint file."""
    data = data if data is not None else load_checkpoint(path)
    try:
        cfg = from_dict(data["config"])
        tokenizer = WordTokenizer(list(data["vocab"]))
    except (ConfigError, ValueError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"checkpoint {path} holds an invalid config or vocabulary: {exc}") from None
    model = build_model(cfg, len(tokenizer))
    load_state(model, data["model"], path)
    return model.eval(), cfg, tokenizer


def load_state(model: torch.nn.Module, state: dict, path) -> None:
    """Load a state dict strictly; CheckpointError naming the first mismatch (another architecture)."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    wrong = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or extra or wrong:
        what = (f"missing {missing[0]}" if missing else f"unexpected {extra[0]}" if extra
                else f"{wrong[0]} has shape {tuple(state[wrong[0]].shape)}, expected {tuple(own[wrong[0]].shape)}")
        raise CheckpointError(f"checkpoint {path} is of another architecture: {what}")
    model.load_state_dict(state)
