"""Steps, sessions and saved segments: parsing, hand-worked results, errors, and the CLI."""

from __future__ import annotations

import json

import ibis
import pytest

from journeymap.analytics.segments import Segment, resolve_segment, saved_segments, segment_columns, segment_members
from journeymap.analytics.sessions import session_table, sessionize
from journeymap.analytics.steps import check_steps, parse_step, parse_steps, with_stage_events
from journeymap.config import settings_from_toml
from journeymap.durations import parse_duration
from journeymap.errors import ConfigError

from . import behaviour_cases as cases
from .test_cli import run

# --- steps -----------------------------------------------------------------------------------
STEP_CASES = [  # text, event names, column matches, property tests (name, op, value), stage
    ("add_to_cart", ("add_to_cart",), (), (), None),
    ("Order Completed", ("Order Completed",), (), (), None),
    ("page_view[path=/pricing*]", ("page_view",), (("path", ("/pricing*",)),), (), None),
    ("page_view[channel=email|social; utm_campaign=spring]", ("page_view",),
     (("channel", ("email", "social")), ("utm_campaign", ("spring",))), (), None),
    ("checkout_started[device=mobile]", ("checkout_started",), (), (("device", "=", "mobile"),), None),
    ("x[property.plan!=free, revenue<10, score>=9, coupon, cat~^tent]", ("x",), (),
     (("plan", "!=", "free"), ("revenue", "<", 10.0), ("score", ">=", 9.0), ("coupon", "exists", True),
      ("cat", "regex", "^tent")), None),
    ("x[tier=gold|silver]", ("x",), (), (("tier", "in", ("gold", "silver")),), None),
    ("*", (), (), (), None),
    ("*[channel=email]", (), (("channel", ("email",)),), (), None),
    ("stage:decision", (), (), (), "decision"),
]


@pytest.mark.parametrize("text,events,matches,tests,stage", STEP_CASES, ids=[c[0] for c in STEP_CASES])
def test_step_syntax(text, events, matches, tests, stage):
    step = parse_step(text)
    assert step.label == text and step.events == events and step.stage == stage
    if step.rule is not None:
        assert tuple(m for m in step.rule.matches if m[0] != "event") == matches
        assert tuple((t.name, t.op, t.value) for t in step.rule.properties) == tests


STEP_ERRORS = [
    ("", "no steps given"),
    (" , ", "no steps given"),
    ("a[x=>3]", "unknown comparison '=>'. Fix: did you mean '>='?"),
    ("a[x>abc]", "'>' compares numbers; 'abc' is not one"),
    ("a[channel!=email]", "channel takes '='"),
    ("a[b", "brackets do not match"),
    ("a[x=]", "has no value after '='"),
    ("a[x~(]", "not a valid regular expression"),
    ("stage:", "no stage name"),
    ("stage:decision[x=1]", "a stage step takes no filters"),
    ("a[channel=a;channel=b]", "given twice"),
]


@pytest.mark.parametrize("text,message", STEP_ERRORS, ids=[c[0] or "empty" for c in STEP_ERRORS])
def test_step_errors_say_what_and_how(text, message):
    with pytest.raises(ConfigError) as caught:
        parse_steps(text)
    assert message in str(caught.value) and "Fix:" in str(caught.value)


def test_steps_split_on_commas_outside_brackets_and_name_their_place():
    assert [s.label for s in parse_steps("a[x=1,y=2], b ,stage:c")] == ["a[x=1,y=2]", "b", "stage:c"]
    assert parse_steps([{"event": "page_view", "path": "/p*", "name": "pricing"}])[0].label == "pricing"
    with pytest.raises(ConfigError, match=r"setting steps\[2\]: step 'b\[x=>1\]'"):
        parse_steps("a, b[x=>1]")
    with pytest.raises(ConfigError, match="no all/any/min_count"):
        parse_step({"event": "a", "min_count": 2})


def test_unknown_events_and_stages_are_named_with_the_closest_known_one():
    with pytest.raises(ConfigError, match="unknown event 'add_to_crat'.*did you mean 'add_to_cart'"):
        check_steps(parse_steps("add_to_crat"), ["add_to_cart", "page_view"])
    with pytest.raises(ConfigError, match="unknown stage 'decison'.*did you mean 'stage:decision'"):
        check_steps(parse_steps("stage:decison"), [], ["awareness", "decision"])
    check_steps(parse_steps("*,page_view,stage:decision"), ["page_view"], ["decision"])  # all known


@pytest.mark.parametrize("text,seconds", [("30m", 1800), ("1.5h", 5400), ("14d", 14 * 86400), ("2w", 14 * 86400),
                                          ("90s", 90), ("7", 7 * 86400), (3, 3 * 86400)])
