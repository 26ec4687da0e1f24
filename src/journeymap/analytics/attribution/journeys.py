"""Journeys for attribution, built in Ibis (portable: DuckDB, Spark, ...): touches, conversions,
and the touches of each conversion's path.

- A **touch** is the first touchpoint of a session (a new session after more than the session
  gap of inactivity), labelled at a **level**: its channel, ``utm_source / utm_medium``, its
  campaign or its content (``(channel)`` when the touch has none).
- A **conversion** is an event matching the conversion steps, numbered per customer in
  (timestamp, event_id) order; its value is the event's revenue.
- A conversion's **path** is the customer's touches after the previous conversion and at or
  before it, within the look-back. A conversion with none is kept with a NULL touch.
- A customer's touches after their last conversion (all, if none) are their **null journey**
  (conversion_index 0), the look-back counted back from its last touch.
- ``seconds_before`` (a touch's age at its conversion, for time decay) keeps microseconds: the
  difference is taken in whole microseconds and divided by 10**6, so DuckDB and Spark give the
  same float64 (the double nearest the exact decimal; exact to the microsecond for ages
  under ~285 years).

>>> import ibis, datetime as dt
>>> at = lambda d, h: dt.datetime(2025, 1, d, h, tzinfo=dt.timezone.utc)
>>> log = ibis.memtable({"customer_id": ["a", "a", "a", "a", "b"], "timestamp": [at(1, 9), at(3, 9), at(3, 9), at(9, 9), at(2, 9)],
...     "event_id": ["1", "2", "3", "4", "5"], "event": ["page_view", "page_view", "order_completed", "page_view", "page_view"],
...     "type": ["page", "page", "track", "page", "page"], "channel": ["email", "paid_search", "direct", "direct", "social"],
...     "utm_source": [None] * 5, "utm_medium": [None] * 5, "utm_campaign": ["spring", None, None, None, None],
...     "utm_content": [None] * 5, "revenue": [None, None, 80.0, None, None]})
>>> touches = session_touches(log, "campaign", dt.timedelta(minutes=30))
>>> conversions = conversion_events(log, log.event == "order_completed")
>>> rows = conversion_journeys(touches, conversions, lookback=dt.timedelta(days=30)).to_pyarrow().to_pylist()
>>> [(r["customer_id"], r["conversion_index"], r["converted"], r["value"], r["touch_index"], r["touch"], r["seconds_before"])
...  for r in sorted(rows, key=lambda r: (r["customer_id"], r["conversion_index"], r["touch_index"]))]
[('a', 0, False, 0.0, 1, '(direct)', 0.0), ('a', 1, True, 80.0, 1, 'spring', 172800.0), ('a', 1, True, 80.0, 2, '(paid_search)', 0.0), ('b', 0, False, 0.0, 1, '(social)', 0.0)]
"""

from __future__ import annotations

import datetime as _dt
from typing import Sequence

import ibis
import ibis.expr.types as ir

from ...errors import ConfigError
from ...touchpoints import whole_seconds
from ..sessions import sessionize

__all__ = ["JOURNEY_COLUMNS", "LEVELS", "check_level", "conversion_events", "conversion_journeys", "session_touches", "touch_label"]

#: What a touch can be credited to.
LEVELS = ("channel", "source_medium", "campaign", "content")

#: Columns of :func:`conversion_journeys`.
JOURNEY_COLUMNS = ("customer_id", "conversion_index", "converted", "conversion_at", "value", "touch_index", "touch",
                   "touch_at", "seconds_before", "direct")


def _given(value: ir.StringValue) -> ir.StringValue:
    """NULL for missing or empty text."""
    return ibis.ifelse(value.isnull() | (value.strip() == ""), ibis.null("string"), value.cast("string"))


def check_level(level: str) -> str:
    """``level`` if it is one of :data:`LEVELS`, else a ConfigError naming the closest."""
    if level in LEVELS:
        return level
    import difflib

    close = difflib.get_close_matches(level, LEVELS, n=1)
    raise ConfigError(f"unknown attribution level '{level}'", field="level",
                      hint=(f"did you mean '{close[0]}'? " if close else "") + "use one of " + ", ".join(LEVELS))


def touch_label(t: ir.Table, level: str) -> ir.StringValue:
    """The name a touch is credited under at ``level`` (see the module doc)."""
    check_level(level)
    channel = _given(t.channel).fill_null("unknown")
    fallback = "(" + channel + ")"
    if level == "channel":
        return _given(t.channel).fill_null("(unknown)")
    if level == "campaign":
        return _given(t.utm_campaign).fill_null(fallback)
    if level == "content":
        return _given(t.utm_content).fill_null(fallback)
    if level == "source_medium":
        source, medium = _given(t.utm_source), _given(t.utm_medium)
        both_missing = source.isnull() & medium.isnull()
        return ibis.ifelse(both_missing, fallback + " / (none)",
                           source.fill_null("(none)") + " / " + medium.fill_null("(none)"))
    raise AssertionError(level)  # unreachable: check_level above


