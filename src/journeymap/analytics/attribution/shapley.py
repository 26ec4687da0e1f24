"""Shapley-value attribution: set-based and ordered.

**Set-based** (Zhao, Mahboobi & Bagheri 2018, the coalition game of marketing-attribution-models).
A journey's *coalition* is the set of channels it touched. For every observed coalition T,
``r(T)`` is its observed conversion rate: conversions / journeys of the journeys whose channel
set is exactly T. The worth of a coalition S is the sum of the rates of the observed coalitions
inside it, ``v(S) = sum(r(T) for T <= S)``, so a coalition never observed is worth exactly what
its observed sub-coalitions are worth (its own rate counts as 0): the documented rule for
unobserved coalitions, never an error. Each converting coalition S splits its conversions and
value among its channels in proportion to their Shapley values in the game v restricted to S.

That game is a sum of unanimity games (r(T) is T's Harsanyi dividend), so the Shapley value
of channel c in S is exactly ``phi_S(c) = sum(r(T) / |T| for observed T <= S with c in T)``.
This closed form is exact for any number of channels; the tests check it against brute-force
enumeration of all orderings. The work is ``min(2^|S|, observed coalitions)`` per converting
coalition, so there is no channel limit and no sampling.

**Ordered** (the ordered variant): coalitions are sequences, the channels in the order they
were first touched (``first`` transform). ``r(U)`` is the conversion rate of journeys whose
first-touch sequence is exactly U, ``v(S)`` sums r over the observed subsequences of S, and
each converting sequence splits its conversions by ``phi_S(c) = sum(r(U) / |U|)`` over the
observed subsequences U of S that contain c. So ``search > email`` and ``email > search`` are
different coalitions with their own rates.

A channel seen only in journeys that never convert gets exactly 0 in both.

>>> from .pathset import PathSet
>>> p = PathSet.from_lists([["a"], ["b"], ["a", "b"], ["c"]], conversions=[1, 2, 3, 0], nulls=[3, 2, 1, 4])
>>> c = shapley(p, None)
>>> dict(zip(c.channels, c.conversions.round(4).tolist()))
{'a': 2.25, 'b': 3.75, 'c': 0.0}
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from .models import Credits
from .pathset import PathSet
from .transforms import first

__all__ = ["coalition_shapley", "ordered_shapley", "shapley"]

#: Above this coalition size, the sub-coalitions are found by scanning the observed ones
#: instead of enumerating 2^|S| subsets (same result, cheaper).
_ENUMERATE_UP_TO = 14


def _group(keys: list, paths: PathSet) -> dict:
    """coalition -> [conversions, value, journeys]."""
    table: dict = {}
    for key, conv, value, journeys in zip(keys, paths.conversions.tolist(), paths.value.tolist(),
                                          paths.journeys.tolist()):
        entry = table.setdefault(key, [0.0, 0.0, 0.0])
        entry[0] += conv
        entry[1] += value
        entry[2] += journeys
    return table


def _coalitions(paths: PathSet, ordered: bool) -> list[tuple[int, ...]]:
    """Per path, its coalition: sorted channel codes, or first-touch order if ``ordered``."""
    source = first(paths)
    if not ordered:
        return [tuple(sorted(k)) for k in _split(source)]
    return _split(source)


def _split(paths: PathSet) -> list[tuple[int, ...]]:
    codes = paths.codes.tolist()
    bounds = paths.offsets.tolist()
    return [tuple(codes[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _sub_coalitions(coalition: tuple[int, ...], rates: dict, ordered: bool):
    """The observed coalitions inside ``coalition`` (subsets, or subsequences if ordered)."""
    if len(coalition) <= _ENUMERATE_UP_TO or len(rates) > 2 ** len(coalition):
        for size in range(1, len(coalition) + 1):
            for sub in combinations(coalition, size):  # combinations keep order: subsequences
                if sub in rates:
                    yield sub
        return
    members = set(coalition)
    for sub in rates:
        if set(sub) <= members and (not ordered or _is_subsequence(sub, coalition)):
            yield sub


def _is_subsequence(sub: tuple, seq: tuple) -> bool:
    it = iter(seq)
    return all(x in it for x in sub)


def coalition_shapley(coalition: tuple[int, ...], rates: dict, ordered: bool = False) -> dict[int, float]:
    """Shapley value of each channel of ``coalition`` in the game ``v(S) = sum of rates of the
    observed coalitions inside S`` (closed form, see the module doc)."""
    phi = dict.fromkeys(coalition, 0.0)
    for sub in _sub_coalitions(coalition, rates, ordered):
        share = rates[sub] / len(sub)
        for channel in sub:
            phi[channel] += share
    return phi


def _attribute(paths: PathSet, ordered: bool) -> Credits:
    keys = _coalitions(paths, ordered)
    table = _group(keys, paths)
    rates = {k: (conv / journeys if journeys > 0 else 0.0) for k, (conv, _, journeys) in table.items()}
    n = len(paths.channels)
    conversions, value = np.zeros(n), np.zeros(n)
    for coalition, (conv, val, _) in table.items():
        if conv == 0 and val == 0:
            continue
        phi = coalition_shapley(coalition, rates, ordered)
        total = sum(phi.values())
        for channel, share in phi.items():
            part = share / total if total > 0 else 1.0 / len(phi)
            conversions[channel] += conv * part
            value[channel] += val * part
    return Credits(paths.channels, conversions, value,
                   details={"coalitions": len(table)})


def shapley(paths: PathSet, options) -> Credits:
    """Set-based Shapley credits (module doc)."""
    return _attribute(paths, ordered=False)


def ordered_shapley(paths: PathSet, options) -> Credits:
    """Ordered Shapley credits: coalitions are first-touch sequences (module doc)."""
    return _attribute(paths, ordered=True)
