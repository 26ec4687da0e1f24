"""Channel classification: data-driven rules compiled to one portable Ibis expression.

The rules are data (``presets/channels.toml`` plus ``[[channels.rules]]`` in journeymap.toml).
Precedence for every touchpoint: 1) a channel the source supplied, if it is one of
:data:`CHANNELS` (any case or spelling of an id or label); 2) your rules, in order; 3) the
preset's rules, in order (first match wins); 4) an external referrer -> ``referral``, else
``direct``. The compiled expression uses only lower, substrings, prefix/suffix/substring
tests, regex search/extract/replace, ``isin``, CASE, DISTINCT and NULL-safe joins, so DuckDB
(RE2) and Spark (Java regex) give identical results. By default each distinct combination of
the inputs is classified once (see :func:`classify_channels`).

>>> rules = load_channel_rules()
>>> events = ibis.memtable({"type": ["page", "page", "screen"], "event": ["page_view", "page_view", "screen_view"],
...     "url": ["https://shop.example/?gclid=abc", "https://shop.example/", None],
...     "referrer": [None, "https://www.Google.co.uk/", None]})
>>> classify_channels(events, rules).channel.to_list()
['paid_search', 'organic_search', 'app']
"""

from __future__ import annotations

import difflib
import functools
import operator
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import ibis
import ibis.expr.types as ir

from .config import ChannelSettings
from .errors import ConfigError
from .schema import EVENT_TYPES

__all__ = [
    "CHANNELS", "CHANNEL_LABELS", "CONDITION_KEYS", "ChannelRule", "ChannelRules", "Condition",
    "SourceCategory", "channel_expr", "classify_channels", "describe_rules", "load_channel_rules",
]

#: Channel ids, in the order reports list them.
CHANNELS: tuple[str, ...] = (
    "paid_search", "organic_search", "paid_social", "organic_social", "email", "affiliate", "display",
    "video", "referral", "customer_service", "offline", "app", "direct",
)

#: Human labels of the channels.
CHANNEL_LABELS: dict[str, str] = {
    "paid_search": "Paid search", "organic_search": "Organic search", "paid_social": "Paid social",
    "organic_social": "Organic social", "email": "Email", "affiliate": "Affiliate", "display": "Display ads",
    "video": "Video", "referral": "Referral", "customer_service": "Customer service",
    "offline": "In-store / offline", "app": "Mobile app", "direct": "Direct",
}

#: The condition vocabulary of a rule's ``when``: key -> what it tests. Lists mean "any of".
CONDITION_KEYS: dict[str, str] = {
    "type": "message type is one of (track, page, screen, identify, alias)",
    "event": "event name is one of (case-insensitive, trimmed)",
    "event_matches": "event name matches a regex (searched in the lower-cased name)",
    "utm_source": "utm_source is one of", "utm_source_matches": "utm_source matches a regex",
    "utm_medium": "utm_medium is one of", "utm_medium_matches": "utm_medium matches a regex",
    "utm_campaign": "utm_campaign is one of", "utm_campaign_matches": "utm_campaign matches a regex",
    "source_category": "utm_source is a source or domain of a category (search, social, video, email)",
    "url_param": "the page URL has one of these query parameters, with a value",
    "url_domain": "the page URL's host is one of these domains or a subdomain",
    "url_matches": "the page URL (lower-cased) matches a regex",
    "referrer": "the referrer is none (absent or unparseable), internal (your site) or external",
    "referrer_domain": "the referrer's host is one of these domains or a subdomain",
    "referrer_category": "the referrer's host is a domain of a category (search, social, video, email)",
    "referrer_matches": "the referrer URL (lower-cased) matches a regex",
}

