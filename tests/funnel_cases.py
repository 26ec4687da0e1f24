"""Hand-worked funnel cases shared by tests/test_funnels.py and the conformance suite.

Times are hours after 2025-01-01 00:00 UTC unless written otherwise; the window is 1 day
(86400 s, inclusive) unless a case says so. Each case: events (customer, event_id, hour, event,
properties), a funnel definition, and the expected rows worked out by hand in the comments.
"""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa

from journeymap.analytics.funnels import Exclusion, FunnelSpec, funnel_table, funnel_trend, funnel_units, \
    dropped_units, next_events, time_to_convert
from journeymap.analytics.steps import parse_step, parse_steps

BASE = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)
H = 1 / 3600  # one second, in hours


def table(events) -> pa.Table:
    """Arrow table of (customer, event_id, hours, event[, properties]) rows."""
    rows = [e if len(e) == 5 else (*e, None) for e in events]
    return pa.table({
        "customer_id": [r[0] for r in rows], "event_id": [r[1] for r in rows],
        "timestamp": pa.array([BASE + dt.timedelta(hours=r[2]) for r in rows], pa.timestamp("us", tz="UTC")),
        "event": [r[3] for r in rows], "type": ["track"] * len(rows),
        "properties": pa.array([json.dumps(r[4]) if r[4] else None for r in rows], pa.string())})


def spec(steps: str, **options) -> FunnelSpec:
    options.setdefault("window", DAY)
    return FunnelSpec(parse_steps(steps), **options)


# --------------------------------------------------------------------------- sequential basics
# steps view,cart,buy; window 1 day
SEQUENTIAL = [
    # a: the plain path. Reaches 3; view->cart 3600 s, cart->buy 3600 s.
    ("a", "a1", 0, "view"), ("a", "a2", 1, "cart"), ("a", "a3", 2, "buy"),
    # b: a cart before the first view is ignored; buy@2 comes before cart@3, so it is no step 3.
    #    Reaches 2 (view@1 -> cart@3: 7200 s).
    ("b", "b1", 0, "cart"), ("b", "b2", 1, "view"), ("b", "b3", 2, "buy"), ("b", "b4", 3, "cart"),
    # c: cart exactly 24 h after view: the window is inclusive, reached (86400 s); buy@25 is 25 h
    #    after the view: outside. Reaches 2.
    ("c", "c1", 0, "view"), ("c", "c2", 24, "cart"), ("c", "c3", 25, "buy"),
    # d: cart 24 h and 1 s after the view: outside. Reaches 1.
    ("d", "d1", 0, "view"), ("d", "d2", 24 + H, "cart"),
    # e: cart and view at one instant; event_id e1 < e2 puts the cart first, so no cart follows
    #    the view. Reaches 1.
    ("e", "e1", 5, "cart"), ("e", "e2", 5, "view"), ("e", "e3", 6, "buy"),
    # f: three steps at one instant in event_id order: reaches 3, 0 s and 0 s.
    ("f", "f1", 5, "view"), ("f", "f2", 5, "cart"), ("f", "f3", 5, "buy"),
    # g: two attempts. From view@0: cart@11, buy@30 is 30 h later: 2 steps. From view@10: cart@11,
    #    buy@30 is 20 h later: 3 steps. The furthest wins: 3600 s then 68400 s.
    ("g", "g1", 0, "view"), ("g", "g2", 10, "view"), ("g", "g3", 11, "cart"), ("g", "g4", 30, "buy"),
    # h: view@0, view@1, cart@2: both attempts reach 2 with the same cart; PostHog keeps the
    #    shorter (latest) one: 3600 s, not 7200 s.
    ("h", "h1", 0, "view"), ("h", "h2", 1, "view"), ("h", "h3", 2, "cart"),
]
# step 1: a b c d e f g h = 8; step 2: a b c f g h = 6; step 3: a f g = 3.
# step 2 gaps: a 3600, b 7200, c 86400, f 0, g 3600, h 3600 -> median 3600, mean 104400/6 = 17400
# step 3 gaps: a 3600, f 0, g 68400 -> median 3600, mean 72000/3 = 24000
# (step, label, count, conversion_from_first, conversion_from_previous, dropped, median, average)
SEQUENTIAL_EXPECTED = [
    (1, "view", 8, 1.0, None, 0, None, None),
    (2, "cart", 6, 0.75, 0.75, 2, 3600.0, 17400.0),
    (3, "buy", 3, 0.375, 0.5, 3, 3600.0, 24000.0),
]

