"""Compute a :class:`~journeymap.mapview.model.JourneyMap` from touchpoints and stage entries.

Every number is an aggregate computed in portable Ibis (DuckDB and Spark give the same
result); only the small aggregated tables come back to Python, where they are ranked (ties
broken by name) and turned into sentences. How each number is computed: docs/map.md.

>>> import ibis, datetime as dt
>>> from journeymap.stages import assign_stages, load_stage_model
>>> day = lambda d: dt.datetime(2025, 1, d, tzinfo=dt.timezone.utc)
>>> events = ibis.memtable({"customer_id": ["a", "a", "a", "b", "b"],
...     "timestamp": [day(1), day(2), day(5), day(2), day(3)], "event_id": ["1", "2", "3", "4", "5"],
...     "type": ["page", "page", "track", "page", "page"],
...     "event": ["page_view", "page_view", "order_completed", "page_view", "page_view"],
...     "channel": ["email", "direct", "direct", "paid_search", "direct"],
...     "url": ["https://s.example/blog/tips", "https://s.example/shop/tents", None, "https://s.example/",
...             "https://s.example/shop"],
...     "page_title": ["Tips", "Tents", None, "Home", "Shop"], "properties": [None] * 5})
>>> model = load_stage_model(preset="five-stage")
>>> jm = build_journey_map(events, assign_stages(events, model), model, min_customers=1)
>>> consideration = jm.stage("consideration")
>>> consideration.kpis.customers, consideration.kpis.conversion_to_next
(2, 0.5)
>>> [(c.name, c.count) for c in jm.stage("awareness").touchpoints]
[('email', 1), ('paid_search', 1)]
>>> consideration.pain_points[0]
'1 of 2 customers (50%) did not move on from Consideration to Purchase.'
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any

import ibis
import ibis.expr.types as ir

from ..analytics.content.catalogue import content_id
from ..engine import materialize
from ..errors import InputError
from ..stages import stage_at_touchpoint
from ..touchpoints import number, property_value, url_path
from . import sentiment
from .model import ContentItem, Emotions, JourneyMap, LaneItem, MapStage, StageKpis
from .text import DROP_TAG, SLOW_TAG, opportunities, pain_points

__all__ = ["build_journey_map", "touchpoint_facts"]

#: Touchpoint types that are not touchpoints a customer makes (identity bookkeeping).
_NOT_TOUCHPOINTS = ("identify", "alias")
_CONTENT_TYPES = ("page", "screen")
_ERROR = r"(error|fail)"
_NULL = ibis.null("float64")


def touchpoint_facts(events: ir.Table) -> ir.Table:
    """The columns the map needs from each touchpoint, with facts pulled out of ``properties``:
    ``content_id`` and ``path`` of pages and screens (as the content catalogue defines them), ``device``, ``rating``, ``score`` (NPS),
    ``review_text`` (still JSON-escaped), ``error_code``, ``topic``; ``stage``/``stage_index`` kept."""
    extra = [c for c in ("stage", "stage_index") if c in events.columns]
    url = events.url.cast("string")
    return events.filter(~events.type.isin(_NOT_TOUCHPOINTS)).select(
        "customer_id", "event_id", "timestamp", "type", "event", "channel", *extra,
        content_id=content_id(url), path=url_path(url),
        page_title=events.page_title.cast("string"),
        device=property_value(events, "device"),
        rating=number(property_value(events, "rating")),
        score=number(property_value(events, "score")),
        review_text=property_value(events, "review_text"),
        error_code=property_value(events, "error_code"),
        topic=property_value(events, "topic"),
    )


def _rows(expr: ir.Table) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()


def _restrict(table: ir.Table, customers: ir.Table | None) -> ir.Table:
    if customers is None:
        return table
    if "customer_id" not in customers.columns:
        raise InputError("the customers table has no customer_id column", column="customer_id",
                         hint="pass a table with one customer_id per customer to draw the map for")
    ids = customers.select(_cid=customers.customer_id.cast("string")).distinct()
    return table.semi_join(ids, table.customer_id == ids._cid)


def build_journey_map(
    events: ir.Table,
    entries: ir.Table,
    model: Any,
    *,
    funnel: ir.Table | None = None,
    content: ir.Table | None = None,
    customers: ir.Table | None = None,
    as_of: datetime | None = None,
    top: int = 5,
    title: str | None = None,
    segment: str | None = None,
    min_customers: int = 30,
) -> JourneyMap:
    """Compute the customer journey map of ``events`` staged by ``entries`` under ``model``.

    ``events``: canonical touchpoints; ``entries``: :func:`journeymap.stages.assign_stages`
    output; ``model``: the :class:`~journeymap.stages.StageModel`. Optional: ``funnel`` (the
    stage funnel, for KPIs; computed from ``entries`` when not given), ``content`` (content
    effectiveness per stage, for content uplift), ``customers`` (a table with customer_id:
    draw the map for these customers only, e.g. a segment), ``top`` (items per ranked lane),
    ``min_customers`` (smallest group a pain point or opportunity sentence is made from).
    """
    events = _restrict(events, customers)
    entries = _restrict(entries, customers)
    stages = list(model.stages)
    index_of = {s.name: s.index for s in stages}
    labels = {s.index: s.label for s in stages}

    tagged = touchpoint_facts(stage_at_touchpoint(events, entries))
    tagged = materialize(tagged.filter(tagged.stage_index.notnull()))

    touches = events.filter(~events.type.isin(_NOT_TOUCHPOINTS))
    span = _rows(touches.aggregate(
        start=touches.timestamp.min(), end=touches.timestamp.max(), n=touches.count()))[0]
    for key in ("start", "end"):  # Spark hands back naive UTC datetimes
        if span[key] is not None and span[key].tzinfo is None:
            span[key] = span[key].replace(tzinfo=timezone.utc)
    as_of = as_of or span["end"]

    # customers of each stage and whether they reached the next one
    per_customer = entries.select(
        "customer_id", stage_index=entries.stage_index.cast("int64")).distinct()
    nxt = per_customer.select(_cid=per_customer.customer_id, _prev=per_customer.stage_index - 1)
    reached = per_customer.left_join(
        nxt, (per_customer.customer_id == nxt._cid) & (per_customer.stage_index == nxt._prev)
    ).select("customer_id", "stage_index", reached=ibis.cases((ibis._._cid.notnull(), 1), else_=0))
    reached = materialize(reached)
    total = _rows(reached.aggregate(n=reached.customer_id.nunique()))[0]["n"] or 0

    kpis = _kpis(entries, funnel, model, total)

    actions = _actions(tagged, kpis, top)
    channels = _channels(tagged, reached, top, len(stages))
    contents = _content(tagged, top)
    best_content = _apply_effectiveness(
        contents, _effectiveness(events, entries, model, content, min_customers), index_of)
    # feelings are counted in the stage the customer was in when they gave them: the review or
    # NPS answer that triggers advocacy was given by a buyer
    feelings = touchpoint_facts(stage_at_touchpoint(events, entries, before=True))
    emotions = _emotions(feelings.filter(feelings.stage_index.notnull()))
    problems = _problems(tagged)

    map_stages = []
    for stage in stages:
        i = stage.index
        k = kpis[i]
        ms = MapStage(
            name=stage.name, label=stage.label, index=i, description=stage.description, kpis=k,
            actions=actions.get(i, []), touchpoints=channels["top"].get(i, []),
            content=contents.get(i, []), emotions=emotions.get(i, Emotions()),
        )
        ms.pain_points = pain_points(ms, kpis, labels, problems.get(i, {}), min_customers, len(stages))
        ms.opportunities = opportunities(ms, labels, best_content.get(i, []),
                                         channels["all"].get(i, []), min_customers, len(stages),
                                         channels["baseline"].get(i))
        map_stages.append(ms)
    _mark_largest_drop(map_stages)

    date_range = ""
    if span["start"] is not None:
        date_range = f"{span['start']:%d %b %Y} \u2013 {span['end']:%d %b %Y}"
    who = f"Segment: {segment}" if segment else "All customers"
    subtitle = " \u00b7 ".join(p for p in (who, date_range, f"{total:,} customers") if p)
    return JourneyMap(
        title=title or "Customer journey map", subtitle=subtitle, stages=map_stages, as_of=as_of,
        segment=segment, model_name=getattr(model, "name", None), customers=total,
        touchpoints=span["n"] or 0, start=span["start"], end=span["end"],
    )


def _kpis(entries: ir.Table, funnel: ir.Table | None, model: Any, total: int) -> dict[int, StageKpis]:
    """KPIs per stage from the stage funnel (given, or computed with
    :func:`journeymap.analytics.stage_funnel.stage_funnel`), with customers still in each stage
    from ``entries``; the same definitions are computed from ``entries`` if no funnel is at hand."""
    stages = list(model.stages)
    e = entries.mutate(stage_index=entries.stage_index.cast("int64"))
    base = {r["stage_index"]: r for r in _rows(e.group_by("stage_index").aggregate(
        customers=e.customer_id.nunique(),
        skipped=e.skipped.cast("int64").sum(),
        current=e.is_current.cast("int64").sum(),
        # (a nulled column, not median(where=): Spark wants a constant percentage)
        median_days_in_stage=ibis.ifelse(~e.skipped & e.exited_at.notnull(), e.days_in_stage, _NULL).median(),
        median_days_to_next=ibis.ifelse(e.exited_at.notnull(), e.days_in_stage, _NULL).median(),
    ))}
    from_funnel: dict[int, dict] = {}
    if funnel is None:
        try:
            from ..analytics.stage_funnel import stage_funnel
        except ImportError:
            stage_funnel = None
        if stage_funnel is not None:
            funnel = stage_funnel(entries, model)
    if funnel is not None:
        rows = _rows(funnel)
        from_funnel = {int(r["stage_index"]): r for r in rows}
        if len(from_funnel) != len(rows):
            raise InputError("the stage funnel has more than one row per stage (a breakdown?)",
                             hint="pass stage_funnel(entries, model) without by=, or restrict with customers=")
        for i, r in from_funnel.items():
            if int(r.get("customers") or 0) != int(base.get(i, {}).get("customers") or 0):
                raise InputError(f"the stage funnel counts {r.get('customers')} customers in stage {r.get('stage')} "
                                 f"but the stage entries have {base.get(i, {}).get('customers') or 0}",
                                 hint="compute the funnel from the same (segment's) entries, or leave funnel= out")
    out: dict[int, StageKpis] = {}
    for stage in stages:
        i = stage.index
        row, frow, nrow = base.get(i, {}), from_funnel.get(i, {}), from_funnel.get(i + 1, {})
        customers = int(frow.get("customers", row.get("customers")) or 0)
        last = i == len(stages) - 1
        nxt_customers = int(from_funnel.get(i + 1, base.get(i + 1, {})).get("customers") or 0)
        k = StageKpis(
            customers=customers,
            share=customers / total if total else 0.0,
            conversion_to_next=None if last or not customers else nxt_customers / customers,
            dropped=None if last else customers - nxt_customers,
            median_days_in_stage=_round(frow["median_days_in_stage"] if "median_days_in_stage" in frow
                                        else row.get("median_days_in_stage")),
            median_days_to_next=_round(nrow.get("median_days_from_previous", row.get("median_days_to_next"))),
            p90_days_to_next=_round(nrow.get("p90_days_from_previous")),
            skipped=int(frow.get("skipped", row.get("skipped")) or 0),
            current=int(row["current"]) if row.get("current") is not None else None,
        )
        if last:
            k.median_days_to_next = k.p90_days_to_next = None
        out[i] = k
    return out


def _round(value: Any, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


def _actions(tagged: ir.Table, kpis: dict[int, StageKpis], top: int) -> dict[int, list[LaneItem]]:
    tracks = tagged.filter(tagged.type == "track")
    rows = _rows(tracks.group_by("stage_index", "event").aggregate(
        count=tracks.count(), customers=tracks.customer_id.nunique()))
    out: dict[int, list[LaneItem]] = defaultdict(list)
    for r in sorted(rows, key=lambda r: (r["stage_index"], -r["customers"], -r["count"], r["event"] or "")):
        if len(out[r["stage_index"]]) < top:
            stage_customers = kpis[r["stage_index"]].customers if r["stage_index"] in kpis else 0
            out[r["stage_index"]].append(LaneItem(
                name=r["event"] or "(none)", count=r["count"], customers=r["customers"],
                share=r["customers"] / stage_customers if stage_customers else None))
    return out


def _channels(tagged: ir.Table, reached: ir.Table, top: int, n_stages: int) -> dict[str, dict]:
    counts = _rows(tagged.group_by("stage_index", "channel").aggregate(
        count=tagged.count(), customers=tagged.customer_id.nunique()))
    touched = tagged.select("customer_id", "stage_index", "channel").distinct()
    joined = touched.inner_join(reached, ["customer_id", "stage_index"])
    conv = {(r["stage_index"], r["channel"]): r["reached"] for r in _rows(
        joined.group_by("stage_index", "channel").aggregate(reached=joined.reached.sum()))}
    active = joined.select("customer_id", "stage_index", "reached").distinct()
    baseline = {r["stage_index"]: r["reached"] / r["n"] for r in _rows(
        active.group_by("stage_index").aggregate(n=active.count(), reached=active.reached.sum())) if r["n"]}
    totals: dict[int, int] = defaultdict(int)
    for r in counts:
        totals[r["stage_index"]] += r["count"]
    every: dict[int, list[LaneItem]] = defaultdict(list)
    for r in sorted(counts, key=lambda r: (r["stage_index"], -r["count"], -r["customers"], r["channel"] or "")):
        i = r["stage_index"]
        every[i].append(LaneItem(
            name=r["channel"] or "(unknown)", count=r["count"], customers=r["customers"],
            share=r["count"] / totals[i],
            conversion_to_next=conv.get((i, r["channel"]), 0) / r["customers"]
            if r["customers"] and i < n_stages - 1 else None))
    return {"all": every, "top": {i: items[:top] for i, items in every.items()},
            "baseline": {i: v for i, v in baseline.items() if i < n_stages - 1}}


def _content(tagged: ir.Table, top: int) -> dict[int, list[ContentItem]]:
    pages = tagged.filter(tagged.type.isin(_CONTENT_TYPES) & tagged.content_id.notnull())
    views = _rows(pages.group_by("stage_index", "content_id").aggregate(
        views=pages.count(), customers=pages.customer_id.nunique(), title=pages.page_title.max(),
        path=pages.path.min()))
    out: dict[int, list[ContentItem]] = defaultdict(list)
    for r in sorted(views, key=lambda r: (r["stage_index"], -r["customers"], -r["views"], r["content_id"])):
        if len(out[r["stage_index"]]) < top:
            out[r["stage_index"]].append(ContentItem(
                content_id=r["content_id"], path=r["path"], title=r["title"], views=r["views"],
                customers=r["customers"]))
    return out


def _effectiveness(events: ir.Table, entries: ir.Table, model: Any, content: ir.Table | None,
                   min_customers: int) -> list[dict[str, Any]]:
    """Rows of the content-effectiveness table (given, or computed when the content analytics is
    installed), in rank order; [] when there is none."""
    if content is None:
        try:
            from ..analytics.content.effectiveness import content_effectiveness
        except ImportError:
            return []
        content = content_effectiveness(events, entries, model, min_customers=min_customers)
    rows = _rows(content)
    return sorted(rows, key=lambda r: (r.get("rank") or 0, r.get("stage_index") or 0, str(r.get("content_id"))))


def _apply_effectiveness(lanes: dict[int, list[ContentItem]], rows: list[dict[str, Any]],
                         index_of: dict[str, int]) -> dict[int, list[ContentItem]]:
    """Put each content item's rates, uplift and lift on the content lane; return the best items
    per stage for the opportunities (uplift's lower bound > 0, ranked as the table ranks them;
    items that nearly every viewer advanced after, rate_consumers_lo >= 0.95, are a step of
    advancing such as an order confirmation, not an opportunity)."""
    best: dict[int, list[ContentItem]] = defaultdict(list)
    by_key = {}
    for r in rows:
        i = r.get("stage_index")
        i = index_of.get(r.get("stage")) if i is None else int(i)
        if i is None:
            continue
        item = ContentItem(
            content_id=r["content_id"], path=r.get("path") or r["content_id"], title=r.get("title"),
            views=int(r.get("views") or 0), customers=int(r.get("consumers") or 0),
            rate_with=r.get("rate_consumers"), rate_without=r.get("rate_others"),
            uplift=r.get("uplift"), uplift_low=r.get("uplift_lo"), uplift_high=r.get("uplift_hi"),
            lift=r.get("lift"))
        by_key[(i, item.content_id)] = item
        if (item.uplift_low or 0) > 0 and (r.get("rate_consumers_lo") or 0) < 0.95:
            best[i].append(item)
    for i, items in lanes.items():
        for item in items:
            found = by_key.get((i, item.content_id))
            if found is not None:
                for name in ("rate_with", "rate_without", "uplift", "uplift_low", "uplift_high", "lift"):
                    setattr(item, name, getattr(found, name))
    for items in best.values():
        for item in items:
            item.views = 0
    return best


def _emotions(tagged: ir.Table) -> dict[int, Emotions]:
    rated = tagged.filter(tagged.rating.notnull() & (tagged.event != "nps_submitted"))
    ratings = {r["stage_index"]: r for r in _rows(rated.group_by("stage_index").aggregate(
        n=rated.count(), total=rated.rating.sum()))}
    nps_rows = tagged.filter((tagged.event == "nps_submitted") & tagged.score.notnull())
    nps = {r["stage_index"]: r for r in _rows(nps_rows.group_by("stage_index").aggregate(
        n=nps_rows.count(),
        promoters=(nps_rows.score >= 9).cast("int64").sum(),
        detractors=(nps_rows.score <= 6).cast("int64").sum()))}
    texts = tagged.filter(tagged.review_text.notnull())
    sentiments: dict[int, list[float]] = defaultdict(lambda: [0.0, 0])
    for r in _rows(texts.group_by("stage_index", "review_text").aggregate(n=texts.count())):
        acc = sentiments[r["stage_index"]]
        acc[0] += sentiment.score(_unescape(r["review_text"])) * r["n"]
        acc[1] += r["n"]
    out: dict[int, Emotions] = {}
    for i in set(ratings) | set(nps) | set(sentiments):
        em = Emotions()
        if i in ratings and ratings[i]["n"]:
            em.rating, em.rating_count = round(ratings[i]["total"] / ratings[i]["n"], 2), ratings[i]["n"]
        if i in nps and nps[i]["n"]:
            r = nps[i]
            em.nps_count, em.promoters, em.detractors = r["n"], r["promoters"], r["detractors"]
            em.nps = round(100 * (r["promoters"] - r["detractors"]) / r["n"], 1)
        if i in sentiments and sentiments[i][1]:
            em.sentiment = round(sentiments[i][0] / sentiments[i][1], 2)
            em.sentiment_count = int(sentiments[i][1])
        out[i] = em
    return out


def _unescape(text: str) -> str:
    try:
        return json.loads(f'"{text}"')
    except ValueError:
        return text


def _problems(tagged: ir.Table) -> dict[int, dict[str, Any]]:
    """Error events (names with error/fail) against their attempt events (same prefix), by
    device; error codes; support contacts and topics. Per stage."""
    names = [r["event"] for r in _rows(tagged.filter(tagged.type == "track").select("event").distinct())
             if r["event"]]
    errors = sorted(n for n in names if re.search(_ERROR, n))
    family: dict[str, tuple[str, bool]] = {}
    for err in errors:
        prefix = re.split(_ERROR, err)[0]
        family[err] = (err, True)
        if prefix:
            for n in names:
                if n.startswith(prefix) and n not in errors:
                    family.setdefault(n, (err, False))
    attempt_names = {err: ", ".join(sorted(n for n, (f, is_err) in family.items() if f == err and not is_err))
                     for err in errors}
    out: dict[int, dict[str, Any]] = defaultdict(lambda: {"support": None})
    if family:
        fam = tagged.filter(tagged.event.isin(list(family)))
        fam = fam.mutate(
            family=ibis.cases(*[(fam.event == n, f) for n, (f, _) in family.items()]),
            is_error=fam.event.isin(errors).cast("int64"))
        for by in (("family",), ("family", "device")):
            per = fam.group_by("customer_id", "stage_index", *by).aggregate(
                failed=fam.is_error.max(), attempted=(1 - fam.is_error).max())
            rows = _rows(per.group_by("stage_index", *by).aggregate(
                attempted=per.attempted.sum(), failed=per.failed.sum(),
                failed_after_attempt=(per.attempted * per.failed).sum()))
            for r in rows:
                out[r["stage_index"]].setdefault("by_" + "_".join(by), []).append(r)
                out[r["stage_index"]]["attempt_names"] = attempt_names
        err = fam.filter(fam.is_error == 1)
        for r in _rows(err.group_by("stage_index", "event", "error_code").aggregate(
                customers=err.customer_id.nunique(), count=err.count())):
            out[r["stage_index"]].setdefault("codes", []).append(r)
    support = tagged.filter(tagged.event.startswith("support"))
    for r in _rows(support.group_by("stage_index").aggregate(
            customers=support.customer_id.nunique(), count=support.count())):
        out[r["stage_index"]]["support"] = r
    for r in _rows(support.filter(support.topic.notnull()).group_by("stage_index", "topic").aggregate(
            customers=ibis._.customer_id.nunique())):
        out[r["stage_index"]].setdefault("topics", []).append(r)
    return out


def _mark_largest_drop(stages: list[MapStage]) -> None:
    """Mark the stage losing the largest share of customers ("Largest drop-off: ...") and the
    slowest move to the next stage ("Slowest step: ..."); drop the tags of the other sentences."""
    drops = [s for s in stages if s.kpis.dropped and s.kpis.customers]
    worst = max(drops, key=lambda s: (s.kpis.dropped / s.kpis.customers, s.kpis.dropped, -s.index), default=None)
    slows = [s for s in stages if s.kpis.median_days_to_next is not None and s.kpis.dropped is not None]
    slowest = max(slows, key=lambda s: (s.kpis.median_days_to_next, -s.index), default=None)
    if slowest is not None and slowest.kpis.median_days_to_next <= 0:
        slowest = None
    for s in stages:
        marked = []
        for p in s.pain_points:
            if p.startswith(DROP_TAG):
                p = p[len(DROP_TAG):]
                p = f"Largest drop-off: {p}" if s is worst else p
            elif p.startswith(SLOW_TAG):
                p = p[len(SLOW_TAG):]
                p = f"Slowest step: {p[0].lower()}{p[1:]}" if s is slowest and len(slows) > 1 else p
            marked.append(p)
        s.pain_points = marked