PRESET_FILE = Path(__file__).parent / "presets" / "channels.toml"
_REFERRER_KINDS = ("none", "internal", "external")
# key -> (normalised field it reads, operator)
_OPS: dict[str, tuple[str, str]] = {
    key: (key.removesuffix("_matches"), "matches") if key.endswith("_matches") else (key, "is")
    for key in CONDITION_KEYS
}
_OPS.update({
    "source_category": ("utm_source", "source_category"), "url_param": ("url", "param"),
    "url_domain": ("url_host", "domain"), "referrer": ("referrer_kind", "is"),
    "referrer_domain": ("referrer_host", "domain"), "referrer_category": ("referrer_host", "referrer_category"),
})
_NON_PORTABLE = (
    (r"\(\?<?[=!]", "look-around"), (r"\\[1-9]|\\k<|\(\?P=", "back-references"),
    (r"\(\?>", "atomic groups"), (r"[*+?}]\+", "possessive quantifiers"),
    (r"\[:\^?[a-z]+:\]", "POSIX classes like [[:alpha:]]"), (r"\(\?P?<[a-z]", "named groups"),
    (r"\\[ZGp]|\(\?[a-z]*U|\{,", r"\Z, \G, \p{..}, (?U) or {,n}"),
)
_HOST = (r"^(?:[a-z][a-z0-9+.-]*://|//)?(?:[^/?#@ ]*@)?(?:www[0-9]{0,3}[.])?"
         r"([a-z0-9_-]+(?:[.][a-z0-9_-]+)+)[.]?(?::[0-9]*)?(?:[/?#]|$)")
_DOMAIN = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*(\.\*)?$")
_PARAM = re.compile(r"^[a-z0-9_.\-\[\]]+$")


