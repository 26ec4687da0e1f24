"""Stage models, entry rules, assignment, funnel and the incremental store refresh (DuckDB).

The hand-worked case is in tests/stage_cases.py; tests/conformance/test_stages_conformance.py
runs it on DuckDB and Spark.
"""

from __future__ import annotations

import datetime as dt
import json

import ibis
import pyarrow as pa
import pytest

import journeymap
from journeymap.analytics.customers import customers_in_segment, parse_segment, segment_table
from journeymap.analytics.stage_funnel import stage_funnel
from journeymap.config import settings_from_toml
from journeymap.errors import ConfigError, InputError
from journeymap.stages import (PRESETS, assign_stages, customer_stages, load_stage_model, stage_at_touchpoint)
from journeymap.stages.model import TouchRule, parse_rule
from journeymap.stages.rules import touch_predicate

from . import stage_cases as cases

AS_OF = cases.BASE + dt.timedelta(days=52)


@pytest.fixture
def events():
    return ibis.memtable(cases.events_table())


def _entries(events, model=None, as_of=None):
    model = model or cases.model()
    out = assign_stages(events, model, as_of=as_of)
    rows = out.order_by(["customer_id", "stage_index"]).to_pyarrow().to_pylist()
    return rows


# --------------------------------------------------------------------------- presets and rules as data

@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_loads_with_descriptions_and_keywords(preset):
    model = load_stage_model(preset=preset)
    assert model.name == preset and len(model.stages) >= 4
    for stage in model.stages:
        assert len(stage.description) > 40, stage.name
        assert stage.keywords, stage.name
        assert stage.rule.describe()


def test_preset_stage_lists_match_the_design():
    expected = {
        "default": ["awareness", "consideration", "decision", "purchase", "retention", "advocacy"],
        "content-marketing": ["learning_and_discovery", "solution_consideration", "purchase_decision", "loyalty"],
        "needs": ["need_recognition", "solution_search", "evaluation", "purchase_decision", "purchase_evaluation",
                  "conclusion"],
        "five-stage": ["awareness", "consideration", "purchase", "retention", "advocacy"],
        "four-stage": ["awareness", "consideration", "purchase", "post_purchase"],
    }
    assert {p: load_stage_model(preset=p).names for p in PRESETS} == expected


def test_own_stages_replace_the_preset_and_a_preset_argument_wins_over_them():
    settings = settings_from_toml(cases.MODEL_TOML)
    assert load_stage_model(settings).names == ["visit", "interest", "intent", "buyer", "loyal", "fan"]
    assert load_stage_model(settings, preset="four-stage").names[-1] == "post_purchase"


BAD_RULES = [
    # (stage table lines, expected message part, line of the error in the file)
    ('name = "a"\nwhen = { evnt = "x" }', "stage 'a', rule when: unknown key 'evnt'. Fix: did you mean 'event'?", 5),
    ('name = "a"\nwhen = { event = "x", property = "r", op = "=>", value = 4 }', "unknown op '=>'. Fix: did you mean '>='?", 5),
    ('name = "a"\nwhen = { any = [\n  { event = "x" },\n  { event = "y", within_days = 3 },\n] }',
     "rule when.any[2]: within_days needs min_count >= 2", 7),
    ('name = "a"\nwhen = { event = "x", min_count = 0 }', "min_count must be a whole number >= 1", 5),
    ('name = "a"\nwhen = { event = "x", property = "p", op = ">", value = "big" }', "compares numbers", 5),
    ('name = "a"\nwhen = { event = "x", property = "p", op = "in", value = 3 }', "op 'in' needs a non-empty list", 5),
    ('name = "a"\nwhen = { url_regex = "(?P<n>x)" }', "named groups", 5),
    ('name = "a"\nwhen = { url_regex = "(" }', "not a valid regular expression", 5),
    ('name = "a"\nwhen = { all = [], event = "x" }', "'all' cannot share a table with 'event'", 5),
    ('name = "a"\nwhen = { event = [] }', "'event' must be a non-empty string or list", 5),
    ('name = "A b"\nwhen = { event = "x" }', "name must be snake_case", 4),
    ('name = "a"\ndescription = "no rule"', "stage 'a': has no entry rule", 4),
    ('name = "a"\nwhen = { event = "x" }\nstay_days = 0', "stay_days must be a number of days > 0", 6),
]


