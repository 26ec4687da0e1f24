"""Column mapping: a source's own column names -> canonical touchpoint columns.

Explicit mappings (``--map ts=timestamp`` or ``[ingest] map`` in journeymap.toml) win;
otherwise common spellings are recognised (``messageId``, ``anonymousId``, ``event_time``...).
Columns that match nothing are kept, as JSON, in ``properties``.

>>> plan = plan_columns(["ts", "Customer", "action", "colour"], {"customer": "user_id", "ts": "timestamp"})
>>> plan.renames
{'ts': 'timestamp', 'Customer': 'user_id', 'action': 'event'}
>>> plan.extras
['colour']
>>> parse_map_option("customer=user_id, ts=timestamp")
{'customer': 'user_id', 'ts': 'timestamp'}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import ConfigError
from ..schema import column_names

__all__ = ["INPUT_COLUMNS", "ColumnPlan", "parse_map_option", "plan_columns", "snake_case"]

#: Columns a source may supply: the canonical ones a loader reads, plus ``email`` in clear
#: (hashed on the way in). customer_id and load_id are always computed, never read.
INPUT_COLUMNS: tuple[str, ...] = tuple(
    c for c in column_names() if c not in ("customer_id", "load_id", "source")
) + ("email",)

_ALIASES: dict[str, tuple[str, ...]] = {
    "event_id": ("message_id", "event_uuid", "uuid", "eventid"),
    "timestamp": ("ts", "time", "event_time", "event_timestamp", "occurred_at", "datetime", "created_at"),
    "type": ("event_type", "message_type"),
    "event": ("event_name", "action", "activity"),
    "anonymous_id": ("anon_id", "cookie_id", "visitor_id", "anonymousid"),
    "user_id": ("customer_id", "userid", "customer", "contact_id"),
    "email": ("email_address", "e_mail", "mail"),
    "device_id": ("deviceid",),
    "previous_id": ("previousid",),
    "referrer": ("referer", "page_referrer", "referrer_url"),
    "url": ("page_url", "current_url", "href", "page_location"),
    "page_title": ("title", "page_name"),
    "revenue": ("amount", "order_total"),
}
_ALIAS_TO_CANONICAL = {alias: canon for canon, names in _ALIASES.items() for alias in names}


def snake_case(name: str) -> str:
    """``messageId`` -> ``message_id``; ``Page URL`` -> ``page_url``.

    >>> snake_case("anonymousId"), snake_case(" Page URL ")
    ('anonymous_id', 'page_url')
    """
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip())
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def parse_map_option(text: str) -> dict[str, str]:
    """Parse the CLI's ``--map`` value ``theirs=ours,theirs2=ours2``."""
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            raise ConfigError(
                f"--map entry '{part}' has no '='", field="--map",
                hint="write YOUR_COLUMN=CANONICAL_COLUMN pairs, e.g. --map customer=user_id,ts=timestamp",
            )
        theirs, ours = (s.strip() for s in part.split("=", 1))
        mapping[theirs] = ours
    return mapping


@dataclass
class ColumnPlan:
    """How one file's columns become canonical ones."""

    renames: dict[str, str] = field(default_factory=dict)  # source name -> canonical name
    extras: list[str] = field(default_factory=list)  # source names kept in properties
    unused_map_keys: list[str] = field(default_factory=list)  # explicit map entries the file lacks


def plan_columns(source_columns: list[str], mapping: dict[str, str] | None = None) -> ColumnPlan:
    """Decide, for one file, which source column feeds which canonical column."""
    mapping = mapping or {}
    for theirs, ours in mapping.items():
        if ours not in INPUT_COLUMNS:
            raise ConfigError(
                f"column map sends '{theirs}' to '{ours}', which is not a canonical column",
                field=f"ingest.map.{theirs}",
                hint="map to one of: " + ", ".join(INPUT_COLUMNS),
            )
    by_lower = {k.lower(): v for k, v in mapping.items()}
    present = {c.lower() for c in source_columns}
    # canonical names the map fills from a column this file has: the file's own column of that
    # name (if any) then goes to properties instead
    claimed = {v for k, v in mapping.items() if k.lower() in present}
    plan = ColumnPlan()
    taken: set[str] = set()
    explicit_hits = set()
    # pass 1: explicit mappings, then exact canonical names
    for col in source_columns:
        target = mapping.get(col) or by_lower.get(col.lower())
        if target:
            explicit_hits.add(col.lower())
        elif snake_case(col) in INPUT_COLUMNS and snake_case(col) not in claimed:
            target = snake_case(col)
        if target and target not in taken:
            plan.renames[col] = target
            taken.add(target)
    # pass 2: recognised aliases for what is still missing
    for col in source_columns:
        if col in plan.renames:
            continue
        target = _ALIAS_TO_CANONICAL.get(snake_case(col))
        if target and target not in taken and target not in claimed:
            plan.renames[col] = target
            taken.add(target)
        else:
            plan.extras.append(col)
    plan.unused_map_keys = [k for k in mapping if k.lower() not in explicit_hits]
    return plan
