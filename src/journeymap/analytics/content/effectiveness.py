"""Which content moves customers to the next stage: readers against non-readers, per stage.

For a content item *c* and a stage *S* (not the last) with next stage *S+1*:

- **consumers**: customers who viewed *c* while in *S* (the stage at the touchpoint, see
  :func:`journeymap.stages.stage_at_touchpoint`: entered_at <= view < exited_at, ties by
  event_id; the touchpoint that triggers a stage belongs to it, views before the first stage
  belong to none); **consumers_advanced**: those of them who reached *S+1* (an entry for
  *S+1*, skipped or not);
- **others**: customers who were in *S* for real (an entry for *S* that is not ``skipped``)
  and did not view *c* there; **others_advanced**: those of them who reached *S+1*;
- **rate_consumers** / **rate_others**: advanced / customers, each with a Wilson score 95%
  interval (``*_lo``, ``*_hi``);
- **uplift**: rate_consumers - rate_others, with Newcombe's hybrid score 95% interval (method
  10 of Newcombe 1998, built from the two Wilson intervals); **lift**: rate_consumers /
  rate_others (NULL when rate_others is 0).

Rows are ranked by the uplift's lower bound (then uplift, consumers, content_id, stage): the top
row is the content whose effect is largest *and* surest. Counting is portable Ibis; the interval
maths is Ibis arithmetic too (``sqrt``), so everything runs on the backend of the input tables.

A content item whose own stage (by :func:`~journeymap.analytics.content.classify_content`) is
*later* than *S* is by default left out for *S*: viewing it there is a step of advancing (the
cart page viewed in decision, the order confirmation before the order event), not content that
moves a customer. ``content_stages="all"`` keeps every item.

**advanced_in_visit** counts consumers who entered *S+1* less than ``visit_minutes`` (30) after
their last view of the item in *S*: the view was part of the visit that moved them on. When
that is more than half of consumers_advanced the row is a **step** (the page is on the way
to the next stage's trigger, like the checkout pages before a repeat order): step rows are
ranked after every other row, whatever their uplift, because their uplift is mechanical.

>>> [round(x, 4) for x in wilson_interval(8, 10)]
[0.4902, 0.9433]
>>> [round(x, 4) for x in newcombe_interval(56, 70, 48, 80)]
[0.0524, 0.3339]
"""

from __future__ import annotations

import math
from typing import Any

import ibis
import ibis.expr.types as ir

from ...errors import ConfigError
from ...stages import stage_at_touchpoint
from .catalogue import content_catalogue, content_views, require_columns
from .classify import DEFAULT_MIN_SCORE, _stages, classify_content

__all__ = [
    "CONTENT_STAGE_CHOICES", "DEFAULT_MIN_CUSTOMERS", "DEFAULT_VISIT_MINUTES", "EFFECTIVENESS_COLUMNS", "Z95", "content_effectiveness",
    "newcombe_interval", "stage_spans", "wilson_interval",
]

#: The normal quantile of a two-sided 95% interval.
Z95 = 1.959963984540054
#: Consumers and others an (item, stage) row needs at the least (each).
DEFAULT_MIN_CUSTOMERS = 20
#: A view this close before the customer entered the next stage was part of the visit that moved them.
DEFAULT_VISIT_MINUTES = 30
#: ``content_stages``: "up_to_stage" drops items whose own stage is later than the stage they
#: were viewed in; "all" keeps every item.
CONTENT_STAGE_CHOICES = ("up_to_stage", "all")

EFFECTIVENESS_COLUMNS = (
    "rank", "content_id", "title", "content_stage", "stage", "stage_index", "next_stage",
    "consumers", "consumers_advanced", "rate_consumers", "rate_consumers_lo", "rate_consumers_hi",
    "others", "others_advanced", "rate_others", "rate_others_lo", "rate_others_hi",
    "uplift", "uplift_lo", "uplift_hi", "lift", "advanced_in_visit", "step",
)

