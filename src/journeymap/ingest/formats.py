"""Readers: files on disk -> batches of raw rows with their 1-based row numbers.

Formats are chosen by extension (``.csv``, ``.tsv``, ``.parquet``/``.pq``, ``.ndjson``/``.jsonl``,
``.json``), each optionally ``.gz``. Folders are read recursively. Every reader streams: memory is
bounded by ``batch_rows`` whatever the file size. Rows a reader cannot even split into fields
(a CSV row with the wrong number of fields, a line that is not JSON) come out as
:class:`ReadReject` with their row number; everything else is validated later, in SQL.

>>> detect_format("events/2024-05.ndjson.gz")
('ndjson', 'gzip')
>>> detect_format("orders.CSV")
('csv', None)
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import InputError
from .mapping import INPUT_COLUMNS, ColumnPlan, plan_columns
from .segment import flatten_message, iter_messages, looks_like_message

__all__ = ["FORMATS", "NativeScan", "RawBatch", "ReadReject", "detect_format", "find_files", "read_file"]

FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet",
           ".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "json"}

Progress = Callable[[int], None]


@dataclass
class RawBatch:
    """Rows as read: source column names, all values as found; ``rows`` are 1-based row numbers."""

    table: pa.Table
    rows: pa.Array
    plan: ColumnPlan


@dataclass
class NativeScan:
    """A file DuckDB reads itself: ``relation`` is SQL yielding the raw columns plus ``_row``."""

    relation: str
    schema: pa.Schema
    plan: ColumnPlan


@dataclass
class ReadReject:
    """A row the reader could not split into fields."""

    row: int
    reason: str
    record: str
    column: str | None = None
    value: str | None = None


def detect_format(path: str | Path) -> tuple[str, str | None]:
    """(format, compression) from the file name; InputError if the extension is unknown."""
    name = Path(path).name.lower()
    compression = None
    if name.endswith(".gz"):
        compression, name = "gzip", name[:-3]
    suffix = Path(name).suffix
    if suffix not in FORMATS:
        raise InputError(
            f"cannot tell the format of '{Path(path).name}'", file=str(path),
            hint="name files .csv, .tsv, .parquet, .ndjson/.jsonl or .json (optionally .gz), "
            "or pass --format",
        )
    return FORMATS[suffix], compression


def find_files(paths: list[str | Path]) -> list[Path]:
    """Expand folders (recursively, sorted; hidden files and unknown extensions skipped)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(p.startswith((".", "_")) for p in child.relative_to(path).parts):
                    try:
                        detect_format(child)
                    except InputError:
                        continue
                    found.append(child)
        elif path.exists():
            found.append(path)
        else:
            raise InputError(f"no such file or folder: {path}", file=str(path), hint="check the path")
    return found


class _CountingReader(io.RawIOBase):
    """Wraps a binary file and reports bytes read (compressed bytes, for progress bars)."""

    def __init__(self, handle, progress: Progress | None) -> None:
        self._handle, self._progress = handle, progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._handle.readinto(buffer)
        if n and self._progress:
            self._progress(n)
        return n or 0

    def close(self) -> None:
        self._handle.close()
        super().close()


def _open_binary(path: Path, compression: str | None, progress: Progress | None):
    raw = io.BufferedReader(_CountingReader(open(path, "rb"), progress), buffer_size=1 << 20)
    return gzip.GzipFile(fileobj=raw) if compression == "gzip" else raw


def read_file(path: Path, *, fmt: str | None, compression: str | None, mapping: dict[str, str],
              batch_rows: int, delimiter: str = ",", progress: Progress | None = None
              ) -> Iterator[RawBatch | NativeScan | ReadReject]:
    """Stream one file as :class:`RawBatch`, :class:`NativeScan` and :class:`ReadReject` items."""
    if fmt is None:
        fmt, compression = detect_format(path)
    if fmt in ("csv", "tsv"):
        yield from _read_csv(path, compression, mapping, batch_rows, "\t" if fmt == "tsv" else delimiter, progress)
    elif fmt == "parquet":
        yield from _read_parquet(path, mapping, batch_rows, progress)
    elif fmt in ("ndjson", "json"):
        yield from _read_json(path, compression, mapping, batch_rows, progress, whole_document=fmt == "json")
    else:
        raise InputError(f"unknown format '{fmt}'", file=str(path), hint="use csv, tsv, parquet, ndjson or json")


# --- CSV -----------------------------------------------------------------------------------

class _MalformedCsv(Exception):
    pass


