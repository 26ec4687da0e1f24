"""The attribution models: one signature, one registry.

Every model is a function ``(paths: PathSet, options: ModelOptions) -> Credits`` listed in
:data:`MODELS`; adding a model is adding a function and a line. Credits of every model add up
to the paths' total conversions and total value (tests assert it).

Heuristic models split each converting path's conversions (and value) over its touches:

- ``first_touch`` / ``last_touch``: all to the first / last touch;
- ``last_non_direct``: all to the last touch that is not direct (a path of only direct touches
  keeps its last direct touch); this is ``remove_if_last_and_not_all(direct)`` + last touch;
- ``linear``: equal parts to every touch;
- ``time_decay``: touch weight ``2 ** (-age / half_life)`` (age: time before the conversion;
  default half-life 7 days), normalised per path;
- ``position_based``: 40% first, 40% last, 20% shared by the middle touches (configurable);
  one touch gets 100%, two touches get first/(first+last) and last/(first+last) (50/50).

>>> from .pathset import PathSet
>>> p = PathSet.from_lists([["search", "email", "direct"], ["social"]], conversions=[1, 1], value=[30, 10])
>>> c = attribute(p, "position_based")
>>> dict(zip(c.channels, c.conversions.round(3).tolist()))
{'direct': 0.4, 'email': 0.2, 'search': 0.4, 'social': 1.0}
>>> dict(zip(c.channels, attribute(p, "last_non_direct").value.tolist()))
{'direct': 0.0, 'email': 30.0, 'search': 0.0, 'social': 10.0}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ...errors import ConfigError
from .pathset import PathSet
from .transforms import remove_if_last_and_not_all

__all__ = ["MODELS", "Credits", "Model", "ModelOptions", "attribute", "model_names", "spread"]

DAY = 86400.0


@dataclass(frozen=True)
class ModelOptions:
    """Settings of the models (each reads the ones it needs)."""

    #: Markov chain order (1-4); 2 as the ``attribution.order`` setting.
    order: int = 2
    #: Time-decay half-life, in seconds.
    half_life: float = 7 * DAY
    #: Position-based shares of the first, middle and last touches.
    positions: tuple[float, float, float] = (0.4, 0.2, 0.4)


@dataclass(frozen=True, eq=False)
class Credits:
    """Conversions and value credited to each channel by one model.

    ``removal_effect`` is set by Markov; ``details`` carries what a model wants to show
    besides (e.g. Markov's conversion probability)."""

    channels: tuple[str, ...]
    conversions: np.ndarray
    value: np.ndarray
    removal_effect: np.ndarray | None = None
    details: dict = field(default_factory=dict)


def spread(paths: PathSet, weights: np.ndarray) -> Credits:
    """Credits from per-touch ``weights`` that add up to 1 within every path."""
    path = paths.path_of_touch
    n = len(paths.channels)
    conversions = np.bincount(paths.codes, weights=weights * paths.conversions[path], minlength=n)
    value = np.bincount(paths.codes, weights=weights * paths.value[path], minlength=n)
    return Credits(paths.channels, conversions, value)


def _at(paths: PathSet, touch: np.ndarray) -> Credits:
    """All of each path's credit to one touch (``touch[p]`` indexes codes)."""
    n = len(paths.channels)
    codes = paths.codes[touch]
    return Credits(paths.channels, np.bincount(codes, weights=paths.conversions, minlength=n),
                   np.bincount(codes, weights=paths.value, minlength=n))


def first_touch(paths: PathSet, options: ModelOptions) -> Credits:
    return _at(paths, paths.first)


def last_touch(paths: PathSet, options: ModelOptions) -> Credits:
    return _at(paths, paths.last)


def last_non_direct(paths: PathSet, options: ModelOptions) -> Credits:
    trimmed = remove_if_last_and_not_all(paths, sorted(paths.direct))
    return _at(trimmed, trimmed.last)


def linear(paths: PathSet, options: ModelOptions) -> Credits:
    return spread(paths, 1.0 / paths.lengths[paths.path_of_touch])


def time_decay(paths: PathSet, options: ModelOptions) -> Credits:
    if paths.ages is None:
        raise ConfigError("time_decay needs the time of every touch before its conversion", field="model",
                          hint="paths built from events have it; with attribution_from_paths pass times= "
                               "(seconds before the conversion per touch, in the path's separator)")
    if options.half_life <= 0:
        raise ConfigError(f"the time-decay half-life must be positive, not {options.half_life}", field="half_life")
    raw = np.exp2(-np.maximum(paths.ages, 0.0) / options.half_life)
    totals = np.bincount(paths.path_of_touch, weights=raw, minlength=paths.size)
    return spread(paths, raw / totals[paths.path_of_touch])


def position_based(paths: PathSet, options: ModelOptions) -> Credits:
    if len(options.positions) != 3:
        raise ConfigError(f"position-based needs three shares (first, middle, last), not {len(options.positions)}",
                          field="positions", hint="e.g. 0.4,0.2,0.4")
    first_share, middle_share, last_share = options.positions
    if min(options.positions) < 0 or abs(sum(options.positions) - 1) > 1e-9 or first_share + last_share <= 0:
        raise ConfigError(f"position-based shares {options.positions} must be >= 0 and add up to 1", field="positions",
                          hint="e.g. 0.4,0.2,0.4 (first, middle, last)")
    length = paths.lengths[paths.path_of_touch].astype(np.float64)
    pos = paths.position
    is_first, is_last = pos == 0, pos == length - 1
    weights = np.where(is_first, first_share, 0.0) + np.where(is_last, last_share, 0.0)
    weights = np.where(~is_first & ~is_last, middle_share / np.maximum(length - 2, 1), weights)
    # one touch: 100%; two touches: first and last rescaled to add up to 1
    weights = np.where(length == 1, 1.0, weights)
    weights = np.where(length == 2, np.where(is_first, first_share, last_share) / (first_share + last_share), weights)
    return spread(paths, weights)


Fit = Callable[[PathSet, ModelOptions], Credits]


@dataclass(frozen=True)
class Model:
    """A registered model: its name, function, whether it learns from the data (versus a
    fixed rule), and a one-line description."""

    name: str
    fit: Fit
    data_driven: bool
    description: str


def _markov(paths: PathSet, options: ModelOptions) -> Credits:
    from .markov import markov

    return markov(paths, options)


def _shapley(paths: PathSet, options: ModelOptions) -> Credits:
    from .shapley import shapley

    return shapley(paths, options)


def _ordered_shapley(paths: PathSet, options: ModelOptions) -> Credits:
    from .shapley import ordered_shapley

    return ordered_shapley(paths, options)


def _shao_li(paths: PathSet, options: ModelOptions) -> Credits:
    from .shao_li import shao_li

    return shao_li(paths, options)


#: Every model, in the order comparisons show them.
MODELS: tuple[Model, ...] = (
    Model("first_touch", first_touch, False, "all credit to the first touch"),
    Model("last_touch", last_touch, False, "all credit to the last touch"),
    Model("last_non_direct", last_non_direct, False, "all credit to the last touch that is not direct"),
    Model("linear", linear, False, "equal credit to every touch"),
    Model("time_decay", time_decay, False, "credit halves every half-life before the conversion (default 7d)"),
    Model("position_based", position_based, False, "40% first, 40% last, 20% the middle (configurable)"),
    Model("markov", _markov, True, "Markov chain of order 1-4: removal effects, solved exactly"),
    Model("shapley", _shapley, True, "Shapley value of channel sets, coalition worth from observed conversion rates"),
    Model("ordered_shapley", _ordered_shapley, True, "Shapley value with ordered coalitions (sequences)"),
    Model("shao_li", _shao_li, True, "Shao & Li's probabilistic model (first- and second-order conversion rates)"),
)
_BY_NAME = {m.name: m for m in MODELS}
_ALIASES = {"first": "first_touch", "last": "last_touch", "last_click": "last_touch", "first_click": "first_touch",
            "markov_chain": "markov", "position": "position_based", "u_shaped": "position_based",
            "shaoli": "shao_li", "shao-li": "shao_li", "probabilistic": "shao_li"}


def model_names() -> list[str]:
    return [m.name for m in MODELS]


def find_model(name: str) -> Model:
    """The registered model called ``name`` (an alias such as ``last_click`` works too)."""
    key = (name or "").strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key in _BY_NAME:
        return _BY_NAME[key]
    import difflib

    close = difflib.get_close_matches(key, list(_BY_NAME), n=1)
    raise ConfigError(f"unknown attribution model '{name}'", field="model",
                      hint=(f"did you mean '{close[0]}'? " if close else "") + "use one of " + ", ".join(_BY_NAME))


def _roll_up(paths: PathSet, credits: Credits) -> Credits:
    """Credits per token -> per reporting channel (after the frequency transform)."""
    if paths.base is None or credits.channels != paths.channels:
        return credits
    names = tuple(sorted(set(paths.base)))
    index = np.array([names.index(b) for b in paths.base], dtype=np.int64)
    return Credits(names, np.bincount(index, weights=credits.conversions, minlength=len(names)),
                   np.bincount(index, weights=credits.value, minlength=len(names)), details=credits.details)


def attribute(paths: PathSet, model: str, options: ModelOptions | None = None, **settings) -> Credits:
    """Run ``model`` (a name of :data:`MODELS`) on ``paths``; ``settings`` override ``options``
    (``order=2``, ``half_life=86400``, ``positions=(0.3, 0.4, 0.3)``)."""
    options = options or ModelOptions()
    if settings:
        from dataclasses import replace

        options = replace(options, **settings)
    return _roll_up(paths, find_model(model).fit(paths, options))