_ENTRY_COLUMNS = ("customer_id", "stage", "stage_index", "entered_at", "exited_at", "skipped")


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion (plain Python; the reference for the Ibis version).

    >>> [round(x, 4) for x in wilson_interval(0, 10)]
    [0.0, 0.2775]
    """
    if n <= 0:
        raise ValueError("n must be positive")
    p = successes / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(center - half, 0.0), min(center + half, 1.0)


def newcombe_interval(k1: int, n1: int, k2: int, n2: int, z: float = Z95) -> tuple[float, float]:
    """Newcombe's hybrid score interval of p1 - p2 (method 10), from the Wilson intervals."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, z)
    l2, u2 = wilson_interval(k2, n2, z)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def _wilson_expr(k: ir.NumericValue, n: ir.NumericValue, z: float = Z95) -> tuple[ir.FloatingValue, ...]:
    """Ibis: (rate, lo, hi) of k successes in n > 0 trials."""
    n = n.cast("float64")
    p = k.cast("float64") / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * (p * (1 - p) / n + z * z / (4 * n * n)).sqrt() / denom
    return p, ibis.greatest(center - half, 0.0), ibis.least(center + half, 1.0)


def _check_entries(entries: ir.Table) -> ir.Table:
    require_columns(entries, _ENTRY_COLUMNS, "the stage entries table",
                    "pass the result of journeymap.stages.assign_stages(events, model)")
    return entries


def stage_spans(views: ir.Table, entries: ir.Table) -> ir.Table:
    """``views`` plus ``stage`` and ``stage_index`` (NULL before the first stage entry), by
    :func:`journeymap.stages.stage_at_touchpoint`. ``entries`` without ``trigger_event_id`` /
    ``exit_event_id`` are read as the contract's ``entered_at <= timestamp < exited_at``."""
    return stage_at_touchpoint(views, _check_entries(entries))


