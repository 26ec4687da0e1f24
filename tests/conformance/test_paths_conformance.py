"""Paths, transitions, the step matrix and the stage flow: the hand-worked cases of
tests/path_cases.py, identical on DuckDB and Spark."""

from __future__ import annotations

import pytest

from journeymap.analytics.paths import path_edges, stage_flow, step_matrix, transition_matrix

from .. import path_cases as cases


@pytest.fixture
def log(backend):
    return backend.table("path_log", cases.log_table())


@pytest.mark.parametrize("name", list(cases.PATH_CASES))
def test_path_edges(backend, log, name):
    params, expected = cases.PATH_CASES[name]
    result = path_edges(log, **cases.with_steps(params))
    assert cases.approx(cases.rows_of(result, cases.EDGE_COLUMNS)) == cases.approx(expected)


def test_long_path_between_start_and_end_hides_the_middle(backend):
    params, expected = cases.LONG_CASE
    log = backend.table("long_log", cases.log_table(cases.LONG_EVENTS))
    assert cases.rows_of(path_edges(log, **cases.with_steps(params)), cases.EDGE_COLUMNS) == cases.approx(expected)


@pytest.mark.parametrize("name", list(cases.TRANSITION_CASES))
def test_transition_matrix(backend, log, name):
    params, expected = cases.TRANSITION_CASES[name]
    result = transition_matrix(log, **cases.with_steps(params))
    assert cases.approx(cases.rows_of(result, cases.TRANSITION_COLUMNS)) == cases.approx(expected)


@pytest.mark.parametrize("name", list(cases.STEP_MATRIX_CASES))
def test_step_matrix(backend, log, name):
    params, expected = cases.STEP_MATRIX_CASES[name]
    result = step_matrix(log, **cases.with_steps(params))
    assert cases.approx(cases.rows_of(result, cases.STEP_MATRIX_COLUMNS)) == cases.approx(expected)


@pytest.mark.parametrize("name", list(cases.STAGE_FLOW_CASES))
def test_stage_flow(backend, name):
    params, expected = cases.STAGE_FLOW_CASES[name]
    entries = backend.table("entries", cases.entries_table())
    assert cases.approx(cases.rows_of(stage_flow(entries, **params), cases.EDGE_COLUMNS)) == cases.approx(expected)


def test_breakdowns_on_every_engine(backend):
    """a (group x): home -> shop -> buy; b (no group, NULL): home -> buy. Each group is its own
    matrix; the NULL group is kept as a group."""
    import datetime as dt

    import pyarrow as pa

    from journeymap.analytics.paths import step_matrix, transition_matrix

    at = [dt.datetime(2025, 1, 1, 9, m, tzinfo=dt.timezone.utc) for m in range(3)]
    log = backend.table("bd_log", pa.table({
        "customer_id": ["a", "a", "a", "b", "b"], "timestamp": pa.array([*at, at[0], at[1]], pa.timestamp("us", tz="UTC")),
        "event_id": ["1", "2", "3", "4", "5"], "event": ["home", "shop", "buy", "home", "buy"], "type": ["track"] * 5}))
    groups = backend.table("bd_groups", pa.table({"customer_id": ["a", "b"], "group": pa.array(["x", None], pa.string())}))
    moves = transition_matrix(log, breakdown=groups).to_pyarrow().to_pylist()
    assert sorted((r["group"] or "", r["source"], r["target"], r["transitions"], r["probability"]) for r in moves) == [
        ("", "home", "buy", 1, 1.0), ("x", "home", "shop", 1, 1.0), ("x", "shop", "buy", 1, 1.0)]
    steps = step_matrix(log, max_steps=3, breakdown=groups).to_pyarrow().to_pylist()
    assert sorted((r["group"] or "", r["step"], r["node"], r["paths"], r["share"]) for r in steps) == [
        ("", 1, "home", 1, 1.0), ("", 2, "buy", 1, 1.0), ("", 3, "$path_end", 1, 1.0),
        ("x", 1, "home", 1, 1.0), ("x", 2, "shop", 1, 1.0), ("x", 3, "buy", 1, 1.0)]