# --------------------------------------------------------------------------- repeated steps
# steps view,view,buy: the second view must be another event.
REPEATED = [
    ("r", "r1", 0, "view"), ("r", "r2", 1, "buy"),                          # r: one view: reaches 1
    ("s", "s1", 0, "view"), ("s", "s2", 1, "view"), ("s", "s3", 2, "buy"),  # s: reaches 3
]
REPEATED_EXPECTED = [(1, "view", 2), (2, "view", 1), (3, "buy", 1)]

# --------------------------------------------------------------------------- strict and any order
ORDERS = [
    ("a", "a1", 0, "view"), ("a", "a2", 1, "cart"), ("a", "a3", 2, "buy"),                          # strict 3
    ("b", "b1", 0, "view"), ("b", "b2", 1, "page"), ("b", "b3", 2, "cart"), ("b", "b4", 3, "buy"),  # strict 1
    ("c", "c1", 0, "view"), ("c", "c2", 1, "cart"), ("c", "c3", 2, "page"), ("c", "c4", 3, "buy"),  # strict 2
    ("d", "d1", 0, "view"), ("d", "d2", 1, "view"), ("d", "d3", 2, "cart"), ("d", "d4", 3, "buy"),  # strict 3 (2nd view)
]
# sequential: everyone reaches 3 -> 4 4 4; strict: 4 3 2
STRICT_EXPECTED = [(1, "view", 4), (2, "cart", 3), (3, "buy", 2)]
ORDERS_SEQUENTIAL_EXPECTED = [(1, "view", 4), (2, "cart", 4), (3, "buy", 4)]

ANY = [
    ("a", "a1", 0, "buy"), ("a", "a2", 1, "view"), ("a", "a3", 2, "cart"),  # all three within a day: 3
    ("b", "b1", 0, "cart"), ("b", "b2", 30, "view"),                         # 30 h apart: 1 step at most
    ("c", "c1", 0, "view"), ("c", "c2", 10, "cart"),                         # 2
]
# any order, "count" = customers who did at least that many of the steps: 3 2 1.
# sequential on the same log: a view@1 cart@2, no buy after -> 2; b 1; c 2 -> 3 2 0.
ANY_EXPECTED = [(1, "view", 3), (2, "cart", 2), (3, "buy", 1)]
ANY_SEQUENTIAL_EXPECTED = [(1, "view", 3), (2, "cart", 2), (3, "buy", 0)]

# --------------------------------------------------------------------------- exclusions
# steps view,cart,buy; exclusion cancel between steps 1 and 2
EXCLUSIONS = [
    # a: cancel between view and cart: the only attempt is disqualified -> a leaves the funnel.
    ("a", "a1", 0, "view"), ("a", "a2", 1, "cancel"), ("a", "a3", 2, "cart"), ("a", "a4", 3, "buy"),
    # b: cancel after the cart (between 2 and 3): not excluded. Reaches 3.
    ("b", "b1", 0, "view"), ("b", "b2", 1, "cart"), ("b", "b3", 2, "cancel"), ("b", "b4", 3, "buy"),
    # c: view@0 cancel@1 view@5 cart@6: the first attempt (view@0 -> cart@6) is disqualified, the
    #    second (view@5 -> cart@6) reaches as far and is clean: counted, reaches 2.
    ("c", "c1", 0, "view"), ("c", "c2", 1, "cancel"), ("c", "c3", 5, "view"), ("c", "c4", 6, "cart"),
    # d: cancel 25 h after the view: outside the window, so it does not count. Reaches 1.
    ("d", "d1", 0, "view"), ("d", "d2", 25, "cancel"),
]
EXCLUSIONS_EXPECTED = [(1, "view", 3), (2, "cart", 2), (3, "buy", 1)]  # b c d / b c / b
EXCLUSION = Exclusion(parse_step("cancel"), 1, 2)

