"""The journeymap command, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
CLI = [sys.executable, "-m", "journeymap.cli"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.fixture
def workdir(tmp_path):
    return tmp_path


def test_load_prints_a_summary_exits_1_over_the_threshold_and_lists_rejects(workdir):
    mapping = "activity_id=event_id,when=timestamp,activity=event,customer=user_id,mail=email,amount=revenue"
    first = run("--db", "s.duckdb", "load", str(DATA / "crm_export.csv"), "--map", mapping, cwd=workdir)
    assert first.returncode == 1, first.stderr
    assert "7 rows read: 3 new, 0 already stored, 4 rejected (57.14%)" in first.stdout
    assert first.stderr.startswith("Error: 57.14% of rows were rejected")

    second = run("--db", "s.duckdb", "load", str(DATA / "crm_export.csv"), "--map", mapping,
                 "--max-reject-rate", "0.6", "--format", "json", cwd=workdir)
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    assert (summary["accepted"], summary["duplicates"], summary["rejected"]) == (0, 3, 4)

    rejects = run("--db", "s.duckdb", "rejects", "--format", "json", cwd=workdir)
    listed = json.loads(rejects.stdout)
    assert [(r["row"], r["column"]) for r in listed] == [(3, "timestamp"), (4, "identifiers"), (5, "revenue"), (6, None)]

    csv_out = run("--db", "s.duckdb", "rejects", "--format", "csv", cwd=workdir)
    assert csv_out.stdout.splitlines()[0].startswith("load_id,file,row,column,reason")

    info = json.loads(run("--db", "s.duckdb", "info", "--format", "json", cwd=workdir).stdout)
    assert (info["events"], info["customers"], info["rejects"]) == (3, 2, 4)


def test_user_mistakes_print_error_and_exit_1_without_traceback(workdir):
    cases = [
        ("--db", "missing.duckdb", "info"),
        ("--db", "s.duckdb", "load", "nope.csv"),
        ("--db", "s.duckdb", "load", str(DATA / "crm_export.csv"), "--map", "when"),
        ("--config", "nope.toml", "info"),
    ]
    for args in cases:
        result = run(*args, cwd=workdir)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr.startswith("Error: "), (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_identity_explain_shows_the_chain(workdir):
    assert run("--db", "s.duckdb", "load", str(DATA / "segment_batch.json"), "--max-reject-rate", "0.5",
               cwd=workdir).returncode == 0
    out = run("--db", "s.duckdb", "identity", "explain", "anon-2", "--format", "json", cwd=workdir)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["customer_id"] == "u-1"
    assert any(step.get("via") == "alias" for step in data["steps"])
    unknown = run("--db", "s.duckdb", "identity", "explain", "nobody", cwd=workdir)
    assert unknown.returncode == 1 and unknown.stderr.startswith("Error: ")


def test_config_lists_every_setting(workdir):
    out = run("config", "--format", "json", cwd=workdir)
    names = [row["setting"] for row in json.loads(out.stdout)]
    assert "ingest.max_reject_rate" in names and "identity.junk_ids" in names


def test_demo_loads_a_population_prints_its_summary_and_a_rerun_adds_nothing(workdir):
    first = run("--db", "d.duckdb", "demo", "--customers", "400", "--format", "json", cwd=workdir)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    info, tables = report["info"], report["tables"]
    assert info["events"] > 400 * 3 and info["customers"] >= 400
    channel_rows = next(rows for title, rows in tables.items() if title.startswith("Touchpoints per channel"))
    assert sum(r["touchpoints"] for r in channel_rows) == info["events"]
    assert sum(r["first_touch_customers"] for r in channel_rows) == info["customers"]
    assert {"paid_search", "organic_search", "email", "direct"} <= {r["channel"] for r in channel_rows}
    loads = tables["Loads"]
    crm = next(r for r in loads if r["file"] == "crm_export.csv")
    assert crm["rejected"] >= 1 and crm["rows"] == crm["new"] + crm["rejected"]
    assert report["identity"]["known_customers"] > 0
    assert (workdir / "d-demo-files" / "crm_export.csv").exists()

    again = run("--db", "d.duckdb", "demo", "--customers", "400", "--format", "json", cwd=workdir)
    second = json.loads(again.stdout)
    assert second["info"]["events"] == info["events"] and second["info"]["rejects"] == info["rejects"]
    assert all(r["new"] == 0 for r in second["tables"]["Loads"])
