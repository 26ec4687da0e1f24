"""Identity stitching gives the same, hand-worked answer on DuckDB and Spark."""

from __future__ import annotations

import pytest

from journeymap.config import IdentitySettings
from journeymap.identity import stitch_events

from ..identity_cases import CASES, events_table


@pytest.mark.parametrize("name", list(CASES))
def test_stitching_is_identical_on_every_engine(backend, name):
    case = CASES[name]
    settings = IdentitySettings(max_customers_per_identifier=5)
    if "identifiers" in case:
        settings.identifiers = case["identifiers"]
    events = backend.table("events", events_table(case["rows"]))
    stitched, result = stitch_events(events, settings)
    identity_map = {(r["id_type"], r["id_value"]): r["customer_id"] for r in result.identity_map.to_pyarrow().to_pylist()}
    customers = {r["event_id"]: r["customer_id"] for r in stitched.select("event_id", "customer_id").to_pyarrow().to_pylist()}
    overlinked = {(r["id_type"], r["id_value"]): r["linked_customers"] for r in result.overlinked.to_pyarrow().to_pylist()}
    assert identity_map == case["map"]
    assert customers == case["customers"]
    assert overlinked == case.get("overlinked", {})
