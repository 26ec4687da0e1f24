"""Retention, lifecycle, stickiness and repeat purchases give the hand-worked answers of
tests/retention_cases.py on DuckDB and on Spark (weeks from Monday on both)."""

from __future__ import annotations

import datetime as dt

import pytest

from journeymap.analytics.retention import lifecycle_table, purchase_count_distribution, period_number, \
    period_start, repeat_purchase_summary, retention_table, stickiness_table
from journeymap.analytics.steps import parse_step

from .. import retention_cases as cases

SIGNUP, VISIT, ANY = parse_step("signup"), parse_step("visit"), parse_step("*")
ORDER = parse_step("order_completed")


def _naive(value):
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if hasattr(value, "to_pydatetime"):
        return _naive(value.to_pydatetime())
    return value


def _rows(table, columns):
    return [tuple(_naive(r[c]) for c in columns) for r in table.to_pyarrow().to_pylist()]


RETENTION = ["cohort", "period", "cohort_size", "customers", "retention_rate", "complete"]


@pytest.mark.parametrize("options, expected", [
    ({}, cases.RETENTION_FIRST_ON),
    ({"counting": "on_or_after"}, cases.RETENTION_FIRST_ON_OR_AFTER),
    ({"relative_to": "previous"}, cases.RETENTION_FIRST_PREVIOUS),
    ({"cohort": "recurring"}, cases.RETENTION_RECURRING_ON),
    ({"cohort": "recurring", "counting": "on_or_after"}, cases.RETENTION_RECURRING_ON_OR_AFTER),
    ({"date_from": "2025-01-20"}, cases.RETENTION_FIRST_FROM_W2),
    ({"cohort": "recurring", "date_from": "2025-01-20"}, cases.RETENTION_RECURRING_FROM_W2),
    ({"date_to": "2025-01-12"}, cases.RETENTION_FIRST_TO_W0),
], ids=["first-on", "first-on-or-after", "first-previous", "recurring-on", "recurring-on-or-after",
        "first-from-w2", "recurring-from-w2", "first-to-w0"])
def test_retention(backend, options, expected):
    events = backend.table("events", cases.events_table())
    table = retention_table(events, SIGNUP, VISIT, period="week", periods=4, as_of=cases.LATEST, **options)
    assert _rows(table, RETENTION) == expected


def test_retention_as_of_defaults_to_the_latest_touchpoint(backend):
    events = backend.table("events", cases.events_table())
    table = retention_table(events, SIGNUP, VISIT, period="week", periods=4)
    assert _rows(table, RETENTION) == cases.RETENTION_FIRST_ON


def test_retention_breakdown_with_a_null_group(backend):
    events = backend.table("events", cases.events_table())
    plans = backend.table("plans", cases.breakdown_table())
    table = retention_table(events, SIGNUP, VISIT, period="week", periods=4, as_of=cases.LATEST,
                            breakdown=plans, by=["plan"])
    got = _rows(table, ["plan", "cohort", "period", "cohort_size", "customers", "complete"])
    assert sorted(got, key=lambda r: (r[0] is None, r[0] or "", r[1], r[2])) == cases.RETENTION_BY_PLAN


def _lifecycle(table):
    cells = {}
    for period, status, customers, complete in _rows(table, ["period", "status", "customers", "complete"]):
        cells.setdefault((period, complete), {})[status] = customers
    return [(p, s["new"], s["returning"], s["resurrecting"], s["dormant"], c) for (p, c), s in cells.items()]


@pytest.mark.parametrize("options, expected", [
    ({"period": "week"}, cases.LIFECYCLE_WEEKLY),
    ({"period": "week", "date_from": "2025-01-13"}, cases.LIFECYCLE_WEEKLY_FROM_W1),
    ({"period": "month"}, cases.LIFECYCLE_MONTHLY),
], ids=["weekly", "weekly-from-w1", "monthly"])
def test_lifecycle(backend, options, expected):
    events = backend.table("events", cases.events_table())
    assert _lifecycle(lifecycle_table(events, VISIT, as_of=cases.LATEST, **options)) == expected


STICKINESS = ["interval", "active_periods", "customers", "share", "customers_at_least", "complete"]


def test_stickiness(backend):
    events = backend.table("events", cases.events_table())
    days = stickiness_table(events, ANY, period="day", within="week", as_of=cases.LATEST)
    assert _rows(days, STICKINESS) == cases.STICKINESS_DAYS_PER_WEEK
    weeks = stickiness_table(events, VISIT, period="week", within="all", as_of=cases.LATEST)
    assert _rows(weeks, STICKINESS) == cases.STICKINESS_VISIT_WEEKS_ALL


SUMMARY = ["customers", "repeat_customers", "repeat_rate", "purchases", "purchases_per_customer",
           "median_days_between", "p90_days_between", "median_days_to_second", "p90_days_to_second"]


@pytest.mark.parametrize("step, options, expected", [
    ("order_completed", {}, cases.REPEAT_ALL),
    ("order_completed[quantity>=2]", {}, cases.REPEAT_BIG),
    ("order_completed", {"date_from": "2025-01-03", "date_to": "2025-01-06"}, cases.REPEAT_EARLY_JANUARY),
], ids=["all", "filtered", "date-range"])
def test_repeat_purchases(backend, step, options, expected):
    orders = backend.table("orders", cases.orders_table())
    assert _rows(repeat_purchase_summary(orders, parse_step(step), **options), SUMMARY) == [expected]


def test_purchase_count_distribution(backend):
    orders = backend.table("orders", cases.orders_table())
    columns = ["purchases", "or_more", "customers", "share"]
    assert _rows(purchase_count_distribution(orders, ORDER), columns) == cases.PURCHASE_COUNTS
    assert _rows(purchase_count_distribution(orders, ORDER, cap=2), columns) == cases.PURCHASE_COUNTS_CAP_2


def test_week_truncation_starts_on_monday(backend):
    """date_trunc('week') is Monday on both engines, and the period numbers agree with Python's."""
    events = backend.table("events", cases.events_table())
    got = events.select("event_id", start=period_start(events.timestamp, "week"),
                        number=period_number(events.timestamp, "week"))
    rows = {r["event_id"]: (_naive(r["start"]), r["number"]) for r in got.to_pyarrow().to_pylist()}
    assert rows["a0"] == (cases.W[0], rows["b3"][1])  # Sunday 23:59:59 belongs to the week of Monday 01-06
    assert rows["a1"][0] == cases.W[1] and rows["a1"][1] == rows["a0"][1] + 1
    assert all(start.weekday() == 0 for start, _ in rows.values())
