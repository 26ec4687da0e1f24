"""Funnels: how many customers (or sessions, or entries) went through steps in order, PostHog's way.

Every function takes an event log (``customer_id, timestamp, event_id, event, type`` and the
columns the step filters read, see :func:`journeymap.analytics.steps.event_log`) and returns an
Ibis table. docs/funnels.md defines every term; in short:

- touchpoints are ordered by (timestamp, event_id) per customer, so ties at one instant are
  broken by event_id, always;
- every event matching step 1 starts an *attempt*; an attempt reaches step k when step k's
  event comes after step k-1's (``sequential``), right after it with no other touchpoint
  between (``strict``), or anywhere (``any``), no later than ``window`` after the attempt's
  step-1 event (inclusive, compared in whole seconds);
- each customer (session, with ``count_by="session"``) is counted once, with its best attempt:
  the one that got furthest, then the first to get there, then the shortest (PostHog's rule);
  with ``count_by="total"`` every attempt counts, but an event completes one attempt only;
- an exclusion event between steps a and b of the chosen attempt removes the customer from the
  whole funnel (PostHog).

>>> import ibis, datetime as dt
>>> from .steps import parse_steps
>>> at = lambda d, h=0: dt.datetime(2025, 1, d, h, tzinfo=dt.timezone.utc)
>>> log = ibis.memtable({"customer_id": ["a", "a", "a", "b", "b", "c"],
...     "timestamp": [at(1), at(2), at(3), at(1), at(20), at(5)], "event_id": ["1", "2", "3", "4", "5", "6"],
...     "event": ["view", "cart", "order", "view", "cart", "cart"], "type": ["track"] * 6})
>>> spec = FunnelSpec(parse_steps("view,cart,order"), window=dt.timedelta(days=7))
>>> for row in funnel_table(funnel_units(log, spec), spec).to_pyarrow().to_pylist():
...     print(row["step"], row["step_label"], row["count"], row["conversion_from_first"], row["dropped"],
...           row["median_seconds_from_previous"])
1 view 2 1.0 0 None
2 cart 1 0.5 1 86400.0
3 order 1 0.5 0 86400.0
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import Sequence

import ibis
import ibis.expr.types as ir

from ..errors import ConfigError
from ..touchpoints import property_value, whole_seconds
from .customers import join_breakdown
from .steps import Step, parse_step, step_predicate

__all__ = ["ATTRIBUTIONS", "COUNT_BY", "CONVERSIONS", "DEFAULT_WINDOW", "Exclusion", "FUNNEL_COLUMNS", "FunnelSpec",
           "ORDERS", "PERIODS", "breakdown_value", "dropped_units", "funnel_attempts", "funnel_table", "funnel_trend",
           "funnel_units", "next_events", "parse_exclusion", "time_to_convert"]

ORDERS = ("sequential", "strict", "any")
COUNT_BY = ("customer", "session", "total")
CONVERSIONS = ("first", "previous")
ATTRIBUTIONS = ("first_touch", "last_touch", "all_steps", "step:N")
PERIODS = ("day", "week", "month")
DEFAULT_WINDOW = _dt.timedelta(days=14)
#: Columns of :func:`funnel_table` (after the breakdown columns).
FUNNEL_COLUMNS = ("step", "step_label", "count", "conversion", "conversion_from_first", "conversion_from_previous",
                  "dropped", "median_seconds_from_previous", "average_seconds_from_previous")
_EVENT_COLUMNS = ("channel", "type", "utm_source", "utm_medium", "utm_campaign", "utm_content", "url", "event")


@dataclass(frozen=True)
class Exclusion:
    """An event that disqualifies an attempt when it happens between step ``after`` and step
    ``before`` (1-based; after the first, before the second is reached)."""

    step: Step
    after: int = 1
    before: int = 2


def parse_exclusion(spec: str | Exclusion | tuple, n_steps: int, *, field: str = "exclusions") -> Exclusion:
    """An exclusion from ``(event, after, before)``, ``"event"`` (whole funnel: 1..last) or the
    text ``"after..before:event"``.

    >>> e = parse_exclusion("1..2:purchase_cancelled", 3)
    >>> e.step.label, e.after, e.before
    ('purchase_cancelled', 1, 2)
    >>> parse_exclusion(("x", 2, 2), 3)
    Traceback (most recent call last):
    ...
    journeymap.errors.ConfigError: setting exclusions: exclusion 'x' between steps 2 and 2: the first step must come before the second, both within 1..3. Fix: e.g. 1..2:purchase_cancelled
    """
    if isinstance(spec, Exclusion):
        step, after, before = spec.step, spec.after, spec.before
    elif isinstance(spec, tuple):
        if len(spec) != 3:
            raise ConfigError(f"exclusion {spec!r} is not (event, after, before)", field=field,
                              hint="e.g. ('purchase_cancelled', 1, 2)")
        step, after, before = spec
    else:
        text = str(spec).strip()
        match = re.match(r"^(\d+)\s*\.\.\s*(\d+)\s*:\s*(.+)$", text)
        step, after, before = (match.group(3), int(match.group(1)), int(match.group(2))) if match else (text, 1, n_steps)
    step = step if isinstance(step, Step) else parse_step(step, field=field)
    if step.stage is None and not step.events:
        raise ConfigError(f"exclusion '{step.label}' names no event", field=field, hint="e.g. 1..2:purchase_cancelled")
    if not (isinstance(after, int) and isinstance(before, int) and 1 <= after < before <= n_steps):
        raise ConfigError(f"exclusion '{step.label}' between steps {after} and {before}: the first step must come "
                          f"before the second, both within 1..{n_steps}", field=field, hint="e.g. 1..2:purchase_cancelled")
    return Exclusion(step, after, before)


@dataclass(frozen=True)
class FunnelSpec:
    """What a funnel counts (see the module doc; docs/funnels.md defines each option)."""

    steps: Sequence[Step]
    window: _dt.timedelta = DEFAULT_WINDOW
    order: str = "sequential"
    exclusions: Sequence[Exclusion] = ()
    count_by: str = "customer"
    breakdown: str | None = None
    attribution: str = "first_touch"
    conversion: str = "first"
    labels: tuple = field(default=(), compare=False)

    def __post_init__(self) -> None:
        steps = list(self.steps)
        if not steps:
            raise ConfigError("no steps given", field="steps", hint="e.g. product_viewed,add_to_cart,order_completed")
        for name, value, choices in (("order", self.order, ORDERS), ("count_by", self.count_by, COUNT_BY),
                                     ("conversion", self.conversion, CONVERSIONS)):
            if value not in choices:
                raise ConfigError(f"{name} '{value}' is not one of " + ", ".join(choices), field=name)
        if self.window.total_seconds() <= 0:
            raise ConfigError("the conversion window must be greater than zero", field="window", hint="e.g. 7d")
        if self.attribution not in ATTRIBUTIONS[:3] and not re.fullmatch(r"step:\d+", self.attribution):
            raise ConfigError(f"breakdown attribution '{self.attribution}' is not one of " + ", ".join(ATTRIBUTIONS),
                              field="breakdown_attribution", hint="e.g. first_touch, or step:2 for step 2's value")
        if self.attribution.startswith("step:"):
            n = int(self.attribution[5:])
            if not 1 <= n <= len(steps):
                raise ConfigError(f"breakdown attribution '{self.attribution}': no step {n} (steps are 1..{len(steps)})",
                                  field="breakdown_attribution", hint="e.g. step:1")
            if self.order == "any":
                raise ConfigError("step:N attribution needs an ordered funnel (any order has no step N)",
                                  field="breakdown_attribution", hint="use first_touch or last_touch with order any")
        for exclusion in self.exclusions:
            if exclusion.before > len(steps):
                raise ConfigError(f"exclusion '{exclusion.step.label}' refers to step {exclusion.before} of a "
                                  f"{len(steps)}-step funnel", field="exclusions")
            if self.order == "any" and (exclusion.after, exclusion.before) != (1, len(steps)):
                raise ConfigError(f"exclusion '{exclusion.step.label}': in an any-order funnel an exclusion spans the "
                                  f"whole funnel (1..{len(steps)})", field="exclusions", hint="drop the step range")
        if self.order == "any" and len({s.label for s in steps}) < len(steps):
            raise ConfigError("an any-order funnel needs different steps (a step given twice has no order to tell "
                              "its two events apart)", field="steps", hint="use order sequential for repeated steps")

    @property
    def k(self) -> int:
        return len(self.steps)

    @property
    def keys(self) -> list[str]:
        """Columns identifying what is counted once (customer, or customer and session; with
        ``all_steps`` attribution, also the breakdown value)."""
        keys = ["customer_id"] + (["session_id"] if self.count_by == "session" else [])
        return keys + (["_bkey"] if self.breakdown and self.attribution == "all_steps" else [])


def breakdown_value(log: ir.Table, key: str) -> ir.StringValue:
    """The breakdown value of each touchpoint: a column (channel, type, utm_*, url, event) or a
    property (``device``, ``property.plan``)."""
    key = key.strip()
    if key in _EVENT_COLUMNS:
        return log[key].cast("string")
    name = key[len("property."):] if key.startswith("property.") else key
    if not re.fullmatch(r"[A-Za-z0-9_$@.:-]+", name):
        raise ConfigError(f"breakdown '{key}' is not a column or a property name", field="breakdown",
                          hint="e.g. channel, utm_source or device (= properties.device)")
    return property_value(log, name)


def _null(kind: str = "int64") -> ir.Value:
    return ibis.null(kind)


def _prepare(log: ir.Table, spec: FunnelSpec) -> ir.Table:
    """The log with ``_sec`` (whole seconds), ``_s1..K`` / ``_x0..`` flags, ``_val`` (breakdown
    value) and ``_bkey``; kept to step and exclusion rows (first, so the rest of the log costs one
    scan) except for strict order, which needs every touchpoint."""
    tests = [*spec.steps, *[e.step for e in spec.exclusions]]
    if spec.order != "strict":
        names = {name for step in tests for name in step.events}
        if all(step.events and step.stage is None for step in tests):
            log = log.filter(log.event.isin(sorted(names)))  # pushed into the scan
        wanted = None
        for step in tests:
            wanted = step_predicate(log, step) if wanted is None else wanted | step_predicate(log, step)
        log = log.filter(wanted)
    flags = {f"_s{i + 1}": step_predicate(log, s) for i, s in enumerate(spec.steps)}
    flags.update({f"_x{i}": step_predicate(log, e.step) for i, e in enumerate(spec.exclusions)})
    value = breakdown_value(log, spec.breakdown) if spec.breakdown else _null("string")
    keep = ["customer_id", "timestamp", "event_id"] + (["session_id"] if spec.count_by == "session" else [])
    out = log.select(*keep, _sec=whole_seconds(log.timestamp), _val=value, **flags)
    return out.mutate(_bkey=out._val.fill_null("\x00"))


def _position(t: ir.Table, keys: list[str]) -> ir.Table:
    return t.mutate(_pos=ibis.row_number().over(group_by=keys, order_by=[t.timestamp, t.event_id]))


def _sequential(rows: ir.Table, spec: FunnelSpec) -> ir.Table:
    """Greedy chains without joins: an attempt's step j+1 is the first step-(j+1) event after its
    step-j event. Chains from later events never end earlier (they are monotone in the start), so
    the chain values of "the first following step-(j+1) event" are the *minimum* of those values
    over the following step-(j+1) events: one window pass per step, from the last step back."""
    keys, k, w = spec.keys, spec.k, int(spec.window.total_seconds())
    cur = _position(rows, keys)
    carried: list[str] = []  # chain columns of the level below (start = a step-(j+1) event)
    for j in range(k - 1, 0, -1):
        after = ibis.window(group_by=keys, order_by=cur._pos, rows=(1, None))
        nxt = cur[f"_s{j + 1}"]
        level = {f"_c{j}_t{j + 1}": ibis.ifelse(nxt, cur._sec, _null()).min().over(after),
                 f"_c{j}_p{j + 1}": ibis.ifelse(nxt, cur._pos, _null()).min().over(after)}
        for name in carried:  # _c{j+1}_X -> _c{j}_X
            level[f"_c{j}_" + name.split("_", 2)[2]] = ibis.ifelse(nxt, cur[name], _null()).min().over(after)
        for i, e in enumerate(spec.exclusions):
            if e.after == j:  # the first exclusion event after this (step-j) event
                level[f"_c{j}_xn{i}"] = ibis.ifelse(cur[f"_x{i}"], cur._pos, _null()).min().over(after)
                level[f"_c{j}_xs{i}"] = ibis.ifelse(cur[f"_x{i}"], cur._sec, _null()).min().over(after)
        cur = cur.mutate(**level).drop(*carried)
        carried = list(level)
    first = cur.filter(cur._s1)
    chain = {"_" + name.split("_", 2)[2]: first[name] for name in carried}
    attempts = first.select(*keys, _ts1=first.timestamp, _t1=first._sec, _p1=first._pos, **chain)
    ok = ibis.literal(True)
    valid = {}
    for j in range(2, k + 1):
        ok = ok & attempts[f"_t{j}"].notnull() & (attempts[f"_t{j}"] - attempts._t1 <= w)
        valid[j] = ok
    attempts = attempts.mutate(**{f"_{c}{j}": ibis.ifelse(valid[j], attempts[f"_{c}{j}"], _null())
                                  for j in range(2, k + 1) for c in ("t", "p")})
    done = [attempts[f"_p{j}"].notnull() for j in range(1, k + 1)]
    excluded = ibis.literal(False)
    for i, e in enumerate(spec.exclusions):
        xn, xs = attempts[f"_xn{i}"], attempts[f"_xs{i}"]
        before = attempts[f"_p{e.before}"]
        hit = xn.notnull() & (xs - attempts._t1 <= w) & (before.isnull() | (xn < before))
        excluded = excluded | (attempts[f"_p{e.after}"].notnull() & hit).fill_null(False)
    return _finish(attempts, spec, done, excluded)


def _strict(rows: ir.Table, spec: FunnelSpec) -> ir.Table:
    keys, k, w = spec.keys, spec.k, int(spec.window.total_seconds())
    rows = _position(rows, keys)
    order = ibis.window(group_by=keys, order_by=rows._pos)
    ahead = {}
    for j in range(2, k + 1):
        ahead[f"_ok{j}"] = rows[f"_s{j}"].lead(j - 1).over(order)
        ahead[f"_t{j}"] = rows._sec.lead(j - 1).over(order)
    rows = rows.mutate(**ahead)
    first = rows.filter(rows._s1)
    attempts = first.select(*keys, _ts1=first.timestamp, _p1=first._pos, _t1=first._sec,
                            **{c: first[c] for c in ahead})
    done, ok = [attempts._p1.notnull()], ibis.literal(True)
    for j in range(2, k + 1):
        ok = ok & attempts[f"_ok{j}"].fill_null(False) & (attempts[f"_t{j}"] - attempts._t1 <= w)
        done.append(ok)
    attempts = attempts.mutate(**{f"_p{j}": ibis.ifelse(done[j - 1], attempts._p1 + (j - 1), _null())
                                  for j in range(2, k + 1)})
    # no touchpoint comes between two steps, so no exclusion event can either
    return _finish(attempts, spec, [attempts[f"_p{j}"].notnull() for j in range(1, k + 1)], ibis.literal(False))


def _any_order(rows: ir.Table, spec: FunnelSpec) -> ir.Table:
    keys, k, w = spec.keys, spec.k, int(spec.window.total_seconds())
    rows = _position(rows, keys)
    span = ibis.window(group_by=keys, order_by=rows._sec, range=(0, w))
    firsts = {f"_f{j}": ibis.ifelse(rows[f"_s{j}"], rows._sec, _null()).min().over(span) for j in range(1, k + 1)}
    firsts.update({f"_xf{i}": ibis.ifelse(rows[f"_x{i}"], rows._sec, _null()).min().over(span)
                   for i, _ in enumerate(spec.exclusions)})
    rows = rows.mutate(**firsts)
    started = None
    for j in range(1, k + 1):
        started = rows[f"_s{j}"] if started is None else started | rows[f"_s{j}"]
    first = rows.filter(started)
    f = [first[f"_f{j}"] for j in range(1, k + 1)]
    # the time the attempt had done j steps: the j-th smallest first time (ties by step index)
    rank = [sum((f[m].notnull() & ((f[m] < f[i]) | ((f[m] == f[i]) & (m < i)))).cast("int64")
                for m in range(k) if m != i) for i in range(k)]
    times = {}
    for j in range(k):
        value = _null()
        for i in range(k):
            value = ibis.ifelse(f[i].notnull() & (rank[i] == j), f[i], value)
        times[f"_t{j + 1}"] = value
    attempts = first.select(*keys, _ts1=first.timestamp, _p1=first._pos, **times,
                            **{f"_xf{i}": first[f"_xf{i}"] for i, _ in enumerate(spec.exclusions)})
    attempts = attempts.mutate(**{f"_p{j}": ibis.ifelse(attempts[f"_t{j}"].notnull(), attempts._p1, _null())
                                  for j in range(2, k + 1)})
    done = [attempts[f"_t{j}"].notnull() for j in range(1, k + 1)]
    excluded = ibis.literal(False)
    for i, _ in enumerate(spec.exclusions):
        xf = attempts[f"_xf{i}"]
        excluded = excluded | (xf.notnull() & (attempts[f"_t{k}"].isnull() | (xf <= attempts[f"_t{k}"]))).fill_null(False)
    return _finish(attempts, spec, done, excluded)


def _finish(attempts: ir.Table, spec: FunnelSpec, done: list, excluded: ir.BooleanValue) -> ir.Table:
    reach = done[0].cast("int64")
    for step_done in done[1:]:
        reach = reach + step_done.cast("int64")
    k = spec.k
    attempts = attempts.mutate(_reach=reach, _excluded=excluded)
    last_t, last_p = _null(), _null()
    for j in range(1, k + 1):
        hit = attempts._reach == j
        last_t = ibis.ifelse(hit, attempts[f"_t{j}"], last_t)
        last_p = ibis.ifelse(hit, attempts[f"_p{j}"], last_p)
    return attempts.mutate(_done_t=last_t, _done_p=last_p)


def funnel_attempts(log: ir.Table, spec: FunnelSpec) -> ir.Table:
    """One row per attempt (every step-1 event; every event of a step for ``any`` order): the
    unit keys, ``_ts1`` (its start), ``_t1..K`` (whole seconds of each step reached), ``_p1..K``
    (positions of the steps' events among the unit's rows), ``_reach`` and ``_excluded``."""
    rows = _prepare(log, spec)
    build = {"sequential": _sequential, "strict": _strict, "any": _any_order}[spec.order]
    return build(rows, spec)


def _at_position(units: ir.Table, rows: ir.Table, spec: FunnelSpec, position: ir.Value, **columns: str) -> ir.Table:
    """``units`` plus ``columns`` (new name -> column of the positioned rows) of the row at ``position``."""
    keys = spec.keys
    placed = _position(rows, keys)
    right = placed.select(*[placed[c].name(f"_r_{c}") for c in keys], _r_pos=placed._pos,
                          **{name: placed[c] for name, c in columns.items()})
    joined = units.left_join(right, [*[units[c] == right[f"_r_{c}"] for c in keys], position == right._r_pos])
    return joined.drop(*[f"_r_{c}" for c in keys], "_r_pos")


def _attribute(units: ir.Table, rows: ir.Table, spec: FunnelSpec) -> ir.Table:
    """``units`` with ``breakdown_value`` per the attribution."""
    if not spec.breakdown:
        return units
    if spec.attribution == "all_steps":
        return units.mutate(breakdown_value=units._bkey.nullif("\x00"))
    if spec.attribution.startswith("step:"):
        return _at_position(units, rows, spec, units[f"_p{int(spec.attribution[5:])}"], breakdown_value="_val")
    keys = [c for c in spec.keys if c != "_bkey"]
    steps = None
    for j in range(1, spec.k + 1):
        steps = rows[f"_s{j}"] if steps is None else steps | rows[f"_s{j}"]
    valued = rows.filter(steps & rows._val.notnull())
    desc = spec.attribution == "last_touch"
    order = [valued.timestamp.desc(), valued.event_id.desc()] if desc else [valued.timestamp, valued.event_id]
    ranked = valued.mutate(_rank=ibis.row_number().over(group_by=keys, order_by=order))
    touch = ranked.filter(ranked._rank == 0).select(*[ranked[c].name(f"_a_{c}") for c in keys],
                                                     breakdown_value=ranked._val)
    joined = units.left_join(touch, [units[c] == touch[f"_a_{c}"] for c in keys])
    return joined.drop(*[f"_a_{c}" for c in keys])


def _choose(attempts: ir.Table, keys: list[str]) -> ir.Table:
    order = [attempts._reach.desc(), attempts._excluded, attempts._done_t, attempts._done_p, attempts._t1.desc(),
             attempts._p1.desc()]
    ranked = attempts.mutate(_best=ibis.row_number().over(group_by=keys, order_by=order))
    best = ranked.filter(ranked._best == 0)
    return best.filter(~best._excluded).drop("_best")


def _total(attempts: ir.Table, spec: FunnelSpec) -> ir.Table:
    """Every attempt that was not excluded; an event reached by several attempts counts for the
    latest of them only, so an attempt's reach ends where a later attempt took over."""
    kept = attempts.filter(~attempts._excluded)
    owned = []
    for j in range(2, spec.k + 1):
        p = kept[f"_p{j}"]
        if spec.order == "any":  # any order: attempts share a step's first event when their times agree
            p = kept[f"_t{j}"]
        latest = ibis.row_number().over(group_by=[*spec.keys, p], order_by=[kept._p1.desc()])
        owned.append(ibis.ifelse(p.notnull() & (latest == 0), 1, 0))
    kept = kept.mutate(**{f"_own{j}": o for j, o in zip(range(2, spec.k + 1), owned)})
    reach = ibis.literal(1)
    ok = ibis.literal(True)
    for j in range(2, spec.k + 1):
        ok = ok & (kept[f"_own{j}"] == 1)
        reach = reach + ok.cast("int64")
    kept = kept.mutate(_reach=reach)
    return kept.mutate(**{f"_t{j}": ibis.ifelse(kept._reach >= j, kept[f"_t{j}"], _null()) for j in range(2, spec.k + 1)})


