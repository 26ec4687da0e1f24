"""Lifecycle: per period, the customers who are new, returning, resurrecting or dormant.

For the customers who did ``step`` (an event, ``*`` or a stage), per period:

| status | the customer ... |
|---|---|
| ``new`` | is active in the period, and it is their first-ever active period (all history) |
| ``returning`` | is active in the period and in the previous one |
| ``resurrecting`` | is active in the period, not in the previous one, but in some earlier one |
| ``dormant`` | is not active in the period but was in the previous one |

New + returning + resurrecting = the period's active customers. PostHog reports dormant as a
negative number (and draws it below the axis); ``customers`` is always a count here and the
figure draws dormant below the axis. PostHog's "new" means the person *profile* was created in
the period; journeymap has no profile creation time and uses the first period with ``step``.

Columns: the breakdown columns, ``period`` (its start), ``status``, ``customers``,
``complete`` (False for the period holding ``as_of``: it is not over). Every period with any
activity or dormancy is reported with all four statuses (zero counts included).

>>> import ibis, datetime as dt
>>> from ..steps import parse_step
>>> day = lambda d: dt.datetime(2025, 1, d, 12, tzinfo=dt.timezone.utc)
>>> log = ibis.memtable({"customer_id": ["a", "a", "a", "b"],
...     "timestamp": [day(1), day(2), day(4), day(2)], "event_id": ["1", "2", "3", "4"],
...     "type": ["track"] * 4, "event": ["visit"] * 4})
>>> t = lifecycle_table(log, parse_step("visit"), period="day")
>>> [(r["period"].day, r["status"], r["customers"]) for r in t.to_pyarrow().to_pylist() if r["customers"]]
[(1, 'new', 1), (2, 'new', 1), (2, 'returning', 1), (3, 'dormant', 2), (4, 'resurrecting', 1)]
"""

from __future__ import annotations

import datetime as _dt
from typing import Sequence

import ibis
import ibis.expr.types as ir

from ..steps import Step
from ..customers import join_breakdown
from .activity import activity, as_of_number, in_range, period_range
from .periods import add_period, check_period

__all__ = ["LIFECYCLE_COLUMNS", "LIFECYCLE_STATUSES", "lifecycle_table"]

LIFECYCLE_STATUSES = ("new", "returning", "resurrecting", "dormant")
LIFECYCLE_COLUMNS = ("period", "status", "customers", "complete")


def lifecycle_table(log: ir.Table, step: Step, *, period: str = "week", breakdown: ir.Table | None = None,
                    by: Sequence[str] = (), date_from: _dt.date | str | None = None,
                    date_to: _dt.date | str | None = None, as_of: _dt.datetime | str | None = None) -> ir.Table:
    """The lifecycle table of an event ``log`` (see the module doc)."""
    period = check_period(period)
    by = list(by)
    act = activity(log, {"active": step}, period)
    act = act.filter(act.active == 1)
    low, high = period_range(period, date_from, date_to)
    now = as_of_number(log, period, as_of)

    history = ibis.window(group_by="customer_id", order_by="period_number")
    act = act.mutate(previous=act.period_number.lag().over(history), following=act.period_number.lead().over(history))
    status = ibis.cases((act.previous.isnull(), "new"), (act.previous == act.period_number - 1, "returning"),
                        else_="resurrecting")
    active = act.select("customer_id", "period_number", "period_start", status=status)
    gone = act.filter(act.following.isnull() | (act.following != act.period_number + 1))
    dormant = gone.select("customer_id", period_number=gone.period_number + 1,
                          period_start=add_period(gone.period_start, period).cast(active.period_start.type()),
                          status=ibis.literal("dormant"))
    rows = active.union(dormant)
    rows = rows.filter(in_range(rows.period_number, low, high) & (rows.period_number <= now))
    rows = join_breakdown(rows, breakdown, by)
    keys = [*by, "period_number", "period_start"]
    counts = rows.group_by([*keys, "status"]).aggregate(customers=rows.count().cast("int64"))
    statuses = ibis.memtable({"status": list(LIFECYCLE_STATUSES)})
    zeros = counts.select(*keys).distinct().cross_join(statuses).mutate(customers=ibis.literal(0, "int64"))
    both = zeros.union(counts.select(*keys, "status", "customers"))
    table = both.group_by([*keys, "status"]).aggregate(customers=both.customers.sum())
    order = ibis.cases(*[(table.status == s, i) for i, s in enumerate(LIFECYCLE_STATUSES)])
    table = table.mutate(period=table.period_start, complete=table.period_number < now, _order=order)
    return table.order_by([*by, "period", "_order"]).select(*by, *LIFECYCLE_COLUMNS)
