"""The canonical touchpoint schema: the one source of truth for event columns.

Every reader (CSV, Parquet, NDJSON, Segment JSON, the HTTP collector) turns its input
into rows of exactly these columns. Columns a source has beyond these are kept, as JSON,
in ``properties``.

>>> [c.name for c in EVENT_COLUMNS][:4]
['event_id', 'timestamp', 'type', 'event']
>>> EVENT_SCHEMA.field("timestamp").type
TimestampType(timestamp[us, tz=UTC])
>>> "track" in EVENT_TYPES
True
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

__all__ = [
    "CLICK_ID_PARAMS",
    "EVENT_COLUMNS",
    "EVENT_SCHEMA",
    "EVENT_TYPES",
    "IDENTIFIER_COLUMNS",
    "REJECT_COLUMNS",
    "REJECT_SCHEMA",
    "Column",
    "column_names",
]

#: Segment message types journeymap accepts, in the Segment spec's spelling.
EVENT_TYPES: tuple[str, ...] = ("track", "page", "screen", "identify", "alias")

#: URL query parameters that carry an ad platform's click id, and the platform.
CLICK_ID_PARAMS: dict[str, str] = {
    "gclid": "google",
    "gbraid": "google",
    "wbraid": "google",
    "dclid": "google",
    "fbclid": "facebook",
    "msclkid": "microsoft",
    "ttclid": "tiktok",
    "li_fat_id": "linkedin",
    "twclid": "twitter",
}


@dataclass(frozen=True)
class Column:
    """One canonical column: its name, Arrow type and what it holds."""

    name: str
    type: pa.DataType
    description: str
    required: bool = False


_TS = pa.timestamp("us", tz="UTC")

EVENT_COLUMNS: tuple[Column, ...] = (
    Column("event_id", pa.string(),
           "Unique id of the touchpoint (Segment messageId). Where the source has none, "
           "a SHA-256 content hash of the row, so reloading the same data adds nothing.", True),
    Column("timestamp", _TS,
           "When the touchpoint happened, in UTC (Segment: timestamp, else originalTimestamp "
           "corrected by receivedAt - sentAt).", True),
    Column("type", pa.string(), "Message type: track, page, screen, identify or alias.", True),
    Column("event", pa.string(),
           "Event name. track: its name as sent; page: 'page_view'; screen: 'screen_view'; "
           "identify: 'identify'; alias: 'alias'.", True),
    Column("anonymous_id", pa.string(), "Anonymous id of a device or browser (cookie)."),
    Column("user_id", pa.string(), "Known id of the person (your login / CRM id)."),
    Column("email_hash", pa.string(),
           "SHA-256 of the salted, lower-cased email; the clear email is never stored unless "
           "privacy.hash_emails = false, in which case this holds the normalised email."),
    Column("device_id", pa.string(), "Hardware / app-install id (Segment context.device.id)."),
    Column("previous_id", pa.string(), "alias messages: the earlier id now known as user_id."),
    Column("customer_id", pa.string(),
           "The stitched person this touchpoint belongs to (set by identity stitching; "
           "raw ids above are never changed)."),
    Column("channel", pa.string(), "Marketing channel, from presets/channels.toml rules.", True),
    Column("utm_source", pa.string(), "utm_source (Segment context.campaign.source)."),
    Column("utm_medium", pa.string(), "utm_medium (context.campaign.medium)."),
    Column("utm_campaign", pa.string(), "utm_campaign (context.campaign.name)."),
    Column("utm_content", pa.string(), "utm_content (context.campaign.content)."),
    Column("utm_term", pa.string(), "utm_term (context.campaign.term)."),
    Column("referrer", pa.string(), "Referring URL (context.page.referrer)."),
    Column("url", pa.string(), "URL of the page or screen where it happened (context.page.url)."),
    Column("page_title", pa.string(), "Title of the page (context.page.title)."),
    Column("revenue", pa.float64(), "Revenue of the touchpoint (properties.revenue), if any."),
    Column("currency", pa.string(), "ISO 4217 currency of revenue, upper-case (default USD)."),
    Column("properties", pa.string(),
           "JSON object: the event's properties plus every source column not listed here."),
    Column("source", pa.string(), "Where the row came from: file path or collector source."),
    Column("load_id", pa.string(), "The load that stored the row (see the loads table)."),
)

#: Columns that hold an identifier of a person or a device.
IDENTIFIER_COLUMNS: tuple[str, ...] = ("user_id", "email_hash", "device_id", "anonymous_id")

EVENT_SCHEMA: pa.Schema = pa.schema([pa.field(c.name, c.type) for c in EVENT_COLUMNS])

REJECT_COLUMNS: tuple[Column, ...] = (
    Column("load_id", pa.string(), "The load that met the row."),
    Column("file", pa.string(), "File (or collector source) the row came from."),
    Column("row", pa.int64(), "1-based data row in the file (header excluded; NDJSON: line)."),
    Column("column", pa.string(), "Canonical column (or source field) at fault, if one is."),
    Column("reason", pa.string(), "What is wrong and how to fix it."),
    Column("value", pa.string(), "The offending value, as text."),
    Column("record", pa.string(), "The whole raw row as JSON, so it can be fixed and reloaded."),
    Column("rejected_at", _TS, "When it was rejected."),
)

REJECT_SCHEMA: pa.Schema = pa.schema([pa.field(c.name, c.type) for c in REJECT_COLUMNS])


def column_names() -> list[str]:
    """Names of the canonical event columns, in order.

    >>> column_names()[-2:]
    ['source', 'load_id']
    """
    return [c.name for c in EVENT_COLUMNS]
