"""``journeymap stages`` (and later ``map``) run as a user runs them, on a small demo store."""

from __future__ import annotations

import json

import pytest

from journeymap.stages import PRESETS, load_stage_model

from .test_cli import run


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stages-cli")
    made = run("--db", "d.duckdb", "demo", "--customers", "600", "--format", "json", cwd=folder)
    assert made.returncode == 0, made.stderr
    return folder


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_gives_a_funnel_on_the_demo(demo_dir, preset):
    result = run("--db", "d.duckdb", "stages", "--preset", preset, "--format", "json", cwd=demo_dir)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    rows = report["rows"]
    assert [r["stage"] for r in rows] == load_stage_model(preset=preset).names
    counts = [r["customers"] for r in rows]
    assert counts[0] > 600 * 0.9 and counts == sorted(counts, reverse=True)  # forward-only: never grows
    assert all(c > 0 for c in counts), counts  # the demo reaches every stage of every preset
    assert [r["dropped"] for r in rows[:-1]] == [a - b for a, b in zip(counts, counts[1:])]


def test_breakdown_segment_customer_and_rules(demo_dir):
    by = run("--db", "d.duckdb", "stages", "--by", "channel", "-f", "csv", cwd=demo_dir)
    assert by.returncode == 0, by.stderr
    lines = by.stdout.splitlines()
    assert lines[0].startswith("first_channel,stage,stage_index,customers")
    assert any(line.startswith("email,awareness,0,") for line in lines)

    table = run("--db", "d.duckdb", "stages", "--segment", "device=mobile", cwd=demo_dir)
    assert table.returncode == 0 and "segment device=mobile" in table.stdout
    assert "stage history: recomputed" in table.stderr

    rules = run("stages", "--preset", "needs", "--rules", "-f", "json", cwd=demo_dir)
    assert rules.returncode == 0, rules.stderr
    assert [r["stage"] for r in json.loads(rules.stdout)][-1] == "conclusion"

    import duckdb

    with duckdb.connect(str(demo_dir / "d.duckdb"), read_only=True) as con:
        buyer = con.execute("SELECT min(customer_id) FROM events WHERE event = 'order_completed'").fetchone()[0]
    entries = run("--db", "d.duckdb", "stages", "--customer", buyer, "-f", "json", cwd=demo_dir)
    assert entries.returncode == 0, entries.stderr
    stages = json.loads(entries.stdout)
    assert stages[0]["stage"] == "awareness" and stages[0]["trigger_event_id"]
    assert stages[3]["stage"] == "purchase" and stages[3]["trigger_event"] == "order_completed"


@pytest.mark.parametrize("args, message", [
    (["stages", "--by", "chanel"], "Error: setting by: unknown segment key 'chanel'. Fix: did you mean 'channel'?"),
    (["stages", "--segment", "device"], "is not KEY=VALUE"),
    (["stages", "--preset", "six-stage"], "unknown stage preset 'six-stage'"),
    (["stages", "--customer", "nobody"], "no customer or identifier 'nobody' in the store"),
    (["stages", "--as-of", "yesterday"], "as_of 'yesterday' is not an ISO date"),
])
def test_mistakes_are_clear_errors(demo_dir, args, message):
    result = run("--db", "d.duckdb", *args, cwd=demo_dir)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_broken_rule_in_the_config_file_names_file_line_stage_and_rule(demo_dir):
    (demo_dir / "bad.toml").write_text(
        '[[stages.stage]]\nname = "visitor"\nwhen = { type = "page" }\n\n'
        '[[stages.stage]]\nname = "buyer"\nwhen = { any = [\n  { event = "order_completed" },\n'
        '  { event = "review_submitted", property = "rating", op = "=>", value = 4 },\n] }\n', encoding="utf-8")
    result = run("--config", "bad.toml", "--db", "d.duckdb", "stages", cwd=demo_dir)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: bad.toml:9, setting stages.stage: stage 'buyer', rule when.any[2]: "
                                    "unknown op '=>'. Fix: did you mean '>='?")


def test_map_writes_one_offline_html_file_for_everyone_and_for_a_segment(demo_dir):
    result = run("--db", "d.duckdb", "map", "--out", "map.html", cwd=demo_dir)
    assert result.returncode == 0, result.stderr
    html = (demo_dir / "map.html").read_text(encoding="utf-8")
    for label in ("Awareness", "Consideration", "Decision", "Purchase", "Retention", "Advocacy",
                  "Pain points", "Opportunities"):
        assert label.lower() in html.lower(), label
    assert "<script" not in html.lower()
    assert not any(f'{attr}="http' in html for attr in ("src", "href")) and "@import" not in html  # offline
    segment = run("--db", "d.duckdb", "map", "--out", "email.html", "--segment", "channel=email",
                  "--preset", "four-stage", "--title", "Email <b>journey</b>", cwd=demo_dir)
    assert segment.returncode == 0, segment.stderr
    email = (demo_dir / "email.html").read_text(encoding="utf-8")
    assert "Segment: channel=email" in email and "Post-purchase" in email
    assert "Email &lt;b&gt;journey&lt;/b&gt;" in email  # user text is escaped
    bad = run("--db", "d.duckdb", "map", "--segment", "channel", cwd=demo_dir)
    assert bad.returncode == 1 and "is not KEY=VALUE" in bad.stderr


def test_content_effectiveness_catalogue_and_customers(demo_dir):
    result = run("--db", "d.duckdb", "content", "--top", "50", "-f", "json", cwd=demo_dir)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    for r in rows:  # every row is internally consistent
        assert r["consumers_advanced"] <= r["consumers"] and r["others_advanced"] <= r["others"]
        assert r["uplift_lo"] <= r["uplift"] <= r["uplift_hi"]
        assert abs(r["uplift"] - (r["rate_consumers"] - r["rate_others"])) < 1e-9
    catalogue = run("--db", "d.duckdb", "content", "--catalogue", "--top", "200", "-f", "json", cwd=demo_dir)
    items = json.loads(catalogue.stdout)
    guide = next(i for i in items if i["path"] == "/guides/choosing-the-right-tent")
    assert (guide["stage"], guide["method"]) == ("consideration", "text")  # no glob covers it: the classifier did
    people = run("--db", "d.duckdb", "content", "--customers", "--top", "5", "-f", "json", cwd=demo_dir)
    assert {"customer_id", "action_stage", "content_stage", "agreement"} <= set(json.loads(people.stdout)[0])
    bad = run("--db", "d.duckdb", "content", "--stage", "nope", cwd=demo_dir)
    assert bad.returncode == 1 and "unknown stage 'nope'" in bad.stderr
