"""Identity stitching on DuckDB: hand-worked cases, the over-merge guard, determinism, explain.

The cases are data: touchpoints as short tuples (see ``tests/identity_cases.py``: event_id,
minute, type, anonymous_id, user_id, email_hash, device_id, previous_id, properties) and the
identity map, customer per touchpoint and over-linked identifiers worked out by hand.
``tests/conformance/test_identity_conformance.py`` runs the same cases on DuckDB and Spark.
"""

from __future__ import annotations

import itertools
import random

import ibis
import pyarrow as pa
import pytest

from journeymap.config import IdentitySettings
from journeymap.errors import ConfigError, IdentityError
from journeymap.identity import (assign_customers, explain, identity_links, identity_nodes, stitch,
                                 stitch_events)

from .identity_cases import CASES, events_table

_names = itertools.count()


def _kiosk_like(prefix, n):
    return [(f"{prefix}{i}", i, "identify", f"{prefix}-phone{i}") for i in range(1, n + 1)]


# A chain a0 - h0 - a1 - h1 - ... - a8: browsers joined through emails (17 nodes, one customer)
CHAIN = [(f"c{i}a", 2 * i, "identify", f"a{i}", None, f"h{i}") for i in range(8)] + \
        [(f"c{i}b", 2 * i + 1, "identify", f"a{i + 1}", None, f"h{i}") for i in range(8)]

