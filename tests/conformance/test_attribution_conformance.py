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


@pytest.fixture(scope="module")
def demo_lake(tmp_path_factory):
    import journeymap
    from journeymap.demo import DemoSpec, write_demo_files

    folder = tmp_path_factory.mktemp("attribution-lake")
    write_demo_files(folder, DemoSpec(customers=400, seed=5))
    with journeymap.open(folder / "store.duckdb") as jm:
        jm.load(folder / "events")
        expected = {level: jm.attribution_compare(level=level).to_pyarrow().to_pylist() for level in ("channel", "campaign")}
        jm.export(folder / "lake")
    return folder / "lake", expected


@pytest.mark.spark
def test_every_model_on_spark_matches_the_duckdb_store(demo_lake, spark_session):
    import journeymap

    path, expected = demo_lake
    jm = journeymap.connect(spark_session, path=path)
    for level, rows in expected.items():
        got = jm.attribution_compare(level=level).to_pyarrow().to_pylist()
        assert [(r["model"], r[level]) for r in got] == [(r["model"], r[level]) for r in rows]
        for mine, theirs in zip(got, rows):
            assert mine["conversions"] == pytest.approx(theirs["conversions"], rel=1e-9, abs=1e-12)
            assert mine["value"] == pytest.approx(theirs["value"], rel=1e-9, abs=1e-9)
