"""Stage models as data: ordered stages, each with a description and an entry rule.

A model comes from a preset (``presets/stages.toml``) or from ``[[stages.stage]]`` tables in
journeymap.toml. Rules are validated here; a malformed one fails with a
:class:`~journeymap.errors.ConfigError` naming the stage, the rule and the line of the file.

>>> model = load_stage_model(preset="default")
>>> [s.name for s in model.stages]
['awareness', 'consideration', 'decision', 'purchase', 'retention', 'advocacy']
>>> model.stages[4].rule.describe()
'event in (order_completed, pos_purchase), at least 2 times within 365 days'
>>> parse_stage({"name": "vip", "when": {"event": "order_completed", "min_count": 0}}, 0)
Traceback (most recent call last):
...
journeymap.errors.ConfigError: setting stages.stage: stage 'vip', rule when: min_count must be a whole number >= 1 (got 0). Fix: e.g. min_count = 2, within_days = 365
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from ..errors import ConfigError

__all__ = [
    "COMPARISONS", "PRESETS", "RULE_KEYS", "AnyOf", "AllOf", "PropertyTest", "Stage", "StageModel",
    "TouchRule", "load_stage_model", "parse_stage", "preset_names",
]

PRESET_FILE = Path(__file__).resolve().parents[1] / "presets" / "stages.toml"

#: What a touchpoint rule may test. Keys in one rule table must all hold on the same touchpoint.
RULE_KEYS: dict[str, str] = {
    "event": "event name is one of (a string or a list)",
    "type": "message type is one of (page, screen, track, identify, alias)",
    "channel": "channel is one of (see `journeymap channels`)",
    "utm_source": "utm_source is one of (case-insensitive)",
    "utm_medium": "utm_medium is one of (case-insensitive)",
    "utm_campaign": "utm_campaign is one of (case-insensitive)",
    "utm_content": "utm_content is one of (case-insensitive)",
    "path": "URL path matches one of the globs ('*' = anything, '?' = one character; case-insensitive)",
    "url": "full URL without its query matches one of the globs (case-insensitive)",
    "url_regex": "full URL (with query) matches this regular expression",
    "property": "name of a property to test, with op and value (see below)",
    "op": "comparison for property: =, !=, in, >, >=, <, <=, regex, exists",
    "value": "what the property is compared with (a list for 'in'; true/false for 'exists')",
    "where": "several property tests: a list of {property, op, value} tables, all must hold",
    "min_count": "the rule holds at the N-th matching touchpoint (default 1)",
    "within_days": "... counting only matches within this many days (needs min_count >= 2)",
    "all": "a list of rules that must all have held (entered when the last of them first holds)",
    "any": "a list of rules of which one must hold (entered when the first of them holds)",
}
#: Property comparisons.
COMPARISONS = ("=", "!=", "in", ">", ">=", "<", "<=", "regex", "exists")
_MATCH_KEYS = ("event", "type", "channel", "utm_source", "utm_medium", "utm_campaign", "utm_content", "path", "url")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PROPERTY = re.compile(r"^[A-Za-z0-9_$@.-]+$")


@dataclass(frozen=True)
class PropertyTest:
    """``properties.<name> <op> <value>``; numbers compare as numbers, text case-sensitively."""

    name: str
    op: str
    value: Any = None

    def describe(self) -> str:
        if self.op == "exists":
            return f"{self.name} {'exists' if self.value is not False else 'is missing'}"
        shown = "(" + ", ".join(map(str, self.value)) + ")" if self.op == "in" else repr(self.value)
        return f"{self.name} {self.op} {shown}"


@dataclass(frozen=True)
class TouchRule:
    """A test of single touchpoints; holds at the ``min_count``-th match (within a window)."""

    matches: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (key, allowed values or globs)
    url_regex: str | None = None
    properties: tuple[PropertyTest, ...] = ()
    min_count: int = 1
    within_days: float | None = None
    where: str = "when"  # its place in the stage's rule, for messages

    def describe(self) -> str:
        parts = [f"{k} in ({', '.join(v)})" if len(v) > 1 else f"{k} = {v[0]}" for k, v in self.matches]
        if self.url_regex:
            parts.append(f"url ~ /{self.url_regex}/")
        parts += [p.describe() for p in self.properties]
        text = " and ".join(parts) or "any touchpoint"
        if self.min_count > 1:
            text += f", at least {self.min_count} times"
            if self.within_days is not None:
                text += f" within {self.within_days:g} days"
        return text


@dataclass(frozen=True)
class AllOf:
    rules: tuple[Rule, ...]
    where: str = "when"

    def describe(self) -> str:
        return "all of [" + "; ".join(r.describe() for r in self.rules) + "]"


@dataclass(frozen=True)
class AnyOf:
    rules: tuple[Rule, ...]
    where: str = "when"

    def describe(self) -> str:
        return "any of [" + "; ".join(r.describe() for r in self.rules) + "]"


Rule = Union[TouchRule, AllOf, AnyOf]


@dataclass(frozen=True)
class Stage:
    """One stage of a journey: who the customer is here, and when they enter it."""

    name: str
    label: str
    description: str
    rule: Rule
    index: int
    keywords: tuple[str, ...] = ()
    content: tuple[str, ...] = ()
    stay_days: float | None = None


@dataclass(frozen=True)
class StageModel:
    """An ordered list of stages. ``regression`` lets customers fall back (see ``stay_days``)."""

    name: str
    stages: tuple[Stage, ...]
    regression: bool = False
    description: str = ""
    source: str = field(default="", compare=False)

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise ConfigError(f"unknown stage '{name}'", hint="stages: " + ", ".join(s.name for s in self.stages))

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]


# ---------------------------------------------------------------------------------------
# Parsing and validation
# ---------------------------------------------------------------------------------------

class _Invalid(Exception):
    def __init__(self, where: str, message: str, hint: str, needle: str | None = None):
        super().__init__(message)
        self.where, self.message, self.hint, self.needle = where, message, hint, needle


def _strings(key: str, value: Any, where: str) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v.strip() for v in values):
        raise _Invalid(where, f"'{key}' must be a non-empty string or list of strings (got {value!r})",
                       f'e.g. {key} = ["a", "b"]', needle=key)
    return tuple(v.strip() for v in values)


def _regex(pattern: Any, where: str, key: str) -> str:
    if not isinstance(pattern, str) or not pattern:
        raise _Invalid(where, f"'{key}' must be a regular expression string", 'e.g. "^/guides/"', needle=key)
    try:
        re.compile(pattern)
    except re.error as exc:
        raise _Invalid(where, f"'{key}' is not a valid regular expression: {exc}",
                       "escape special characters with a backslash", needle=key) from None
    if re.search(r"\(\?[<P]|\\[1-9]|\(\?[=!]", pattern):
        raise _Invalid(where, f"'{key}' uses named groups, back-references or look-around",
                       "DuckDB and Spark read those differently; use a plain pattern", needle=key)
    return pattern


def _property_test(raw: Any, where: str) -> PropertyTest:
    if not isinstance(raw, dict):
        raise _Invalid(where, "a property test must be a table {property, op, value}",
                       'e.g. { property = "rating", op = ">=", value = 4 }')
    unknown = set(raw) - {"property", "op", "value"}
    if unknown:
        raise _Invalid(where, f"unknown key '{sorted(unknown)[0]}' in a property test", "use property, op, value",
                       needle=sorted(unknown)[0])
    name, op, value = raw.get("property"), raw.get("op", "="), raw.get("value")
    if not isinstance(name, str) or not _PROPERTY.match(name):
        raise _Invalid(where, f"'property' must name a property (got {name!r})", 'e.g. property = "rating"',
                       needle="property")
    if op not in COMPARISONS:
        close = {"==": "=", "=>": ">=", "=<": "<=", "<>": "!=", "not": "!=", "matches": "regex", "has": "exists"}
        hint = f"did you mean '{close[op]}'? " if op in close else ""
        raise _Invalid(where, f"unknown op {op!r}", hint + "ops: " + ", ".join(COMPARISONS), needle="op")
    if op == "exists":
        if value not in (None, True, False):
            raise _Invalid(where, "op 'exists' takes value = true or false (or none)", "e.g. value = true",
                           needle="value")
        return PropertyTest(name, op, value)
    if value is None:
        raise _Invalid(where, f"op {op!r} needs a value", f'e.g. {{ property = "{name}", op = "{op}", value = 4 }}',
                       needle="property")
    if op == "in":
        if not isinstance(value, list) or not value or not all(isinstance(v, (str, int, float)) for v in value):
            raise _Invalid(where, "op 'in' needs a non-empty list of strings or numbers", 'e.g. value = ["a", "b"]',
                           needle="value")
        return PropertyTest(name, op, tuple(value))
    if op in (">", ">=", "<", "<="):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Invalid(where, f"op {op!r} compares numbers; value must be a number (got {value!r})",
                           "e.g. value = 4", needle="value")
        return PropertyTest(name, op, float(value))
    if op == "regex":
        return PropertyTest(name, op, _regex(value, where, "value"))
    if not isinstance(value, (str, int, float, bool)):
        raise _Invalid(where, f"value must be a string, number or boolean (got {value!r})", "e.g. value = \"pro\"",
                       needle="value")
    return PropertyTest(name, op, value)


def parse_rule(raw: Any, where: str = "when") -> Rule:
    """A rule table (as read from TOML) -> :data:`Rule`; raises ``_Invalid`` with its place."""
    if not isinstance(raw, dict) or not raw:
        raise _Invalid(where, "a rule must be a non-empty table", 'e.g. when = { event = "order_completed" }')
    for combinator, cls in (("all", AllOf), ("any", AnyOf)):
        if combinator in raw:
            others = set(raw) - {combinator}
            if others:
                raise _Invalid(where, f"'{combinator}' cannot share a table with '{sorted(others)[0]}'",
                               f"move '{sorted(others)[0]}' into one of the rules inside '{combinator}'",
                               needle=sorted(others)[0])
            children = raw[combinator]
            if not isinstance(children, list) or not children:
                raise _Invalid(where, f"'{combinator}' must be a non-empty list of rule tables",
                               f'e.g. {combinator} = [{{ event = "a" }}, {{ event = "b" }}]', needle=combinator)
            return cls(tuple(parse_rule(c, f"{where}.{combinator}[{i + 1}]") for i, c in enumerate(children)), where)
    unknown = [k for k in raw if k not in RULE_KEYS]
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], RULE_KEYS, n=1)
        hint = (f"did you mean '{close[0]}'? " if close else "") + "keys: " + ", ".join(RULE_KEYS)
        raise _Invalid(where, f"unknown key '{unknown[0]}'", hint, needle=unknown[0])
    matches = tuple((k, _strings(k, raw[k], where)) for k in _MATCH_KEYS if k in raw)
    tests: list[PropertyTest] = []
    if "property" in raw or "op" in raw or "value" in raw:
        tests.append(_property_test({k: raw[k] for k in ("property", "op", "value") if k in raw}, where))
    if "where" in raw:
        if not isinstance(raw["where"], list) or not raw["where"]:
            raise _Invalid(where, "'where' must be a non-empty list of {property, op, value} tables",
                           'e.g. where = [{ property = "rating", op = ">=", value = 4 }]', needle="where")
        tests += [_property_test(t, f"{where}.where[{i + 1}]") for i, t in enumerate(raw["where"])]
    min_count = raw.get("min_count", 1)
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise _Invalid(where, f"min_count must be a whole number >= 1 (got {min_count!r})",
                       "e.g. min_count = 2, within_days = 365", needle="min_count")
    within = raw.get("within_days")
    if within is not None:
        if isinstance(within, bool) or not isinstance(within, (int, float)) or within <= 0:
            raise _Invalid(where, f"within_days must be a number of days > 0 (got {within!r})",
                           "e.g. within_days = 365", needle="within_days")
        if min_count < 2:
            raise _Invalid(where, "within_days needs min_count >= 2 (it bounds the days between the first and "
                           "the last of min_count matches)", "add min_count = 2, or remove within_days",
                           needle="within_days")
    url_regex = _regex(raw["url_regex"], where, "url_regex") if "url_regex" in raw else None
    return TouchRule(matches, url_regex, tuple(tests), min_count, float(within) if within is not None else None, where)


def parse_stage(raw: Any, index: int) -> Stage:
    """One ``[[stages.stage]]`` table -> :class:`Stage` (errors name the stage and rule)."""
    stage_name = raw.get("name") if isinstance(raw, dict) else None
    label = f"stage '{stage_name}'" if stage_name else f"stage {index + 1}"
    try:
        if not isinstance(raw, dict):
            raise _Invalid("", "must be a table with name, description and when", "see `journeymap stages --rules`")
        unknown = set(raw) - {"name", "label", "description", "when", "keywords", "content", "stay_days"}
        if unknown:
            key = sorted(unknown)[0]
            raise _Invalid("", f"unknown key '{key}'",
                           "stage keys: name, label, description, when, keywords, content, stay_days", needle=key)
        if not isinstance(stage_name, str) or not _NAME.match(stage_name):
            raise _Invalid("", f"name must be snake_case letters, digits and _ (got {stage_name!r})",
                           'e.g. name = "consideration"', needle="name")
        if "when" not in raw:
            raise _Invalid("", "has no entry rule", 'add e.g. when = { event = "order_completed" }', needle="name")
        rule = parse_rule(raw["when"])
        description = raw.get("description", "")
        if not isinstance(description, str):
            raise _Invalid("", "description must be a string", "describe the customer's goal and mindset",
                           needle="description")
        keywords = raw.get("keywords", [])
        content = raw.get("content", [])
        for key, values in (("keywords", keywords), ("content", content)):
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise _Invalid("", f"{key} must be a list of strings", f'e.g. {key} = ["/blog/*"]', needle=key)
        stay = raw.get("stay_days")
        if stay is not None and (isinstance(stay, bool) or not isinstance(stay, (int, float)) or stay <= 0):
            raise _Invalid("", f"stay_days must be a number of days > 0 (got {stay!r})", "e.g. stay_days = 365",
                           needle="stay_days")
    except _Invalid as bad:
        where = f", rule {bad.where}" if bad.where else ""
        error = ConfigError(f"{label}{where}: {bad.message}", field="stages.stage", hint=bad.hint)
        error.needle = bad.needle  # type: ignore[attr-defined]
        error.stage_name = stage_name  # type: ignore[attr-defined]
        raise error from None
    return Stage(
        name=stage_name, label=raw.get("label") or stage_name.replace("_", " ").capitalize(),
        description=" ".join(description.split()), rule=rule, index=index,
        keywords=tuple(k.lower() for k in keywords), content=tuple(content),
        stay_days=float(stay) if stay is not None else None,
    )


def _line(text: str, stage_name: str | None, needle: str | None, section: str) -> int | None:
    """The line of ``needle`` inside the table of stage ``stage_name`` (or the stage's own line)."""
    lines = text.splitlines()
    start = None
    for number, line in enumerate(lines, start=1):
        if re.match(rf'^\s*name\s*=\s*["\']{re.escape(stage_name or "")}["\']', line) and stage_name:
            start = number
            break
    if start is None:
        for number, line in enumerate(lines, start=1):
            if line.strip().startswith(f"[[{section}"):
                return number
        return None
    # the stage's table runs from its [[...]] header to the next header
    header = start
    while header > 1 and not lines[header - 1].lstrip().startswith("["):
        header -= 1
    end = start
    while end < len(lines) and not lines[end].lstrip().startswith("[["):
        end += 1
    if needle:
        for number in range(header, end + 1):
            if re.search(rf"(^|[\s{{,]){re.escape(needle)}\s*=", lines[number - 1]):
                return number
    return start


def _build(name: str, raw_stages: Any, *, regression: bool, description: str = "", file: str | None = None,
           text: str = "", section: str = "stages.stage") -> StageModel:
    if not isinstance(raw_stages, list) or not raw_stages:
        raise ConfigError("a stage model needs at least one stage", file=file, field=section,
                          hint="add [[stages.stage]] tables or choose a preset")
    stages = []
    for index, raw in enumerate(raw_stages):
        try:
            stages.append(parse_stage(raw, index))
        except ConfigError as error:
            line = _line(text, getattr(error, "stage_name", None), getattr(error, "needle", None), section) \
                if text else None
            raise ConfigError(error.message, file=file, line=line, field=section, hint=error.hint) from None
    seen: set[str] = set()
    for stage in stages:
        if stage.name in seen:
            raise ConfigError(f"stage '{stage.name}' is defined twice", file=file, field=section,
                              line=_line(text, stage.name, None, section) if text else None,
                              hint="stage names must be unique")
        seen.add(stage.name)
    return StageModel(name, tuple(stages), regression, description, source=file or "")


@functools.cache
def _preset_text() -> str:
    return PRESET_FILE.read_text(encoding="utf-8")


def preset_names() -> list[str]:
    """The stage-model presets shipped with journeymap."""
    return list(tomllib.loads(_preset_text()))


PRESETS = ("default", "content-marketing", "needs", "five-stage", "four-stage")


def load_stage_model(settings: Any = None, preset: str | None = None, *, file: str | None = None,
                     text: str = "") -> StageModel:
    """The stage model of ``settings.stages`` (own stages, else its preset), or ``preset``.

    ``file``/``text`` are the config file and its content, so errors can give the line.
    """
    stage_settings = getattr(settings, "stages", settings)
    regression = bool(getattr(stage_settings, "regression", False))
    own = getattr(stage_settings, "stage", None) or []
    if preset is None and own:
        return _build("custom", own, regression=regression, file=file, text=text)
    chosen = preset or getattr(stage_settings, "preset", None) or "default"
    data = tomllib.loads(_preset_text())
    if chosen not in data:
        import difflib

        close = difflib.get_close_matches(chosen, list(data), n=1)
        raise ConfigError(f"unknown stage preset '{chosen}'", field="stages.preset",
                          hint=(f"did you mean '{close[0]}'? " if close else "") + "presets: " + ", ".join(data))
    entry = data[chosen]
    return _build(chosen, entry.get("stage"), regression=regression, description=entry.get("description", ""),
                  file=str(PRESET_FILE), text=_preset_text(), section=f"{chosen}.stage")
