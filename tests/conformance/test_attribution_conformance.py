"""Attribution journeys (touches, conversions, paths, null journeys): the hand-checked cases of
tests/attribution_journey_cases.py, identical on DuckDB and Spark."""

from __future__ import annotations

import datetime as dt

import pytest

from journeymap.analytics.attribution.journeys import conversion_events, conversion_journeys, session_touches

from .. import attribution_journey_cases as cases

GAP = dt.timedelta(minutes=30)


@pytest.fixture
def log(backend):
    return backend.table("attribution_log", cases.log_table())


@pytest.mark.parametrize("level", list(cases.LABELS))
@pytest.mark.parametrize("lookback", [True, False])
def test_journeys(log, level, lookback):
    touches = session_touches(log, level, GAP)
    conversions = conversion_events(log, log.event == "order_completed")
    journeys = conversion_journeys(touches, conversions, lookback=dt.timedelta(days=30) if lookback else None)
    assert cases.rows_of(journeys) == cases.expected(level, lookback)
