"""Validation and normalisation of raw rows into canonical touchpoints, as one DuckDB query.

Ingest always runs on the embedded DuckDB engine (it is I/O at the edge); the query is built
from the file's column plan and the settings, with every source column name quoted and every
setting value passed as a SQL literal produced by :func:`sql_literal` — no user string is
spliced into SQL unescaped.

The query returns the canonical columns plus ``_row`` and, for rows that fail a check,
``_reject_column``, ``_reject_reason``, ``_reject_value`` and ``_record`` (the raw row as JSON). The first failing check wins;
:data:`CHECKS` lists them in order (it is also the README's table).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pyarrow as pa

from ..config import Settings
from ..schema import EVENT_TYPES
from .mapping import ColumnPlan

UTM_COLUMNS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")

__all__ = ["CHECKS", "STAGED_COLUMNS", "normalize_sql", "quote_ident", "sql_literal"]

#: Columns of the staging table written by the normaliser (channel is still the source's).
STAGED_COLUMNS: tuple[str, ...] = (
    "event_id", "timestamp", "type", "event", "anonymous_id", "user_id", "email_hash", "device_id",
    "previous_id", "channel", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term",
    "referrer", "url", "page_title", "revenue", "currency", "properties",
)

#: (column, check) in the order they are applied; a row is rejected by the first that fails.
CHECKS: tuple[tuple[str, str], ...] = (
    ("timestamp", "present"),
    ("timestamp", "ISO 8601, epoch seconds/milliseconds, or ingest.timestamp_format"),
    ("timestamp", "between ingest.min_timestamp and now + ingest.max_future_hours"),
    ("type", "one of track, page, screen, identify, alias (inferred: track if event, page if url)"),
    ("event", "present on track rows"),
    ("previous_id", "present on alias rows"),
    ("identifiers", "at least one of user_id, anonymous_id, email, device_id that is not a junk id"),
    ("revenue", "a finite number"),
    ("currency", "three letters (ISO 4217)"),
    ("properties", "a JSON object"),
)


def quote_ident(name: str) -> str:
    """Quote a column name for DuckDB.

    >>> quote_ident('we"ird')
    '"we""ird"'
    """
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: str | None) -> str:
    """A string as a SQL literal.

    >>> sql_literal("it's")
    "'it''s'"
    """
    return "NULL" if value is None else "'" + str(value).replace("'", "''") + "'"


def _text(expr: str) -> str:
    return f"NULLIF(TRIM(CAST({expr} AS VARCHAR)), '')"


def _timestamp_expr(column: str, arrow_type: pa.DataType, fmt: str | None) -> str:
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        return f"CAST({column} AS TIMESTAMPTZ)"
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type):
        return _epoch(f"CAST({column} AS DOUBLE)")
    text = _text(column)
    parts = []
    if fmt:
        parts.append(f"CAST(TRY_STRPTIME({text}, {sql_literal(fmt)}) AS TIMESTAMPTZ)")
    # ISO 8601 allows a lower-case 't' separator and 'z' zone, which DuckDB's cast does not
    iso = f"REGEXP_REPLACE(REGEXP_REPLACE({text}, '^([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})t', '\\1T'), 'z$', 'Z')"
    parts.append(f"TRY_CAST({iso} AS TIMESTAMPTZ)")
    parts.append(
        f"CASE WHEN REGEXP_FULL_MATCH({text}, '-?[0-9]+(\\.[0-9]+)?') THEN {_epoch(f'TRY_CAST({text} AS DOUBLE)')} END"
    )
    return "COALESCE(" + ", ".join(parts) + ")"


def _epoch(number: str) -> str:
    """Epoch seconds, milliseconds or microseconds, told apart by magnitude."""
    return (
        f"CASE WHEN ABS({number}) < 1e11 THEN TO_TIMESTAMP({number}) "
        f"WHEN ABS({number}) < 1e14 THEN TO_TIMESTAMP({number} / 1e3) "
        f"ELSE TO_TIMESTAMP({number} / 1e6) END"
    )


def _query_param(url: str, name: str) -> str:
    extracted = f"REGEXP_EXTRACT({url}, '[?&]{name}=([^&#]*)', 1)"
    # the CONTAINS guard skips the regex on the (many) URLs without this parameter
    return (f"CASE WHEN CONTAINS({url}, '{name}=') THEN "
            f"NULLIF(TRIM(URL_DECODE(REPLACE({extracted}, '+', ' '))), '') END")


def normalize_sql(raw_schema: pa.Schema, plan: ColumnPlan, settings: Settings, *, salt: str,
                  now: datetime | None = None, relation: str = "_raw") -> str:
    """The SELECT that turns relation ``relation`` (raw columns + ``_row``) into staged rows."""
    now = now or datetime.now(timezone.utc)
    by_target = {target: source for source, target in plan.renames.items()}

    def src(name: str) -> str:
        return quote_ident(by_target[name]) if name in by_target else "NULL"

    def text(name: str) -> str:
        return _text(src(name)) if name in by_target else "CAST(NULL AS VARCHAR)"

    ingest = settings.ingest
    ts_source = by_target.get("timestamp")
    ts_parsed = (
        _timestamp_expr(quote_ident(ts_source), raw_schema.field(ts_source).type, ingest.timestamp_format)
        if ts_source else "CAST(NULL AS TIMESTAMPTZ)"
    )
    junk = ", ".join(sql_literal(j.strip().lower()) for j in settings.identity.junk_ids) or "NULL"
    email_norm = f"LOWER({text('email')})"
    if settings.privacy.hash_emails:
        email_value = f"SHA256({sql_literal(salt)} || {email_norm})"
    else:
        email_value = email_norm
    email_hash = f"COALESCE({text('email_hash')}, CASE WHEN {email_norm} NOT IN ({junk}) THEN {email_value} END)"

    props_source = by_target.get("properties")
    if props_source and not pa.types.is_string(raw_schema.field(props_source).type) \
            and not pa.types.is_large_string(raw_schema.field(props_source).type):
        props_raw = f"CAST(TO_JSON({quote_ident(props_source)}) AS VARCHAR)"
    else:
        props_raw = text("properties")
    if plan.extras:
        pairs = ", ".join(f"{sql_literal(col)}, {quote_ident(col)}" for col in plan.extras)
        extras = f"JSON_OBJECT({pairs})"
    else:
        extras = "'{}'"

    min_ts = sql_literal(ingest.min_timestamp)
    max_ts = sql_literal((now + timedelta(hours=ingest.max_future_hours)).isoformat())
    types = ", ".join(sql_literal(t) for t in EVENT_TYPES)

    s_columns = {
        "ts_text": text("timestamp"),
        "ts": ts_parsed,
        "type_text": text("type"),
        "event_text": text("event"),
        "anonymous_id": text("anonymous_id"),
        "user_id": text("user_id"),
        "email_hash": email_hash,
        "device_id": text("device_id"),
        "previous_id": text("previous_id"),
        "channel": text("channel"),
        "url": text("url"),
        "referrer": text("referrer"),
        "page_title": text("page_title"),
        "revenue_text": text("revenue"),
        "currency_text": f"UPPER({text('currency')})",
        "props_raw": props_raw,
        "extras": extras,
        "event_id_text": text("event_id"),
    }
    for utm in UTM_COLUMNS:
        s_columns[f"{utm}_given"] = text(utm)
    s_select = ",\n    ".join(f"{expr} AS {quote_ident(name)}" for name, expr in s_columns.items())
    # UTM parameters a source did not give as columns are read from the URL's query string
    utm_select = ",\n    ".join(f"COALESCE({utm}_given, {_query_param('url', utm)}) AS {utm}" for utm in UTM_COLUMNS)

    usable = " OR ".join(
        f"({col} IS NOT NULL AND LOWER({col}) NOT IN ({junk}))"
        for col in ("anonymous_id", "user_id", "device_id")
    ) + " OR email_hash IS NOT NULL"

    return f"""