MORE_CASES = {
    "junk ids, trimmed and in any case, never link or name anyone": dict(
        rows=[("j1", 0, "identify", "a1", "NULL "), ("j2", 1, "identify", "a2", " undefined"),
              ("j3", 2, "identify", "a3", "Anonymous"), ("j4", 3, "identify", "a4", "", "0"),
              ("j5", 4, "identify", "a5", "-1", None, "null"), ("j6", 5, "identify", "\tNull\n", "u9"),
              ("j7", 6, "page", "UNDEFINED"), ("j8", 7, "identify", "a1", None, "undefined ")],
        map={("anonymous_id", f"a{i}"): f"anonymous_id:a{i}" for i in range(1, 6)} | {("user_id", "u9"): "u9"},
        customers={"j1": "anonymous_id:a1", "j2": "anonymous_id:a2", "j3": "anonymous_id:a3",
                   "j4": "anonymous_id:a4", "j5": "anonymous_id:a5", "j6": "u9", "j7": None,
                   "j8": "anonymous_id:a1"}),
    "a touchpoint carrying two profiles' ids merges them, named by the smaller user id": dict(
        rows=[("m1", 0, "identify", "a1", "u20", "h20"), ("m2", 1, "identify", "a2", "u10", "h10"),
              ("m3", 2, "track", None, "u20", "h10")],
        map={(t, v): "u10" for t, v in [("anonymous_id", "a1"), ("anonymous_id", "a2"), ("user_id", "u20"),
                                        ("user_id", "u10"), ("email_hash", "h20"), ("email_hash", "h10")]},
        customers={"m1": "u10", "m2": "u10", "m3": "u10"}),
    "alias to an id seen nowhere makes it an anonymous id of that user": dict(
        rows=[("x1", 0, "alias", None, "u3", None, None, "ghost"), ("x2", 1, "page", "b1")],
        map={("anonymous_id", "ghost"): "u3", ("user_id", "u3"): "u3", ("anonymous_id", "b1"): "anonymous_id:b1"},
        customers={"x1": "u3", "x2": "anonymous_id:b1"}),
    "alias to a value that is both an anonymous and a user id joins both": dict(
        rows=[("y1", 0, "page", "p1"), ("y2", 1, "track", None, "p1"),
              ("y3", 2, "alias", None, "u4", None, None, "p1"), ("y4", 3, "alias", None, "u6", None, None, " null")],
        map={("anonymous_id", "p1"): "p1", ("user_id", "p1"): "p1", ("user_id", "u4"): "p1", ("user_id", "u6"): "u6"},
        customers={"y1": "p1", "y2": "p1", "y3": "p1", "y4": "u6"}),
    "a long chain of browsers and emails is one customer": dict(
        rows=CHAIN,
        map={("anonymous_id", f"a{i}"): "email_hash:h0" for i in range(9)}
        | {("email_hash", f"h{i}"): "email_hash:h0" for i in range(8)},
        customers={row[0]: "email_hash:h0" for row in CHAIN}),
    "a kiosk with exactly the limit of users merges them (the guard is 'more than')": dict(
        rows=[(f"k{i}", i, "identify", "kiosk", f"u{i}") for i in range(1, 6)],
        map={("user_id", f"u{i}"): "u1" for i in range(1, 6)} | {("anonymous_id", "kiosk"): "u1"},
        customers={f"k{i}": "u1" for i in range(1, 6)}),
    "a browser used with 8 emails (no logins) is kept out of merging": dict(
        rows=[(f"s{i}", i, "identify", "shared", None, f"h{i}") for i in range(1, 9)]
        + [(f"t{i}", 10 + i, "identify", f"b{i}", None, f"h{i}") for i in range(1, 9)],
        map={("anonymous_id", "shared"): "anonymous_id:shared"}
        | {("email_hash", f"h{i}"): f"email_hash:h{i}" for i in range(1, 9)}
        | {("anonymous_id", f"b{i}"): f"email_hash:h{i}" for i in range(1, 9)},
        customers={f"s{i}": f"email_hash:h{i}" for i in range(1, 9)} | {f"t{i}": f"email_hash:h{i}" for i in range(1, 9)},
        overlinked={("anonymous_id", "shared"): 8}),
    "a demo login used on 8 customers' phones is kept out of merging": dict(
        rows=[(f"d{i}", i, "identify", f"phone{i}", "demo") for i in range(1, 9)]
        + [(f"o{i}", 10 + i, "identify", f"phone{i}", f"cust{i}") for i in range(1, 9)],
        map={("user_id", "demo"): "demo"} | {("user_id", f"cust{i}"): f"cust{i}" for i in range(1, 9)}
        | {("anonymous_id", f"phone{i}"): f"cust{i}" for i in range(1, 9)},
        customers={f"d{i}": "demo" for i in range(1, 9)} | {f"o{i}": f"cust{i}" for i in range(1, 9)},
        overlinked={("user_id", "demo"): 8}),
    "one person on 12 browsers is not over-linked": dict(
        rows=[(f"b{i:02d}", i, "identify", f"br{i:02d}", "u1", "h1") for i in range(12)],
        map={("anonymous_id", f"br{i:02d}"): "u1" for i in range(12)} | {("user_id", "u1"): "u1", ("email_hash", "h1"): "u1"},
        customers={f"b{i:02d}": "u1" for i in range(12)}),
    "property identifiers: flat strings and numbers only": dict(
        identifiers=["user_id", "properties.crm_id", "anonymous_id"],
        rows=[("p1", 0, "page", "b1", None, None, None, None, '{"crm_id": null}'),
              ("p2", 1, "page", "b2", None, None, None, None, '{"crm_id": {"id": "C-9"}}'),
              ("p3", 2, "page", "b3", None, None, None, None, '{"old_crm_id": "C-5"}'),
              ("p4", 3, "page", "b4", None, None, None, None, '{"crm_id":12.5, "x": "y"}'),
              ("p5", 4, "page", "b5", None, None, None, None, '{"crm_id": "  "}'),
              ("p6", 5, "page", "b6", None, None, None, None, '{"a": 1, "crm_id" : "C-7"}'),
              ("p7", 6, "page", "b7", None, None, None, None, '{"a": 1, "crm_id" : "C-7"}')],
        map={("anonymous_id", f"b{i}"): f"anonymous_id:b{i}" for i in (1, 2, 3, 5)}
        | {("anonymous_id", "b4"): "properties.crm_id:12.5", ("properties.crm_id", "12.5"): "properties.crm_id:12.5",
           ("anonymous_id", "b6"): "properties.crm_id:C-7", ("anonymous_id", "b7"): "properties.crm_id:C-7",
           ("properties.crm_id", "C-7"): "properties.crm_id:C-7"},
        customers={"p1": "anonymous_id:b1", "p2": "anonymous_id:b2", "p3": "anonymous_id:b3",
                   "p4": "properties.crm_id:12.5", "p5": "anonymous_id:b5", "p6": "properties.crm_id:C-7",
                   "p7": "properties.crm_id:C-7"}),
}

ALL_CASES = CASES | MORE_CASES


