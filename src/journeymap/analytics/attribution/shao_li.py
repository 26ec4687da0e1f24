"""Shao & Li's probabilistic model (Shao and Li, KDD 2011, "Data-driven multi-touch attribution
models").

With ``P(y|i)`` the conversion rate of journeys that touched channel i and ``P(y|i,j)`` that of
journeys that touched both i and j, channel i's contribution is

    C(i) = P(y|i) + 1 / (2 N_i) * sum over j of (P(y|i,j) - P(y|i) - P(y|j))

where the sum runs over the N_i channels seen together with i in at least one journey (a pair
never observed has no rate, so it adds nothing: the documented rule, instead of counting it as
a 0% rate). Negative contributions count as 0. Each converting journey then splits its
conversions and value over the channels it touched in proportion to C (equally if all are 0),
so credits add up to the totals and a channel only seen in journeys that never convert gets 0.

>>> from .pathset import PathSet
>>> p = PathSet.from_lists([["a"], ["b"], ["a", "b"]], conversions=[1, 1, 2], nulls=[1, 3, 0])
>>> c = shao_li(p, None)
>>> dict(zip(c.channels, c.details["contribution"].round(4).tolist()))
{'a': 0.625, 'b': 0.375}
>>> c.conversions.round(4).tolist()
[2.25, 1.75]
"""

from __future__ import annotations

import numpy as np

from .models import Credits
from .pathset import PathSet
from .shapley import _coalitions, _group

__all__ = ["contributions", "shao_li"]


def contributions(table: dict, n: int) -> np.ndarray:
    """C(i) for every channel from coalition -> [conversions, value, journeys]."""
    single_conv, single_all = np.zeros(n), np.zeros(n)
    pair_conv, pair_all = np.zeros((n, n)), np.zeros((n, n))
    for coalition, (conv, _, journeys) in table.items():
        idx = np.asarray(coalition, dtype=np.int64)
        single_conv[idx] += conv
        single_all[idx] += journeys
        if len(idx) > 1:
            grid = np.ix_(idx, idx)
            pair_conv[grid] += conv
            pair_all[grid] += journeys
    rate = np.divide(single_conv, single_all, out=np.zeros(n), where=single_all > 0)
    pair_rate = np.divide(pair_conv, pair_all, out=np.zeros((n, n)), where=pair_all > 0)
    together = pair_all > 0
    np.fill_diagonal(together, False)
    terms = np.where(together, pair_rate - rate[:, None] - rate[None, :], 0.0)
    partners = together.sum(axis=1)
    second = np.divide(terms.sum(axis=1), 2 * partners, out=np.zeros(n), where=partners > 0)
    return np.clip(rate + second, 0.0, None)


def shao_li(paths: PathSet, options) -> Credits:
    keys = _coalitions(paths, ordered=False)
    table = _group(keys, paths)
    n = len(paths.channels)
    contribution = contributions(table, n)
    conversions, value = np.zeros(n), np.zeros(n)
    for coalition, (conv, val, _) in table.items():
        if conv == 0 and val == 0:
            continue
        idx = np.asarray(coalition, dtype=np.int64)
        weights = contribution[idx]
        weights = weights / weights.sum() if weights.sum() > 0 else np.full(len(idx), 1.0 / len(idx))
        conversions[idx] += conv * weights
        value[idx] += val * weights
    return Credits(paths.channels, conversions, value, details={"contribution": contribution})
