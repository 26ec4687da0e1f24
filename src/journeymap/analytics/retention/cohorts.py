"""Retention: of the customers who did a start event in a period (the cohort), how many did a
return event 1, 2, ... periods later. PostHog's model:

- ``cohort="first_time"``: a customer's cohort is the period of their first-ever start event
  (over all history, then kept only if it falls between ``date_from`` and ``date_to``);
  ``"recurring"``: every period in which the customer did the start event is a cohort entry.
- Period 0 is the cohort period itself and counts the whole cohort (``customers`` =
  ``cohort_size``); period N counts the customers who did the return event in the period N
  periods after the cohort period (``counting="on"``), or in that period or any later one up
  to the last one reported (``"on_or_after"``).
- ``retention_rate``: customers / cohort size (``relative_to="start"``) or / the customers of
  the previous period (``"previous"``; period 0 is 1.0; NULL when the base is 0).
- ``complete`` is False for the cell holding ``as_of`` (default: the latest touchpoint):
  that period is not over yet. Cells after it have not begun and are left out.

Columns: the breakdown columns, ``cohort`` (start of the cohort period), ``period`` (0, 1,
...), ``cohort_size``, ``customers``, ``retention_rate``, ``complete``.

>>> import ibis, datetime as dt
>>> from ..steps import parse_step
>>> day = lambda d: dt.datetime(2025, 1, d, 12, tzinfo=dt.timezone.utc)
>>> log = ibis.memtable({"customer_id": ["a", "a", "a", "b", "b"],
...     "timestamp": [day(6), day(14), day(27), day(8), day(15)], "event_id": ["1", "2", "3", "4", "5"],
...     "type": ["track"] * 5, "event": ["signup", "visit", "visit", "signup", "signup"]})
>>> t = retention_table(log, parse_step("signup"), parse_step("visit"), period="week", periods=4)
>>> for row in t.to_pyarrow().to_pylist():
...     print(row["cohort"].date(), row["period"], row["cohort_size"], row["customers"], row["retention_rate"], row["complete"])
2025-01-06 0 2 2 1.0 True
2025-01-06 1 2 1 0.5 True
2025-01-06 2 2 0 0.0 True
2025-01-06 3 2 1 0.5 False
"""

from __future__ import annotations

import datetime as _dt
from typing import Sequence

import ibis
import ibis.expr.types as ir

from ...errors import ConfigError
from ..steps import Step
from ..customers import join_breakdown
from .activity import activity, as_of_number, in_range, period_range
from .periods import check_period

__all__ = ["COHORT_TYPES", "COUNTING", "RELATIVE_TO", "RETENTION_COLUMNS", "check_choice", "retention_table"]

COHORT_TYPES = ("first_time", "recurring")
COUNTING = ("on", "on_or_after")
RELATIVE_TO = ("start", "previous")
RETENTION_COLUMNS = ("cohort", "period", "cohort_size", "customers", "retention_rate", "complete")


def check_choice(value: str, choices: Sequence[str], field: str) -> str:
    """``value`` if it is one of ``choices``, else a :class:`ConfigError` listing them."""
    text = str(value).strip().lower().replace("-", "_")
    if text not in choices:
        raise ConfigError(f"{field} '{value}' is not one of " + ", ".join(choices), field=field,
                          hint=f"use {field}=" + " or ".join(repr(c) for c in choices))
    return text


def check_periods(periods: int, field: str = "periods") -> int:
    if isinstance(periods, bool) or not isinstance(periods, int) or periods < 1:
        raise ConfigError(f"{field} must be a whole number >= 1, not {periods!r}", field=field,
                          hint="e.g. periods=8 reports period 0 (the cohort) and 7 more")
    return periods


def retention_table(log: ir.Table, start: Step, returning: Step, *, period: str = "week", periods: int = 8,
                    cohort: str = "first_time", counting: str = "on", relative_to: str = "start",
                    breakdown: ir.Table | None = None, by: Sequence[str] = (),
                    date_from: _dt.date | str | None = None, date_to: _dt.date | str | None = None,
                    as_of: _dt.datetime | str | None = None) -> ir.Table:
    """The retention table of an event ``log`` (see the module doc); ``breakdown`` holds
    customer_id and the ``by`` columns (customers missing from it fall in a NULL group)."""
    period = check_period(period)
    periods = check_periods(periods)
    cohort = check_choice(cohort, COHORT_TYPES, "cohort")
    counting = check_choice(counting, COUNTING, "counting")
    relative_to = check_choice(relative_to, RELATIVE_TO, "relative_to")
    by = list(by)
    act = activity(log, {"is_start": start, "is_return": returning}, period)
    low, high = period_range(period, date_from, date_to)
    now = as_of_number(log, period, as_of)

    window = (low, high, now)
    if cohort == "first_time":
        counts = _first_time_counts(act, periods, counting, breakdown, by, window)
    else:
        counts = _recurring_counts(act, periods, counting, breakdown, by, window)
    keys = [*by, "cohort_number"]
    # counts has (keys, period, customers, cohort) rows for the cells somebody is in; period 0
    # is the cohort size. One zero row per cell (unioned, not joined: breakdown values may be
    # NULL, and NULL never equals NULL in a join) reports the periods nobody came back in.
    starts = counts.filter(counts.period == 0)
    every = ibis.memtable({"period": list(range(periods))}, schema={"period": "int64"})
    zeros = starts.select(*keys, "cohort", cohort_size="customers").cross_join(every)
    zeros = zeros.mutate(customers=ibis.literal(0, "int64"))
    found = counts.mutate(cohort_size=ibis.literal(0, "int64"))
    columns = [*keys, "period", "cohort", "cohort_size", "customers"]
    rows = zeros.select(*columns).union(found.select(*columns))
    table = rows.group_by([*keys, "period"]).aggregate(cohort=rows.cohort.max(), cohort_size=rows.cohort_size.max(),
                                                      customers=rows.customers.sum())
    keys = [*keys, "cohort"]
    cell = table.cohort_number + table.period
    table = table.filter(cell <= now).mutate(complete=cell < now)
    if relative_to == "start":
        base = table.cohort_size
    else:
        base = table.customers.lag().over(ibis.window(group_by=keys, order_by="period"))
        base = ibis.ifelse(table.period == 0, table.customers, base)
    rate = ibis.ifelse(base > 0, (table.customers / base).round(6), ibis.null("float64"))
    table = table.mutate(retention_rate=rate)
    return table.select(*by, *RETENTION_COLUMNS).order_by([*by, "cohort", "period"])