def case_settings(case) -> IdentitySettings:
    settings = IdentitySettings(max_customers_per_identifier=5)
    if "identifiers" in case:
        settings.identifiers = case["identifiers"]
    return settings


def outcome(stitched, result) -> tuple[dict, dict, dict]:
    """(identity map, customer per touchpoint, over-linked) as plain dicts."""
    identity_map = {(r["id_type"], r["id_value"]): r["customer_id"] for r in result.identity_map.to_pyarrow().to_pylist()}
    customers = {r["event_id"]: r["customer_id"]
                 for r in stitched.select("event_id", "customer_id").to_pyarrow().to_pylist()}
    overlinked = {(r["id_type"], r["id_value"]): r["linked_customers"] for r in result.overlinked.to_pyarrow().to_pylist()}
    return identity_map, customers, overlinked


@pytest.fixture(scope="module")
def con():
    return ibis.duckdb.connect()


def load(con, rows) -> ibis.Table:
    return con.create_table(f"ev_{next(_names)}", events_table(rows), temp=True)


def run_case(con, case, rows=None):
    settings = case_settings(case)
    events = load(con, rows or case["rows"])
    stitched, result = stitch_events(events, settings)
    return (*outcome(stitched, result), result, events, settings)


@pytest.mark.parametrize("name", list(ALL_CASES))
def test_stitching_case(con, name):
    case = ALL_CASES[name]
    identity_map, customers, overlinked, *_ = run_case(con, case)
    assert identity_map == case["map"]
    assert customers == case["customers"]
    assert overlinked == case.get("overlinked", {})


@pytest.mark.parametrize("name", list(ALL_CASES))
def test_customer_ids_do_not_depend_on_row_order(con, name):
    case = ALL_CASES[name]
    for seed in (1, 7):
        shuffled = list(case["rows"])
        random.Random(seed).shuffle(shuffled)
        identity_map, customers, overlinked, *_ = run_case(con, case, shuffled)
        assert (identity_map, customers, overlinked) == (case["map"], case["customers"], case.get("overlinked", {}))


# --- links and nodes --------------------------------------------------------------------------

def _links(events, settings):
    return sorted((l["left_type"], l["left_id"], l["right_type"], l["right_id"], l["event_id"], l["via"])
                  for l in identity_links(events, settings).to_pyarrow().to_pylist())


def test_every_pair_on_a_touchpoint_is_one_link_oriented_most_trusted_first(con):
    events = load(con, [("e2", 0, "identify", "a1", "u1", "h1"), ("e1", 0, "track", "a1", "u1", "h1"),
                        ("e3", 9, "track", "a1", "u1")])
    # e1 and e2 tie on time: the smaller event_id is the first
    assert _links(events, IdentitySettings()) == [
        ("email_hash", "h1", "anonymous_id", "a1", "e1", "same_event"),
        ("user_id", "u1", "anonymous_id", "a1", "e1", "same_event"),
        ("user_id", "u1", "email_hash", "h1", "e1", "same_event")]


def test_links_keep_the_first_touchpoint_and_how_it_linked(con):
    case = ALL_CASES["anonymous visitor identifies"]
    events = load(con, case["rows"] + [("e0", -5, "identify", "a1", "u1")])
    assert _links(events, IdentitySettings()) == [("user_id", "u1", "anonymous_id", "a1", "e0", "identify")]
    alias = load(con, ALL_CASES["alias joins an earlier anonymous id"]["rows"])
    assert _links(alias, IdentitySettings()) == [("user_id", "u2", "anonymous_id", "a9", "e2", "alias")]


def test_alias_between_user_ids_is_one_link_whichever_way_it_points(con):
    events = load(con, [("e1", 0, "alias", None, "u2", None, None, "u1"), ("e2", 1, "alias", None, "u1", None, None, "u2"),
                        ("e3", 2, "track", None, "u1")])
    assert _links(events, IdentitySettings()) == [("user_id", "u1", "user_id", "u2", "e1", "alias")]


def test_junk_ids_make_no_links_and_no_nodes(con):
    events = load(con, ALL_CASES["junk ids, trimmed and in any case, never link or name anyone"]["rows"])
    assert _links(events, IdentitySettings()) == []
    values = {r["id_value"] for r in identity_nodes(events, IdentitySettings()).to_pyarrow().to_pylist()}
    assert values == {"a1", "a2", "a3", "a4", "a5", "u9"}