# --------------------------------------------------------------------------- count by session / total
# steps view,cart; sessions split after 30 minutes of inactivity
SESSIONS = [
    # a: session 1 view@0:00 cart@0:10 converts; session 2 (view@2:00) does not.
    ("a", "a1", 0, "view"), ("a", "a2", 10 / 60, "cart"), ("a", "a3", 2, "view"),
    # b: view@0:00 and cart@1:00 are in two sessions: session 1 has the view only, session 2
    #    the cart only (not entered).
    ("b", "b1", 0, "view"), ("b", "b2", 1, "cart"),
]
SESSIONS_EXPECTED = [(1, "view", 3), (2, "cart", 1)]          # sessions a#1 a#2 b#1 / a#1
SESSIONS_BY_CUSTOMER_EXPECTED = [(1, "view", 2), (2, "cart", 2)]

TOTAL = [
    # entries view@0, view@1, view@3; view@0 and view@1 both reach cart@2, which counts once, for
    # the later entry; view@3 reaches cart@4. Entries 3, conversions 2.
    ("a", "a1", 0, "view"), ("a", "a2", 1, "view"), ("a", "a3", 2, "cart"), ("a", "a4", 3, "view"),
    ("a", "a5", 4, "cart"),
]
TOTAL_EXPECTED = [(1, "view", 3), (2, "cart", 2)]

# --------------------------------------------------------------------------- breakdown attribution
# steps view,cart,buy; breakdown device (properties.device)
BREAKDOWN = [
    ("a", "a1", 0, "view", {"device": "mobile"}), ("a", "a2", 1, "cart", {"device": "desktop"}), ("a", "a3", 2, "buy"),
    ("b", "b1", 0, "view", {"device": "desktop"}), ("b", "b2", 1, "cart", {"device": "desktop"}),
    ("c", "c1", 0, "view"), ("c", "c2", 1, "cart", {"device": "mobile"}),
]
# first_touch (first non-NULL value on a step event): a mobile, b desktop, c mobile
# last_touch (last non-NULL value): a desktop (buy has none), b desktop, c mobile
# step:2 (value on the chosen attempt's step-2 event): a desktop, b desktop, c mobile
# all_steps (a funnel per value, every step with that value): a-mobile view only -> 1;
#   a-desktop and a-NULL start with no view; b-desktop 2; c-NULL view only -> 1; c-mobile no view.
# (breakdown_value, step, count)
BREAKDOWN_EXPECTED = {
    "first_touch": [("desktop", 1, 1), ("desktop", 2, 1), ("desktop", 3, 0),
                    ("mobile", 1, 2), ("mobile", 2, 2), ("mobile", 3, 1)],
    "last_touch": [("desktop", 1, 2), ("desktop", 2, 2), ("desktop", 3, 1),
                   ("mobile", 1, 1), ("mobile", 2, 1), ("mobile", 3, 0)],
    "step:2": [("desktop", 1, 2), ("desktop", 2, 2), ("desktop", 3, 1),
               ("mobile", 1, 1), ("mobile", 2, 1), ("mobile", 3, 0)],
    "all_steps": [(None, 1, 1), (None, 2, 0), (None, 3, 0), ("desktop", 1, 1), ("desktop", 2, 1), ("desktop", 3, 0),
                  ("mobile", 1, 1), ("mobile", 2, 0), ("mobile", 3, 0)],
}

