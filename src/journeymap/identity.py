"""Identity stitching: one customer per person, from the identifiers touchpoints carry.

Segment/PostHog semantics, written in the portable Ibis subset so the same code runs on
DuckDB and Spark:

* identifiers seen on one touchpoint (an identify call with anonymous_id + user_id + email, a
  CRM row with user_id + email) are linked; ``alias`` links ``previous_id`` to ``user_id``;
* connected components of those links are customers; a touchpoint matching several profiles
  merges them;
* junk ids (``settings.junk_ids``: "", "0", "null", "anonymous", ...) never link anyone;
* the over-merge guard: an identifier linked to more than
  ``settings.max_customers_per_identifier`` distinct identifiers of a *more trusted* type (a
  shared kiosk browser used by many logins, a test email typed by many users) is kept out of
  merging and reported;
* raw ids on touchpoints never change; only ``customer_id`` is written.

``customer_id`` is the value of the component's most trusted identifier (the order of
``settings.identifiers``; among equals the smallest value): a user_id names a customer as
itself; a customer known by no user_id is named ``<type>:<value>``, e.g. ``anonymous_id:a1``.

>>> import ibis, pyarrow as pa
>>> from journeymap.config import IdentitySettings
>>> events = ibis.memtable(pa.table({
...     "event_id": ["e1", "e2", "e3"], "type": ["page", "identify", "page"],
...     "timestamp": pa.array([1, 2, 3], pa.timestamp("s", tz="UTC")),
...     "anonymous_id": ["a1", "a1", "a2"], "user_id": [None, "u1", None],
...     "email_hash": [None, None, None], "device_id": [None, None, None],
...     "previous_id": [None, None, None], "properties": [None, None, None]}))
>>> stitched, result = stitch_events(events, IdentitySettings())
>>> sorted(stitched.select("event_id", "customer_id").to_pyarrow().to_pylist(), key=lambda r: r["event_id"])
[{'event_id': 'e1', 'customer_id': 'u1'}, {'event_id': 'e2', 'customer_id': 'u1'}, {'event_id': 'e3', 'customer_id': 'anonymous_id:a2'}]
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir

from .config import IdentitySettings
from .engine import materialize
from .errors import ConfigError, IdentityError

__all__ = [
    "IdentityExplanation",
    "LinkStep",
    "StitchResult",
    "assign_customers",
    "explain",
    "identity_links",
    "identity_nodes",
    "stitch",
    "stitch_events",
]

#: Safety cap on label-propagation rounds (each round at least halves long chains).
MAX_ITERATIONS = 64
_PROPERTY_PREFIX = "properties."


@dataclass
class StitchResult:
    """What stitching produced: the identity map, the over-linked identifiers, the links."""

    identity_map: ir.Table  # id_type, id_value, customer_id
    overlinked: ir.Table  # id_type, id_value, linked_customers, reason
    links: ir.Table  # left_type, left_id, right_type, right_id, first_seen, event_id, via
    iterations: int = 0


@dataclass
class LinkStep:
    """One link on the way from an identifier to the identifier that names its customer."""

    from_type: str
    from_id: str
    to_type: str
    to_id: str
    via: str
    event_id: str
    first_seen: object


@dataclass
class IdentityExplanation:
    """Why ``identifier`` belongs to ``customer_id``: the chain of links, and every identifier."""

    id_type: str
    identifier: str
    customer_id: str
    steps: list[LinkStep] = field(default_factory=list)
    identifiers: list[dict] = field(default_factory=list)
    overlinked: bool = False

    def to_dict(self) -> dict:
        return {
            "id_type": self.id_type, "identifier": self.identifier, "customer_id": self.customer_id,
            "overlinked": self.overlinked, "steps": [vars(s) for s in self.steps],
            "identifiers": self.identifiers,
        }


# --- identifiers on touchpoints ----------------------------------------------------------------

def _check(settings: IdentitySettings) -> None:
    if len(set(settings.identifiers)) != len(settings.identifiers):
        raise ConfigError("an identifier is listed twice", field="identity.identifiers",
                          hint="list each identifier column once, most trusted first")


def _identifier_value(events: ir.Table, name: str, junk: list[str]) -> ir.StringValue:
    """The identifier ``name`` of each touchpoint, NULL when absent or junk."""
    if name.startswith(_PROPERTY_PREFIX):
        key = name[len(_PROPERTY_PREFIX):]
        if not key.replace("_", "").replace("-", "").isalnum():
            raise ConfigError(f"property identifier '{name}' must name a simple key",
                              field="identity.identifiers", hint="use letters, digits, '_' or '-' only")
        # a flat string or number value of the JSON key (portable regex, RE2 and Java alike)
        value = events.properties.cast("string").re_extract(f'"{key}"[ ]*:[ ]*"?([^",}}]+)"?', 1)
        value = ibis.ifelse(value == "", ibis.null("string"), value)
    elif name in events.columns:
        value = events[name].cast("string")
    else:
        raise ConfigError(f"identifier column '{name}' is not a touchpoint column", field="identity.identifiers",
                          hint="use canonical columns (user_id, email_hash, device_id, anonymous_id) or properties.KEY")
    return ibis.ifelse(value.lower().isin(junk), ibis.null("string"), value)


def _junk(settings: IdentitySettings) -> list[str]:
    return sorted({j.strip().lower() for j in settings.junk_ids})


def _with_identifiers(events: ir.Table, settings: IdentitySettings) -> tuple[ir.Table, list[str]]:
    """events plus one cleaned column ``_id<i>`` per identifier (in trust order)."""
    _check(settings)
    junk = _junk(settings)
    columns = {f"_id{i}": _identifier_value(events, name, junk) for i, name in enumerate(settings.identifiers)}
    return events.mutate(**columns), list(columns)


def _via(events: ir.Table) -> ir.StringValue:
    return ibis.cases((events.type == "identify", "identify"), (events.type == "alias", "alias"),
                      else_="same_event")


def identity_nodes(events: ir.Table, settings: IdentitySettings) -> ir.Table:
    """Every non-junk identifier: id_type, id_value, first_seen, events (touchpoints carrying it)."""
    marked, columns = _with_identifiers(events, settings)
    parts = []
    for name, column in zip(settings.identifiers, columns):
        part = marked.filter(marked[column].notnull())
        parts.append(part.group_by(id_value=part[column]).agg(first_seen=part.timestamp.min(), events=part.count())
                     .mutate(id_type=ibis.literal(name)))
    nodes = ibis.union(*parts) if len(parts) > 1 else parts[0]
    return nodes.select("id_type", "id_value", "first_seen", "events")


def _raw_links(events: ir.Table, settings: IdentitySettings) -> ir.Table:
    """One row per (touchpoint, link): each identifier to the touchpoint's most trusted one."""
    marked, columns = _with_identifiers(events, settings)
    names = settings.identifiers
    anchor_value = ibis.coalesce(*[marked[c] for c in columns])
    anchor_type = ibis.cases(*[(marked[c].notnull(), name) for c, name in zip(columns, names)],
                             else_=ibis.null("string"))
    marked = marked.mutate(_anchor_type=anchor_type, _anchor=anchor_value, _via=_via(marked))
    parts = []
    for index, (column, name) in enumerate(zip(columns, names)):
        if index == 0:
            continue  # the most trusted identifier is an anchor, never linked *to* an anchor
        more_trusted = [marked[c].notnull() for c in columns[:index]]
        has_anchor = ibis.or_(*more_trusted) if len(more_trusted) > 1 else more_trusted[0]
        part = marked.filter(marked[column].notnull() & has_anchor)
        parts.append(part.select(
            left_type=part._anchor_type, left_id=part._anchor, right_type=ibis.literal(name),
            right_id=part[column], timestamp=part.timestamp, event_id=part.event_id, via=part._via))
    # alias: previous_id (an anonymous id, or an earlier user id) is the same person as user_id
    if "user_id" in names and "previous_id" in events.columns:
        junk = _junk(settings)
        alias = events.mutate(previous_id=events.previous_id.cast("string"), user_id=events.user_id.cast("string"))
        alias = alias.filter((alias.type == "alias") & alias.previous_id.notnull() & alias.user_id.notnull())
        alias = alias.filter(~alias.previous_id.lower().isin(junk) & ~alias.user_id.lower().isin(junk))
        alias = alias.filter(alias.previous_id != alias.user_id)
        # previous_id is usually an anonymous id; it is an earlier user id only where one exists
        known_users = marked.filter(marked[columns[names.index("user_id")]].notnull()).select(
            _known=marked[columns[names.index("user_id")]]).distinct()
        as_user = alias.semi_join(known_users, alias.previous_id == known_users._known)
        targets = [("anonymous_id", alias)] if "anonymous_id" in names else []
        targets.append(("user_id", as_user))
        for target, rows in targets:
            parts.append(rows.select(
                left_type=ibis.literal("user_id"), left_id=rows.user_id, right_type=ibis.literal(target),
                right_id=rows.previous_id, timestamp=rows.timestamp, event_id=rows.event_id,
                via=ibis.literal("alias")))
    if not parts:
        empty = events.limit(0)
        return empty.select(left_type=ibis.literal("x"), left_id=empty.event_id, right_type=ibis.literal("x"),
                            right_id=empty.event_id, timestamp=empty.timestamp, event_id=empty.event_id,
                            via=ibis.literal("x"))
    return ibis.union(*parts) if len(parts) > 1 else parts[0]


