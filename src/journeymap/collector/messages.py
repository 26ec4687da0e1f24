"""Segment HTTP Tracking API request bodies -> checked messages, or errors naming the field.

Pure functions, no HTTP: the server calls :func:`parse_body` with the raw body and the
endpoint, stores the messages it returns, keeps the rejected ones with their reason, and
answers with :func:`response_status` and :func:`error_body`.

Endpoints: ``/v1/track``, ``/v1/page``, ``/v1/screen``, ``/v1/identify``, ``/v1/alias`` (one
message; the endpoint gives its ``type``) and ``/v1/batch`` (``{"batch": [...]}``, each item
with its own ``type``; batch-level ``sentAt``, ``context`` and ``integrations`` apply to items
that do not have their own, as Segment's libraries send them).

What is checked, each failure an error with its field path (``event``, ``batch[3].userId``):

* the body: at most ``collector.max_message_bytes`` (``max_batch_bytes`` for a batch), else
  413; UTF-8; JSON (NaN and Infinity are not JSON); an object;
* the required fields of each type (Segment spec): track needs ``event``; track, page, screen
  and identify need ``userId`` or ``anonymousId``; alias needs ``previousId`` and ``userId``;
* field types: ids are strings (a number is accepted and kept as its text, as Segment's
  libraries send numeric user ids), ``event``/``name``/``category``/``messageId`` strings,
  ``properties``/``traits``/``context``/``integrations`` objects, ``timestamp``,
  ``originalTimestamp`` and ``sentAt`` ISO-8601 strings;
* plausible time: the event time after the ``sentAt`` correction must lie between
  ``ingest.min_timestamp`` and ``ingest.max_future_hours`` from now, as for files;
* each batch item at most ``max_message_bytes`` (measured as compact JSON), else 413;
* unknown top-level fields are rejected (see below);
* text must be valid Unicode: a lone UTF-16 surrogate (``"\\ud800"``) is refused like
  invalid UTF-8.

**Unknown fields are rejected**, unlike file ingest, where
:func:`journeymap.ingest.segment.flatten_message` keeps keys outside ``MESSAGE_KEYS`` in
``properties``. A live API is talked to by code that can be fixed, and a misspelt
``userID`` or ``timeStamp`` silently kept in properties would lose the id or the time, so
the answer names the field (and the closest known one). The Segment spec's own fields are
``MESSAGE_KEYS``; ``_metadata`` (analytics.js and analytics-node bookkeeping) and
``rudderId`` (RudderStack SDKs) are accepted too and dropped, so those libraries work unchanged.
``writeKey`` in a body is accepted and dropped (it is a secret and is never stored).

**Batches accept the good items.** Segment answers 200 to everything except bodies too large
and malformed JSON, which get 400, and shows invalid events only in its debugger ("Segment
returns a 200 response for all API requests except errors caused by large payloads and JSON
errors (which return 400 responses)", segment-docs, HTTP Tracking API, Errors). Issue 6 asks
for a 4xx naming the field instead, so: a bad single message gets 400 (413 when too large);
a batch with some good and some bad items stores the good ones and answers 200 with the bad
ones listed in ``errors`` (their paths name the item); a batch with no good item gets 400
(413 when every item was too large). A body that is too large, not UTF-8 or not JSON gets
413 or 400 as a whole. Segment libraries retry only on 429 and 5xx, so a 4xx is not resent.

**Idempotent retries.** A message without ``messageId`` gets ``jm-`` and a SHA-256 of its
content (canonical JSON, keys sorted, without ``sentAt``, ``receivedAt`` and ``writeKey``,
which change between retries or are secret), so a retried identical message gets the same
id and is stored once. Two identical messages sent on purpose without messageId and without
a timestamp are then one message too; Segment's libraries always set messageId.

``receivedAt`` is set from the server clock (a client's own ``receivedAt`` is replaced, as
Segment does). **Clock skew** is corrected as the Segment spec says: when a message has
``sentAt`` (the device's clock when it sent the request), its event time is
``receivedAt - (sentAt - timestamp)``: a device whose clock is two hours fast sends both two
hours ahead, and the difference is taken out. The device's ``timestamp`` is kept as
``originalTimestamp`` and the corrected one becomes ``timestamp``, the shape of Segment's own
archives, so the file reader does not correct it twice. Without ``timestamp``,
``originalTimestamp`` is corrected the same way by
:func:`journeymap.ingest.segment.corrected_timestamp`; without ``sentAt`` the ``timestamp`` is
taken as is (a historical import).

>>> from datetime import datetime, timezone
>>> now = datetime(2024, 5, 1, 10, 0, 2, tzinfo=timezone.utc)
>>> body = b'{"event": "Signed Up", "userId": "u1", "originalTimestamp": "2024-05-01T10:00:00Z", "sentAt": "2024-05-01T10:00:05Z"}'
>>> messages, errors = parse_body(body, endpoint="/v1/track", now=now)
>>> messages[0]["type"], messages[0]["receivedAt"], errors
('track', '2024-05-01T10:00:02+00:00', [])
>>> skewed = b'{"event": "a", "userId": "u1", "timestamp": "2024-05-01T12:00:00Z", "sentAt": "2024-05-01T12:00:05Z"}'
>>> message = parse_body(skewed, endpoint="/v1/track", now=now)[0][0]  # the device is 2 h fast
>>> message["timestamp"], message["originalTimestamp"]
('2024-05-01T09:59:57+00:00', '2024-05-01T12:00:00Z')
>>> messages, errors = parse_body(b'{"event": "x"}', endpoint="/v1/track", now=now)
>>> error_body(response_status(messages, errors, endpoint="/v1/track"), errors)["error"]
'userId or anonymousId is required'
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from typing import Any

from ..ingest.segment import MESSAGE_KEYS, corrected_timestamp

try:  # 3-5x faster JSON; the standard library gives the same results (and the error texts) without it
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None

__all__ = [
    "ACCEPTED_EXTRA_KEYS",
    "ENDPOINT_TYPES",
    "FieldError",
    "Limits",
    "error_body",
    "message_id",
    "parse_body",
    "response_status",
]

#: Endpoint name -> the message type it implies (batch: each item names its own).
ENDPOINT_TYPES = {"track": "track", "page": "page", "screen": "screen", "identify": "identify",
                  "alias": "alias", "batch": None}
MESSAGE_TYPES = ("track", "page", "screen", "identify", "alias")
#: Top-level fields some SDKs add beyond the spec: accepted, then dropped.
ACCEPTED_EXTRA_KEYS = frozenset({"_metadata", "rudderId"})
_DROPPED_KEYS = ACCEPTED_EXTRA_KEYS | {"writeKey"}
_KNOWN_KEYS = MESSAGE_KEYS | ACCEPTED_EXTRA_KEYS
#: Top-level fields of a /v1/batch body.
_BATCH_KEYS = frozenset({"batch", "sentAt", "context", "integrations", "writeKey", "_metadata", "metadata"})
_NOT_HASHED = frozenset({"sentAt", "receivedAt", "writeKey"})

_ID_FIELDS = ("userId", "anonymousId", "previousId", "groupId")
_STRING_FIELDS = ("event", "name", "category", "messageId", "channel", "writeKey")
_OBJECT_FIELDS = ("properties", "traits", "context", "integrations")
_TIME_FIELDS = ("timestamp", "originalTimestamp", "sentAt")
_MAX_ID_CHARS = 1024


@dataclass(frozen=True)
class Limits:
    """Size limits (``[collector]``) and the plausible time range (``[ingest]``)."""

    max_message_bytes: int = 32_768
    max_batch_bytes: int = 512_000
    min_timestamp: str = "2000-01-01"
    max_future_hours: int = 24

    @classmethod
    def from_settings(cls, settings: Any) -> "Limits":
        return cls(max_message_bytes=settings.collector.max_message_bytes,
                   max_batch_bytes=settings.collector.max_batch_bytes,
                   min_timestamp=settings.ingest.min_timestamp,
                   max_future_hours=settings.ingest.max_future_hours)


@dataclass
class FieldError:
    """One thing wrong with a request: the field's path, what is wrong, the HTTP status it calls
    for, the batch position (None for the whole body or a single message) and the rejected
    item itself (``raw``: the message as sent, or the body's text when it is not JSON), for the
    server to keep with its reason like a file reject."""

    field: str
    message: str
    status: int = 400
    index: int | None = None
    raw: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        return {"field": self.field, "message": self.message}


def error_body(status: int, errors: list[FieldError]) -> dict:
    """The one JSON error shape: ``{"ok": false, "error": <first message>, "errors": [...], "status": N}``.

    >>> error_body(413, [FieldError("body", "too large", 413)])
    {'ok': False, 'error': 'too large', 'errors': [{'field': 'body', 'message': 'too large'}], 'status': 413}
    """
    if errors:
        first = errors[0].message
    else:
        try:
            first = HTTPStatus(status).phrase
        except ValueError:
            first = "error"
    return {"ok": False, "error": first, "errors": [e.to_dict() for e in errors], "status": status}


def response_status(messages: list[dict], errors: list[FieldError], *, endpoint: str) -> int:
    """The HTTP status for a parse result (see the module doc): 200 when there is nothing wrong or
    a batch has good items; else 413 if every error is a size error, else the first error's 4xx."""
    if not errors:
        return 200
    whole = [e for e in errors if e.index is None]
    if whole:
        return whole[0].status
    if messages and _endpoint(endpoint) == "batch":
        return 200
    return 413 if all(e.status == 413 for e in errors) else 400


def message_id(message: dict) -> str:
    """A deterministic id for a message that has none: ``jm-`` + SHA-256 of its canonical JSON
    without sentAt, receivedAt and writeKey (which change between retries or are secret).

    >>> message_id({"type": "track", "event": "a", "sentAt": "x"}) == message_id({"event": "a", "type": "track"})
    True
    """
    content = {k: v for k, v in message.items() if k not in _NOT_HASHED}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "jm-" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _endpoint(endpoint: str) -> str:
    name = (endpoint or "").strip().lower().split("?", 1)[0].rstrip("/")
    for prefix in ("/v1/", "v1/", "/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    return name


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    return _parse_time_text(value)


@functools.lru_cache(maxsize=8192)  # a batch repeats its sentAt; a busy second repeats its timestamps
def _parse_time_text(value: str) -> datetime | None:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _min_time(limits: Limits) -> datetime:
    parsed = _parse_time(limits.min_timestamp)
    return parsed or datetime(2000, 1, 1, tzinfo=timezone.utc)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


@dataclass(frozen=True)
class _Clock:
    """The server's time for one request, worked out once for all its messages."""

    now: datetime
    received_at: str
    earliest: datetime
    latest: datetime

    @classmethod
    def at(cls, now: datetime, limits: Limits) -> "_Clock":
        return cls(now, now.isoformat(), _min_time(limits), now + timedelta(hours=limits.max_future_hours))


class Message(dict):
    """A checked message; ``line`` is its spool record (compact JSON and a newline), encoded once."""

    __slots__ = ("line",)


def _encode_line(clean: dict) -> bytes:
    if _orjson is not None:
        try:
            return _orjson.dumps(clean) + b"\n"
        except TypeError:  # an int past 64 bits, a lone surrogate: the standard library decides
            pass
    return json.dumps(clean, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"


def _check_message(message: Any, mtype: str | None, path: str, index: int | None, limits: Limits,
                   clock: _Clock, batch_defaults: dict, extra: dict | None = None) -> tuple[dict | None, list[FieldError]]:
    """One message -> (the cleaned :class:`Message`, []) or (None, its errors)."""
    def err(name: str, text: str, status: int = 400) -> FieldError:
        return FieldError(f"{path}{name}" if name else (path.rstrip(".") or "body"), text, status, index, message)

    if not isinstance(message, dict):
        return None, [err("", f"a message must be a JSON object, not {_kind(message)}")]
    errors: list[FieldError] = []

    given_type = message.get("type")
    if mtype is None:  # a batch item names its own type
        if given_type is None:
            return None, [err("type", f"type is required: one of {', '.join(MESSAGE_TYPES)}")]
        if not isinstance(given_type, str) or given_type.strip().lower() not in MESSAGE_TYPES:
            shown = given_type if isinstance(given_type, str) else _kind(given_type)
            return None, [err("type", f"unsupported type '{shown}': use one of {', '.join(MESSAGE_TYPES)}")]
        mtype = given_type.strip().lower()
    elif given_type is not None and (not isinstance(given_type, str) or given_type.strip().lower() != mtype):
        shown = given_type if isinstance(given_type, str) else _kind(given_type)
        errors.append(err("type", f"type '{shown}' does not match the endpoint /v1/{mtype}"))

    for key in message:
        if key not in _KNOWN_KEYS:
            close = difflib.get_close_matches(key, sorted(MESSAGE_KEYS), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else "; custom data goes in properties or traits"
            errors.append(err(key, f"unknown field '{key}'{hint}"))

    clean: dict[str, Any] = {k: v for k, v in message.items() if k not in _DROPPED_KEYS}
    clean["type"] = mtype
    for key, value in batch_defaults.items():
        if key in ("context", "integrations") and isinstance(value, dict):
            own = clean.get(key)
            if own is None:
                clean[key] = dict(value)
            elif isinstance(own, dict):
                clean[key] = {**value, **own}
        elif clean.get(key) in (None, ""):
            clean[key] = value

    for key in _ID_FIELDS:
        value = clean.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            errors.append(err(key, f"{key} must be a string, not {_kind(value)}"))
        elif isinstance(value, float) and not value.is_integer():
            errors.append(err(key, f"{key} must be a string, not a fractional number"))
        else:
            text = str(int(value)) if isinstance(value, (int, float)) else value.strip()
            if len(text) > _MAX_ID_CHARS:
                errors.append(err(key, f"{key} is longer than {_MAX_ID_CHARS} characters"))
            clean[key] = text or None
    for key in _STRING_FIELDS:
        value = clean.get(key, message.get(key))
        if value is not None and not isinstance(value, str):
            errors.append(err(key, f"{key} must be a string, not {_kind(value)}"))
    if isinstance(message.get("messageId"), str) and not message["messageId"].strip():
        errors.append(err("messageId", "messageId is empty: leave it out or send a unique id"))
    if isinstance(message.get("messageId"), str) and len(message["messageId"]) > _MAX_ID_CHARS:
        errors.append(err("messageId", f"messageId is longer than {_MAX_ID_CHARS} characters"))
    for key in _OBJECT_FIELDS:
        value = clean.get(key)
        if value is not None and not isinstance(value, dict):
            errors.append(err(key, f"{key} must be an object, not {_kind(value)}"))
    version = clean.get("version")
    if isinstance(version, bool) or not isinstance(version, (str, int, float, type(None))):
        errors.append(err("version", f"version must be a number or a string, not {_kind(version)}"))

    # required fields (Segment spec)
    event = clean.get("event")
    if mtype == "track" and (event is None or isinstance(event, str) and not event.strip()):
        errors.append(err("event", "event is required for track: the name of the action, e.g. 'Order Completed'"))
    if mtype == "alias":
        for key in ("previousId", "userId"):
            if clean.get(key) in (None, ""):
                errors.append(err(key, f"{key} is required for alias"))
    elif not (clean.get("userId") or clean.get("anonymousId")):
        if not any(e.field in (f"{path}userId", f"{path}anonymousId") for e in errors):
            errors.append(err("userId", "userId or anonymousId is required"))

    # timestamps: ISO 8601, and a plausible event time after the sentAt correction
    parsed: dict[str, datetime | None] = {}
    for key in _TIME_FIELDS:
        value = clean.get(key)
        if value is None or value == "":
            parsed[key] = None
            clean.pop(key, None)
            continue
        parsed[key] = _parse_time(value)
        if parsed[key] is None:
            shown = repr(value) if isinstance(value, str) and len(value) <= 40 else _kind(value)
            errors.append(err(key, f"{key} is not an ISO-8601 date-time ({shown}); e.g. 2024-05-01T10:00:00.000Z"))
    if not errors and not clean.get("messageId"):
        clean["messageId"] = message_id(clean)  # before the clock correction, which differs per retry
    clean["receivedAt"] = clock.received_at
    if not errors and parsed.get("timestamp") and parsed.get("sentAt"):
        # the device's clock skew (sentAt vs the server's receivedAt) is taken out of its timestamp,
        # as Segment and PostHog do; the device's own value is kept as originalTimestamp
        clean.setdefault("originalTimestamp", clean["timestamp"])
        clean["timestamp"] = (clock.now - (parsed["sentAt"] - parsed["timestamp"])).isoformat()
        parsed["timestamp"] = _parse_time(clean["timestamp"])
    if not errors:
        event_time = _parse_time(corrected_timestamp(clean)) or clock.now
        earliest, latest = clock.earliest, clock.latest
        if not earliest <= event_time <= latest:
            if parsed.get("timestamp"):
                culprit = "timestamp"
            elif parsed.get("originalTimestamp") and not earliest <= parsed["originalTimestamp"] <= latest:
                culprit = "originalTimestamp"
            else:
                culprit = "sentAt" if parsed.get("sentAt") else "originalTimestamp"
            errors.append(err(culprit, f"the event time {event_time.isoformat()} is outside the plausible range "
                                       f"{earliest.date().isoformat()} .. {latest.isoformat(timespec='seconds')} "
                                       "(ingest.min_timestamp, ingest.max_future_hours); check the device clock"))
    if errors:
        return None, errors

    added = 0
    if extra:  # the server's own fields (after the content hash): not counted against the size limit
        added = len(_encode_line(extra)) - 2
        clean.update(extra)
    try:
        line = _encode_line(clean)
    except UnicodeEncodeError as exc:
        return None, [err("", f"the message is not valid Unicode (an unpaired surrogate at character {exc.start} "
                              "of its JSON); send UTF-8 text")]
    except (ValueError, RecursionError):
        return None, [err("", "the message is nested too deeply")]
    size = len(line) - 1 - added
    if index is not None and size > limits.max_message_bytes:
        return None, [err("", f"the message is {size:,} bytes, more than collector.max_message_bytes "
                              f"({limits.max_message_bytes:,})", 413)]
    checked = Message(clean)
    checked.line = line
    return checked, []


def parse_body(raw: bytes, *, endpoint: str, limits: Limits | None = None,
               now: datetime | None = None, extra: dict | None = None) -> tuple[list[dict], list[FieldError]]:
    """A request body -> (the good messages, the errors). Never raises on any input.

    Messages come back with ``type``, ``messageId`` (generated when absent) and ``receivedAt``
    (``now``, the server clock) set, ids as strings, batch-level defaults applied and
    ``writeKey``/``_metadata`` dropped: ready for :func:`journeymap.ingest.segment.flatten_message`.
    ``extra`` fields (the server's, e.g. the write key's source) are added to each after its
    content hash. Each is a :class:`Message` carrying its encoded spool line.
    """
    limits = limits or Limits()
    now = now or datetime.now(timezone.utc)
    name = _endpoint(endpoint)
    if name not in ENDPOINT_TYPES:
        return [], [FieldError("endpoint", f"unknown endpoint '{endpoint}': use /v1/"
                                           f"{', /v1/'.join(ENDPOINT_TYPES)}", 404)]
    mtype = ENDPOINT_TYPES[name]
    try:
        raw = bytes(raw or b"")
        limit = limits.max_batch_bytes if mtype is None else limits.max_message_bytes
        setting = "collector.max_batch_bytes" if mtype is None else "collector.max_message_bytes"
        if len(raw) > limit:
            return [], [FieldError("body", f"the body is {len(raw):,} bytes, more than {setting} ({limit:,})", 413)]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return [], [FieldError("body", f"the body is not valid UTF-8 (byte {exc.start})", 400,
                                   raw=raw.decode("utf-8", "replace"))]
        text = text.removeprefix("\ufeff")
        if not text.strip():
            return [], [FieldError("body", "the body is empty: send a JSON object", 400, raw=text)]
        try:
            document = _loads(text)
        except json.JSONDecodeError as exc:
            return [], [FieldError("body", f"malformed JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                                   400, raw=text)]
        except (ValueError, RecursionError) as exc:
            message = "malformed JSON: nested too deeply" if isinstance(exc, RecursionError) else f"malformed JSON: {exc}"
            return [], [FieldError("body", message, 400, raw=text)]

        if mtype is not None:
            message, errors = _check_message(document, mtype, "", None, limits, _Clock.at(now, limits), {}, extra)
            return ([message] if message else []), errors
        return _parse_batch(document, limits, _Clock.at(now, limits), extra)
    except Exception as exc:  # pragma: no cover - a bug must not become a 500
        return [], [FieldError("body", f"the request could not be read ({type(exc).__name__})", 400)]


def _loads(text: str) -> Any:
    """JSON text -> a document. orjson first; whatever it refuses (a number past 64 bits, which
    JSON allows) or fails on goes to the standard library, which accepts it or raises the error
    with line and column. NaN and Infinity are refused either way."""
    if _orjson is not None:
        try:
            return _orjson.loads(text)
        except _orjson.JSONDecodeError:
            pass
    return json.loads(text, parse_constant=_reject_constant)


def _parse_batch(document: Any, limits: Limits, clock: _Clock,
                 extra: dict | None = None) -> tuple[list[dict], list[FieldError]]:
    if not isinstance(document, dict):
        return [], [FieldError("body", f"a batch must be a JSON object with a 'batch' list, not {_kind(document)}",
                               400, raw=document)]
    errors: list[FieldError] = []
    for key in document:
        if key not in _BATCH_KEYS:
            errors.append(FieldError(key or "body", f"unknown field '{key}' of a batch: a batch has "
                                          f"{', '.join(sorted(_BATCH_KEYS - {'_metadata', 'metadata'}))}", 400))
    items = document.get("batch")
    if items is None:
        errors.append(FieldError("batch", "batch is required: a list of messages"))
    elif not isinstance(items, list):
        errors.append(FieldError("batch", f"batch must be a list of messages, not {_kind(items)}"))
    defaults: dict[str, Any] = {}
    sent_at = document.get("sentAt")
    if sent_at not in (None, ""):
        if _parse_time(sent_at) is None:
            errors.append(FieldError("sentAt", "sentAt is not an ISO-8601 date-time; e.g. 2024-05-01T10:00:00.000Z"))
        else:
            defaults["sentAt"] = sent_at
    for key in ("context", "integrations"):
        value = document.get(key)
        if value is not None and not isinstance(value, dict):
            errors.append(FieldError(key, f"{key} must be an object, not {_kind(value)}"))
        elif value:
            defaults[key] = value
    if errors:
        for error in errors:
            error.raw = document
        return [], errors

    messages: list[dict] = []
    for index, item in enumerate(items):
        message, item_errors = _check_message(item, None, f"batch[{index}].", index, limits, clock, defaults, extra)
        if message is not None:
            messages.append(message)
        errors.extend(item_errors)
    return messages, errors
