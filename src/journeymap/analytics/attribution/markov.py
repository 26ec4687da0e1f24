"""Markov-chain attribution of order 1 to 4, solved exactly.

The chain's transient states are ``(start)`` and, for order k, the last k channels a journey
has touched (``a``; ``a > b``; ... the first touches of a path have shorter states, so an order-2
chain goes ``(start) -> a -> a > b -> b > c``). Every path adds one transition per step, weighted
by its journeys, and ends in the absorbing state ``(conversion)`` (weight: its conversions) or
``(null)`` (weight: its nulls). Transition probabilities are the counts over each state's total.

The conversion probability from ``(start)`` is the absorption probability of the chain:
``x = (I - Q)^-1 r`` with Q the transient-to-transient and r the transient-to-conversion
probabilities, computed with a sparse LU solve (no simulation, so no sampling error). The
**removal effect** of a channel is ``1 - P(conversion without it) / P(conversion)``, where
removing a channel removes every state that contains it (journeys reaching one are lost,
as in channelattribution). A channel's credit is its removal effect's share of the total
removal effect, times the total conversions. Value is credited the same way from the
value-weighted chain: arriving in ``(conversion)`` from a state earns that state's mean
conversion value, so ``V = (I - Q)^-1 v`` is the expected value of a journey.

>>> from .pathset import PathSet
>>> p = PathSet.from_lists([["a", "b"], ["b"], ["a"]], conversions=[1, 1, 0], nulls=[0, 0, 1], value=[10, 20, 0])
>>> chain = fit_chain(p, 1)
>>> round(chain.conversion_probability(), 6)
0.666667
>>> c = markov(p, ModelOptions())
>>> dict(zip(c.channels, c.removal_effect.round(4).tolist())), c.conversions.round(4).tolist()
({'a': 0.5, 'b': 1.0}, [0.6667, 1.3333])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from ...errors import ConfigError
from .models import Credits, ModelOptions
from .pathset import PathSet

__all__ = ["MAX_ORDER", "Chain", "fit_chain", "markov", "transition_rows"]

MAX_ORDER = 4
START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"


@dataclass(frozen=True, eq=False)
class Chain:
    """A fitted chain: ``states[0]`` is ``(start)``; ``states[i]`` for i >= 1 is a tuple of
    channel codes. ``counts`` (sparse, transient x transient) and ``to_conversion``,
    ``to_null``, ``conversion_value`` (per transient state) are observed weights."""

    channels: tuple[str, ...]
    order: int
    states: list
    counts: sp.csr_matrix
    to_conversion: np.ndarray
    to_null: np.ndarray
    conversion_value: np.ndarray

    @property
    def totals(self) -> np.ndarray:
        return np.asarray(self.counts.sum(axis=1)).ravel() + self.to_conversion + self.to_null

    def _system(self):
        totals = self.totals
        scale = np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)
        q = sp.diags(scale) @ self.counts
        return (sp.identity(len(totals), format="csc") - q.tocsc()).tocsc(), self.to_conversion * scale, \
            self.conversion_value * scale

    def solve(self, keep: np.ndarray | None = None) -> tuple[float, float]:
        """(conversion probability, expected value) from ``(start)``, with only the states where
        ``keep`` is True (start always kept)."""
        system, conv, value = self._system()
        if keep is not None:
            index = np.flatnonzero(keep)
            system = system[index][:, index]
            conv, value = conv[index], value[index]
        solution = splu(system.tocsc()).solve(np.column_stack([conv, value]))
        return float(solution[0, 0]), float(solution[0, 1])

    def conversion_probability(self) -> float:
        return self.solve()[0]

    def state_name(self, i: int) -> str:
        if i == 0:
            return START
        return " > ".join(self.channels[c] for c in self.states[i])


def _check_order(order: int) -> None:
    if not isinstance(order, (int, np.integer)) or not 1 <= order <= MAX_ORDER:
        raise ConfigError(f"the Markov order must be 1 to {MAX_ORDER}, not {order!r}", field="order",
                          hint="order 1 looks at the last channel, order 2 at the last two, ...")


def _state_keys(paths: PathSet, order: int) -> np.ndarray:
    """Per touch, its state (the last ``order`` codes up to it) as one int64 key."""
    base = np.int64(len(paths.channels) + 1)
    if float(base) ** order >= 2.0 ** 62:
        raise ConfigError(f"{len(paths.channels)} channels are too many for an order-{order} chain", field="order",
                          hint="use a lower order or a coarser level")
    codes = paths.codes.astype(np.int64) + 1
    pos = paths.position
    key = np.zeros(len(codes), dtype=np.int64)
    for j in range(order):
        shifted = np.zeros(len(codes), dtype=np.int64)
        shifted[j:] = codes[:len(codes) - j] if j else codes
        key += np.where(pos >= j, shifted, 0) * base ** j
    return key


def fit_chain(paths: PathSet, order: int = 1) -> Chain:
    """Count the transitions of ``paths`` into a chain of ``order``."""
    _check_order(order)
    keys = _state_keys(paths, order)
    unique_keys, state_of_touch = np.unique(keys, return_inverse=True)
    state_of_touch = state_of_touch.astype(np.int64) + 1  # 0 is (start)
    n = len(unique_keys) + 1
    journeys = paths.journeys
    path = paths.path_of_touch
    # (start) -> first state, and every step inside a path
    src = np.concatenate([np.zeros(paths.size, dtype=np.int64), state_of_touch[:-1]])
    dst = np.concatenate([state_of_touch[paths.first], state_of_touch[1:]])
    weight = np.concatenate([journeys, journeys[path[1:]]])
    inside = np.concatenate([np.ones(paths.size, dtype=bool), path[1:] == path[:-1]])
    counts = sp.csr_matrix((weight[inside], (src[inside], dst[inside])), shape=(n, n))
    counts.sum_duplicates()
    last_state = state_of_touch[paths.last]
    to_conversion = np.bincount(last_state, weights=paths.conversions, minlength=n)
    to_null = np.bincount(last_state, weights=paths.nulls, minlength=n)
    conversion_value = np.bincount(last_state, weights=paths.value, minlength=n)
    base = len(paths.channels) + 1
    states: list = [()]
    for key in unique_keys.tolist():
        codes = []
        while key:
            codes.append(key % base - 1)
            key //= base
        states.append(tuple(reversed(codes)))
    return Chain(paths.channels, order, states, counts, to_conversion, to_null, conversion_value)


def markov(paths: PathSet, options: ModelOptions) -> Credits:
    """Credits by removal effect (see the module doc); ``details`` holds the conversion
    probability and expected value per journey of the fitted chain."""
    chain = fit_chain(paths, options.order)
    reporting = paths.reporting_channels()
    names = tuple(sorted(set(reporting)))
    group = np.array([names.index(b) for b in reporting], dtype=np.int64)
    probability, expected = chain.solve()
    # which reporting channel each state contains
    contains = np.zeros((len(names), len(chain.states)), dtype=bool)
    for i, state in enumerate(chain.states[1:], start=1):
        for code in state:
            contains[group[code], i] = True
    effect = np.zeros(len(names))
    value_effect = np.zeros(len(names))
    for c in range(len(names)):
        if not contains[c].any():
            continue
        p, v = chain.solve(~contains[c])
        effect[c] = 1 - p / probability if probability > 0 else 0.0
        value_effect[c] = 1 - v / expected if expected > 0 else 0.0
    effect = np.clip(effect, 0.0, None)  # a removal cannot raise conversions; clears -1e-17 noise
    value_effect = np.clip(value_effect, 0.0, None)
    conversions = _share(effect) * paths.total_conversions()
    value = _share(value_effect) * paths.total_value()
    return Credits(names, conversions, value, removal_effect=effect,
                   details={"conversion_probability": probability, "expected_value": expected,
                            "states": len(chain.states)})


def _share(effect: np.ndarray) -> np.ndarray:
    total = effect.sum()
    return effect / total if total > 0 else np.zeros_like(effect)


def transition_rows(chain: Chain) -> list[dict]:
    """The transition matrix with named states: one row per observed transition (from_state,
    to_state, journeys, probability), absorbing states ``(conversion)`` and ``(null)``."""
    totals = chain.totals
    coo = chain.counts.tocoo()
    rows = [{"from_state": chain.state_name(int(i)), "to_state": chain.state_name(int(j)), "journeys": float(w),
             "probability": float(w / totals[i])} for i, j, w in zip(coo.row, coo.col, coo.data) if w > 0]
    for i in range(len(chain.states)):
        for target, weights in ((CONVERSION, chain.to_conversion), (NULL, chain.to_null)):
            if weights[i] > 0:
                rows.append({"from_state": chain.state_name(i), "to_state": target, "journeys": float(weights[i]),
                             "probability": float(weights[i] / totals[i])})
    rows.sort(key=lambda r: (r["from_state"] != START, r["from_state"], -r["journeys"], r["to_state"]))
    return rows
