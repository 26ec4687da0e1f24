"""Analysis results: Ibis tables that can draw themselves.

Every behavioural analytic returns an :class:`Analysis`, an ordinary Ibis table (filter it,
join it, ``.to_pandas()``, ``.to_polars()`` it) with one more method, :meth:`Analysis.figure`,
which computes the table and returns a Plotly figure. Operations on it return plain Ibis
tables, so the figure belongs to the result as the analytic returned it.

>>> import ibis
>>> t = analysis(ibis.memtable({"step": ["a", "b"], "customers": [10, 4]}),
...              lambda rows, **kw: {"bars": [r["customers"] for r in rows]}, "funnel")
>>> t.figure(), t.kind, t.count().execute()
({'bars': [10, 4]}, 'funnel', 2)
"""

from __future__ import annotations

from typing import Any, Callable

import ibis.expr.types as ir

__all__ = ["Analysis", "analysis"]

Draw = Callable[..., Any]


class Analysis(ir.Table):
    """An Ibis table with a :meth:`figure` (see the module doc)."""

    kind: str
    _draw: Draw
    _context: dict

    def figure(self, **options: Any):
        """The result drawn as a Plotly figure (``options`` go to the drawing, e.g. ``title``)."""
        rows = self.to_pyarrow().to_pylist()
        return self._draw(rows, **{**self._context, **options})


def analysis(table: ir.Table, draw: Draw, kind: str, **context: Any) -> Analysis:
    """``table`` as an :class:`Analysis` drawn by ``draw(rows, **context, **options)``."""
    result = Analysis(table.op())
    object.__setattr__(result, "kind", kind)
    object.__setattr__(result, "_draw", draw)
    object.__setattr__(result, "_context", dict(context))
    return result
