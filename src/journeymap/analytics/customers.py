"""Customer attributes for breakdowns and segments: first touch, cohort, any property.

A *segment key* names one attribute per customer:

| key | value |
|---|---|
| ``channel`` / ``first_channel`` | channel of the customer's first touchpoint (first touch) |
| ``last_channel`` | channel of the latest touchpoint |
| ``campaign``, ``source``, ``medium`` | utm_campaign / utm_source / utm_medium of the first touchpoint |
| ``device`` | ``properties.device`` of the first touchpoint that has one |
| ``landing_page`` | URL path of the first page or screen view |
| ``cohort:week`` / ``cohort:month`` | week (Monday) / month the customer entered the first stage |
| ``stage`` | the customer's current stage |
| ``property.KEY`` | the latest value of ``properties.KEY`` on the customer's touchpoints |

A *segment filter* is ``KEY=VALUE`` or ``KEY!=VALUE`` (several joined with ``,`` must all hold);
values compare case-insensitively.

>>> import ibis, datetime as dt
>>> day = lambda d: dt.datetime(2025, 1, d, tzinfo=dt.timezone.utc)
>>> events = ibis.memtable({"customer_id": ["a", "a", "b"], "timestamp": [day(2), day(1), day(3)],
...     "event_id": ["e2", "e1", "e3"], "type": ["page", "page", "track"], "event": ["page_view", "page_view", "x"],
...     "channel": ["direct", "email", "paid_search"], "utm_campaign": [None, "spring", None],
...     "url": ["https://s.example/a", "https://s.example/b?x=1", None],
...     "properties": ['{"device":"mobile","plan":"pro"}', '{"device":"desktop"}', None]})
>>> t = segment_table(events, ["channel", "device", "property.plan", "landing_page"])
>>> sorted(tuple(r.values()) for r in t.to_pyarrow().to_pylist())
[('a', 'email', 'desktop', 'pro', '/b'), ('b', 'paid_search', None, None, None)]
>>> parse_segment("channel=email, device!=mobile")
[('channel', '=', 'email'), ('device', '!=', 'mobile')]
"""

from __future__ import annotations

import re
from typing import Sequence

import ibis
import ibis.expr.types as ir

from ..errors import ConfigError
from ..touchpoints import property_value, url_path

__all__ = ["SEGMENT_KEYS", "column_name", "customers_in_segment", "join_breakdown", "parse_segment", "segment_table"]

SEGMENT_KEYS: dict[str, str] = {
    "channel": "channel of the first touchpoint (first touch)",
    "first_channel": "same as channel",
    "last_channel": "channel of the latest touchpoint",
    "campaign": "utm_campaign of the first touchpoint",
    "source": "utm_source of the first touchpoint",
    "medium": "utm_medium of the first touchpoint",
    "device": "properties.device of the first touchpoint that has one",
    "landing_page": "URL path of the first page or screen view",
    "cohort:week": "week (starting Monday) in which the customer entered the first stage",
    "cohort:month": "month in which the customer entered the first stage",
    "stage": "the customer's current stage",
    "property.KEY": "latest value of properties.KEY on the customer's touchpoints",
}
_FIRST = {"channel": "channel", "first_channel": "channel", "campaign": "utm_campaign", "source": "utm_source",
          "medium": "utm_medium"}
_KEY = re.compile(r"^(?:property\.[A-Za-z0-9_$@.-]+|cohort:(?:week|month)|[a-z_]+)$")


def _check(key: str, field: str = "by") -> str:
    key = key.strip()
    if not _KEY.match(key) or (key not in SEGMENT_KEYS and not key.startswith("property.")):
        import difflib

        close = difflib.get_close_matches(key, list(SEGMENT_KEYS), n=1)
        raise ConfigError(f"unknown segment key '{key}'", field=field,
                          hint=(f"did you mean '{close[0]}'? " if close else "") + "keys: " + ", ".join(SEGMENT_KEYS))
    return key


def column_name(key: str) -> str:
    """The output column of a segment key: ``channel`` -> ``first_channel``, ``property.plan`` -> ``plan``,
    ``cohort:week`` -> ``cohort_week``."""
    key = _check(key)
    if key in ("channel", "campaign", "source", "medium", "device", "landing_page"):
        return f"first_{key}" if key not in ("device", "landing_page") else key
    return key.replace("property.", "").replace("cohort:", "cohort_")


def _moment(events: ir.Table, value: ir.Value) -> ir.StructValue:
    return ibis.struct({"ts": events.timestamp, "event_id": events.event_id.cast("string"), "v": value.cast("string")})


