"""Hand-checked journeys for attribution: a small event log and the journey rows it must give
(:func:`journeymap.analytics.attribution.journeys.conversion_journeys`), at every level, with
and without the 30-day look-back. Used by tests/test_attribution_journeys.py (DuckDB) and the
conformance suite (DuckDB and Spark).

Sessions end after 30 minutes; a touch is a session's first event. Every expected number below
was worked out by hand from the dates (2025 is not a leap year).

- a: brand (3/1 10:00) ... digest e-mail (3/5 12:00) -> order 100 at 12:10 (same session);
  organic search (3/10 09:00) -> order 50 at 09:20 -> order 20 at 09:25 in the same session:
  the third order has no touch after the second, so its path is (none). No null journey.
- b: never buys: summer_blowout (3/2 08:00, then a direct page in the same session), a direct
  visit (3/4 20:00): one null journey ending 3/4 20:00.
- c: display (1/1, beyond 30 days), referral (2/15 10:00), then an order at 2/20 10:00:00.25
  that starts its own session (touch at the conversion moment, included; seconds_before keeps
  the 0.25 s); later an e-mail visit with an empty campaign and medium (4/1): a null journey.
- d: a referral with a source only and empty campaign and content (2/28 20:00, 30 days 13 h
  before the order: outside the look-back), a visit with no channel and no UTM (3/1 09:00,
  exactly 30 days before: inside, the look-back is inclusive), paid social with a medium only
  (3/20 15:00:00.000001), then an order without revenue (value 0) at 3/31 09:00 that starts
  its own e-mail session.
- e: affiliate (3/1 10:00), then two orders at the same moment 10:05, listed out of order:
  e20 (10.0) is the first by event_id and takes the touch, e21 (30.0) gets (none). Then a null
  journey: organic search 3/10 12:00 (36 days before its last touch: outside the look-back),
  paid search 4/9 12:00, direct 4/15 12:00 (the last touch, its conversion_at).
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
    ("d", "e15", at(3, 1, 9), "page_view", None, None, None, None, None, None),
    ("d", "e16", at(2, 28, 20), "page_view", "referral", "blog", None, "", "", None),
    ("d", "e17", at(3, 20, 15, 0, 1), "page_view", "paid_social", None, "paid_social", "autumn", "", None),
    ("d", "e18", at(3, 31, 9), "order_completed", "email", "newsletter", "email", "weekly", "", None),
    ("e", "e19", at(3, 1, 10), "page_view", "affiliate", "partner", "affiliate", "spring_deals", "widget", None),
    ("e", "e21", at(3, 1, 10, 5), "order_completed", "direct", None, None, None, None, 30.0),
    ("e", "e20", at(3, 1, 10, 5), "order_completed", "direct", None, None, None, None, 10.0),
    ("e", "e22", at(3, 10, 12), "page_view", "organic_search", "bing", "organic", None, None, None),
    ("e", "e24", at(4, 9, 12), "page_view", "paid_search", "google", "cpc", "brand", "ad2", None),
    ("e", "e23", at(4, 15, 12), "page_view", "direct", None, None, None, None, None),
]


def log_table() -> pa.Table:
    names = ["customer_id", "event_id", "timestamp", "event", "channel", "utm_source", "utm_medium", "utm_campaign",
             "utm_content", "revenue"]
    columns = list(zip(*EVENTS))
    types = [pa.string(), pa.string(), pa.timestamp("us", tz="UTC"), pa.string(), pa.string(), pa.string(),
             pa.string(), pa.string(), pa.string(), pa.float64()]
    table = pa.table({n: pa.array(c, t) for n, c, t in zip(names, columns, types)})
    return table.append_column("type", pa.array(["page" if e == "page_view" else "track" for e in table["event"].to_pylist()]))


# The label of each touch (a session's first event) at each level: channel, source_medium,
# campaign, content.
_TOUCHES = {
    "e01": ("paid_search", "google / cpc", "brand", "ad1"),
    "e03": ("email", "newsletter / email", "digest", "(email)"),
    "e05": ("organic_search", "google / organic", "(organic_search)", "(organic_search)"),
    "e08": ("paid_social", "facebook / paid_social", "summer_blowout", "(paid_social)"),
    "e10": ("direct", "(direct) / (none)", "(direct)", "(direct)"),
    "e11": ("display", "criteo / display", "retargeting", "banner"),
    "e12": ("referral", "(referral) / (none)", "(referral)", "(referral)"),
    "e13": ("direct", "(direct) / (none)", "(direct)", "(direct)"),
    "e14": ("email", "newsletter / (none)", "(email)", "(email)"),
    "e15": ("(unknown)", "(unknown) / (none)", "(unknown)", "(unknown)"),
    "e16": ("referral", "blog / (none)", "(referral)", "(referral)"),
    "e17": ("paid_social", "(none) / paid_social", "autumn", "(paid_social)"),
    "e18": ("email", "newsletter / email", "weekly", "(email)"),
    "e19": ("affiliate", "partner / affiliate", "spring_deals", "widget"),
    "e22": ("organic_search", "bing / organic", "(organic_search)", "(organic_search)"),
    "e24": ("paid_search", "google / cpc", "brand", "ad2"),
    "e23": ("direct", "(direct) / (none)", "(direct)", "(direct)"),
}

#: level -> {touch event id: label}
LABELS = {level: {event: labels[i] for event, labels in _TOUCHES.items()}
          for i, level in enumerate(("channel", "source_medium", "campaign", "content"))}

DAY = 86400.0
HOUR = 3600.0

# (customer, conversion_index, converted, conversion_at, value, [(touch event, touch_at, seconds_before, direct,
#  in the 30-day look-back?)]); an empty list is the (none) row.
_JOURNEYS = [
    ("a", 1, True, at(3, 5, 12, 10), 100.0, [("e01", at(3, 1, 10), 4 * DAY + 2 * HOUR + 600, False, True),
                                             ("e03", at(3, 5, 12), 600.0, False, True)]),
    ("a", 2, True, at(3, 10, 9, 20), 50.0, [("e05", at(3, 10, 9), 1200.0, False, True)]),
    ("a", 3, True, at(3, 10, 9, 25), 20.0, []),
    ("b", 0, False, at(3, 4, 20), 0.0, [("e08", at(3, 2, 8), 2.5 * DAY, False, True),
                                        ("e10", at(3, 4, 20), 0.0, True, True)]),
    ("c", 0, False, at(4, 1, 10), 0.0, [("e14", at(4, 1, 10), 0.0, False, True)]),
    ("c", 1, True, at(2, 20, 10, 0, 250000), 70.0, [("e11", at(1, 1, 10), 50 * DAY + 0.25, False, False),
                                                    ("e12", at(2, 15, 10), 5 * DAY + 0.25, False, True),
                                                    ("e13", at(2, 20, 10, 0, 250000), 0.0, True, True)]),
    ("d", 1, True, at(3, 31, 9), 0.0, [("e16", at(2, 28, 20), 30 * DAY + 13 * HOUR, False, False),
                                       ("e15", at(3, 1, 9), 30 * DAY, False, True),
                                       ("e17", at(3, 20, 15, 0, 1), 928799.999999, False, True),
                                       ("e18", at(3, 31, 9), 0.0, False, True)]),
    ("e", 0, False, at(4, 15, 12), 0.0, [("e22", at(3, 10, 12), 36 * DAY, False, False),
                                         ("e24", at(4, 9, 12), 6 * DAY, False, True),
                                         ("e23", at(4, 15, 12), 0.0, True, True)]),
    ("e", 1, True, at(3, 1, 10, 5), 10.0, [("e19", at(3, 1, 10), 300.0, False, True)]),
    ("e", 2, True, at(3, 1, 10, 5), 30.0, []),
]


def expected(level: str, lookback: bool) -> list[tuple]:
    """(customer_id, conversion_index, converted, conversion_at, value, touch_index, touch, touch_at,
    seconds_before, direct), sorted by customer, conversion_index, touch_index."""
    label = LABELS[level]
    rows = []
    for customer, index, converted, conversion_at, value, path in _JOURNEYS:
        kept = [p for p in path if p[4] or not lookback]
        if not kept:
            rows.append((customer, index, converted, conversion_at, value, 1, None, None, None, None))
        for i, (event, touch_at, seconds, direct, _) in enumerate(kept):
            rows.append((customer, index, converted, conversion_at, value, i + 1, label[event], touch_at, seconds,
                         direct))
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
