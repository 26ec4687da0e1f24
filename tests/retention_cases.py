"""Hand-worked retention, lifecycle, stickiness and repeat-purchase cases, shared by
tests/test_retention.py and the conformance suite (DuckDB and Spark).

Weeks start on Monday (UTC). Monday 2025-01-06 opens week W0; W1 = 01-13..19, W2 = 01-20..26,
W3 = 01-27..02-02, W4 = 02-03..09. The latest touchpoint (c's visit on 02-04) is in W4, so W4
is the current week: not complete, and nothing after it is reported.

EVENTS (retention, lifecycle, stickiness):

| customer | signup | visit | notes |
|---|---|---|---|
| a | Sun 01-12 23:59:59 (W0) | Mon 01-13 00:00 (W1), Tue 01-28 (W3) | one second apart across the week boundary |
| b | 01-07 (W0), 01-21 (W2) | 01-22 (W2), 01-29 (W3) | signs up twice: two recurring cohort entries |
| c | 01-14 (W1) | 01-15 (W1), 02-04 (W4) | a visit in the cohort week itself is period 0 anyway |
| d | 01-16 (W1) | 01-08 (W0) | visited *before* signing up: that never counts as a return |
| e | - | 01-06 twice (W0), 01-24 (W2) | no signup: in no retention cohort, but in the lifecycle |

ORDERS (repeat purchases; ``quantity`` in properties):

| customer | orders (2025, UTC) | quantity |
|---|---|---|
| p | 01-01 00:00, 01-03 00:00, 01-10 12:00 | 2 each |
| q | 01-05 10:00 (q1), 01-05 10:00 (q2), 01-06 10:00 | 1 each |
| r | 01-15 | 3 |
| s | 01-02, 01-20 | 1, then 2 |
"""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa

UTC = dt.timezone.utc


def at(month: int, day: int, hour: int = 12, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, second, tzinfo=UTC)


W = {n: dt.datetime(2025, 1, 6) + dt.timedelta(weeks=n) for n in range(6)}  # week starts (naive UTC)
JAN, FEB = dt.datetime(2025, 1, 1), dt.datetime(2025, 2, 1)

_EVENTS = [
    ("a", at(1, 12, 23, 59, 59), "signup"), ("a", at(1, 13, 0), "visit"), ("a", at(1, 28), "visit"),
    ("b", at(1, 7), "signup"), ("b", at(1, 21), "signup"), ("b", at(1, 22), "visit"), ("b", at(1, 29), "visit"),
    ("c", at(1, 14), "signup"), ("c", at(1, 15), "visit"), ("c", at(2, 4), "visit"),
    ("d", at(1, 8), "visit"), ("d", at(1, 16), "signup"),
    ("e", at(1, 6, 9), "visit"), ("e", at(1, 6, 18), "visit"), ("e", at(1, 24), "visit"),
]
LATEST = at(2, 4)


def _table(rows: list[tuple], properties: list) -> pa.Table:
    return pa.table({
        "customer_id": pa.array([r[0] for r in rows], pa.string()),
        "timestamp": pa.array([r[1] for r in rows], pa.timestamp("us", tz="UTC")),
        "event_id": pa.array([r[3] if len(r) > 3 else f"{r[0]}{i}" for i, r in enumerate(rows)], pa.string()),
        "type": pa.array(["track"] * len(rows), pa.string()),
        "event": pa.array([r[2] for r in rows], pa.string()),
        "properties": pa.array(properties, pa.string()),
    })


def events_table() -> pa.Table:
    return _table(_EVENTS, [None] * len(_EVENTS))


_ORDERS = [
    ("p", at(1, 1, 0), "order_completed", "p1", 2), ("p", at(1, 3, 0), "order_completed", "p2", 2),
    ("p", at(1, 10, 12), "order_completed", "p3", 2),
    # q2 has the same timestamp as q1: ordered by event_id, a 0-day gap
    ("q", at(1, 5, 10), "order_completed", "q2", 1), ("q", at(1, 5, 10), "order_completed", "q1", 1),
    ("q", at(1, 6, 10), "order_completed", "q3", 1),
    ("r", at(1, 15), "order_completed", "r1", 3),
    ("s", at(1, 2, 0), "order_completed", "s1", 1), ("s", at(1, 20, 0), "order_completed", "s2", 2),
    ("s", at(1, 3), "page_view", "s0", None),
]


def orders_table() -> pa.Table:
    return _table(_ORDERS, [None if r[4] is None else json.dumps({"quantity": r[4]}) for r in _ORDERS])


