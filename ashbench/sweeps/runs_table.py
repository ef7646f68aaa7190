"""The tidy runs table of a sweep (``runs.csv``): one row per finished run; no torch import.

Rows are only ever added by rewriting the whole file to a temporary file and renaming it over the
old one, so a reader (or a sweep killed with SIGKILL) sees either the old or the new table, never
half a row. Column ``schema`` identifies the format; a file of another schema is refused.

The columns of a table are the union of its rows' columns (a row without one has an empty cell
there), and readers look columns up by name: a column added to new rows (e.g. ``selected_step`` and
``stopped_step``, the training's selected and last steps) keeps the schema, and a table written
before it stays readable and can be appended to. Only a change of an existing column's meaning
needs a new schema.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ashbench.errors import ResultsError
from ashbench.files import write_atomic

SCHEMA = "ashbench-runs-v1"
REQUIRED = ("schema", "run_id", "label")


def read_rows(path: Path) -> list[dict]:
    """Rows of a runs table ([] when the file does not exist); ResultsError on another schema."""
    if not path.exists():
        return []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ResultsError(f"cannot read results file {path}: {exc}") from None
    missing = [c for c in REQUIRED if c not in header]
    if missing or any(r.get("schema") != SCHEMA for r in rows):
        raise ResultsError(f"{path} is not an ashbench runs table (schema {SCHEMA}); missing column "
                           f"{missing[0] if missing else 'schema value'}")
    _check_shape(path, rows, len(header))
    return rows


def _check_shape(path: Path, rows: list[dict], width: int) -> None:
    """Every row has one cell per column (a cut or hand-edited file does not), and a run appears once."""
    for line, row in enumerate(rows, start=2):
        if None in row or None in row.values():
            cells = width + len(row.get(None, [])) - sum(v is None for v in row.values())
            raise ResultsError(f"{path} line {line} has {cells} cells, the header has {width}")
    seen = set()
    for row in rows:
        if row["run_id"] in seen:
            raise ResultsError(f"{path} holds run {row['run_id']} twice")
        seen.add(row["run_id"])


def append_row(path: Path, row: dict) -> None:
    """Add ``row`` (replacing an earlier row with the same run_id) atomically."""
    rows = [r for r in read_rows(path) if r["run_id"] != row["run_id"]]
    rows.append({"schema": SCHEMA, **row})
    _write_rows(path, rows)


def fill_empty(path: Path, cells: dict[str, dict]) -> int:
    """Write ``cells`` ({run_id: {column: value}}) into the rows of those runs where the cell is missing
    or empty (a value already there is never changed), atomically; returns how many cells were filled."""
    rows, filled = read_rows(path), 0
    for row in rows:
        for column, value in cells.get(row["run_id"], {}).items():
            if row.get(column, "") == "":
                row[column] = value
                filled += 1
    if filled:
        _write_rows(path, rows)
    return filled


def _write_rows(path: Path, rows: list[dict]) -> None:
    """The whole table, to a temporary file renamed over ``path``; columns: the union of the rows'."""
    columns = list(dict.fromkeys(c for r in rows for c in r))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, text.getvalue(), make_parents=True, error=ResultsError)


def done_ids(path: Path) -> set[str]:
    return {r["run_id"] for r in read_rows(path)}
