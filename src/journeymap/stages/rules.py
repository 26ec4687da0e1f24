"""Entry rules -> portable Ibis: when each stage's rule first (and last) held, per customer.

A touchpoint rule is a predicate on one touchpoint; it *holds* at its ``min_count``-th match
(the last ``min_count`` matches spanning at most ``within_days``). ``any`` holds at the first
of its rules' moments, ``all`` at the last of them (once every rule has held). A moment is a
touchpoint, ordered by (timestamp, event_id), kept as a struct (ts, event_id, event) so that
``min``/``least`` pick the earliest one deterministically on DuckDB and Spark alike.

>>> import ibis, datetime as dt
>>> from .model import load_stage_model
>>> day = lambda d: dt.datetime(2025, 1, d, tzinfo=dt.timezone.utc)
>>> events = ibis.memtable({"customer_id": ["a", "a", "a"], "timestamp": [day(1), day(2), day(3)],
...     "event_id": ["e1", "e2", "e3"], "type": ["page", "track", "track"],
...     "event": ["page_view", "order_completed", "order_completed"], "channel": ["direct"] * 3,
...     "url": ["https://x.example/shop/tents", None, None], "properties": [None] * 3})
>>> t = stage_triggers(events, load_stage_model(preset="default")).to_pyarrow().to_pylist()[0]
>>> [(name, t[f"first_{i}"]["event_id"] if t[f"first_{i}"] else None) for i, name in enumerate(
...     ["awareness", "consideration", "decision", "purchase", "retention", "advocacy"])]
[('awareness', 'e1'), ('consideration', 'e1'), ('decision', None), ('purchase', 'e2'), ('retention', 'e3'), ('advocacy', None)]
"""

from __future__ import annotations

import functools
import operator
import re

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from ..errors import InputError
from ..touchpoints import number, property_value, url_path
from .model import AnyOf, PropertyTest, Rule, StageModel, TouchRule

__all__ = ["MOMENT", "glob_regex", "leaves", "stage_triggers", "touch_predicate"]

#: A moment: the touchpoint at which something happened.
MOMENT = dt.Struct({"ts": dt.Timestamp(timezone="UTC"), "event_id": dt.string, "event": dt.string})
_NEEDED = ("customer_id", "timestamp", "event_id", "event")
_SEPARATOR = "\x1f"  # between event_id and event name in one sortable text
_SPLIT = r"^([^\x1f]*)\x1f(.*)$"


def glob_regex(globs: tuple[str, ...]) -> str:
    """Globs ('*' anything, '?' one character) -> one anchored, lower-case regex.

    >>> glob_regex(("/blog/*", "/p?"))
    '^(?:/blog/.*|/p.)$'
    """
    parts = ["".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in g.lower()) for g in globs]
    return "^(?:" + "|".join(parts) + ")$"


def _one_of(value: ir.StringValue, patterns: tuple[str, ...], *, globs: bool = False) -> ir.BooleanValue:
    """``value`` equals one of ``patterns``, or (``globs``) matches one; a glob whose only
    wildcard is a final '*' is a prefix test, which costs far less than a regex."""
    if not globs:
        return value.isin(list(patterns))
    lowered = [p.lower() for p in patterns]
    exact = [p for p in lowered if "*" not in p and "?" not in p]
    prefixes = [p[:-1] for p in lowered if p.endswith("*") and "*" not in p[:-1] and "?" not in p]
    wild = tuple(p for p in lowered if p not in exact and p[:-1] not in prefixes)
    tests = []
    if exact:
        tests.append(value.isin(exact))
    tests += [value.startswith(p) for p in prefixes]
    if wild:
        tests.append(value.re_search(glob_regex(wild)))
    return functools.reduce(operator.or_, tests)


def _property(test: PropertyTest, text: ir.StringValue) -> ir.BooleanValue:
    op, value = test.op, test.value
    if op == "exists":
        return text.isnull() if value is False else text.notnull()
    if op in (">", ">=", "<", "<="):
        n = number(text)
        return {">": n > value, ">=": n >= value, "<": n < value, "<=": n <= value}[op].fill_null(False)
    if op == "regex":
        return text.re_search(value).fill_null(False)

    def equal(v) -> ir.BooleanValue:
        if isinstance(v, bool):
            return text.lower() == ("true" if v else "false")
        if isinstance(v, (int, float)):
            return number(text) == float(v)
        return text == v

    if op == "in":
        return functools.reduce(operator.or_, [equal(v) for v in value]).fill_null(False)
    same = equal(value).fill_null(False)
    return ~same & text.notnull() if op == "!=" else same


