"""Bring-your-own paths: the aggregated format of channelattribution and marketing-attribution-models.

One row per distinct path: the path as text (``search > email > direct``), its conversions,
their value, and how many journeys took it without converting (nulls). Rows are checked one
by one; a malformed row (empty path or touch, a missing, NaN, negative or fractional count, a
NaN or negative value, times that do not match the touches) is an error naming its row and
column, or with ``on_error="reject"`` is kept aside with its reason. Nothing is truncated or
reassigned.

>>> import pyarrow as pa
>>> rows = pa.table({"path": ["a > b", "b", " > b"], "conv": [2, 1, 1], "null": [1, 3, 0]})
>>> paths, rejects = read_paths(rows, path="path", conversions="conv", nulls="null", on_error="reject")
>>> paths.paths(), paths.conversions.tolist(), paths.nulls.tolist()
([('a', 'b'), ('b',)], [2.0, 1.0], [1.0, 3.0])
>>> rejects
[{'row': 3, 'column': 'path', 'value': ' > b', 'reason': 'touch 1 of the path is empty'}]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import ConfigError, InputError
from .pathset import PathSet

__all__ = ["read_paths", "to_arrow"]

_ERRORS = ("raise", "reject")


def to_arrow(data: Any) -> tuple[pa.Table, str | None]:
    """``data`` (pandas, polars, pyarrow, an Ibis table, or a CSV/Parquet file) as Arrow, and
    the file name if it was one."""
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.exists():
            raise InputError(f"no such paths file: {path}", file=str(path), hint="check the path")
        if path.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return pq.read_table(path), str(path)
        import pyarrow.csv as pcsv

        try:
            return pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(strings_can_be_null=True)), str(path)
        except pa.ArrowInvalid as exc:
            raise InputError(f"cannot read {path} as CSV: {exc}", file=str(path),
                             hint="a header row, then path,conversions,value,nulls") from None
    if isinstance(data, pa.Table):
        return data, None
    if hasattr(data, "to_pyarrow"):  # Ibis
        return data.to_pyarrow(), None
    if hasattr(data, "to_arrow"):  # polars
        return data.to_arrow(), None
    try:
        return pa.Table.from_pandas(data, preserve_index=False), None
    except Exception:
        raise ConfigError(f"cannot read paths from a {type(data).__name__}", field="df",
                          hint="pass a pandas or polars DataFrame, a pyarrow Table, an Ibis table or a CSV/Parquet file") from None


def _numbers(table: pa.Table, column: str | None, *, integer: bool, name: str) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """The column as float64 and its bad rows (index, reason)."""
    n = table.num_rows
    if column is None:
        return np.zeros(n), []
    raw = table.column(column)
    if pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type):
        text = raw.to_pylist()
        values = np.empty(n)
        for i, item in enumerate(text):
            try:
                values[i] = float(item) if item is not None and item.strip() else np.nan
            except ValueError:
                values[i] = np.nan
    elif pa.types.is_integer(raw.type) or pa.types.is_floating(raw.type) or pa.types.is_decimal(raw.type):
        values = pc.cast(raw, pa.float64()).to_numpy(zero_copy_only=False)
        values = np.where(pc.is_null(raw).to_numpy(zero_copy_only=False), np.nan, values)
    else:
        raise InputError(f"column '{column}' ({name}) holds {raw.type}, not numbers", column=column,
                         hint=f"{name} must be numbers")
    bad = []
    for i in np.flatnonzero(~np.isfinite(values)).tolist():
        bad.append((i, f"{name} is missing or not a number"))
    finite = np.isfinite(values)
    for i in np.flatnonzero(finite & (values < 0)).tolist():
        bad.append((i, f"{name} is negative"))
    if integer:
        for i in np.flatnonzero(finite & (values >= 0) & (values != np.round(values))).tolist():
            bad.append((i, f"{name} must be a whole number of journeys"))
    return values, bad


def _need(table: pa.Table, column: str | None, role: str, required: bool) -> str | None:
    if column is None:
        if required:
            raise ConfigError(f"the {role} column is required", field=role)
        return None
    if column not in table.column_names:
        import difflib

        close = difflib.get_close_matches(column, table.column_names, n=1)
        raise InputError(f"no column '{column}' for the {role}", column=column,
                         hint=(f"did you mean '{close[0]}'? " if close else "") + "columns: " + ", ".join(table.column_names))
    return column


def _split(column: pa.ChunkedArray, sep: str) -> pa.ListArray:
    """Each path's touches, trimmed."""
    text = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        text = pc.cast(text, pa.string())
    parts = pc.split_pattern(text, sep)
    return pa.ListArray.from_arrays(parts.offsets, pc.utf8_trim_whitespace(parts.values), mask=pc.is_null(text))