def identity_links(events: ir.Table, settings: IdentitySettings) -> ir.Table:
    """Distinct links between identifiers, each with the first touchpoint that made it.

    Columns: left_type, left_id (the more trusted side), right_type, right_id, first_seen,
    event_id (ties broken by event_id), via ('identify', 'alias' or 'same_event').
    """
    raw = _raw_links(events, settings)
    keys = ["left_type", "left_id", "right_type", "right_id"]
    first = ibis.row_number().over(group_by=keys, order_by=[raw.timestamp, raw.event_id])
    ranked = raw.mutate(_first=first)
    return ranked.filter(ranked._first == 0).select(*keys, first_seen=ranked.timestamp,
                                                     event_id=ranked.event_id, via=ranked.via)


# --- connected components ----------------------------------------------------------------------

def _overlinked(links: ir.Table, settings: IdentitySettings) -> ir.Table:
    """Identifiers linked to more than the allowed number of more-trusted identifiers of one type."""
    rank = {name: i for i, name in enumerate(settings.identifiers)}
    rank_of = lambda col: ibis.cases(*[(col == n, r) for n, r in rank.items()], else_=len(rank))  # noqa: E731
    # links are stored left = more trusted; count, for each right node, distinct left nodes per type
    counted = links.filter(rank_of(links.left_type) < rank_of(links.right_type))
    per_type = counted.group_by(id_type=counted.right_type, id_value=counted.right_id,
                                linked_type=counted.left_type).agg(linked_customers=counted.left_id.nunique())
    limit = settings.max_customers_per_identifier
    over = per_type.filter(per_type.linked_customers > limit)
    worst = over.group_by("id_type", "id_value").agg(linked_customers=over.linked_customers.max(),
                                                     linked_type=over.linked_type.min())
    return worst.select(
        "id_type", "id_value", worst.linked_customers.cast("int64").name("linked_customers"),
        reason=(ibis.literal("linked to ") + worst.linked_customers.cast("string") + " distinct "
                + worst.linked_type + " values (limit " + str(limit) + "); kept out of merging"),
    )