def _first_time_counts(act: ir.Table, periods: int, counting: str, breakdown: ir.Table | None, by: list[str],
                       window: tuple) -> ir.Table:
    """Cell counts when each customer has one cohort: the period of their first start event.
    Every return period is then just ``period_number - cohort_number``."""
    low, high, now = window
    starts = act.filter(act.is_start == 1)
    firsts = starts.group_by("customer_id").aggregate(cohort_number=starts.period_number.min())
    firsts = firsts.filter(in_range(firsts.cohort_number, low, high) & (firsts.cohort_number <= now))
    # a join, not a window: the engine computes the activity once (a shared CTE) either way,
    # but DuckDB rewrites a window over it into a self-join that computes it twice
    marked = act.join(firsts, "customer_id")
    marked = marked.mutate(period=marked.period_number - marked.cohort_number)
    marked = marked.filter((marked.period == 0) | ((marked.period > 0) & (marked.period < periods)
                                                   & (marked.is_return == 1)))
    marked = join_breakdown(marked, breakdown, by)
    keys = [*by, "cohort_number"]
    if counting == "on":
        return marked.group_by([*keys, "period"]).aggregate(
            customers=marked.count().cast("int64"),
            cohort=ibis.ifelse(marked.period == 0, marked.period_start, ibis.null(marked.period_start.type())).max())
    # the cohort period is the customer's earliest row here (returns come later)
    firsts = marked.group_by(["customer_id", *keys]).aggregate(last=marked.period.max(),
                                                               cohort=marked.period_start.min())
    return _spread(firsts, keys, periods)


def _spread(firsts: ir.Table, keys: list[str], periods: int) -> ir.Table:
    """On-or-after counts from one row per cohort entry with ``last``, the latest period
    number (< periods) the customer returned in: retained in every period up to it."""
    reached = firsts.group_by([*keys, "last"]).aggregate(n=firsts.count().cast("int64"), cohort=firsts.cohort.max())
    every = ibis.memtable({"period": list(range(periods))}, schema={"period": "int64"})
    spread = reached.cross_join(every)
    spread = spread.filter(spread.period <= spread.last)
    return spread.group_by([*keys, "period"]).aggregate(customers=spread.n.sum().cast("int64"),
                                                        cohort=spread.cohort.max())


def _recurring_counts(act: ir.Table, periods: int, counting: str, breakdown: ir.Table | None, by: list[str],
                      window: tuple) -> ir.Table:
    """Cell counts when every start period is a cohort entry: each entry is joined to the
    customer's return periods 1 .. periods-1 later (an equi-join on customer and period
    number: bounded by entries x periods, whatever the customer's history)."""
    low, high, now = window
    starts = act.filter((act.is_start == 1) & in_range(act.period_number, low, high) & (act.period_number <= now))
    entries = starts.select("customer_id", cohort_number=starts.period_number, cohort=starts.period_start)
    entries = join_breakdown(entries, breakdown, by)
    keys = [*by, "cohort_number"]
    firsts = entries.mutate(period=ibis.literal(0, "int64"))
    if periods > 1:
        later = ibis.memtable({"period": list(range(1, periods))}, schema={"period": "int64"})
        returns = act.filter(act.is_return == 1).select(r_customer=act.customer_id, r_number=act.period_number)
        grid = entries.cross_join(later)
        hits = grid.join(returns, [grid.customer_id == returns.r_customer,
                                   (grid.cohort_number + grid.period) == returns.r_number])
        hits = hits.select("customer_id", *keys, "cohort", "period")
    else:
        hits = firsts.filter(ibis.literal(False))
    if counting == "on":
        both = firsts.select("customer_id", *keys, "cohort", "period").union(hits)
        return both.group_by([*keys, "period"]).aggregate(customers=both.count().cast("int64"),
                                                          cohort=both.cohort.max())
    last = hits.group_by(["customer_id", *keys]).aggregate(last=hits.period.max())
    entries = entries.left_join(last, ["customer_id", "cohort_number"])
    entries = entries.select("customer_id", *keys, "cohort", last=entries["last"].fill_null(0))
    return _spread(entries, keys, periods)