def test_durations(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["0d", "-1d", "soon", "7 days", ""])
def test_bad_durations(text):
    with pytest.raises(ConfigError, match="Fix: e.g. 14d"):
        parse_duration(text, field="window")


# --- sessions --------------------------------------------------------------------------------
def _session_rows(log) -> list[tuple]:
    rows = session_table(sessionize(log)).order_by("session_id").to_pyarrow().to_pylist()
    return [(r["session_id"], r["started_at"], r["ended_at"], r["duration_seconds"], r["events"], r["page_views"],
             r["entry_event"], r["entry_channel"], r["entry_campaign"], r["landing_page"], r["exit_page"])
            for r in rows]


def test_sessions_hand_worked():
    log = ibis.memtable(cases.SESSION_LOG)
    assert _session_rows(log) == cases.EXPECTED_SESSIONS
    tagged = sessionize(log).to_pyarrow().to_pylist()
    assert {r["event_id"]: r["session_id"] for r in tagged} == cases.SESSION_OF_EVENT
    assert {r["event_id"]: r["touch_index"] for r in tagged} == {"a1": 0, "a2": 1, "a3": 2, "a4": 3, "a5": 4, "b1": 0}


def test_session_gap_is_configurable():
    rows = session_table(sessionize(ibis.memtable(cases.SESSION_LOG), parse_duration("2h"))).to_pyarrow().to_pylist()
    assert {r["session_id"]: r["events"] for r in rows} == cases.EXPECTED_SESSIONS_2H


# --- segments --------------------------------------------------------------------------------
def _segment(definition: dict, name: str = "s") -> Segment:
    lines = [f"[segments.{name}]"]
    for key, value in definition.items():
        lines.append(f"{key} = {json.dumps(value)}")
    return saved_segments(settings_from_toml("\n".join(lines)))[name]


@pytest.mark.parametrize("definition,expected", cases.SEGMENT_CASES, ids=[str(c[0]) for c in cases.SEGMENT_CASES])
def test_saved_segments_select_the_hand_worked_customers(definition, expected):
    segment = _segment(definition)
    log = ibis.memtable(cases.SEGMENT_LOG)
    entries = ibis.memtable(cases.SEGMENT_ENTRIES)
    if any(s.stage for s in segment.steps):
        log = with_stage_events(log, entries)
    chosen = segment_members(log, segment, entries=entries)
    assert sorted(chosen.to_pyarrow().column("customer_id").to_pylist()) == expected


def test_a_segment_as_a_breakdown_column():
    log = ibis.memtable(cases.SEGMENT_LOG)
    customers = log.select("customer_id").distinct()
    table = segment_columns(log, [_segment({"did": ["order_completed"]}, "buyers")], customers)
    rows = {r["customer_id"]: r["segment_buyers"] for r in table.to_pyarrow().to_pylist()}
    assert rows == {"c1": "buyers", "c2": "buyers", "c3": "not buyers", "c4": "not buyers"}


SEGMENT_ERRORS = [
    ('[segments.x]\ndescription = "all"\n', 1, "selects everyone"),
    ('[segments.x]\ndid = ["a[x=>1]"]\n', 2, "unknown comparison '=>'"),
    ('[segments.x]\nwhere = "chanel=email"\n', 2, "unknown segment key 'chanel'"),
    ('[segments.x]\nwhere = "channel"\n', 2, "is not KEY=VALUE"),
    ('[segments.x]\nstage = ["purchase"]\nwithin = "7d"\n', 3, "'within' bounds did/did_not"),
    ('[segments.x]\ndid = ["a"]\nwithin = "soon"\n', 3, "String should match pattern"),
    ('[segments.x]\ndid = ["a"]\ncolour = "red"\n', 3, "unknown setting 'colour'"),
    ('[segments."9x"]\ndid = ["a"]\n', 1, "must start with a letter"),
]


@pytest.mark.parametrize("text,line,message", SEGMENT_ERRORS, ids=[c[2] for c in SEGMENT_ERRORS])
def test_segment_config_errors_name_file_and_line(text, line, message):
    with pytest.raises(ConfigError) as caught:
        settings_from_toml(text, file="journeymap.toml")
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"journeymap.toml:{line}, setting segments.")


def test_unknown_segment_names_the_saved_ones():
    saved = {"buyers": _segment({"did": ["order_completed"]}, "buyers")}
    with pytest.raises(ConfigError, match="unknown segment 'buyer'.*did you mean 'buyers'"):
        resolve_segment("buyer", saved)
    assert resolve_segment("channel=email", saved).where == "channel=email"
    assert resolve_segment("buyers", saved) is saved["buyers"]


