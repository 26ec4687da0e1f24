"""Retention, lifecycle, stickiness and repeat purchases: definitions at the edges, errors,
the Python API on the demo and the figures. (The hand-worked tables run on DuckDB and Spark in
tests/conformance/test_retention_conformance.py.)"""

from __future__ import annotations

import datetime as dt

import ibis
import pytest

import journeymap
from journeymap.analytics.retention import lifecycle_table, purchase_count_distribution, retention_table, \
    stickiness_table
from journeymap.analytics.steps import parse_step
from journeymap.errors import ConfigError

from . import retention_cases as cases

SIGNUP, VISIT = parse_step("signup"), parse_step("visit")


@pytest.fixture(scope="module")
def events():
    return ibis.memtable(cases.events_table())


def _cells(table):
    return {(r["cohort"].replace(tzinfo=None), r["period"]): r["customers"] for r in table.to_pyarrow().to_pylist()}


def test_one_second_across_midnight_is_the_next_day_and_hour(events):
    # a signs up at 23:59:59 on 01-12 and visits at 00:00:00 on 01-13: period 1 by day and by hour
    day = _cells(retention_table(events, SIGNUP, VISIT, period="day", periods=2, as_of=cases.LATEST))
    assert day[(dt.datetime(2025, 1, 12), 1)] == 1
    hour = _cells(retention_table(events, SIGNUP, VISIT, period="hour", periods=2, as_of=cases.LATEST))
    assert hour[(dt.datetime(2025, 1, 12, 23), 1)] == 1


def test_one_period_is_the_cohort_size_only(events):
    rows = retention_table(events, SIGNUP, VISIT, period="week", periods=1, as_of=cases.LATEST).to_pyarrow().to_pylist()
    assert [(r["period"], r["customers"]) for r in rows] == [(0, 2), (0, 2)]


def test_as_of_ends_the_report(events):
    # as of Wednesday 01-22 (W2): W2 is the current week, nothing after it is reported
    rows = retention_table(events, SIGNUP, VISIT, period="week", periods=4, as_of="2025-01-22").to_pyarrow().to_pylist()
    assert max(r["cohort"].replace(tzinfo=None) + dt.timedelta(weeks=r["period"]) for r in rows) == cases.W[2]
    assert [r["complete"] for r in rows if r["period"] == 2] == [False]