@dataclass(frozen=True)
class Condition:
    """One test of a rule: ``key`` from :data:`CONDITION_KEYS`, true if any of ``values`` holds."""

    key: str
    values: tuple[str, ...]

    def describe(self, max_items: int | None = 6) -> str:
        """The condition as text, e.g. ``utm_medium is one of: cpc, ppc``."""
        field, op = _OPS[self.key]
        if max_items is not None and op == "matches":  # regexes are long: show fewer
            max_items = max(1, max_items // 3)
        shown = self.values if max_items is None else self.values[:max_items]
        items = ", ".join(f"/{v}/" if op == "matches" else v for v in shown)
        items += f", ... (+{len(self.values) - len(shown)} more)" if len(shown) < len(self.values) else ""
        field = {"referrer_kind": "referrer", "url_host": "URL host", "referrer_host": "referrer host"}.get(field, field)
        some = "one of: " if len(self.values) > 1 else ""
        return {"is": f"{field} is {some}{items}", "matches": f"{field} matches {some}{items}",
                "param": f"URL has parameter {items}", "domain": f"{field} is (a subdomain of) {items}",
                "source_category": f"utm_source is a known {items} source",
                "referrer_category": f"referrer is a known {items} site"}[op]


@dataclass(frozen=True)
class ChannelRule:
    """A rule: touchpoints meeting every condition get ``channel``.

    ``origin`` is ``user`` (journeymap.toml) or ``preset``; ``why`` documents preset rules.
    """

    name: str
    channel: str
    conditions: tuple[Condition, ...]
    origin: str = "user"
    why: str = ""


@dataclass(frozen=True)
class SourceCategory:
    """A named list of utm_source values and site domains (search, social, video, email)."""

    name: str
    sources: tuple[str, ...]
    domains: tuple[str, ...]


@dataclass(frozen=True)
class ChannelRules:
    """Everything channel classification needs: the ordered rules and the data they use."""

    rules: tuple[ChannelRule, ...]
    internal_domains: tuple[str, ...] = ()
    categories: tuple[SourceCategory, ...] = ()
    aliases: tuple[tuple[str, str], ...] = ()
    preset: str = "default"


@functools.cache
def _preset_file() -> dict[str, Any]:
    return tomllib.loads(PRESET_FILE.read_text(encoding="utf-8"))


def load_channel_rules(settings: ChannelSettings | None = None) -> ChannelRules:
    """Validate the user's rules and the chosen preset's into :class:`ChannelRules`.

    User rules come first. Unknown presets, channels, condition keys, categories and
    non-portable regexes raise :class:`~journeymap.errors.ConfigError` naming the rule and key.

    >>> settings = ChannelSettings(rules=[{"name": "partners", "channel": "affiliate",
    ...                                    "when": {"utm_source": ["Partnerize", "awin"]}}])
    >>> rules = load_channel_rules(settings)
    >>> [(r.name, r.origin) for r in rules.rules[:2]]
    [('partners', 'user'), ('customer-service-events', 'preset')]
    >>> load_channel_rules(ChannelSettings(rules=[{"channel": "paidsearch", "when": {"utm_medium": "x"}}]))
    Traceback (most recent call last):
    ...
    journeymap.errors.ConfigError: setting channels.rules: rule 1 (rule-1), key 'channel': unknown channel 'paidsearch'. Fix: did you mean 'paid_search'? Channels: paid_search, organic_search, paid_social, organic_social, email, affiliate, display, video, referral, customer_service, offline, app, direct
    """
    settings = settings or ChannelSettings()
    data = _preset_file()
    presets = data.get("presets", {})
    if settings.preset not in presets:
        raise ConfigError(f"unknown channel rules preset '{settings.preset}'", field="channels.preset",
                          hint=f"use one of: {', '.join(sorted(presets))}")
    categories = tuple(SourceCategory(name, tuple(v.strip().lower() for v in c.get("sources", ())),
                                      tuple(_domains(c.get("domains", ()), f"categories.{name}.domains")))
                       for name, c in data.get("categories", {}).items())
    known = {c.name for c in categories}
    user = [_rule(r.name or f"rule-{i}", r.channel, r.when, i, "user", "", known)
            for i, r in enumerate(settings.rules, start=1)]
    preset = [_rule(r.get("name", f"rule-{i}"), r.get("channel", ""), r.get("when", {}), i, "preset",
                    r.get("why", ""), known, preset=settings.preset)
              for i, r in enumerate(presets[settings.preset].get("rules", ()), start=1)]
    internal = tuple(_domains(settings.internal_domains, "channels.internal_domains"))
    aliases = tuple((_squash(k), v) for k, v in data.get("aliases", {}).items())
    return ChannelRules(tuple(user + preset), internal, categories, aliases, settings.preset)


def _fail(message: str, where: str, preset: str | None, hint: str) -> ConfigError:
    if preset is None:
        return ConfigError(f"{where}, {message}", field="channels.rules", hint=hint)
    return ConfigError(f"preset '{preset}' {where}, {message}", file=str(PRESET_FILE), hint=hint)


def _rule(name: str, channel: str, when: dict[str, Any], position: int, origin: str, why: str,
          categories: set[str], preset: str | None = None) -> ChannelRule:
    where = f"rule {position} ({name})"
    if channel not in CHANNELS:
        close = difflib.get_close_matches(str(channel), CHANNELS, n=1)
        hint = (f"did you mean '{close[0]}'? " if close else "") + f"Channels: {', '.join(CHANNELS)}"
        raise _fail(f"key 'channel': unknown channel '{channel}'", where, preset, hint)
    if not when:
        raise _fail("key 'when': a rule needs at least one condition", where, preset,
                    f"add conditions, e.g. when = {{utm_medium = \"partner\"}}; keys: {', '.join(CONDITION_KEYS)}")
    conditions = []
    for key, raw in when.items():
        if key not in CONDITION_KEYS:
            close = difflib.get_close_matches(key, CONDITION_KEYS, n=1)
            hint = (f"did you mean '{close[0]}'? " if close else "") + f"Condition keys: {', '.join(CONDITION_KEYS)}"
            raise _fail(f"key '{key}': unknown condition key", where, preset, hint)
        values = [raw] if isinstance(raw, str) else raw
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise _fail(f"key '{key}': expected a string or a non-empty list of strings, got {raw!r}",
                        where, preset, f'write e.g. {key} = ["a", "b"]')
        try:
            conditions.append(Condition(key, tuple(_value(key, v, categories) for v in values)))
        except ValueError as exc:
            raise _fail(f"key '{key}': {exc}", where, preset, exc.args[1]) from None
    return ChannelRule(name, channel, tuple(conditions), origin, why)


def _value(key: str, value: str, categories: set[str]) -> str:
    """Normalise and check one condition value; ValueError(message, hint) if it is unusable."""
    op = _OPS[key][1]
    if op == "matches":
        return _portable_regex(value)
    value = value.strip().lower()
    allowed = {"type": EVENT_TYPES, "referrer": _REFERRER_KINDS}.get(key)
    if op.endswith("category"):
        allowed = tuple(sorted(categories))
    if allowed is not None and value not in allowed:
        raise ValueError(f"unknown value '{value}'", f"use one of: {', '.join(allowed)}")
    if op == "domain":
        return _domain(value)
    if op == "param" and not _PARAM.match(value):
        raise ValueError(f"'{value}' is not a query parameter name", "give the bare name, e.g. gclid")
    return value


def _portable_regex(pattern: str) -> str:
    for construct, what in _NON_PORTABLE:
        if re.search(construct, pattern):
            raise ValueError(f"regex {pattern!r} uses {what}, which DuckDB (RE2) or Spark (Java) lacks",
                             "use plain groups, alternation, classes and quantifiers")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"bad regex {pattern!r}: {exc}", "fix the regular expression") from None
    if re.search(r"[A-Z]", re.sub(r"\\.", "", pattern)):
        raise ValueError(f"regex {pattern!r} has upper-case letters but is matched against lower-cased text",
                         "write the pattern in lower case")
    return pattern