def _csv_header(path: Path, compression: str | None, delimiter: str) -> list[str]:
    with _open_binary(path, compression, None) as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
        header = next(csv.reader(text, delimiter=delimiter), None)
    if not header:
        raise InputError("the CSV file is empty (no header row)", file=str(path), row=0,
                         hint="the first line must name the columns")
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise InputError(f"the header names a column twice: {', '.join(dupes)}", file=str(path), row=0,
                         hint="give every column a distinct name")
    return header


def _read_csv(path, compression, mapping, batch_rows, delimiter, progress):
    header = _csv_header(path, compression, delimiter)
    plan = plan_columns(header, mapping)
    emitted = 0
    try:
        yield from _read_csv_fast(path, compression, header, plan, batch_rows, delimiter, progress)
        return
    except _MalformedCsv as exc:
        emitted = exc.args[0]
    # A row with the wrong number of fields: pyarrow cannot say where it was, so re-read the file
    # with the exact (slower) reader from the first row not yet emitted.
    yield from _read_csv_exact(path, compression, header, plan, batch_rows, delimiter, skip=emitted)


def _read_csv_fast(path, compression, header, plan, batch_rows, delimiter, progress):
    def on_invalid(row):  # noqa: ARG001 - we only need to know it happened
        return "error"

    handle = _open_binary(path, compression, progress)
    try:
        reader = pacsv.open_csv(
            handle,
            read_options=pacsv.ReadOptions(block_size=1 << 24, encoding="utf8"),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                              invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                 strings_can_be_null=True, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        handle.close()
        _raise_for_csv(exc, path, 0)
    emitted = 0
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    try:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
                _raise_for_csv(exc, path, emitted)
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= batch_rows:
                table = pa.Table.from_batches(pending)
                yield RawBatch(table, pa.array(range(emitted + 1, emitted + table.num_rows + 1), pa.int64()), plan)
                emitted += table.num_rows
                pending, pending_rows = [], 0
        if pending:
            table = pa.Table.from_batches(pending)
            yield RawBatch(table, pa.array(range(emitted + 1, emitted + table.num_rows + 1), pa.int64()), plan)
    finally:
        handle.close()


def _raise_for_csv(exc: Exception, path: Path, emitted: int):
    """A malformed row sends the file to the exact reader; anything else is an InputError."""
    if "CSV parse error" in str(exc):
        raise _MalformedCsv(emitted) from None
    raise InputError(f"cannot read CSV: {exc}", file=str(path),
                     hint="check the encoding (UTF-8) and the delimiter") from None


def _read_csv_exact(path, compression, header, plan, batch_rows, delimiter, skip):
    with _open_binary(path, compression, None) as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="", errors="strict")
        reader = csv.reader(text, delimiter=delimiter)
        next(reader)
        columns: list[list[str | None]] = [[] for _ in header]
        rows: list[int] = []
        width = len(header)
        row_number = 0
        try:
            for record in reader:
                row_number += 1
                if row_number <= skip:
                    continue
                if len(record) != width:
                    if not record:
                        continue  # blank line
                    yield ReadReject(
                        row=row_number,
                        reason=f"row has {len(record)} fields, the header has {width}; "
                        "fix the delimiter or quoting on this row",
                        record=json.dumps(_record_dict(header, record), ensure_ascii=False),
                    )
                    continue
                for i, value in enumerate(record):
                    columns[i].append(value if value != "" else None)
                rows.append(row_number)
                if len(rows) >= batch_rows:
                    yield _csv_batch(header, columns, rows, plan)
                    columns, rows = [[] for _ in header], []
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text ({exc.reason})", file=str(path), row=row_number + 1,
                             hint="re-save the file as UTF-8") from None
        except csv.Error as exc:
            raise InputError(f"cannot parse CSV: {exc}", file=str(path), row=row_number + 1,
                             hint="check quoting on that row") from None
        if rows:
            yield _csv_batch(header, columns, rows, plan)


def _record_dict(header: list[str], record: list[str]) -> dict:
    """A malformed CSV row as {column: value}; surplus fields under "_extra_fields"."""
    data: dict = dict(zip(header, record))
    if len(record) > len(header):
        data["_extra_fields"] = record[len(header):]
    return data


def _csv_batch(header, columns, rows, plan) -> RawBatch:
    table = pa.table({h: pa.array(col, pa.string()) for h, col in zip(header, columns)})
    return RawBatch(table, pa.array(rows, pa.int64()), plan)


# --- Parquet -------------------------------------------------------------------------------

