"""The one I/O layer: atomic writes and readers with one-line typed errors (no torch import).

Every file ashbench writes (reports, tables, figures, runs tables, profiles, checkpoints, data
caches) goes through :func:`write_atomic`: the bytes go to a temporary file in the target's own
folder, are flushed and fsync'ed, and the temporary file is renamed over the target, so a reader
(or a process killed at any moment) sees the old file or the new one, never half of one. On any
failure the temporary file is removed. The file gets the mode a plain ``open(path, "w")`` would
give it (0666 less the umask), not ``mkstemp``'s 0600.

User files (TOML energy models, configs, sweep specs; JSON reports) are read with
:func:`read_toml` / :func:`read_json`, which raise the caller's ``AshbenchError`` subclass with
one line naming the file.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from pathlib import Path
from typing import BinaryIO, Callable

from ashbench.errors import AshbenchError, InputError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_output_path(path: str | os.PathLike, error: type[AshbenchError] = InputError) -> Path:
    """``path`` as a Path, after checking that a file can be written there: the path is not a
    folder, its folder exists, and a file can be created in it (tried, then removed: permission
    bits say nothing for root or a read-only file system). Raises ``error`` with one line otherwise."""
    target = _checked_target(path, error)
    fd, probe = _temp_file(target, ".probe", error)
    os.close(fd)
    os.unlink(probe)
    return target


def _checked_target(path: str | os.PathLike, error: type[AshbenchError]) -> Path:
    target = Path(path)
    if target.is_dir():
        raise error(f"output path is a folder: {target}")
    if not target.parent.is_dir():
        raise error(f"output folder does not exist: {target.parent}")
    return target


def _temp_file(target: Path, suffix: str, error: type[AshbenchError]) -> tuple[int, str]:
    try:
        return tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    except OSError as exc:
        raise error(f"cannot write in {target.parent}: {exc.strerror}") from None


def write_atomic(path: str | os.PathLike, data: str | bytes | Callable[[BinaryIO], None], *,
                 make_parents: bool = False, error: type[AshbenchError] = InputError) -> Path:
    """Write ``data`` (text, bytes, or a function that writes to a binary handle) to ``path``
    atomically: temp file in the same folder, fsync, rename; the temp file is removed on failure."""
    if make_parents:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    target = _checked_target(path, error)
    fd, tmp = _temp_file(target, ".tmp", error)
    try:
        _write_and_rename(fd, tmp, target, data)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise error(f"cannot write {target}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _write_and_rename(fd: int, tmp: str, target: Path, data) -> None:
    with os.fdopen(fd, "wb") as handle:
        if callable(data):
            data(handle)
        else:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, target)


def _read_text(path: str | os.PathLike, error: type[AshbenchError], what: str) -> str:
    file = Path(path)
    if not file.is_file():
        raise error(f"{what} not found: {path}")
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{what} {path} is not UTF-8 text: {exc}") from None


def read_toml(path: str | os.PathLike, error: type[AshbenchError], what: str) -> dict:
    """Parse a TOML file; raise ``error`` naming ``what`` when it is missing or malformed."""
    text = _read_text(path, error, what)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"malformed {what} TOML {path}: {exc}") from None


def read_json(path: str | os.PathLike, error: type[AshbenchError], what: str):
    """Parse a JSON file; raise ``error`` naming ``what`` when it is missing or malformed."""
    text = _read_text(path, error, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{what} {path} is not JSON: {exc}") from None
