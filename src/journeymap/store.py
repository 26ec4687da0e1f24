"""The embedded store: one DuckDB file with the touchpoints, the identity map and the rejects.

Tables (all created on first open):

=======================  ===============================================================
events                   canonical touchpoints (schema.EVENT_COLUMNS), sorted by
                         (customer_id, timestamp, event_id)
identity_links           pairs of identifiers seen together, with the event that linked them
identity_map             every identifier -> its customer_id
overlinked_identifiers   identifiers the over-merge guard kept out of merging, and why
rejects                  rows that were not accepted: file, row, column, reason, raw record
loads / load_files       one row per load and per file of a load, with counts
meta                     store metadata (schema version, the email salt)
=======================  ===============================================================

>>> store = Store(":memory:")
>>> sorted(store.tables())[:3]
['events', 'identity_links', 'identity_map']
>>> store.close()
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import duckdb
import pyarrow as pa

from .config import Settings
from .errors import StoreError
from .schema import EVENT_COLUMNS, REJECT_COLUMNS

__all__ = ["SCHEMA_VERSION", "Store", "duckdb_type"]

SCHEMA_VERSION = "1"


def duckdb_type(arrow_type: pa.DataType) -> str:
    """DuckDB column type for an Arrow type of the canonical schema.

    >>> duckdb_type(pa.timestamp("us", tz="UTC")), duckdb_type(pa.float64())
    ('TIMESTAMPTZ', 'DOUBLE')
    """
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMPTZ" if arrow_type.tz else "TIMESTAMP"
    if pa.types.is_floating(arrow_type):
        return "DOUBLE"
    if pa.types.is_integer(arrow_type):
        return "BIGINT"
    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    return "VARCHAR"


def _columns_ddl(columns) -> str:
    return ", ".join(f'"{c.name}" {duckdb_type(c.type)}' for c in columns)


_DDL = {
    "events": f"CREATE TABLE IF NOT EXISTS events ({_columns_ddl(EVENT_COLUMNS)})",
    "rejects": f"CREATE TABLE IF NOT EXISTS rejects ({_columns_ddl(REJECT_COLUMNS)})",
    "identity_links": """CREATE TABLE IF NOT EXISTS identity_links (
        left_type VARCHAR, left_id VARCHAR, right_type VARCHAR, right_id VARCHAR,
        first_seen TIMESTAMPTZ, event_id VARCHAR, via VARCHAR)""",
    "identity_map": "CREATE TABLE IF NOT EXISTS identity_map (id_type VARCHAR, id_value VARCHAR, customer_id VARCHAR)",
    "overlinked_identifiers": """CREATE TABLE IF NOT EXISTS overlinked_identifiers (
        id_type VARCHAR, id_value VARCHAR, linked_customers BIGINT, reason VARCHAR)""",
    "loads": """CREATE TABLE IF NOT EXISTS loads (
        load_id VARCHAR, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, files BIGINT,
        rows_read BIGINT, accepted BIGINT, duplicates BIGINT, rejected BIGINT, reject_rate DOUBLE)""",
    "load_files": """CREATE TABLE IF NOT EXISTS load_files (
        load_id VARCHAR, file VARCHAR, format VARCHAR, rows_read BIGINT, accepted BIGINT,
        duplicates BIGINT, rejected BIGINT)""",
    "meta": "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
}


class Store:
    """A DuckDB file holding a journeymap store. ``":memory:"`` gives a throwaway one."""

    def __init__(self, path: str | Path = "journeymap.duckdb", settings: Settings | None = None,
                 *, read_only: bool = False, lock_wait: float | None = None) -> None:
        self.path = str(path)
        self.read_only = read_only
        self.settings = settings or Settings()
        if read_only and self.path != ":memory:" and not Path(self.path).exists():
            raise StoreError(f"no store at {self.path}", hint="run `journeymap load FILES` or `journeymap demo` first, or pass --db")
        self.con = _connect(self.path, read_only, self.settings.store.lock_wait if lock_wait is None else lock_wait)
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(f"SET memory_limit = '{_size(self.settings.store.memory_limit)}'")
        if self.settings.store.threads:
            self.con.execute(f"SET threads = {int(self.settings.store.threads)}")
        self.con.execute("SET preserve_insertion_order = true")
        self.con.execute("SET enable_progress_bar = false")  # journeymap draws its own
        if not read_only:
            for ddl in _DDL.values():
                self.con.execute(ddl)
            self.con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])
        self._check_version()

    def _check_version(self) -> None:
        try:
            row = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except duckdb.CatalogException:
            raise StoreError(f"{self.path} is not a journeymap store (no meta table)",
                             hint="point --db at a store made by journeymap, or at a new file") from None
        if row and row[0] != SCHEMA_VERSION:
            raise StoreError(f"{self.path} has store schema version {row[0]}, this journeymap needs {SCHEMA_VERSION}",
                             hint="reload your files into a new store")

    def email_salt(self) -> str:
        """The salt of email hashes: the configured one, else this store's own (made once)."""
        if self.settings.privacy.email_salt:
            return self.settings.privacy.email_salt
        row = self.con.execute("SELECT value FROM meta WHERE key = 'email_salt'").fetchone()
        if row:
            return row[0]
        salt = secrets.token_hex(16)
        self.con.execute("INSERT INTO meta VALUES ('email_salt', ?)", [salt])
        return salt

    def tables(self) -> list[str]:
        return [r[0] for r in self.con.execute("SELECT table_name FROM information_schema.tables "
                                               "WHERE table_schema = 'main'").fetchall()]

    def close(self) -> None:
        self.con.close()


def _connect(path: str, read_only: bool, lock_wait: float):
    """``duckdb.connect``, waiting up to ``lock_wait`` seconds while another process holds the
    file (DuckDB allows one writer process, and a writer excludes every other process)."""
    deadline = time.monotonic() + lock_wait
    delay = 0.05
    while True:
        try:
            return duckdb.connect(path, read_only=read_only)
        except duckdb.IOException as exc:
            locked = "lock" in str(exc).lower()
            if not locked or time.monotonic() + delay > deadline:
                waited = f" (waited {lock_wait:g} s)" if locked and lock_wait else ""
                raise StoreError(
                    f"cannot open the store {path}{waited}: {exc}",
                    hint="another process (a notebook, a load, or `journeymap serve` flushing) holds it for "
                    "writing; close it, raise store.lock_wait, or use another --db",
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def _size(text: str) -> str:
    import re

    if not re.fullmatch(r"\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", text, flags=re.I):
        from .errors import ConfigError

        raise ConfigError(f"'{text}' is not a size", field="store.memory_limit", hint="write e.g. '4GB' or '512MB'")
    return text.strip()
