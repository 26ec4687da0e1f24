"""Identity stitching gives the same, hand-worked answer on DuckDB and Spark.

Every case of ``tests/test_identity.py`` runs on the engine under test; its identity map,
customers and over-linked identifiers must equal the hand-worked ones, and its links, nodes
and over-link reasons must equal DuckDB's row for row.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from journeymap.identity import explain, identity_links, identity_nodes, stitch_events

from ..identity_cases import events_table
from ..test_identity import ALL_CASES, case_settings, outcome


def _rows(expr, columns: list[str]) -> list[tuple]:
    """Sorted plain tuples; timestamps as UTC ISO text (engines hand back different tz objects)."""
    def plain(value):
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
        return value
    return sorted(tuple(plain(r[c]) for c in columns) for r in expr.to_pyarrow().to_pylist())


def _everything(backend, case) -> dict:
    settings = case_settings(case)
    events = backend.table("events", events_table(case["rows"]))
    stitched, result = stitch_events(events, settings)
    identity_map, customers, overlinked = outcome(stitched, result)
    return {
        "map": identity_map, "customers": customers, "overlinked": overlinked,
        "reasons": _rows(result.overlinked, ["id_type", "id_value", "reason"]),
        "links": _rows(identity_links(events, settings), ["left_type", "left_id", "right_type", "right_id",
                                                           "first_seen", "event_id", "via"]),
        "nodes": _rows(identity_nodes(events, settings), ["id_type", "id_value", "first_seen", "events"]),
        "result": result,
    }


@pytest.mark.parametrize("name", list(ALL_CASES))
def test_stitching_is_identical_on_every_engine(backend, duckdb_backend, name):
    case = ALL_CASES[name]
    got = _everything(backend, case)
    assert got["map"] == case["map"]
    assert got["customers"] == case["customers"]
    assert got["overlinked"] == case.get("overlinked", {})
    if backend is not duckdb_backend:
        reference = _everything(duckdb_backend, case)
        for part in ("links", "nodes", "reasons"):
            assert got[part] == reference[part], part
        assert got["result"].iterations == reference["result"].iterations


def test_explain_is_identical_on_every_engine(backend):
    case = ALL_CASES["a chain through an email and a second browser"]
    result = _everything(backend, case)["result"]
    explanation = explain(result.links, result.identity_map, "a1")
    assert explanation.customer_id == "u3"
    assert [(s.from_id, s.to_id, s.event_id, s.via, s.first_seen.isoformat()) for s in explanation.steps] == [
        ("a1", "h1", "e1", "identify", "2024-03-01T00:00:00+00:00"),
        ("h1", "a2", "e2", "identify", "2024-03-01T00:10:00+00:00"),
        ("a2", "u3", "e3", "identify", "2024-03-01T00:20:00+00:00")]
