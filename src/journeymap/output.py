"""Rendering results for the terminal: rich tables, CSV or JSON (``--format``)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from enum import Enum
from typing import Any, Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["OutputFormat", "render_rows", "to_csv", "to_json"]


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def to_json(data: Any) -> str:
    """JSON text with dates as ISO strings.

    >>> to_json({"n": 1})
    '{\\n  "n": 1\\n}'
    """
    return json.dumps(data, indent=2, default=_plain, ensure_ascii=False)


def to_csv(rows: list[dict]) -> str:
    """CSV text with a header from the first row's keys.

    >>> print(to_csv([{"a": 1, "b": "x"}]).strip())
    a,b
    1,x
    """
    if not rows:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _plain(v) for k, v in row.items()} for row in rows)
    return buffer.getvalue()


def render_rows(rows: list[dict], fmt: OutputFormat, *, title: str | None = None,
                console: Console | None = None, columns: Iterable[str] | None = None,
                right: Iterable[str] = ()) -> None:
    """Print ``rows`` (a list of mappings) in the requested format; ``right`` names text columns
    to right-justify in a table (numbers already formatted)."""
    console = console or Console()
    if fmt == OutputFormat.json:
        console.file.write(to_json(rows) + "\n")
        return
    if fmt == OutputFormat.csv:
        console.file.write(to_csv(rows))
        return
    names = list(columns or (rows[0].keys() if rows else []))
    table = Table(title=title, show_lines=False, header_style="bold")
    for name in names:
        numeric = (bool(rows) and isinstance(rows[0].get(name), (int, float))) or name in set(right)
        table.add_column(name, justify="right" if numeric else "left", overflow="fold")
    for row in rows:
        table.add_row(*(Text("") if row.get(n) is None else Text(
                        f"{row[n]:,}" if isinstance(row.get(n), int) and not isinstance(row.get(n), bool) else
                        f"{row[n]:.4g}" if isinstance(row.get(n), float) else str(_plain(row[n])))
                        for n in names))
    console.print(table)