# --- through the API and the CLI, on a small demo store ----------------------------------------
CONFIG = """
[analytics]
session_gap = "45m"

[segments.mobile_buyers]
description = "bought; came first on mobile"
where = "device=mobile"
did = ["order_completed"]

[segments.decided]
stage = ["decision", "purchase", "retention", "advocacy"]
"""


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("behaviour-cli")
    (folder / "journeymap.toml").write_text(CONFIG)
    made = run("--db", "d.duckdb", "demo", "--customers", "400", "--format", "json", cwd=folder)
    assert made.returncode == 0, made.stderr
    return folder


def test_api_segments_sessions_and_breakdowns(demo_dir):
    import journeymap

    with journeymap.open(demo_dir / "d.duckdb", config=demo_dir / "journeymap.toml") as jm:
        assert jm.session_gap().total_seconds() == 45 * 60
        buyers = set(jm.segment_customers("mobile_buyers").to_pyarrow().column("customer_id").to_pylist())
        con = jm.store.con
        expected = {r[0] for r in con.execute(
            "SELECT customer_id FROM events GROUP BY 1 HAVING bool_or(event = 'order_completed') AND "
            "arg_min(json_extract_string(properties, '$.device'), (CASE WHEN json_extract_string(properties, "
            "'$.device') IS NULL THEN 1 ELSE 0 END, timestamp, event_id)) = 'mobile'").fetchall()}
        assert buyers == expected and buyers
        table, names = jm.breakdown("channel,segment:mobile_buyers")
        assert names == ["first_channel", "segment_mobile_buyers"]
        counts = {r["segment_mobile_buyers"]: r["n"] for r in table.group_by("segment_mobile_buyers")
                  .aggregate(n=ibis._.count()).to_pyarrow().to_pylist()}
        assert counts["mobile_buyers"] == len(buyers) and counts["not mobile_buyers"] == jm.info()["customers"] - len(buyers)
        sessions = jm.sessions(segment="mobile_buyers").to_pyarrow()
        assert set(sessions.column("customer_id").to_pylist()) == buyers
        assert jm.sessions().figure().data  # a Plotly figure with bars
        with pytest.raises(ConfigError, match="'segment:nope' names no saved segment"):
            jm.breakdown("segment:nope")


def test_cli_sessions_and_segments(demo_dir):
    listed = run("--db", "d.duckdb", "segments", "-f", "json", cwd=demo_dir)
    assert listed.returncode == 0, listed.stderr
    rows = {r["segment"]: r for r in json.loads(listed.stdout)}
    assert set(rows) == {"mobile_buyers", "decided"} and rows["decided"]["customers"] > 0
    by_channel = run("--db", "d.duckdb", "sessions", "-f", "json", cwd=demo_dir)
    assert by_channel.returncode == 0, by_channel.stderr
    report = json.loads(by_channel.stdout)
    assert {"entry_channel", "sessions", "customers", "median_minutes", "bounce_rate"} <= set(report[0])
    by_segment = run("--db", "d.duckdb", "sessions", "--by", "segment:mobile_buyers", "-f", "json", cwd=demo_dir)
    assert by_segment.returncode == 0, by_segment.stderr
    groups = {r["segment_mobile_buyers"]: r for r in json.loads(by_segment.stdout)}
    assert set(groups) == {"mobile_buyers", "not mobile_buyers"}
    assert sum(g["sessions"] for g in groups.values()) == sum(r["sessions"] for r in report)
    listing = run("--db", "d.duckdb", "sessions", "--by", "none", "--segment", "decided", "--limit", "3", "-f", "csv",
                  cwd=demo_dir)
    assert listing.returncode == 0 and listing.stdout.startswith("customer_id,session_id,session_index")
    for args, message in [(("sessions", "--segment", "nobody"), "unknown segment 'nobody'"),
                          (("sessions", "--gap", "0m"), "must be greater than zero"),
                          (("sessions", "--by", "colour"), "unknown segment key 'colour'")]:
        bad = run("--db", "d.duckdb", *args, cwd=demo_dir)
        assert bad.returncode == 1 and message in bad.stderr, bad.stderr


def test_streamed_sessions_equal_the_portable_ones_on_a_store(demo_dir):
    """The store is kept sorted, so sessions stream it (no sort); the result is the partitioned one's."""
    import journeymap
    from journeymap.analytics.steps import event_log

    with journeymap.open(demo_dir / "d.duckdb", read_only=True) as jm:
        assert jm._events_presorted()
        log = event_log(jm.events(), ("channel", "utm_campaign", "url"))
        keys = ["customer_id", "session_index"]
        fast = session_table(sessionize(log, presorted=True)).to_pandas().sort_values(keys).reset_index(drop=True)
        slow = session_table(sessionize(log)).to_pandas().sort_values(keys).reset_index(drop=True)
        assert len(fast) > jm.info()["customers"] and fast.equals(slow)
        tags = ["event_id", "session_id", "touch_index"]
        fast = sessionize(log, presorted=True).select(*tags).to_pandas().sort_values("event_id").reset_index(drop=True)
        slow = sessionize(log).select(*tags).to_pandas().sort_values("event_id").reset_index(drop=True)
        assert fast.equals(slow)


