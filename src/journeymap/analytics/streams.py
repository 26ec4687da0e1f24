"""Windows that stream a table in storage order: the fast paths for the DuckDB store.

The store keeps ``events`` sorted by (customer_id, timestamp, event_id), so an unpartitioned,
unordered window (``OVER ()``) sees every customer's touchpoints in journey order, one customer
after another, and DuckDB computes it while reading the table, with no sort. Sessions, path
nodes and transitions use these on the store; everywhere else they use windows partitioned by
customer and ordered by (timestamp, event_id), and tests check both give the same result.
Only hand these a plain scan of the store with filters and projections: a join or a union in
between loses the order.

>>> import ibis
>>> t = ibis.memtable({"customer_id": ["a", "a", "a", "b"], "n": [1, 2, 3, 4]})
>>> t = t.mutate(first=first_of_customer(t), row=ibis.row_number().over(STREAM))
>>> [(r["first"], r["since"]) for r in t.mutate(since=since_mark(t.row, t.first)).to_pyarrow().to_pylist()]
[(True, 0), (False, 1), (False, 2), (True, 0)]
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

__all__ = ["RUNNING", "STREAM", "first_of_customer", "since_mark"]

#: Every row in storage order.
STREAM = ibis.window()
#: From the first row up to this one, in storage order.
RUNNING = ibis.window(preceding=None, following=0)


def first_of_customer(t: ir.Table) -> ir.BooleanValue:
    """True on each customer's first row (the row before belongs to someone else, or none does)."""
    return (t.customer_id.lag().over(STREAM) != t.customer_id).fill_null(True)


def since_mark(value: ir.IntegerValue, mark: ir.BooleanValue) -> ir.IntegerValue:
    """``value`` minus its value on the latest row (this one included) where ``mark`` holds:
    with a running count or row number as ``value``, a number that restarts at every mark."""
    return value - ibis.ifelse(mark, value, ibis.null(value.type())).max().over(RUNNING)
