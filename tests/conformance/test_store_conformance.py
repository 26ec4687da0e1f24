"""A store exported to Parquet answers the same on DuckDB (in place) and on Spark."""

from __future__ import annotations

from datetime import timezone
from pathlib import Path

import pytest

import journeymap

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lake")
    with journeymap.open(folder / "store.duckdb") as jm:
        jm.load(DATA / "segment_batch.json")
        jm.load(DATA / "crm_export.csv", map={"activity_id": "event_id", "when": "timestamp", "activity": "event",
                                               "customer": "user_id", "mail": "email", "amount": "revenue"})
        expected = jm.info()
        expected_events = jm.events().order_by("event_id").to_pyarrow().to_pylist()
        jm.export(folder / "lake")
    return folder / "lake", expected, expected_events


def _connect(backend_name, path, request):
    if backend_name == "duckdb":
        return journeymap.connect(path)
    spark = request.getfixturevalue("spark_session")
    return journeymap.connect(spark, path=path)


@pytest.mark.parametrize("backend_name", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_info_and_events_match_the_store(exported, backend_name, request):
    path, expected, expected_events = exported
    jm = _connect(backend_name, path, request)
    info = jm.info()
    for key in ("events", "customers", "identifiers", "identifiers_by_type", "rejects", "loads", "channels",
                "first_touchpoint", "last_touchpoint"):
        assert info[key] == expected[key], key
    events = jm.events().order_by("event_id").to_pyarrow().to_pylist()
    assert [e["customer_id"] for e in events] == [e["customer_id"] for e in expected_events]
    as_utc = lambda t: t if t.tzinfo else t.replace(tzinfo=timezone.utc)  # noqa: E731 - Spark: zone-less UTC
    assert [as_utc(e["timestamp"]) for e in events] == [e["timestamp"] for e in expected_events]


def test_loading_into_a_connected_engine_says_where_to_load(exported):
    jm = journeymap.connect(exported[0])
    with pytest.raises(journeymap.BackendError, match="embedded store"):
        jm.load(DATA / "crm_export.csv")
    with pytest.raises(journeymap.StoreError, match="no events/ folder"):
        journeymap.connect(DATA)
