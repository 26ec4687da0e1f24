"""Hand-checked journeys for attribution: a small event log and the journey rows it must give
(:func:`journeymap.analytics.attribution.journeys.conversion_journeys`), at every level, with
and without the 30-day look-back. Used by tests/test_attribution_journeys.py (DuckDB) and the
conformance suite (DuckDB and Spark).

Sessions end after 30 minutes; a touch is a session's first event.

- a: brand (3/1 10:00) ... digest e-mail (3/5 12:00) -> order 100 at 12:10 (same session);
  organic search (3/10 09:00) -> order 50 at 09:20 -> order 20 at 09:25 in the same session:
  the third order has no touch after the second, so its path is (none). No null journey.
- b: never buys: summer_blowout (3/2 08:00, then a direct page in the same session), a direct
  visit (3/4 20:00): one null journey ending 3/4 20:00.
- c: display (1/1, beyond 30 days), referral (2/15 10:00), then an order at 2/20 10:00:00.25
  that starts its own session (touch at the conversion moment, included; seconds_before
  counts whole seconds, so 5 days, not 5 days 0.25 s); later an e-mail
  visit with an empty campaign and medium (4/1): a null journey.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

UTC = dt.timezone.utc


def at(month: int, day: int, hour: int, minute: int = 0, micro: int = 0) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, 0, micro, tzinfo=UTC)


# customer, event_id, timestamp, event, channel, source, medium, campaign, content, revenue
EVENTS = [
    ("a", "e01", at(3, 1, 10), "page_view", "paid_search", "google", "cpc", "brand", "ad1", None),
    ("a", "e02", at(3, 1, 10, 5), "page_view", "direct", None, None, None, None, None),
    ("a", "e03", at(3, 5, 12), "page_view", "email", "newsletter", "email", "digest", None, None),
    ("a", "e04", at(3, 5, 12, 10), "order_completed", "direct", None, None, None, None, 100.0),
    ("a", "e05", at(3, 10, 9), "page_view", "organic_search", "google", "organic", None, None, None),
    ("a", "e06", at(3, 10, 9, 20), "order_completed", "direct", None, None, None, None, 50.0),
    ("a", "e07", at(3, 10, 9, 25), "order_completed", "direct", None, None, None, None, 20.0),
    ("b", "e08", at(3, 2, 8), "page_view", "paid_social", "facebook", "paid_social", "summer_blowout", None, None),
    ("b", "e09", at(3, 2, 8, 10), "page_view", "direct", None, None, None, None, None),
    ("b", "e10", at(3, 4, 20), "page_view", "direct", None, None, None, None, None),
    ("c", "e11", at(1, 1, 10), "page_view", "display", "criteo", "display", "retargeting", "banner", None),
    ("c", "e12", at(2, 15, 10), "page_view", "referral", None, None, None, None, None),
    ("c", "e13", at(2, 20, 10, 0, 250000), "order_completed", "direct", None, None, None, None, 70.0),
    ("c", "e14", at(4, 1, 10), "page_view", "email", "newsletter", "", "", None, None),
]


def log_table() -> pa.Table:
    names = ["customer_id", "event_id", "timestamp", "event", "channel", "utm_source", "utm_medium", "utm_campaign",
             "utm_content", "revenue"]
    columns = list(zip(*EVENTS))
    types = [pa.string(), pa.string(), pa.timestamp("us", tz="UTC"), pa.string(), pa.string(), pa.string(),
             pa.string(), pa.string(), pa.string(), pa.float64()]
    table = pa.table({n: pa.array(c, t) for n, c, t in zip(names, columns, types)})
    return table.append_column("type", pa.array(["page" if e == "page_view" else "track" for e in table["event"].to_pylist()]))


# The touches of each level, in the order of the journeys below (None: the (none) conversion).
LABELS = {
    # a1 s1, a1 s2, a2, a3, b s1, b s2, c1 display (no look-back only), c1 referral, c1 order session, c null
    "channel": ["paid_search", "email", "organic_search", None, "paid_social", "direct", "display", "referral",
                "direct", "email"],
    "campaign": ["brand", "digest", "(organic_search)", None, "summer_blowout", "(direct)", "retargeting", "(referral)",
                 "(direct)", "(email)"],
    "source_medium": ["google / cpc", "newsletter / email", "google / organic", None, "facebook / paid_social",
                      "(direct) / (none)", "criteo / display", "(referral) / (none)", "(direct) / (none)",
                      "newsletter / (none)"],
    "content": ["ad1", "(email)", "(organic_search)", None, "(paid_social)", "(direct)", "banner", "(referral)",
                "(direct)", "(email)"],
}

DAY = 86400.0


def expected(level: str, lookback: bool) -> list[tuple]:
    """(customer_id, conversion_index, converted, conversion_at, value, touch_index, touch, touch_at,
    seconds_before, direct), sorted by customer, conversion_index, touch_index."""
    label = LABELS[level]
    c_conv = at(2, 20, 10, 0, 250000)
    c_path = [(label[7], at(2, 15, 10), 5 * DAY, False), (label[8], c_conv, 0.0, True)]
    if not lookback:  # 1/1 10:00 is 50 days and 0.25 s before the order: seconds count whole
        c_path.insert(0, (label[6], at(1, 1, 10), 50 * DAY, False))
    rows = [
        ("a", 1, True, at(3, 5, 12, 10), 100.0, 1, label[0], at(3, 1, 10), 4 * DAY + 2 * 3600 + 600, False),
        ("a", 1, True, at(3, 5, 12, 10), 100.0, 2, label[1], at(3, 5, 12), 600.0, False),
        ("a", 2, True, at(3, 10, 9, 20), 50.0, 1, label[2], at(3, 10, 9), 1200.0, False),
        ("a", 3, True, at(3, 10, 9, 25), 20.0, 1, None, None, None, None),
        ("b", 0, False, at(3, 4, 20), 0.0, 1, label[4], at(3, 2, 8), 2.5 * DAY, False),
        ("b", 0, False, at(3, 4, 20), 0.0, 2, label[5], at(3, 4, 20), 0.0, True),
        ("c", 0, False, at(4, 1, 10), 0.0, 1, label[9], at(4, 1, 10), 0.0, False),
    ]
    rows += [("c", 1, True, c_conv, 70.0, i + 1, touch, when, seconds, direct)
             for i, (touch, when, seconds, direct) in enumerate(c_path)]
    return sorted(rows, key=lambda r: (r[0], r[1], r[5]))


def rows_of(table) -> list[tuple]:
    """The journey table as sorted tuples, timestamps in UTC (Spark gives naive UTC)."""
    def utc(value):
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    out = []
    for r in table.to_pyarrow().to_pylist():
        out.append((r["customer_id"], r["conversion_index"], r["converted"], utc(r["conversion_at"]), r["value"],
                    r["touch_index"], r["touch"], utc(r["touch_at"]), r["seconds_before"], r["direct"]))
    return sorted(out, key=lambda r: (r[0], r[1], r[5]))