@pytest.mark.parametrize("stage, message, line", BAD_RULES)
def test_a_malformed_rule_names_the_stage_the_rule_and_the_line(stage, message, line):
    text = f'[stages]\nregression = false\n[[stages.stage]]\n{stage}\n'
    with pytest.raises(ConfigError) as error:
        settings_from_toml(text, file="journeymap.toml")
    assert message in str(error.value)
    assert str(error.value).startswith(f"journeymap.toml:{line}, setting stages.stage:")


def test_duplicate_stage_names_and_unknown_presets_are_refused():
    text = '[[stages.stage]]\nname = "a"\nwhen = { event = "x" }\n[[stages.stage]]\nname = "a"\nwhen = { event = "y" }\n'
    with pytest.raises(ConfigError, match="stage 'a' is defined twice"):
        settings_from_toml(text)
    with pytest.raises(ConfigError, match="unknown stage preset 'fivestage'. Fix: did you mean 'five-stage'"):
        load_stage_model(preset="fivestage")


# property tests, one touchpoint per value: (properties JSON, {rule: expected})
PROPERTY_CASES = [
    ('{"plan": "pro", "seats": 12}', {("plan", "=", "pro"): True, ("plan", "!=", "pro"): False,
                                      ("seats", "=", 12): True, ("seats", ">", 11.5): True, ("seats", "<=", 12): True,
                                      ("seats", "<", 12): False, ("plan", "in", ("free", "pro")): True,
                                      ("seats", "in", (1, 12)): True, ("plan", "regex", "^p"): True,
                                      ("plan", "exists", None): True, ("coupon", "exists", False): True}),
    ('{"plan": "free", "seats": "7"}', {("plan", "=", "pro"): False, ("plan", "!=", "pro"): True,
                                        ("seats", ">=", 7): True, ("seats", "in", (1, 12)): False,
                                        ("plan", "regex", "^p"): False}),
    ('{"seats": "many"}', {("seats", ">", 1): False, ("seats", "=", "many"): True, ("plan", "!=", "pro"): False,
                           ("plan", "exists", None): False, ("plan", "exists", False): True}),
    (None, {("plan", "=", "pro"): False, ("plan", "!=", "pro"): False, ("plan", "exists", False): True}),
]


@pytest.mark.parametrize("properties, expected", PROPERTY_CASES)
def test_property_conditions(properties, expected):
    table = ibis.memtable(pa.table({"properties": pa.array([properties], pa.string())}))
    for (name, op, value), want in expected.items():
        value = list(value) if isinstance(value, tuple) else value
        raw = {"property": name, "op": op} | ({} if value is None else {"value": value})
        rule = parse_rule(raw)
        got = table.select(hit=touch_predicate(rule, table)).to_pyarrow().column("hit").to_pylist()[0]
        assert got is want, (properties, name, op, value)


MATCH_CASES = [
    ({"path": "/blog/*"}, ["https://s.example/Blog/Tents?x=1", "https://s.example/blog", "app://s/blog/a", None],
     [True, False, True, False]),
    ({"path": ["/", "/pricing"]}, ["https://s.example", "https://s.example/pricing/", "/pricing#x", "https://s.example/p"],
     [True, True, True, False]),
    ({"url": "https://s.example/guides/*"}, ["https://S.example/guides/a?q=1", "http://s.example/guides/a", None, "x"],
     [True, False, False, False]),
    ({"url_regex": "utm_source=news"}, ["https://s.example/?utm_source=newsletter", "https://s.example/", None, "x"],
     [True, False, False, False]),
]


