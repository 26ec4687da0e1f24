"""Segment-spec messages (track, page, screen, identify, alias, batch) -> flat rows.

The flat row uses canonical input names (see :mod:`journeymap.ingest.mapping`); what has no
canonical column (traits, context.device, context.userAgent, ...) goes to ``properties``.

Timestamps follow the Segment spec: ``timestamp`` when the message has it; otherwise
``originalTimestamp`` corrected for device clock skew by ``receivedAt - sentAt``.

>>> row = flatten_message({"type": "track", "event": "Order Completed", "userId": "u1",
...     "messageId": "m1", "originalTimestamp": "2024-05-01T10:00:00Z",
...     "sentAt": "2024-05-01T10:00:05Z", "receivedAt": "2024-05-01T10:00:02Z",
...     "properties": {"revenue": 42.5, "currency": "eur"},
...     "context": {"campaign": {"source": "google", "medium": "cpc", "name": "spring"}}})
>>> row["timestamp"], row["event"], row["utm_campaign"], row["revenue"]
('2024-05-01T09:59:57+00:00', 'Order Completed', 'spring', 42.5)
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Iterator

__all__ = ["MESSAGE_KEYS", "corrected_timestamp", "flatten_message", "iter_messages", "looks_like_message"]

MESSAGE_KEYS = frozenset({
    "type", "messageId", "anonymousId", "userId", "previousId", "event", "name", "properties",
    "traits", "context", "timestamp", "originalTimestamp", "sentAt", "receivedAt", "integrations",
    "channel", "version", "writeKey", "category", "groupId",
})
_EVENT_NAMES = {"page": "page_view", "screen": "screen_view", "identify": "identify", "alias": "alias"}


def looks_like_message(obj: Any) -> bool:
    """True for a dict shaped like a Segment message (camelCase ids or nested context)."""
    return isinstance(obj, dict) and bool(
        {"messageId", "anonymousId", "userId", "previousId", "context", "traits", "originalTimestamp", "sentAt"} & obj.keys()
    )


def iter_messages(document: Any) -> Iterator[dict]:
    """Messages in a parsed JSON document: one message, a ``{"batch": [...]}``, or a list."""
    if isinstance(document, list):
        for item in document:
            yield from iter_messages(item) if isinstance(item, dict) and "batch" in item else [item]
    elif isinstance(document, dict) and isinstance(document.get("batch"), list):
        for item in document["batch"]:
            yield item
    else:
        yield document


def _parse_iso(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def corrected_timestamp(message: dict) -> Any:
    """The message's event time per the Segment spec (ISO string), or the raw value if unparseable.

    >>> corrected_timestamp({"timestamp": "2024-01-01T00:00:00Z"})
    '2024-01-01T00:00:00Z'
    >>> corrected_timestamp({"originalTimestamp": "2024-01-01T00:00:10Z",
    ...     "sentAt": "2024-01-01T00:00:20Z", "receivedAt": "2024-01-01T00:00:15Z"})
    '2024-01-01T00:00:05+00:00'
    """
    if message.get("timestamp") not in (None, ""):
        return message["timestamp"]
    original = message.get("originalTimestamp")
    sent, received = _parse_iso(message.get("sentAt")), _parse_iso(message.get("receivedAt"))
    original_dt = _parse_iso(original)
    if original_dt and sent and received:
        return (received - (sent - original_dt)).isoformat()
    if original not in (None, ""):
        return original
    return message.get("receivedAt") or message.get("sentAt")


def _first(*values: Any) -> Any:
    for value in values:
        if value not in (None, ""):
            return value
    return None


def flatten_message(message: dict) -> dict:
    """One Segment message -> one flat row of canonical input columns."""
    context = message.get("context") if isinstance(message.get("context"), dict) else {}
    props = message.get("properties") if isinstance(message.get("properties"), dict) else {}
    traits = message.get("traits") if isinstance(message.get("traits"), dict) else {}
    ctx_traits = context.get("traits") if isinstance(context.get("traits"), dict) else {}
    page = context.get("page") if isinstance(context.get("page"), dict) else {}
    campaign = context.get("campaign") if isinstance(context.get("campaign"), dict) else {}
    device = context.get("device") if isinstance(context.get("device"), dict) else {}
    mtype = message.get("type")
    mtype_l = mtype.strip().lower() if isinstance(mtype, str) else mtype
    event = message.get("event") if mtype_l == "track" else _EVENT_NAMES.get(mtype_l, message.get("event"))

    email = _first(traits.get("email"), ctx_traits.get("email"), props.get("email"))
    # the email is hashed into email_hash: it must not survive in clear in properties
    extra: dict[str, Any] = {k: v for k, v in props.items() if k != "email"}
    traits = {k: v for k, v in traits.items() if k != "email"}
    if traits:
        extra["traits"] = traits
    if mtype_l in ("page", "screen") and message.get("name"):
        extra.setdefault("name", message["name"])
    for key in ("device", "os", "app", "library", "locale", "userAgent", "ip", "timezone", "screen", "network"):
        # context.traits is left out on purpose: it repeats the user's traits, email included
        if key in context:
            extra.setdefault(f"context_{key}", context[key])
    for key in ("sentAt", "receivedAt", "originalTimestamp", "channel", "groupId"):
        if message.get(key) not in (None, ""):
            extra.setdefault(key, message[key])
    for key, value in message.items():
        if key not in MESSAGE_KEYS:
            extra.setdefault(key, value)

    revenue = _first(props.get("revenue"), props.get("total") if mtype_l == "track" else None)
    return {
        "event_id": message.get("messageId"),
        "timestamp": corrected_timestamp(message),
        "type": mtype,
        "event": event,
        "anonymous_id": message.get("anonymousId"),
        "user_id": message.get("userId"),
        "email": email,
        "device_id": device.get("id") or device.get("advertisingId"),
        "previous_id": message.get("previousId"),
        "utm_source": campaign.get("source"),
        "utm_medium": campaign.get("medium"),
        "utm_campaign": campaign.get("name"),
        "utm_content": campaign.get("content"),
        "utm_term": campaign.get("term"),
        "referrer": _first(page.get("referrer"), props.get("referrer")),
        "url": _first(page.get("url"), props.get("url")),
        "page_title": _first(page.get("title"), props.get("title")),
        "revenue": revenue,
        "currency": props.get("currency"),
        "properties": json.dumps(extra, default=str, ensure_ascii=False) if extra else None,
    }