def breakdown_table() -> pa.Table:
    """plan per customer; d is missing (a NULL group), e has none either."""
    return pa.table({"customer_id": ["a", "b", "c"], "plan": ["pro", "free", "pro"]})


# --- retention: start signup, return visit, weekly, 4 periods ------------------------------------
# (cohort, period, cohort_size, customers, retention_rate, complete)
#
# First-time cohorts: a, b -> W0 (a's Sunday 23:59:59 signup is still W0); c, d -> W1.
# W0: p1 = W1: a (Mon 00:00 visit) = 1; p2 = W2: b = 1; p3 = W3: a and b = 2. All weeks < W4: complete.
# W1: p1 = W2: nobody; p2 = W3: nobody (d's visit was before the signup); p3 = W4: c, not complete.
RETENTION_FIRST_ON = [
    (W[0], 0, 2, 2, 1.0, True), (W[0], 1, 2, 1, 0.5, True), (W[0], 2, 2, 1, 0.5, True), (W[0], 3, 2, 2, 1.0, True),
    (W[1], 0, 2, 2, 1.0, True), (W[1], 1, 2, 0, 0.0, True), (W[1], 2, 2, 0, 0.0, True), (W[1], 3, 2, 1, 0.5, False),
]
# On or after: retained in N if the last return is N or later. W0: a last p3, b last p3 -> 2, 2, 2.
# W1: c last p3 -> 1, 1, 1; d never returns.
RETENTION_FIRST_ON_OR_AFTER = [
    (W[0], 0, 2, 2, 1.0, True), (W[0], 1, 2, 2, 1.0, True), (W[0], 2, 2, 2, 1.0, True), (W[0], 3, 2, 2, 1.0, True),
    (W[1], 0, 2, 2, 1.0, True), (W[1], 1, 2, 1, 0.5, True), (W[1], 2, 2, 1, 0.5, True), (W[1], 3, 2, 1, 0.5, False),
]
# Relative to the previous period (counting on): W0 2 -> 1 -> 1 -> 2: 0.5, 1.0, 2.0 (a customer can
# come back after skipping a period, so it can exceed 1). W1 2 -> 0 -> 0 -> 1: 0.0, then NULL (base 0).
RETENTION_FIRST_PREVIOUS = [
    (W[0], 0, 2, 2, 1.0, True), (W[0], 1, 2, 1, 0.5, True), (W[0], 2, 2, 1, 1.0, True), (W[0], 3, 2, 2, 2.0, True),
    (W[1], 0, 2, 2, 1.0, True), (W[1], 1, 2, 0, 0.0, True), (W[1], 2, 2, 0, None, True), (W[1], 3, 2, 1, None, False),
]
# Recurring: b's second signup (W2) is a cohort entry of its own. W2: p1 = W3: b visited = 1;
# p2 = W4: no (and W4 is current); p3 = W5 has not begun: left out.
RETENTION_RECURRING_ON = RETENTION_FIRST_ON + [
    (W[2], 0, 1, 1, 1.0, True), (W[2], 1, 1, 1, 1.0, True), (W[2], 2, 1, 0, 0.0, False),
]
RETENTION_RECURRING_ON_OR_AFTER = RETENTION_FIRST_ON_OR_AFTER + [
    (W[2], 0, 1, 1, 1.0, True), (W[2], 1, 1, 1, 1.0, True), (W[2], 2, 1, 0, 0.0, False),
]
# date_from 2025-01-20 (W2): first-time cohorts are first-ever signups, none of them in W2 or
# later -> empty. Recurring: only b's W2 entry.
RETENTION_FIRST_FROM_W2: list = []
RETENTION_RECURRING_FROM_W2 = RETENTION_RECURRING_ON[-3:]
# date_to 2025-01-12 (the Sunday of W0): W0 cohorts only.
RETENTION_FIRST_TO_W0 = RETENTION_FIRST_ON[:4]

# By plan (first time, on): pro = a (W0) and c (W1); free = b (W0); d has no plan (NULL group).
# (plan, cohort, period, cohort_size, customers, complete)
RETENTION_BY_PLAN = [
    ("free", W[0], 0, 1, 1, True), ("free", W[0], 1, 1, 0, True), ("free", W[0], 2, 1, 1, True),
    ("free", W[0], 3, 1, 1, True),
    ("pro", W[0], 0, 1, 1, True), ("pro", W[0], 1, 1, 1, True), ("pro", W[0], 2, 1, 0, True),
    ("pro", W[0], 3, 1, 1, True),
    ("pro", W[1], 0, 1, 1, True), ("pro", W[1], 1, 1, 0, True), ("pro", W[1], 2, 1, 0, True),
    ("pro", W[1], 3, 1, 1, False),
    (None, W[1], 0, 1, 1, True), (None, W[1], 1, 1, 0, True), (None, W[1], 2, 1, 0, True),
    (None, W[1], 3, 1, 0, False),
]

