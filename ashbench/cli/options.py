"""Checks of option values shared by the command modules (each raises InputError: exit 2)."""

from __future__ import annotations

import contextlib
import sys

import typer

from ashbench.errors import InputError
from ashbench.files import write_atomic


def check_choice(option: str, value: str, choices) -> None:
    if value not in choices:
        raise InputError(f"{option} must be one of {', '.join(choices)}; got {value!r}")


def check_at_least(option: str, value: int | None, lowest: int) -> None:
    if value is not None and value < lowest:
        raise InputError(f"{option} must be >= {lowest}, got {value}")


@contextlib.contextmanager
def user_code_prints_to_stderr():
    """While a user's factory or model runs, its prints go to stderr, so that stdout holds the
    report alone (``-f json | jq`` works whatever the model prints)."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def emit(text: str, output: str | None) -> None:
    """Write ``text`` atomically to ``output`` (saying so), or to stdout."""

    if output:
        write_atomic(output, text)
        typer.echo(f"wrote {output}")
    else:
        sys.stdout.write(text)
