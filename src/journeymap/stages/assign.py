"""Stage assignment: when each customer entered each stage, and where they are now.

Forward-only (the default, as HubSpot and Mautic do): a stage is entered at the earliest
moment its own rule or the rule of any later stage held, so the stages a customer entered are
always the first ``k`` of the model. A stage entered only because a later one was reached at
that same moment is ``skipped`` (a customer who buys on the first visit enters decision and
purchase at once; decision is marked skipped, not hidden).

With ``regression = true`` a stage that has ``stay_days`` is kept only that many days after
its rule last held; the current stage is then the highest stage still kept, and the customer
``regressed`` (a churned customer falls back out of retention).

>>> import ibis, datetime as dt
>>> from .model import load_stage_model
>>> day = lambda d: dt.datetime(2025, 1, d, tzinfo=dt.timezone.utc)
>>> events = ibis.memtable({"customer_id": ["a", "a", "b"], "timestamp": [day(1), day(3), day(2)],
...     "event_id": ["e1", "e2", "e3"], "type": ["page", "track", "track"],
...     "event": ["page_view", "order_completed", "order_completed"], "channel": ["direct"] * 3,
...     "url": ["https://x.example/blog/tents", None, None], "properties": [None] * 3})
>>> entries = assign_stages(events, load_stage_model(preset="default"))
>>> rows = entries.order_by(["customer_id", "stage_index"]).select(
...     "customer_id", "stage", "trigger_event_id", "skipped", "days_in_stage", "is_current").to_pyarrow()
>>> for row in rows.to_pylist():
...     print(*row.values())
a awareness e1 False 2.0 False
a consideration e2 True 0.0 False
a decision e2 True 0.0 False
a purchase e2 False 0.0 True
b awareness e3 False 0.0 False
b consideration e3 True 0.0 False
b decision e3 True 0.0 False
b purchase e3 False 1.0 True
"""

from __future__ import annotations

import datetime as _dt

import ibis
import ibis.expr.types as ir

from ..engine import materialize
from ..touchpoints import whole_seconds
from .model import StageModel
from .rules import MOMENT as _MOMENT
from .rules import MOMENT, stage_triggers

__all__ = ["ENTRY_COLUMNS", "HISTORY_COLUMNS", "as_of_time", "assign_stages", "customer_stages", "finish_entries",
           "stage_at_touchpoint", "stage_history"]

#: The stored form of stage entries (what does not depend on "now").
HISTORY_COLUMNS = ("customer_id", "stage", "stage_index", "entered_at", "trigger_event_id", "trigger_event",
                   "skipped", "exited_at", "exit_event_id", "last_held_at")
#: Stage entries as returned to users: history plus days_in_stage and is_current.
ENTRY_COLUMNS = (*HISTORY_COLUMNS, "days_in_stage", "is_current")


_UTC = _MOMENT.fields["ts"]


def _same(a: ir.StructValue, b: ir.StructValue) -> ir.BooleanValue:
    return (a.ts == b.ts) & (a.event_id == b.event_id)


def stage_history(triggers: ir.Table, model: StageModel) -> ir.Table:
    """Per-customer triggers (:func:`~journeymap.stages.rules.stage_triggers`) -> one row per
    customer per stage entered, forward-only (:data:`HISTORY_COLUMNS`)."""
    k = len(model.stages)
    firsts = [triggers[f"first_{i}"] for i in range(k)]
    entered = [firsts[i] if i == k - 1 else ibis.least(*firsts[i:]) for i in range(k)]
    # every entry moment computed once and stored (each stage's rows below read it)
    wide = materialize(triggers.select(
        "customer_id",
        **{f"e{i}": entered[i] for i in range(k)},
        **{f"s{i}": firsts[i].isnull() | ~_same(firsts[i], entered[i]).fill_null(False) for i in range(k)},
        **{f"l{i}": triggers[f"last_{i}"] for i in range(k)},
    ))
    parts = []
    for i, stage in enumerate(model.stages):
        nxt = wide[f"e{i + 1}"] if i + 1 < k else ibis.null(MOMENT)
        part = wide.filter(wide[f"e{i}"].notnull()).select(
            "customer_id", stage=ibis.literal(stage.name), stage_index=ibis.literal(i, "int64"),
            entered_at=wide[f"e{i}"].ts.cast(_UTC), trigger_event_id=wide[f"e{i}"].event_id, trigger_event=wide[f"e{i}"].event,
            skipped=wide[f"s{i}"], exited_at=nxt.ts.cast(_UTC), exit_event_id=nxt.event_id,
            last_held_at=wide[f"l{i}"].cast(_UTC),
        )
        parts.append(part)
    return ibis.union(*parts)


