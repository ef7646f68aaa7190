"""Reading a user's TOML file with one-line typed errors (no torch import)."""

from __future__ import annotations

import tomllib
from pathlib import Path


def read_toml(path: str | Path, error: type[Exception], what: str) -> dict:
    """Parse ``path``; raise ``error`` naming ``what`` when it is missing or malformed."""
    file = Path(path)
    if not file.is_file():
        raise error(f"{what} not found: {path}")
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error(f"malformed {what} TOML {path}: {exc}") from None
