"""Attribution journeys on DuckDB: the hand-checked cases (tests/attribution_journey_cases.py) from
memtables at every level with and without the look-back, the storage-order fast path equal to them,
and bad levels as errors (the same cases run on DuckDB tables and Spark in tests/conformance)."""

from __future__ import annotations

import datetime as dt

import ibis
import pytest

from journeymap.analytics.attribution.journeys import (
    JOURNEY_COLUMNS,
    LEVELS,
    conversion_events,
    conversion_journeys,
    session_touches,
    touch_label,
)
from journeymap.errors import ConfigError

from . import attribution_journey_cases as cases

GAP = dt.timedelta(minutes=30)
LOOKBACK = dt.timedelta(days=30)


def journeys(log, level, lookback, presorted=False):
    conversions = conversion_events(log, log.event == "order_completed")
    return conversion_journeys(session_touches(log, level, GAP, presorted=presorted), conversions,
                               lookback=LOOKBACK if lookback else None)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("lookback", [True, False])
def test_memtable_journeys(level, lookback):
    got = journeys(ibis.memtable(cases.log_table()), level, lookback)
    assert tuple(got.columns) == JOURNEY_COLUMNS
    assert [str(t) for t in got.schema().types] == ["string", "int64", "boolean", "timestamp('UTC', 6)", "float64",
                                                    "int64", "string", "timestamp('UTC', 6)", "float64", "boolean"]
    assert cases.rows_of(got) == cases.expected(level, lookback)


def test_presorted_store_order_gives_the_same_journeys():
    con = ibis.duckdb.connect()
    con.create_table("raw", cases.log_table())
    con.raw_sql("CREATE TABLE sorted AS SELECT * FROM raw ORDER BY customer_id, timestamp, event_id")
    log = con.table("sorted")
    for level in LEVELS:
        for lookback in (True, False):
            fast = journeys(log, level, lookback, presorted=True)
            assert cases.rows_of(fast) == cases.rows_of(journeys(log, level, lookback)) == cases.expected(level, lookback)


def test_conversion_without_revenue_column_has_null_value():
    log = ibis.memtable(cases.log_table().drop(["revenue"]))
    rows = conversion_events(log, log.event == "order_completed").to_pyarrow().to_pylist()
    assert len(rows) == 7 and {r["value"] for r in rows} == {None}
    journey = conversion_journeys(session_touches(log, "channel", GAP), conversion_events(log, log.event == "order_completed"),
                                  lookback=None).to_pyarrow().to_pylist()
    assert {r["value"] for r in journey} == {0.0}


@pytest.mark.parametrize("call", [lambda log: session_touches(log, "campain", GAP),
                                  lambda log: touch_label(log, "campain")])
def test_unknown_level(call):
    log = ibis.memtable(cases.log_table())
    with pytest.raises(ConfigError, match="unknown attribution level 'campain'") as caught:
        call(log)
    assert caught.value.field == "level"
    assert all(level in caught.value.hint for level in LEVELS)