def _domain(value: str) -> str:
    domain = re.sub(r"^([a-z][a-z0-9+.-]*:)?//", "", value.strip().lower()).split("/")[0]
    domain = re.sub(r"^(\*\.|www\.)", "", domain)
    if not _DOMAIN.match(domain) or "." not in domain:
        raise ValueError(f"'{value}' is not a domain", "write a host name like example.com (subdomains "
                         "are included; 'google.*' means any country ending)")
    return domain


def _domains(values: Iterable[str], field: str) -> list[str]:
    try:
        return [_domain(v) for v in values]
    except ValueError as exc:
        raise ConfigError(exc.args[0], field=field, hint=exc.args[1]) from None


def _squash(value: str) -> str:
    return re.sub(r"[\s\-_/]+", "", value.strip().lower())


# ---------------------------------------------------------------------------------------
# Compiling rules to an Ibis expression
# ---------------------------------------------------------------------------------------
#
# Work is laid out for DuckDB's vectorised engine but stays portable Ibis:
# - every derived input (trimmed lower-case text, hosts, utm from the URL) is computed once
#   and kept in a helper column; rules compare those;
# - what depends on the URL alone (its host, query parameters, url_* conditions) or on the
#   referrer alone (its host, referrer_* conditions) is computed per distinct URL and per
#   distinct referrer;
# - CASE and COALESCE run later branches only on rows still undecided, so costly tests sit
#   behind cheap ones (a utm value is read from the URL only where the column is empty);
# - regexes that capture are several times dearer than plain tests: hosts and utm values
#   take an exact fast path where the text has the usual shape.

Fields = dict[str, ir.Value]  # normalised input name -> expression
Step = Callable[[Fields], Fields]

_UTM = ("utm_source", "utm_medium", "utm_campaign")
_TEXT = ("type", "event", "url", "referrer", *_UTM)
_INPUTS = (*_TEXT, "channel")
# the fields of a condition that depend on the URL alone or on the referrer alone
_SIDES = {"url": ("url", "url_host"), "referrer": ("referrer", "referrer_host")}
_BLANKS = (" ", "\t", "\n", "\r")
_PREFIX, _KEY = "_jm_channel_", "_jm_channel_key_"  # helper columns, key columns

# The host of a URL (or bare host), lower-cased: ``www.``, user info, port, a final dot dropped.
_HOST = (r"^(?:[a-z][a-z0-9+.-]*://|//)?(?:[^/?#@ ]*@)?(?:www[0-9]{0,3}[.])?"
         r"([a-z0-9_-]+(?:[.][a-z0-9_-]+)+)[.]?(?::[0-9]*)?(?:[/?#]|$)")
