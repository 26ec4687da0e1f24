"""Identifiers on touchpoints -> identifier nodes and the links between them.

A touchpoint's identifiers are the columns named by ``identity.identifiers`` (most trusted
first). A value is *junk* - absent - when it is NULL or, trimmed and lower-cased, one of
``identity.junk_ids``. Every pair of non-junk identifiers seen on one touchpoint is a link;
``alias`` touchpoints also link ``user_id`` to the identifier named by ``previous_id``.

>>> import ibis, pyarrow as pa
>>> from journeymap.config import IdentitySettings
>>> events = ibis.memtable(pa.table({
...     "event_id": ["e1", "e2"], "type": ["identify", "page"],
...     "timestamp": pa.array([1, 2], pa.timestamp("s", tz="UTC")),
...     "anonymous_id": ["a1", "a1"], "user_id": ["u1", " NULL "],
...     "email_hash": ["h1", None], "device_id": [None, None],
...     "previous_id": [None, None], "properties": [None, None]}))
>>> links = identity_links(events, IdentitySettings())
>>> sorted((r["left_id"], r["right_id"], r["via"]) for r in links.to_pyarrow().to_pylist())
[('h1', 'a1', 'identify'), ('u1', 'a1', 'identify'), ('u1', 'h1', 'identify')]
>>> nodes = identity_nodes(events, IdentitySettings()).order_by("id_value")
>>> [(r["id_type"], r["id_value"], r["events"]) for r in nodes.to_pyarrow().to_pylist()]
[('anonymous_id', 'a1', 2), ('email_hash', 'h1', 1), ('user_id', 'u1', 1)]
"""

from __future__ import annotations

import functools
import operator
import re

import ibis
import ibis.expr.types as ir

from ..config import IdentitySettings
from ..errors import ConfigError
from ..touchpoints import property_value

__all__ = ["LINK_COLUMNS", "NODE_COLUMNS", "identifier_value", "identity_links", "identity_nodes",
           "is_junk", "junk_values", "type_rank"]

LINK_COLUMNS = ("left_type", "left_id", "right_type", "right_id", "first_seen", "event_id", "via")
NODE_COLUMNS = ("id_type", "id_value", "first_seen", "events")
PROPERTY_PREFIX = "properties."
_BLANKS = (" ", "\t", "\r", "\n")
_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def check_settings(settings: IdentitySettings) -> None:
    """Raise :class:`ConfigError` for identifier lists stitching cannot use."""
    names = settings.identifiers
    if len(set(names)) != len(names):
        raise ConfigError("an identifier is listed twice", field="identity.identifiers",
                          hint="list each identifier column once, most trusted first")
    for name in names:
        if name.startswith(PROPERTY_PREFIX) and not _KEY.match(name[len(PROPERTY_PREFIX):]):
            raise ConfigError(f"property identifier '{name}' must name a simple key",
                              field="identity.identifiers", hint="use letters, digits, '_' or '-' only")


def junk_values(settings: IdentitySettings) -> list[str]:
    """The junk ids as compared: trimmed and lower-cased."""
    return sorted({j.strip().lower() for j in settings.junk_ids})


def _trim(value: ir.StringValue) -> ir.StringValue:
    """Trim blanks; the regex runs only on values that start or end with one.

    Not ``strip()``: Ibis writes its '\\v\\f' for Spark, which reads them as 'v' and 'f'.
    """
    edge = functools.reduce(operator.or_, [value.endswith(b) for b in _BLANKS], value.left(1).isin(_BLANKS))
    return ibis.ifelse(edge, value.re_replace(r"^[ \t\r\n]+|[ \t\r\n]+$", ""), value)


def is_junk(value: ir.StringValue, junk: list[str]) -> ir.BooleanValue:
    """True where a non-NULL ``value`` is a junk id (trimmed, case-insensitive)."""
    if not junk:
        return ibis.literal(False)
    return _trim(value).lower().isin(junk)


def identifier_value(events: ir.Table, name: str) -> ir.StringValue:
    """The raw identifier ``name`` of each touchpoint as text (junk not yet removed).

    ``properties.KEY`` reads a flat value of KEY from the JSON text in ``properties``
    (:func:`journeymap.touchpoints.property_value`, with its limits).
    """
    if name.startswith(PROPERTY_PREFIX):
        return property_value(events, name[len(PROPERTY_PREFIX):])
    if name in events.columns:
        return events[name].cast("string")
    raise ConfigError(f"identifier column '{name}' is not a touchpoint column", field="identity.identifiers",
                      hint="use canonical columns (user_id, email_hash, device_id, anonymous_id) or properties.KEY")