@pytest.mark.parametrize("call, message", [
    (lambda e: retention_table(e, SIGNUP, VISIT, period="fortnight"), "'fortnight' is not a period"),
    (lambda e: retention_table(e, SIGNUP, VISIT, periods=0), "periods must be a whole number >= 1"),
    (lambda e: retention_table(e, SIGNUP, VISIT, periods=2.5), "periods must be a whole number >= 1"),
    (lambda e: retention_table(e, SIGNUP, VISIT, cohort="every"), "cohort 'every' is not one of first_time, recurring"),
    (lambda e: retention_table(e, SIGNUP, VISIT, counting="after"), "counting 'after' is not one of on, on_or_after"),
    (lambda e: retention_table(e, SIGNUP, VISIT, relative_to="first"), "relative_to 'first' is not one of"),
    (lambda e: retention_table(e, SIGNUP, VISIT, by=["plan"]), "a breakdown needs a breakdown table"),
    (lambda e: retention_table(e, SIGNUP, VISIT, date_from="last tuesday"), "'last tuesday' is not a date"),
    (lambda e: lifecycle_table(e, VISIT, period="year"), "'year' is not a period"),
    (lambda e: stickiness_table(e, VISIT, period="week", within="week"), "period 'week' is not shorter"),
    (lambda e: stickiness_table(e, VISIT, within="quarter"), "'quarter' is not a period"),
    (lambda e: purchase_count_distribution(e, VISIT, cap=1), "cap must be a whole number >= 2"),
])
def test_bad_arguments_are_clear_errors(events, call, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        call(events)


def test_breakdown_column_must_exist(events):
    with pytest.raises(ConfigError, match="breakdown column 'tier' is not in the breakdown table"):
        retention_table(events, SIGNUP, VISIT, breakdown=ibis.memtable(cases.breakdown_table()), by=["tier"])


# --- the API on the demo ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def jm(tmp_path_factory):
    from journeymap.demo import DemoSpec, write_demo_files

    folder = tmp_path_factory.mktemp("retention-demo")
    write_demo_files(folder, DemoSpec(customers=400, seed=11))
    store = journeymap.open(":memory:")
    store.load(folder / "events")
    yield store
    store.close()


def test_api_retention_is_consistent_on_the_demo(jm):
    on = jm.retention("page_view", "page_view", period="month", periods=4).to_pyarrow().to_pylist()
    after = jm.retention("page_view", "page_view", period="month", periods=4, counting="on_or_after").to_pyarrow().to_pylist()
    assert all(r["customers"] == r["cohort_size"] for r in on if r["period"] == 0)
    # first time: every customer with a page view is in exactly one cohort
    viewers = jm.events().filter(lambda t: t.event == "page_view").customer_id.nunique().to_pyarrow().as_py()
    assert sum(r["cohort_size"] for r in on if r["period"] == 0) == viewers
    by_cell = {(r["cohort"], r["period"]): r["customers"] for r in on}
    for row in after:  # on or after: at least as many as "on", never growing with the period
        assert row["customers"] >= by_cell[(row["cohort"], row["period"])]
    for a, b in zip(after, after[1:]):
        if a["cohort"] == b["cohort"]:
            assert b["customers"] <= a["customers"]
    # the latest month is the only incomplete cohort start
    assert [r["complete"] for r in on if r["period"] == 0][-1] is False


def test_api_stage_start_breakdown_and_segment(jm):
    table = jm.retention("stage:purchase", "order_completed", period="month", periods=3, by="channel")
    rows = table.to_pyarrow().to_pylist()
    assert rows and "first_channel" in table.columns
    buyers = jm.stages().filter(lambda t: t.stage == "purchase").count().to_pyarrow().as_py()
    assert sum(r["cohort_size"] for r in rows if r["period"] == 0) == buyers
    email = jm.retention(period="month", periods=2, segment="channel=email").to_pyarrow().to_pylist()
    everyone = jm.retention(period="month", periods=2).to_pyarrow().to_pylist()
    assert 0 < sum(r["cohort_size"] for r in email if r["period"] == 0) < sum(
        r["cohort_size"] for r in everyone if r["period"] == 0)


def test_api_lifecycle_active_counts_match_a_direct_count(jm):
    rows = jm.lifecycle("page_view", period="month").to_pyarrow().to_pylist()
    active: dict = {}
    for r in rows:
        if r["status"] != "dormant":
            active[r["period"].replace(tzinfo=None)] = active.get(r["period"].replace(tzinfo=None), 0) + r["customers"]
    views = jm.events().filter(lambda t: t.event == "page_view")
    direct = views.group_by(month=views.timestamp.truncate("M")).aggregate(n=views.customer_id.nunique())
    expected = {r["month"].replace(tzinfo=None): r["n"] for r in direct.to_pyarrow().to_pylist()}
    assert active == expected


def test_api_defaults_and_errors(jm):
    assert jm.retention_period() == "week"  # analytics.retention_period
    with pytest.raises(ConfigError, match="start takes one step, not 2"):
        jm.retention("page_view,order_completed")
    with pytest.raises(ConfigError, match="unknown event 'ordr_completed'"):
        jm.repeat_purchases("ordr_completed")
    with pytest.raises(ConfigError, match="unknown stage 'purchse'"):
        jm.lifecycle("stage:purchse")
    with pytest.raises(ConfigError, match="periods must be"):
        jm.retention(periods=-1)
    with pytest.raises(ConfigError, match="unknown segment 'nosuch'"):
        jm.stickiness(segment="nosuch")


def test_figures(jm):
    heat = jm.retention(period="month", periods=3).figure()
    assert heat.data[0].type == "heatmap" and "*" in "".join(t for line in heat.data[0].text for t in line)
    life = jm.lifecycle(period="month").figure()
    dormant = next(bar for bar in life.data if bar.name == "dormant")
    assert life.layout.barmode == "relative" and min(dormant.y) < 0 and max(dormant.y) <= 0
    sticky = jm.stickiness(within="month").figure()
    assert sticky.data[0].type == "bar" and sticky.data[0].x[0] == 1
    repeat = jm.repeat_purchases().figure()
    assert repeat.data[0].type == "bar" and "bought again" in repeat.layout.title.text
    counts = jm.purchase_counts(cap=3).figure()
    assert list(counts.data[0].x)[-1] in ("3+", "2", "1")
