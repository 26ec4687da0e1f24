"""Calendar periods for retention, lifecycle and stickiness: hour, day, week, month, in UTC.

A period starts at the truncated timestamp (weeks start on **Monday**, ISO 8601) and has a
*period number*, an integer that grows by one from each period to the next, so "N periods
later" is plain subtraction on every engine:

>>> import datetime as dt
>>> monday = dt.datetime(2025, 1, 6, tzinfo=dt.timezone.utc)
>>> [period_number_of(monday + dt.timedelta(days=d), "week") for d in (-1, 0, 6, 7)]
[2869, 2870, 2870, 2871]
>>> period_number_of(dt.datetime(2025, 1, 31, 23, tzinfo=dt.timezone.utc), "month"), period_number_of(
...     dt.datetime(2025, 2, 1, tzinfo=dt.timezone.utc), "month")
(24300, 24301)
>>> check_period("fortnight")
Traceback (most recent call last):
...
journeymap.errors.ConfigError: setting period: 'fortnight' is not a period. Fix: use hour, day, week or month
"""

from __future__ import annotations

import datetime as _dt

import ibis
import ibis.expr.types as ir

from ...errors import ConfigError

__all__ = ["PERIODS", "add_period", "check_period", "period_number", "period_number_of", "period_start", "utc"]

#: The periods, finest first.
PERIODS = ("hour", "day", "week", "month")
_UNIT = {"hour": "h", "day": "D", "week": "W", "month": "M"}
_SECONDS = {"hour": 3600, "day": 86400, "week": 7 * 86400}
_MONDAY = 4 * 86400  # 1970-01-05, the first Monday after the epoch (a Thursday)


def check_period(period: str, *, field: str = "period", allowed: tuple[str, ...] = PERIODS) -> str:
    """``period`` lower-cased, or a :class:`ConfigError` naming the allowed ones."""
    value = str(period).strip().lower()
    if value not in allowed:
        raise ConfigError(f"'{period}' is not a period", field=field,
                          hint="use " + ", ".join(allowed[:-1]) + " or " + allowed[-1])
    return value


def period_start(ts: ir.TimestampValue, period: str) -> ir.TimestampValue:
    """The start of the period holding ``ts`` (UTC; weeks start on Monday)."""
    return ts.truncate(_UNIT[period])


def period_number(ts: ir.TimestampValue, period: str) -> ir.IntegerValue:
    """The period number of the period holding ``ts`` (no truncation: plain arithmetic on the
    epoch, which is cheap on millions of rows; DuckDB keeps the fraction of a second, Spark
    drops it, and the floor is the same)."""
    if period == "month":
        return ts.year().cast("int64") * 12 + ts.month().cast("int64") - 1
    seconds = ts.epoch_seconds()
    if period == "week":
        seconds = seconds - _MONDAY
    return (seconds / _SECONDS[period]).floor().cast("int64")


def add_period(start: ir.TimestampValue, period: str, n: int = 1) -> ir.TimestampValue:
    """The start of the period ``n`` periods after the one starting at ``start``."""
    unit = {"hour": "h", "day": "D", "week": "W", "month": "M"}[period]
    return start + ibis.interval(n, unit=unit)


def utc(moment: _dt.date | _dt.datetime | str) -> _dt.datetime:
    """A date, datetime or ISO text as an aware UTC datetime (naive values are UTC)."""
    if isinstance(moment, str):
        try:
            moment = _dt.datetime.fromisoformat(moment.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"'{moment}' is not a date", field="date",
                              hint="write YYYY-MM-DD or an ISO timestamp, e.g. 2025-03-01") from None
    if not isinstance(moment, _dt.datetime):
        moment = _dt.datetime(moment.year, moment.month, moment.day)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=_dt.timezone.utc)
    return moment.astimezone(_dt.timezone.utc)


def period_number_of(moment: _dt.date | _dt.datetime | str, period: str) -> int:
    """:func:`period_number` of the period holding ``moment``, computed in Python."""
    moment = utc(moment)
    if period == "month":
        return moment.year * 12 + moment.month - 1
    seconds = int(moment.timestamp() // 1)
    if period == "week":
        seconds -= _MONDAY
    return seconds // _SECONDS[period]
