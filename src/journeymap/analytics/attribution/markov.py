"""Markov-chain attribution of order 1 to 4, solved exactly.

The chain's transient states are ``(start)`` and, for order k, the last k channels a journey
has touched (``a``; ``a > b``; ... the first touches of a path have shorter states, so an order-2
chain goes ``(start) -> a -> a > b -> b > c``). Every path adds one transition per step, weighted
by its journeys, and ends in the absorbing state ``(conversion)`` (weight: its conversions) or
``(null)`` (weight: its nulls). Transition probabilities are the counts over each state's total.

The conversion probability from ``(start)`` is the absorption probability of the chain:
``x = (I - Q)^-1 r`` with Q the transient-to-transient and r the transient-to-conversion
probabilities, solved (no simulation, so no sampling error): sparse LU up to
:data:`DIRECT_STATES` states, BiCGSTAB to a residual of 1e-14 above (an order-4 chain over a
dozen channels has tens of thousands of states, where LU fill-in explodes). The
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
from scipy.sparse.linalg import bicgstab, splu

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
        return float(_solve(system.tocsc(), conv)[0]), float(_solve(system.tocsc(), value)[0])

    def conversion_probability(self) -> float:
        return self.solve()[0]

    def state_name(self, i: int) -> str:
        if i == 0:
            return START
        return " > ".join(self.channels[c] for c in self.states[i])


#: Chains up to this many states are solved by sparse LU; larger ones (orders 3-4 over many
#: channels, where LU fill-in explodes) by BiCGSTAB to a residual of 1e-14, LU if it fails.
DIRECT_STATES = 2000
_TOLERANCE = 1e-14


def _solve(system: sp.csc_matrix, rhs: np.ndarray) -> np.ndarray:
    """``system @ x = rhs`` (system = I - Q of an absorbing chain: non-singular)."""
    if not rhs.any():
        return np.zeros_like(rhs)
    if system.shape[0] > DIRECT_STATES:
        x, info = bicgstab(system, rhs, rtol=_TOLERANCE, atol=0.0, maxiter=10_000)
        if info == 0 and np.abs(system @ x - rhs).max() <= 1e-12 * max(1.0, np.abs(rhs).max()):
            return x
    return splu(system).solve(rhs)


def _check_order(order: int) -> None:
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or not 1 <= order <= MAX_ORDER:
        raise ConfigError(f"the Markov order must be 1 to {MAX_ORDER}, not {order!r}", field="order",
                          hint="order 1 looks at the last channel, order 2 at the last two, ...")


#: Key spaces up to this size are compacted with a lookup table (no sort); larger ones with np.unique.
_DENSE_KEYS = 1 << 25
#: Chains with up to this many states squared count transitions in one dense bincount.
_DENSE_CELLS = 1 << 24


def _state_keys(paths: PathSet, order: int) -> np.ndarray:
    """Per touch, its state (the last ``order`` codes up to it) as one int64 key: the digits
    (code + 1) in base (channels + 1), the latest touch lowest."""
    base = len(paths.channels) + 1
    if float(base) ** order >= 2.0 ** 62:
        raise ConfigError(f"{len(paths.channels)} channels are too many for an order-{order} chain", field="order",
                          hint="use a lower order or a coarser level")
    codes = paths.codes
    key = codes.astype(np.int64) + 1
    if order > 1:
        # how far back a touch's own path goes: touches since its path's first
        since_start = np.arange(len(codes), dtype=np.int64)
        since_start -= np.repeat(paths.offsets[:-1], paths.lengths)
        for j in range(1, order):
            earlier = np.zeros(len(codes), dtype=np.int64)
            earlier[j:] = codes[:len(codes) - j].astype(np.int64) + 1
            earlier[since_start < j] = 0
            key += earlier * base ** j
    return key


def _compact(keys: np.ndarray, order: int, base: int) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct keys in order, each key's index among them), without sorting when the key
    space is small."""
    space = base ** order
    if space <= _DENSE_KEYS:
        present = np.zeros(space, dtype=bool)
        present[keys] = True
        distinct = np.flatnonzero(present)
        index = np.zeros(space, dtype=np.int32)
        index[distinct] = np.arange(len(distinct), dtype=np.int32)
        return distinct, index[keys]
    distinct, inverse = np.unique(keys, return_inverse=True)
    return distinct, inverse.astype(np.int32)


def fit_chain(paths: PathSet, order: int = 1) -> Chain:
    """Count the transitions of ``paths`` into a chain of ``order``."""
    _check_order(order)
    base = len(paths.channels) + 1
    distinct, state = _compact(_state_keys(paths, order), order, base)
    state += 1  # 0 is (start)
    n = len(distinct) + 1
    journeys, lengths = paths.journeys, paths.lengths
    first, last = paths.first, paths.last
    # every step inside a path: from each touch but a path's last to the next one
    not_last = np.ones(len(state), dtype=bool)
    not_last[last] = False
    not_first = np.ones(len(state), dtype=bool)
    not_first[first] = False
    src, dst = state[not_last], state[not_first]
    del not_last, not_first
    steps = np.repeat(journeys, lengths - 1)
    starts = np.bincount(state[first], weights=journeys, minlength=n)
    if n * n <= _DENSE_CELLS:
        cell = src.astype(np.int64) * n + dst
        del src, dst
        # float even when no path has a second touch (bincount of nothing is int)
        dense = np.bincount(cell, weights=steps, minlength=n * n).astype(np.float64).reshape(n, n)
        dense[0] += starts
        counts = sp.csr_matrix(dense)
    else:
        counts = sp.csr_matrix((steps, (src, dst)), shape=(n, n))
        counts.sum_duplicates()
        counts = (counts + sp.csr_matrix((starts, (np.zeros(n, dtype=np.int64), np.arange(n))), shape=(n, n))).tocsr()
    counts.eliminate_zeros()
    last_state = state[last]
    to_conversion = np.bincount(last_state, weights=paths.conversions, minlength=n)
    to_null = np.bincount(last_state, weights=paths.nulls, minlength=n)
    conversion_value = np.bincount(last_state, weights=paths.value, minlength=n)
    states: list = [()]
    for key in distinct.tolist():
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
