"""The attribution models on hand-computed cases, Markov against a direct linear-algebra solution,
Shapley against brute-force enumeration, credit conservation, path transforms and the aggregated-path
reader's errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from journeymap.analytics.attribution import (MODELS, PathSet, apply_transforms, attribute, fit_chain, last_steps,
                                              transition_rows)
from journeymap.analytics.attribution.aggregated import read_paths
from journeymap.errors import ConfigError, InputError

from . import attribution_cases as cases


def _paths(paths, conv, value, nulls, ages=None):
    days = None if ages is None else [[a * cases.DAY for a in row] for row in ages]
    return PathSet.from_lists(paths, conversions=conv, value=value, nulls=nulls, ages=days)


@pytest.mark.parametrize("name", list(cases.CASES))
def test_hand_computed(name):
    paths, conv, value, nulls, ages, model, settings, transform, want_conv, want_value = cases.CASES[name]
    result = attribute(apply_transforms(_paths(paths, conv, value, nulls, ages), [transform]), model, **settings)
    got_conv = dict(zip(result.channels, result.conversions.tolist()))
    got_value = dict(zip(result.channels, result.value.tolist()))
    assert got_conv == pytest.approx(want_conv, rel=1e-12, abs=1e-12)
    assert got_value == pytest.approx(want_value, rel=1e-12, abs=1e-12)


def _random_paths(seed: int, channels: str = "abcde", n: int = 200, max_len: int = 6) -> PathSet:
    rng = np.random.default_rng(seed)
    paths = [list(rng.choice(list(channels), size=rng.integers(1, max_len + 1))) for _ in range(n)]
    conv = rng.integers(0, 4, n)
    return PathSet.from_lists(paths, conversions=conv, value=conv * rng.uniform(5, 50, n), nulls=rng.integers(0, 6, n),
                              ages=[list(rng.uniform(0, 30 * cases.DAY, len(p))) for p in paths])


# --- Markov against a direct computation ------------------------------------------------------------
def _dense_markov(paths: PathSet, order: int) -> tuple[dict, dict]:
    """Removal effects and credits by building the chain with Python dicts and np.linalg.solve."""
    counts: dict = {}
    def add(a, b, w):
        counts.setdefault(a, {}).setdefault(b, 0.0)
        counts[a][b] += w
    for path, conv, nulls in zip(paths.paths(), paths.conversions, paths.nulls):
        states = [tuple(path[max(0, i - order + 1):i + 1]) for i in range(len(path))]
        journeys = conv + nulls
        add("start", states[0], journeys)
        for s, t in zip(states, states[1:]):
            add(s, t, journeys)
        add(states[-1], "conv", conv)
        add(states[-1], "null", nulls)
    transient = ["start"] + sorted({s for s in counts if s != "start"} | {t for row in counts.values() for t in row
                                                                           if t not in ("conv", "null")})
    index = {s: i for i, s in enumerate(transient)}

    def probability(removed: str | None) -> float:
        keep = [s for s in transient if s == "start" or removed is None or removed not in s]
        at = {s: i for i, s in enumerate(keep)}
        q, r = np.zeros((len(keep), len(keep))), np.zeros(len(keep))
        for s in keep:
            row = counts.get(s, {})
            total = sum(row.values())
            if total == 0:  # reached only by paths of zero journeys
                continue
            for t, w in row.items():
                if t == "conv":
                    r[at[s]] += w / total
                elif t != "null" and t in at:
                    q[at[s], at[t]] += w / total
        return float(np.linalg.solve(np.eye(len(keep)) - q, r)[0])

    assert index["start"] == 0
    base = probability(None)
    effects = {c: 1 - probability(c) / base for c in paths.channels}
    total = sum(effects.values())
    credits = {c: e / total * paths.total_conversions() for c, e in effects.items()}
    return effects, credits


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("seed", [1, 2])
def test_markov_matches_a_direct_linear_algebra_solution(order, seed):
    paths = _random_paths(seed, n=150 if order < 3 else 60)
    effects, credits = _dense_markov(paths, order)
    result = attribute(paths, "markov", order=order)
    assert dict(zip(result.channels, result.removal_effect.tolist())) == pytest.approx(effects, rel=1e-10)
    assert dict(zip(result.channels, result.conversions.tolist())) == pytest.approx(credits, rel=1e-10)


def test_large_chains_use_the_iterative_solver_and_agree_with_lu(monkeypatch):
    from journeymap.analytics.attribution import markov

    paths = _random_paths(7, channels="abcdefgh", n=3000, max_len=8)
    exact = attribute(paths, "markov", order=3)
    assert exact.details["states"] > 200
    monkeypatch.setattr(markov, "DIRECT_STATES", 10)  # force BiCGSTAB
    iterative = attribute(paths, "markov", order=3)
    assert iterative.removal_effect == pytest.approx(exact.removal_effect, rel=1e-10)
    assert iterative.conversions == pytest.approx(exact.conversions, rel=1e-10)


def test_transition_rows_are_named_and_sum_to_one():
    paths = _random_paths(3)
    for order in (1, 2):
        rows = transition_rows(fit_chain(paths, order))
        out: dict = {}
        for row in rows:
            out[row["from_state"]] = out.get(row["from_state"], 0) + row["probability"]
        assert all(abs(v - 1) < 1e-12 for v in out.values())
        assert rows[0]["from_state"] == "(start)"
        assert {"(conversion)", "(null)"} <= {r["to_state"] for r in rows}
        assert any(r["from_state"].count(" > ") == order - 1 and order > 1 for r in rows) or order == 1


# --- Shapley against brute force -------------------------------------------------------------------
def _brute_force_shapley(paths: PathSet, ordered: bool) -> dict:
    """Each converting coalition's conversions split by Shapley values computed from all orderings of
    its players, with v(T) = sum of observed rates of the coalitions inside T."""
    journeys: dict = {}
    for path, conv, nulls in zip(paths.paths(), paths.conversions, paths.nulls):
        firsts = tuple(dict.fromkeys(path))
        key = firsts if ordered else frozenset(firsts)
        entry = journeys.setdefault(key, [0.0, 0.0])
        entry[0] += conv
        entry[1] += conv + nulls
    rate = {k: c / j if j else 0.0 for k, (c, j) in journeys.items()}

    def inside(sub, whole) -> bool:
        if not ordered:
            return sub <= whole
        it = iter(whole)
        return all(x in it for x in sub)

    def worth(coalition) -> float:
        return sum(r for k, r in rate.items() if inside(k, coalition))

    credits = dict.fromkeys(paths.channels, 0.0)
    for key, (conv, _) in journeys.items():
        if conv == 0:
            continue
        players = list(key)
        phi = dict.fromkeys(players, 0.0)
        for order in itertools.permutations(players):
            before: list = []
            for p in order:
                with_p = before + [p]
                # an ordered coalition keeps the order of the converting sequence
                make = (lambda members: tuple(x for x in key if x in members)) if ordered else frozenset
                phi[p] += worth(make(with_p)) - worth(make(before))
                before = with_p
        total = sum(phi.values())
        for p in players:
            credits[p] += conv * phi[p] / total
    return credits


@pytest.mark.parametrize("model,ordered", [("shapley", False), ("ordered_shapley", True)])
@pytest.mark.parametrize("seed", [4, 5, 6])
def test_shapley_matches_brute_force_enumeration(model, ordered, seed):
    paths = _random_paths(seed, channels="abcdef", n=120, max_len=5)
    result = attribute(paths, model)
    assert dict(zip(result.channels, result.conversions.tolist())) == pytest.approx(
        _brute_force_shapley(paths, ordered), rel=1e-10, abs=1e-12)


def test_a_coalition_never_observed_follows_the_documented_rule():
    # {a, c} converts but {c} alone is never seen: v({a, c}) = r(a) + r(a, c), nothing for {c}
    paths = PathSet.from_lists([["a"], ["a", "c"]], conversions=[1, 3], nulls=[1, 1])
    result = attribute(paths, "shapley")
    # r(a) = 1/2, r(a,c) = 3/4: phi_a = 1/2 + 3/8, phi_c = 3/8 -> 3 x 7/10 and 3 x 3/10
    assert dict(zip(result.channels, result.conversions.tolist())) == pytest.approx({"a": 1 + 2.1, "c": 0.9})


# --- conservation, never-converting channels --------------------------------------------------------
TRANSFORMS = ["exposure", "unique", "first", "frequency", "remove_if_not_all(a)", "remove_if_last_and_not_all(a)"]


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_every_model_conserves_conversions_and_value(transform):
    paths = apply_transforms(_random_paths(9, n=300), [transform])
    for model in MODELS:
        result = attribute(paths, model.name)
        assert result.conversions.sum() == pytest.approx(paths.total_conversions(), rel=1e-9), model.name
        assert result.value.sum() == pytest.approx(paths.total_value(), rel=1e-9), model.name
        assert (result.conversions >= 0).all() and (result.value >= 0).all(), model.name
        if transform == "frequency":  # credits roll up from a(2) to a
            assert set(result.channels) <= set("abcde"), model.name


def test_a_channel_that_never_converts_gets_nothing_or_nearly():
    rng = np.random.default_rng(11)
    paths, conv, nulls = [], [], []
    for _ in range(400):
        path = list(rng.choice(list("abcd"), size=rng.integers(1, 4)))
        converted = rng.random() < 0.4
        if not converted and rng.random() < 0.5:
            path = ["x", *path]  # x brings visitors who then wander and never buy
        paths.append(path)
        conv.append(int(converted))
        nulls.append(int(not converted))
    data = PathSet.from_lists(paths, conversions=conv, nulls=nulls)
    for model in ("first_touch", "last_touch", "linear", "position_based", "shapley", "ordered_shapley", "shao_li"):
        result = attribute(data, model)
        assert result.conversions[result.channels.index("x")] == 0, model
    # Markov: x's visitors move on to a-d, which convert for others. A chain forgets x once its states
    # no longer hold it, so x keeps a share that shrinks with the order, and is 0 at order 4, whose states
    # remember the whole of these paths (at most 4 touches)
    shares = []
    for order in (1, 2, 3, 4):
        result = attribute(data, "markov", order=order)
        shares.append(result.conversions[result.channels.index("x")] / result.conversions.sum())
    assert shares[0] > shares[1] > shares[2] > shares[3] and shares[0] < 0.25
    assert shares[3] == pytest.approx(0, abs=1e-12)


# --- transforms -------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", list(cases.TRANSFORM_CASES))
def test_fractribution_transforms(spec):
    paths = PathSet.from_lists([cases.FRACTRIBUTION], conversions=[1], ages=[list(range(8))])
    out = apply_transforms(paths, spec)
    assert list(out.paths()[0]) == cases.TRANSFORM_CASES[spec]
    assert len(out.ages) == len(out.codes)


def test_transform_edge_cases():
    only_direct = PathSet.from_lists([["direct", "direct"], ["a"]], conversions=[1, 1])
    assert apply_transforms(only_direct, "remove_if_not_all(direct)").paths() == [("direct", "direct"), ("a",)]
    assert apply_transforms(only_direct, "remove_if_last_and_not_all(direct)").paths() == [("direct", "direct"), ("a",)]
    assert apply_transforms(only_direct, "remove_if_not_all(zzz)").paths() == only_direct.paths()
    assert last_steps(PathSet.from_lists([list("abcde"), ["a"]], conversions=[1, 1]), 2).paths() == [("d", "e"), ("a",)]
    with pytest.raises(ConfigError, match="did you mean 'exposure'"):
        apply_transforms(only_direct, "exposur")
    with pytest.raises(ConfigError, match="names no channel"):
        apply_transforms(only_direct, "remove_if_not_all()")
    with pytest.raises(ConfigError, match="at least 1"):
        last_steps(only_direct, 0)


def test_model_errors():
    paths = PathSet.from_lists([["a"]], conversions=[1])
    with pytest.raises(ConfigError, match="did you mean 'markov'"):
        attribute(paths, "markvo")
    for order in (0, 5):
        with pytest.raises(ConfigError, match="order must be 1 to 4"):
            attribute(paths, "markov", order=order)
    with pytest.raises(ConfigError, match="needs the time of every touch"):
        attribute(paths, "time_decay")
    with pytest.raises(ConfigError, match="add up to 1"):
        attribute(paths, "position_based", positions=(0.5, 0.5, 0.5))
    assert attribute(paths, "last_click").conversions.tolist() == [1.0]  # an alias


# --- the aggregated-path reader -----------------------------------------------------------------------
GOOD = {"path": ["a > b", "b", "c>a>c"], "conv": [2, 1, 0], "value": [20.0, 5.0, 0.0], "null": [1, 0, 4]}


@pytest.mark.parametrize("kind", ["pandas", "arrow", "csv"])
def test_reader_inputs(kind, tmp_path):
    data = pd.DataFrame(GOOD) if kind == "pandas" else pa.table(GOOD)
    if kind == "csv":
        data = tmp_path / "paths.csv"
        pd.DataFrame(GOOD).to_csv(data, index=False)
    paths, rejects = read_paths(data, path="path", conversions="conv", value="value", nulls="null")
    assert rejects == []
    assert paths.paths() == [("a", "b"), ("b",), ("c", "a", "c")]
    assert paths.conversions.tolist() == [2, 1, 0] and paths.nulls.tolist() == [1, 0, 4]
    assert paths.value.tolist() == [20, 5, 0]


BAD_ROWS = [
    ({"path": ""}, "path", "the path is empty"),
    ({"path": None}, "path", "the path is missing"),
    ({"path": "a >> b"}, "path", "touch 2 of the path is empty"),
    ({"path": "a > b >"}, "path", "touch 3 of the path is empty"),
    ({"conv": math.nan}, "conv", "conversions is missing or not a number"),
    ({"conv": 2.5}, "conv", "conversions must be a whole number"),
    ({"conv": -1}, "conv", "conversions is negative"),
    ({"null": -2}, "null", "nulls is negative"),
    ({"value": math.nan}, "value", "value is missing or not a number"),
    ({"value": -3.0}, "value", "value is negative"),
]


@pytest.mark.parametrize("change,column,reason", BAD_ROWS)
def test_reader_bad_rows_raise_or_are_rejected(change, column, reason):
    rows = pd.DataFrame(GOOD)
    bad = {"path": "a > c", "conv": 1, "value": 1.0, "null": 0, **change}
    rows = pd.concat([rows, pd.DataFrame([bad])], ignore_index=True)
    with pytest.raises(InputError) as error:
        read_paths(rows, path="path", conversions="conv", value="value", nulls="null")
    assert error.value.row == 4 and error.value.column == column and reason in str(error.value)
    paths, rejects = read_paths(rows, path="path", conversions="conv", value="value", nulls="null", on_error="reject")
    assert [(r["row"], r["column"]) for r in rejects] == [(4, column)] and reason in rejects[0]["reason"]
    assert paths.paths() == [("a", "b"), ("b",), ("c", "a", "c")]  # the good rows, untouched


def test_reader_garbage_counts_times_and_missing_columns(tmp_path):
    text = tmp_path / "paths.csv"
    text.write_text("path,conv,times\na > b,x,5>0\nb,1,3\na,1,1>2\n")
    paths, rejects = read_paths(text, path="path", conversions="conv", times="times", on_error="reject")
    assert [(r["row"], r["column"]) for r in rejects] == [(1, "conv"), (3, "times")]
    assert paths.paths() == [("b",)] and paths.ages.tolist() == [3.0]
    with pytest.raises(InputError, match="did you mean 'conv'"):
        read_paths(text, path="path", conversions="convs")
    with pytest.raises(InputError) as error:
        read_paths(text, path="path", conversions="conv")
    assert error.value.file == str(text) and error.value.row == 1


# =====================================================================================================
# Scenario cases (attribution_cases.SCENARIO_CASES): every model on one-touch, two-touch, long,
# repeated (with and without exposure), direct, only-direct, all-null and valued path sets.
# =====================================================================================================
def _scenario_paths(scenario: cases.Scenario) -> PathSet:
    return PathSet.from_lists(scenario.paths, conversions=scenario.conversions, value=scenario.value,
                              nulls=scenario.nulls, ages=scenario.ages, direct=scenario.direct)


def _credits_match(channels, got, want: dict) -> None:
    assert set(want) <= set(channels), f"channels {channels} lack {set(want) - set(channels)}"
    got = dict(zip(channels, np.asarray(got, dtype=float).tolist()))
    assert got == pytest.approx({c: want.get(c, 0.0) for c in got}, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("case", cases.SCENARIO_CASES, ids=[c.id for c in cases.SCENARIO_CASES])
def test_scenario_case(case):
    paths = apply_transforms(_scenario_paths(case.scenario), list(case.transforms))
    result = attribute(paths, case.model, **case.settings)
    _credits_match(result.channels, result.conversions, case.conversions)
    _credits_match(result.channels, result.value, case.value)
    if case.removal_effect is not None:
        _credits_match(result.channels, result.removal_effect, case.removal_effect)


def test_scenario_cases_cover_every_model_and_both_markov_orders():
    covered = {c.model for c in cases.SCENARIO_CASES}
    assert covered == {m.name for m in MODELS}
    assert {c.settings.get("order") for c in cases.SCENARIO_CASES if c.model == "markov"} == {1, 2}


# --- Markov: value chain, conversion probability and BiCGSTAB against a dense absorbing chain ------------
def _seeded_paths(seed: int, channels=("direct", "email", "search", "social", "video"), n: int = 120,
                  max_len: int = 5) -> PathSet:
    """Random paths with repeats, every path at least one journey, value only on conversions."""
    rng = np.random.default_rng(seed)
    paths = [[channels[i] for i in rng.integers(0, len(channels), rng.integers(1, max_len + 1))] for _ in range(n)]
    conv = rng.integers(0, 3, n)
    nulls = np.where(conv == 0, rng.integers(1, 4, n), rng.integers(0, 4, n))
    value = np.round(conv * rng.uniform(1, 100, n), 2)
    ages = [sorted(rng.uniform(0, 20 * cases.DAY, len(p)).tolist(), reverse=True) for p in paths]
    return PathSet.from_lists(paths, conversions=conv, value=value, nulls=nulls, ages=ages)


def _absorbing_chain(paths: PathSet, order: int):
    """States (start, the observed k-touch states, conversion, null) and the dense transition
    probability matrix, plus each transient state's mean conversion value per journey leaving it."""
    rows = list(zip(paths.paths(), paths.conversions.tolist(), paths.nulls.tolist(), paths.value.tolist()))
    touched = sorted({tuple(p[max(0, i - order + 1):i + 1]) for p, *_ in rows for i in range(len(p))})
    states = ["start", *touched, "conversion", "null"]
    at = {s: i for i, s in enumerate(states)}
    counts, earned = np.zeros((len(states), len(states))), np.zeros(len(states))
    for path, conv, nulls, value in rows:
        walk = ["start"] + [tuple(path[max(0, i - order + 1):i + 1]) for i in range(len(path))]
        for a, b in zip(walk, walk[1:]):
            counts[at[a], at[b]] += conv + nulls
        counts[at[walk[-1]], at["conversion"]] += conv
        counts[at[walk[-1]], at["null"]] += nulls
        earned[at[walk[-1]]] += value
    totals = counts.sum(axis=1)
    transient = len(states) - 2
    prob = counts[:transient] / totals[:transient, None]
    return states, prob, earned[:transient] / totals[:transient]


