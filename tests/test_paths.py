"""Paths, transitions, the step matrix and the stage flow from the Python API, on a small demo
store: the definitions hold on real-looking data, the DuckDB fast path agrees with the portable
expressions, and bad arguments get clear errors. The hand-worked cases run in
tests/conformance/test_paths_conformance.py on DuckDB and Spark."""

from __future__ import annotations

import pandas as pd
import pytest

import journeymap
from journeymap.analytics.paths import DROP_OFF, PATH_END, transition_matrix
from journeymap.analytics.steps import event_log
from journeymap.errors import ConfigError

from . import path_cases as cases


@pytest.fixture(scope="module")
def jm(tmp_path_factory):
    from journeymap.demo import DemoSpec, write_demo_files

    folder = tmp_path_factory.mktemp("paths-demo")
    write_demo_files(folder, DemoSpec(customers=300, seed=11))
    store = journeymap.open(":memory:")
    store.load(folder / "events")
    yield store
    store.close()


@pytest.mark.parametrize("params", [dict(), dict(gap=None, collapse_repeats=False, path_ends=True),
                                    dict(node="event_path", clean=[("^/shop/.*", "/shop/*")], path_ends=True)])
def test_the_streaming_fast_path_agrees_with_the_portable_window(jm, params):
    assert jm._events_presorted()
    log = event_log(jm.events(), ("url",))
    params = cases.with_steps(params) if "gap" not in params else params
    fast = transition_matrix(log, presorted=True, **params).to_pandas()
    portable = transition_matrix(log, **params).to_pandas()
    key = ["source", "target"]
    pd.testing.assert_frame_equal(fast.sort_values(key).reset_index(drop=True),
                                  portable.sort_values(key).reset_index(drop=True))
    assert len(fast) > 10


def test_transitions_and_step_matrix_add_up(jm):
    matrix = jm.transitions(path_ends=True).to_pandas()
    assert (matrix.groupby("source").probability.sum() - 1).abs().max() < 1e-9
    assert (matrix.customers <= matrix.transitions).all()
    assert not (matrix.source == matrix.target).any()  # repeats collapsed
    assert (jm.transitions(collapse_repeats=False).to_pandas().pipe(lambda m: (m.source == m.target).any()))
    steps = jm.step_matrix(max_steps=6).to_pandas()
    assert (steps.groupby("step").share.sum() - 1).abs().max() < 1e-9
    ended = steps[steps.node == PATH_END].set_index("step").share
    assert ended.is_monotonic_increasing  # once over, a path stays over


def test_transitions_and_step_matrix_break_down_by_customer_keys(jm):
    """Each group is a matrix of its own (probabilities and shares add up per group), and the
    groups add up to the whole."""
    whole = jm.transitions().to_pandas().set_index(["source", "target"]).transitions
    by = jm.transitions(by="device").to_pandas()
    assert (by.groupby(["device", "source"], dropna=False).probability.sum() - 1).abs().max() < 1e-9
    summed = by.groupby(["source", "target"]).transitions.sum()
    pd.testing.assert_series_equal(summed.sort_index(), whole.sort_index(), check_names=False)
    steps = jm.step_matrix(max_steps=4, by="channel").to_pandas()
    assert (steps.groupby(["first_channel", "step"]).share.sum() - 1).abs().max() < 1e-9
    overall = jm.step_matrix(max_steps=4).to_pandas().set_index(["step", "node"]).paths
    pd.testing.assert_series_equal(steps.groupby(["step", "node"]).paths.sum().sort_index(), overall.sort_index(),
                                   check_names=False)


