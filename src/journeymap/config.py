"""journeymap.toml -> typed settings.

Every setting has a help text (``description``); ``journeymap config`` and the README's
config reference are generated from them, and a test fails if one is missing.

>>> s = Settings()
>>> s.ingest.max_reject_rate
0.05
>>> s = settings_from_toml('[ingest]\\nmax_reject_rate = 0.2\\n')
>>> s.ingest.max_reject_rate
0.2
>>> settings_from_toml('[ingest]\\nmax_reject_rate = "lots"\\n', file="journeymap.toml")
Traceback (most recent call last):
...
journeymap.errors.ConfigError: journeymap.toml:2, setting ingest.max_reject_rate: Input should be a valid number, unable to parse string as a number. Fix: see `journeymap config` for every setting and its type
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Iterator

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError

__all__ = [
    "AnalyticsSettings",
    "ChannelRule",
    "ChannelSettings",
    "CollectorSettings",
    "ContentSettings",
    "IdentitySettings",
    "IngestSettings",
    "PrivacySettings",
    "SegmentDefinition",
    "Settings",
    "StageSettings",
    "StoreSettings",
    "iter_settings_help",
    "load_settings",
    "settings_from_toml",
]

DEFAULT_CONFIG_FILE = "journeymap.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class StoreSettings(_Section):
    path: str = Field("journeymap.duckdb", description="DuckDB file of the embedded store (the CLI's --db overrides it).")
    memory_limit: str = Field("2GB", description="DuckDB memory limit; larger work spills to disk (for example '2GB').")
    threads: int | None = Field(None, ge=1, description="DuckDB worker threads; empty = one per core.")
    lock_wait: float = Field(
        30, ge=0, description="Seconds to wait when another process holds the store (e.g. `journeymap serve` "
        "loading its spool) before giving up; 0 fails at once.",
    )


class IngestSettings(_Section):
    map: dict[str, str] = Field(
        default_factory=dict,
        description="Your column names -> canonical ones, e.g. {customer = 'user_id', ts = 'timestamp'}; "
        "the CLI's --map adds to it.",
    )
    max_reject_rate: float = Field(
        0.05, ge=0, le=1,
        description="Share of rejected rows (0-1) above which `journeymap load` exits non-zero. "
        "Accepted rows are stored either way.",
    )
    batch_rows: int = Field(250_000, ge=1000, description="Rows read per batch; bounds ingest memory.")
    timestamp_format: str | None = Field(
        None, description="strptime format for timestamps that are not ISO 8601 or epoch numbers, "
        "e.g. '%d/%m/%Y %H:%M'. Timestamps without a zone are taken as UTC.",
    )
    default_currency: str = Field("USD", min_length=3, max_length=3, description="Currency of revenue rows that name none.")
    min_timestamp: str = Field(
        "2000-01-01", description="Earliest plausible touchpoint (ISO date); earlier rows are rejected.",
    )
    max_future_hours: int = Field(
        24, ge=0, description="Rows more than this many hours in the future (clock skew) are rejected.",
    )
    csv_delimiter: str = Field(",", min_length=1, max_length=1, description="Field delimiter of CSV files.")


class PrivacySettings(_Section):
    hash_emails: bool = Field(
        True, description="Store emails only as salted SHA-256 hashes (email_hash). false keeps "
        "the normalised email in clear in email_hash.",
    )
    email_salt: str | None = Field(
        None, description="Salt for email hashes. Empty = a random salt made once per store and "
        "kept in it; set it to get the same hashes across stores.",
    )


class IdentitySettings(_Section):
    identifiers: list[str] = Field(
        default_factory=lambda: ["user_id", "email_hash", "device_id", "anonymous_id"],
        min_length=1,
        description="Identifier columns that link touchpoints to one customer, most trusted first; "
        "'properties.KEY' uses a property (for example a CRM id). The first one a customer has "
        "names them (customer_id).",
    )
    junk_ids: list[str] = Field(
        default_factory=lambda: ["", "0", "-1", "null", "none", "nil", "nan", "undefined",
                                 "anonymous", "unknown", "guest", "n/a", "test"],
        description="Identifier values (case-insensitive, trimmed) that never link anyone.",
    )
    max_customers_per_identifier: int = Field(
        5, ge=1,
        description="An identifier linked to more known users (distinct values of the first "
        "identifier) than this - a shared kiosk, a test account - is not used for merging "
        "and is reported by `journeymap identity overlinked`.",
    )


class ChannelRule(_Section):
    channel: str = Field(description="Channel given to touchpoints that match.")
    name: str | None = Field(None, description="Name of the rule, shown by `journeymap channels`.")
    when: dict[str, Any] = Field(
        default_factory=dict,
        description="Conditions, all of which must hold (see the channel rules table).",
    )


class ChannelSettings(_Section):
    preset: str = Field("default", description="Channel rules preset (presets/channels.toml).")
    rules: list[ChannelRule] = Field(
        default_factory=list,
        description="Your own rules, tried before the preset's, first match wins.",
    )
    internal_domains: list[str] = Field(
        default_factory=list,
        description="Your own sites' domains: a referrer from them is internal navigation, not a referral.",
    )


class StageSettings(_Section):
    preset: str = Field(
        "default", description="Stage model preset when no stages are defined here: default, content-marketing, "
        "needs, five-stage, four-stage (`journeymap stages --preset NAME --rules` shows one).",
    )
    regression: bool = Field(
        False, description="Let customers fall back to an earlier stage once a stage's stay_days have passed "
        "since its rule last held (false: stages only move forward).",
    )
    stage: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Your own ordered stages ([[stages.stage]] tables with name, label, description, when, "
        "keywords, content, stay_days); they replace the preset.",
    )


class ContentSettings(_Section):
    min_score: float = Field(
        0.1, ge=0, le=1, description="Text-classifier similarity (0-1) below which a content item stays "
        "unclassified (items matched by a stage's content globs need none).",
    )
    recent: int = Field(
        10, ge=1, description="How many of a customer's latest classified content views decide the stage "
        "their content consumption indicates.",
    )
    min_customers: int = Field(
        20, ge=1, description="Content effectiveness rows need at least this many viewers and this many "
        "non-viewers in the stage.",
    )
    content_stages: str = Field(
        "up_to_stage", pattern="^(up_to_stage|all)$", description="'up_to_stage' leaves out content "
        "whose own stage is later than the stage it was viewed in (checkout pages viewed in decision); "
        "'all' keeps it.",
    )
    visit_minutes: float = Field(
        30, gt=0, description="A viewer who reached the next stage within this many minutes of the view "
        "counts as a step of the conversion, not its cause; rows mostly made of such steps rank last.",
    )


#: A duration setting: a number and a unit (s, m, h, d, w), as journeymap.durations reads it.
_DURATION = r"^\s*\d+(\.\d+)?\s*[smhdwSMHDW]\s*$"


class AnalyticsSettings(_Section):
    session_gap: str = Field(
        "30m", pattern=_DURATION,
        description="Inactivity that ends a session (and starts a new path): 30m, 1h, ...",
    )
    conversion_window: str = Field(
        "14d", pattern=_DURATION,
        description="Funnel conversion window: every step must happen within it of the first step (14d, 12h, ...).",
    )
    retention_period: str = Field(
        "week", pattern="^(hour|day|week|month)$",
        description="Default retention, lifecycle and stickiness period: hour, day, week or month.",
    )


class AttributionSettings(_Section):
    conversion: list[str] = Field(
        default_factory=lambda: ["order_completed", "pos_purchase"],
        description="What a conversion is: events (with filters, e.g. order_completed[revenue>=100]), each "
        "occurrence one conversion, or stage:NAME (entering the stage). Default: the purchase events "
        "order_completed (Segment e-commerce spec) and pos_purchase (store).",
    )
    level: str = Field(
        "channel", pattern="^(channel|source_medium|campaign|content)$",
        description="What a touch is credited to: channel, source_medium, campaign (utm_campaign) or content (utm_content).",
    )
    lookback: str = Field(
        "30d", pattern=r"^\s*(none|\d+(\.\d+)?\s*[smhdwSMHDW])\s*$",
        description="Touches count only within this long before the conversion (30d); 'none' for no limit.",
    )
    lookback_steps: int | None = Field(
        None, ge=1, description="Keep only a path's last N touches (after the transforms); leave it out for no limit.",
    )
    transform: list[str] = Field(
        default_factory=lambda: ["exposure"],
        description="Path transforms applied in order: exposure, unique, first, frequency, "
        "remove_if_not_all(CHANNEL,...), remove_if_last_and_not_all(CHANNEL,...).",
    )
    model: str = Field("markov", description="Model of `journeymap attribution` without --model.")
    order: int = Field(
        2, ge=1, le=4,
        description="Markov chain order (1-4). 2 by default: an order-1 chain forgets where a visitor came from, "
        "so a campaign whose visitors never buy still earns the conversion rate of the channels they move on to.",
    )
    half_life: str = Field("7d", pattern=_DURATION, description="Time-decay half-life.")
    positions: list[float] = Field(
        default_factory=lambda: [0.4, 0.2, 0.4], min_length=3, max_length=3,
        description="Position-based shares of the first, middle and last touches (add up to 1).",
    )
    direct: list[str] = Field(
        default_factory=lambda: ["direct"],
        description="Channels that count as direct (last non-direct skips them).",
    )


class CollectorSettings(_Section):
    max_message_bytes: int = Field(
        32_768, ge=1024, description="Largest message `journeymap serve` accepts, in bytes of JSON (Segment's 32 KB); "
        "a larger request or batch item gets 413.",
    )
    max_batch_bytes: int = Field(
        512_000, ge=1024, description="Largest /v1/batch request body, in bytes (Segment's 500 KB); a larger one gets 413.",
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Browser origins allowed to send events (CORS), e.g. "
        "['https://shop.example']; '*' allows any; empty allows none.",
    )
    host: str = Field("127.0.0.1", description="Address `journeymap serve` listens on (0.0.0.0 for every interface).")
    port: int = Field(8321, ge=0, le=65535, description="Port `journeymap serve` listens on.")
    spool: str | None = Field(
        None, description="Folder of the durable spool (accepted events wait there for the next flush); "
        "default: `<store>.spool` beside the store file.",
    )
    flush_interval: str = Field(
        "5s", pattern=_DURATION, description="How often accepted events are loaded from the spool into the store "
        "(each flush holds the store read-write for a moment; events show in the API and CLI after it).",
    )
    max_pending_mb: int = Field(
        32, ge=1, description="Bytes (MiB) of accepted events waiting for fsync before requests are shed with 503 "
        "and Retry-After.",
    )
    max_unflushed_mb: int = Field(
        1024, ge=1, description="Bytes (MiB) spooled but not yet flushed (e.g. while another process holds the "
        "store) before requests are shed with 429 and Retry-After.",
    )


class SegmentDefinition(_Section):
    description: str = Field("", description="What the segment is, shown by `journeymap segments`.")
    where: str | None = Field(
        None, description="Customer attributes that must hold: KEY=VALUE or KEY!=VALUE joined with ',' "
        "(keys of `--by`: channel, campaign, device, landing_page, cohort:month, stage, property.KEY ...).",
    )
    did: list[str] = Field(
        default_factory=list, description="Steps (events with filters, or stage:NAME) the customer did, each at least once.",
    )
    did_not: list[str] = Field(default_factory=list, description="Steps the customer never did.")
    within: str | None = Field(
        None, pattern=_DURATION,
        description="did/did_not count only touchpoints within this long before the latest touchpoint (e.g. 30d).",
    )
    stage: list[str] = Field(default_factory=list, description="The customer's current stage is one of these.")
    first_channel: list[str] = Field(default_factory=list, description="The customer's first touchpoint's channel is one of these.")


class Settings(_Section):
    store: StoreSettings = Field(default_factory=StoreSettings, description="The embedded DuckDB store.")
    ingest: IngestSettings = Field(default_factory=IngestSettings, description="Reading files.")
    privacy: PrivacySettings = Field(default_factory=PrivacySettings, description="Personal data.")
    identity: IdentitySettings = Field(default_factory=IdentitySettings, description="Identity stitching.")
    channels: ChannelSettings = Field(default_factory=ChannelSettings, description="Channel classification.")
    stages: StageSettings = Field(default_factory=StageSettings, description="The journey's stages.")
    content: ContentSettings = Field(default_factory=ContentSettings, description="Content and stages.")
    analytics: AnalyticsSettings = Field(default_factory=AnalyticsSettings, description="Behavioural analytics.")
    attribution: AttributionSettings = Field(default_factory=AttributionSettings, description="Attribution.")
    collector: CollectorSettings = Field(default_factory=CollectorSettings, description="The collector server (journeymap serve).")
    segments: dict[str, SegmentDefinition] = Field(
        default_factory=dict,
        description="Saved segments: [segments.NAME] tables with description, where, did, did_not, within, "
        "stage, first_channel (all given must hold). Use the name wherever a segment goes (--segment NAME) "
        "or as a breakdown (--by segment:NAME).",
    )


def _line_of(text: str, loc: tuple) -> int | None:
    """Best-effort line number of a dotted key in TOML text (for error messages)."""
    keys = [str(k) for k in loc if not isinstance(k, int)]
    if not keys:
        return None
    section, line_no = None, None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", stripped)
        if header:
            section = header.group(1)
            if section == ".".join(keys) or section == ".".join(keys[:-1]) and line_no is None:
                line_no = line_no or (number if section == ".".join(keys) else None)
            continue
        key = stripped.split("=", 1)[0].strip().strip('"') if "=" in stripped else None
        if key is None:
            continue
        full = f"{section}.{key}" if section else key
        if full == ".".join(keys) or (len(keys) > 1 and full == ".".join(keys[:2])):
            return number
        if key == keys[-1] and (section or "") == ".".join(keys[:-1]):
            return number
    return line_no


def settings_from_toml(text: str, *, file: str | None = None) -> Settings:
    """Parse journeymap.toml text into :class:`Settings`, with errors naming file and line."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise ConfigError(
            f"not valid TOML: {exc}", file=file, line=int(match.group(1)) if match else None,
            hint="check quotes, brackets and '=' on that line",
        ) from None
    settings = settings_from_dict(raw, file=file, text=text)
    if settings.stages.stage:  # validate the rules now, while the file's lines are known
        from .stages.model import load_stage_model

        load_stage_model(settings, file=file, text=text)
    if settings.segments:  # likewise the saved segments' steps and filters
        from .analytics.segments import saved_segments

        try:
            saved_segments(settings)
        except ConfigError as exc:
            keys = tuple(re.sub(r"\[\d+\]$", "", k) for k in (exc.field or "segments").split(".")[:3])
            line = _line_of(text, keys) if len(keys) > 2 else None
            if line is None and len(keys) > 1:  # the segment's own [segments.NAME] header
                header = re.compile(r"^\s*\[\s*segments\s*\.\s*[\"']?" + re.escape(keys[1]) + r"[\"']?\s*\]")
                line = next((n for n, text_line in enumerate(text.splitlines(), 1) if header.match(text_line)), None)
            raise ConfigError(exc.message, file=file, line=line, field=exc.field, hint=exc.hint) from None
    return settings