def type_rank(id_type: ir.StringValue, settings: IdentitySettings) -> ir.IntegerValue:
    """Trust rank of an identifier type: its place in ``identity.identifiers`` (0 = primary)."""
    names = settings.identifiers
    return ibis.cases(*[(id_type == n, i) for i, n in enumerate(names)], else_=len(names)).cast("int32")


def type_name(rank: ir.IntegerValue, settings: IdentitySettings) -> ir.StringValue:
    """The identifier type of a trust rank."""
    return ibis.cases(*[(rank == i, n) for i, n in enumerate(settings.identifiers)], else_=ibis.null("string"))


def _via(events: ir.Table) -> ir.StringValue:
    return ibis.cases((events.type == "identify", "identify"), (events.type == "alias", "alias"),
                      else_="same_event")


# --- alias ---------------------------------------------------------------------------------------

def _aliases(events: ir.Table, settings: IdentitySettings) -> ir.Table | None:
    """alias touchpoints with a usable previous_id and user_id: event_id, timestamp, user_id, previous_id."""
    if "user_id" not in settings.identifiers or not {"previous_id", "user_id", "type"} <= set(events.columns):
        return None
    junk = junk_values(settings)
    rows = events.filter((events.type == "alias") & events.previous_id.notnull() & events.user_id.notnull())
    rows = rows.select("event_id", "timestamp", user_id=rows.user_id.cast("string"),
                       previous_id=rows.previous_id.cast("string"))
    return rows.filter(~is_junk(rows.previous_id, junk) & ~is_junk(rows.user_id, junk)
                       & (rows.previous_id != rows.user_id))


def _values(events: ir.Table, column: str) -> ir.Table:
    values = events.select(_value=events[column].cast("string"))
    return values.filter(values._value.notnull())


def _alias_targets(events: ir.Table, aliases: ir.Table, settings: IdentitySettings) -> list[tuple[str, ir.Table]]:
    """(id_type, alias rows) whose previous_id names a node of that type.

    previous_id joins every existing node with its value of type anonymous_id or user_id;
    where none exists, it is an anonymous_id (a new node).
    """
    targets = []
    users = _values(events, "user_id")
    targets.append(("user_id", aliases.semi_join(users, aliases.previous_id == users._value)))
    if "anonymous_id" in settings.identifiers and "anonymous_id" in events.columns:
        anons = _values(events, "anonymous_id")
        known = aliases.semi_join(anons, aliases.previous_id == anons._value)
        targets.append(("anonymous_id", ibis.union(known, _new_alias_nodes(events, aliases))))
    return targets


def _new_alias_nodes(events: ir.Table, aliases: ir.Table) -> ir.Table:
    """alias rows whose previous_id is no anonymous_id or user_id seen on any touchpoint."""
    users = _values(events, "user_id")
    unseen = aliases.anti_join(users, aliases.previous_id == users._value)
    if "anonymous_id" in events.columns:
        anons = _values(events, "anonymous_id")
        unseen = unseen.anti_join(anons, unseen.previous_id == anons._value)
    return unseen


# --- nodes and links -----------------------------------------------------------------------------

def identity_nodes(events: ir.Table, settings: IdentitySettings) -> ir.Table:
    """Every non-junk identifier: id_type, id_value, first_seen, events (touchpoints carrying it).

    An ``alias`` previous_id seen nowhere else is an anonymous_id node; its ``events`` counts
    the alias touchpoints naming it. Junk is removed after grouping, so the junk test runs
    once per distinct value, not once per touchpoint.
    """
    check_settings(settings)
    junk = junk_values(settings)
    parts = []
    for name in settings.identifiers:
        values = events.select(id_value=identifier_value(events, name), timestamp=events.timestamp)
        values = values.filter(values.id_value.notnull())
        grouped = values.group_by("id_value").agg(first_seen=values.timestamp.min(), events=values.count())
        grouped = grouped.filter(~is_junk(grouped.id_value, junk))
        parts.append(grouped.select(id_type=ibis.literal(name), id_value=grouped.id_value,
                                    first_seen=grouped.first_seen, events=grouped.events))
    aliases = _aliases(events, settings)
    if aliases is not None and "anonymous_id" in settings.identifiers:
        unseen = _new_alias_nodes(events, aliases)
        grouped = unseen.group_by(id_value=unseen.previous_id).agg(first_seen=unseen.timestamp.min(),
                                                                   events=unseen.count())
        parts.append(grouped.select(id_type=ibis.literal("anonymous_id"), id_value=grouped.id_value,
                                    first_seen=grouped.first_seen, events=grouped.events))
    nodes = ibis.union(*parts) if len(parts) > 1 else parts[0]
    return nodes.mutate(events=nodes.events.cast("int64")).select(*NODE_COLUMNS)


