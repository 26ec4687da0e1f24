"""Why an identifier belongs to its customer: the chain of links to the identifier naming it.

The customer's links are fetched to Python (one component is small) and searched breadth
first, neighbours in (first_seen, event_id) order, so the chain is the shortest and, among
equally short ones, the earliest - the same on every engine.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone

import ibis.expr.types as ir

from ..config import IdentitySettings
from ..errors import IdentityError

__all__ = ["IdentityExplanation", "LinkStep", "explain"]


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


def explain(links: ir.Table, identity_map: ir.Table, id_value: str, id_type: str | None = None, *,
            overlinked: ir.Table | None = None, settings: IdentitySettings | None = None) -> IdentityExplanation:
    """The chain of links joining ``id_value`` to the identifier that names its customer.

    ``links`` and ``identity_map`` as :func:`stitch_events` made them; ``overlinked`` (optional)
    marks an identifier the over-merge guard kept apart; ``settings`` (default settings when
    omitted) says which identifier type is primary and which values are junk.
    An unknown identifier, or one present under several types with no ``id_type``, raises
    :class:`journeymap.errors.IdentityError`.
    """
    settings = settings or IdentitySettings()
    matches = identity_map.filter(identity_map.id_value == id_value)
    if id_type:
        matches = matches.filter(matches.id_type == id_type)
    found = matches.to_pyarrow().to_pylist()
    if not found:
        what = f"no identifier '{id_value}'" + (f" of type {id_type}" if id_type else "")
        if id_value.strip().lower() in {j.strip().lower() for j in settings.junk_ids}:
            raise IdentityError(what, hint=f"'{id_value}' is a junk id (identity.junk_ids): it never links anyone")
        raise IdentityError(what, hint="check the value (emails are stored hashed: pass the email_hash), "
                            "or list identifiers with jm.identity_map()")
    if len(found) > 1:
        types = ", ".join(sorted(r["id_type"] for r in found))
        raise IdentityError(f"'{id_value}' exists as several identifier types ({types})",
                            hint="pass the type (--type) to say which one")
    start = found[0]
    customer = start["customer_id"]
    members = identity_map.filter(identity_map.customer_id == customer).select("id_type", "id_value")
    member_keys = {(r["id_type"], r["id_value"]) for r in members.to_pyarrow().to_pylist()}
    left = members.select(left_type="id_type", left_id="id_value")
    inside = links.semi_join(left, ["left_type", "left_id"]).to_pyarrow().to_pylist()
    for link in inside:
        link["first_seen"] = _utc(link["first_seen"])
    graph: dict[tuple, list[tuple[tuple, dict]]] = {}
    for link in inside:
        a, b = (link["left_type"], link["left_id"]), (link["right_type"], link["right_id"])
        if a in member_keys and b in member_keys:  # links the guard dropped cross customers
            graph.setdefault(a, []).append((b, link))
            graph.setdefault(b, []).append((a, link))
    primary = settings.identifiers[0]
    target = (primary, customer) if (primary, customer) in member_keys else next(
        (k for k in sorted(member_keys) if f"{k[0]}:{k[1]}" == customer), None)
    origin = (start["id_type"], start["id_value"])
    steps = _shortest_chain(graph, origin, target) if target and target != origin else []
    is_overlinked = False
    if overlinked is not None:
        hit = overlinked.filter((overlinked.id_type == origin[0]) & (overlinked.id_value == origin[1]))
        is_overlinked = hit.count().to_pyarrow().as_py() > 0
    return IdentityExplanation(id_type=origin[0], identifier=id_value, customer_id=customer, steps=steps,
                               identifiers=[{"id_type": t, "id_value": v} for t, v in sorted(member_keys)],
                               overlinked=is_overlinked)


def _utc(value):
    """Timestamps as aware UTC datetimes (Spark hands back naive ones in its UTC session)."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def _shortest_chain(graph: dict, origin: tuple, target: tuple) -> list[LinkStep]:
    previous: dict[tuple, tuple[tuple, dict] | None] = {origin: None}
    queue = deque([origin])
    while queue:
        node = queue.popleft()
        if node == target:
            break
        ordered = sorted(graph.get(node, []), key=lambda x: (x[1]["first_seen"], x[1]["event_id"], x[0]))
        for neighbour, link in ordered:
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
    return steps[::-1]