def funnel_units(log: ir.Table, spec: FunnelSpec, *, per: ir.Value | None = None) -> ir.Table:
    """What the funnel counts, one row each: a customer (or session) with its chosen attempt,
    or every attempt (``count_by="total"``). Columns: ``customer_id`` (``session_id``),
    ``entered_at`` (step-1 timestamp), ``reached`` (steps reached), ``seconds_1..K`` (whole
    seconds since the epoch of each step reached), ``last_seconds`` (of the last step reached),
    ``breakdown_value`` with a breakdown, and the internal ``_p1..K``/``_bkey``. Customers whose best attempt was
    excluded are left out. ``per`` (a function of the attempts) chooses one attempt per unit
    and value of ``per(attempts)`` instead of one per unit (the trend uses the entry period)."""
    rows = _prepare(log, spec)
    build = {"sequential": _sequential, "strict": _strict, "any": _any_order}[spec.order]
    attempts = build(rows, spec)
    if spec.count_by == "total":
        units = _total(attempts, spec)
    else:
        keys = list(spec.keys)
        if per is not None:
            attempts = attempts.mutate(_per=per(attempts))
            keys.append("_per")
        units = _choose(attempts, keys)
    units = _attribute(units, rows, spec)
    out = {c: units[c] for c in spec.keys}
    out.update(entered_at=units._ts1, reached=units._reach.cast("int64"), last_seconds=units._done_t,
               _done_p=units._done_p)
    out.update({f"seconds_{j}": units[f"_t{j}"] for j in range(1, spec.k + 1)})
    out.update({f"_p{j}": units[f"_p{j}"] for j in range(1, spec.k + 1)})
    if spec.breakdown:
        out["breakdown_value"] = units.breakdown_value
    if per is not None and spec.count_by != "total":
        out["_per"] = units._per
    return units.select(**out)