@pytest.mark.parametrize("rule, urls, expected", MATCH_CASES)
def test_url_and_path_patterns(rule, urls, expected):
    table = ibis.memtable(pa.table({"url": pa.array(urls, pa.string())}))
    got = table.select(hit=touch_predicate(parse_rule(rule), table)).to_pyarrow().column("hit").to_pylist()
    assert got == expected


def test_describe_reads_like_the_rule():
    rule = load_stage_model(preset="default").stage("advocacy").rule
    assert rule.describe() == ("any of [event = review_submitted and rating >= 4.0; event = referral_sent; "
                               "event = nps_submitted and score >= 9.0]")
    assert isinstance(parse_rule({"event": "x"}), TouchRule)


# --------------------------------------------------------------------------- assignment

def test_entries_match_the_hand_worked_case(events):
    rows = _entries(events)
    got = [(r["customer_id"], r["stage"], r["trigger_event_id"], r["skipped"], r["days_in_stage"], r["is_current"])
           for r in rows]
    assert got == cases.ENTRIES


def test_entries_carry_trigger_event_and_exit(events):
    rows = {(r["customer_id"], r["stage"]): r for r in _entries(events)}
    assert rows[("p", "loyal")]["trigger_event"] == "order_completed"
    assert rows[("p", "loyal")]["entered_at"] == cases.BASE + dt.timedelta(days=50)
    assert rows[("p", "loyal")]["exited_at"] == AS_OF and rows[("p", "loyal")]["exit_event_id"] == "p9"
    assert rows[("p", "fan")]["exited_at"] is None
    assert rows[("q", "visit")]["entered_at"] == rows[("q", "buyer")]["entered_at"]  # skipped: same moment
    assert rows[("p", "loyal")]["last_held_at"] == cases.BASE + dt.timedelta(days=50)


def test_touchpoints_are_tagged_with_the_stage_they_happened_in(events):
    tagged = stage_at_touchpoint(events, assign_stages(events, cases.model())).to_pyarrow().to_pylist()
    assert {r["event_id"]: r["stage"] for r in tagged} == cases.TOUCHPOINT_STAGES
    assert len(tagged) == len(cases.EVENTS)  # the join adds no rows
    before = stage_at_touchpoint(events, assign_stages(events, cases.model()), before=True).to_pyarrow().to_pylist()
    assert {r["event_id"]: r["stage"] for r in before} == cases.TOUCHPOINT_STAGES_BEFORE


def test_touchpoints_before_the_first_stage_have_no_stage():
    model = load_stage_model(settings_from_toml('[[stages.stage]]\nname = "buyer"\nwhen = { event = "order" }\n'))
    table = ibis.memtable(cases.events_table([("a", "a1", 0, "page", "page_view", None, "direct", None, None),
                                              ("a", "a2", 1, "track", "order", None, "direct", None, None)]))
    tagged = stage_at_touchpoint(table, assign_stages(table, model)).order_by("event_id").to_pyarrow().to_pylist()
    assert [r["stage"] for r in tagged] == [None, "buyer"]


def test_regression_falls_back_once_stay_days_have_passed(events):
    text = "[stages]\nregression = true\n" + cases.MODEL_TOML
    model = load_stage_model(settings_from_toml(text))
    as_of = cases.BASE + dt.timedelta(days=70)
    summary = customer_stages(assign_stages(events, model, as_of=as_of)).order_by("customer_id").to_pyarrow()
    got = [(r["customer_id"], r["current_stage"], r["highest_stage"], r["regressed"]) for r in summary.to_pylist()]
    # r's loyalty last held on day 5: 5 + 60 < 70, so r is back to buyer; w's (day 30) still holds
    assert got == [("p", "fan", "fan", False), ("q", "buyer", "buyer", False), ("r", "buyer", "loyal", True),
                   ("w", "loyal", "loyal", False), ("x", "buyer", "buyer", False)]
    forward = customer_stages(assign_stages(events, cases.model(), as_of=as_of)).to_pyarrow().to_pylist()
    assert not any(r["regressed"] for r in forward)


