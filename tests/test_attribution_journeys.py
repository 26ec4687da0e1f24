"""Attribution journeys on DuckDB: the storage-order fast path agrees with the portable one, and bad levels
are errors (the hand-checked cases run on both engines in tests/conformance)."""

from __future__ import annotations

import datetime as dt

import ibis
import pytest

from journeymap.analytics.attribution.journeys import conversion_events, conversion_journeys, session_touches
from journeymap.errors import ConfigError

from . import attribution_journey_cases as cases


def test_presorted_store_order_gives_the_same_journeys():
    con = ibis.duckdb.connect()
    raw = cases.log_table()
    con.create_table("raw", raw)
    con.raw_sql("CREATE TABLE sorted AS SELECT * FROM raw ORDER BY customer_id, timestamp, event_id")
    log = con.table("sorted")
    conversions = conversion_events(log, log.event == "order_completed")
    for level in cases.LABELS:
        fast = conversion_journeys(session_touches(log, level, dt.timedelta(minutes=30), presorted=True), conversions,
                                   lookback=dt.timedelta(days=30))
        assert cases.rows_of(fast) == cases.expected(level, True)


def test_unknown_level():
    log = ibis.memtable(cases.log_table())
    with pytest.raises(ConfigError, match="unknown attribution level 'campain'"):
        session_touches(log, "campain", dt.timedelta(minutes=30))