def _ratio(n: ir.Value, d: ir.Value) -> ir.Value:
    return ibis.ifelse(d > 0, (n / d).round(6), _null("float64"))


def _groups(spec: FunnelSpec, by: Sequence[str]) -> list[str]:
    return [*by, *(["breakdown_value"] if spec.breakdown else [])]


def funnel_table(units: ir.Table, spec: FunnelSpec, *, by: Sequence[str] = ()) -> ir.Table:
    """One row per (``by`` columns of ``units``, breakdown value, step): :data:`FUNNEL_COLUMNS`.

    ``count`` = units that reached the step; ``conversion_from_first`` / ``_previous`` = count
    over step 1's / the previous step's count (NULL on step 1 for ``previous``); ``conversion``
    is the one ``spec.conversion`` chooses; ``dropped`` = units that reached the previous step
    but not this one (PostHog's "dropped off"; 0 on step 1); times are whole seconds from the
    previous step over the units that reached the step. ``units`` is read once (one aggregate).
    """
    groups = _groups(spec, by)
    k = spec.k
    aggregates = {}
    for j in range(1, k + 1):
        aggregates[f"_c{j}"] = (units.reached >= j).cast("int64").sum()
        if j > 1:  # seconds_j is NULL where step j was not reached: the statistics skip those units
            gap = (units[f"seconds_{j}"] - units[f"seconds_{j - 1}"]).cast("float64")
            aggregates[f"_m{j}"] = gap.quantile(0.5)
            aggregates[f"_a{j}"] = gap.mean()
    summary = units.group_by(groups).aggregate(**aggregates) if groups else units.aggregate(**aggregates)
    grid = summary.cross_join(ibis.memtable({"step": list(range(1, k + 1)),
                                             "step_label": [s.label for s in spec.steps]}).cast({"step": "int64"}))

    def pick(name: str, default: ir.Value, first: int = 1) -> ir.Value:
        value = default
        for j in range(first, k + 1):
            value = ibis.ifelse(grid.step == j, grid[f"_{name}{j}"], value)
        return value

    count = pick("c", _null())
    first = grid._c1
    previous = _null()
    for j in range(2, k + 1):
        previous = ibis.ifelse(grid.step == j, grid[f"_c{j - 1}"], previous)
    table = grid.select(
        *groups, "step", "step_label", count=count, conversion_from_first=_ratio(count, first),
        conversion_from_previous=_ratio(count, previous),
        dropped=ibis.ifelse(grid.step == 1, 0, previous - count).cast("int64"),
        median_seconds_from_previous=pick("m", _null("float64"), 2).round(1),
        average_seconds_from_previous=pick("a", _null("float64"), 2).round(1))
    conversion = table.conversion_from_first if spec.conversion == "first" else table.conversion_from_previous
    table = table.mutate(conversion=conversion)
    return table.select(*groups, *FUNNEL_COLUMNS).order_by([*groups, "step"])