def stitch(links: ir.Table, nodes: ir.Table, settings: IdentitySettings) -> StitchResult:
    """Connected components of ``links`` over ``nodes`` -> the identity map.

    Min-label propagation with pointer jumping over integer node ids; each round is
    materialised (:func:`journeymap.engine.materialize`) and the loop stops when no label changes.
    """
    rank = {name: i for i, name in enumerate(settings.identifiers)}
    overlinked = _overlinked(links, settings).pipe(materialize)
    # number nodes so that the smallest number is the best name: trust order, then value
    numbered = nodes.select("id_type", "id_value").distinct()
    numbered = numbered.mutate(_rank=ibis.cases(*[(numbered.id_type == n, r) for n, r in rank.items()],
                                                else_=len(rank)))
    numbered = numbered.mutate(node=ibis.row_number().over(order_by=[numbered._rank, numbered.id_value]))
    numbered = numbered.select("id_type", "id_value", "node").pipe(materialize)

    bad = overlinked.view().select(bad_type="id_type", bad_value="id_value")
    usable = links.anti_join(bad, [links.right_type == bad.bad_type, links.right_id == bad.bad_value])
    bad_left = overlinked.view().select(bad_type="id_type", bad_value="id_value")
    usable = usable.anti_join(bad_left, [usable.left_type == bad_left.bad_type, usable.left_id == bad_left.bad_value])
    left = numbered.select(left_type="id_type", left_id="id_value", a="node")
    right = numbered.select(right_type="id_type", right_id="id_value", b="node")
    pairs = usable.join(left, ["left_type", "left_id"]).join(right, ["right_type", "right_id"]).select("a", "b")
    edges = ibis.union(pairs, pairs.select(a="b", b="a")).filter(lambda t: t.a != t.b).distinct().pipe(materialize)

    labels = numbered.select("node", label="node").pipe(materialize)
    iterations = 0
    while True:
        iterations += 1
        if iterations > MAX_ITERATIONS:
            raise IdentityError(f"identity stitching did not converge in {MAX_ITERATIONS} rounds",
                                hint="report this with `journeymap identity overlinked` output; "
                                "lowering identity.max_customers_per_identifier limits giant components")
        neighbour = edges.join(labels, edges.b == labels.node).select(node=edges.a, label=labels.label)
        candidate = ibis.union(labels, neighbour).group_by("node").agg(label=ibis._.label.min()).pipe(materialize)
        # pointer jumping: a node takes its label's label
        parents = candidate.view().select(parent="node", parent_label="label")
        hop = candidate.join(parents, candidate.label == parents.parent)
        updated = hop.select("node", label=ibis.least(hop.label, hop.parent_label)).pipe(materialize)
        before = labels.select("node", old_label="label")
        compared = updated.join(before, "node")
        changed = compared.filter(compared.label != compared.old_label).count().to_pyarrow().as_py()
        labels = updated
        if not changed:
            break

    named = labels.join(numbered.select(label="node", name_type="id_type", name_value="id_value"), "label")
    customer = ibis.ifelse(named.name_type == settings.identifiers[0], named.name_value,
                           named.name_type + ":" + named.name_value)
    identity_map = numbered.join(named.select("node", customer_id=customer), "node").select(
        "id_type", "id_value", "customer_id")
    return StitchResult(identity_map=identity_map, overlinked=overlinked, links=links, iterations=iterations)