def test_nodes_count_touchpoints_and_first_seen(con):
    events = load(con, [("e1", 5, "page", "a1"), ("e2", 1, "identify", "a1", "u1"), ("e3", 7, "page", "a1"),
                        ("e4", 9, "alias", None, "u1", None, None, "old-cookie")])
    nodes = {(r["id_type"], r["id_value"]): (r["events"], r["first_seen"].minute)
             for r in identity_nodes(events, IdentitySettings()).to_pyarrow().to_pylist()}
    assert nodes == {("anonymous_id", "a1"): (3, 1), ("user_id", "u1"): (2, 1),
                     ("anonymous_id", "old-cookie"): (1, 9)}


# --- the over-merge guard --------------------------------------------------------------------

def test_overlinked_identifiers_are_reported_with_a_reason(con):
    reasons = {}
    for name in ("a kiosk browser used by 8 users is kept out of merging",
                 "a browser used with 8 emails (no logins) is kept out of merging",
                 "a demo login used on 8 customers' phones is kept out of merging"):
        *_, result, _, _ = run_case(con, ALL_CASES[name])
        (row,) = result.overlinked.to_pyarrow().to_pylist()
        reasons[row["id_value"]] = row["reason"]
    assert reasons == {
        "kiosk": "linked to 8 distinct user_id values (limit 5); kept out of merging",
        "shared": "linked to 8 distinct email_hash values (limit 5); kept out of merging",
        "demo": "reaches 8 other user_id values within two links (limit 5); kept out of merging",
    }


def test_a_higher_limit_lets_the_kiosk_merge_its_users(con):
    case = ALL_CASES["a kiosk browser used by 8 users is kept out of merging"]
    events = load(con, case["rows"])
    stitched, result = stitch_events(events, IdentitySettings(max_customers_per_identifier=8))
    identity_map, customers, overlinked = outcome(stitched, result)
    assert set(identity_map.values()) == {"u1"} and overlinked == {}


# --- customer_id on touchpoints --------------------------------------------------------------

def test_assign_replaces_an_existing_customer_id_in_place(con):
    table = events_table([("e1", 0, "identify", "a1", "u1"), ("e2", 1, "page", "a1"), ("e3", 2, "track")])
    table = table.set_column(table.schema.get_field_index("customer_id"), "customer_id",
                             pa.array(["stale", "stale", "stale"]))
    events = con.create_table(f"ev_{next(_names)}", table, temp=True)
    stitched, _ = stitch_events(events, IdentitySettings())
    assert stitched.columns == events.columns
    rows = stitched.order_by("event_id").select("event_id", "anonymous_id", "customer_id").to_pyarrow().to_pylist()
    assert [(r["anonymous_id"], r["customer_id"]) for r in rows] == [("a1", "u1"), ("a1", "u1"), (None, None)]


def test_stitch_takes_links_and_nodes_from_anywhere(con):
    links = con.create_table(f"links_{next(_names)}", pa.table({
        "left_type": ["user_id"], "left_id": ["u1"], "right_type": ["anonymous_id"], "right_id": ["a1"]}), temp=True)
    nodes = con.create_table(f"nodes_{next(_names)}", pa.table({"id_type": ["anonymous_id"], "id_value": ["a2"]}),
                             temp=True)
    result = stitch(links, nodes, IdentitySettings())
    rows = sorted(tuple(r.values()) for r in result.identity_map.to_pyarrow().to_pylist())
    assert rows == [("anonymous_id", "a1", "u1"), ("anonymous_id", "a2", "anonymous_id:a2"), ("user_id", "u1", "u1")]
    assert result.iterations >= 1
    events = load(con, [("e1", 0, "page", "a2"), ("e2", 1, "page", "a1")])
    assigned = assign_customers(events, result.identity_map, IdentitySettings()).order_by("event_id")
    assert assigned.customer_id.to_pyarrow().to_pylist() == ["anonymous_id:a2", "u1"]


def test_rounds_are_counted_and_capped(con):
    *_, result, events, settings = run_case(con, ALL_CASES["a long chain of browsers and emails is one customer"])
    assert 2 <= result.iterations <= 8
    with pytest.raises(IdentityError, match="did not converge in 1 rounds"):
        stitch_events(events, settings, max_iterations=1)
    *_, lonely, _, _ = run_case(con, ALL_CASES["a touchpoint with no identifier has no customer"])
    assert lonely.iterations == 0