def time_to_convert(units: ir.Table, spec: FunnelSpec, *, from_step: int = 1, to_step: int | None = None,
                    bins: int = 10, by: Sequence[str] = ()) -> ir.Table:
    """How long converting took, from ``from_step`` to ``to_step`` (default: the last), over the
    units that reached ``to_step``: one row per histogram bin (``bins`` equal bins of whole seconds
    from the fastest to the slowest, per group) with ``customers`` (units) and ``share``, and the
    group's ``median_seconds``, ``p90_seconds`` and ``average_seconds`` on every row."""
    to_step = spec.k if to_step is None else to_step
    if not 1 <= from_step < to_step <= spec.k:
        raise ConfigError(f"time to convert from step {from_step} to step {to_step}: need 1 <= from < to <= {spec.k}",
                          field="to_step", hint=f"e.g. from_step=1, to_step={spec.k}")
    if bins < 1:
        raise ConfigError("bins must be at least 1", field="bins")
    groups = _groups(spec, by)
    done = units.filter(units.reached >= to_step)
    done = done.mutate(_secs=done[f"seconds_{to_step}"] - done[f"seconds_{from_step}"])
    stats = dict(converted=done.count(), median_seconds=done._secs.cast("float64").quantile(0.5).round(1),
                 p90_seconds=done._secs.cast("float64").quantile(0.9).round(1),
                 average_seconds=done._secs.mean().round(1), _lo=done._secs.min(), _hi=done._secs.max())
    summary = done.group_by(groups).aggregate(**stats) if groups else done.aggregate(**stats)
    summary = summary.mutate(_width=ibis.greatest(((summary._hi - summary._lo + 1) / bins).ceil().cast("int64"), 1))
    grid = summary.cross_join(ibis.memtable({"bin": list(range(bins))}).cast({"bin": "int64"}))
    grid = grid.mutate(from_seconds=grid._lo + grid.bin * grid._width)
    grid = grid.mutate(to_seconds=grid.from_seconds + grid._width)
    joined = done.select(*[done[g].name(f"_g_{g}") for g in groups], _secs=done._secs)
    counted = (joined.inner_join(summary.select(*[summary[g].name(f"_h_{g}") for g in groups], _lo=summary._lo,
                                                _width=summary._width),
                                 [(joined[f"_g_{g}"] == summary[g]) | (joined[f"_g_{g}"].isnull() & summary[g].isnull())
                                  for g in groups]) if groups else joined.cross_join(summary.select("_lo", "_width")))
    if groups:
        counted = counted.drop(*[f"_h_{g}" for g in groups])
    counted = counted.mutate(_bin=ibis.least(((counted._secs - counted._lo) / counted._width).floor().cast("int64"),
                                             bins - 1))
    hist = counted.group_by([*[f"_g_{g}" for g in groups], "_bin"]).aggregate(customers=counted.count())
    preds = [(grid[g] == hist[f"_g_{g}"]) | (grid[g].isnull() & hist[f"_g_{g}"].isnull()) for g in groups]
    out = grid.left_join(hist, [*preds, grid.bin == hist._bin])
    out = out.mutate(customers=out.customers.fill_null(0))
    out = out.mutate(share=_ratio(out.customers, out.converted))
    return out.select(*groups, "bin", "from_seconds", "to_seconds", "customers", "share", "converted",
                      "median_seconds", "p90_seconds", "average_seconds").order_by([*groups, "bin"])


