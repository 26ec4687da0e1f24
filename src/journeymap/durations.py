"""Durations as people write them: ``30m``, ``14d``, ``2w``, ``90s``, ``1.5h``.

Used for conversion windows, session gaps and look-backs, in config and on the command line.

>>> parse_duration("7d")
datetime.timedelta(days=7)
>>> parse_duration("30m").total_seconds()
1800.0
>>> parse_duration(14, unit="d")
datetime.timedelta(days=14)
>>> parse_duration("0d", field="window")
Traceback (most recent call last):
...
journeymap.errors.ConfigError: setting window: duration '0d' must be greater than zero. Fix: e.g. 14d, 12h, 30m, 2w
>>> format_duration(parse_duration("36h"))
'1.5d'
"""

from __future__ import annotations

import datetime as _dt
import re

from .errors import ConfigError

__all__ = ["UNITS", "format_duration", "parse_duration"]

#: Unit suffix -> seconds.
UNITS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_TEXT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_HINT = "e.g. 14d, 12h, 30m, 2w"


_MAX_SECONDS = 1000 * 365.25 * 86400  # beyond that a timedelta overflows soon, and no journey is that long


def parse_duration(value: str | int | float | _dt.timedelta, *, unit: str = "d", field: str = "duration") -> _dt.timedelta:
    """``value`` as a positive timedelta; a bare number counts in ``unit``."""
    if isinstance(value, _dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value) * UNITS[unit]
    elif isinstance(value, str) and _TEXT.match(value):
        number, suffix = _TEXT.match(value).groups()
        seconds = float(number) * UNITS[suffix.lower()]
    elif isinstance(value, str) and re.fullmatch(r"\s*\d+(?:\.\d+)?\s*", value):
        seconds = float(value) * UNITS[unit]
    else:
        raise ConfigError(f"'{value}' is not a duration", field=field, hint=_HINT)
    if seconds <= 0:
        raise ConfigError(f"duration '{value}' must be greater than zero", field=field, hint=_HINT)
    if seconds > _MAX_SECONDS:
        raise ConfigError(f"duration '{value}' is longer than 1000 years", field=field, hint=_HINT)
    return _dt.timedelta(seconds=seconds)


def format_duration(delta: _dt.timedelta) -> str:
    """The shortest exact-ish text for ``delta`` in the largest unit that fits."""
    seconds = delta.total_seconds()
    for suffix in ("w", "d", "h", "m", "s"):
        size = UNITS[suffix]
        if seconds >= size:
            value = seconds / size
            if suffix == "w" and value != int(value):
                continue
            return f"{value:g}{suffix}"
    return f"{seconds:g}s"
