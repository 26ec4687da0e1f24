"""Path transforms: what a path looks like before a model reads it.

The names and meanings are Google Fractribution's, which Snowplow's attribution package
also uses. On the path ``D > A > B > B > C > D > C > C``:

==============================  ==========================================  =======================
transform                       does                                        gives
==============================  ==========================================  =======================
``exposure`` (default)          collapses consecutive repeats               D > A > B > C > D > C
``unique``                      nothing: every touch stays                  D > A > B > B > C > D > C > C
``first``                       keeps each channel's first touch only       D > A > B > C
``frequency``                   ``first``, naming how often each occurred   D(2) > A(1) > B(2) > C(3)
``remove_if_not_all(X)``        drops X unless the path is only X           A > B > B > C > C > C (X = D)
``remove_if_last_and_not_all``  drops X from the end unless the path is     D > A > B > B > C > D (X = C)
                                only X (``(direct)`` gives last non-direct)
==============================  ==========================================  =======================

Look-back by steps (:func:`last_steps`) keeps a path's last N touches after the transforms.

>>> from .pathset import PathSet
>>> p = PathSet.from_lists([list("DABBCDCC")], conversions=[1])
>>> [" > ".join(apply_transforms(p, [t]).paths()[0]) for t in ("exposure", "first", "frequency")]
['D > A > B > C > D > C', 'D > A > B > C', 'D(2) > A(1) > B(2) > C(3)']
>>> " > ".join(apply_transforms(p, ["remove_if_not_all(D)"]).paths()[0])
'A > B > B > C > C > C'
>>> " > ".join(apply_transforms(p, ["remove_if_last_and_not_all(C)"]).paths()[0])
'D > A > B > B > C > D'
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Callable, Sequence

import numpy as np

from ...errors import ConfigError
from .pathset import PathSet

__all__ = ["TRANSFORMS", "apply_transforms", "last_steps", "parse_transform"]


def exposure(paths: PathSet) -> PathSet:
    """Collapse consecutive repeats: A > A > B > A -> A > B > A. A run keeps the age of its latest
    touch (time decay weighs the most recent exposure)."""
    codes = paths.codes
    keep = np.ones(len(codes), dtype=bool)
    keep[1:] = codes[1:] != codes[:-1]
    keep[paths.first] = True
    kept = paths.keep(keep)
    if paths.ages is None or not len(codes):
        return kept
    return replace(kept, ages=np.minimum.reduceat(paths.ages, np.flatnonzero(keep)))


def unique(paths: PathSet) -> PathSet:
    """Every touch stays (Fractribution's identity transform)."""
    return paths


def _first_mask(paths: PathSet) -> np.ndarray:
    key = paths.path_of_touch * (len(paths.channels) + 1) + paths.codes
    _, first_index = np.unique(key, return_index=True)
    keep = np.zeros(len(paths.codes), dtype=bool)
    keep[first_index] = True
    return keep


def first(paths: PathSet) -> PathSet:
    """Keep each channel's first touch in a path: A > B > A > C -> A > B > C."""
    return paths.keep(_first_mask(paths))


def frequency(paths: PathSet) -> PathSet:
    """``first``, with each token renamed ``channel(n)``, n its touches in the path; credits
    report under the channel (``base``)."""
    n_channels = len(paths.channels)
    key = paths.path_of_touch * (n_channels + 1) + paths.codes
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    count_of_touch = counts[inverse]
    kept = paths.keep(_first_mask(paths))
    kept_counts = count_of_touch[_first_mask(paths)]
    pairs = kept.codes.astype(np.int64) * (int(kept_counts.max(initial=1)) + 1) + kept_counts
    uniq, codes = np.unique(pairs, return_inverse=True)
    mult = int(kept_counts.max(initial=1)) + 1
    bases = [paths.reporting_channels()[int(u // mult)] for u in uniq]
    names = [f"{paths.channels[int(u // mult)]}({int(u % mult)})" for u in uniq]
    order = sorted(range(len(names)), key=lambda i: names[i])
    remap = np.empty(len(names), dtype=np.int32)
    remap[order] = np.arange(len(names), dtype=np.int32)
    direct = frozenset(n for n, u in zip(names, uniq) if paths.channels[int(u // mult)] in paths.direct)
    return replace(kept, channels=tuple(names[i] for i in order), codes=remap[codes],
                   base=tuple(bases[i] for i in order), direct=direct | paths.direct)


def _member(paths: PathSet, removable: Sequence[str]) -> np.ndarray:
    """Per touch: is its channel (``direct``; after ``frequency``, the channel of ``direct(2)``) removable?"""
    wanted = np.zeros(len(paths.channels) + 1, dtype=bool)
    for i, (name, base) in enumerate(zip(paths.channels, paths.reporting_channels())):
        if name in removable or base in removable:
            wanted[i] = True
    return wanted[paths.codes]


def remove_if_not_all(paths: PathSet, removable: Sequence[str]) -> PathSet:
    """Drop the touches of ``removable`` channels unless every touch of the path is one."""
    member = _member(paths, removable)
    others = np.bincount(paths.path_of_touch[~member], minlength=paths.size)
    return paths.keep(~member | (others[paths.path_of_touch] == 0))


def remove_if_last_and_not_all(paths: PathSet, removable: Sequence[str]) -> PathSet:
    """Drop the trailing run of ``removable`` touches unless every touch of the path is one:
    with ``direct`` this gives last non-direct."""
    member = _member(paths, removable)
    pos = np.arange(len(paths.codes), dtype=np.int64)
    non_member = np.where(~member, pos, -1)
    # the last non-member position of each path (-1: the path is only removable channels)
    last_other = np.full(paths.size, -1, dtype=np.int64)
    np.maximum.at(last_other, paths.path_of_touch, non_member)
    bound = last_other[paths.path_of_touch]
    return paths.keep((bound < 0) | (pos <= bound))


def last_steps(paths: PathSet, steps: int) -> PathSet:
    """Keep the last ``steps`` touches of every path (look-back by steps)."""
    if steps < 1:
        raise ConfigError(f"lookback steps must be at least 1, not {steps}", field="lookback_steps",
                          hint="leave it out for no limit")
    return paths.keep(paths.position >= (paths.lengths - steps)[paths.path_of_touch])


#: Transforms without an argument, by name.
TRANSFORMS: dict[str, Callable[[PathSet], PathSet]] = {
    "exposure": exposure, "unique": unique, "first": first, "frequency": frequency,
}
#: Transforms taking channels: ``name(a, b)``.
CHANNEL_TRANSFORMS: dict[str, Callable[[PathSet, Sequence[str]], PathSet]] = {
    "remove_if_not_all": remove_if_not_all, "remove_if_last_and_not_all": remove_if_last_and_not_all,
}
_CALL = re.compile(r"^\s*([A-Za-z_-]+)\s*(?:\((.*)\))?\s*$")


def parse_transform(spec: str) -> tuple[str, tuple[str, ...]]:
    """``'remove_if_not_all(direct, (direct))'`` -> ``('remove_if_not_all', ('direct', '(direct)'))``.

    Hyphens are accepted for underscores (``remove-if-not-all``)."""
    match = _CALL.match(spec or "")
    choices = ", ".join([*TRANSFORMS, *(f"{n}(CHANNEL,...)" for n in CHANNEL_TRANSFORMS)])
    if not match:
        raise ConfigError(f"'{spec}' is not a path transform", field="transform", hint=f"use one of {choices}")
    name, args = match.group(1).lower().replace("-", "_"), match.group(2)
    if name in TRANSFORMS and args is None:
        return name, ()
    if name in CHANNEL_TRANSFORMS:
        channels = tuple(a.strip() for a in (args or "").split(",") if a.strip())
        if not channels:
            raise ConfigError(f"'{spec}' names no channel", field="transform",
                              hint=f"e.g. {name}(direct): the channels it removes")
        return name, channels
    import difflib

    close = difflib.get_close_matches(name, [*TRANSFORMS, *CHANNEL_TRANSFORMS], n=1)
    raise ConfigError(f"unknown path transform '{spec}'", field="transform",
                      hint=(f"did you mean '{close[0]}'? " if close else "") + f"use one of {choices}")


def apply_transforms(paths: PathSet, transforms: Sequence[str] | str | None) -> PathSet:
    """``paths`` with each transform applied in order (a string may hold several, ``;``-separated)."""
    if transforms is None:
        return paths
    if isinstance(transforms, str):
        transforms = [t for t in transforms.split(";") if t.strip()]
    for spec in transforms:
        name, channels = parse_transform(spec)
        paths = TRANSFORMS[name](paths) if name in TRANSFORMS else CHANNEL_TRANSFORMS[name](paths, channels)
    return paths
