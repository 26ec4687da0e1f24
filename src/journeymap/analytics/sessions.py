"""Sessions: a customer's touchpoints split wherever they were inactive for longer than a gap.

A new session starts at a customer's first touchpoint and at every touchpoint that comes more
than ``gap`` (default 30 minutes, setting ``analytics.session_gap``) after the one before it;
touchpoints are ordered by (timestamp, event_id) and compared in whole seconds, so a gap of
exactly 30:00 stays in the session (GA, PostHog and Retentioneering's ``SplitSessions`` agree
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

__all__ = ["DEFAULT_GAP", "SESSION_COLUMNS", "session_table", "sessionize"]

DEFAULT_GAP = _dt.timedelta(minutes=30)

#: Columns of :func:`session_table`.
SESSION_COLUMNS = ("customer_id", "session_id", "session_index", "started_at", "ended_at", "duration_seconds",
                   "events", "page_views", "entry_event", "entry_channel", "entry_campaign", "landing_page",
                   "exit_page")


def sessionize(log: ir.Table, gap: _dt.timedelta = DEFAULT_GAP) -> ir.Table:
    """``log`` plus ``session_index`` (1, 2, ... per customer) and ``session_id`` (``customer#index``)."""
    order = [log.timestamp, log.event_id]
    seconds = whole_seconds(log.timestamp)
    previous = seconds.lag().over(group_by=log.customer_id, order_by=order)
    starts = log.mutate(_new=(previous.isnull() | (seconds - previous > int(gap.total_seconds()))).cast("int64"))
    index = starts._new.sum().over(ibis.window(group_by=starts.customer_id, order_by=[starts.timestamp,
                                                                                      starts.event_id],
                                               preceding=None, following=0))
    numbered = starts.mutate(session_index=index).drop("_new")
    return numbered.mutate(session_id=numbered.customer_id.cast("string") + "#"
                           + numbered.session_index.cast("string"))


def _ends(sessions: ir.Table, rows: ir.Table, column: str, *, last: bool) -> ir.Table:
    keys = ["customer_id", "session_index"]
    order = [rows.timestamp.desc(), rows.event_id.desc()] if last else [rows.timestamp, rows.event_id]
    ranked = rows.mutate(_rank=ibis.row_number().over(group_by=[rows.customer_id, rows.session_index], order_by=order))
    return ranked.filter(ranked._rank == 0).select(*keys, **{column: ranked._value})


def session_table(sessionized: ir.Table) -> ir.Table:
    """One row per session (:data:`SESSION_COLUMNS`) from a :func:`sessionize` d log with channel,
    utm_campaign and url: when it started and ended, its touchpoints and page views, the
    channel, campaign and event it began with, and its first (landing) and last (exit) page
    or screen path."""
    t = sessionized
    keys = ["customer_id", "session_index"]
    summary = t.group_by([*keys, "session_id"]).aggregate(
        started_at=t.timestamp.min(), ended_at=t.timestamp.max(), events=t.count(),
        page_views=t.type.isin(["page", "screen"]).sum().cast("int64"))
    summary = summary.mutate(duration_seconds=whole_seconds(summary.ended_at) - whole_seconds(summary.started_at))
    first = t.mutate(_rank=ibis.row_number().over(group_by=[t.customer_id, t.session_index],
                                                  order_by=[t.timestamp, t.event_id]))
    entry = first.filter(first._rank == 0).select(*keys, entry_event=first.event, entry_channel=first.channel,
                                                  entry_campaign=first.utm_campaign)
    pages = t.filter(t.type.isin(["page", "screen"]) & t.url.notnull())
    pages = pages.mutate(_value=url_path(pages.url.cast("string")))
    landing = _ends(summary, pages, "landing_page", last=False)
    exit_ = _ends(summary, pages, "exit_page", last=True)
    out = summary.join(entry, keys).left_join(landing, keys).left_join(exit_, keys)
    return out.select(*SESSION_COLUMNS)
