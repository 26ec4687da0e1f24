"""Repeat purchases: how many buyers buy again, how often, and how long they take.

Purchases are the touchpoints matching ``step`` (default ``order_completed``; filters
allowed, e.g. ``order_completed[device=mobile]``), ordered per customer by (timestamp,
event_id), so two purchases at the same moment are two purchases 0 days apart.

:func:`repeat_purchase_summary`, one row per breakdown group:
``customers`` (at least one purchase), ``repeat_customers`` (at least two),
``repeat_rate`` (= repeat_customers / customers), ``purchases``,
``purchases_per_customer``, ``median_days_between`` / ``p90_days_between`` (days between
consecutive purchases, every gap of every customer), ``median_days_to_second`` /
``p90_days_to_second`` (first to second purchase, one gap per repeat customer). Quantiles are
exact and interpolated; days are whole seconds / 86400.

:func:`purchase_count_distribution`: ``purchases`` (1, 2, ...; the last bucket ``cap``
holds everyone with ``cap`` or more, ``or_more`` True), ``customers``, ``share``.

>>> import ibis, datetime as dt
>>> from ..steps import parse_step
>>> day = lambda d: dt.datetime(2025, 1, d, tzinfo=dt.timezone.utc)
>>> log = ibis.memtable({"customer_id": ["a", "a", "a", "b"], "timestamp": [day(1), day(3), day(9), day(2)],
...     "event_id": ["1", "2", "3", "4"], "type": ["track"] * 4, "event": ["order_completed"] * 4})
>>> row = repeat_purchase_summary(log, parse_step("order_completed")).to_pyarrow().to_pylist()[0]
>>> row["customers"], row["repeat_customers"], row["repeat_rate"], row["median_days_between"], row["median_days_to_second"]
(2, 1, 0.5, 4.0, 2.0)
>>> [(r["purchases"], r["customers"]) for r in purchase_count_distribution(log, parse_step("order_completed")).to_pyarrow().to_pylist()]
[(1, 1), (3, 1)]
"""

from __future__ import annotations

import datetime as _dt
from typing import Sequence

import ibis
import ibis.expr.types as ir

from ...errors import ConfigError
from ...touchpoints import whole_seconds
from ..steps import Step, step_predicate
from ..customers import join_breakdown
from .periods import utc

__all__ = ["DISTRIBUTION_COLUMNS", "SUMMARY_COLUMNS", "purchase_count_distribution", "purchases",
           "repeat_purchase_summary"]

SUMMARY_COLUMNS = ("customers", "repeat_customers", "repeat_rate", "purchases", "purchases_per_customer",
                   "median_days_between", "p90_days_between", "median_days_to_second", "p90_days_to_second")
DISTRIBUTION_COLUMNS = ("purchases", "or_more", "customers", "share")


def _bounds(date_from, date_to) -> tuple[int | None, int | None]:
    """Epoch seconds: from ``date_from`` (inclusive) to ``date_to`` (inclusive: a bare date
    means the whole day)."""
    low = int(utc(date_from).timestamp()) if date_from is not None else None
    high = None
    if date_to is not None:
        end = utc(date_to)
        whole_day = isinstance(date_to, _dt.date) and not isinstance(date_to, _dt.datetime) or (
            isinstance(date_to, str) and len(date_to.strip()) == 10)
        high = int((end + _dt.timedelta(days=1)).timestamp()) - 1 if whole_day else int(end.timestamp())
    return low, high


def purchases(log: ir.Table, step: Step, *, date_from=None, date_to=None) -> ir.Table:
    """One row per purchase: customer_id, timestamp, event_id, ``purchase_number`` (1, 2, ...)
    and ``days_since_previous`` (NULL for the first)."""
    rows = log.filter(step_predicate(log, step)).select("customer_id", "timestamp", "event_id")
    rows = rows.mutate(_s=whole_seconds(rows.timestamp))
    low, high = _bounds(date_from, date_to)
    if low is not None:
        rows = rows.filter(rows._s >= low)
    if high is not None:
        rows = rows.filter(rows._s <= high)
    order = ibis.window(group_by="customer_id", order_by=["timestamp", "event_id"])
    rows = rows.mutate(purchase_number=(ibis.row_number().over(order) + 1).cast("int64"),
                       days_since_previous=((rows._s - rows._s.lag().over(order)) / 86400.0))
    return rows.drop("_s")


def repeat_purchase_summary(log: ir.Table, step: Step, *, breakdown: ir.Table | None = None,
                            by: Sequence[str] = (), date_from=None, date_to=None) -> ir.Table:
    """Repeat-purchase rate and time between purchases (see the module doc)."""
    by = list(by)
    rows = join_breakdown(purchases(log, step, date_from=date_from, date_to=date_to), breakdown, by)
    second = ibis.ifelse(rows.purchase_number == 2, rows.days_since_previous, ibis.null("float64"))
    rows = rows.mutate(_second=second)
    measures = dict(
        customers=(rows.purchase_number == 1).cast("int64").sum(),
        repeat_customers=(rows.purchase_number == 2).cast("int64").sum(),
        purchases=rows.count().cast("int64"),
        median_days_between=rows.days_since_previous.quantile(0.5),
        p90_days_between=rows.days_since_previous.quantile(0.9),
        median_days_to_second=rows._second.quantile(0.5),
        p90_days_to_second=rows._second.quantile(0.9),
    )
    summary = rows.group_by(by).aggregate(**measures) if by else rows.aggregate(**measures)

    def ratio(n, d):
        return ibis.ifelse(d > 0, (n / d).round(6), ibis.null("float64"))

    summary = summary.mutate(customers=summary.customers.fill_null(0),
                             repeat_customers=summary.repeat_customers.fill_null(0))
    summary = summary.mutate(
        repeat_rate=ratio(summary.repeat_customers, summary.customers),
        purchases_per_customer=ratio(summary.purchases, summary.customers),
        **{c: summary[c].round(4) for c in ("median_days_between", "p90_days_between", "median_days_to_second",
                                             "p90_days_to_second")})
    return summary.select(*by, *SUMMARY_COLUMNS).order_by([*by] or [ibis.desc("customers")])


def purchase_count_distribution(log: ir.Table, step: Step, *, cap: int | None = 10,
                                breakdown: ir.Table | None = None, by: Sequence[str] = (), date_from=None,
                                date_to=None) -> ir.Table:
    """Customers by number of purchases (see the module doc)."""
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 2):
        raise ConfigError(f"cap must be a whole number >= 2, not {cap!r}", field="cap",
                          hint="e.g. cap=10 groups customers with 10 or more purchases")
    by = list(by)
    rows = purchases(log, step, date_from=date_from, date_to=date_to)
    per_customer = rows.group_by("customer_id").aggregate(n=rows.count().cast("int64"))
    per_customer = join_breakdown(per_customer, breakdown, by)
    bucket = per_customer.n if cap is None else ibis.ifelse(per_customer.n >= cap, cap, per_customer.n)
    per_customer = per_customer.mutate(purchases=bucket.cast("int64"))
    table = per_customer.group_by([*by, "purchases"]).aggregate(customers=per_customer.count().cast("int64"))
    group = ibis.window(group_by=by or None)
    table = table.mutate(share=(table.customers / table.customers.sum().over(group)).round(6),
                         or_more=ibis.literal(False) if cap is None else table.purchases == cap)
    return table.select(*by, *DISTRIBUTION_COLUMNS).order_by([*by, "purchases"])