def _period_start(ts: ir.TimestampValue, period: str) -> ir.Value:
    return ts.truncate({"day": "D", "week": "W", "month": "M"}[period]).cast("date")


def funnel_trend(log: ir.Table, spec: FunnelSpec, *, period: str = "week", as_of: ir.Value | None = None,
                 by: Sequence[str] = (), segments: ir.Table | None = None) -> ir.Table:
    """Conversion by entry period: per period (day, week starting Monday, month) in which units
    entered step 1, ``entered``, ``converted`` (reached the last step within the window of that
    entry) and ``conversion_rate``. A unit counts once per period, with its best attempt that
    started in it. ``complete`` is False for periods whose entries could still convert: the end of
    the period plus the window is after ``as_of`` (default: the log's latest touchpoint)."""
    if period not in PERIODS:
        raise ConfigError(f"period '{period}' is not one of " + ", ".join(PERIODS), field="period")
    units = funnel_units(log, spec, per=lambda a: _period_start(a._ts1, period))
    if spec.count_by == "total":
        units = units.mutate(_per=_period_start(units.entered_at, period))
    if by:
        units = join_breakdown(units, segments, by)
    groups = _groups(spec, by)
    summary = units.group_by([*groups, units._per.name("period")]).aggregate(
        entered=units.count(), converted=(units.reached >= spec.k).cast("int64").sum())
    as_of = log.timestamp.max().as_scalar() if as_of is None else as_of
    step = {"day": ibis.interval(days=1), "week": ibis.interval(days=7), "month": ibis.interval(months=1)}[period]
    ends = summary.period.cast("timestamp") + step
    limit = whole_seconds(as_of) - int(spec.window.total_seconds())
    summary = summary.mutate(conversion_rate=_ratio(summary.converted, summary.entered),
                             complete=whole_seconds(ends) - 1 <= limit)
    return summary.select(*groups, "period", "entered", "converted", "conversion_rate", "complete").order_by(
        [*groups, "period"])