def content_effectiveness(
    events: ir.Table, entries: ir.Table, model: Any, *, min_customers: int = DEFAULT_MIN_CUSTOMERS,
    content_stages: str = "up_to_stage", classified: ir.Table | None = None, catalogue: ir.Table | None = None,
    min_score: float = DEFAULT_MIN_SCORE, visit_minutes: float = DEFAULT_VISIT_MINUTES,
) -> ir.Table:
    """Per content item and stage: did customers who viewed it in that stage reach the next
    stage more often than those who did not? (See the module docs for every column.)

    ``min_customers``: rows need at least this many consumers and this many others.
    ``content_stages``: ``"up_to_stage"`` (default) or ``"all"`` (see the module docs).
    ``classified`` / ``catalogue``: reuse results already computed (else computed here, with
    ``min_score``). Columns: :data:`EFFECTIVENESS_COLUMNS`, ordered by ``rank`` (1 = best).
    ``content_stage`` is the item's own stage (NULL if unclassified).
    """
    if not isinstance(min_customers, int) or min_customers < 1:
        raise ConfigError(f"min_customers must be a whole number >= 1 (got {min_customers!r})",
                          field="content.min_customers", hint="e.g. 20")
    if content_stages not in CONTENT_STAGE_CHOICES:
        raise ConfigError(f"content_stages must be one of {', '.join(CONTENT_STAGE_CHOICES)} (got {content_stages!r})",
                          field="content.content_stages", hint='"up_to_stage" leaves out later-stage content')
    stages = _stages(model)
    entries = _check_entries(entries)
    views = content_views(events)
    if catalogue is None:
        catalogue = content_catalogue(events)
    if classified is None:
        classified = classify_content(catalogue, model, min_score=min_score)
    require_columns(classified, ("content_id", "stage", "stage_index"), "the classified content table",
                    "pass the result of classify_content(catalogue, model)")

    # who was in each stage for real, and who reached the next one
    real = entries.filter(~entries.skipped.fill_null(False))
    reached = entries.group_by(_c="customer_id", _i="stage_index").aggregate(_at=entries.entered_at.min())
    real = real.left_join(reached, [real.customer_id == reached._c, real.stage_index + 1 == reached._i])
    real = real.select("customer_id", "stage", "stage_index", advanced=real._i.notnull(), next_entered_at=real._at)
    stage_totals = real.group_by(["stage", "stage_index"]).aggregate(
        in_stage=real.customer_id.nunique(),
        in_stage_advanced=real.customer_id.nunique(where=real.advanced))

    # who viewed each item while in each stage
    staged = stage_spans(views.select("event_id", "customer_id", "timestamp", "content_id"), entries)
    staged = staged.filter(staged.stage.notnull())
    consumed = staged.group_by(["content_id", "customer_id", "stage", "stage_index"]).aggregate(
        last_view=staged.timestamp.max())
    reader = consumed.join(real, [consumed.customer_id == real.customer_id, consumed.stage_index == real.stage_index])
    in_visit = reader.advanced & (reader.next_entered_at <= reader.last_view + ibis.interval(minutes=visit_minutes))
    reader = reader.select(consumed.content_id, consumed.stage, consumed.stage_index, consumed.customer_id,
                           real.advanced, in_visit=in_visit)
    per_item = reader.group_by(["content_id", "stage", "stage_index"]).aggregate(
        consumers=reader.customer_id.nunique(),
        consumers_advanced=reader.customer_id.nunique(where=reader.advanced),
        advanced_in_visit=reader.customer_id.nunique(where=reader.in_visit))

    rows = per_item.join(stage_totals, ["stage", "stage_index"])
    rows = rows.filter(rows.stage_index < len(stages) - 1)  # the last stage has no next stage
    rows = rows.mutate(next_stage=ibis.cases(
        *[(rows.stage_index == int(s.index) - 1, s.name) for s in stages[1:]], else_=ibis.null("string")))
    rows = rows.mutate(others=rows.in_stage - rows.consumers,
                       others_advanced=rows.in_stage_advanced - rows.consumers_advanced)
    rows = rows.filter((rows.consumers >= min_customers) & (rows.others >= min_customers))

    titles = catalogue.select("content_id", "title")
    own = classified.select(_cid="content_id", content_stage="stage", _content_index="stage_index")
    info = titles.left_join(own, titles.content_id == own._cid)
    info = info.select("content_id", "title", "content_stage", "_content_index")
    rows = rows.left_join(info, rows.content_id == info.content_id).select(
        rows, info.title, info.content_stage, info._content_index)
    if content_stages == "up_to_stage":
        rows = rows.filter(rows._content_index.isnull() | (rows._content_index <= rows.stage_index))

    rate_c, lo_c, hi_c = _wilson_expr(rows.consumers_advanced, rows.consumers)
    rate_o, lo_o, hi_o = _wilson_expr(rows.others_advanced, rows.others)
    rows = rows.mutate(rate_consumers=rate_c, rate_consumers_lo=lo_c, rate_consumers_hi=hi_c,
                       rate_others=rate_o, rate_others_lo=lo_o, rate_others_hi=hi_o)
    d = rows.rate_consumers - rows.rate_others
    lo = d - ((rows.rate_consumers - rows.rate_consumers_lo) ** 2 + (rows.rate_others_hi - rows.rate_others) ** 2).sqrt()
    hi = d + ((rows.rate_consumers_hi - rows.rate_consumers) ** 2 + (rows.rate_others - rows.rate_others_lo) ** 2).sqrt()
    lift = ibis.ifelse(rows.rate_others > 0, rows.rate_consumers / rows.rate_others, ibis.null("float64"))
    rows = rows.mutate(uplift=d, uplift_lo=lo, uplift_hi=hi, lift=lift,
                       step=2 * rows.advanced_in_visit > rows.consumers_advanced)
    ranked = rows.mutate(rank=ibis.row_number().over(order_by=[
        "step", ibis.desc("uplift_lo"), ibis.desc("uplift"), ibis.desc("consumers"), "content_id",
        "stage_index"]) + 1)
    out = ranked.select(
        rank=ranked["rank"].cast("int64"), content_id=ranked.content_id, title=ranked.title,
        content_stage=ranked.content_stage, stage=ranked.stage, stage_index=ranked.stage_index.cast("int64"),
        next_stage=ranked.next_stage, consumers=ranked.consumers.cast("int64"),
        consumers_advanced=ranked.consumers_advanced.cast("int64"), rate_consumers=ranked.rate_consumers,
        rate_consumers_lo=ranked.rate_consumers_lo, rate_consumers_hi=ranked.rate_consumers_hi,
        others=ranked.others.cast("int64"), others_advanced=ranked.others_advanced.cast("int64"),
        rate_others=ranked.rate_others, rate_others_lo=ranked.rate_others_lo, rate_others_hi=ranked.rate_others_hi,
        uplift=ranked.uplift, uplift_lo=ranked.uplift_lo, uplift_hi=ranked.uplift_hi, lift=ranked.lift,
        advanced_in_visit=ranked.advanced_in_visit.cast("int64"), step=ranked.step,
    )
    return out.order_by("rank")