def _read_parquet(path, mapping, batch_rows, progress):
    """Parquet is scanned by DuckDB itself (parallel, streaming): yield one :class:`NativeScan`."""
    try:
        schema = pq.read_schema(path)
    except Exception as exc:  # pyarrow raises several types for a non-Parquet file
        raise InputError(f"not a readable Parquet file: {exc}", file=str(path),
                         hint="check the file is complete and really Parquet") from None
    literal = "'" + str(path).replace("'", "''") + "'"
    relation = (f"(SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS _row "
                f"FROM read_parquet({literal}, file_row_number = true))")
    yield NativeScan(relation=relation, schema=schema, plan=plan_columns(schema.names, mapping))
    if progress:
        progress(path.stat().st_size)


# --- JSON / NDJSON / Segment ------------------------------------------------------------------

_FLAT_COLUMNS = tuple(c for c in INPUT_COLUMNS)


def _json_rows(path, compression, progress, whole_document) -> Iterator[tuple[int, object] | ReadReject]:
    """(row number, parsed object) per message/record, or ReadReject for unparseable lines."""
    with _open_binary(path, compression, progress) as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8", errors="replace")
        if whole_document:
            content = text.read()
            try:
                document = json.loads(content)
            except json.JSONDecodeError as exc:
                if exc.msg != "Extra data":
                    yield ReadReject(row=exc.lineno, reason=f"not valid JSON: {exc.msg} at line {exc.lineno} "
                                     f"column {exc.colno}; fix the JSON or use one message per line (.ndjson)",
                                     record=content[max(exc.pos - 200, 0): exc.pos + 200])
                    return
                lines = enumerate(content.splitlines(), start=1)
            else:
                for number, message in enumerate(iter_messages(document), start=1):
                    yield number, message
                return
        else:
            lines = enumerate(text, start=1)
        for number, line in lines:
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield ReadReject(row=number, reason=f"line is not valid JSON ({exc.msg}); fix or remove the line",
                                 record=line.rstrip("\n")[:10_000])
                continue
            if isinstance(obj, dict) and isinstance(obj.get("batch"), list):
                for message in obj["batch"]:
                    yield number, message
            else:
                yield number, obj


def _read_json(path, compression, mapping, batch_rows, progress, whole_document):
    identity_plan = ColumnPlan(renames={c: c for c in _FLAT_COLUMNS})
    columns: dict[str, list] = {c: [] for c in _FLAT_COLUMNS}
    rows: list[int] = []
    plans: dict[frozenset, ColumnPlan] = {}
    for item in _json_rows(path, compression, progress, whole_document):
        if isinstance(item, ReadReject):
            yield item
            continue
        number, obj = item
        if not isinstance(obj, dict):
            yield ReadReject(row=number, reason="expected a JSON object (one message or record per line)",
                             record=json.dumps(obj, default=str)[:10_000])
            continue
        flat = flatten_message(obj) if looks_like_message(obj) else _flatten_record(obj, mapping, plans)
        for column in _FLAT_COLUMNS:
            value = flat.get(column)
            columns[column].append(None if value is None else value if isinstance(value, str) else
                                   json.dumps(value) if isinstance(value, (dict, list)) else str(value))
        rows.append(number)
        if len(rows) >= batch_rows:
            yield RawBatch(pa.table({c: pa.array(v, pa.string()) for c, v in columns.items()}),
                           pa.array(rows, pa.int64()), identity_plan)
            columns, rows = {c: [] for c in _FLAT_COLUMNS}, []
    if rows:
        yield RawBatch(pa.table({c: pa.array(v, pa.string()) for c, v in columns.items()}),
                       pa.array(rows, pa.int64()), identity_plan)


def _flatten_record(obj: dict, mapping: dict[str, str], plans: dict[frozenset, ColumnPlan]) -> dict:
    keys = frozenset(obj)
    plan = plans.get(keys)
    if plan is None:
        plan = plans[keys] = plan_columns(list(obj), mapping)
    flat = {target: obj[source] for source, target in plan.renames.items()}
    extras = {k: obj[k] for k in plan.extras}
    props = flat.get("properties")
    if isinstance(props, str):
        try:
            props = json.loads(props)
        except json.JSONDecodeError:
            pass  # left as text: validation rejects the row naming the properties column
    if extras or isinstance(props, dict):
        merged = dict(props) if isinstance(props, dict) else {}
        merged.update(extras)
        flat["properties"] = merged if props is None or isinstance(props, dict) else props
    return flat