# Fast paths for the usual "scheme://labels.tld/..." (no user info, port or final dot): there
# _HOST's group is the authority, less a leading www[0-9]{0,3}. if two labels remain. A test
# without capture plus a one-pass capture costs a third of _HOST's capture.
_SCHEME, _LABELS, _END = r"^[a-z][a-z0-9+.-]*://", r"[a-z0-9_-]+(?:[.][a-z0-9_-]+)+", r"(?:[/?#]|$)"
_HOST_FAST = (
    (_SCHEME + r"www[0-9]{0,3}[.]" + _LABELS + _END, _SCHEME + r"www[0-9]{0,3}[.]([^/?#]*)"),
    (_SCHEME + _LABELS + _END, _SCHEME + r"([^/?#]*)"),
)


def _column(events: ibis.Table, name: str) -> ir.StringValue:
    if name in events.columns:
        return events[name].cast("string")
    return ibis.null("string")


def _trim(value: ir.StringValue) -> ir.StringValue:
    """Trim blanks; the regex runs only on values that need it (``value`` is used 7 times).

    Not ``strip()``: Ibis writes its '\\v\\f' for Spark, which reads them as 'v' and 'f'.
    ``right(1)`` would count characters through the whole value; ``endswith`` does not.
    """
    edge = functools.reduce(operator.or_, [value.endswith(b) for b in _BLANKS], value.left(1).isin(_BLANKS))
    return ibis.ifelse(edge, value.re_replace(r"^[ \t\r\n]+|[ \t\r\n]+$", ""), value)


def _trim_once(value: ir.StringValue) -> ir.StringValue:
    """Same as :func:`_trim`, using ``value`` once (for the inline expression)."""
    return value.re_extract(r"(?s)^[ \t\r\n]*(.*?)[ \t\r\n]*$", 1)


def _host(url: ir.StringValue) -> ir.StringValue:
    """The host of a cleaned URL, or NULL: ``_HOST``'s group, by a fast path where it is exact."""
    fast = [(url.re_search(test), url.re_extract(capture, 1)) for test, capture in _HOST_FAST]
    return ibis.cases(*fast, else_=url.re_extract(_HOST, 1)).nullif("")


def _inputs(rules: ChannelRules) -> tuple[str, ...]:
    """The input columns the rules read: url, referrer and channel always (the fallback and
    the source's channel); type, event and utm_* only if a condition reads them."""
    fields = {_OPS[c.key][0] for rule in rules.rules for c in rule.conditions}
    return tuple(n for n in _INPUTS if n in fields or n in ("url", "referrer", "channel"))


def _side(condition: Condition) -> str | None:
    field = _OPS[condition.key][0]
    return next((side for side, fields in _SIDES.items() if field in fields), None)


def _flags(rules: ChannelRules) -> dict[Condition, str]:
    """Conditions on the URL alone or the referrer alone -> name of their precomputed flag."""
    flags: dict[Condition, str] = {}
    for condition in (c for rule in rules.rules for c in rule.conditions if _side(c)):
        flags.setdefault(condition, f"{_side(condition)}_flag{len(flags)}")
    return flags


def _side_stages(side: str, rules: ChannelRules, trim: Callable = _trim) -> list[Step]:
    """Steps from the lower-cased URL (or referrer) to its cleaned text, host and flags."""
    flags = {c: name for c, name in _flags(rules).items() if _side(c) == side}
    categories = {c.name: c for c in rules.categories}

    def flagged(f: Fields) -> Fields:
        out = {name: _predicate(c, f, categories) for c, name in flags.items()}
        if side == "referrer" and rules.internal_domains:
            out["referrer_internal"] = f["referrer_host"].re_search(_domain_regex(rules.internal_domains))
        return out

    return [lambda f: {side: trim(f[side]).nullif("")}, lambda f: {f"{side}_host": _host(f[side])}, flagged]


def _side_fields(side: str, rules: ChannelRules) -> set[str]:
    """What the side stages give the rest: cleaned text, host, flags (and internal)."""
    internal = {"referrer_internal"} if side == "referrer" and rules.internal_domains else set()
    return {side, f"{side}_host", *(n for c, n in _flags(rules).items() if _side(c) == side), *internal}


