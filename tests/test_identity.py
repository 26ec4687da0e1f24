"""Identity stitching on DuckDB: hand-worked cases, determinism, explain."""

from __future__ import annotations

import random

import ibis
import pytest

from journeymap.config import IdentitySettings
from journeymap.errors import ConfigError, IdentityError
from journeymap.identity import explain, identity_links, stitch_events

from .identity_cases import CASES, events_table


def run_case(con, case, rows=None):
    settings = IdentitySettings(max_customers_per_identifier=5)
    if "identifiers" in case:
        settings.identifiers = case["identifiers"]
    events = con.create_table(f"ev_{random.randrange(10**9)}", events_table(rows or case["rows"]), temp=True)
    stitched, result = stitch_events(events, settings)
    identity_map = {(r["id_type"], r["id_value"]): r["customer_id"] for r in result.identity_map.to_pyarrow().to_pylist()}
    customers = {r["event_id"]: r["customer_id"] for r in stitched.select("event_id", "customer_id").to_pyarrow().to_pylist()}
    overlinked = {(r["id_type"], r["id_value"]): r["linked_customers"] for r in result.overlinked.to_pyarrow().to_pylist()}
    return identity_map, customers, overlinked, result, events, settings


@pytest.fixture(scope="module")
def con():
    return ibis.duckdb.connect()


@pytest.mark.parametrize("name", list(CASES))
def test_stitching_case(con, name):
    case = CASES[name]
    identity_map, customers, overlinked, *_ = run_case(con, case)
    assert identity_map == case["map"]
    assert customers == case["customers"]
    assert overlinked == case.get("overlinked", {})


@pytest.mark.parametrize("name", list(CASES))
def test_customer_ids_do_not_depend_on_row_order(con, name):
    case = CASES[name]
    shuffled = list(case["rows"])
    random.Random(7).shuffle(shuffled)
    identity_map, customers, *_ = run_case(con, case, shuffled)
    assert identity_map == case["map"] and customers == case["customers"]


def test_overlinked_identifiers_are_reported_with_a_reason(con):
    *_, result, _, _ = run_case(con, CASES["a kiosk browser used by 8 users is kept out of merging"])
    (row,) = result.overlinked.to_pyarrow().to_pylist()
    assert row["reason"] == "linked to 8 distinct user_id values (limit 5); kept out of merging"


def test_links_keep_the_first_touchpoint_and_how_they_were_made(con):
    *_, events, settings = run_case(con, CASES["alias joins an earlier anonymous id"])
    links = identity_links(events, settings).to_pyarrow().to_pylist()
    assert [(l["left_type"], l["left_id"], l["right_type"], l["right_id"], l["event_id"], l["via"]) for l in links] \
        == [("user_id", "u2", "anonymous_id", "a9", "e2", "alias")]
    repeated = run_case(con, CASES["anonymous visitor identifies"], CASES["anonymous visitor identifies"]["rows"]
                        + [("e0", -5, "identify", "a1", "u1")])[-2:]
    first = identity_links(*repeated).to_pyarrow().to_pylist()
    assert [(l["event_id"], l["via"]) for l in first] == [("e0", "identify")]


def test_explain_shows_a_three_hop_chain(con):
    *_, result, events, settings = run_case(con, CASES["a chain through an email and a second browser"])
    explanation = explain(result.links, result.identity_map, "a1")
    assert explanation.customer_id == "u3"
    assert [(s.from_id, s.to_id, s.event_id, s.via) for s in explanation.steps] == [
        ("a1", "h1", "e1", "identify"), ("h1", "a2", "e2", "identify"), ("a2", "u3", "e3", "identify")]
    assert len(explanation.identifiers) == 4
    assert explain(result.links, result.identity_map, "u3").steps == []


def test_explain_errors_name_the_identifier(con):
    *_, result, _, _ = run_case(con, CASES["anonymous visitor identifies"])
    with pytest.raises(IdentityError, match="no identifier 'nobody'"):
        explain(result.links, result.identity_map, "nobody")


def test_bad_identifier_settings_are_config_errors(con):
    events = con.create_table("bad_ids", events_table([("e1", 0, "page", "a1")]), temp=True)
    with pytest.raises(ConfigError, match="'phone' is not a touchpoint column"):
        stitch_events(events, IdentitySettings(identifiers=["user_id", "phone"]))
    with pytest.raises(ConfigError, match="listed twice"):
        stitch_events(events, IdentitySettings(identifiers=["user_id", "user_id"]))