def segment_table(events: ir.Table, keys: list[str], entries: ir.Table | None = None) -> ir.Table:
    """One row per customer: ``customer_id`` and a column per segment key (see :func:`column_name`).

    ``cohort:*`` and ``stage`` need the stage ``entries``.
    """
    keys = [_check(k) for k in keys]
    aggregates: dict[str, ir.Value] = {}
    for key in keys:
        name = column_name(key)
        if key in _FIRST:
            value = events[_FIRST[key]]
            aggregates[name] = _moment(events, value).min().v
        elif key == "last_channel":
            aggregates[name] = _moment(events, events.channel).max().v
        elif key in ("device", "landing_page") or key.startswith("property."):
            if key == "device":
                value = property_value(events, "device")
            elif key == "landing_page":
                value = ibis.ifelse(events.type.isin(["page", "screen"]), url_path(events.url.cast("string")),
                                    ibis.null("string"))
            else:
                value = property_value(events, key[len("property."):])
            hit = ibis.ifelse(value.isnull(), ibis.null(_moment(events, value).type()), _moment(events, value))
            aggregates[name] = (hit.max() if key.startswith("property.") else hit.min()).v
    table = events.group_by("customer_id").aggregate(_n=events.count(), **aggregates).drop("_n")
    staged = [k for k in keys if k.startswith("cohort:") or k == "stage"]
    if staged:
        if entries is None:
            raise ConfigError(f"segment key '{staged[0]}' needs the stage entries", field="by",
                              hint="pass entries= (jm.stages() does)")
        first = entries.filter(entries.stage_index == 0).select("customer_id", _entered=entries.entered_at)
        current = entries.filter(entries.is_current).select("customer_id", _stage=entries.stage)
        table = table.left_join(first, "customer_id").drop("customer_id_right")
        table = table.left_join(current, "customer_id").drop("customer_id_right")
        extra = {}
        for key in staged:
            if key == "stage":
                extra["stage"] = table._stage
            else:
                unit = key.split(":")[1]
                extra[column_name(key)] = table._entered.truncate("W" if unit == "week" else "M").date().cast("string")
        table = table.mutate(**extra).drop("_entered", "_stage")
    return table.select("customer_id", *[column_name(k) for k in keys])


def parse_segment(text: str) -> list[tuple[str, str, str]]:
    """``"channel=email,device!=mobile"`` -> [(key, op, value), ...]; errors name the part."""
    conditions = []
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        match = re.match(r"^([^=!]+?)\s*(!=|=)\s*(.*)$", part)
        if not match or not match.group(3).strip():
            raise ConfigError(f"segment '{part}' is not KEY=VALUE or KEY!=VALUE", field="segment",
                              hint="e.g. --segment channel=email (keys: " + ", ".join(SEGMENT_KEYS) + ")")
        conditions.append((_check(match.group(1), "segment"), match.group(2), match.group(3).strip()))
    if not conditions:
        raise ConfigError("empty segment", field="segment", hint="e.g. --segment channel=email")
    return conditions


def customers_in_segment(events: ir.Table, segment: str, entries: ir.Table | None = None) -> ir.Table:
    """The ``customer_id`` of every customer the segment filter ``KEY=VALUE[,...]`` selects."""
    conditions = parse_segment(segment)
    table = segment_table(events, [k for k, _, _ in conditions], entries)
    keep = ibis.literal(True)
    for key, op, value in conditions:
        column = table[column_name(key)].lower()
        test = (column == value.lower()).fill_null(False)
        keep = keep & (test if op == "=" else ~test)
    return table.filter(keep).select("customer_id")


def join_breakdown(table: ir.Table, breakdown: ir.Table | None, by: Sequence[str] | None = None) -> ir.Table:
    """``table`` with the ``by`` columns (default: all) of ``breakdown`` (customer_id + columns,
    as :func:`segment_table` gives) joined on customer_id; customers missing from ``breakdown``
    get NULL. Every analysis adds its breakdown this way.

    >>> t = ibis.memtable({"customer_id": ["a", "b"], "n": [1, 2]})
    >>> b = ibis.memtable({"customer_id": ["a"], "device": ["mobile"]})
    >>> sorted(tuple(r.values()) for r in join_breakdown(t, b).to_pyarrow().to_pylist())
    [('a', 1, 'mobile'), ('b', 2, None)]
    """
    if by is None:
        by = [c for c in breakdown.columns if c != "customer_id"] if breakdown is not None else []
    if not by:
        return table
    if breakdown is None:
        raise ConfigError("a breakdown needs a breakdown table", field="by", hint="pass breakdown=")
    missing = [b for b in by if b not in breakdown.columns]
    if missing:
        raise ConfigError(f"breakdown column '{missing[0]}' is not in the breakdown table", field="by",
                          hint="columns: " + ", ".join(c for c in breakdown.columns if c != "customer_id"))
    joined = table.left_join(breakdown.select("customer_id", *by), "customer_id")
    return joined.select(*table.columns, *by)
