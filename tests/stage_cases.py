"""Hand-worked stage cases shared by tests/test_stages.py and the conformance suite.

Five customers over a six-stage test model (``MODEL_TOML``); days count from 2025-01-01 UTC.

- p walks every stage: page (visit), /shop page (interest), add_to_cart at price 30 (too
  cheap) then 80.5 (intent), three orders at days 4, 40, 50 (loyal at the third: 4 -> 40 is
  more than 30 days), a 5-star review and an NPS 9 (fan: all of both, at the later one).
- q buys on the first visit: an order and a /compare page at the same instant; q1 sorts
  before q2, so the order comes first and visit, interest and intent are skipped into buyer.
- r: an email touch tagged utm_campaign SPRING (matches "Spring" case-insensitively) makes
  interest without a page view (visit skipped); orders at days 1 and 5 (loyal).
- w orders exactly 30 days apart (loyal: the window is inclusive); x 30 days and a minute (not).
"""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa

BASE = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)

MODEL_TOML = """
[[stages.stage]]
name = "visit"
when = { type = ["page", "screen"] }

[[stages.stage]]
name = "interest"
when = { any = [ { path = ["/shop/*", "/compare"] }, { utm_campaign = "Spring" } ] }

[[stages.stage]]
name = "intent"
when = { event = "add_to_cart", property = "price", op = ">=", value = 50 }

[[stages.stage]]
name = "buyer"
when = { event = "order_completed" }

[[stages.stage]]
name = "loyal"
when = { event = "order_completed", min_count = 2, within_days = 30 }
stay_days = 60

[[stages.stage]]
name = "fan"
when = { all = [
  { event = "review_submitted", property = "rating", op = ">=", value = 4 },
  { event = "nps_submitted", property = "score", op = "in", value = [9, 10] },
] }
"""

SITE = "https://shop.example"
# (customer, event_id, day, type, event, url, channel, utm_campaign, properties)
EVENTS = [
    ("p", "p1", 0, "page", "page_view", SITE + "/", "email", None, None),
    ("p", "p2", 1, "page", "page_view", SITE + "/shop/tents?utm=x", "email", None, None),
    ("p", "p3", 2, "track", "add_to_cart", None, "email", None, {"price": 30}),
    ("p", "p4", 3, "track", "add_to_cart", None, "email", None, {"price": 80.5}),
    ("p", "p5", 4, "track", "order_completed", None, "email", None, None),
    ("p", "p6", 40, "track", "order_completed", None, "email", None, None),
    ("p", "p7", 50, "track", "order_completed", None, "email", None, None),
    ("p", "p8", 51, "track", "review_submitted", None, "email", None, {"rating": 5}),
    ("p", "p9", 52, "track", "nps_submitted", None, "email", None, {"score": 9}),
    ("q", "q1", 10, "track", "order_completed", None, "direct", None, None),
    ("q", "q2", 10, "page", "page_view", SITE + "/compare", "direct", None, None),
    ("r", "r1", 0, "track", "email_open", None, "paid_search", "SPRING", None),
    ("r", "r2", 1, "track", "order_completed", None, "paid_search", None, None),
    ("r", "r3", 5, "track", "order_completed", None, "paid_search", None, None),
    ("w", "w1", 0, "track", "order_completed", None, "direct", None, None),
    ("w", "w2", 30, "track", "order_completed", None, "direct", None, None),
    ("x", "x1", 0, "track", "order_completed", None, "direct", None, None),
    ("x", "x2", 30 + 1 / 1440, "track", "order_completed", None, "direct", None, None),
]