#: Properties that ingest lifts into their own canonical column (and may leave out of ``properties``).
COLUMN_PROPERTIES = ("revenue", "currency", "referrer", "page_title", "utm_term")


def property_text(events: ir.Table, name: str) -> ir.StringValue:
    """The text of property ``name``: for ``revenue``, ``currency``, ``referrer``, ``page_title``
    and ``utm_term`` the canonical column when the table has it (ingest moves them there), else
    ``properties.NAME``."""
    value = property_value(events, name) if "properties" in events.columns else ibis.null("string")
    if name in COLUMN_PROPERTIES and name in events.columns:
        return events[name].cast("string").fill_null(value) if "properties" in events.columns else \
            events[name].cast("string")
    return value


def touch_predicate(rule: TouchRule, events: ir.Table) -> ir.BooleanValue:
    """True on the touchpoints a touchpoint rule matches (``min_count`` aside).

    Cheap tests (names in a set) decide first; the costly ones (URL parsing, regexes,
    property lookups) run only on the touchpoints the cheap ones let through. A ``_path``
    column, if the table has one, is used as the URL path.
    """
    cheap: list[ir.BooleanValue] = []
    costly: list[ir.BooleanValue] = []
    for key, values in rule.matches:
        if key == "path":
            path = events["_path"] if "_path" in events.columns else url_path(events.url.cast("string"))
            costly.append(_one_of(path, values, globs=True))
        elif key == "url":
            clean = events.url.cast("string").lower().re_replace(r"[?#].*$", "")
            costly.append(_one_of(clean, values, globs=True))
        elif key.startswith("utm_"):
            cheap.append(events[key].cast("string").lower().isin([v.lower() for v in values]))
        else:
            cheap.append(events[key].cast("string").isin(list(values)))
    if rule.url_regex:
        costly.append(events.url.cast("string").re_search(rule.url_regex))
    for test in rule.properties:
        costly.append(_property(test, property_text(events, test.name)))
    if not cheap and not costly:
        return ibis.literal(True)
    cheap_ok = functools.reduce(operator.and_, cheap).fill_null(False) if cheap else None
    costly_ok = functools.reduce(operator.and_, costly).fill_null(False) if costly else None
    if cheap_ok is None:
        return costly_ok
    if costly_ok is None:
        return cheap_ok
    return ibis.ifelse(cheap_ok, costly_ok, False)


def leaves(rule: Rule) -> list[TouchRule]:
    """The touchpoint rules of a rule tree, depth first."""
    if isinstance(rule, TouchRule):
        return [rule]
    return [leaf for child in rule.rules for leaf in leaves(child)]


def _moment(events: ir.Table) -> ir.StructValue:
    return ibis.struct({"ts": events.timestamp, "event_id": events.event_id.cast("string"),
                        "event": events.event.cast("string")})


def _check_columns(events: ir.Table, model: StageModel) -> None:
    needed = set(_NEEDED)
    for stage in model.stages:
        for leaf in leaves(stage.rule):
            needed |= {"url" if k in ("path", "url") else k for k, _ in leaf.matches}
            if leaf.url_regex:
                needed.add("url")
            if leaf.properties:
                needed.add("properties")
    missing = sorted(needed - set(events.columns))
    if missing:
        raise InputError(f"the touchpoints have no column {', '.join(missing)}, which the stage rules need",
                         column=missing[0], hint="load events with the canonical schema (journeymap load)")


