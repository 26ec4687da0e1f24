"""``journeymap retention``, ``lifecycle``, ``stickiness`` and ``repeat-purchases`` run as a user
runs them (real subprocesses) on a small demo store."""

from __future__ import annotations

import csv
import io
import json

import pytest

from .test_cli import run


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("retention-cli")
    made = run("--db", "d.duckdb", "demo", "--customers", "500", "--format", "json", cwd=folder)
    assert made.returncode == 0, made.stderr
    return folder


def jm(folder, *args):
    return run("--db", "d.duckdb", *args, cwd=folder)


def test_retention_json_csv_and_triangle(demo_dir):
    result = jm(demo_dir, "retention", "--start", "page_view", "--return", "page_view", "--period", "month",
                "--periods", "3", "-f", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert set(rows[0]) == {"cohort", "period", "cohort_size", "customers", "retention_rate", "complete"}
    assert {r["period"] for r in rows} == {0, 1, 2} and rows[0]["retention_rate"] == 1.0

    options = ("--period", "month", "--periods", "3", "--recurring", "--on-or-after", "--relative", "previous",
               "--by", "channel")
    as_csv = jm(demo_dir, "retention", *options, "-f", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    assert as_csv.stdout.splitlines()[0] == "first_channel,cohort,period,cohort_size,customers,retention_rate,complete"

    table = jm(demo_dir, "retention", "--start", "page_view", "--period", "month", "--periods", "3")
    assert table.returncode == 0, table.stderr
    assert "first-time retention by month" in table.stdout and "month 2" in table.stdout and "*" in table.stdout


def test_lifecycle_stickiness_and_repeat_purchases(demo_dir):
    life = jm(demo_dir, "lifecycle", "--event", "page_view", "--period", "month", "-f", "csv")
    assert life.returncode == 0, life.stderr
    rows = list(csv.DictReader(io.StringIO(life.stdout)))
    assert {r["status"] for r in rows} == {"new", "returning", "resurrecting", "dormant"}
    assert "resurrecting" in jm(demo_dir, "lifecycle", "--period", "month").stdout

    sticky = jm(demo_dir, "stickiness", "--within", "month", "-f", "json")
    assert sticky.returncode == 0, sticky.stderr
    assert min(r["active_periods"] for r in json.loads(sticky.stdout)) == 1
    whole = jm(demo_dir, "stickiness", "--event", "page_view", "--period", "week", "--within", "all")
    assert whole.returncode == 0 and "active weeks" in whole.stdout

    repeat = jm(demo_dir, "repeat-purchases", "-f", "json")
    assert repeat.returncode == 0, repeat.stderr
    summary = json.loads(repeat.stdout)[0]
    assert summary["customers"] > summary["repeat_customers"] > 0
    counts = jm(demo_dir, "repeat-purchases", "--distribution", "--cap", "2", "-f", "json")
    buckets = json.loads(counts.stdout)
    assert [b["purchases"] for b in buckets] == [1, 2] and buckets[-1]["or_more"] is True
    assert sum(b["customers"] for b in buckets) == summary["customers"]
    big = jm(demo_dir, "repeat-purchases", "--event", "order_completed[device=desktop]").stdout
    assert "repeat rate" in big and "order_completed[device=desktop]" in big


@pytest.mark.parametrize("args, message", [
    (("retention", "--start", "page_veiw"), "Error: setting start: unknown event 'page_veiw'"),
    (("retention", "--period", "fortnight"), "Error: setting period: 'fortnight' is not a period"),
    (("retention", "--periods", "0"), "Error: setting periods: periods must be a whole number >= 1"),
    (("retention", "--segment", "nosuch"), "Error: setting segment: unknown segment 'nosuch'"),
    (("retention", "--relative", "first"), "Error: setting relative_to: relative_to 'first' is not one of"),
    (("lifecycle", "--event", "stage:purchse"), "Error: setting event: unknown stage 'purchse'"),
    (("stickiness", "--period", "month", "--within", "week"), "Error: setting period: period 'month' is not shorter"),
    (("repeat-purchases", "--distribution", "--cap", "1"), "Error: setting cap: cap must be a whole number >= 2"),
    (("repeat-purchases", "--from", "yesterday"), "Error: setting date: 'yesterday' is not a date"),
])
def test_bad_arguments_exit_1_with_a_clear_error(demo_dir, args, message):
    result = jm(demo_dir, *args)
    assert result.returncode == 1 and result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.stderr