# --- explain ----------------------------------------------------------------------------------

def test_explain_shows_a_three_hop_chain(con):
    *_, result, _, _ = run_case(con, ALL_CASES["a chain through an email and a second browser"])
    explanation = explain(result.links, result.identity_map, "a1")
    assert explanation.customer_id == "u3" and explanation.id_type == "anonymous_id"
    assert [(s.from_type, s.from_id, s.to_type, s.to_id, s.event_id, s.via) for s in explanation.steps] == [
        ("anonymous_id", "a1", "email_hash", "h1", "e1", "identify"),
        ("email_hash", "h1", "anonymous_id", "a2", "e2", "identify"),
        ("anonymous_id", "a2", "user_id", "u3", "e3", "identify")]
    assert [s.first_seen.minute for s in explanation.steps] == [0, 10, 20]
    assert explanation.identifiers == [{"id_type": t, "id_value": v} for t, v in
                                       [("anonymous_id", "a1"), ("anonymous_id", "a2"), ("email_hash", "h1"),
                                        ("user_id", "u3")]]
    assert explain(result.links, result.identity_map, "u3").steps == []
    assert explanation.to_dict()["steps"][0]["to_id"] == "h1"


def test_explain_takes_the_shortest_chain(con):
    *_, result, _, _ = run_case(con, ALL_CASES["a long chain of browsers and emails is one customer"])
    steps = explain(result.links, result.identity_map, "a2").steps
    assert [(s.from_id, s.to_id) for s in steps] == [("a2", "h1"), ("h1", "a1"), ("a1", "h0")]


def test_explain_marks_an_overlinked_identifier(con):
    *_, result, _, _ = run_case(con, ALL_CASES["a kiosk browser used by 8 users is kept out of merging"])
    kiosk = explain(result.links, result.identity_map, "kiosk", overlinked=result.overlinked)
    assert (kiosk.customer_id, kiosk.steps, kiosk.overlinked) == ("anonymous_id:kiosk", [], True)
    user = explain(result.links, result.identity_map, "u3", overlinked=result.overlinked)
    assert (user.customer_id, user.identifiers, user.overlinked) == ("u3", [{"id_type": "user_id", "id_value": "u3"}], False)


def test_explain_errors_say_what_and_how_to_fix(con):
    *_, result, _, _ = run_case(con, ALL_CASES["alias to a value that is both an anonymous and a user id joins both"])
    with pytest.raises(IdentityError, match="no identifier 'nobody'.*Fix: check the value"):
        explain(result.links, result.identity_map, "nobody")
    with pytest.raises(IdentityError, match="'Null ' is a junk id"):
        explain(result.links, result.identity_map, "Null ")
    with pytest.raises(IdentityError, match=r"several identifier types \(anonymous_id, user_id\).*--type"):
        explain(result.links, result.identity_map, "p1")
    explanation = explain(result.links, result.identity_map, "p1", "anonymous_id")
    assert [(s.to_type, s.to_id, s.via) for s in explanation.steps] == [("user_id", "u4", "alias"), ("user_id", "p1", "alias")]


# --- settings ---------------------------------------------------------------------------------

def test_bad_identifier_settings_are_config_errors(con):
    events = load(con, [("e1", 0, "page", "a1")])
    with pytest.raises(ConfigError, match="'phone' is not a touchpoint column"):
        stitch_events(events, IdentitySettings(identifiers=["user_id", "phone"]))
    with pytest.raises(ConfigError, match="listed twice"):
        stitch_events(events, IdentitySettings(identifiers=["user_id", "user_id"]))
    with pytest.raises(ConfigError, match="must name a simple key"):
        stitch_events(events, IdentitySettings(identifiers=["user_id", "properties.a.b"]))


def test_one_identifier_and_custom_junk(con):
    events = load(con, [("e1", 0, "identify", "a1", "guest-1"), ("e2", 1, "page", "a2", "u2")])
    settings = IdentitySettings(identifiers=["user_id"], junk_ids=["GUEST-1 "])
    stitched, result = stitch_events(events, settings)
    identity_map, customers, _ = outcome(stitched, result)
    assert identity_map == {("user_id", "u2"): "u2"} and customers == {"e1": None, "e2": "u2"}
