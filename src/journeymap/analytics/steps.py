"""Steps: what a funnel step, a path's start or end, or a retention event is.

A step is an event name, optionally with filters, or a stage entry:

| written | means |
|---|---|
| ``add_to_cart`` | a touchpoint whose event is ``add_to_cart`` |
| ``Order Completed`` | event names may hold spaces (Segment's spelling) |
| ``page_view[path=/pricing*]`` | a page view whose URL path matches the glob |
| ``checkout_started[device=mobile]`` | ... whose ``properties.device`` is ``mobile`` |
| ``order_completed[revenue>=100; coupon]`` | several filters, all must hold; a bare key = exists |
| ``page_view[channel=email|social]`` | ``|`` separates allowed values |
| ``product_viewed[category~^tent]`` | ``~`` = regular expression |
| ``*`` | any touchpoint |
| ``stage:decision`` | the customer entered the ``decision`` stage |

Filter keys ``type``, ``channel``, ``utm_source``, ``utm_medium``, ``utm_campaign``,
``utm_content``, ``path`` and ``url`` test those columns (``path``/``url`` take globs);
any other key (or ``property.KEY``) tests ``properties.KEY``, with ``=``, ``!=``, ``>``,
``>=``, ``<``, ``<=``, ``~`` (regex) or nothing (exists). In journeymap.toml a step may
also be a stage-rule table, e.g. ``{ event = "page_view", path = "/pricing*" }``.

Steps are matched by the same code as the stage rules (:func:`journeymap.stages.rules.touch_predicate`).

>>> s = parse_step("order_completed[revenue>=100; coupon]")
>>> s.label, s.events, [(t.name, t.op, t.value) for t in s.rule.properties]
('order_completed[revenue>=100; coupon]', ('order_completed',), [('revenue', '>=', 100.0), ('coupon', 'exists', True)])
>>> [s.label for s in parse_steps("page_view[path=/a*, channel=email], add_to_cart, stage:decision")]
['page_view[path=/a*, channel=email]', 'add_to_cart', 'stage:decision']
>>> parse_step("stage:decision").stage
'decision'
>>> parse_steps("")
Traceback (most recent call last):
...
journeymap.errors.ConfigError: setting steps: no steps given. Fix: name events separated by commas, e.g. product_viewed,add_to_cart,order_completed
>>> parse_step("add_to_cart[price=>3]")
Traceback (most recent call last):
...
journeymap.errors.ConfigError: setting steps: step 'add_to_cart[price=>3]': filter 'price=>3': unknown comparison '=>'. Fix: did you mean '>='? Filters are KEY=VALUE, KEY!=VALUE, KEY>N, KEY>=N, KEY<N, KEY<=N, KEY~REGEX or KEY
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Sequence

import ibis
import ibis.expr.types as ir

from ..errors import ConfigError
from ..stages.model import TouchRule, _Invalid, parse_rule
from ..stages.rules import touch_predicate

__all__ = ["STAGE_PREFIX", "Step", "check_steps", "event_log", "parse_step", "parse_steps", "step_columns",
           "step_predicate", "with_stage_events"]

#: Event name given to stage entries in an event log (``stage:decision``).
STAGE_PREFIX = "stage:"
_COLUMN_KEYS = ("type", "channel", "utm_source", "utm_medium", "utm_campaign", "utm_content", "path", "url")
_FILTER = re.compile(r"^\s*([A-Za-z0-9_$@.:-]+)\s*(!=|>=|<=|=|>|<|~)?\s*(.*?)\s*$")
_OPS = "KEY=VALUE, KEY!=VALUE, KEY>N, KEY>=N, KEY<N, KEY<=N, KEY~REGEX or KEY"
_EXAMPLE = "product_viewed,add_to_cart,order_completed"


@dataclass(frozen=True)
class Step:
    """One step: a touchpoint rule (event name and filters) or a stage entry."""

    label: str
    rule: TouchRule | None = None
    stage: str | None = None

    @property
    def events(self) -> tuple[str, ...]:
        """Event names the step needs (empty for ``*`` and stage steps)."""
        if self.rule is None:
            return ()
        return next((values for key, values in self.rule.matches if key == "event"), ())


def _error(text: str, message: str, hint: str, field: str) -> ConfigError:
    return ConfigError(f"step '{text}': {message}", field=field, hint=hint)


def _filter(text: str, part: str, field: str) -> tuple[str, Any] | dict:
    match = _FILTER.match(part)
    if not match:
        raise _error(text, f"filter '{part}' is not {_OPS}", "e.g. page_view[path=/pricing*]", field)
    key, op, value = match.groups()
    if op is None and value:
        bad = re.match(r"^([=<>!~]+)", value)
        if bad:
            op = bad.group(1)
    if op is not None and not value:
        raise _error(text, f"filter '{part}' has no value after '{op}'", f"filters are {_OPS}", field)
    if value and op is None or (value and re.match(r"^[=<>!~]", value)):
        wrong = (op or "") + re.match(r"^([=<>!~]*)", value).group(1)
        close = {"==": "=", "=>": ">=", "=<": "<=", "<>": "!=", "!": "!="}.get(wrong)
        raise _error(text, f"filter '{part}': unknown comparison '{wrong}'",
                     (f"did you mean '{close}'? " if close else "") + f"Filters are {_OPS}", field)
    key = key[len("property."):] if key.startswith("property.") else key
    if key in _COLUMN_KEYS:
        if op != "=":
            raise _error(text, f"filter '{part}': {key} takes '=' (one value or several joined with '|')",
                         f"e.g. {key}=a|b; for other tests use a property", field)
        return key, [v.strip() for v in value.split("|") if v.strip()]
    if op is None:
        return {"property": key, "op": "exists", "value": True}
    if op in (">", ">=", "<", "<="):
        try:
            return {"property": key, "op": op, "value": float(value)}
        except ValueError:
            raise _error(text, f"filter '{part}': '{op}' compares numbers; '{value}' is not one",
                         f"e.g. {key}{op}100", field) from None
    if op == "~":
        return {"property": key, "op": "regex", "value": value}
    values = [v.strip() for v in value.split("|")]
    if op == "=" and len(values) > 1:
        return {"property": key, "op": "in", "value": values}
    return {"property": key, "op": op, "value": value}


def parse_step(spec: str | dict, *, field: str = "steps") -> Step:
    """A step from its text (see the module doc) or from a stage-rule table."""
    if isinstance(spec, dict):
        raw = dict(spec)
        label = str(raw.pop("name", "") or "")
        try:
            rule = parse_rule(raw, field)
        except _Invalid as exc:
            raise ConfigError(f"step {spec!r}: {exc.message}", field=field, hint=exc.hint) from None
        if not isinstance(rule, TouchRule) or rule.min_count != 1:
            raise ConfigError(f"step {spec!r}: a step is one touchpoint rule (no all/any/min_count)",
                              field=field, hint='e.g. { event = "page_view", path = "/pricing*" }')
        events = next((v for k, v in rule.matches if k == "event"), ())
        return Step(label or ",".join(events) or "*", rule)
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError("empty step", field=field, hint=f"e.g. {_EXAMPLE}")
    text = spec.strip()
    match = re.match(r"^([^\[\]]+?)\s*(?:\[(.*)\])?$", text)
    if not match:
        raise _error(text, "brackets do not match", "write EVENT or EVENT[KEY=VALUE; ...]", field)
    name, inner = match.group(1).strip(), match.group(2)
    if name.lower().startswith(STAGE_PREFIX):
        if inner is not None:
            raise _error(text, "a stage step takes no filters", "e.g. stage:decision", field)
        stage = name[len(STAGE_PREFIX):].strip()
        if not stage:
            raise _error(text, "no stage name after 'stage:'", "e.g. stage:decision", field)
        return Step(text, stage=stage)
    raw: dict[str, Any] = {} if name == "*" else {"event": name}
    tests = []
    for part in [p for p in re.split(r"[;,]", inner or "") if p.strip()]:
        parsed = _filter(text, part, field)
        if isinstance(parsed, dict):
            tests.append(parsed)
        elif parsed[0] in raw:
            raise _error(text, f"filter key '{parsed[0]}' given twice", "join values with '|': key=a|b", field)
        else:
            raw[parsed[0]] = parsed[1]
    if tests:
        raw["where"] = tests
    if not raw:
        return Step(text, TouchRule())
    try:
        rule = parse_rule(raw, field)
    except _Invalid as exc:
        raise _error(text, exc.message, exc.hint, field) from None
    return Step(text, rule)


def _split(text: str) -> list[str]:
    """Split on commas outside brackets."""
    parts, depth, current = [], 0, []
    for char in text:
        depth += char == "["
        depth -= char == "]"
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_steps(spec: str | Sequence[str | dict] | None, *, field: str = "steps") -> list[Step]:
    """Several steps: a comma-separated text (commas inside ``[...]`` belong to filters) or a list."""
    items: list[str | dict] = _split(spec) if isinstance(spec, str) else list(spec or [])
    if not items:
        raise ConfigError("no steps given", field=field, hint=f"name events separated by commas, e.g. {_EXAMPLE}")
    return [parse_step(item, field=f"{field}[{i + 1}]" if len(items) > 1 else field) for i, item in enumerate(items)]


def step_predicate(events: ir.Table, step: Step) -> ir.BooleanValue:
    """True on the rows of ``events`` (an :func:`event_log`) where ``step`` happens."""
    if step.stage is not None:
        return events.event == STAGE_PREFIX + step.stage
    return touch_predicate(step.rule, events)


def check_steps(steps: Sequence[Step], known_events: Sequence[str], stages: Sequence[str] = (), *,
                field: str = "steps") -> None:
    """Raise a clear error for a step naming an event no touchpoint has, or an unknown stage.

    >>> check_steps(parse_steps("page_view,add_to_crat"), ["page_view", "add_to_cart"])
    Traceback (most recent call last):
    ...
    journeymap.errors.ConfigError: setting steps: unknown event 'add_to_crat': no touchpoint has it. Fix: did you mean 'add_to_cart'? (`journeymap info` lists the events)
    """
    known = set(known_events)
    for step in steps:
        if step.stage is not None:
            if step.stage not in stages:
                close = difflib.get_close_matches(step.stage, list(stages), n=1)
                raise ConfigError(f"unknown stage '{step.stage}'", field=field,
                                  hint=(f"did you mean 'stage:{close[0]}'? " if close else "")
                                  + "stages: " + ", ".join(stages))
            continue
        for name in step.events:
            if name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=1)
                raise ConfigError(f"unknown event '{name}': no touchpoint has it", field=field,
                                  hint=(f"did you mean '{close[0]}'? " if close else "")
                                  + "(`journeymap info` lists the events)")


def step_columns(steps: Sequence[Step], available: Sequence[str] = ()) -> list[str]:
    """The event columns the ``steps``' filters read (beyond customer_id, timestamp, event_id,
    event, type); with ``available``, only those the table has.

    >>> step_columns(parse_steps("a[path=/x*], b[revenue>=5; plan=pro], c[channel=email]"))
    ['url', 'properties', 'revenue', 'channel']
    """
    from ..stages.rules import COLUMN_PROPERTIES

    wanted: list[str] = []
    for step in steps:
        if step.rule is None:
            continue
        for key, _ in step.rule.matches:
            column = "url" if key in ("path", "url") else key
            if column not in ("event", "type"):
                wanted.append(column)
        if step.rule.url_regex:
            wanted.append("url")
        for test in step.rule.properties:
            wanted.append("properties")
            if test.name in COLUMN_PROPERTIES:
                wanted.append(test.name)
    unique = list(dict.fromkeys(wanted))
    return [c for c in unique if c in available] if available else unique


def event_log(events: ir.Table, columns: Sequence[str] = ()) -> ir.Table:
    """The columns every behavioural analytic reads (customer_id, timestamp, event_id, event,
    type) plus ``columns``; touchpoints without a customer are left out."""
    wanted = ["customer_id", "timestamp", "event_id", "event", "type"]
    wanted = list(dict.fromkeys([*wanted, *columns]))
    return events.filter(events.customer_id.notnull()).select(*wanted)


def with_stage_events(log: ir.Table, entries: ir.Table) -> ir.Table:
    """``log`` plus one row per stage entry: event ``stage:NAME``, type ``stage``, at the moment the
    stage was entered. A skipped stage counts as entered when the stage after it was; its
    event_id (``~stage:INDEX:NAME``) orders entries at one moment by stage and after touchpoints."""
    index = entries.stage_index.cast("string").lpad(3, "0")
    rows = {name: ibis.null(log[name].type()) for name in log.columns}
    rows.update(
        customer_id=entries.customer_id.cast(log.customer_id.type()),
        timestamp=entries.entered_at.cast(log.timestamp.type()),
        event_id=(ibis.literal("~" + STAGE_PREFIX) + index + ":" + entries.stage).cast(log.event_id.type()),
        event=(STAGE_PREFIX + entries.stage).cast(log.event.type()),
        type=ibis.literal("stage").cast(log.type.type()),
    )
    return log.union(entries.select(**rows))
