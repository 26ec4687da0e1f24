"""Saved segments: named customer definitions usable as a filter or a breakdown everywhere.

A segment (``[segments.NAME]`` in journeymap.toml) selects the customers for whom every part
it gives holds:

| part | holds when |
|---|---|
| ``where`` | the customer attributes hold (``KEY=VALUE`` / ``KEY!=VALUE``, see :mod:`~journeymap.analytics.customers`) |
| ``did`` | the customer did each step (event with filters, or ``stage:NAME``) at least once |
| ``did_not`` | the customer did none of these steps |
| ``within`` | ... counting only touchpoints within this long before the latest touchpoint |
| ``stage`` | the customer's current stage is one of these |
| ``first_channel`` | the channel of the customer's first touchpoint is one of these |

Wherever a segment is accepted, a saved name or an inline ``KEY=VALUE[,...]`` filter may be
given; as a breakdown, ``segment:NAME`` adds a column ``segment_NAME`` holding ``NAME`` or
``not NAME``.

>>> from journeymap.config import settings_from_toml
>>> s = settings_from_toml('''
... [segments.mobile_buyers]
... description = "bought, first came on mobile"
... where = "device=mobile"
... did = ["order_completed[revenue>=50]"]
... within = "30d"
... ''')
>>> seg = saved_segments(s)["mobile_buyers"]
>>> seg.where, [d.label for d in seg.did], seg.within
('device=mobile', ['order_completed[revenue>=50]'], datetime.timedelta(days=30))
>>> resolve_segment("channel=email", {}).where
'channel=email'
>>> resolve_segment("mobile_buyer", saved_segments(s))
Traceback (most recent call last):
...
journeymap.errors.ConfigError: setting segment: unknown segment 'mobile_buyer': no saved segment has that name, and it is not KEY=VALUE or KEY!=VALUE. Fix: did you mean 'mobile_buyers'? Saved segments: mobile_buyers; or write a filter KEY=VALUE
"""

from __future__ import annotations

import datetime as _dt
import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import ibis
import ibis.expr.types as ir

from ..durations import parse_duration
from ..errors import ConfigError
from .customers import customers_in_segment, parse_segment, segment_table
from .steps import Step, parse_steps, step_predicate

__all__ = ["SEGMENT_PREFIX", "Segment", "resolve_segment", "saved_segments", "segment_columns", "segment_members"]

#: Breakdown keys naming a saved segment: ``segment:NAME``.
SEGMENT_PREFIX = "segment:"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Segment:
    """A validated segment definition (see the module doc)."""

    name: str
    description: str = ""
    where: str | None = None
    did: tuple[Step, ...] = ()
    did_not: tuple[Step, ...] = ()
    within: _dt.timedelta | None = None
    stage: tuple[str, ...] = ()
    first_channel: tuple[str, ...] = field(default=())

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.did + self.did_not

    @property
    def needs_stages(self) -> bool:
        """Whether computing it needs the stage entries."""
        keys = [k for k, _, _ in parse_segment(self.where)] if self.where else []
        return bool(self.stage) or any(s.stage for s in self.steps) or any(
            k == "stage" or k.startswith("cohort:") for k in keys)


def _segment(name: str, raw: Any) -> Segment:
    where = f"segments.{name}"
    if not _NAME.match(name):
        raise ConfigError(f"segment name '{name}' must start with a letter and hold only letters, digits, _ and -",
                          field=where, hint="e.g. [segments.mobile_buyers]")
    if raw.where:
        try:
            parse_segment(raw.where)
        except ConfigError as exc:
            raise ConfigError(exc.message, field=f"{where}.where", hint=exc.hint) from None
    if raw.within and not (raw.did or raw.did_not):
        raise ConfigError("'within' bounds did/did_not, but neither is given", field=f"{where}.within",
                          hint="add did = [...] or remove within")
    segment = Segment(
        name=name, description=raw.description, where=raw.where,
        did=tuple(parse_steps(raw.did, field=f"{where}.did")) if raw.did else (),
        did_not=tuple(parse_steps(raw.did_not, field=f"{where}.did_not")) if raw.did_not else (),
        within=parse_duration(raw.within, field=f"{where}.within") if raw.within else None,
        stage=tuple(raw.stage), first_channel=tuple(raw.first_channel))
    if not (segment.where or segment.steps or segment.stage or segment.first_channel):
        raise ConfigError(f"segment '{name}' selects everyone: it gives no condition", field=where,
                          hint="give at least one of where, did, did_not, stage, first_channel")
    return segment


