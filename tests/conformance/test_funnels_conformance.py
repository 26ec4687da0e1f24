"""Every funnel analytic on DuckDB and Spark local gives the hand-worked tables of tests/funnel_cases.py."""

from __future__ import annotations

import pytest

from journeymap.analytics.sessions import sessionize

from .. import funnel_cases as cases


def _log(backend, events):
    return backend.table("funnel_events", cases.table(events))


def test_sequential(backend):
    log = _log(backend, cases.SEQUENTIAL)
    assert cases.steps_rows(log, cases.spec("view,cart,buy"), detail=True) == cases.SEQUENTIAL_EXPECTED


def test_repeated_steps(backend):
    assert cases.steps_rows(_log(backend, cases.REPEATED), cases.spec("view,view,buy")) == cases.REPEATED_EXPECTED


def test_strict_order(backend):  # the sequential contrast runs in tests/test_funnels.py
    assert cases.steps_rows(_log(backend, cases.ORDERS), cases.spec("view,cart,buy", order="strict")) \
        == cases.STRICT_EXPECTED


def test_any_order(backend):
    assert cases.steps_rows(_log(backend, cases.ANY), cases.spec("view,cart,buy", order="any")) == cases.ANY_EXPECTED


def test_exclusions(backend):
    s = cases.spec("view,cart,buy", exclusions=(cases.EXCLUSION,))
    assert cases.steps_rows(_log(backend, cases.EXCLUSIONS), s) == cases.EXCLUSIONS_EXPECTED


def test_count_by_session_and_total(backend):
    log = _log(backend, cases.SESSIONS)
    assert cases.steps_rows(sessionize(log), cases.spec("view,cart", count_by="session")) == cases.SESSIONS_EXPECTED
    assert cases.steps_rows(log, cases.spec("view,cart")) == cases.SESSIONS_BY_CUSTOMER_EXPECTED
    assert cases.steps_rows(_log(backend, cases.TOTAL), cases.spec("view,cart", count_by="total")) == cases.TOTAL_EXPECTED


@pytest.mark.parametrize("attribution", sorted(cases.BREAKDOWN_EXPECTED))
def test_breakdown_attribution(backend, attribution):
    assert cases.breakdown_rows(_log(backend, cases.BREAKDOWN), attribution) == cases.BREAKDOWN_EXPECTED[attribution]


def test_trend(backend):
    assert cases.trend_rows(_log(backend, cases.TREND)) == cases.TREND_EXPECTED


def test_time_to_convert(backend):
    bins, stats = cases.time_to_convert_rows(_log(backend, cases.SEQUENTIAL))
    assert bins == cases.TIME_TO_CONVERT_EXPECTED
    assert stats == cases.TIME_TO_CONVERT_STATS


@pytest.mark.parametrize("step", [2, 3])
def test_dropoffs_and_next_events(backend, step):
    log = _log(backend, cases.SEQUENTIAL)
    assert cases.dropped_rows(log, step) == cases.DROPPED[step]
    assert cases.next_event_rows(log, step) == cases.NEXT_EVENTS[step]