def dropped_units(units: ir.Table, spec: FunnelSpec, step: int) -> ir.Table:
    """The units that reached step ``step - 1`` but not step ``step`` (2..K)."""
    if not 2 <= step <= spec.k:
        raise ConfigError(f"no drop-off at step {step}: customers drop between steps, at 2..{spec.k}", field="step",
                          hint="e.g. step=2: who did step 1 but not step 2")
    return units.filter(units.reached == step - 1)


def next_events(log: ir.Table, spec: FunnelSpec, dropped: ir.Table, *, top: int = 10) -> ir.Table:
    """What ``dropped`` units (from :func:`dropped_units`) did right after the last step they
    reached: the next touchpoint's ``next_event`` (``(none)`` when nothing followed), ``customers``
    (units) and ``share`` of the dropped, the ``top`` most common (ties by name). In any order the
    last step is known to the second, so "next" is the first touchpoint of a later second."""
    if spec.order == "any":
        last = dropped.mutate(_lts=_null("timestamp"), _leid=_null("string"))
    else:
        last = _at_position(dropped, _prepare(log, spec), spec, dropped._done_p, _lts="timestamp", _leid="event_id")
    keys = [c for c in ("customer_id", "session_id") if c in spec.keys]
    last = last.mutate(_unit=ibis.row_number().over(order_by=[last[c] for c in keys]))
    last = last.select(_c=last.customer_id, _u=last._unit, _s=last.last_seconds, _lts=last._lts, _leid=last._leid)
    events = log.select("customer_id", "timestamp", "event_id", "event")
    pairs = events.inner_join(last, events.customer_id == last._c)
    sec = whole_seconds(pairs.timestamp)
    later = pairs.filter(ibis.ifelse(pairs._lts.isnull(), sec > pairs._s,
                                     (pairs.timestamp > pairs._lts)
                                     | ((pairs.timestamp == pairs._lts) & (pairs.event_id > pairs._leid))))
    ranked = later.mutate(_rank=ibis.row_number().over(group_by=later._u, order_by=[later.timestamp, later.event_id]))
    nxt = ranked.filter(ranked._rank == 0).select(_u2=ranked._u, next_event=ranked.event)
    full = last.left_join(nxt, last._u == nxt._u2)
    full = full.mutate(next_event=full.next_event.fill_null("(none)"))
    counts = full.group_by("next_event").aggregate(customers=full.count())
    total = counts.customers.sum().over(ibis.window())
    counts = counts.mutate(share=_ratio(counts.customers, total))
    return counts.order_by([counts.customers.desc(), counts.next_event]).limit(top)