def session_touches(log: ir.Table, level: str, gap: _dt.timedelta, *, direct_channels: Sequence[str] = ("direct",),
                    presorted: bool = False) -> ir.Table:
    """One touch per session: customer_id, session_index, touch_at, touch (the label at
    ``level`` of the session's first touchpoint) and direct (its channel is one of
    ``direct_channels``)."""
    label = touch_label(log, level)  # checks the level before any work
    labelled = log.mutate(_touch=label, _direct=log.channel.isin(list(direct_channels)).fill_null(False))
    sessions = sessionize(labelled, gap, ids=False, presorted=presorted)
    first = sessions.touch_index
    return sessions.group_by(["customer_id", "session_index"]).aggregate(
        touch_at=sessions.timestamp.min(),
        touch=sessions._touch.argmin(first),
        direct=sessions._direct.argmin(first),
    )


def conversion_events(log: ir.Table, predicate: ir.BooleanValue) -> ir.Table:
    """The rows of ``log`` where ``predicate`` holds: customer_id, conversion_at, event_id and
    value (revenue as float64; NULL without a revenue column)."""
    hits = log.filter(predicate)
    value = hits.revenue.cast("float64") if "revenue" in hits.columns else ibis.null("float64")
    return hits.select("customer_id", conversion_at=hits.timestamp, event_id=hits.event_id.cast("string"), value=value)


def _micros(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Microseconds since the epoch, the same on every engine: Spark's epoch drops the fraction
    and it cannot extract microseconds, but both engines format them (``%f``)."""
    return whole_seconds(ts).cast("int64") * 1_000_000 + ts.strftime("%f").cast("int64")


def _seconds_between(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.FloatingValue:
    """``later - earlier`` in seconds, to the microsecond (see the module doc)."""
    return (_micros(later) - _micros(earlier)).cast("float64") / 1e6


def conversion_journeys(touches: ir.Table, conversions: ir.Table, *, lookback: _dt.timedelta | None) -> ir.Table:
    """The touches of every journey, one row per touch (:data:`JOURNEY_COLUMNS`; see the module
    doc). ``touches`` is :func:`session_touches`, ``conversions`` :func:`conversion_events`."""
    by_time = ibis.window(group_by="customer_id", order_by=["conversion_at", "event_id"])
    numbered = conversions.mutate(conversion_index=ibis.row_number().over(by_time).cast("int64") + 1,
                                  previous_at=conversions.conversion_at.lag().over(by_time),
                                  value=conversions.value.fill_null(0.0))
    step = None if lookback is None else ibis.interval(microseconds=int(lookback / _dt.timedelta(microseconds=1)))
    t = touches.select(_customer="customer_id", touch_at="touch_at", _session="session_index", touch="touch",
                       direct="direct")
    on = [numbered.customer_id == t._customer, t.touch_at <= numbered.conversion_at,
          numbered.previous_at.isnull() | (t.touch_at > numbered.previous_at)]
    if step is not None:
        on.append(t.touch_at >= numbered.conversion_at - step)
    paths = numbered.left_join(t, on).select(
        "customer_id", "conversion_index", "conversion_at", "value", "touch", "touch_at", "_session", "direct",
        converted=ibis.literal(True))
    # the null journey: touches after the customer's last conversion
    last = numbered.group_by("customer_id").aggregate(last_conversion=numbered.conversion_at.max())
    tail = t.left_join(last, t._customer == last.customer_id)
    tail = tail.filter(tail.last_conversion.isnull() | (tail.touch_at > tail.last_conversion))
    tail = tail.mutate(conversion_at=tail.touch_at.max().over(group_by="_customer"))
    if step is not None:
        tail = tail.filter(tail.touch_at >= tail.conversion_at - step)
    nulls = tail.select(customer_id="_customer", conversion_index=ibis.literal(0, "int64"), conversion_at="conversion_at",
                        value=ibis.literal(0.0, "float64"), touch="touch", touch_at="touch_at", _session="_session",
                        direct="direct", converted=ibis.literal(False))
    journeys = paths.union(nulls)
    order = ibis.window(group_by=["customer_id", "conversion_index"], order_by=["touch_at", "_session"])
    journeys = journeys.mutate(touch_index=ibis.row_number().over(order).cast("int64") + 1)
    seconds = ibis.ifelse(journeys.touch_at.isnull(), ibis.null("float64"),
                          _seconds_between(journeys.conversion_at, journeys.touch_at))
    return journeys.select(
        customer_id=journeys.customer_id.cast("string"), conversion_index="conversion_index", converted="converted",
        conversion_at="conversion_at", value=journeys.value.cast("float64"), touch_index="touch_index", touch="touch",
        touch_at="touch_at", seconds_before=seconds, direct="direct")