def _absorb(states, prob, earned, removed: str | None = None) -> tuple[float, float]:
    """(P(conversion), expected value) from start; a removed channel's states send every journey
    arriving in them to null (columns moved into the null column)."""
    prob = prob.copy()
    transient = len(states) - 2
    if removed is not None:
        gone = [i for i, s in enumerate(states[:transient]) if s != "start" and removed in s]
        prob[:, -1] += prob[:, gone].sum(axis=1)
        prob[:, gone] = 0.0
    system = np.eye(transient) - prob[:, :transient]
    reach = np.linalg.solve(system, prob[:, transient])  # conversion column
    expected = np.linalg.solve(system, earned)  # removed states are unreachable: their value never counts
    return float(reach[0]), float(expected[0])


def _dense_markov_credits(paths: PathSet, order: int) -> dict:
    states, prob, earned = _absorbing_chain(paths, order)
    p, v = _absorb(states, prob, earned)
    effect = {c: 1 - _absorb(states, prob, earned, c)[0] / p for c in paths.channels}
    value_effect = {c: 1 - _absorb(states, prob, earned, c)[1] / v for c in paths.channels}
    return {"probability": p, "expected": v, "states": len(states) - 2, "effect": effect,
            "conversions": {c: e / sum(effect.values()) * paths.total_conversions() for c, e in effect.items()},
            "value": {c: e / sum(value_effect.values()) * paths.total_value() for c, e in value_effect.items()}}


