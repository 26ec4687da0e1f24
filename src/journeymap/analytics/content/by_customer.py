"""Per customer: the stage their recent content says, next to the stage their actions say.

``content_stage`` is the stage most represented among the customer's last ``recent``
views of *classified* content (unclassified items are skipped; views ordered by timestamp
then event_id). A tie goes to the **later** stage: a customer reading as much decision content
as consideration content is already weighing a purchase, and the later stage is the one a
marketer should serve. ``action_stage`` is the current stage from the stage entries.
``agreement`` is true when both are known and equal, false when both are known and differ,
NULL when either is missing (no stage entry, or no classified view).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from .catalogue import content_views, require_columns

__all__ = ["BY_CUSTOMER_COLUMNS", "DEFAULT_RECENT", "content_stage_by_customer"]

#: Views of classified content looked at per customer.
DEFAULT_RECENT = 10

BY_CUSTOMER_COLUMNS = ("customer_id", "action_stage", "action_stage_index", "content_stage", "content_stage_index",
                       "content_views_used", "agreement")


def content_stage_by_customer(events: ir.Table, entries: ir.Table, classified: ir.Table, *,
                              recent: int = DEFAULT_RECENT) -> ir.Table:
    """One row per customer with a current stage or a classified content view.

    Columns: :data:`BY_CUSTOMER_COLUMNS` (``content_views_used`` is how many views decided
    ``content_stage``, at most ``recent``; 0 when none), ordered by customer_id.

    >>> import ibis, datetime as dt
    >>> t = lambda h: dt.datetime(2025, 1, 1, h, tzinfo=dt.timezone.utc)
    >>> events = ibis.memtable({"event_id": ["1", "2", "3"], "timestamp": [t(1), t(2), t(3)],
    ...     "type": ["page"] * 3, "customer_id": ["a"] * 3, "url": ["/blog/x", "/shop/y", "/shop/z"]})
    >>> classified = ibis.memtable({"content_id": ["/blog/x", "/shop/y", "/shop/z"],
    ...     "stage": ["learn", "compare", None], "stage_index": [0, 1, None]})
    >>> entries = ibis.memtable({"customer_id": ["a"], "stage": ["learn"], "stage_index": [0], "is_current": [True]})
    >>> content_stage_by_customer(events, entries, classified).to_pyarrow().to_pylist()
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'customer_id': 'a', 'action_stage': 'learn', 'action_stage_index': 0, 'content_stage': 'compare',
      'content_stage_index': 1, 'content_views_used': 2, 'agreement': False}]
    """
    if not isinstance(recent, int) or recent < 1:
        from ...errors import ConfigError

        raise ConfigError(f"recent must be a whole number >= 1 (got {recent!r})", field="content.recent",
                          hint="e.g. 10 (the last 10 views of classified content)")
    require_columns(entries, ("customer_id", "stage", "stage_index", "is_current"), "the stage entries table",
                    "pass the result of journeymap.stages.assign_stages(events, model)")
    require_columns(classified, ("content_id", "stage", "stage_index"), "the classified content table",
                    "pass the result of classify_content(catalogue, model)")
    views = content_views(events)
    known = classified.filter(classified.stage.notnull()).select(
        _cid="content_id", _stage="stage", _index=classified.stage_index.cast("int64"))
    seen = views.join(known, views.content_id == known._cid)
    seen = seen.mutate(_n=ibis.row_number().over(group_by="customer_id",
                                                 order_by=[ibis.desc("timestamp"), ibis.desc("event_id")]))
    last = seen.filter(seen._n < recent)
    per_stage = last.group_by(["customer_id", "_stage", "_index"]).aggregate(_views=last.count())
    per_stage = per_stage.mutate(
        _total=per_stage._views.sum().over(group_by="customer_id"),
        _rank=ibis.row_number().over(group_by="customer_id", order_by=[ibis.desc("_views"), ibis.desc("_index")]))
    content = per_stage.filter(per_stage._rank == 0).select(
        _c="customer_id", content_stage="_stage", content_stage_index="_index", content_views_used="_total")

    current = entries.filter(entries.is_current).select(
        "customer_id", action_stage="stage", action_stage_index=entries.stage_index.cast("int64"))
    both = current.outer_join(content, current.customer_id == content._c)
    both = both.select(
        customer_id=ibis.coalesce(both.customer_id, both._c), action_stage=both.action_stage,
        action_stage_index=both.action_stage_index, content_stage=both.content_stage,
        content_stage_index=both.content_stage_index,
        content_views_used=both.content_views_used.fill_null(0).cast("int64"),
        agreement=ibis.ifelse(both.action_stage.notnull() & both.content_stage.notnull(),
                              both.action_stage == both.content_stage, ibis.null("boolean")),
    )
    return both.order_by("customer_id")