# --------------------------------------------------------------------------- trend
# steps view,buy; window 1 day; daily periods; the latest touchpoint is Jan 3 09:00.
TREND = [
    ("a", "a1", 10, "view"), ("a", "a2", 12, "buy"),   # Jan 1: entered, converted
    ("b", "b1", 34, "view"),                            # Jan 2: entered
    ("c", "c1", 56, "view"), ("c", "c2", 57, "buy"),   # Jan 3: entered, converted
]
# complete: the period's last second + 1 day <= Jan 3 09:00. Jan 1: Jan 2 23:59:59 yes; Jan 2: no; Jan 3: no.
TREND_EXPECTED = [(dt.date(2025, 1, 1), 1, 1, 1.0, True), (dt.date(2025, 1, 2), 1, 0, 0.0, False),
                  (dt.date(2025, 1, 3), 1, 1, 1.0, False)]

# --------------------------------------------------------------------------- time to convert, drop-offs
# On SEQUENTIAL, steps 1 -> 3 took: a 7200 s, f 0 s, g 72000 s (view@10 -> buy@30).
# bins=2: from 0 to 72000, width ceil(72001 / 2) = 36001: [0, 36001) a f, [36001, 72002) g.
# median 7200, p90 = 7200 + 0.8 * (72000 - 7200) = 59040, average 79200 / 3 = 26400.
TIME_TO_CONVERT_EXPECTED = [(0, 0, 36001, 2), (1, 36001, 72002, 1)]
TIME_TO_CONVERT_STATS = (3, 7200.0, 59040.0, 26400.0)
# dropped at step 2 (viewed, no cart): d, e. Next: d's cart@24h+1s; e's buy@6 (after view e2).
# dropped at step 3 (cart, no buy): b (nothing after cart@3), c (buy@25), h (nothing).
DROPPED = {2: ["d", "e"], 3: ["b", "c", "h"]}
NEXT_EVENTS = {2: [("buy", 1, 0.5), ("cart", 1, 0.5)], 3: [("(none)", 2, 0.666667), ("buy", 1, 0.333333)]}


# --------------------------------------------------------------------------- runners
def steps_rows(log, funnel_spec: FunnelSpec, detail: bool = False) -> list[tuple]:
    rows = funnel_table(funnel_units(log, funnel_spec), funnel_spec).to_pyarrow().to_pylist()
    if detail:
        return [(r["step"], r["step_label"], r["count"], r["conversion_from_first"], r["conversion_from_previous"],
                 r["dropped"], r["median_seconds_from_previous"], r["average_seconds_from_previous"]) for r in rows]
    return [(r["step"], r["step_label"], r["count"]) for r in rows]


def breakdown_rows(log, attribution: str) -> list[tuple]:
    s = spec("view,cart,buy", breakdown="device", attribution=attribution)
    rows = funnel_table(funnel_units(log, s), s).to_pyarrow().to_pylist()
    return sorted(((r["breakdown_value"], r["step"], r["count"]) for r in rows),
                  key=lambda r: ("" if r[0] is None else r[0], r[1]))


def trend_rows(log) -> list[tuple]:
    rows = funnel_trend(log, spec("view,buy"), period="day").to_pyarrow().to_pylist()
    return [(r["period"], r["entered"], r["converted"], r["conversion_rate"], r["complete"]) for r in rows]


def time_to_convert_rows(log) -> tuple[list[tuple], tuple]:
    s = spec("view,cart,buy")
    rows = time_to_convert(funnel_units(log, s), s, bins=2).to_pyarrow().to_pylist()
    return ([(r["bin"], r["from_seconds"], r["to_seconds"], r["customers"]) for r in rows],
            (rows[0]["converted"], rows[0]["median_seconds"], rows[0]["p90_seconds"], rows[0]["average_seconds"]))


def dropped_rows(log, step: int) -> list[str]:
    s = spec("view,cart,buy")
    rows = dropped_units(funnel_units(log, s), s, step).to_pyarrow().to_pylist()
    return sorted(r["customer_id"] for r in rows)


def next_event_rows(log, step: int) -> list[tuple]:
    s = spec("view,cart,buy")
    rows = next_events(log, s, dropped_units(funnel_units(log, s), s, step)).to_pyarrow().to_pylist()
    return [(r["next_event"], r["customers"], r["share"]) for r in rows]
