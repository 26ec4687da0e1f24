"""``journeymap funnel`` run as a user runs it, on a small demo store."""

from __future__ import annotations

import json

import pytest

from .test_cli import run

STEPS = "product_viewed,add_to_cart,checkout_started,order_completed"


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("funnel-cli")
    made = run("--db", "d.duckdb", "demo", "--customers", "300", "--format", "json", cwd=folder)
    assert made.returncode == 0, made.stderr
    return folder


def _json(demo_dir, *args):
    result = run("--db", "d.duckdb", "funnel", *args, "-f", "json", cwd=demo_dir)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    return data["rows"] if isinstance(data, dict) else data


def test_funnel_views(demo_dir):
    rows = _json(demo_dir, "--steps", STEPS, "--window", "7d")
    counts = [r["count"] for r in rows]
    assert [r["step_label"] for r in rows] == STEPS.split(",") and counts == sorted(counts, reverse=True) and counts[-1] > 0
    assert [r["dropped"] for r in rows[1:]] == [a - b for a, b in zip(counts, counts[1:])]
    strict = _json(demo_dir, "--steps", STEPS, "--window", "7d", "--order", "strict")
    assert strict[0]["count"] == counts[0] and strict[-1]["count"] <= counts[-1]
    ttc = _json(demo_dir, "--steps", STEPS, "--window", "7d", "--time-to-convert", "--bins", "4")
    assert len(ttc) == 4 and sum(r["customers"] for r in ttc) == counts[-1]
    trend = _json(demo_dir, "--steps", STEPS, "--trend", "month")
    assert trend[-1]["complete"] is False and sum(r["entered"] for r in trend) >= counts[0]
    dropped = _json(demo_dir, "--steps", STEPS, "--window", "7d", "--dropped", "2", "--limit", "500")
    assert len(dropped) == rows[1]["dropped"]
    nxt = _json(demo_dir, "--steps", STEPS, "--window", "7d", "--next-events", "2")
    assert sum(r["customers"] for r in nxt) <= rows[1]["dropped"] and nxt[0]["next_event"]
    split = _json(demo_dir, "--steps", STEPS, "--breakdown", "device", "--attribution", "last_touch", "--by", "channel")
    assert {"first_channel", "breakdown_value"} <= set(split[0])
    table = run("--db", "d.duckdb", "funnel", "--steps", STEPS, "--exclude", "1..2:checkout_error", "--count-by",
                "session", cwd=demo_dir)
    assert table.returncode == 0 and "of_first" in table.stdout


@pytest.mark.parametrize("args,message", [
    (("--steps", "product_viewed,add_to_crat"), "unknown event 'add_to_crat'"),
    (("--steps", ""), "no steps given"),
    (("--steps", "product_viewed,order_completed", "--window", "0d"), "greater than zero"),
    (("--steps", "product_viewed,order_completed", "--segment", "nosuch"), "nosuch"),
    (("--steps", "product_viewed,order_completed", "--order", "strcit"), "order 'strcit'"),
    (("--steps", "product_viewed,order_completed", "--count-by", "people"), "count_by 'people'"),
    (("--steps", "product_viewed,order_completed", "--exclude", "3..1:signup"), "between steps 3 and 1"),
    (("--steps", "product_viewed,order_completed", "--trend", "week", "--dropped", "2"), "cannot be combined"),
])
def test_bad_arguments_exit_1_with_a_clear_error(demo_dir, args, message):
    result = run("--db", "d.duckdb", "funnel", *args, cwd=demo_dir)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ") and message in result.stderr, result.stderr
