"""Links -> customers: the over-merge guard, connected components, customer_id on touchpoints.

Components come from min-label propagation with pointer jumping over integer node numbers,
each round materialised (:func:`journeymap.engine.materialize`: ``.cache()`` on DuckDB, a
local checkpoint on Spark) until no label changes. Nodes are numbered in naming order (trust
rank, then value), so a component's smallest number is the identifier that names it.

>>> import ibis, pyarrow as pa
>>> from journeymap.config import IdentitySettings
>>> links = ibis.memtable({"left_type": ["anonymous_id", "anonymous_id"], "left_id": ["a1", "a2"],
...                        "right_type": ["anonymous_id", "anonymous_id"], "right_id": ["a2", "a3"]})
>>> nodes = ibis.memtable({"id_type": ["anonymous_id"] * 4, "id_value": ["a1", "a2", "a3", "a4"]})
>>> result = stitch(links, nodes, IdentitySettings())
>>> sorted(tuple(r.values()) for r in result.identity_map.to_pyarrow().to_pylist())  # doctest: +NORMALIZE_WHITESPACE
[('anonymous_id', 'a1', 'anonymous_id:a1'), ('anonymous_id', 'a2', 'anonymous_id:a1'),
 ('anonymous_id', 'a3', 'anonymous_id:a1'), ('anonymous_id', 'a4', 'anonymous_id:a4')]
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from ..config import IdentitySettings
from ..engine import materialize
from ..errors import IdentityError
from .links import check_settings, identifier_value, is_junk, junk_values, type_name, type_rank

__all__ = ["MAX_ITERATIONS", "OVERLINKED_COLUMNS", "StitchResult", "assign_customers", "stitch"]

#: Safety cap on label-propagation rounds (pointer jumping needs about log2 of the longest chain).
MAX_ITERATIONS = 64
OVERLINKED_COLUMNS = ("id_type", "id_value", "linked_customers", "reason")


@dataclass
class StitchResult:
    """What stitching produced.

    ``identity_map``: id_type, id_value, customer_id - every non-junk identifier.
    ``overlinked``: id_type, id_value, linked_customers, reason - kept out of merging.
    ``iterations``: label-propagation rounds run (0 when nothing links).
    ``links``: the links stitched (what :func:`identity_links` gave), for storing and explain.
    """

    identity_map: ir.Table
    overlinked: ir.Table
    iterations: int = 0
    links: ir.Table | None = None


def _numbered(links: ir.Table, nodes: ir.Table, settings: IdentitySettings) -> ir.Table:
    """Every node (and link end) once: id_type, id_value, rank, node - numbered in naming order."""
    keys = ibis.union(nodes.select("id_type", "id_value"),
                      links.select(id_type="left_type", id_value="left_id"),
                      links.select(id_type="right_type", id_value="right_id"), distinct=True)
    keys = keys.mutate(rank=type_rank(keys.id_type, settings))
    number = ibis.row_number().over(order_by=[keys.rank, keys.id_value])
    return keys.mutate(node=number.cast("int64")).pipe(materialize)


def _edges(links: ir.Table, numbered: ir.Table) -> ir.Table:
    """Both directions of every link between two distinct nodes: a, b, a_rank, b_rank."""
    left = numbered.select(left_type="id_type", left_id="id_value", a="node", a_rank="rank")
    right = numbered.select(right_type="id_type", right_id="id_value", b="node", b_rank="rank")
    pairs = links.join(left, ["left_type", "left_id"]).join(right, ["right_type", "right_id"])
    pairs = pairs.select("a", "b", "a_rank", "b_rank").filter(ibis._.a != ibis._.b)
    flipped = pairs.select(a="b", b="a", a_rank="b_rank", b_rank="a_rank")
    return ibis.union(pairs, flipped, distinct=True).pipe(materialize)


def _guard(edges: ir.Table, numbered: ir.Table, settings: IdentitySettings) -> ir.Table:
    """Over-linked nodes: node, linked_customers, reason.

    1. A node linked directly to more than the limit of distinct identifiers of one more
       trusted type (a kiosk browser and 8 user ids; a device and 8 emails).
    2. Then, with those set aside, a node that reaches more than the limit of *other* primary
       identifiers within two links (a demo login used on 8 customers' phones, each of whom
       also logged in as themselves).
    """
    limit = settings.max_customers_per_identifier
    trusted = edges.filter(edges.b_rank < edges.a_rank)
    per_type = trusted.group_by("a", "b_rank").agg(linked=trusted.b.nunique())
    over = per_type.filter(per_type.linked > limit)
    over = over.mutate(_first=ibis.row_number().over(group_by="a", order_by="b_rank"))
    over = over.filter(over._first == 0)
    direct = over.select(node="a", linked_customers=over.linked.cast("int64"),
                         reason=ibis.literal("linked to ") + over.linked.cast("string") + " distinct "
                         + type_name(over.b_rank, settings) + f" values (limit {limit}); kept out of merging")
    direct = direct.pipe(materialize)

    kept = _without(edges, direct)
    primary = settings.identifiers[0]
    via_middle = kept.filter(kept.b_rank == 0).select(m="a", p="b")
    itself = numbered.filter(numbered.rank == 0).select(m="node", p="node")
    reach_of = ibis.union(via_middle, itself)
    paths = kept.select(n="a", m="b").join(reach_of, "m")
    paths = paths.filter(paths.p != paths.n)
    reach = paths.group_by("n").agg(linked=paths.p.nunique())
    reach = reach.filter(reach.linked > limit)
    bridging = reach.select(node="n", linked_customers=reach.linked.cast("int64"),
                            reason=ibis.literal("reaches ") + reach.linked.cast("string")
                            + f" other {primary} values within two links (limit {limit}); kept out of merging")
    return ibis.union(direct, bridging).pipe(materialize)


def _without(edges: ir.Table, flagged: ir.Table) -> ir.Table:
    bad_a = flagged.select(bad_a="node")
    bad_b = flagged.view().select(bad_b="node")
    kept = edges.anti_join(bad_a, edges.a == bad_a.bad_a).select(*edges.columns)
    return kept.anti_join(bad_b, kept.b == bad_b.bad_b).select(*edges.columns)


def _components(edges: ir.Table, max_iterations: int) -> tuple[ir.Table, int]:
    """node -> label (the smallest node of its component), for nodes on an edge; rounds run."""
    labels = edges.select(node="a").distinct().mutate(label=ibis._.node).pipe(materialize)
    total = labels.label.sum().to_pyarrow().as_py()
    if total is None:
        return labels, 0
    iterations = 0
    while True:
        if iterations >= max_iterations:
            raise IdentityError(
                f"identity stitching did not converge in {max_iterations} rounds",
                hint="check `journeymap identity overlinked`; a lower identity.max_customers_per_identifier "
                "keeps giant components apart")
        iterations += 1
        neighbour = edges.join(labels, edges.b == labels.node).select(node=edges.a, label=labels.label)
        candidate = ibis.union(labels, neighbour).group_by("node").agg(label=ibis._.label.min()).pipe(materialize)
        parent = candidate.view().select(parent="node", parent_label="label")
        hop = candidate.join(parent, candidate.label == parent.parent)
        labels = hop.select("node", label=ibis.least(hop.label, hop.parent_label)).pipe(materialize)
        # labels only ever decrease, so an unchanged sum means no label changed
        new_total = labels.label.sum().to_pyarrow().as_py()
        if new_total == total:
            return labels, iterations
        total = new_total


def stitch(links: ir.Table, nodes: ir.Table, settings: IdentitySettings, *,
           max_iterations: int = MAX_ITERATIONS) -> StitchResult:
    """Connected components of ``links`` over ``nodes`` -> the identity map and over-linked ids.

    ``nodes`` needs id_type and id_value (:func:`identity_nodes`); link ends missing from it
    are added. customer_id is the smallest primary value of the component (the first type of
    ``identity.identifiers``); a component without one is named ``<id_type>:<value>`` of its
    most trusted, then smallest, identifier. Over-linked identifiers keep no links: each is
    a customer of its own.
    """
    check_settings(settings)
    numbered = _numbered(links, nodes, settings)
    edges = _edges(links, numbered)
    flagged = _guard(edges, numbered, settings)
    labels, iterations = _components(_without(edges, flagged).pipe(materialize), max_iterations)
    found = numbered.left_join(labels, "node")
    found = found.select("id_type", "id_value", label=ibis.coalesce(found.label, found.node)).view()
    names = numbered.view().select(name_node="node", name_type="id_type", name_value="id_value", name_rank="rank")
    named = found.join(names, found.label == names.name_node)
    customer = ibis.ifelse(named.name_rank == 0, named.name_value, named.name_type + ":" + named.name_value)
    identity_map = named.select("id_type", "id_value", customer_id=customer).pipe(materialize)
    over = flagged.join(numbered, "node")
    overlinked = over.select(*OVERLINKED_COLUMNS).pipe(materialize)
    return StitchResult(identity_map=identity_map, overlinked=overlinked, iterations=iterations, links=links)


def assign_customers(events: ir.Table, identity_map: ir.Table, settings: IdentitySettings) -> ir.Table:
    """``events`` with ``customer_id`` (replacing any) from each touchpoint's most trusted non-junk identifier.

    A touchpoint with no non-junk identifier gets NULL. The least trusted identifier needs no
    junk test: it is looked up as it is, and a junk value is in no identity map.
    """
    check_settings(settings)
    junk = junk_values(settings)
    names = settings.identifiers
    raw = [identifier_value(events, name) for name in names]
    usable = [r.notnull() & ~is_junk(r, junk) for r in raw[:-1]]
    key_rank = ibis.cases(*[(u, i) for i, u in enumerate(usable)], else_=len(names) - 1) if usable \
        else ibis.literal(0)
    # the key in a second step, from the rank: the junk tests run once per touchpoint, not twice
    marked = events.mutate(_key_rank=key_rank.cast("int32"), **{f"_raw{i}": r for i, r in enumerate(raw)})
    key = ibis.cases(*[(marked._key_rank == i, marked[f"_raw{i}"]) for i in range(len(names) - 1)],
                     else_=marked[f"_raw{len(names) - 1}"]) if usable else marked._raw0
    marked = marked.mutate(_key=key)
    mapping = identity_map.select(_map_rank=type_rank(identity_map.id_type, settings), _map_key="id_value",
                                  _customer="customer_id")
    joined = marked.left_join(mapping, [marked._key_rank == mapping._map_rank, marked._key == mapping._map_key])
    columns = {c: joined[c] for c in events.columns if c != "customer_id"}
    columns["customer_id"] = joined._customer
    order = list(events.columns) + ([] if "customer_id" in events.columns else ["customer_id"])
    return joined.select(**{c: columns[c] for c in order})
