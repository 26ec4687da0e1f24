"""Sessions: a customer's touchpoints split wherever they were inactive for longer than a gap.

A new session starts at a customer's first touchpoint and at every touchpoint that comes more
than ``gap`` (default 30 minutes, setting ``analytics.session_gap``) after the one before it;
touchpoints are ordered by (timestamp, event_id), so a gap of exactly 30:00 stays in the session (GA, PostHog and Retentioneering's ``SplitSessions`` agree
on "inactive for more than 30 minutes"). Sessions never cross customers; identify and alias
messages count as activity like any touchpoint.

>>> import ibis, datetime as dt
>>> at = lambda h, m: dt.datetime(2025, 1, 1, h, m, tzinfo=dt.timezone.utc)
>>> log = ibis.memtable({"customer_id": ["a"] * 4 + ["b"],
...     "timestamp": [at(9, 0), at(9, 30), at(10, 1), at(10, 2), at(9, 0)],
...     "event_id": ["1", "2", "3", "4", "5"], "event": ["page_view"] * 5, "type": ["page"] * 5,
...     "channel": ["email", "direct", "social", "direct", "search"],
...     "utm_campaign": ["spring", None, None, None, None],
...     "url": ["https://s.example/a", "https://s.example/b", "https://s.example/c?x=1", None, "/d"]})
>>> [r["session_id"] for r in sessionize(log).order_by("event_id").to_pyarrow().to_pylist()]
['a#1', 'a#1', 'a#2', 'a#2', 'b#1']
>>> rows = session_table(sessionize(log)).order_by("session_id").to_pyarrow().to_pylist()
>>> [(r["session_id"], r["events"], r["duration_seconds"], r["entry_channel"], r["landing_page"], r["exit_page"])
...  for r in rows]
[('a#1', 2, 1800, 'email', '/a', '/b'), ('a#2', 2, 60, 'social', '/c', '/c'), ('b#1', 1, 0, 'search', '/d', '/d')]
"""

from __future__ import annotations

import datetime as _dt

import ibis
import ibis.expr.types as ir

from ..touchpoints import url_path, whole_seconds
from .streams import RUNNING, STREAM, first_of_customer, since_mark

__all__ = ["DEFAULT_GAP", "SESSION_COLUMNS", "session_table", "sessionize"]

DEFAULT_GAP = _dt.timedelta(minutes=30)

#: Columns of :func:`session_table`.
SESSION_COLUMNS = ("customer_id", "session_id", "session_index", "started_at", "ended_at", "duration_seconds",
                   "events", "page_views", "entry_event", "entry_channel", "entry_campaign", "landing_page",
                   "exit_page")


def sessionize(log: ir.Table, gap: _dt.timedelta = DEFAULT_GAP, *, ids: bool = True, presorted: bool = False) -> ir.Table:
    """``log`` plus ``touch_index`` (0, 1, ... per customer, in (timestamp, event_id) order),
    ``session_index`` (1, 2, ... per customer) and, if ``ids``, ``session_id`` (``customer#index``).

    ``presorted=True`` is the fast path for a log already in (customer_id, timestamp, event_id)
    order, as the DuckDB store keeps its events: every window is unpartitioned and unordered,
    so DuckDB streams the table in storage order instead of sorting it (a test checks both ways
    agree on a store). Do not use it on anything else.
    """
    step = ibis.interval(microseconds=int(gap / _dt.timedelta(microseconds=1)))
    if not presorted:
        window = ibis.window(group_by=log.customer_id, order_by=[log.timestamp, log.event_id])
        previous = log.timestamp.lag().over(window)
        starts = log.mutate(_new=(previous.isnull() | (log.timestamp > previous + step)).cast("int64"),
                            touch_index=ibis.row_number().over(window))
        running = ibis.window(group_by=starts.customer_id, order_by=[starts.timestamp, starts.event_id],
                              preceding=None, following=0)
        numbered = starts.mutate(session_index=starts._new.sum().over(running)).drop("_new")
    else:
        first = first_of_customer(log)
        flagged = log.mutate(_first=first, _new=(first | (log.timestamp > log.timestamp.lag().over(STREAM) + step)
                                                 .fill_null(True)).cast("int64"), _row=ibis.row_number().over(STREAM))
        counted = flagged.mutate(_session=flagged._new.sum().over(RUNNING))
        numbered = counted.mutate(session_index=since_mark(counted._session, counted._first) + 1,
                                  touch_index=since_mark(counted._row, counted._first)).drop(
            "_first", "_new", "_row", "_session")
    if not ids:
        return numbered
    return numbered.mutate(session_id=numbered.customer_id.cast("string") + "#"
                           + numbered.session_index.cast("string"))


def session_table(sessionized: ir.Table) -> ir.Table:
    """One row per session (:data:`SESSION_COLUMNS`) from a :func:`sessionize` d log with channel,
    utm_campaign and url: when it started and ended, its touchpoints and page views, the
    channel, campaign and event it began with, and its first (landing) and last (exit) page
    or screen path."""
    t = sessionized
    first = t.touch_index
    page = t.type.isin(["page", "screen"]) & t.url.notnull()
    # the path, not the whole URL, goes into the aggregate: shorter values to hold per session
    path = ibis.ifelse(page, url_path(t.url.cast("string")), ibis.null("string"))
    summary = t.group_by(["customer_id", "session_index"]).aggregate(
        started_at=t.timestamp.min(), ended_at=t.timestamp.max(), events=t.count(),
        page_views=page.cast("int64").sum(),
        entry_event=t.event.argmin(first), entry_channel=t.channel.argmin(first),
        entry_campaign=t.utm_campaign.argmin(first),
        landing_page=path.argmin(first, where=page), exit_page=path.argmax(first, where=page))
    return summary.mutate(
        session_id=summary.customer_id.cast("string") + "#" + summary.session_index.cast("string"),
        duration_seconds=whole_seconds(summary.ended_at) - whole_seconds(summary.started_at),
    ).select(*SESSION_COLUMNS)