# --- lifecycle of visit, weekly ---------------------------------------------------------------
# visits: a W1, W3; b W2, W3; c W1, W4; d W0; e W0, W2.
# a: W1 new, W2 dormant, W3 resurrecting, W4 dormant. b: W2 new, W3 returning, W4 dormant.
# c: W1 new, W2 dormant, W4 resurrecting (W5 dormant: not begun, left out). d: W0 new, W1 dormant.
# e: W0 new, W1 dormant, W2 resurrecting, W3 dormant.
# (period, new, returning, resurrecting, dormant, complete)
LIFECYCLE_WEEKLY = [
    (W[0], 2, 0, 0, 0, True),
    (W[1], 2, 0, 0, 2, True),
    (W[2], 1, 0, 1, 2, True),
    (W[3], 0, 1, 1, 1, True),
    (W[4], 0, 0, 1, 2, False),
]
# date_from 2025-01-13: the same statuses from W1 on (history before it still decides "new").
LIFECYCLE_WEEKLY_FROM_W1 = LIFECYCLE_WEEKLY[1:]
# Monthly: everyone visits in January (new 5); in February only c (returning), the others are
# dormant; February is the current month.
LIFECYCLE_MONTHLY = [(JAN, 5, 0, 0, 0, True), (FEB, 0, 1, 0, 4, False)]

# --- stickiness of any touchpoint: days per week --------------------------------------------------
# W0: a (Sun), b, d, e (two visits on one day = 1 day) -> 4 customers with 1 day.
# W1: a 1 day, c 2 days (signup 01-14, visit 01-15), d 1 day. W2: b 2 days (01-21, 01-22), e 1.
# W3: a, b 1 day each. W4: c 1 day (current week).
# (interval, active_periods, customers, share, customers_at_least, complete)
STICKINESS_DAYS_PER_WEEK = [
    (W[0], 1, 4, 1.0, 4, True),
    (W[1], 1, 2, 0.666667, 3, True), (W[1], 2, 1, 0.333333, 1, True),
    (W[2], 1, 1, 0.5, 2, True), (W[2], 2, 1, 0.5, 1, True),
    (W[3], 1, 2, 1.0, 2, True),
    (W[4], 1, 1, 1.0, 1, False),
]
# PostHog's stickiness (within the whole range): weeks with a visit: a 2, b 2, c 2, d 1, e 2.
STICKINESS_VISIT_WEEKS_ALL = [(W[0], 1, 1, 0.2, 5, False), (W[0], 2, 4, 0.8, 4, False)]

# --- repeat purchases --------------------------------------------------------------------------
# All orders: buyers p, q, r, s (4); repeat p, q, s (3) -> 0.75; 9 orders -> 2.25 per buyer.
# Gaps: p 2.0, 7.5; q 0.0 (the tie), 1.0; s 18.0 -> sorted 0, 1, 2, 7.5, 18: median 2.0,
# p90 at position 3.6: 7.5 + 0.6 * 10.5 = 13.8. First to second: p 2.0, q 0.0, s 18.0 -> median
# 2.0, p90 at 1.8: 2 + 0.8 * 16 = 14.8.
# (customers, repeat_customers, repeat_rate, purchases, purchases_per_customer,
#  median_days_between, p90_days_between, median_days_to_second, p90_days_to_second)
REPEAT_ALL = (4, 3, 0.75, 9, 2.25, 2.0, 13.8, 2.0, 14.8)
# order_completed[quantity>=2]: p (3 orders), r (1), s (only the second) -> 3 buyers, 1 repeat.
# Gaps p 2.0, 7.5: median 4.75, p90 2 + 0.9 * 5.5 = 6.95; to second 2.0.
REPEAT_BIG = (3, 1, 0.333333, 5, 1.666667, 4.75, 6.95, 2.0, 2.0)
# 2025-01-03 .. 2025-01-06 (inclusive): p's 01-03 order, q's three -> 2 buyers, q repeats.
# Gaps: q 0.0, 1.0 -> median 0.5, p90 0.9; to second 0.0.
REPEAT_EARLY_JANUARY = (2, 1, 0.5, 4, 2.0, 0.5, 0.9, 0.0, 0.0)
# (purchases, or_more, customers, share)
PURCHASE_COUNTS = [(1, False, 1, 0.25), (2, False, 1, 0.25), (3, False, 2, 0.5)]
PURCHASE_COUNTS_CAP_2 = [(1, False, 1, 0.25), (2, True, 3, 0.75)]