WITH s AS (
  SELECT _row, _rec,
    {s_select}
  FROM (SELECT *, r AS _rec FROM {relation} AS r)
), t AS (
  SELECT *,
    {utm_select},
    COALESCE(LOWER(type_text), CASE WHEN event_text IS NOT NULL THEN 'track'
                                    WHEN url IS NOT NULL THEN 'page' END) AS type_norm,
    TRY_CAST(revenue_text AS DOUBLE) AS revenue_num,
    CASE WHEN props_raw IS NULL THEN JSON_MERGE_PATCH('{{}}', extras)
         WHEN JSON_VALID(props_raw) AND JSON_TYPE(props_raw) = 'OBJECT'
           THEN JSON_MERGE_PATCH(props_raw, extras) END AS props
  FROM s
), v AS (
  SELECT *,
    CASE
      WHEN ts IS NULL AND ts_text IS NULL THEN 'timestamp'
      WHEN ts IS NULL THEN 'timestamp'
      WHEN ts < CAST({min_ts} AS TIMESTAMPTZ) OR ts > CAST({max_ts} AS TIMESTAMPTZ) THEN 'timestamp'
      WHEN type_norm IS NULL OR type_norm NOT IN ({types}) THEN 'type'
      WHEN type_norm = 'track' AND event_text IS NULL THEN 'event'
      WHEN type_norm = 'alias' AND previous_id IS NULL THEN 'previous_id'
      WHEN NOT ({usable}) THEN 'identifiers'
      WHEN revenue_text IS NOT NULL AND (revenue_num IS NULL OR ISNAN(revenue_num) OR ISINF(revenue_num)) THEN 'revenue'
      WHEN currency_text IS NOT NULL AND NOT REGEXP_FULL_MATCH(currency_text, '[A-Z]{{3}}') THEN 'currency'
      WHEN props IS NULL THEN 'properties'
    END AS _reject_column
  FROM t
)
SELECT
  _row,
  COALESCE(event_id_text, 'h' || SUBSTR(SHA256(CONCAT_WS(chr(31),
      COALESCE(STRFTIME(ts, '%Y-%m-%dT%H:%M:%S.%f'), ''), COALESCE(type_norm, ''), COALESCE(event_text, ''),
      COALESCE(anonymous_id, ''), COALESCE(user_id, ''), COALESCE(email_hash, ''), COALESCE(device_id, ''),
      COALESCE(previous_id, ''), COALESCE(url, ''), COALESCE(referrer, ''), COALESCE(revenue_text, ''),
      COALESCE(props, ''))), 1, 32)) AS event_id,
  ts AS "timestamp",
  type_norm AS "type",
  CASE type_norm WHEN 'page' THEN 'page_view' WHEN 'screen' THEN 'screen_view'
                 WHEN 'identify' THEN 'identify' WHEN 'alias' THEN 'alias' ELSE event_text END AS event,
  anonymous_id, user_id, email_hash, device_id, previous_id, channel,
  utm_source, utm_medium, utm_campaign, utm_content, utm_term,
  referrer, url, page_title,
  revenue_num AS revenue,
  CASE WHEN currency_text IS NOT NULL THEN currency_text
       WHEN revenue_num IS NOT NULL THEN {sql_literal(ingest.default_currency.upper())} END AS currency,
  CASE WHEN props = '{{}}' THEN NULL ELSE props END AS properties,
  _reject_column,
  CASE _reject_column
    WHEN 'timestamp' THEN CASE
      WHEN ts_text IS NULL AND ts IS NULL THEN 'timestamp is missing; every touchpoint needs a time (map your time column with --map YOUR_COLUMN=timestamp)'
      WHEN ts IS NULL THEN 'timestamp is not a date/time; use ISO 8601 (2024-05-01T10:00:00Z), epoch seconds or milliseconds, or set ingest.timestamp_format'
      ELSE 'timestamp is outside the plausible range ' || {min_ts} || ' .. ' || {max_ts} || '; fix the clock, or ingest.min_timestamp / ingest.max_future_hours' END
    WHEN 'type' THEN CASE WHEN type_norm IS NULL
      THEN 'type is missing and the row has neither an event name nor a url to infer it from'
      ELSE 'type must be one of track, page, screen, identify, alias' END
    WHEN 'event' THEN 'event name is missing; track rows need one (map your event column with --map YOUR_COLUMN=event)'
    WHEN 'previous_id' THEN 'alias rows need previous_id (the earlier id) and user_id'
    WHEN 'identifiers' THEN 'no usable identifier: user_id, anonymous_id, email and device_id are all empty or junk ids; map a customer id column with --map YOUR_COLUMN=user_id'
    WHEN 'revenue' THEN 'revenue is not a number; use digits with a dot for decimals and no currency sign (e.g. 42.50)'
    WHEN 'currency' THEN 'currency must be a three-letter ISO 4217 code such as USD or EUR'
    WHEN 'properties' THEN 'properties is not a JSON object; write it as {{"key": value}}'
  END AS _reject_reason,
  CASE _reject_column
    WHEN 'timestamp' THEN COALESCE(ts_text, CAST(ts AS VARCHAR))
    WHEN 'type' THEN type_text
    WHEN 'revenue' THEN revenue_text
    WHEN 'currency' THEN currency_text
    WHEN 'properties' THEN LEFT(props_raw, 1000)
  END AS _reject_value,
  CASE WHEN _reject_column IS NOT NULL
    THEN REGEXP_REPLACE(CAST(TO_JSON(_rec) AS VARCHAR), ',?"_row":-?[0-9]+}}$', '}}') END AS _record
FROM v
"""
