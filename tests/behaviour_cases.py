"""Hand-built logs for the shared behavioural pieces (steps, sessions, segments), with the
expected results worked out by hand. Used by tests/test_behaviour.py and the conformance suite."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

UTC = dt.timezone.utc


def at(h: int, m: int = 0, s: int = 0, us: int = 0, day: int = 1) -> dt.datetime:
    return dt.datetime(2025, 3, day, h, m, s, us, tzinfo=UTC)


_COLUMNS = ("customer_id", "timestamp", "event_id", "event", "type", "channel", "utm_campaign", "url", "properties")


def table(rows: list[tuple]) -> pa.Table:
    """Rows in :data:`_COLUMNS` order -> an Arrow table with the canonical types."""
    types = {"timestamp": pa.timestamp("us", tz="UTC")}
    columns = list(zip(*rows))
    return pa.table({name: pa.array(list(values), type=types.get(name, pa.string()))
                     for name, values in zip(_COLUMNS, columns)})


# --- sessions --------------------------------------------------------------------------------
# a: 09:00 home (email, spring) -> 09:30 add_to_cart: exactly 30:00 later, the same session.
#    10:00:00.000001 is 30 min + 1 microsecond after 09:30: a new session. Two touchpoints share
#    that moment; event_id a3 < a4, so the identify (a3) opens session 2 (entry_event identify),
#    and the cart page (a4) is its landing and exit page.
#    12:00 an app screen: session 3, its path from the app:// URL.
# b: one track without a URL: no landing page, 0 page views.
SESSION_LOG = table([
    ("a", at(9), "a1", "page_view", "page", "email", "spring", "https://s.example/home?x=1", None),
    ("a", at(9, 30), "a2", "add_to_cart", "track", "direct", None, None, None),
    ("a", at(10, 0, 0, 1), "a4", "page_view", "page", "direct", None, "https://s.example/Cart/", None),
    ("a", at(10, 0, 0, 1), "a3", "identify", "identify", "direct", None, None, None),
    ("a", at(12), "a5", "screen_view", "screen", "app", None, "app://shop/orders", None),
    ("b", at(9, 10), "b1", "signup", "track", "paid_search", None, None, None),
])
SESSION_OF_EVENT = {"a1": "a#1", "a2": "a#1", "a3": "a#2", "a4": "a#2", "a5": "a#3", "b1": "b#1"}
# (session_id, started, ended, duration_seconds, events, page_views, entry_event, entry_channel,
#  entry_campaign, landing_page, exit_page)
EXPECTED_SESSIONS = [
    ("a#1", at(9), at(9, 30), 1800, 2, 1, "page_view", "email", "spring", "/home", "/home"),
    ("a#2", at(10, 0, 0, 1), at(10, 0, 0, 1), 0, 2, 1, "identify", "direct", None, "/cart", "/cart"),
    ("a#3", at(12), at(12), 0, 1, 1, "screen_view", "app", None, "/orders", "/orders"),
    ("b#1", at(9, 10), at(9, 10), 0, 1, 0, "signup", "paid_search", None, None, None),
]
# with a 2-hour gap, a's touchpoints are one session (the longest gap is 2:00:00 exactly)
EXPECTED_SESSIONS_2H = {"a#1": 5, "b#1": 1}

# --- segments -------------------------------------------------------------------------------
# c1: first came by email on mobile, bought (revenue 80) on day 20.
# c2: first came by search on desktop, bought (revenue 20) on day 2 - long before "now" (day 20).
# c3: first came by email, never bought, viewed the cart on day 19.
# c4: first came by social on mobile, only page views.
SEGMENT_LOG = table([
    ("c1", at(9, day=1), "1", "page_view", "page", "email", None, "https://s.example/", '{"device":"mobile"}'),
    ("c1", at(9, day=20), "2", "order_completed", "track", "direct", None, None, '{"revenue":80}'),
    ("c2", at(9, day=1), "3", "page_view", "page", "paid_search", None, "https://s.example/", '{"device":"desktop"}'),
    ("c2", at(9, day=2), "4", "order_completed", "track", "direct", None, None, '{"revenue":20}'),
    ("c3", at(9, day=1), "5", "page_view", "page", "email", None, "https://s.example/", '{"device":"desktop"}'),
    ("c3", at(9, day=19), "6", "page_view", "page", "direct", None, "https://s.example/cart", None),
    ("c4", at(9, day=3), "7", "page_view", "page", "social", None, "https://s.example/", '{"device":"mobile"}'),
])
# stage entries as jm.stages() gives them (only the columns segments read)
SEGMENT_ENTRIES = pa.table({
    "customer_id": ["c1", "c1", "c2", "c2", "c3", "c4"],
    "stage": ["awareness", "purchase", "awareness", "purchase", "awareness", "awareness"],
    "stage_index": pa.array([0, 3, 0, 3, 0, 0], pa.int64()),
    "entered_at": pa.array([at(9, day=1), at(9, day=20), at(9, day=1), at(9, day=2), at(9, day=1), at(9, day=3)],
                           pa.timestamp("us", tz="UTC")),
    "is_current": [False, True, False, True, True, True],
})
# (segment definition as in journeymap.toml, the customers it selects, worked out from the log above)
SEGMENT_CASES = [
    ({"where": "device=mobile"}, ["c1", "c4"]),
    ({"where": "channel=email,device!=mobile"}, ["c3"]),
    ({"did": ["order_completed"]}, ["c1", "c2"]),
    ({"did": ["order_completed[revenue>=50]"]}, ["c1"]),
    ({"did_not": ["order_completed"]}, ["c3", "c4"]),
    # within 7 days of the latest touchpoint (day 20 09:00): only c1's purchase counts
    ({"did": ["order_completed"], "within": "7d"}, ["c1"]),
    ({"did_not": ["order_completed"], "within": "7d"}, ["c2", "c3", "c4"]),
    ({"did": ["page_view[path=/cart]"]}, ["c3"]),
    ({"stage": ["purchase"]}, ["c1", "c2"]),
    ({"first_channel": ["email", "social"]}, ["c1", "c3", "c4"]),
    ({"first_channel": ["email"], "did_not": ["order_completed"]}, ["c3"]),
    ({"where": "device=mobile", "did": ["stage:purchase"]}, ["c1"]),
]