def test_revenue_filters_read_the_revenue_column():
    """Ingest lifts revenue out of properties into its own column; a filter on it reads the column
    (and properties.revenue where the column is empty)."""
    from journeymap.analytics.steps import step_predicate

    log = ibis.memtable({"event_id": ["1", "2", "3", "4"], "event": ["order_completed"] * 4,
                         "revenue": [120.0, 30.0, None, None],
                         "properties": [None, '{"revenue": 500}', '{"revenue": 150}', None]})
    hits = log.filter(step_predicate(log, parse_step("order_completed[revenue>=100]"))).event_id
    assert sorted(hits.to_pyarrow().to_pylist()) == ["1", "3"]
    assert parse_steps("a[revenue>=1]") and __import__("journeymap.analytics.steps", fromlist=["x"]).step_columns(
        parse_steps("a[revenue>=1]"), ["revenue", "properties", "url"]) == ["properties", "revenue"]


def test_streamed_windows_keep_storage_order_across_row_groups_and_threads():
    """The fast paths (sessions, transitions, path nodes and the step matrix) read a sorted table in storage order. With 400k rows (several DuckDB row
    groups, scanned by two threads) and a filter in between, they must still equal the sorted,
    partitioned windows."""
    import duckdb

    from journeymap.analytics.paths import path_nodes, step_matrix, transition_matrix

    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("""
        CREATE TABLE events AS
        SELECT 'customer-' || lpad(CAST(i // 40 AS VARCHAR), 6, '0') AS customer_id,
               TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_seconds(CAST(hash(i) % 5000000 AS BIGINT)) AS timestamp,
               lpad(CAST(i AS VARCHAR), 8, '0') AS event_id,
               ['page_view', 'product_viewed', 'add_to_cart', 'order_completed'][1 + CAST(hash(i * 7) % 4 AS INT)] AS event,
               CASE WHEN hash(i * 3) % 5 = 0 THEN 'track' ELSE 'page' END AS type,
               'direct' AS channel, NULL::VARCHAR AS utm_campaign,
               'https://s.example/p/' || CAST(hash(i * 11) % 7 AS VARCHAR) AS url
        FROM range(400000) t(i)
        ORDER BY customer_id, timestamp, event_id""")
    log = ibis.duckdb.from_connection(con).table("events")
    tags = ["event_id", "session_id", "touch_index"]
    fast = sessionize(log, presorted=True).select(*tags).to_pandas().sort_values("event_id").reset_index(drop=True)
    slow = sessionize(log).select(*tags).to_pandas().sort_values("event_id").reset_index(drop=True)
    assert fast.equals(slow) and fast.session_id.nunique() > 20000
    keys = ["source", "target"]
    for node in ("event", "path"):  # node=path filters to page views before the stream
        fast = transition_matrix(log, node=node, presorted=True).to_pandas().sort_values(keys).reset_index(drop=True)
        slow = transition_matrix(log, node=node).to_pandas().sort_values(keys).reset_index(drop=True)
        assert fast.equals(slow) and len(fast) > 5
    keys = ["customer_id", "path_index", "step"]
    for options in (dict(), dict(node="path"), dict(gap=None, collapse_repeats=False)):
        fast = path_nodes(log, presorted=True, **options).to_pandas().sort_values(keys).reset_index(drop=True)
        slow = path_nodes(log, **options).to_pandas().sort_values(keys).reset_index(drop=True)
        assert fast.equals(slow), options
        # with the session gap customers have several paths, so the path numbering is exercised
        assert fast.path_index.max() == 1 if options.get("gap", "default") is None else fast.path_index.max() > 1
        fast = step_matrix(log, presorted=True, **options).to_pandas().sort_values(["step", "node"]).reset_index(drop=True)
        slow = step_matrix(log, **options).to_pandas().sort_values(["step", "node"]).reset_index(drop=True)
        assert fast.equals(slow), options


def test_a_saved_segment_filters_on_the_revenue_column(demo_dir):
    """Ingest moves revenue into its own column; a segment step filtering on it reads that column."""
    import journeymap
    from journeymap.config import settings_from_toml

    settings = settings_from_toml('[segments.big]\ndid = ["order_completed[revenue>=100]"]\n')
    with journeymap.open(demo_dir / "d.duckdb", settings=settings, read_only=True) as jm:
        chosen = set(jm.segment_customers("big").to_pyarrow().column("customer_id").to_pylist())
        expected = {r[0] for r in jm.store.con.execute(
            "SELECT DISTINCT customer_id FROM events WHERE event = 'order_completed' AND revenue >= 100").fetchall()}
        assert chosen == expected and chosen