# (customer, stage, trigger_event_id, skipped, days_in_stage, is_current) with as_of = day 52
ENTRIES = [
    ("p", "visit", "p1", False, 1.0, False), ("p", "interest", "p2", False, 2.0, False),
    ("p", "intent", "p4", False, 1.0, False), ("p", "buyer", "p5", False, 46.0, False),
    ("p", "loyal", "p7", False, 2.0, False), ("p", "fan", "p9", False, 0.0, True),
    ("q", "visit", "q1", True, 0.0, False), ("q", "interest", "q1", True, 0.0, False),
    ("q", "intent", "q1", True, 0.0, False), ("q", "buyer", "q1", False, 42.0, True),
    ("r", "visit", "r1", True, 0.0, False), ("r", "interest", "r1", False, 1.0, False),
    ("r", "intent", "r2", True, 0.0, False), ("r", "buyer", "r2", False, 4.0, False),
    ("r", "loyal", "r3", False, 47.0, True),
    ("w", "visit", "w1", True, 0.0, False), ("w", "interest", "w1", True, 0.0, False),
    ("w", "intent", "w1", True, 0.0, False), ("w", "buyer", "w1", False, 30.0, False),
    ("w", "loyal", "w2", False, 22.0, True),
    ("x", "visit", "x1", True, 0.0, False), ("x", "interest", "x1", True, 0.0, False),
    ("x", "intent", "x1", True, 0.0, False), ("x", "buyer", "x1", False, round(52 - 0, 6), True),
]

# the stage of every touchpoint (stage_at_touchpoint)
TOUCHPOINT_STAGES = {
    "p1": "visit", "p2": "interest", "p3": "interest", "p4": "intent", "p5": "buyer", "p6": "buyer",
    "p7": "loyal", "p8": "loyal", "p9": "fan", "q1": "buyer", "q2": "buyer", "r1": "interest", "r2": "buyer",
    "r3": "loyal", "w1": "buyer", "w2": "loyal", "x1": "buyer", "x2": "buyer",
}

# the stage each touchpoint was given in (before=True): a trigger counts in the stage it left
TOUCHPOINT_STAGES_BEFORE = {
    "p1": None, "p2": "visit", "p3": "interest", "p4": "interest", "p5": "intent", "p6": "buyer",
    "p7": "buyer", "p8": "loyal", "p9": "loyal", "q1": None, "q2": "buyer", "r1": None, "r2": "interest",
    "r3": "buyer", "w1": None, "w2": "buyer", "x1": None, "x2": "buyer",
}

# stage funnel: (stage, customers, skipped, conv. from previous, conv. from first, dropped,
#                median days from previous, p90 days from previous, median days in stage)
FUNNEL = [
    ("visit", 5, 4, None, None, 0, None, None, 1.0),
    ("interest", 5, 3, 1.0, 1.0, 0, 0.0, 0.6, 1.5),
    ("intent", 5, 4, 1.0, 1.0, 0, 0.0, 1.6, 1.0),
    ("buyer", 5, 0, 1.0, 1.0, 2, 0.0, 0.6, 30.0),
    ("loyal", 3, 0, 0.6, 0.6, 2, 30.0, 42.8, 2.0),
    ("fan", 1, 0, 0.333333, 0.2, 0, 2.0, 2.0, None),
]
# first-touch channel "direct" (q, w, x): fan row present with 0 customers
FUNNEL_DIRECT = [
    ("visit", 3, 3, None, None, 0), ("interest", 3, 3, 1.0, 1.0, 0), ("intent", 3, 3, 1.0, 1.0, 0),
    ("buyer", 3, 0, 1.0, 1.0, 2), ("loyal", 1, 0, 0.333333, 0.333333, 1), ("fan", 0, 0, 0.0, 0.0, 0),
]


def events_table(rows=EVENTS) -> pa.Table:
    """The case rows as canonical touchpoint columns."""
    columns = {name: [] for name in ("customer_id", "event_id", "timestamp", "type", "event", "url", "channel",
                                     "utm_campaign", "properties")}
    for customer, event_id, day, kind, event, url, channel, campaign, props in rows:
        columns["customer_id"].append(customer)
        columns["event_id"].append(event_id)
        columns["timestamp"].append(BASE + dt.timedelta(days=day))
        columns["type"].append(kind)
        columns["event"].append(event)
        columns["url"].append(url)
        columns["channel"].append(channel)
        columns["utm_campaign"].append(campaign)
        columns["properties"].append(json.dumps(props) if props else None)
    schema = pa.schema([("customer_id", pa.string()), ("event_id", pa.string()),
                        ("timestamp", pa.timestamp("us", tz="UTC"))] +
                       [(n, pa.string()) for n in ("type", "event", "url", "channel", "utm_campaign", "properties")])
    return pa.table(columns, schema=schema)


def model():
    from journeymap.config import settings_from_toml
    from journeymap.stages import load_stage_model

    return load_stage_model(settings_from_toml(MODEL_TOML))
