"""Identity stitching: one customer per person, from the identifiers touchpoints carry.

Segment/PostHog semantics in the portable Ibis subset (the same code on DuckDB and Spark):

* identifiers seen on one touchpoint (an identify call with anonymous_id + user_id + email,
  a CRM row with user_id + email) are linked; ``alias`` links ``previous_id`` to ``user_id``;
* connected components of the links are customers, so a touchpoint matching several
  profiles merges them;
* junk ids (``identity.junk_ids``, trimmed and case-insensitive: "", "0", "null",
  "anonymous", ...) and NULL never link anyone and never become a customer;
* the over-merge guard keeps identifiers that would join too many people (a shared kiosk, a
  test login) out of merging and reports them;
* raw ids on touchpoints never change; only ``customer_id`` is written.

:mod:`.links` builds nodes and links, :mod:`.customers` the components and customer_id,
:mod:`.explanation` answers "why is this id that customer".

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
>>> explain(result.links, result.identity_map, "a1").steps[0].to_id
'u1'
"""

from __future__ import annotations

import ibis.expr.types as ir

from ..config import IdentitySettings
from ..engine import materialize
from .customers import MAX_ITERATIONS, StitchResult, assign_customers, stitch
from .explanation import IdentityExplanation, LinkStep, explain
from .links import identity_links, identity_nodes

__all__ = [
    "MAX_ITERATIONS",
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


def stitch_events(events: ir.Table, settings: IdentitySettings, *,
                  max_iterations: int = MAX_ITERATIONS) -> tuple[ir.Table, StitchResult]:
    """Links, nodes, components and customer_id on every touchpoint, in one call.

    Returns the touchpoints with ``customer_id`` (an expression; materialise it where you
    store it) and the :class:`StitchResult` (identity map, over-linked ids, links, rounds).
    """
    links = identity_links(events, settings).pipe(materialize)
    result = stitch(links, identity_nodes(events, settings), settings, max_iterations=max_iterations)
    return assign_customers(events, result.identity_map, settings), result