def saved_segments(settings: Any) -> dict[str, Segment]:
    """The validated saved segments of ``settings`` by name."""
    return {name: _segment(name, raw) for name, raw in (settings.segments if settings else {}).items()}


def resolve_segment(spec: str | Segment, saved: Mapping[str, Segment]) -> Segment:
    """A saved segment's name, or an inline ``KEY=VALUE[,...]`` filter, as a :class:`Segment`."""
    if isinstance(spec, Segment):
        return spec
    text = spec.strip()
    if text in saved:
        return saved[text]
    if "=" in text:
        parse_segment(text)
        return Segment(name=text, where=text)
    close = difflib.get_close_matches(text, list(saved), n=1)
    raise ConfigError(f"unknown segment '{text}': no saved segment has that name, and it is not KEY=VALUE or "
                      "KEY!=VALUE", field="segment",
                      hint=(f"did you mean '{close[0]}'? " if close else "")
                      + ("Saved segments: " + ", ".join(sorted(saved)) if saved else "No segments are saved "
                         "([segments.NAME] in journeymap.toml)") + "; or write a filter KEY=VALUE")


def segment_members(log: ir.Table, segment: Segment, *, entries: ir.Table | None = None,
                    as_of: _dt.datetime | None = None) -> ir.Table:
    """``customer_id`` of every customer of ``log`` in ``segment``.

    ``log`` must hold stage events (:func:`~journeymap.analytics.steps.with_stage_events`)
    if a did/did_not step is a stage; ``entries`` are needed for ``stage`` and stage keys in
    ``where``; ``within`` counts back from ``as_of`` (default: the latest touchpoint).
    """
    if segment.where:
        chosen = customers_in_segment(log, segment.where, entries)
    else:
        chosen = log.select("customer_id").distinct()
    if segment.first_channel:
        first = segment_table(log, ["channel"])
        wanted = [c.lower() for c in segment.first_channel]
        chosen = chosen.semi_join(first.filter(first.first_channel.lower().isin(wanted)), "customer_id")
    if segment.stage:
        if entries is None:
            raise ConfigError(f"segment '{segment.name}' needs the stage entries", field="segment")
        current = entries.filter(entries.is_current & entries.stage.isin(list(segment.stage)))
        chosen = chosen.semi_join(current, "customer_id")
    window = log
    if segment.within is not None:
        end = ibis.literal(as_of) if as_of is not None else log.timestamp.max().as_scalar()
        window = log.filter(log.timestamp >= end - ibis.interval(seconds=int(segment.within.total_seconds())))
    for step in segment.did:
        chosen = chosen.semi_join(window.filter(step_predicate(window, step)), "customer_id")
    for step in segment.did_not:
        chosen = chosen.anti_join(window.filter(step_predicate(window, step)), "customer_id")
    return chosen.select("customer_id").distinct()


def segment_columns(log: ir.Table, segments: list[Segment], customers: ir.Table, *,
                    entries: ir.Table | None = None, as_of: _dt.datetime | None = None) -> ir.Table:
    """``customers`` (a table with customer_id) plus ``segment_NAME`` = ``NAME`` or ``not NAME`` per segment."""
    table = customers
    for segment in segments:
        column = f"segment_{segment.name}"
        members = segment_members(log, segment, entries=entries, as_of=as_of).mutate(_in=ibis.literal(True))
        table = table.left_join(members, "customer_id").drop("customer_id_right")
        table = table.mutate(**{column: ibis.ifelse(table._in.fill_null(False), segment.name,
                                                    "not " + segment.name)}).drop("_in")
    return table
