"""Funnels on DuckDB: the hand-worked cases (tests/funnel_cases.py; Spark runs them in the
conformance suite), the sequential contrasts, the API on a small store, and the error cases."""

from __future__ import annotations

import datetime as dt

import ibis
import pytest

import journeymap
from journeymap.analytics.funnels import FunnelSpec, parse_exclusion
from journeymap.analytics.steps import parse_steps
from journeymap.errors import ConfigError

from . import funnel_cases as cases


def _log(events):
    return ibis.memtable(cases.table(events))


def test_sequential_detail_and_conversion_from_previous():
    log = _log(cases.SEQUENTIAL)
    assert cases.steps_rows(log, cases.spec("view,cart,buy"), detail=True) == cases.SEQUENTIAL_EXPECTED
    s = cases.spec("view,cart,buy", conversion="previous")
    from journeymap.analytics.funnels import funnel_table, funnel_units
    rows = funnel_table(funnel_units(log, s), s).to_pyarrow().to_pylist()
    assert [r["conversion"] for r in rows] == [None, 0.75, 0.5]


def test_order_contrasts_on_the_same_logs():
    assert cases.steps_rows(_log(cases.ORDERS), cases.spec("view,cart,buy")) == cases.ORDERS_SEQUENTIAL_EXPECTED
    assert cases.steps_rows(_log(cases.ANY), cases.spec("view,cart,buy")) == cases.ANY_SEQUENTIAL_EXPECTED


def test_window_boundary_is_inclusive_to_the_second():
    events = [("c", "c1", 0, "view"), ("c", "c2", 24, "cart"), ("d", "d1", 0, "view"), ("d", "d2", 24 + cases.H, "cart")]
    assert cases.steps_rows(_log(events), cases.spec("view,cart")) == [(1, "view", 2), (2, "cart", 1)]


def test_exclusion_without_it_counts_everyone():
    assert cases.steps_rows(_log(cases.EXCLUSIONS), cases.spec("view,cart,buy")) == [(1, "view", 4), (2, "cart", 3),
                                                                                   (3, "buy", 2)]


@pytest.mark.parametrize("text,expected", [("1..2:cancel", (1, 2)), ("cancel", (1, 3)), (("cancel", 2, 3), (2, 3))])
def test_exclusion_forms(text, expected):
    e = parse_exclusion(text, 3)
    assert (e.step.label, e.after, e.before) == ("cancel", *expected)


@pytest.mark.parametrize("options,message", [
    ({"order": "strcit"}, "order 'strcit' is not one of"),
    ({"count_by": "person"}, "count_by 'person'"),
    ({"conversion": "last"}, "conversion 'last'"),
    ({"attribution": "middle", "breakdown": "device"}, "breakdown attribution 'middle'"),
    ({"attribution": "step:4", "breakdown": "device"}, "no step 4"),
    ({"window": dt.timedelta(0)}, "greater than zero"),
    ({"order": "any", "attribution": "step:1", "breakdown": "device"}, "needs an ordered funnel"),
])
def test_bad_definitions(options, message):
    with pytest.raises(ConfigError, match=message):
        FunnelSpec(parse_steps("view,cart,buy"), **options)


def test_bad_exclusions_and_repeated_any_order():
    with pytest.raises(ConfigError, match="between steps 2 and 1"):
        parse_exclusion("2..1:cancel", 3)
    with pytest.raises(ConfigError, match="spans the whole funnel"):
        FunnelSpec(parse_steps("view,cart,buy"), order="any", exclusions=(parse_exclusion("1..2:x", 3),))
    with pytest.raises(ConfigError, match="needs different steps"):
        FunnelSpec(parse_steps("view,view"), order="any")


@pytest.fixture(scope="module")
def jm(tmp_path_factory):
    folder = tmp_path_factory.mktemp("funnel-api")
    cases.table(cases.SEQUENTIAL).to_pandas().assign(
        timestamp=lambda f: f.timestamp.dt.strftime("%Y-%m-%dT%H:%M:%SZ")).drop(columns=["properties"]).to_csv(
        folder / "events.csv", index=False)
    store = journeymap.open(str(folder / "s.duckdb"))
    store.load(folder / "events.csv")
    yield store
    store.close()


def test_api_matches_the_hand_worked_case(jm):
    rows = jm.funnel("view,cart,buy", window="1d").to_pyarrow().to_pylist()
    assert [(r["step"], r["count"], r["dropped"]) for r in rows] == [(1, 8, 0), (2, 6, 2), (3, 3, 3)]
    assert sorted(jm.funnel_dropoffs("view,cart,buy", step=3, window="1d").to_pyarrow().column("customer_id")
                  .to_pylist()) == cases.DROPPED[3]
    nxt = jm.funnel_next_events("view,cart,buy", step=3, window="1d").to_pyarrow().to_pylist()
    assert [(r["next_event"], r["customers"]) for r in nxt] == [("(none)", 2), ("buy", 1)]
    ttc = jm.funnel_time_to_convert("view,cart,buy", window="1d", bins=2).to_pyarrow().to_pylist()
    assert [r["customers"] for r in ttc] == [2, 1]
    trend = jm.funnel_trend("view,buy", window="1d", period="day").to_pyarrow().to_pylist()
    assert sum(r["entered"] for r in trend) == 8
    for analysis in (jm.funnel("view,cart", window="1d", exclusions="1..2:buy"),
                     jm.funnel_trend("view,cart", window="1d"), jm.funnel_time_to_convert("view,cart", window="1d")):
        assert type(analysis.figure()).__name__ == "Figure"


@pytest.mark.parametrize("call,message", [
    (lambda jm: jm.funnel("view,crat"), "unknown event 'crat'"),
    (lambda jm: jm.funnel(""), "no steps given"),
    (lambda jm: jm.funnel("view,cart", window="0d"), "greater than zero"),
    (lambda jm: jm.funnel("view,cart", window="-3d"), "is not a duration"),
    (lambda jm: jm.funnel("view,cart", segment="nosuch"), "nosuch"),
    (lambda jm: jm.funnel("view,cart", exclusions="1..2:nope"), "unknown event 'nope'"),
    (lambda jm: jm.funnel("view,cart", breakdown="bad key!"), "not a column or a property"),
    (lambda jm: jm.funnel_dropoffs("view,cart", step=1), "no drop-off at step 1"),
    (lambda jm: jm.funnel_trend("view,cart", period="year"), "period 'year'"),
])
def test_api_errors(jm, call, message):
    with pytest.raises(ConfigError, match=message):
        call(jm)
