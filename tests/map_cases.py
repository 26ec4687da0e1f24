"""A small, hand-worked journey for the map tests (DuckDB tests and the conformance suite).

Stage model: the four-stage preset (awareness, consideration, purchase, post_purchase).
Stage entries are written by hand (contract shape), so every lane number can be worked out
on paper; the expected numbers are in tests/test_map.py next to each assertion.

c1: awareness d1 -> consideration d3 -> purchase d6 (current); checkout error on mobile in
    consideration; a 2-star review and NPS 3 in purchase
c2: awareness d1 -> consideration d2 (current); checkout error on mobile; support chat
c3: awareness d2 (current); newsletter signup
c4: awareness d1 -> consideration d5 -> purchase d9 -> post_purchase d10 (current); desktop
    checkout; NPS 10 in purchase; a 5-star review (which triggers post_purchase, so its feeling
    counts in purchase) and NPS 9 in post_purchase
c5: awareness d3 (current); one identify (not a touchpoint)
c6: awareness d1 -> consideration d1 (same moment, 0 days in awareness); desktop checkout
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pyarrow as pa


def day(d: int, hour: int = 0) -> datetime:
    return datetime(2025, 1, d, tzinfo=timezone.utc) + timedelta(hours=hour)


AS_OF = day(11)
SITE = "https://s.example"

# event_id, customer, timestamp, type, event, channel, url, title, properties
_EVENTS = [
    ("e01", "c1", day(1), "page", "page_view", "email", "/blog/a", "Blog A", None),
    ("e02", "c1", day(2, 12), "track", "newsletter_signup", "direct", None, None, None),
    ("e03", "c1", day(3), "page", "page_view", "paid_search", "/shop/tents", "Tents", None),
    ("e04", "c1", day(4, 12), "track", "checkout_started", "direct", None, None, {"device": "mobile"}),
    ("e05", "c1", day(4, 13), "track", "checkout_error", "direct", None, None,
     {"device": "mobile", "error_code": "payment_form_timeout"}),
    ("e06", "c1", day(6), "track", "order_completed", "direct", None, None, None),
    ("e07", "c1", day(7, 12), "track", "review_submitted", "email", None, None,
     {"rating": 2, "review_text": "Not good, slow delivery."}),
    ("e08", "c1", day(8, 12), "track", "nps_submitted", "email", None, None, {"score": 3}),
    ("e09", "c2", day(1), "page", "page_view", "email", "/blog/a", "Blog A", None),
    ("e10", "c2", day(2), "page", "page_view", "direct", "/shop/tents", "Tents", None),
    ("e11", "c2", day(3, 12), "track", "checkout_started", "direct", None, None, {"device": "mobile"}),
    ("e12", "c2", day(3, 13), "track", "checkout_error", "direct", None, None,
     {"device": "mobile", "error_code": "payment_form_timeout"}),
    ("e13", "c2", day(4, 12), "track", "support_chat_started", "customer_service", None, None,
     {"topic": "payment_problem"}),
    ("e14", "c3", day(2), "page", "page_view", "paid_social", "/", "Home", None),
    ("e15", "c3", day(3, 12), "track", "newsletter_signup", "email", None, None, None),
    ("e16", "c4", day(1), "page", "page_view", "email", "/blog/a", "Blog A", None),
    ("e17", "c4", day(5), "page", "page_view", "direct", "/shop/tents", "Tents", None),
    ("e18", "c4", day(6, 12), "track", "checkout_started", "direct", None, None, {"device": "desktop"}),
    ("e19", "c4", day(9), "track", "order_completed", "direct", None, None, None),
    ("e20", "c4", day(9, 1), "track", "nps_submitted", "email", None, None, {"score": 10}),
    ("e21", "c4", day(10), "track", "review_submitted", "email", None, None,
     {"rating": 5, "review_text": "Great tent, love it!"}),
    ("e22", "c4", day(10, 1), "track", "nps_submitted", "email", None, None, {"score": 9}),
    ("e23", "c5", day(3), "page", "page_view", "paid_social", "/", "Home", None),
    ("e24", "c5", day(3, 1), "identify", "identify", "direct", None, None, None),
    ("e25", "c6", day(1), "page", "page_view", "direct", "/shop/tents", "Tents", None),
    ("e26", "c6", day(2, 12), "track", "checkout_started", "direct", None, None, {"device": "desktop"}),
]

# customer, [(stage, stage_index, entered day, trigger event id)]
_PATHS = {
    "c1": [("awareness", 0, 1, "e01"), ("consideration", 1, 3, "e03"), ("purchase", 2, 6, "e06")],
    "c2": [("awareness", 0, 1, "e09"), ("consideration", 1, 2, "e10")],
    "c3": [("awareness", 0, 2, "e14")],
    "c4": [("awareness", 0, 1, "e16"), ("consideration", 1, 5, "e17"), ("purchase", 2, 9, "e19"),
           ("post_purchase", 3, 10, "e21")],
    "c5": [("awareness", 0, 3, "e23")],
    "c6": [("awareness", 0, 1, "e25"), ("consideration", 1, 1, "e25")],
}


def events_table(rename: dict[str, str] | None = None) -> pa.Table:
    """The touchpoints as an Arrow table with the canonical columns the map reads.

    ``rename`` maps an event id to a replacement event name (for the escaping tests)."""
    rename = rename or {}
    rows = {k: [] for k in ("event_id", "timestamp", "type", "event", "customer_id", "channel", "url",
                            "page_title", "properties")}
    for eid, cid, ts, typ, event, channel, path, title, props in _EVENTS:
        rows["event_id"].append(eid)
        rows["timestamp"].append(ts)
        rows["type"].append(typ)
        rows["event"].append(rename.get(eid, event))
        rows["customer_id"].append(cid)
        rows["channel"].append(channel)
        rows["url"].append(SITE + path if path else None)
        rows["page_title"].append(title)
        rows["properties"].append(json.dumps(props) if props else None)
    schema = pa.schema([("event_id", pa.string()), ("timestamp", pa.timestamp("us", tz="UTC")),
                        ("type", pa.string()), ("event", pa.string()), ("customer_id", pa.string()),
                        ("channel", pa.string()), ("url", pa.string()), ("page_title", pa.string()),
                        ("properties", pa.string())])
    return pa.table(rows, schema=schema)


def entries_table() -> pa.Table:
    """Stage entries in the contract's shape (plus trigger_event_id), worked out by hand."""
    by_id = {e[0]: e for e in _EVENTS}
    rows = {k: [] for k in ("customer_id", "stage", "stage_index", "entered_at", "trigger_event_id",
                            "trigger_event", "skipped", "exited_at", "days_in_stage", "is_current")}
    for cid, path in _PATHS.items():
        for i, (stage, index, entered, trigger) in enumerate(path):
            nxt = path[i + 1] if i + 1 < len(path) else None
            entered_at = day(entered)
            exited_at = day(nxt[2]) if nxt else None
            rows["customer_id"].append(cid)
            rows["stage"].append(stage)
            rows["stage_index"].append(index)
            rows["entered_at"].append(entered_at)
            rows["trigger_event_id"].append(trigger)
            rows["trigger_event"].append(by_id[trigger][4])
            rows["skipped"].append(False)
            rows["exited_at"].append(exited_at)
            rows["days_in_stage"].append(((exited_at or AS_OF) - entered_at).total_seconds() / 86400)
            rows["is_current"].append(nxt is None)
    ts = pa.timestamp("us", tz="UTC")
    schema = pa.schema([("customer_id", pa.string()), ("stage", pa.string()), ("stage_index", pa.int64()),
                        ("entered_at", ts), ("trigger_event_id", pa.string()), ("trigger_event", pa.string()),
                        ("skipped", pa.bool_()), ("exited_at", ts), ("days_in_stage", pa.float64()),
                        ("is_current", pa.bool_())])
    return pa.table(rows, schema=schema)