def _main_stages(rules: ChannelRules, trim: Callable = _trim, inputs: Iterable[str] = _INPUTS) -> list[Step]:
    """Steps from the other inputs (and the sides' fields) to the channel.

    The rules before the first one on a utm field decide first; utm values are read from
    the URL only for rows they leave open (first match wins, so the split changes nothing).
    """
    text = [n for n in ("type", "event", *_UTM) if n in inputs]
    utm = [n for n in _UTM if n in inputs]
    flags = _flags(rules)
    split = next((i for i, rule in enumerate(rules.rules)
                  if any(_OPS[c.key][0] in _UTM for c in rule.conditions)), len(rules.rules))

    def cleaned(f: Fields) -> Fields:
        return {**{n: trim(f[n]).nullif("") for n in text}, "supplied": _supplied(f["supplied"], rules)}

    def early(f: Fields) -> Fields:
        branches = _branches(f, rules.rules[:split], rules, flags)
        return {"early": ibis.coalesce(f["supplied"], ibis.cases(*branches, else_=ibis.null("string")))
                if branches else f["supplied"]}

    def in_url(f: Fields) -> Fields:
        # utm also from the URL's own query, for data that carries it only there; read only
        # where still undecided, the column is empty and the URL has the parameter
        return {f"{n}_in_url": ibis.ifelse(f["early"].isnull() & f[n].isnull() & f["url"].contains(f"{n}="),
                                           f["url"].re_extract(f"[?&]{n}=([^&#]*)", 1), ibis.null("string"))
                for n in utm}

    def resolved(f: Fields) -> Fields:
        return {n: ibis.coalesce(f[n], trim(f[f"{n}_in_url"].replace("+", " ").replace("%20", " ")).nullif(""))
                for n in utm}

    def decided(f: Fields) -> Fields:
        branches = _branches(f, rules.rules[split:], rules, flags)
        branches.append((f["referrer_kind"] == "external", ibis.literal("referral")))
        return {"channel": ibis.coalesce(f["early"], ibis.cases(*branches, else_=ibis.literal("direct")))}

    return [cleaned, lambda f: {"referrer_kind": _referrer_kind(f, rules)}, early, in_url, resolved, decided]


def _together(*stage_lists: list[Step]) -> list[Step]:
    """Stage lists run side by side: step i of the result is step i of each list."""
    def merged(steps: tuple[Step, ...]) -> Step:
        return lambda f: functools.reduce(operator.or_, [step(f) for step in steps], {})
    longest = max(len(s) for s in stage_lists)
    return [merged(tuple(s[i] for s in stage_lists if i < len(s))) for i in range(longest)]


def _all_stages(rules: ChannelRules, trim: Callable = _trim, inputs: Iterable[str] = _INPUTS) -> list[Step]:
    """Every step, for one table (or one expression): both sides, then the rest."""
    main = _main_stages(rules, trim, inputs)
    return _together(_side_stages("url", rules, trim), _side_stages("referrer", rules, trim), main[:1]) + main[1:]


def _raw(events: ibis.Table, inputs: Iterable[str] = _INPUTS) -> Fields:
    fields = {n: _column(events, n).lower() if n in inputs else ibis.null("string") for n in _TEXT}
    return {**fields, "supplied": _column(events, "channel")}


def _domain_regex(domains: Iterable[str]) -> str:
    alternatives = [d[:-2].replace(".", "[.]") + "[.](com?[.])?[a-z]{2,3}" if d.endswith(".*")
                    else d.replace(".", "[.]") for d in domains]
    return "(^|[.])(" + "|".join(alternatives) + ")$"


def _referrer_kind(f: Fields, rules: ChannelRules) -> ir.StringValue:
    host = f["referrer_host"]
    internal = host == f["url_host"]
    if rules.internal_domains:
        internal = internal | f["referrer_internal"]
    return ibis.cases((host.isnull(), "none"), (internal, "internal"), else_="external")