@pytest.mark.parametrize("iterative", [False, True], ids=["lu", "bicgstab"])
@pytest.mark.parametrize("order,seed", [(1, 21), (1, 22), (1, 23), (2, 24), (2, 25)])
def test_markov_value_and_probability_match_a_dense_absorbing_chain(order, seed, iterative, monkeypatch):
    from journeymap.analytics.attribution import markov as markov_module

    if iterative:  # every chain through BiCGSTAB (the LU fallback would hide a bad iterative answer)
        monkeypatch.setattr(markov_module, "DIRECT_STATES", 0)
        monkeypatch.setattr(markov_module, "splu", None)
    paths = _seeded_paths(seed, n=120 if order == 1 else 50)
    want = _dense_markov_credits(paths, order)
    got = attribute(paths, "markov", order=order)
    assert got.details["conversion_probability"] == pytest.approx(want["probability"], rel=1e-10)
    # a chain fitted on the paths keeps their flows: P = conversions / journeys and the expected
    # value is the value per journey
    assert want["probability"] == pytest.approx(paths.total_conversions() / paths.journeys.sum(), rel=1e-10)
    assert want["expected"] == pytest.approx(paths.total_value() / paths.journeys.sum(), rel=1e-10)
    assert got.details["expected_value"] == pytest.approx(want["expected"], rel=1e-10)
    assert got.details["states"] == want["states"]
    _close = dict(rel=1e-10, abs=1e-12)
    assert dict(zip(got.channels, got.removal_effect.tolist())) == pytest.approx(want["effect"], **_close)
    assert dict(zip(got.channels, got.conversions.tolist())) == pytest.approx(want["conversions"], **_close)
    assert dict(zip(got.channels, got.value.tolist())) == pytest.approx(want["value"], **_close)


