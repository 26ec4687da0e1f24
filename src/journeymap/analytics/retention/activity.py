"""Customer activity per period: the small table every retention analytic starts from.

An event log (millions of rows) becomes one row per customer and period in which the
customer did something that counts, with a 0/1 flag per kind of activity (e.g. the start
and the return event of a retention). Everything after this step reads that table only.
"""

from __future__ import annotations

import datetime as _dt
from typing import Mapping

import ibis
import ibis.expr.types as ir

from ..steps import Step, step_predicate
from .periods import period_number, period_number_of, period_start

__all__ = ["activity", "as_of_number", "in_range", "period_range"]


def activity(log: ir.Table, steps: Mapping[str, Step], period: str) -> ir.Table:
    """One row per (customer_id, period) with an activity: ``period_number``, ``period_start``
    and one 0/1 column per entry of ``steps`` (1: the customer did that step in the period)."""
    rows = log.select("customer_id", "timestamp",
                      **{name: step_predicate(log, step).cast("int8") for name, step in steps.items()})
    if not _always(steps):
        seen = None
        for name in steps:
            seen = rows[name] if seen is None else seen + rows[name]
        rows = rows.filter(seen > 0)
    rows = rows.mutate(period_number=period_number(rows.timestamp, period))
    table = rows.group_by(["customer_id", "period_number"]).aggregate(
        _first=rows.timestamp.min(), **{name: rows[name].max() for name in steps})
    # truncate once per customer and period, not once per touchpoint
    return table.mutate(period_start=period_start(table._first, period)).drop("_first")


def _always(steps: Mapping[str, Step]) -> bool:
    return all(s.stage is None and s.rule is not None and not s.rule.matches and not s.rule.properties
               and not s.rule.url_regex for s in steps.values())


def as_of_number(log: ir.Table, period: str, as_of: _dt.datetime | str | None) -> ir.IntegerValue | int:
    """The period number of ``as_of`` (default: the latest timestamp of ``log``): that period is
    the current one, not complete yet; later ones have not begun."""
    if as_of is not None:
        return period_number_of(as_of, period)
    return period_number(log.timestamp.max(), period).as_scalar()


def period_range(period: str, date_from, date_to) -> tuple[int | None, int | None]:
    """Period numbers of ``date_from`` and ``date_to`` (inclusive), None when not given."""
    low = period_number_of(date_from, period) if date_from is not None else None
    high = period_number_of(date_to, period) if date_to is not None else None
    return low, high


def in_range(number: ir.IntegerValue, low: int | None, high: int | None) -> ir.BooleanValue:
    keep = ibis.literal(True)
    if low is not None:
        keep = keep & (number >= low)
    if high is not None:
        keep = keep & (number <= high)
    return keep
