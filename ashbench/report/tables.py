"""The one table renderer: a :class:`Table` (title, columns, raw row values, footer lines) and a
registry of output formats, each a small pure function ``Table -> str`` (no torch, no pandas).

Formats (``FORMATS``; ``render(table, fmt)``):

- ``table``: a rich table for terminals (ASCII rules, no colour), then the footer lines wrapped to
  ``Table.width`` characters;
- ``markdown``: the title in bold, a pipe table (``:---`` left / ``---:`` right aligned), then the
  footer lines as bullets;
- ``latex``: a booktabs ``tabular`` (``l`` / ``r`` columns), title and footer as ``%`` comments;
- ``csv``: one header row of column keys, then the RAW values (no formatting, no title, no
  footer), so numbers stay exact.

Every format but csv shows a cell as ``column.fmt(value)`` under ``column.header``; a missing
value (``None``) is an empty cell everywhere. Units belong in the header (``energy (µJ)``).
"""

from __future__ import annotations

import csv
import io
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ashbench.errors import InputError
from ashbench.registry import Registry

FORMATS: Registry[Callable[["Table"], str]] = Registry("table format", InputError)


@dataclass(frozen=True)
class Column:
    """One column. ``key`` is the column's name in csv (with its unit, e.g. ``energy_pj``);
    ``header`` is what the other formats show (default: ``key``); ``align`` is ``left`` or
    ``right``; ``fmt`` turns a raw value into the shown cell."""

    key: str
    header: str = ""
    align: str = "right"
    fmt: Callable[[Any], str] = str

    @property
    def heading(self) -> str:
        """The header the formats other than csv show."""
        return self.header or self.key


@dataclass
class Table:
    """Raw ``rows`` (one value per column, in column order) under ``columns``; ``footer``: lines
    shown after the table; ``width``: the most characters per line of the ``table`` format."""

    columns: Sequence[Column]
    rows: Sequence[Sequence[Any]]
    title: str = ""
    footer: Sequence[str] = field(default_factory=tuple)
    width: int = 120

    def cells(self) -> list[list[str]]:
        """The shown cells: ``column.fmt(value)``, or '' for a missing value."""
        return [["" if v is None else c.fmt(v) for c, v in zip(self.columns, row)] for row in self.rows]


def render(table: Table, fmt: str) -> str:
    """``table`` in format ``fmt`` (a name in ``FORMATS``; InputError naming the valid ones if not)."""
    return FORMATS.get(fmt)(table)


@FORMATS.register("csv")
def csv_text(table: Table) -> str:
    """Header of column keys, then the raw values (``None`` as an empty field)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([c.key for c in table.columns])
    writer.writerows(table.rows)
    return buf.getvalue()


@FORMATS.register("markdown")
def markdown_text(table: Table) -> str:
    """``**title**``, a blank line, the pipe table, then a blank line and ``- footer`` bullets."""
    rule = {"left": ":---", "right": "---:"}
    lines = [f"**{table.title}**", ""] if table.title else []
    lines += [_pipe_row(c.heading for c in table.columns), _pipe_row(rule[c.align] for c in table.columns)]
    lines += [_pipe_row(row) for row in table.cells()]
    if table.footer:
        lines += ["", *(f"- {line}" for line in table.footer)]
    return "\n".join(lines) + "\n"


def _pipe_row(cells) -> str:
    return "| " + " | ".join(str(c).replace("|", r"\|") for c in cells) + " |"


LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped (``a_b & 5%`` -> ``a\\_b \\& 5\\%``)."""
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in str(text))


@FORMATS.register("latex")
def latex_text(table: Table) -> str:
    """A booktabs ``tabular``; the title before it and the footer after it as ``%`` comments."""
    spec = "".join("l" if c.align == "left" else "r" for c in table.columns)
    lines = [f"% {table.title}"] if table.title else []
    lines += [rf"\begin{{tabular}}{{{spec}}}", r"\toprule", _latex_row(c.heading for c in table.columns), r"\midrule"]
    lines += [_latex_row(row) for row in table.cells()]
    lines += [r"\bottomrule", r"\end{tabular}", *(f"% {line}" for line in table.footer)]
    return "\n".join(lines) + "\n"


def _latex_row(cells) -> str:
    return " & ".join(latex_escape(c) for c in cells) + r" \\"


@FORMATS.register("table")
def rich_text(table: Table) -> str:
    """The title centred over a rich table with ASCII rules, at most ``table.width`` characters
    wide (text columns wrap first when the table would be wider), then the footer lines, each
    wrapped to ``table.width`` with its continuation lines indented."""
    from rich.box import ASCII2
    from rich.console import Console
    from rich.table import Table as RichTable

    shown = RichTable(title=table.title or None, box=ASCII2, show_edge=False)
    for c in table.columns:
        shown.add_column(c.heading, justify=c.align, no_wrap=c.align == "right", overflow="fold")
    for row in table.cells():
        shown.add_row(*row)
    console = Console(file=io.StringIO(), width=table.width, color_system=None)
    console.print(shown)
    body = "".join(line.rstrip() + "\n" for line in console.file.getvalue().splitlines())
    return body + "".join(line + "\n" for line in _wrapped(table.footer, table.width))


def _wrapped(lines: Sequence[str], width: int) -> list[str]:
    out = []
    for line in lines:
        indent = " " * (len(line) - len(line.lstrip()))
        out += textwrap.wrap(line, width, subsequent_indent=indent + "  ", break_on_hyphens=False) or [""]
    return out