def _pair(left_rank, left_id, right_rank, right_id, rows: ir.Table) -> ir.Table:
    """One link row, oriented: the more trusted side left; same type, the smaller value left."""
    left_first = (left_rank < right_rank) | ((left_rank == right_rank) & (left_id <= right_id))
    return rows.select(
        left_rank=ibis.ifelse(left_first, left_rank, right_rank),
        left_id=ibis.ifelse(left_first, left_id, right_id),
        right_rank=ibis.ifelse(left_first, right_rank, left_rank),
        right_id=ibis.ifelse(left_first, right_id, left_id),
        timestamp=rows.timestamp, event_id=rows.event_id, via=rows._via)


def identity_links(events: ir.Table, settings: IdentitySettings) -> ir.Table:
    """Distinct undirected links between identifiers, each with the first touchpoint that made it.

    One row per pair of identifiers seen on one touchpoint (or joined by ``alias``):
    left_type, left_id (the more trusted side; for two ids of one type the smaller),
    right_type, right_id, first_seen (the earliest linking touchpoint's timestamp), event_id
    (that touchpoint; ties broken by the smaller event_id) and via ('identify', 'alias' or
    'same_event', from that touchpoint's type). Only touchpoints carrying two or more
    identifiers are read past a NULL test, so the junk test runs on few rows.
    """
    check_settings(settings)
    junk = junk_values(settings)
    names = settings.identifiers
    raw = [identifier_value(events, name) for name in names]
    parts = []
    if len(names) > 1:
        present = functools.reduce(operator.add, [r.notnull().cast("int32") for r in raw])
        rows = events.select(event_id=events.event_id, timestamp=events.timestamp, _via=_via(events),
                             **{f"_id{i}": r for i, r in enumerate(raw)}, _present=present)
        rows = rows.filter(rows._present >= 2)
        rows = rows.mutate(**{f"_id{i}": ibis.ifelse(is_junk(rows[f"_id{i}"], junk), ibis.null("string"),
                                                      rows[f"_id{i}"]) for i in range(len(names))})
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                both = rows.filter(rows[f"_id{i}"].notnull() & rows[f"_id{j}"].notnull())
                parts.append(_pair(ibis.literal(i), both[f"_id{i}"], ibis.literal(j), both[f"_id{j}"], both))
    aliases = _aliases(events, settings)
    if aliases is not None:
        user_rank = names.index("user_id")
        for target, rows in _alias_targets(events, aliases, settings):
            rows = rows.mutate(_via=ibis.literal("alias"))
            parts.append(_pair(ibis.literal(user_rank), rows.user_id, ibis.literal(names.index(target)),
                               rows.previous_id, rows))
    if not parts:
        none = events.filter(ibis.literal(False))
        parts.append(_pair(ibis.literal(0), none.event_id, ibis.literal(0), none.event_id,
                           none.mutate(_via=ibis.literal("same_event"))))
    raw_links = ibis.union(*parts) if len(parts) > 1 else parts[0]
    keys = ["left_rank", "left_id", "right_rank", "right_id"]
    first = ibis.row_number().over(group_by=keys, order_by=[raw_links.timestamp, raw_links.event_id])
    ranked = raw_links.mutate(_first=first)
    ranked = ranked.filter(ranked._first == 0)
    return ranked.select(
        left_type=type_name(ranked.left_rank, settings), left_id=ranked.left_id,
        right_type=type_name(ranked.right_rank, settings), right_id=ranked.right_id,
        first_seen=ranked.timestamp, event_id=ranked.event_id, via=ranked.via)