def test_markov_order_2_states_start_with_the_single_first_channel():
    # a > b > c: (start) -> a -> a > b -> b > c; the rows name them that way
    chain = fit_chain(PathSet.from_lists([["a", "b", "c"], ["b"]], conversions=[1, 0], nulls=[0, 1]), 2)
    rows = {(r["from_state"], r["to_state"]): r["probability"] for r in transition_rows(chain)}
    assert rows == {("(start)", "a"): 1 / 2, ("(start)", "b"): 1 / 2, ("a", "a > b"): 1, ("a > b", "b > c"): 1,
                    ("b > c", "(conversion)"): 1, ("b", "(null)"): 1}


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_transition_rows_sum_to_one_out_of_every_state(order):
    rows = transition_rows(fit_chain(_seeded_paths(31), order))
    out: dict = {}
    for row in rows:
        out[row["from_state"]] = out.get(row["from_state"], 0.0) + row["probability"]
        assert 0 < row["probability"] <= 1 and row["journeys"] > 0
    assert out == pytest.approx(dict.fromkeys(out, 1.0), rel=1e-12)
    assert max(s.count(" > ") for s in out) == order - 1


def test_order_1_markov_ignores_consecutive_repeats():
    # exposure only removes self-loops, and an order-1 state's exit probabilities relative to each
    # other do not depend on its self-loops: the same absorption probabilities and values
    paths = _seeded_paths(41, n=200)
    assert apply_transforms(paths, "exposure").paths() != paths.paths()  # there are repeats
    plain, exposed = attribute(paths, "markov", order=1), attribute(apply_transforms(paths, "exposure"), "markov", order=1)
    assert plain.conversions == pytest.approx(exposed.conversions, rel=1e-10)
    assert plain.value == pytest.approx(exposed.value, rel=1e-10)


