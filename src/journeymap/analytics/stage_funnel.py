"""The stage funnel: how many customers reached each stage, how fast, and where they stopped.

Columns (per breakdown group, one row per stage of the model, stages nobody reached included):

- ``customers``: customers who entered the stage (skipped entries count: they are in it);
- ``skipped``: of them, how many entered only because a later stage was reached at once;
- ``conversion_from_previous`` / ``conversion_from_first``: customers / customers of the
  previous / first stage (NULL for the first stage, or when the base is 0);
- ``dropped``: customers - customers of the next stage (0 for the last stage);
- ``median_days_from_previous`` / ``p90_days_from_previous``: days between entering the
  previous stage and this one, over customers who entered both (exact, interpolated quantiles);
- ``median_days_in_stage``: days from entering the stage to leaving it, over customers who
  left it and did not skip it (customers still in it are not counted: their stay is not over).

>>> import ibis, datetime as dt
>>> from ..stages import load_stage_model, assign_stages
>>> day = lambda d: dt.datetime(2025, 1, d, tzinfo=dt.timezone.utc)
>>> events = ibis.memtable({"customer_id": ["a", "a", "b", "b", "c"],
...     "timestamp": [day(1), day(5), day(2), day(3), day(4)], "event_id": ["1", "2", "3", "4", "5"],
...     "type": ["page", "track", "page", "page", "page"],
...     "event": ["page_view", "order_completed", "page_view", "page_view", "page_view"],
...     "channel": ["email", "email", "direct", "direct", "email"],
...     "url": ["https://s.example/shop/tents", None, "https://s.example/", "https://s.example/shop", "https://s.example/"],
...     "properties": [None] * 5})
>>> model = load_stage_model(preset="five-stage")
>>> funnel = stage_funnel(assign_stages(events, model), model)
>>> for row in funnel.select("stage", "customers", "conversion_from_previous", "dropped",
...                          "median_days_from_previous").to_pyarrow().to_pylist()[:3]:
...     print(*row.values())
awareness 3 None 1 None
consideration 2 0.666667 1 0.5
purchase 1 0.5 1 4.0
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from .customers import join_breakdown
from ..stages.model import StageModel
from ..touchpoints import whole_seconds

__all__ = ["FUNNEL_COLUMNS", "stage_funnel"]

FUNNEL_COLUMNS = ("stage", "stage_index", "customers", "skipped", "conversion_from_previous", "conversion_from_first",
                  "dropped", "median_days_from_previous", "p90_days_from_previous", "median_days_in_stage")


def _days(a: ir.TimestampValue, b: ir.TimestampValue) -> ir.FloatingValue:
    return (whole_seconds(b) - whole_seconds(a)) / 86400.0


def stage_funnel(entries: ir.Table, model: StageModel, *, by: list[str] | None = None,
                 segments: ir.Table | None = None) -> ir.Table:
    """The stage funnel of stage ``entries``, optionally broken down by the ``by`` columns of
    ``segments`` (a table with ``customer_id`` and those columns, e.g. from
    :func:`journeymap.analytics.customers.segment_table`). Customers missing from
    ``segments`` fall in a NULL group."""
    by = list(by or [])
    entries = join_breakdown(entries, segments, by)
    per_customer = ibis.window(group_by="customer_id", order_by="stage_index")
    rows = entries.mutate(
        _from_previous=_days(entries.entered_at.lag().over(per_customer), entries.entered_at),
        _stay=ibis.ifelse(entries.exited_at.notnull() & ~entries.skipped, _days(entries.entered_at, entries.exited_at),
                          ibis.null("float64")),
    )
    counted = rows.group_by([*by, "stage_index"]).aggregate(
        customers=rows.count(), skipped=rows.skipped.cast("int64").sum(),
        median_days_from_previous=rows._from_previous.quantile(0.5),
        p90_days_from_previous=rows._from_previous.quantile(0.9),
        median_days_in_stage=rows._stay.quantile(0.5),
    )
    # every stage in every group, so drop-offs to stages nobody reached are counted
    stages = ibis.memtable({"stage": [s.name for s in model.stages], "stage_index": [s.index for s in model.stages]})
    groups = counted.select(*by).distinct() if by else None
    grid = groups.cross_join(stages) if groups is not None else stages
    full = grid.left_join(counted, [*by, "stage_index"] if by else ["stage_index"])
    full = full.select(*by, "stage", "stage_index", *[c for c in counted.columns if c not in (*by, "stage_index")])
    full = full.mutate(customers=full.customers.fill_null(0), skipped=full.skipped.fill_null(0))
    window = ibis.window(group_by=by or None, order_by="stage_index")
    previous = full.customers.lag().over(window)
    first = full.customers.first().over(window)
    nxt = full.customers.lead().over(window)

    def ratio(n, d):
        return ibis.ifelse(d > 0, (n / d).round(6), ibis.null("float64"))

    out = full.mutate(
        conversion_from_previous=ratio(full.customers, previous),
        conversion_from_first=ibis.ifelse(full.stage_index == 0, ibis.null("float64"), ratio(full.customers, first)),
        dropped=(full.customers - nxt.fill_null(full.customers)),
        median_days_from_previous=full.median_days_from_previous.round(4),
        p90_days_from_previous=full.p90_days_from_previous.round(4),
        median_days_in_stage=full.median_days_in_stage.round(4),
    )
    return out.select(*by, *FUNNEL_COLUMNS).order_by([*by, "stage_index"])
