"""Checks of option values shared by the command modules (each raises InputError: exit 2)."""

from __future__ import annotations

from ashbench.errors import InputError


def check_choice(option: str, value: str, choices) -> None:
    if value not in choices:
        raise InputError(f"{option} must be one of {', '.join(choices)}; got {value!r}")


def check_at_least(option: str, value: int | None, lowest: int) -> None:
    if value is not None and value < lowest:
        raise InputError(f"{option} must be >= {lowest}, got {value}")


def emit(text: str, output: str | None) -> None:
    """Write ``text`` atomically to ``output`` (saying so), or to stdout."""
    import sys

    import typer

    from ashbench.files import write_atomic

    if output:
        write_atomic(output, text)
        typer.echo(f"wrote {output}")
    else:
        sys.stdout.write(text)
