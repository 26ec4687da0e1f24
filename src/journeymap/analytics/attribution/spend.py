"""Marketing spend: a file of (channel or campaign, period, cost) rows, for cost per conversion
and ROAS.

The file (CSV or Parquet) has a ``cost`` column and a column named like the attribution level
(``channel``, ``campaign``, ``source_medium`` or ``content``); ``period`` is optional: a day
(``2025-06-01``) or a month (``2025-06``). With conversion dates known, only periods that
overlap them count (spend of months with no analysed conversions is left out); otherwise every
row counts. A bad row is an error naming the file, row and column: spend is never guessed.

>>> import pyarrow as pa, datetime as dt
>>> rows = pa.table({"channel": ["email", "email", "search"], "period": ["2025-05", "2025-06", "2025-06-03"],
...                  "cost": [100.0, 50.0, 80.0]})
>>> spend_by(rows, "channel", first=dt.date(2025, 6, 1), last=dt.date(2025, 6, 30))
{'email': 50.0, 'search': 80.0}
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re
from typing import Any

from ...errors import InputError
from .aggregated import to_arrow

__all__ = ["spend_by"]

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


def _period(text: str, where: dict) -> tuple[_dt.date, _dt.date]:
    text = str(text).strip()
    try:
        if _DAY.match(text):
            day = _dt.date.fromisoformat(text)
            return day, day
        if _MONTH.match(text):
            year, month = int(text[:4]), int(text[5:])
            return _dt.date(year, month, 1), _dt.date(year, month, calendar.monthrange(year, month)[1])
    except ValueError:
        pass
    raise InputError(f"period '{text}' is not a day or a month", column="period", **where,
                     hint="write 2025-06-01 for a day or 2025-06 for a month")


def spend_by(data: Any, level: str, *, first: _dt.date | None = None, last: _dt.date | None = None) -> dict[str, float]:
    """Cost per ``level`` value from the spend rows in ``data`` (a file or a table), counting
    the periods that overlap ``first``..``last`` when given."""
    table, file = to_arrow(data)
    columns = table.column_names
    if "cost" not in columns or level not in columns:
        missing = [c for c in ("cost", level) if c not in columns]
        raise InputError(f"the spend file has no column {', '.join(missing)}", file=file,
                         hint=f"columns: {level}, period (optional, 2025-06 or 2025-06-01), cost; found: " + ", ".join(columns))
    totals: dict[str, float] = {}
    names = table.column(level).to_pylist()
    costs = table.column("cost").to_pylist()
    periods = table.column("period").to_pylist() if "period" in columns else [None] * len(names)
    for row, (name, cost, period) in enumerate(zip(names, costs, periods), start=1):
        where = {"file": file, "row": row}
        if name is None or not str(name).strip():
            raise InputError(f"the {level} is empty", column=level, **where, hint=f"name the {level} the spend was for")
        try:
            amount = float(cost)
        except (TypeError, ValueError):
            amount = float("nan")
        if not amount >= 0 or amount == float("inf"):
            raise InputError(f"cost {cost!r} is not an amount >= 0", column="cost", **where,
                             hint="write the cost as a number, e.g. 1250.50")
        if period is not None and first is not None and last is not None:
            start, end = _period(period, where)
            if end < first or start > last:
                continue
        totals[str(name).strip()] = totals.get(str(name).strip(), 0.0) + amount
    return totals
