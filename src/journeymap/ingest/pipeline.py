"""A load: files -> staged rows -> deduplicated, channel-classified, stitched touchpoints.

1. Each file streams in batches; each batch is validated and normalised by one DuckDB query
   (:mod:`.normalize`). Good rows go to a staging table, bad rows to ``rejects`` with file,
   row, column, reason and the raw record.
2. At the end, in one transaction: staged rows whose event_id is already stored (or repeats
   within the load) are counted as duplicates and skipped; new rows get their channel
   (:mod:`journeymap.channels`) and are added; identity stitching runs over all touchpoints
   and ``events`` is rewritten sorted by (customer_id, timestamp, event_id).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import ibis
import pyarrow as pa

from ..errors import InputError
from ..schema import REJECT_SCHEMA, column_names
from ..store import Store
from .formats import NativeScan, RawBatch, ReadReject, detect_format, find_files, read_file
from .normalize import STAGED_COLUMNS, normalize_sql

__all__ = ["FileSummary", "LoadSummary", "run_load"]


@dataclass
class FileSummary:
    file: str
    format: str
    rows_read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0


@dataclass
class LoadSummary:
    """What a load did. ``reject_rate`` is rejected / rows read."""

    load_id: str
    files: list[FileSummary] = field(default_factory=list)
    rows_read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    max_reject_rate: float = 0.05
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    stage_seconds: float = 0.0  # read + validate + normalise into staging
    classify_seconds: float = 0.0  # deduplicate + channel rules
    stitch_seconds: float = 0.0  # identity links, components, identity map
    write_seconds: float = 0.0  # customer_id on every touchpoint + sorted rewrite of events

    @property
    def reject_rate(self) -> float:
        return self.rejected / self.rows_read if self.rows_read else 0.0

    @property
    def exceeded(self) -> bool:
        """True when the share of rejected rows passed ``ingest.max_reject_rate``."""
        return self.reject_rate > self.max_reject_rate

    def to_dict(self) -> dict:
        data = asdict(self)
        data["reject_rate"] = self.reject_rate
        data["exceeded"] = self.exceeded
        return data


ProgressFactory = Callable[[str, int], Callable[[int], None]]


def run_load(store: Store, paths: list[str | Path], *, mapping: dict[str, str] | None = None,
             fmt: str | None = None, progress: ProgressFactory | None = None) -> LoadSummary:
    """Load files or folders into ``store``; see the module docstring for the steps."""
    started = datetime.now(timezone.utc)
    settings = store.settings
    mapping = {**settings.ingest.map, **(mapping or {})}
    files = find_files(paths)
    if not files:
        raise InputError("no loadable files found", file=", ".join(map(str, paths)),
                         hint="pass .csv, .tsv, .parquet, .ndjson/.jsonl or .json files (optionally .gz) or folders of them")
    summary = LoadSummary(load_id=uuid.uuid4().hex[:12], max_reject_rate=settings.ingest.max_reject_rate)
    con = store.con
    salt = store.email_salt()
    staged_ddl = ", ".join(f'"{c}" {_staged_type(c)}' for c in STAGED_COLUMNS)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _staging ({staged_ddl}, _seq BIGINT, source VARCHAR, _row BIGINT, "
                "_reject_column VARCHAR, _reject_reason VARCHAR, _reject_value VARCHAR, _record VARCHAR)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _new_rejects ({', '.join(f'{chr(34)}{f.name}{chr(34)} {_arrow_sql(f.type)}' for f in REJECT_SCHEMA)})")
    for index, path in enumerate(files):
        file_format = fmt or detect_format(path)[0]
        compression = "gzip" if str(path).lower().endswith(".gz") else None
        file_summary = FileSummary(file=str(path), format=file_format)
        summary.files.append(file_summary)
        tick = progress(str(path), path.stat().st_size) if progress else None
        seq_base = index << 40
        plan_warned = False
        for item in read_file(path, fmt=file_format, compression=compression, mapping=mapping,
                              batch_rows=settings.ingest.batch_rows,
                              delimiter=settings.ingest.csv_delimiter, progress=tick):
            if isinstance(item, ReadReject):
                _add_rejects(con, summary.load_id, str(path),
                             [(item.row, item.column, item.reason, item.value, item.record)])
                continue
            if item.plan.unused_map_keys and not plan_warned and mapping:
                summary.warnings.append(f"{path}: the column map names {', '.join(item.plan.unused_map_keys)}, "
                                        "which this file does not have")
                plan_warned = True
            _stage_batch(con, item, store, salt, str(path), seq_base)
    summary.stage_seconds = (datetime.now(timezone.utc) - started).total_seconds()
    _commit(store, summary, started)
    return summary


def _staged_type(column: str) -> str:
    return {"timestamp": "TIMESTAMPTZ", "revenue": "DOUBLE"}.get(column, "VARCHAR")


def _arrow_sql(arrow_type: pa.DataType) -> str:
    from ..store import duckdb_type

    return duckdb_type(arrow_type)


def _stage_batch(con, batch: RawBatch | NativeScan, store: Store, salt: str, source: str, seq_base: int) -> None:
    """Validate and normalise one batch straight into the staging table (rejects included)."""
    cols = ", ".join(f'"{c}"' for c in STAGED_COLUMNS)

    def insert(relation: str, schema: pa.Schema) -> None:
        sql = normalize_sql(schema, batch.plan, store.settings, salt=salt, relation=relation)
        con.execute(f"INSERT INTO _staging SELECT {cols}, _row + {seq_base}, ?, _row, _reject_column, "
                    f"_reject_reason, _reject_value, _record FROM ({sql})", [source])

    if isinstance(batch, NativeScan):
        insert(batch.relation, batch.schema)
        return
    raw = batch.table.append_column("_row", batch.rows)
    con.register("_raw", raw)
    try:
        insert("_raw", raw.schema)
    finally:
        con.unregister("_raw")


def _add_rejects(con, load_id: str, file: str, rows: list[tuple]) -> None:
    now = datetime.now(timezone.utc)
    con.executemany(
        "INSERT INTO _new_rejects VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(load_id, file, row, column, reason, value, record, now) for row, column, reason, value, record in rows],
    )


def _commit(store: Store, summary: LoadSummary, started: datetime) -> None:
    """Deduplicate, classify, stitch and store the staged rows in one transaction."""
    from ..channels import classify_channels, load_channel_rules

    con = store.con
    rules = load_channel_rules(store.settings.channels)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("""INSERT INTO _new_rejects SELECT ?, source, _row, _reject_column, _reject_reason,
            _reject_value, _record, now() FROM _staging WHERE _reject_column IS NOT NULL ORDER BY _seq""",
                    [summary.load_id])
        # an event_id repeated within the load keeps its first row (file order, then row order)
        con.execute("""CREATE OR REPLACE TEMP TABLE _repeats AS SELECT event_id, MIN(_seq) AS keep
            FROM _staging WHERE _reject_column IS NULL GROUP BY event_id HAVING COUNT(*) > 1""")
        con.execute("""CREATE OR REPLACE TEMP TABLE _new AS SELECT s.* FROM _staging s
            ANTI JOIN events e ON e.event_id = s.event_id
            ANTI JOIN _repeats r ON r.event_id = s.event_id AND r.keep <> s._seq
            WHERE s._reject_column IS NULL""")
        per_file = dict(con.execute("SELECT source, COUNT(*) FROM _new GROUP BY source").fetchall())
        staged = dict(con.execute("SELECT source, COUNT(*) FROM _staging WHERE _reject_column IS NULL "
                                  "GROUP BY source").fetchall())
        read_rejects = dict(con.execute("SELECT file, COUNT(*) FROM _new_rejects GROUP BY file").fetchall())
        con.execute("DROP TABLE _staging")
        con.execute("""INSERT INTO rejects SELECT * FROM _new_rejects n WHERE NOT EXISTS (
            SELECT 1 FROM rejects r WHERE r.file = n.file AND r."row" IS NOT DISTINCT FROM n."row"
              AND r.reason = n.reason AND r.record IS NOT DISTINCT FROM n.record)""")
        if per_file:
            backend = ibis.duckdb.from_connection(con)
            began = time.perf_counter()
            classified = classify_channels(backend.table("_new"), rules).mutate(
                customer_id=ibis.null("string"), load_id=ibis.literal(summary.load_id)).select(*column_names())
            backend.create_table("_classified", classified, temp=True, overwrite=True)
            con.execute("DROP TABLE _new")
            summary.classify_seconds = time.perf_counter() - began
            _stitch(store, backend, backend.table("_classified"), summary)
        _count(summary, per_file, staged, read_rejects)
        finished = datetime.now(timezone.utc)
        summary.seconds = (finished - started).total_seconds()
        con.execute("INSERT INTO loads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            summary.load_id, started, finished, len(summary.files), summary.rows_read, summary.accepted,
            summary.duplicates, summary.rejected, summary.reject_rate])
        con.executemany("INSERT INTO load_files VALUES (?, ?, ?, ?, ?, ?, ?)", [
            (summary.load_id, f.file, f.format, f.rows_read, f.accepted, f.duplicates, f.rejected)
            for f in summary.files])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        for temp in ("_staging", "_new", "_repeats", "_classified", "_new_rejects"):
            con.execute(f"DROP TABLE IF EXISTS {temp}")


def _count(summary: LoadSummary, per_file: dict, staged: dict, read_rejects: dict) -> None:
    for file_summary in summary.files:
        file_summary.rejected = read_rejects.get(file_summary.file, 0)
        file_summary.rows_read = staged.get(file_summary.file, 0) + file_summary.rejected
        file_summary.accepted = per_file.get(file_summary.file, 0)
        file_summary.duplicates = staged.get(file_summary.file, 0) - file_summary.accepted
        summary.rows_read += file_summary.rows_read
        summary.accepted += file_summary.accepted
        summary.duplicates += file_summary.duplicates
        summary.rejected += file_summary.rejected


def _stitch(store: Store, backend, new_events, summary: LoadSummary) -> None:
    """Stitch identities over stored + new touchpoints; rewrite events sorted by customer.

    The new rows reach ``events`` once, inside the sorted rewrite (no separate insert).
    """
    from ..identity import stitch_events

    began = time.perf_counter()
    columns = column_names()
    events = backend.table("events").select(*columns).union(new_events)
    stitched, result = stitch_events(events, store.settings.identity)
    summary.stitch_seconds = time.perf_counter() - began
    began = time.perf_counter()
    ordered = stitched.select(*columns).order_by(["customer_id", "timestamp", "event_id"])
    con = store.con
    backend.create_table("_events_sorted", ordered, overwrite=True)
    for table, expr, cols in (
        ("identity_map", result.identity_map, "id_type, id_value, customer_id"),
        ("overlinked_identifiers", result.overlinked, "id_type, id_value, linked_customers, reason"),
        ("identity_links", result.links, "left_type, left_id, right_type, right_id, first_seen, event_id, via"),
    ):
        backend.create_table("_replacement", expr, temp=True, overwrite=True)
        con.execute(f"DELETE FROM {table}")
        con.execute(f"INSERT INTO {table} SELECT {cols} FROM _replacement")
    con.execute("DROP TABLE _replacement")
    con.execute("DROP TABLE events")
    con.execute("ALTER TABLE _events_sorted RENAME TO events")
    summary.write_seconds = time.perf_counter() - began