def settings_from_dict(raw: dict, *, file: str | None = None, text: str = "") -> Settings:
    """Validate a mapping (as read from TOML) into :class:`Settings`."""
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        field = ".".join(str(k) for k in loc)
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            message = f"unknown setting '{loc[-1]}'"
        raise ConfigError(
            message, file=file, line=_line_of(text, loc) if text else None, field=field,
            hint="see `journeymap config` for every setting and its type",
        ) from None


def load_settings(path: str | Path | None = None) -> Settings:
    """Read settings from ``path``, or ./journeymap.toml if it exists, else defaults."""
    if path is None:
        candidate = Path(DEFAULT_CONFIG_FILE)
        if not candidate.exists():
            return Settings()
        path = candidate
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist", hint="pass an existing file to --config")
    return settings_from_toml(path.read_text(encoding="utf-8"), file=str(path))


def iter_settings_help(model: type[BaseModel] = Settings, prefix: str = "") -> Iterator[tuple[str, str, str, str]]:
    """(dotted name, type, default, help) for every leaf setting, in declaration order.

    >>> next(iter_settings_help())[0]
    'store.path'
    """
    for name, field in model.model_fields.items():
        annotation = field.annotation
        dotted = f"{prefix}{name}"
        if isinstance(annotation, type) and issubclass(annotation, _Section) and annotation is not ChannelRule:
            yield from iter_settings_help(annotation, f"{dotted}.")
            continue
        if field.default_factory is not None:
            default = field.default_factory()
        else:
            default = field.default
        type_name = getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
        type_name = str(type_name).replace(" | None", ", optional")
        yield dotted, str(type_name), repr(default), field.description or ""