# --- Shapley: the classical subset formula, with value ---------------------------------------------
def _subset_formula_shapley(paths: PathSet, ordered: bool) -> tuple[dict, dict]:
    """phi_i = sum over S without i of |S|! (n - |S| - 1)! / n! (v(S + i) - v(S)), per converting
    coalition, v(S) = the observed rates of the coalitions (sequences) inside S; conversions and value."""
    seen: dict = {}
    for path, conv, nulls, value in zip(paths.paths(), paths.conversions, paths.nulls, paths.value):
        firsts = tuple(dict.fromkeys(path))
        key = firsts if ordered else tuple(sorted(firsts))
        entry = seen.setdefault(key, [0.0, 0.0, 0.0])
        entry[0], entry[1], entry[2] = entry[0] + conv, entry[1] + conv + nulls, entry[2] + value
    rate = {k: c / j for k, (c, j, _) in seen.items()}

    def worth(key, members: set) -> float:
        restricted = tuple(x for x in key if x in members)  # the coalition (sequence) of these players
        total = 0.0
        for size in range(1, len(restricted) + 1):
            for sub in itertools.combinations(restricted, size):  # subsets; in order: subsequences
                total += rate.get(sub, 0.0)
        return total

    conversions, value = dict.fromkeys(paths.channels, 0.0), dict.fromkeys(paths.channels, 0.0)
    for key, (conv, _, val) in seen.items():
        if conv == 0:
            continue
        n = len(key)
        phi = dict.fromkeys(key, 0.0)
        for i in key:
            others = [x for x in key if x != i]
            for size in range(n):
                weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
                for s in itertools.combinations(others, size):
                    phi[i] += weight * (worth(key, {*s, i}) - worth(key, set(s)))
        total = sum(phi.values())
        for i in key:
            conversions[i] += conv * phi[i] / total
            value[i] += val * phi[i] / total
    return conversions, value


@pytest.mark.parametrize("model,ordered", [("shapley", False), ("ordered_shapley", True)])
@pytest.mark.parametrize("seed", [51, 52])
def test_shapley_value_credits_match_the_subset_formula(model, ordered, seed):
    paths = _seeded_paths(seed, channels=("direct", "email", "search", "social", "video", "display"), n=150,
                          max_len=6)
    want_conv, want_value = _subset_formula_shapley(paths, ordered)
    got = attribute(paths, model)
    assert dict(zip(got.channels, got.conversions.tolist())) == pytest.approx(want_conv, rel=1e-10, abs=1e-12)
    assert dict(zip(got.channels, got.value.tolist())) == pytest.approx(want_value, rel=1e-10, abs=1e-12)


def test_shapley_scanning_large_coalitions_equals_enumerating(monkeypatch):
    from journeymap.analytics.attribution import shapley as shapley_module

    paths = _seeded_paths(53, n=150, max_len=6)
    enumerated = {m: attribute(paths, m) for m in ("shapley", "ordered_shapley")}
    monkeypatch.setattr(shapley_module, "_ENUMERATE_UP_TO", 0)  # every coalition by scanning the observed ones
    for model, want in enumerated.items():
        got = attribute(paths, model)
        assert got.conversions == pytest.approx(want.conversions, rel=1e-12), model
        assert got.value == pytest.approx(want.value, rel=1e-12), model


def test_unobserved_coalition_is_worth_its_observed_sub_coalitions():
    from journeymap.analytics.attribution.shapley import coalition_shapley

    # {a} (rate 1/2) and {c} (rate 1/4) observed, {a, c} never: v({a, c}) = 1/2 + 1/4, so the
    # Shapley values are each singleton's own rate (additive game), no error
    a, b, c = 0, 1, 2
    rates = {(a,): 1 / 2, (c,): 1 / 4, (a, b, c): 1.0}
    assert coalition_shapley((a, c), rates) == pytest.approx({a: 1 / 2, c: 1 / 4})
    assert coalition_shapley((a, c), rates, ordered=True) == pytest.approx({a: 1 / 2, c: 1 / 4})
    assert coalition_shapley((b,), rates) == {b: 0.0}  # nothing observed inside: worth 0
    # in a model run: a (1 of 2), c (1 of 4) and a > b > c (2 of 2) convert, a > c is never seen.
    # {a, b, c}: phi_a = 1/2 + 1/3, phi_b = 1/3, phi_c = 1/4 + 1/3 (sum 7/4) -> 2 x (10, 4, 7) / 21
    paths = PathSet.from_lists([["a"], ["c"], ["a", "b", "c"]], conversions=[1, 1, 2], nulls=[1, 3, 0],
                               value=[6, 4, 21])
    got = attribute(paths, "shapley")
    assert dict(zip(got.channels, got.conversions.tolist())) == pytest.approx(
        {"a": 1 + 20 / 21, "b": 8 / 21, "c": 1 + 14 / 21}, rel=1e-12)
    assert dict(zip(got.channels, got.value.tolist())) == pytest.approx({"a": 6 + 10, "b": 4, "c": 4 + 7}, rel=1e-12)


# --- conservation with direct, every Markov order ------------------------------------------------
DIRECT_TRANSFORMS = ["exposure", "unique", "first", "frequency", "remove_if_not_all(direct)",
                     "remove_if_last_and_not_all(direct)", "exposure;remove_if_last_and_not_all(direct)"]


@pytest.mark.parametrize("transform", DIRECT_TRANSFORMS)
@pytest.mark.parametrize("seed", [61, 62])
def test_credits_add_up_with_direct_transforms(transform, seed):
    paths = apply_transforms(_seeded_paths(seed, n=150), transform)
    runs = [(m.name, {}) for m in MODELS] + [("markov", {"order": k}) for k in (1, 3, 4)]
    for model, settings in runs:
        got = attribute(paths, model, **settings)
        label = f"{model} {settings}"
        assert got.conversions.sum() == pytest.approx(paths.total_conversions(), rel=1e-9), label
        assert got.value.sum() == pytest.approx(paths.total_value(), rel=1e-9), label
        assert (got.conversions >= 0).all() and (got.value >= 0).all(), label
        assert len(set(got.channels)) == len(got.channels), label