def _predicate(condition: Condition, f: Fields, categories: dict[str, SourceCategory]) -> ir.BooleanValue:
    name, op = _OPS[condition.key]
    field, values = f[name], condition.values
    if op == "is":
        return field == values[0] if len(values) == 1 else field.isin(values)
    if op == "matches":
        return field.re_search("|".join(f"(?:{v})" if len(values) > 1 else v for v in values))
    if op == "param":  # the cheap substring tests spare most rows the regex (CASE runs it lazily)
        names = "|".join(re.escape(v) for v in values)
        maybe = functools.reduce(operator.or_, [field.contains(f"{v}=") for v in values], ibis.literal(False))
        return ibis.ifelse(field.contains("=") & maybe, field.re_search(f"[?&]({names})=[^&#]"), False)
    if op == "domain":
        return field.re_search(_domain_regex(values))
    chosen = [categories[v] for v in values]
    by_domain = field.re_search(_domain_regex(d for c in chosen for d in c.domains))
    if op == "source_category":  # a source is only read as a domain if it has a dot
        return field.isin([s for c in chosen for s in c.sources]) | (field.contains(".") & by_domain)
    return by_domain


def _supplied(value: ir.StringValue, rules: ChannelRules) -> ir.StringValue:
    known = {_squash(c): c for c in CHANNELS} | {_squash(label): c for c, label in CHANNEL_LABELS.items()}
    known |= {k: v for k, v in rules.aliases if v in CHANNELS}
    squashed = value.lower()
    for separator in (" ", "-", "_", "/", "\t", "\n", "\r"):
        squashed = squashed.replace(separator, "")
    return squashed.cases(*known.items(), else_=ibis.null("string"))


def _branches(f: Fields, chosen: Iterable[ChannelRule], rules: ChannelRules,
              flags: dict[Condition, str]) -> list[tuple[ir.BooleanValue, ir.StringValue]]:
    """CASE branches of ``chosen`` rules; conditions with a precomputed flag read the flag."""
    categories = {c.name: c for c in rules.categories}

    def holds(c: Condition) -> ir.BooleanValue:
        return f[flags[c]] if c in flags else _predicate(c, f, categories)

    return [(functools.reduce(operator.and_, [holds(c) for c in rule.conditions]), ibis.literal(rule.channel))
            for rule in chosen]


def channel_expr(events: ibis.Table, rules: ChannelRules) -> ir.StringValue:
    """The channel of every row of ``events`` as one expression (never NULL).

    Self-contained, so it can go into any select. It repeats the parsing in every rule
    (many times slower); for whole tables use :func:`classify_channels`.

    >>> t = ibis.memtable({"utm_source": ["Facebook", "facebook"], "utm_medium": [" CPC ", None]})
    >>> t.select(channel=channel_expr(t, load_channel_rules())).channel.to_list()
    ['paid_social', 'organic_social']
    """
    inputs = _inputs(rules)
    f = _raw(events, inputs)
    for step in _all_stages(rules, _trim_once, inputs):
        f |= step(f)
    return f["channel"].name("channel")


class _Reads(dict):
    """Fields that record which of them a step reads."""

    def __init__(self, fields: Fields):
        super().__init__(fields)
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> ir.Value:
        self.read.add(name)
        return super().__getitem__(name)


def _staged(table: ibis.Table, f: Fields, steps: list[Step], keep: Iterable[str]) -> tuple[ibis.Table, Fields]:
    """``table`` plus a helper column ``_jm_channel_<field>`` per field still needed, one
    select per step, and the fields as those columns.

    A dry run finds what each step reads, so no select carries a field no later step (or
    ``keep``) needs: the SQL stays small and quick to compile.
    """
    reads, dry = [], dict(f)
    for step in steps:
        recorder = _Reads(dry)
        dry |= step(recorder)
        reads.append(recorder.read)
    base = [c for c in table.columns if not c.startswith(_PREFIX) or c.startswith(_KEY)]
    for i, step in enumerate(steps):
        made = step(f)
        if not made:
            continue
        live = set(keep).union(*reads[i + 1:])
        fields = {k: v for k, v in {**f, **made}.items() if k in live}
        table = table.select(*base, **{_PREFIX + k: v for k, v in fields.items()})
        f = {k: table[_PREFIX + k] for k in fields}
    return table, f


