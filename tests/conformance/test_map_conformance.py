"""The journey map gives identical lane numbers on every backend (DuckDB, Spark local).

The reference is the same map built from in-memory (DuckDB) tables; the hand-worked numbers
themselves are checked in tests/test_map.py.
"""

from __future__ import annotations

import ibis
import pytest

from journeymap.mapview import build_journey_map, render_html
from journeymap.stages import load_stage_model
from tests.map_cases import AS_OF, entries_table, events_table

MODEL = load_stage_model(preset="four-stage")


def _rounded(value):
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


@pytest.fixture(scope="module")
def reference():
    jm = build_journey_map(ibis.memtable(events_table()), ibis.memtable(entries_table()), MODEL,
                           as_of=AS_OF, min_customers=2)
    return _rounded(jm.to_dict())


def test_map_lanes_identical_on_every_backend(backend, reference):
    events = backend.table("map_events", events_table())
    entries = backend.table("map_entries", entries_table())
    jm = build_journey_map(events, entries, MODEL, as_of=AS_OF, min_customers=2)
    got = _rounded(jm.to_dict())
    for mine, ref in zip(got["stages"], reference["stages"]):
        assert mine == ref, mine["name"]
    for key in reference:
        assert got[key] == reference[key], key
    assert jm.stage("consideration").kpis.customers == 4  # the hand-worked value (see test_map.py)
    assert "Consideration" in render_html(jm)


def test_map_segment_identical_on_every_backend(backend):
    events = backend.table("map_events", events_table())
    entries = backend.table("map_entries", entries_table())
    customers = backend.table("map_customers", {"customer_id": ["c1", "c3"]})
    jm = build_journey_map(events, entries, MODEL, as_of=AS_OF, min_customers=2, customers=customers)
    assert [s.kpis.customers for s in jm.stages] == [2, 1, 1, 0]
    assert [(c.name, c.count) for c in jm.stage("awareness").touchpoints] == [
        ("email", 2), ("direct", 1), ("paid_social", 1)]
    assert jm.stage("purchase").emotions.nps_count == 1
