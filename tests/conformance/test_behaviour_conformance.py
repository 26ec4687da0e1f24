"""Sessions, steps and saved segments give the hand-worked results on every engine."""

from __future__ import annotations

import json

import pytest

from journeymap.analytics.segments import saved_segments, segment_members
from journeymap.analytics.sessions import session_table, sessionize
from journeymap.analytics.steps import parse_step, step_predicate, with_stage_events
from journeymap.config import settings_from_toml

from .. import behaviour_cases as cases


def _utc(value):
    """Spark hands timestamps back naive (in UTC, the session time zone); DuckDB with a zone."""
    return value.replace(tzinfo=cases.UTC) if hasattr(value, "tzinfo") and value.tzinfo is None else value


def test_sessions(backend):
    log = backend.table("session_log", cases.SESSION_LOG)
    rows = session_table(sessionize(log)).to_pyarrow().to_pylist()
    got = sorted((r["session_id"], _utc(r["started_at"]), _utc(r["ended_at"]), r["duration_seconds"], r["events"], r["page_views"],
                  r["entry_event"], r["entry_channel"], r["entry_campaign"], r["landing_page"], r["exit_page"])
                 for r in rows)
    assert got == cases.EXPECTED_SESSIONS
    tagged = sessionize(log).select("event_id", "session_id").to_pyarrow().to_pylist()
    assert {r["event_id"]: r["session_id"] for r in tagged} == cases.SESSION_OF_EVENT


def test_step_filters(backend):
    log = backend.table("segment_log", cases.SEGMENT_LOG)
    for text, expected in [("order_completed[revenue>=50]", ["2"]), ("page_view[path=/cart]", ["6"]),
                           ("*[channel=email|social]", ["1", "5", "7"]), ("page_view[device]", ["1", "3", "5", "7"])]:
        hits = log.filter(step_predicate(log, parse_step(text))).event_id.to_pyarrow().to_pylist()
        assert sorted(hits) == expected, text


@pytest.mark.parametrize("definition,expected", cases.SEGMENT_CASES, ids=[str(c[0]) for c in cases.SEGMENT_CASES])
def test_saved_segments(backend, definition, expected):
    text = "[segments.s]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in definition.items())
    segment = saved_segments(settings_from_toml(text))["s"]
    log = backend.table("segment_log", cases.SEGMENT_LOG)
    entries = backend.table("segment_entries", cases.SEGMENT_ENTRIES)
    if any(s.stage for s in segment.steps):
        log = with_stage_events(log, entries)
    chosen = segment_members(log, segment, entries=entries)
    assert sorted(chosen.to_pyarrow().column("customer_id").to_pylist()) == expected