def test_same_instant_ties_are_broken_by_event_id():
    # the same two touchpoints with their ids swapped: now the page sorts first, so visit is not skipped
    rows = [("q", "q2", 10, "track", "order_completed", None, "direct", None, None),
            ("q", "q1", 10, "page", "page_view", "https://shop.example/compare", "direct", None, None)]
    got = _entries(ibis.memtable(cases.events_table(rows)))
    assert [(r["stage"], r["trigger_event_id"], r["skipped"]) for r in got] == [
        ("visit", "q1", False), ("interest", "q1", False), ("intent", "q2", True), ("buyer", "q2", False)]


def test_missing_columns_are_a_clear_error():
    table = ibis.memtable({"customer_id": ["a"], "timestamp": [cases.BASE], "event_id": ["1"], "event": ["x"]})
    with pytest.raises(InputError, match="no column properties, type, url"):
        assign_stages(table, cases.model())


# --------------------------------------------------------------------------- funnel and segments

def _funnel_rows(table):
    return [(r["stage"], r["customers"], r["skipped"], r["conversion_from_previous"], r["conversion_from_first"],
             r["dropped"], r["median_days_from_previous"], r["p90_days_from_previous"], r["median_days_in_stage"])
            for r in table.to_pyarrow().to_pylist()]


def test_stage_funnel_matches_the_hand_worked_table(events):
    model = cases.model()
    assert _funnel_rows(stage_funnel(assign_stages(events, model), model)) == cases.FUNNEL


def test_stage_funnel_by_first_touch_channel_keeps_stages_nobody_reached(events):
    model = cases.model()
    entries = assign_stages(events, model)
    funnel = stage_funnel(entries, model, by=["first_channel"], segments=segment_table(events, ["channel"]))
    rows = [r for r in funnel.to_pyarrow().to_pylist() if r["first_channel"] == "direct"]
    got = [(r["stage"], r["customers"], r["skipped"], r["conversion_from_previous"], r["conversion_from_first"],
            r["dropped"]) for r in rows]
    assert got == cases.FUNNEL_DIRECT
    assert {r["first_channel"] for r in funnel.to_pyarrow().to_pylist()} == {"direct", "email", "paid_search"}


def test_cohorts_and_segments(events):
    model = cases.model()
    entries = assign_stages(events, model)
    seg = segment_table(events, ["cohort:month", "stage"], entries).order_by("customer_id").to_pyarrow().to_pylist()
    assert [(r["customer_id"], r["cohort_month"], r["stage"]) for r in seg] == [
        ("p", "2025-01-01", "fan"), ("q", "2025-01-01", "buyer"), ("r", "2025-01-01", "loyal"),
        ("w", "2025-01-01", "loyal"), ("x", "2025-01-01", "buyer")]
    chosen = customers_in_segment(events, "channel=DIRECT, stage!=loyal", entries).to_pyarrow()
    assert sorted(chosen.column("customer_id").to_pylist()) == ["q", "x"]
    with pytest.raises(ConfigError, match="unknown segment key 'chanel'. Fix: did you mean 'channel'"):
        parse_segment("chanel=email")
    with pytest.raises(ConfigError, match="is not KEY=VALUE"):
        parse_segment("channel")


# --------------------------------------------------------------------------- the store: incremental refresh

def _write_csv(path, rows):
    header = "event_id,timestamp,type,event,anonymous_id,user_id,url"
    path.write_text(header + "\n" + "\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")


def _stored(jm):
    return sorted((r["customer_id"], r["stage"], r["trigger_event_id"], r["skipped"])
                  for r in jm.stages().to_pyarrow().to_pylist())


