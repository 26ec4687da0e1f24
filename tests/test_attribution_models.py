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