def classify_channels(events: ibis.Table, rules: ChannelRules | None = None, *,
                      distinct: bool = True) -> ibis.Table:
    """``events`` with a ``channel`` column (replacing the source's) from ``rules``.

    A row's channel depends only on its input columns (url, referrer, channel; type, event
    and utm_* if the rules read them), and those repeat: by default each distinct
    combination is classified once and the channel joined back (NULL-safe), and URL and
    referrer are parsed once per distinct value. ``distinct=False`` classifies row by row,
    with the same result. Either way derived inputs are computed once, in helper columns
    that are dropped again.

    >>> t = ibis.memtable({"channel": ["In-Store / Offline", "browser"], "event": ["Order", "Live Chat Started"]})
    >>> classify_channels(t).channel.to_list()
    ['offline', 'customer_service']
    """
    rules = rules or load_channel_rules()
    inputs = _inputs(rules)
    keys = [n for n in inputs if n in events.columns]
    if not (distinct and keys):
        staged, f = _staged(events, _raw(events, inputs), _all_stages(rules, inputs=inputs), keep={"channel"})
        helpers = [k for k in staged.columns if k.startswith(_PREFIX)]
        return staged.mutate(channel=f["channel"]).drop(*helpers)

    key = {n: f"{_KEY}{n}" for n in keys}
    combos = events.select(**{key[n]: _column(events, n) for n in keys}).distinct()
    raw = {n: combos[key[n]].lower() if n in keys else ibis.null("string") for n in _TEXT}
    f = {n: raw[n] for n in _TEXT if n in inputs and n not in _SIDES} | {
        "supplied": combos[key["channel"]] if "channel" in keys else ibis.null("string")}
    table, sides_inline = combos, []
    for side in _SIDES:
        if side not in keys:  # a constant NULL: derive it inline
            f[side] = ibis.null("string")
            sides_inline.append(_side_stages(side, rules))
            continue
        values = combos.select(**{f"{_KEY}{side}_value": combos[key[side]]}).distinct()
        parsed, side_fields = _staged(values, {side: values[f"{_KEY}{side}_value"].lower()},
                                      _side_stages(side, rules), keep=_side_fields(side, rules))
        table = table.left_join(parsed, combos[key[side]].identical_to(parsed[f"{_KEY}{side}_value"]))
    table = table.select(*combos.columns, *(c for c in table.columns if c.startswith(_PREFIX) and not c.startswith(_KEY)))
    f |= {k.removeprefix(_PREFIX): table[k] for k in table.columns if k not in combos.columns}
    main = _main_stages(rules, inputs=inputs)
    # sides joined: the referrer kind can come with the cleaning
    steps = (_together(*sides_inline, main[:1]) + main[1:]) if sides_inline else _together(main[:1], main[1:2]) + main[2:]
    staged, f = _staged(table, f, steps, keep={"channel"})
    decided = staged.select(*combos.columns, **{f"{_PREFIX}decided": f["channel"]})
    joined = events.left_join(decided, [_column(events, n).identical_to(decided[key[n]]) for n in keys])
    return joined.mutate(channel=joined[f"{_PREFIX}decided"]).drop(*decided.columns)


def describe_rules(rules: ChannelRules, max_items: int | None = 6) -> list[dict]:
    """Rows for a table of the full precedence: source channel, rules, fallback.

    Long value lists are cut to ``max_items`` (regexes to a third of it); None shows all.

    >>> rows = describe_rules(load_channel_rules())
    >>> rows[0]["name"], rows[-1]["name"], rows[-1]["channel"]
    ('source-channel', 'fallback-direct', 'direct')
    >>> next(r for r in rows if r["name"] == "search-ad-click-id")["conditions"]
    'URL has parameter gclid, gbraid, wbraid, msclkid'
    """
    def row(name: str, channel: str, conditions: str, origin: str) -> dict:
        return {"precedence": 0, "name": name, "channel": channel, "conditions": conditions, "origin": origin}

    rows = [row("source-channel", "(as supplied)", "the source's channel column names a channel", "built-in")]
    rows += [row(r.name, r.channel, " and ".join(c.describe(max_items) for c in r.conditions),
                 r.origin if r.origin == "user" else f"preset {rules.preset}") for r in rules.rules]
    rows += [row("fallback-referral", "referral", "referrer is external", "built-in"),
             row("fallback-direct", "direct", "anything else", "built-in")]
    for precedence, r in enumerate(rows, start=1):
        r["precedence"] = precedence
    return rows