# --- a channel that never converts ---------------------------------------------------------------
def _dead_end_channel(seed: int = 1) -> PathSet:
    """Half the journeys convert over a, b, c. Of the others, 60% also visit x: 95% of those end
    right after x, 5% go on from x to a, b or c (x sits inside the path). x is never in a converting path."""
    rng = np.random.default_rng(seed)
    paths, conv = [], []
    for _ in range(600):
        path = [str(t) for t in rng.choice(list("abc"), size=rng.integers(1, 4))]
        converted = rng.random() < 0.5
        if not converted and rng.random() < 0.6:
            if rng.random() < 0.95:
                path.append("x")
            else:
                path.insert(int(rng.integers(0, len(path))), "x")
        paths.append(path)
        conv.append(int(converted))
    return PathSet.from_lists(paths, conversions=conv, nulls=[1 - c for c in conv],
                              value=[10.0 * c for c in conv], ages=[[0.0] * len(p) for p in paths])


def test_a_dead_end_channel_gets_zero_or_a_sliver():
    paths = _dead_end_channel()
    x_paths = [p for p in paths.paths() if "x" in p]
    assert len(x_paths) > 150 and any(p[-1] != "x" for p in x_paths)
    assert all("x" not in p for p, c in zip(paths.paths(), paths.conversions) if c > 0)
    for model in ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based",
                  "shapley", "ordered_shapley", "shao_li"):
        got = attribute(paths, model)
        x = got.channels.index("x")
        assert got.conversions[x] == 0 and got.value[x] == 0, model
    # Markov is not exactly 0: the chain remembers only the last 1 (or 2) touches, so a journey that
    # goes on from x (x > a ..., 5% of x's journeys) is given, once past x, the conversion chances of
    # the states it reaches (a; or x > a then a > b at order 2), learnt from the converting journeys
    # through them, although no journey through x ever converted. Removing x loses those chances:
    # a small removal effect, not 0. (A journey ending right after x, x -> null, adds nothing: removing
    # x sends it to null anyway.)
    for order in (1, 2):
        got = attribute(paths, "markov", order=order)
        share = got.conversions[got.channels.index("x")] / got.conversions.sum()
        assert 0 < share < 0.02, (order, share)


# --- transforms: edge cases, names, errors --------------------------------------------------------
ALL_TRANSFORMS = ["exposure", "unique", "first", "frequency", "remove_if_not_all(direct)",
                  "remove_if_last_and_not_all(direct)"]


@pytest.mark.parametrize("spec", ALL_TRANSFORMS)
def test_transforms_keep_a_single_touch(spec):
    paths = PathSet.from_lists([["email"], ["direct"]], conversions=[1, 2], value=[3, 4], nulls=[5, 6],
                               ages=[[7], [8]])
    out = apply_transforms(paths, spec)
    assert out.paths() == ([("email(1)",), ("direct(1)",)] if spec == "frequency" else [("email",), ("direct",)])
    assert out.ages.tolist() == [7, 8] and out.conversions.tolist() == [1, 2] and out.nulls.tolist() == [5, 6]


@pytest.mark.parametrize("spec,want", [
    ("exposure", [("direct",), ("direct", "a", "direct")]),
    ("unique", [("direct", "direct", "direct"), ("direct", "a", "direct")]),
    ("first", [("direct",), ("direct", "a")]),
    ("frequency", [("direct(3)",), ("direct(2)", "a(1)")]),
    ("remove_if_not_all(direct)", [("direct", "direct", "direct"), ("a",)]),  # all direct: kept whole
    ("remove_if_last_and_not_all(direct)", [("direct", "direct", "direct"), ("direct", "a")]),
    ("remove_if_not_all(tv)", [("direct", "direct", "direct"), ("direct", "a", "direct")]),  # tv: no such channel
    ("remove_if_last_and_not_all(tv, radio)", [("direct", "direct", "direct"), ("direct", "a", "direct")]),
])
def test_transforms_on_direct_only_paths_and_an_empty_removable_set(spec, want):
    paths = PathSet.from_lists([["direct"] * 3, ["direct", "a", "direct"]], conversions=[1, 1],
                               ages=[[30, 20, 10], [3, 2, 1]])
    out = apply_transforms(paths, spec)
    assert out.paths() == want
    assert out.offsets.tolist() == [0, len(want[0]), len(want[0]) + len(want[1])]
    if spec == "remove_if_last_and_not_all(direct)":
        assert out.ages.tolist() == [30, 20, 10, 3, 2]  # ages follow the kept touches
    if spec == "exposure":
        assert out.ages.tolist() == [10, 3, 2, 1]  # a run keeps its latest touch's age


def test_transforms_across_several_paths_keep_counts_and_ages_aligned():
    paths = PathSet.from_lists([list("DABBCDCC"), ["C", "C"], ["D"], ["A", "B"]], conversions=[1, 0, 2, 1],
                               nulls=[0, 3, 0, 1], value=[5, 0, 7, 1], ages=[list(range(8, 0, -1)), [2, 1], [9], [4, 3]])
    out = apply_transforms(paths, "first")
    assert out.paths() == [tuple("DABC"), ("C",), ("D",), ("A", "B")]
    assert out.ages.tolist() == [8, 7, 6, 4, 2, 9, 4, 3]
    assert out.conversions.tolist() == [1, 0, 2, 1] and out.nulls.tolist() == [0, 3, 0, 1]
    assert apply_transforms(paths, "frequency").paths()[1] == ("C(2)",)
    assert apply_transforms(paths, "remove_if_last_and_not_all(C)").paths() == [tuple("DABBCD"), ("C", "C"), ("D",),
                                                                                  ("A", "B")]


def test_last_steps_keeps_the_last_touches_after_the_transforms():
    paths = PathSet.from_lists([list("DABBCDCC"), ["A"]], conversions=[1, 1], ages=[list(range(8, 0, -1)), [5]])
    assert last_steps(paths, 3).paths() == [tuple("DCC"), ("A",)]
    assert last_steps(paths, 3).ages.tolist() == [3, 2, 1, 5]
    assert last_steps(apply_transforms(paths, "exposure"), 3).paths() == [tuple("CDC"), ("A",)]
    assert last_steps(paths, 100).paths() == paths.paths()
    assert last_steps(paths, 1).paths() == [("C",), ("A",)]
    with pytest.raises(ConfigError, match="at least 1"):
        last_steps(paths, -2)


