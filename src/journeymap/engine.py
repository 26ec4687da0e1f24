"""Small engine helpers every portable computation shares.

:func:`materialize` stores an intermediate result so iterative algorithms (identity stitching's
label propagation) do not re-plan their whole history each round. On DuckDB that is Ibis'
``.cache()`` (a temporary table). On Spark ``.cache()`` keeps the full lineage in the plan,
which grows with every round until the driver runs out of memory planning it, so there the
result is checkpointed locally (lineage cut) and registered as a temporary view.
"""

from __future__ import annotations

import itertools

import ibis.expr.types as ir

__all__ = ["backend_of", "materialize"]

_names = itertools.count()


def backend_of(expr: ir.Table):
    """The Ibis backend an expression runs on (DuckDB for in-memory tables)."""
    return expr._find_backend(use_default=True)


def materialize(expr: ir.Table) -> ir.Table:
    """Compute ``expr`` now and return a table reading the stored result.

    >>> import ibis
    >>> t = materialize(ibis.memtable({"a": [1, 2]}).mutate(b=ibis._.a * 2))
    >>> t.b.sum().execute()
    6
    """
    backend = backend_of(expr)
    if backend.name == "pyspark":
        frame = backend._session.sql(backend.compile(expr)).localCheckpoint(eager=True)
        name = f"_jm_materialized_{next(_names)}"
        frame.createOrReplaceTempView(name)
        return backend.table(name)
    return expr.cache()