def assign_customers(events: ir.Table, identity_map: ir.Table, settings: IdentitySettings) -> ir.Table:
    """``events`` with ``customer_id`` from each touchpoint's most trusted non-junk identifier."""
    marked, columns = _with_identifiers(events, settings)
    key_type = ibis.cases(*[(marked[c].notnull(), name) for c, name in zip(columns, settings.identifiers)],
                          else_=ibis.null("string"))
    marked = marked.mutate(_key_type=key_type, _key=ibis.coalesce(*[marked[c] for c in columns]))
    mapping = identity_map.select(_key_type="id_type", _key="id_value", _customer="customer_id")
    joined = marked.left_join(mapping, ["_key_type", "_key"])
    keep = [c for c in events.columns if c != "customer_id"]
    out = joined.select(*keep, customer_id=joined._customer)
    order = [c for c in events.columns if c in out.columns] + ([] if "customer_id" in events.columns else ["customer_id"])
    return out.select(*order)


def stitch_events(events: ir.Table, settings: IdentitySettings) -> tuple[ir.Table, StitchResult]:
    """Links, nodes, components and customer_id on every touchpoint, in one call."""
    links = identity_links(events, settings).pipe(materialize)
    nodes = identity_nodes(events, settings)
    result = stitch(links, nodes, settings)
    identity_map = result.identity_map.pipe(materialize)
    result.identity_map = identity_map
    return assign_customers(events, identity_map, settings), result