def finish_entries(history: ir.Table, model: StageModel, as_of: _dt.datetime) -> ir.Table:
    """Add ``days_in_stage`` (to ``exited_at``, or ``as_of``) and ``is_current`` to stored history."""
    as_of_seconds = int(as_of.timestamp())
    end = ibis.ifelse(history.exited_at.isnull(), ibis.literal(as_of_seconds, "int64"), whole_seconds(history.exited_at))
    days = ((end - whole_seconds(history.entered_at)) / 86400.0).round(6)
    by_customer = ibis.window(group_by="customer_id")
    if model.regression and any(s.stay_days for s in model.stages):
        stay = ibis.cases(*[(history.stage_index == s.index, s.stay_days) for s in model.stages if s.stay_days],
                          else_=ibis.null("float64"))
        held_since = ibis.ifelse(history.last_held_at.isnull(), whole_seconds(history.entered_at),
                                 whole_seconds(history.last_held_at))
        kept = stay.isnull() | (held_since + stay * 86400 >= as_of_seconds)
        current = ibis.ifelse(kept, history.stage_index, ibis.null("int64")).max().over(by_customer)
        current = current.fill_null(history.stage_index.min().over(by_customer))
        return history.mutate(days_in_stage=days, is_current=history.stage_index == current)
    # forward-only: the current stage is the one not left yet
    return history.mutate(days_in_stage=days, is_current=history.exited_at.isnull())


def as_of_time(events: ir.Table) -> _dt.datetime:
    """The moment "now" means for day counts: the latest touchpoint (so results are reproducible)."""
    value = events.timestamp.max().to_pyarrow().as_py()
    if value is None:
        return _dt.datetime.now(_dt.timezone.utc)
    return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)


def assign_stages(events: ir.Table, model: StageModel, *, as_of: _dt.datetime | None = None) -> ir.Table:
    """Stage entries (:data:`ENTRY_COLUMNS`) of every customer in ``events``, recomputed in full.

    ``as_of`` (default: the latest touchpoint) ends the current stage's ``days_in_stage`` and
    decides which stages a regressing model still keeps.
    """
    history = stage_history(stage_triggers(events, model), model)
    return finish_entries(history, model, as_of or as_of_time(events))


def customer_stages(entries: ir.Table) -> ir.Table:
    """One row per customer: current stage and since when, the highest stage reached, and
    whether the customer regressed (fell back from the highest stage)."""
    current = entries.filter(entries.is_current)
    highest = entries.group_by("customer_id").aggregate(
        highest_stage_index=entries.stage_index.max(), first_entered_at=entries.entered_at.min(),
        stages_skipped=entries.skipped.cast("int64").sum())
    names = entries.select(highest_stage_index="stage_index", highest_stage="stage").distinct()
    joined = current.join(highest, "customer_id").join(names, "highest_stage_index")
    return joined.select(
        "customer_id", current_stage=joined.stage, current_stage_index=joined.stage_index,
        current_stage_entered_at=joined.entered_at, days_in_current_stage=joined.days_in_stage,
        highest_stage=joined.highest_stage, highest_stage_index=joined.highest_stage_index,
        regressed=joined.stage_index < joined.highest_stage_index, first_entered_at=joined.first_entered_at,
        stages_skipped=joined.stages_skipped,
    )


def stage_at_touchpoint(events: ir.Table, entries: ir.Table, *, before: bool = False) -> ir.Table:
    """``events`` plus ``stage`` and ``stage_index``: the stage the customer was in at each
    touchpoint, ordering touchpoints by (timestamp, event_id). A stage's trigger belongs to it;
    touchpoints before the first entry get NULL.

    ``before=True`` asks instead which stage the customer was in *when* the touchpoint happened,
    before it had its effect: a trigger belongs to the stage it moved the customer out of (the
    NPS answer of 9 that makes a customer an advocate was given as a buyer), and the trigger of
    the first stage gets NULL.

    Entries without ``trigger_event_id`` / ``exit_event_id`` (made by hand, or by another tool)
    are bounded by time alone: a touchpoint at the very moment of an entry or exit is placed as
    if it were the trigger.
    """
    ids = {name: entries[name].cast("string") if name in entries.columns else ibis.null("string")
           for name in ("trigger_event_id", "exit_event_id")}
    spans = entries.select(_c="customer_id", _stage="stage", _index="stage_index", _in_ts="entered_at",
                           _in_id=ids["trigger_event_id"], _out_ts="exited_at", _out_id=ids["exit_event_id"])
    ts, eid = events.timestamp, events.event_id.cast("string")

    def tie(bound: ir.StringValue, by_id: ir.BooleanValue, unknown: bool) -> ir.BooleanValue:
        """At the boundary's very timestamp: decided by event_id, or as if it were the trigger."""
        return ibis.ifelse(bound.isnull(), unknown, by_id)

    if before:  # (entered, exited]: strictly after the entry's trigger, up to and with the exit's
        after_entry = (ts > spans._in_ts) | ((ts == spans._in_ts) & tie(spans._in_id, eid > spans._in_id, False))
        before_exit = spans._out_ts.isnull() | (ts < spans._out_ts) | (
            (ts == spans._out_ts) & tie(spans._out_id, eid <= spans._out_id, True))
    else:  # [entered, exited)
        after_entry = (ts > spans._in_ts) | ((ts == spans._in_ts) & tie(spans._in_id, eid >= spans._in_id, True))
        before_exit = spans._out_ts.isnull() | (ts < spans._out_ts) | (
            (ts == spans._out_ts) & tie(spans._out_id, eid < spans._out_id, False))
    joined = events.left_join(spans, [events.customer_id == spans._c, after_entry, before_exit])
    return joined.select(*events.columns, stage=joined._stage, stage_index=joined._index)