def test_refresh_recomputes_only_changed_customers_and_equals_a_full_recompute(tmp_path):
    site = "https://s.example"
    _write_csv(tmp_path / "a.csv", [
        ("a1", "2025-03-01T10:00:00Z", "page", "page_view", "alpha", "", site + "/"),
        ("a2", "2025-03-02T10:00:00Z", "track", "order_completed", "alpha", "", ""),
        ("b1", "2025-03-01T11:00:00Z", "page", "page_view", "beta", "", site + "/shop/tents"),
        ("g1", "2025-03-01T12:00:00Z", "page", "page_view", "gdev", "g", site + "/"),
        ("c1", "2025-03-01T13:00:00Z", "page", "page_view", "cdev", "", site + "/products/x"),
    ])
    _write_csv(tmp_path / "b.csv", [
        ("b2", "2025-03-05T11:00:00Z", "track", "order_completed", "beta", "", ""),
        ("c2", "2025-03-06T13:00:00Z", "identify", "identify", "cdev", "g", ""),  # cdev is g: merge
    ])
    jm = journeymap.open(str(tmp_path / "store.duckdb"))
    jm.load(tmp_path / "a.csv")
    first = jm.refresh_stages()
    assert (first.full, first.customers, first.customers_recomputed) == (True, 4, 4)
    assert jm.refresh_stages().customers_recomputed == 0  # nothing new
    jm.load(tmp_path / "b.csv")
    second = jm.refresh_stages()
    # beta (new touchpoint), g (new touchpoint, gains cdev) and the old customer of cdev (gone)
    assert (second.full, second.customers_recomputed, second.customers) == (False, 3, 3)
    incremental = _stored(jm)
    full = sorted((r["customer_id"], r["stage"], r["trigger_event_id"], r["skipped"]) for r in
                  assign_stages(jm.events(), jm.stage_model()).to_pyarrow().to_pylist())
    assert incremental == full
    assert ("g", "decision", "c1", False) in incremental  # cdev's product page now counts for g
    assert jm.refresh_stages(preset="four-stage").full  # another model: everyone again
    jm.close()


def test_stage_funnel_through_the_api_with_segment_and_breakdown(tmp_path):
    path = tmp_path / "events.ndjson"
    rows = []
    for c, eid, day, kind, event, url, channel, campaign, props in cases.EVENTS:
        rows.append({"event_id": eid, "timestamp": (cases.BASE + dt.timedelta(days=day)).isoformat(),
                     "type": kind, "event": event, "user_id": c, "url": url, "channel": channel,
                     "utm_campaign": campaign, "properties": props})
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    settings = settings_from_toml(cases.MODEL_TOML)
    with journeymap.open(str(tmp_path / "s.duckdb"), settings=settings) as jm:
        jm.load(path)
        assert _funnel_rows(jm.stage_funnel()) == cases.FUNNEL
        direct = jm.stage_funnel(segment="channel=direct").to_pyarrow().to_pylist()
        assert [r["customers"] for r in direct] == [3, 3, 3, 3, 1, 0]
        by = jm.stage_funnel(by="channel").to_pyarrow().to_pylist()
        assert {r["first_channel"] for r in by} == {"direct", "email", "paid_search"}


def test_the_same_stages_over_a_parquet_folder_and_as_polars(tmp_path):
    """journeymap.connect (no store: entries computed from the touchpoints) gives the store's answers."""
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(json.dumps({
        "event_id": eid, "timestamp": (cases.BASE + dt.timedelta(days=day)).isoformat(), "type": kind,
        "event": event, "user_id": c, "url": url, "channel": channel, "utm_campaign": campaign, "properties": props})
        for c, eid, day, kind, event, url, channel, campaign, props in cases.EVENTS) + "\n", encoding="utf-8")
    settings = settings_from_toml(cases.MODEL_TOML)
    with journeymap.open(str(tmp_path / "s.duckdb"), settings=settings) as jm:
        jm.load(path)
        stored = jm.stage_funnel(by="channel").to_pyarrow().to_pylist()
        jm.export(tmp_path / "export")
    folder = journeymap.connect(tmp_path / "export", settings=settings)
    assert folder.stage_funnel(by="channel").to_pyarrow().to_pylist() == stored
    frame = folder.stage_funnel().to_polars()
    assert frame["customers"].to_list() == [row[1] for row in cases.FUNNEL]
    assert folder.customer_stages().to_pandas().set_index("customer_id").loc["r", "current_stage"] == "loyal"