def _first_and_last(events: ir.Table, predicates: dict[str, ir.BooleanValue]) -> ir.Table:
    """Per customer and predicate ``name``: ``f_name`` (the first matching moment, a struct)
    and ``l_name`` (the last matching timestamp).

    Struct aggregates over every touchpoint are slow (10x a timestamp ``min`` on DuckDB), so
    this takes two cheap passes: the first and last timestamp per predicate, then, joined back,
    the smallest event_id (with its event name) among the matches at that first timestamp.
    """
    flags = events.select("customer_id", "timestamp", "event_id", "event", **predicates)
    times = flags.group_by("customer_id").aggregate(
        _n=flags.count(),
        **{f"t_{n}": ibis.ifelse(flags[n], flags.timestamp, ibis.null("timestamp")).min() for n in predicates},
        **{f"l_{n}": ibis.ifelse(flags[n], flags.timestamp, ibis.null("timestamp")).max() for n in predicates},
    ).drop("_n")
    joined = flags.join(times, "customer_id")
    at_first = {n: joined[n] & (joined.timestamp == joined[f"t_{n}"]) for n in predicates}
    # only touchpoints that are some predicate's first match go on (about one per customer);
    # the per-customer times ride along on those few rows, so `times` is not joined twice
    joined = joined.mutate(**{f"_at_{n}": v for n, v in at_first.items()})
    joined = joined.filter(functools.reduce(operator.or_, [joined[f"_at_{n}"] for n in predicates]))
    label = joined.event_id.cast("string") + _SEPARATOR + joined.event.cast("string").fill_null("")
    both = joined.group_by("customer_id").aggregate(
        **{f"i_{n}": ibis.ifelse(joined[f"_at_{n}"], label, ibis.null("string")).min() for n in predicates},
        **{f"t_{n}": joined[f"t_{n}"].min() for n in predicates},
        **{f"l_{n}": joined[f"l_{n}"].min() for n in predicates},
    )
    columns = {}
    for n in predicates:
        found = both[f"i_{n}"]
        moment = ibis.struct({"ts": both[f"t_{n}"], "event_id": found.re_extract(_SPLIT, 1),
                              "event": found.re_extract(_SPLIT, 2)})
        columns[f"f_{n}"] = ibis.ifelse(found.isnull(), ibis.null(MOMENT), moment)
        columns[f"l_{n}"] = both[f"l_{n}"]
    return both.select("customer_id", **columns)


def stage_triggers(events: ir.Table, model: StageModel) -> ir.Table:
    """Per customer, for stage ``i``: ``first_i``, the moment its rule first held (a struct of
    ts, event_id, event; NULL if never) and ``last_i``, the last time it held (a timestamp).
    Every customer with a touchpoint gets a row."""
    _check_columns(events, model)
    leaf_list = [leaf for stage in model.stages for leaf in leaves(stage.rule)]
    index = {id(leaf): j for j, leaf in enumerate(leaf_list)}
    null_moment = ibis.null(MOMENT)

    if any(k == "path" for leaf in leaf_list for k, _ in leaf.matches):
        events = events.mutate(_path=url_path(events.url.cast("string")))  # parsed once for every rule
    # touchpoint rules that hold at their first match (and "any touchpoint", so every customer has a row)
    predicates = {f"j{j}": touch_predicate(leaf, events) for j, leaf in enumerate(leaf_list) if leaf.min_count == 1}
    predicates["all"] = ibis.literal(True)
    customers = _first_and_last(events, predicates)

    # counting rules: the N-th match, with the (N-1)-th previous match inside the window
    for j, leaf in enumerate(leaf_list):
        if leaf.min_count == 1:
            continue
        matched = events.filter(touch_predicate(leaf, events)).select("customer_id", "timestamp", "event_id", "event")
        window = ibis.window(group_by="customer_id", order_by=["timestamp", "event_id"])
        earlier = matched.timestamp.lag(leaf.min_count - 1).over(window)
        matched = matched.mutate(_earlier=earlier)
        ok = matched._earlier.notnull()
        if leaf.within_days is not None:
            span = matched.timestamp.epoch_seconds() - matched._earlier.epoch_seconds()
            ok = ok & (span <= leaf.within_days * 86400)
        held = matched.filter(ok)
        counted = held.group_by("customer_id").aggregate(**{f"f_j{j}": _moment(held).min(),
                                                             f"l_j{j}": held.timestamp.max()})
        customers = customers.left_join(counted, "customer_id").drop("customer_id_right")

    def combine(rule: Rule) -> tuple[ir.Value, ir.Value]:
        if isinstance(rule, TouchRule):
            j = index[id(rule)]
            return customers[f"f_j{j}"], customers[f"l_j{j}"]
        parts = [combine(child) for child in rule.rules]
        firsts, lasts = [p[0] for p in parts], [p[1] for p in parts]
        if len(parts) == 1:
            return firsts[0], lasts[0]
        if isinstance(rule, AnyOf):
            return ibis.least(*firsts), ibis.greatest(*lasts)
        missing = functools.reduce(operator.or_, [f.isnull() for f in firsts])
        return (ibis.ifelse(missing, null_moment, ibis.greatest(*firsts)),
                ibis.ifelse(missing, ibis.null("timestamp"), ibis.least(*lasts)))

    columns = {}
    for stage in model.stages:
        first, last = combine(stage.rule)
        columns[f"first_{stage.index}"] = first
        columns[f"last_{stage.index}"] = last
    return customers.select("customer_id", **columns)
