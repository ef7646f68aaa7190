"""ASH-Nets checkpoints: atomic save, validated load (``torch.load(weights_only=True)``).

A checkpoint is a dict of plain data: ``format``, ``config`` (nested dict), ``vocab`` (list of str),
``model`` (state dict), ``step``, and optionally ``optimizer``, ``scheduler`` and ``metrics``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ashbench.ashnet.config import from_dict
from ashbench.ashnet.data.tokenizer import WordTokenizer
from ashbench.ashnet.model import build_model
from ashbench.errors import CheckpointError, ConfigError, first_line
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
    except Exception as exc:  # whatever torch.load raises on a damaged file (EOFError, KeyError, ...)
        raise CheckpointError(f"corrupt or truncated checkpoint {path}: {first_line(exc)}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an ASH-Nets checkpoint (expected format {FORMAT!r})")
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {', '.join(missing)}")
    problem = next((f"{key} {why}" for key, check, why in _STRUCTURE if key in data and not check(data[key])), None)
    if problem:
        raise CheckpointError(f"checkpoint {path} is malformed: {problem}")
    return data


def _is_state_dict(value) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and torch.is_tensor(v) for k, v in value.items())


# (key, check, what it must be): the structure of a checkpoint, checked before any use
_STRUCTURE = (
    ("config", lambda v: isinstance(v, dict), "must be a table of config sections"),
    ("vocab", lambda v: isinstance(v, list) and all(isinstance(w, str) for w in v), "must be a list of words"),
    ("model", _is_state_dict, "must map parameter names to tensors"),
    ("step", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "must be an integer >= 0"),
    ("optimizer", lambda v: isinstance(v, dict) and isinstance(v.get("state"), dict), "must be an optimizer state"),
    ("metrics", lambda v: isinstance(v, dict), "must be a table"),
)


def read_config_and_vocab(data: dict, path) -> tuple:
    """(VLConfig, WordTokenizer) of a loaded checkpoint; CheckpointError when either is invalid."""
    try:
        return from_dict(data["config"]), WordTokenizer(list(data["vocab"]))
    except (ConfigError, ValueError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"checkpoint {path} holds an invalid config or vocabulary: {exc}") from None


def load_model(path: str | Path, data: dict | None = None):
    """(model in eval mode, VLConfig, WordTokenizer) from a checkpoint file."""
    data = data if data is not None else load_checkpoint(path)
    cfg, tokenizer = read_config_and_vocab(data, path)
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


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict, path) -> None:
    """Load an optimizer state; CheckpointError unless its groups and moment shapes fit the model."""
    try:
        optimizer.load_state_dict(state)
    except (ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise CheckpointError(f"checkpoint {path} holds an optimizer state of another model: "
                              f"{first_line(exc)}") from None
    for group in optimizer.param_groups:
        for p in group["params"]:
            moments = [v for v in optimizer.state.get(p, {}).values() if torch.is_tensor(v) and v.dim() > 0]
            if any(v.shape != p.shape for v in moments):
                raise CheckpointError(f"checkpoint {path} holds an optimizer state of another shape")
