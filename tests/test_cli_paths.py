"""``journeymap paths``, ``transitions``, ``step-matrix`` and ``stage-flow`` run as a user runs them."""

from __future__ import annotations

import json

import pytest

from .test_cli import run


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("paths-cli")
    made = run("--db", "d.duckdb", "demo", "--customers", "300", "--format", "json", cwd=folder)
    assert made.returncode == 0, made.stderr
    return folder


def jm(folder, *args):
    return run("--db", "d.duckdb", *args, cwd=folder)


def test_paths_from_a_page_with_cleaning(demo_dir):
    result = jm(demo_dir, "paths", "--from", "page_view", "--steps", "3", "--node", "path",
                "--clean", "^/shop/.*=/shop/:category", "--clean", "^/blog/.*=/blog", "-f", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows and {r["step"] for r in rows} <= {1, 2}
    names = {r["source"] for r in rows} | {r["target"] for r in rows}
    assert "/blog" in names and not any(n.startswith("/blog/") or n.startswith("/shop/") and n != "/shop/:category"
                                        for n in names)
    assert "$drop_off" in names
    assert all(r["source"] != r["target"] for r in rows)  # repeats collapsed after cleaning


def test_paths_to_an_end_between_and_counts(demo_dir):
    to = jm(demo_dir, "paths", "--to", "order_completed", "--steps", "4", "--count", "transitions", "-f", "csv")
    assert to.returncode == 0, to.stderr
    lines = to.stdout.splitlines()
    assert lines[0] == "step,source,target,customers,transitions,avg_seconds,median_seconds"
    assert any(",order_completed," in line for line in lines[1:]) and "$drop_off" not in to.stdout
    between = jm(demo_dir, "paths", "--from", "product_viewed", "--to", "order_completed", "--no-collapse", "-f", "json")
    assert between.returncode == 0, between.stderr
    assert json.loads(between.stdout)[0]["source"] == "product_viewed"


def test_transitions_step_matrix_and_stage_flow(demo_dir):
    matrix = jm(demo_dir, "transitions", "--path-ends", "--segment", "device=mobile", "-f", "json")
    assert matrix.returncode == 0, matrix.stderr
    rows = json.loads(matrix.stdout)
    assert {"source", "target", "transitions", "customers", "probability", "median_seconds"} == set(rows[0])
    assert any(r["source"] == "$path_start" for r in rows)
    steps = jm(demo_dir, "step-matrix", "--max-steps", "3", "--wide", "-f", "json")
    assert steps.returncode == 0, steps.stderr
    wide = json.loads(steps.stdout)
    assert set(wide[0]) == {"node", "1", "2", "3"} and wide[-1]["node"] == "$path_end"
    assert abs(sum(r["1"] for r in wide) - 1) < 0.01
    flow = jm(demo_dir, "stage-flow", "-f", "json")
    assert flow.returncode == 0, flow.stderr
    assert json.loads(flow.stdout)[0]["source"] == "awareness"
    table = jm(demo_dir, "paths", "--steps", "2")
    assert table.returncode == 0 and "paths (2 steps, by customers)" in table.stdout


@pytest.mark.parametrize("args, message", [
    (("paths", "--from", "page_veiw"), "Error: setting start: unknown event 'page_veiw'"),
    (("paths", "--steps", "0"), "Error: setting steps: steps must be a whole number of at least 2"),
    (("paths", "--clean", "/product/(=/p"), "Error: setting clean: cleaning rule '/product/(=/p': bad regex"),
    (("paths", "--segment", "nope"), "Error: setting segment: unknown segment 'nope'"),
    (("step-matrix", "--from", "stage:nope"), "unknown stage 'nope'"),
])
def test_bad_arguments_exit_1_with_a_clear_error(demo_dir, args, message):
    result = jm(demo_dir, *args)
    assert result.returncode == 1
    assert message in result.stderr, result.stderr
