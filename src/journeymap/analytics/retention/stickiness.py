"""Stickiness: customers by the number of periods they were active in, per interval.

For each interval (a week, a month, or the whole date range with ``within="all"``), each
customer who did ``step`` in it is counted once, under the number of distinct periods
(hours, days or weeks) of the interval in which they did it. PostHog's stickiness is
``within="all"``: days (or the chosen interval) of the date range with the event.

A period is counted in the interval that holds the event: with ``period="week"`` and
``within="month"``, a week across two months can count in both.

Columns: the breakdown columns, ``interval`` (its start), ``active_periods`` (1, 2, ...),
``customers``, ``share`` (of the customers active in the interval), ``customers_at_least``
(active in at least that many periods: PostHog's cumulative view), ``complete`` (False for
the interval holding ``as_of``, or, with ``within="all"``, unless ``date_to`` ends before it).

>>> import ibis, datetime as dt
>>> from ..steps import parse_step
>>> at = lambda d, h=12: dt.datetime(2025, 1, d, h, tzinfo=dt.timezone.utc)
>>> log = ibis.memtable({"customer_id": ["a", "a", "a", "b", "b"],
...     "timestamp": [at(6), at(6, 20), at(8), at(7), at(13)], "event_id": ["1", "2", "3", "4", "5"],
...     "type": ["track"] * 5, "event": ["visit"] * 5})
>>> t = stickiness_table(log, parse_step("visit"), period="day", within="week")
>>> [(r["interval"].day, r["active_periods"], r["customers"], r["share"], r["customers_at_least"])
...  for r in t.to_pyarrow().to_pylist()]
[(6, 1, 1, 0.5, 2), (6, 2, 1, 0.5, 1), (13, 1, 1, 1.0, 1)]
"""

from __future__ import annotations

import datetime as _dt
from typing import Sequence

import ibis
import ibis.expr.types as ir

from ...errors import ConfigError
from ..steps import Step, step_predicate
from ..customers import join_breakdown
from .activity import as_of_number, in_range, period_range
from .periods import PERIODS, check_period, period_number, period_start

__all__ = ["STICKINESS_COLUMNS", "WITHIN", "stickiness_table"]

WITHIN = ("day", "week", "month", "all")
STICKINESS_COLUMNS = ("interval", "active_periods", "customers", "share", "customers_at_least", "complete")


def stickiness_table(log: ir.Table, step: Step, *, period: str = "day", within: str = "week",
                     breakdown: ir.Table | None = None, by: Sequence[str] = (),
                     date_from: _dt.date | str | None = None, date_to: _dt.date | str | None = None,
                     as_of: _dt.datetime | str | None = None) -> ir.Table:
    """The stickiness table of an event ``log`` (see the module doc)."""
    period = check_period(period)
    within = check_period(within, field="within", allowed=WITHIN)
    if within != "all" and PERIODS.index(period) >= PERIODS.index(within):
        raise ConfigError(f"period '{period}' is not shorter than the interval '{within}'", field="period",
                          hint="count days within a week or month, hours within a day, weeks within a month, "
                          "or use within='all'")
    by = list(by)
    low, high = period_range(period, date_from, date_to)
    rows = log.filter(step_predicate(log, step)).select("customer_id", "timestamp")
    rows = rows.mutate(period_number=period_number(rows.timestamp, period))
    rows = rows.filter(in_range(rows.period_number, low, high))
    if within == "all":
        days = rows.group_by(["customer_id", "period_number"]).aggregate(_first=rows.timestamp.min())
        days = days.mutate(interval_number=ibis.literal(0, "int64"),
                           interval_start=period_start(days._first.min().over(), period))
        now = as_of_number(log, period, as_of)
        complete = (ibis.literal(high, "int64") < now) if high is not None else ibis.literal(False)
    else:
        rows = rows.mutate(interval_number=period_number(rows.timestamp, within))
        days = rows.group_by(["customer_id", "interval_number", "period_number"]).aggregate(
            _first=rows.timestamp.min())
        days = days.mutate(interval_start=period_start(days._first, within))
        now = as_of_number(log, within, as_of)
        complete = None
    per_customer = days.group_by(["customer_id", "interval_number"]).aggregate(
        interval=days.interval_start.min(), active_periods=days.count().cast("int64"))
    per_customer = join_breakdown(per_customer, breakdown, by)
    keys = [*by, "interval_number", "interval"]
    table = per_customer.group_by([*keys, "active_periods"]).aggregate(customers=per_customer.count().cast("int64"))
    group = ibis.window(group_by=keys)
    at_least = ibis.cumulative_window(group_by=keys, order_by=ibis.desc("active_periods"))
    table = table.mutate(share=(table.customers / table.customers.sum().over(group)).round(6),
                         customers_at_least=table.customers.sum().over(at_least).cast("int64"),
                         complete=complete if complete is not None else table.interval_number < now)
    return table.select(*by, *STICKINESS_COLUMNS).order_by([*by, "interval", "active_periods"])