def test_paths_edges_drop_offs_breakdown_and_limits(jm):
    edges = jm.paths(start="page_view", steps=4).to_pandas()
    assert set(edges.step) == {1, 2, 3} and (edges[edges.step == 1].source == "page_view").all()
    # every path that reaches step k leaves it once, to a node or to $drop_off (unless cut at the limit)
    into = edges[edges.step == 1].transitions.sum() - edges[(edges.step == 1) & (edges.target == DROP_OFF)].transitions.sum()
    assert edges[edges.step == 2].transitions.sum() == into
    assert edges[edges.target == DROP_OFF].avg_seconds.isna().all()
    by = jm.paths(start="page_view", steps=3, by="channel").to_pandas()
    assert "first_channel" in by.columns  # segment keys name their columns (channel: first touch)
    assert by[by.step == 1].transitions.sum() == edges[edges.step == 1].transitions.sum()
    few = jm.paths(start="page_view", steps=3, min_customers=5).to_pandas()
    assert (few.customers >= 5).all() and len(few) < len(jm.paths(start="page_view", steps=3).to_pandas())
    ordered = jm.paths(steps=3, count="transitions").to_pandas()
    assert list(ordered[ordered.step == 1].transitions) == sorted(ordered[ordered.step == 1].transitions, reverse=True)
    to = jm.paths(end="order_completed", steps=3, node="event_path").to_pandas()
    assert DROP_OFF not in set(to.target) and "order_completed" in set(to.target)
    whole = jm.paths(steps=3, gap="none").to_pandas()
    assert whole[whole.step == 1].transitions.sum() <= jm.info()["customers"]  # one path per customer


def test_segments_narrow_every_analysis(jm):
    everyone = jm.transitions().to_pandas().transitions.sum()
    mobile = jm.transitions(segment="device=mobile").to_pandas().transitions.sum()
    assert 0 < mobile < everyone
    assert jm.paths(segment="device=mobile", steps=3).to_pandas().customers.max() <= \
        jm.paths(steps=3).to_pandas().customers.max()
    assert 0 < jm.step_matrix(segment="device=mobile").to_pandas().paths.max()


def test_stage_flow_from_the_stage_entries(jm):
    flow = jm.stage_flow().to_pandas()
    first = flow[flow.step == 1]
    assert set(first.source) == {"awareness"}
    assert first.customers.sum() == jm.stages().filter(lambda t: t.stage == "awareness").count().execute()
    assert "$current" in set(flow.target)


def test_figures(jm):
    assert type(jm.paths(start="page_view", steps=3).figure()).__name__ == "Figure"
    assert jm.paths(steps=3).figure().data[0].type == "sankey"
    assert jm.transitions().figure().data[0].type == "heatmap"
    assert jm.step_matrix(max_steps=4).figure().data[0].type == "heatmap"
    assert jm.stage_flow().figure().data[0].type == "sankey"


@pytest.mark.parametrize("call, message", [
    (lambda jm: jm.paths(start="page_veiw"), "unknown event 'page_veiw'"),
    (lambda jm: jm.paths(end="stage:decison"), "unknown stage 'decison'"),
    (lambda jm: jm.paths(start="page_view,add_to_cart"), "start is one step, not 2"),
    (lambda jm: jm.paths(steps=0), "steps must be a whole number of at least 2, not 0"),
    (lambda jm: jm.paths(steps=1), "at least 2"),
    (lambda jm: jm.paths(clean=["/product/(=/p"]), "bad regex '/product/('"),
    (lambda jm: jm.paths(clean=[("^/p/(.*)", "/p/\\1")]), "the alias refers to a group"),
    (lambda jm: jm.paths(node="url"), "node 'url' is not one of event, path, event_path"),
    (lambda jm: jm.paths(count="people"), "count 'people' is not one of customers, transitions"),
    (lambda jm: jm.paths(min_customers=0), "min_customers"),
    (lambda jm: jm.paths(segment="no_such_segment"), "segment"),
    (lambda jm: jm.paths(gap="-5m"), "duration"),
    (lambda jm: jm.step_matrix(max_steps=0), "max_steps must be a whole number of at least 1"),
    (lambda jm: jm.transitions(node="screen"), "node 'screen'"),
])
def test_bad_arguments_are_config_errors(jm, call, message):
    with pytest.raises(ConfigError, match=None) as error:
        call(jm)
    assert message in str(error.value)