@pytest.mark.parametrize("spec,want", [
    ("remove-if-not-all(direct)", ("remove_if_not_all", ("direct",))),
    ("remove-if-last-and-not-all( direct , (none) )", ("remove_if_last_and_not_all", ("direct", "(none)"))),
    ("  first  ", ("first", ())),
])
def test_transform_names_take_hyphens_and_spaces(spec, want):
    from journeymap.analytics.attribution import parse_transform

    assert parse_transform(spec) == want


def test_transform_specs_in_one_string_apply_in_order():
    paths = PathSet.from_lists([list("DABBCDCC")], conversions=[1])
    assert apply_transforms(paths, "remove-if-not-all(D); exposure").paths() == [tuple("ABC")]
    assert apply_transforms(paths, ["exposure", "remove_if_last_and_not_all(C)"]).paths() == [tuple("DABCD")]
    assert apply_transforms(paths, None) is paths and apply_transforms(paths, []) is paths


@pytest.mark.parametrize("spec,match", [
    ("exposur", "did you mean 'exposure'"),
    ("frequncy", "did you mean 'frequency'"),
    ("remove_if_last_not_all(direct)", "did you mean 'remove_if_last_and_not_all'"),
    ("remove_if_not_al(direct)", "did you mean 'remove_if_not_all'"),
    ("remove_if_not_all", "names no channel"),
    ("remove_if_not_all( , )", "names no channel"),
    ("remove-if-last-and-not-all()", "names no channel"),
    ("exposure(direct)", "unknown path transform"),
    ("!!", "is not a path transform"),
])
def test_transform_errors(spec, match):
    paths = PathSet.from_lists([["a"]], conversions=[1])
    with pytest.raises(ConfigError, match=match.replace("(", r"\(")) as error:
        apply_transforms(paths, [spec])
    assert error.value.field == "transform"


# --- model errors -----------------------------------------------------------------------------------
def test_more_model_errors():
    paths = PathSet.from_lists([["a", "b", "c"]], conversions=[1], ages=[[2, 1, 0]])
    with pytest.raises(ConfigError, match="did you mean 'shapley'") as error:
        attribute(paths, "shapely")
    assert error.value.field == "model" and "use one of" in str(error.value)
    for order in (0, 5, -1, 1.5):
        with pytest.raises(ConfigError, match="order must be 1 to 4"):
            attribute(paths, "markov", order=order)
    with pytest.raises(ConfigError, match="needs the time of every touch"):
        attribute(PathSet.from_lists([["a"]], conversions=[1]), "time_decay")
    for half_life in (0, -5):
        with pytest.raises(ConfigError, match="half-life must be positive"):
            attribute(paths, "time_decay", half_life=half_life)
    for positions in [(0.5, -0.1, 0.6), (0.4, 0.4, 0.4), (0.0, 1.0, 0.0)]:
        with pytest.raises(ConfigError, match="add up to 1") as error:
            attribute(paths, "position_based", positions=positions)
        assert error.value.field == "positions"
    # aliases and spellings
    assert attribute(paths, "u-shaped").conversions.tolist() == attribute(paths, "position_based").conversions.tolist()
    assert attribute(paths, " Shao-Li ").conversions.tolist() == attribute(paths, "shao_li").conversions.tolist()


@pytest.mark.parametrize("positions", [(0.5, 0.5), (0.4, 0.2, 0.2, 0.2)])
def test_positions_of_the_wrong_length_are_a_config_error(positions):
    # a user error like the other bad shares: ConfigError on field positions, not a bare ValueError
    paths = PathSet.from_lists([["a", "b", "c"]], conversions=[1])
    with pytest.raises(ConfigError) as error:
        attribute(paths, "position_based", positions=positions)
    assert error.value.field == "positions"


# --- the aggregated reader: every input kind, each bad row raised and rejected --------------------
ROWS = {"path": ["search > email", "email", "social > email > search"], "conversions": [2, 1, 0],
        "value": [120.5, 30.0, 0.0], "nulls": [3, 0, 4], "times": ["7200 > 60", "0", "30 > 20 > 10"]}


def _expect_good_rows(paths: PathSet, keep=(0, 1, 2)) -> None:
    all_paths = [("search", "email"), ("email",), ("social", "email", "search")]
    want = [all_paths[i] for i in keep]
    assert paths.paths() == want
    assert paths.channels == tuple(sorted({t for p in want for t in p}))  # names of rejected rows left out
    assert paths.conversions.tolist() == [ROWS["conversions"][i] for i in keep]
    assert paths.value.tolist() == [ROWS["value"][i] for i in keep]
    assert paths.nulls.tolist() == [ROWS["nulls"][i] for i in keep]
    ages = {0: [7200, 60], 1: [0], 2: [30, 20, 10]}
    assert paths.ages.tolist() == [a for i in keep for a in ages[i]]


def _as(kind: str, rows: dict, tmp_path):
    if kind == "pandas":
        return pd.DataFrame(rows)
    if kind == "arrow":
        return pa.table(rows)
    file = tmp_path / "paths.csv"
    pd.DataFrame(rows).to_csv(file, index=False)
    return file


READ = dict(path="path", conversions="conversions", value="value", nulls="nulls", times="times")


@pytest.mark.parametrize("kind", ["pandas", "arrow", "csv"])
def test_reader_reads_every_kind_exactly(kind, tmp_path):
    paths, rejects = read_paths(_as(kind, ROWS, tmp_path), **READ)
    assert rejects == []
    _expect_good_rows(paths)
    # and the models run on it: time decay from the times column (half-life 1 h: 2^-2, 2^(-1/60))
    got = attribute(paths, "time_decay", half_life=3600)
    w = 2 ** (-1 / 60) / (2 ** -2 + 2 ** (-1 / 60))
    assert dict(zip(got.channels, got.conversions.tolist())) == pytest.approx(
        {"search": 2 * (1 - w), "email": 2 * w + 1, "social": 0}, rel=1e-12)