def read_paths(data: Any, *, path: str = "path", conversions: str = "conversions", value: str | None = None,
               nulls: str | None = None, times: str | None = None, sep: str = ">", direct: tuple[str, ...] = ("direct",),
               on_error: str = "raise") -> tuple[PathSet, list[dict]]:
    """Aggregated path rows -> (:class:`PathSet`, rejected rows with their reason).

    ``times`` (optional) names a column of seconds-before-conversion per touch, separated like
    the path (time decay needs it). ``on_error="raise"`` stops at the first bad row;
    ``"reject"`` keeps bad rows aside and uses the rest.
    """
    if on_error not in _ERRORS:
        raise ConfigError(f"on_error must be one of {_ERRORS}, not {on_error!r}", field="on_error")
    if not sep:
        raise ConfigError("the path separator is empty", field="sep", hint="e.g. sep='>'")
    table, file = to_arrow(data)
    path = _need(table, path, "path", True)
    conversions = _need(table, conversions, "conversions", True)
    value, nulls, times = (_need(table, value, "value", False), _need(table, nulls, "nulls", False),
                           _need(table, times, "times", False))
    tokens = _split(table.column(path), sep)
    bad: list[tuple[int, str, str]] = []
    lengths = pc.fill_null(pc.list_value_length(tokens), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    missing = pc.is_null(tokens).to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(missing).tolist():
        bad.append((i, path, "the path is missing"))
    empty_token = pc.equal(tokens.flatten(), "").to_numpy(zero_copy_only=False)
    if empty_token.any():
        owner = np.repeat(np.arange(len(tokens)), np.where(missing, 0, lengths))
        starts = tokens.offsets.to_numpy()[:-1] - tokens.offsets.to_numpy()[0]
        seen = set()
        for t in np.flatnonzero(empty_token).tolist():
            row = int(owner[t])
            if row not in seen:
                seen.add(row)
                whole = lengths[row] == 1
                bad.append((row, path, "the path is empty" if whole else f"touch {t - starts[row] + 1} of the path is empty"))
    conv_values, conv_bad = _numbers(table, conversions, integer=True, name="conversions")
    null_values, null_bad = _numbers(table, nulls, integer=True, name="nulls")
    val_values, val_bad = _numbers(table, value, integer=False, name="value")
    bad += [(i, conversions, r) for i, r in conv_bad] + [(i, nulls, r) for i, r in null_bad] + [(i, value, r) for i, r in val_bad]
    parsed_times: list | None = None
    if times is not None:
        broken = {i for i, column, _ in bad if column == path}  # a broken path has no touch count to match
        parsed_times = []
        for i, (row, n) in enumerate(zip(_split(table.column(times), sep).to_pylist(), lengths.tolist())):
            seconds = None
            try:
                seconds = [float(x) for x in row] if row is not None else None
            except ValueError:
                pass
            if seconds is None or len(seconds) != n or not all(np.isfinite(x) and x >= 0 for x in seconds):
                if i not in broken:
                    bad.append((i, times, f"times must be seconds >= 0, one per touch ({n} here)"))
                seconds = []
            parsed_times.append(seconds)
    bad.sort()
    rejects = [{"row": i + 1, "column": col, "value": _show(table, col, i), "reason": reason} for i, col, reason in bad]
    if rejects and on_error == "raise":
        first_bad = rejects[0]
        raise InputError(f"{first_bad['reason']} ({first_bad['value']!r}); {len({r['row'] for r in rejects})} bad row(s) in all",
                         file=file, row=first_bad["row"], column=first_bad["column"],
                         hint="fix the row, or pass on_error='reject' (CLI --reject-bad-rows) to set bad rows aside")
    good = np.ones(table.num_rows, dtype=bool)
    good[[i for i, _, _ in bad]] = False
    if not good.any():
        raise InputError("no usable path rows", file=file, hint="every row was rejected: " + (rejects[0]["reason"] if rejects else "the input is empty"))
    mask = pa.array(good)
    encoded = pc.dictionary_encode(tokens.flatten())
    names = encoded.dictionary
    codes = pa.ListArray.from_arrays(tokens.offsets, encoded.indices)
    del tokens, encoded
    kept_codes = codes.filter(mask)
    kept_ages = None
    if parsed_times is not None:
        kept_ages = np.array([x for keep, row in zip(good.tolist(), parsed_times) if keep for x in row], dtype=np.float64)
    paths = PathSet.from_codes(kept_codes, names.to_pylist(), conversions=conv_values[good], value=val_values[good],
                               nulls=null_values[good], ages=kept_ages, direct=direct)
    del kept_codes, codes, names
    # the token strings and lists are gone: hand their pages back (Arrow's pool keeps them otherwise,
    # ~4x the path text for a large file)
    pa.default_memory_pool().release_unused()
    return paths, rejects


def _show(table: pa.Table, column: str, i: int):
    value = table.column(column)[i].as_py()
    return None if isinstance(value, float) and np.isnan(value) else value
