"""Paths as the attribution models read them: a :class:`PathSet`.

A path is the ordered touches (channels, campaigns, ...) of one journey, with how many
journeys took it and converted (``conversions``, with their ``value``) or did not (``nulls``).
Journeys built from events are one path each (1 conversion or 1 null); the aggregated format
of channelattribution and marketing-attribution-models (``a > b > c``, conversions, value,
nulls) is one path per row. The touches are stored flat (``codes`` into ``channels``) with
``offsets`` marking where each path starts, so every model is a few vectorised numpy passes.
Every path has at least one touch.

>>> p = PathSet.from_lists([["search", "email"], ["email"]], conversions=[1, 0], nulls=[0, 1])
>>> p.channels, p.codes.tolist(), p.offsets.tolist(), p.lengths.tolist()
(('email', 'search'), [1, 0, 0], [0, 2, 3], [2, 1])
>>> p.paths()
[('search', 'email'), ('email',)]
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Sequence

import numpy as np

__all__ = ["NO_TOUCH", "PathSet"]

#: The token of a conversion that had no touch in its look-back (kept, never dropped).
NO_TOUCH = "(none)"


def _offsets(lists) -> np.ndarray:
    """Start of every list in its flattened values, and the end (from the lengths, so sliced or
    filtered arrays count from 0)."""
    import pyarrow.compute as pc

    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


@dataclass(frozen=True, eq=False)
class PathSet:
    """Paths of touches, flat: touch ``i`` of path ``p`` is ``channels[codes[offsets[p] + i]]``.

    ``ages`` (optional) holds each touch's seconds before its conversion (time decay needs it);
    ``direct`` names the tokens that count as direct for last non-direct; ``base`` maps each
    token to the channel it reports under (the frequency transform's ``email(2)`` -> ``email``);
    ``period`` is the first and last conversion date when the paths come from events.
    """

    channels: tuple[str, ...]
    codes: np.ndarray
    offsets: np.ndarray
    conversions: np.ndarray
    value: np.ndarray
    nulls: np.ndarray
    ages: np.ndarray | None = None
    direct: frozenset[str] = frozenset()
    base: tuple[str, ...] | None = field(default=None)
    #: First and last conversion date (paths built from events), for spend periods.
    period: tuple | None = None

    # --- shape ------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        """Number of paths."""
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def path_of_touch(self) -> np.ndarray:
        """For every touch, the index of its path."""
        return np.repeat(np.arange(self.size, dtype=np.int64), self.lengths)

    @property
    def position(self) -> np.ndarray:
        """For every touch, its 0-based position in its path."""
        return np.arange(len(self.codes), dtype=np.int64) - np.repeat(self.offsets[:-1], self.lengths)

    @property
    def first(self) -> np.ndarray:
        """Index (into codes) of every path's first touch."""
        return self.offsets[:-1]

    @property
    def last(self) -> np.ndarray:
        return self.offsets[1:] - 1

    @property
    def journeys(self) -> np.ndarray:
        """Journeys per path: conversions + nulls."""
        return self.conversions + self.nulls

    def paths(self) -> list[tuple[str, ...]]:
        """Every path as a tuple of tokens (for tests and small data)."""
        names = np.asarray(self.channels, dtype=object)
        return [tuple(names[self.codes[a:b]]) for a, b in zip(self.offsets[:-1], self.offsets[1:])]

    def reporting_channels(self) -> tuple[str, ...]:
        """The names credits are reported under (``base`` after a frequency transform)."""
        return self.base if self.base is not None else self.channels

    def keep(self, mask: np.ndarray) -> "PathSet":
        """Only the touches where ``mask`` is True (every path must keep at least one)."""
        counts = np.bincount(self.path_of_touch[mask], minlength=self.size)
        offsets = np.zeros(self.size + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return replace(self, codes=self.codes[mask], offsets=offsets,
                       ages=None if self.ages is None else self.ages[mask])

    # --- construction ---------------------------------------------------------------------------
    @classmethod
    def from_lists(cls, paths: Iterable[Sequence[str]], *, conversions: Sequence[float], value: Sequence[float] | None = None,
                   nulls: Sequence[float] | None = None, ages: Iterable[Sequence[float]] | None = None,
                   direct: Iterable[str] = ("direct",)) -> "PathSet":
        """A PathSet from Python lists (tokens per path), for tests and small data."""
        paths = [list(p) for p in paths]
        if any(len(p) == 0 for p in paths):
            raise ValueError("every path needs at least one touch")
        flat = [t for p in paths for t in p]
        channels = tuple(sorted(set(flat)))
        index = {c: i for i, c in enumerate(channels)}
        n = len(paths)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum([len(p) for p in paths], out=offsets[1:])
        return cls(
            channels=channels,
            codes=np.array([index[t] for t in flat], dtype=np.int32),
            offsets=offsets,
            conversions=np.asarray(conversions, dtype=np.float64),
            value=np.zeros(n) if value is None else np.asarray(value, dtype=np.float64),
            nulls=np.zeros(n) if nulls is None else np.asarray(nulls, dtype=np.float64),
            ages=None if ages is None else np.array([a for row in ages for a in row], dtype=np.float64),
            direct=frozenset(direct),
        )

    @classmethod
    def from_arrow_lists(cls, tokens, **columns) -> "PathSet":
        """A PathSet from a pyarrow ListArray of token strings (no empty list, no null token);
        ``columns`` as for :meth:`from_codes`."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if isinstance(tokens, pa.ChunkedArray):
            tokens = tokens.combine_chunks()
        encoded = pc.dictionary_encode(tokens.flatten())
        codes = pa.ListArray.from_arrays(pa.array(_offsets(tokens), pa.int32()), encoded.indices)
        return cls.from_codes(codes, encoded.dictionary.to_pylist(), **columns)

    @classmethod
    def from_codes(cls, codes, names: Sequence[str], *, conversions: np.ndarray, value: np.ndarray,
                   nulls: np.ndarray, ages=None, direct: Iterable[str] = ("direct",)) -> "PathSet":
        """A PathSet from a pyarrow ListArray of integer codes into ``names`` (no empty list);
        names no path uses are left out, the rest sorted."""
        offsets = _offsets(codes)
        raw = np.asarray(codes.flatten().to_numpy(zero_copy_only=False), dtype=np.int64)
        used = np.bincount(raw, minlength=len(names)) > 0
        kept = [n for n, u in zip(names, used) if u]
        order = sorted(range(len(kept)), key=lambda i: kept[i])
        remap = np.full(len(names), -1, dtype=np.int32)
        remap[np.flatnonzero(used)[order]] = np.arange(len(kept), dtype=np.int32)
        return cls(channels=tuple(kept[i] for i in order), codes=remap[raw], offsets=offsets,
                   conversions=np.asarray(conversions, dtype=np.float64), value=np.asarray(value, dtype=np.float64),
                   nulls=np.asarray(nulls, dtype=np.float64),
                   ages=None if ages is None else np.asarray(ages, dtype=np.float64), direct=frozenset(direct))

    # --- totals -----------------------------------------------------------------------------------
    def total_conversions(self) -> float:
        return float(self.conversions.sum())

    def total_value(self) -> float:
        return float(self.value.sum())