BAD = [
    # (column, bad cell, reason)
    ("path", "", "the path is empty"),
    ("path", "   ", "the path is empty"),
    ("path", "email >> search", "touch 2 of the path is empty"),
    ("path", "email > search >", "touch 3 of the path is empty"),
    ("path", "> email", "touch 1 of the path is empty"),
    ("conversions", math.nan, "conversions is missing or not a number"),
    ("conversions", 2.5, "conversions must be a whole number of journeys"),
    ("conversions", -1, "conversions is negative"),
    ("conversions", "lots", "conversions is missing or not a number"),
    ("nulls", 0.5, "nulls must be a whole number of journeys"),
    ("nulls", math.nan, "nulls is missing or not a number"),
    ("nulls", "n/a", "nulls is missing or not a number"),
    ("value", -0.01, "value is negative"),
    ("value", math.nan, "value is missing or not a number"),
    ("value", "$5", "value is missing or not a number"),
    ("times", "5", "times must be seconds >= 0, one per touch (2 here)"),
    ("times", "5 > 4 > 3", "times must be seconds >= 0, one per touch (2 here)"),
    ("times", "5 > soon", "times must be seconds >= 0, one per touch (2 here)"),
    ("times", "5 > -1", "times must be seconds >= 0, one per touch (2 here)"),
]


@pytest.mark.parametrize("kind", ["pandas", "arrow", "csv"])
@pytest.mark.parametrize("column,cell,reason", BAD, ids=[f"{c}={v!r}" for c, v, _ in BAD])
def test_reader_bad_row_is_named_or_rejected(kind, column, cell, reason, tmp_path):
    if kind == "csv" and column == "path" and not cell.strip(">").strip():
        pytest.skip("a CSV reads an empty or blank cell as missing (tested below)")
    rows = {k: list(v) for k, v in ROWS.items()}
    rows[column] = [rows[column][0], cell, rows[column][2]]  # row 2 (email > ...) is bad
    if column == "path":  # times that match the touches, so only the path is wrong
        rows["times"][1] = " > ".join(["1"] * (cell.count(">") + 1))
    else:
        rows["path"][1] = "email > search"
        rows["times"][1] = rows["times"][1] if column == "times" else "9 > 8"
    if isinstance(cell, str) and column != "path" and column != "times" and kind != "csv":
        rows = {k: [str(x) for x in v] if k == column else v for k, v in rows.items()}  # a text column
    data = _as(kind, rows, tmp_path)
    with pytest.raises(InputError) as error:
        read_paths(data, **READ)
    assert (error.value.row, error.value.column) == (2, column)
    assert reason in error.value.message and "1 bad row(s)" in error.value.message
    assert f"row 2, column {column}" in str(error.value)
    paths, rejects = read_paths(data, **READ, on_error="reject")
    assert [(r["row"], r["column"]) for r in rejects] == [(2, column)]
    assert rejects[0]["reason"].startswith(reason)
    _expect_good_rows(paths, keep=(0, 2))


def test_reader_csv_blank_path_is_missing(tmp_path):
    file = tmp_path / "p.csv"
    file.write_text("path,conversions\nsearch > email,1\n,2\nemail,0\n")
    with pytest.raises(InputError, match="the path is missing") as error:
        read_paths(file)
    assert (error.value.file, error.value.row, error.value.column) == (str(file), 2, "path")
    paths, rejects = read_paths(file, on_error="reject")
    assert paths.paths() == [("search", "email"), ("email",)] and [r["row"] for r in rejects] == [2]


def test_reader_several_bad_rows_all_rejected_good_rows_used():
    rows = pd.DataFrame({"path": ["a > b", "", "b", "c >> d", "d"], "conversions": [1, 1, -2, 1, 3],
                         "value": [5.0, 1.0, 1.0, math.nan, 9.0]})
    with pytest.raises(InputError, match="3 bad row"):
        read_paths(rows, value="value")
    paths, rejects = read_paths(rows, value="value", on_error="reject")
    assert [(r["row"], r["column"]) for r in rejects] == [(2, "path"), (3, "conversions"), (4, "path"), (4, "value")]
    assert paths.paths() == [("a", "b"), ("d",)] and paths.channels == ("a", "b", "d")
    assert paths.conversions.tolist() == [1, 3] and paths.value.tolist() == [5, 9] and paths.nulls.tolist() == [0, 0]


def test_reader_missing_path_beside_an_empty_touch():
    # a missing path (None) in one row and an empty touch in another: both rows named, no crash
    rows = pa.table({"path": [None, "a >> b", "c"], "conversions": [1, 1, 2]})
    with pytest.raises(InputError) as error:
        read_paths(rows)
    assert (error.value.row, error.value.column) == (1, "path")
    paths, rejects = read_paths(rows, on_error="reject")
    assert [(r["row"], r["reason"]) for r in rejects] == [(1, "the path is missing"),
                                                          (2, "touch 2 of the path is empty")]
    assert paths.paths() == [("c",)]


def test_reader_setup_errors(tmp_path):
    rows = pd.DataFrame(ROWS)
    with pytest.raises(InputError, match="did you mean 'conversions'") as error:
        read_paths(rows, conversions="conversion")
    assert error.value.column == "conversion"
    with pytest.raises(InputError, match="did you mean 'times'"):
        read_paths(rows, conversions="conversions", times="time")
    with pytest.raises(InputError, match="did you mean 'path'"):
        read_paths(rows, path="paths")
    with pytest.raises(ConfigError, match="on_error"):
        read_paths(rows, on_error="skip")
    with pytest.raises(InputError, match="no usable path rows"):
        read_paths(pd.DataFrame({"path": ["", "a >"], "conversions": [1, 1]}), on_error="reject")
    with pytest.raises(InputError, match="not numbers"):
        read_paths(pa.table({"path": ["a"], "conversions": [True]}))
    with pytest.raises(InputError, match="no such paths file"):
        read_paths(tmp_path / "nope.csv")


def test_transform_names_ignore_case_and_channel_transforms_see_through_frequency():
    paths = PathSet.from_lists([["direct", "a", "direct", "direct"]], conversions=[1])
    assert apply_transforms(paths, "Exposure").paths() == [("direct", "a", "direct")]
    # after frequency the tokens are direct(3), a(1): remove_if_not_all(direct) still finds direct
    assert apply_transforms(paths, "frequency;remove_if_not_all(direct)").paths() == [("a(1)",)]
    with pytest.raises(ConfigError, match="order must be 1 to 4"):
        attribute(paths, "markov", order=True)