# --- explain -----------------------------------------------------------------------------------

def explain(links: ir.Table, identity_map: ir.Table, id_value: str, id_type: str | None = None) -> IdentityExplanation:
    """The chain of links joining ``id_value`` to the identifier that names its customer."""
    matches = identity_map.filter(identity_map.id_value == id_value)
    if id_type:
        matches = matches.filter(matches.id_type == id_type)
    found = matches.to_pyarrow().to_pylist()
    if not found:
        raise IdentityError(f"no identifier '{id_value}'" + (f" of type {id_type}" if id_type else ""),
                            hint="check the value (emails are stored hashed: pass the email_hash), "
                            "or list identifiers with jm.identity_map()")
    if len(found) > 1:
        types = ", ".join(sorted(r["id_type"] for r in found))
        raise IdentityError(f"'{id_value}' exists as several identifier types ({types})",
                            hint="pass --type to say which one")
    start = found[0]
    customer = start["customer_id"]
    members = identity_map.filter(identity_map.customer_id == customer).order_by(["id_type", "id_value"])
    member_rows = members.to_pyarrow().to_pylist()
    member_keys = {(r["id_type"], r["id_value"]) for r in member_rows}
    values = sorted({r["id_value"] for r in member_rows})
    component_links = links.filter(links.left_id.isin(values) | links.right_id.isin(values)).to_pyarrow().to_pylist()
    graph: dict[tuple, list[tuple[tuple, dict]]] = {}
    for link in component_links:
        a, b = (link["left_type"], link["left_id"]), (link["right_type"], link["right_id"])
        if a in member_keys and b in member_keys:
            graph.setdefault(a, []).append((b, link))
            graph.setdefault(b, []).append((a, link))
    target = next(((t, v) for t, v in member_keys if v == customer or f"{t}:{v}" == customer), None)
    origin = (start["id_type"], start["id_value"])
    steps = _shortest_chain(graph, origin, target) if target and target != origin else []
    return IdentityExplanation(id_type=start["id_type"], identifier=id_value, customer_id=customer, steps=steps,
                               identifiers=[{"id_type": t, "id_value": v} for t, v in sorted(member_keys)])


def _shortest_chain(graph, origin, target) -> list[LinkStep]:
    previous: dict[tuple, tuple[tuple, dict] | None] = {origin: None}
    queue = deque([origin])
    while queue:
        node = queue.popleft()
        if node == target:
            break
        for neighbour, link in sorted(graph.get(node, []), key=lambda x: (str(x[1]["first_seen"]), x[1]["event_id"])):
            if neighbour not in previous:
                previous[neighbour] = (node, link)
                queue.append(neighbour)
    if target not in previous:
        return []
    steps, node = [], target
    while previous[node] is not None:
        parent, link = previous[node]
        steps.append(LinkStep(from_type=parent[0], from_id=parent[1], to_type=node[0], to_id=node[1],
                              via=link["via"], event_id=link["event_id"], first_seen=link["first_seen"]))
        node = parent
    return list(reversed(steps))
