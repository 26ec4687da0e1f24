"""The :class:`Journeymap` object: the one door to the store and every analysis.

>>> import journeymap
>>> jm = journeymap.open(":memory:")
>>> jm.info()["events"]
0
>>> jm.close()
"""

from __future__ import annotations

from datetime import timezone
from pathlib import Path
from typing import Any

import ibis

from .api_attribution import AttributionMixin
from .api_behaviour import BehaviourMixin
from .api_funnels import FunnelsMixin
from .api_paths import PathsMixin
from .api_retention import RetentionMixin
from .api_stages import StagesMixin
from .config import Settings, load_settings
from .errors import BackendError, StoreError
from .ingest import LoadSummary, run_load
from .store import Store

__all__ = ["TABLES", "Journeymap", "connect", "open_store"]

#: Tables a journeymap store has, on every backend.
TABLES = ("events", "rejects", "identity_map", "identity_links", "overlinked_identifiers", "loads", "load_files")


class Journeymap(AttributionMixin, FunnelsMixin, PathsMixin, RetentionMixin, BehaviourMixin, StagesMixin):
    """Touchpoints, identities and analyses over one Ibis backend.

    Made by :func:`journeymap.open` (the embedded DuckDB store, which can also load files) or
    :func:`journeymap.connect` (any Ibis backend: a PySpark session, a Parquet folder read in
    place). Every method returns Ibis tables or plain data; nothing prints.
    """

    def __init__(self, backend: Any, *, settings: Settings | None = None, store: Store | None = None) -> None:
        self.backend = backend
        self.settings = settings or (store.settings if store else Settings())
        self.store = store

    # --- tables ---------------------------------------------------------------------------
    def table(self, name: str) -> ibis.Table:
        """One of :data:`TABLES` as an Ibis table."""
        if name not in TABLES:
            raise StoreError(f"unknown table '{name}'", hint="use one of " + ", ".join(TABLES))
        try:
            return self.backend.table(name)
        except Exception as exc:  # each backend raises its own "not found"
            raise StoreError(f"the {self.backend.name} backend has no table '{name}' ({type(exc).__name__})",
                             hint="load data first, or export a store with `journeymap export`") from None

    def events(self) -> ibis.Table:
        """Every touchpoint, canonical columns (see :mod:`journeymap.schema`)."""
        return self.table("events")

    def rejects(self) -> ibis.Table:
        """Rows that were not accepted, with file, row, column, reason and the raw record."""
        return self.table("rejects")

    def identity_map(self) -> ibis.Table:
        """Every identifier (id_type, id_value) and the customer_id it belongs to."""
        return self.table("identity_map")

    def identity_links(self) -> ibis.Table:
        """Pairs of identifiers seen together, with the event that linked them first."""
        return self.table("identity_links")

    def overlinked(self) -> ibis.Table:
        """Identifiers the over-merge guard kept out of merging (shared devices, test accounts)."""
        return self.table("overlinked_identifiers")

    def loads(self) -> ibis.Table:
        """One row per load, with counts."""
        return self.table("loads")

    # --- loading --------------------------------------------------------------------------
    def load(self, *paths: str | Path, map: dict[str, str] | None = None, format: str | None = None,
             progress=None) -> LoadSummary:
        """Load files or folders (CSV, TSV, Parquet, NDJSON, Segment JSON; .gz too).

        ``map`` sends your column names to canonical ones, e.g. ``{"ts": "timestamp"}``.
        Rows already stored (same event_id, or same content where there is no id) are skipped;
        rejected rows go to :meth:`rejects`. The returned summary says how many of each, and
        ``summary.exceeded`` whether the reject rate passed ``ingest.max_reject_rate``.
        """
        if self.store is None:
            raise BackendError(
                f"loading writes to the embedded store, and this journeymap is connected to {self.backend.name}",
                hint="load with journeymap.open('journeymap.duckdb'), then `journeymap export` a Parquet folder",
            )
        if not paths:
            raise StoreError("load needs at least one file or folder", hint="jm.load('events.csv')")
        self.__dict__.pop("_events_cache", None)  # the event names may change
        return run_load(self.store, list(paths), mapping=map, fmt=format, progress=progress)

    # --- overview -------------------------------------------------------------------------
    def info(self) -> dict:
        """What the store holds: counts, date range, channels, loads."""
        events = self.events()
        stats = events.aggregate(
            events=events.count(),
            customers=events.customer_id.nunique(),
            first=events.timestamp.min(),
            last=events.timestamp.max(),
        ).to_pyarrow().to_pylist()[0]
        channels = (events.group_by("channel").agg(events=events.count())
                    .order_by([ibis.desc("events"), "channel"]).to_pyarrow().to_pylist())
        identity_map = self.identity_map()
        id_types = (identity_map.group_by("id_type").agg(identifiers=identity_map.count())
                    .order_by("id_type").to_pyarrow().to_pylist())
        return {
            "backend": self.backend.name,
            "events": stats["events"],
            "customers": stats["customers"],
            "identifiers": sum(r["identifiers"] for r in id_types),
            "identifiers_by_type": {r["id_type"]: r["identifiers"] for r in id_types},
            "overlinked_identifiers": self.overlinked().count().to_pyarrow().as_py(),
            "rejects": self.rejects().count().to_pyarrow().as_py(),
            "loads": self.loads().count().to_pyarrow().as_py(),
            "first_touchpoint": _utc_iso(stats["first"]),
            "last_touchpoint": _utc_iso(stats["last"]),
            "channels": {r["channel"]: r["events"] for r in channels},
        }

    def explain_identity(self, identifier: str, id_type: str | None = None):
        """The chain of links that joined ``identifier`` to its customer."""
        from .identity import explain

        return explain(self.identity_links(), self.identity_map(), identifier, id_type)

    def customer_timeline(self, customer: str) -> ibis.Table:
        """Every touchpoint of one customer, oldest first. ``customer`` is a customer_id or any
        identifier stitched to one (a user id, an anonymous id, a device id ...); an identifier
        nobody has is an :class:`~journeymap.errors.InputError`.

        >>> import journeymap, tempfile, pathlib
        >>> from journeymap.demo import DemoSpec, write_demo_files
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = write_demo_files(folder, DemoSpec(customers=30, seed=3))
        >>> jm = journeymap.open(":memory:")
        >>> _ = jm.load(folder / "events")
        >>> someone = jm.events().customer_id.min().to_pyarrow().as_py()
        >>> timeline = jm.customer_timeline(someone).to_pyarrow()
        >>> set(timeline["customer_id"].to_pylist()) == {someone}
        True
        >>> jm.close()
        """
        events = self.events()
        customer = self.resolve_customer(customer)
        return events.filter(events.customer_id == customer).order_by(["timestamp", "event_id"])

    def resolve_customer(self, identifier: str) -> str:
        """The customer_id of ``identifier``: itself when it is a customer_id, else the customer
        the identifier (user id, anonymous id, device id, e-mail hash) is stitched to. Unknown ->
        :class:`~journeymap.errors.InputError`."""
        from .errors import InputError

        events = self.events()
        identifier = str(identifier)
        if events.filter(events.customer_id == identifier).limit(1).count().to_pyarrow().as_py():
            return identifier
        ids = self.identity_map()
        owners = (ids.filter(ids.id_value == identifier).select("customer_id").distinct()
                  .to_pyarrow()["customer_id"].to_pylist())
        if not owners:
            raise InputError(f"no customer or identifier '{identifier}' in the store",
                             hint="use a customer_id (see `journeymap stages --format csv`) or a user, "
                             "anonymous or device id")
        return sorted(owners)[0]

    def export(self, folder: str | Path) -> dict[str, Path]:
        """Write every table as Parquet under ``folder/<table>/`` (for Spark or a warehouse)."""
        folder = Path(folder)
        written = {}
        for name in TABLES:
            target = folder / name
            target.mkdir(parents=True, exist_ok=True)
            path = target / "part-00000.parquet"
            self.table(name).to_parquet(path)
            written[name] = path
        return written

    def close(self) -> None:
        if self.store is not None:
            # cached (temporary) tables die with the connection: forget them, so Ibis does not
            # try to drop them through a closed connection when their expressions are collected
            entries = getattr(self.backend, "_cache_name_to_entry", {})
            for entry in list(entries.values()):
                entry.finalizer.detach()
            entries.clear()
            getattr(self.backend, "_cache_op_to_entry", {}).clear()
            self.__dict__.pop("_stage_cache", None)
            self.store.close()

    def __enter__(self) -> "Journeymap":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.store.path if self.store else self.backend.name
        return f"<Journeymap {where}>"


def _utc_iso(moment) -> str | None:
    """ISO text in UTC; Spark hands back zone-less timestamps that are UTC (session zone)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat()


def open_store(path: str | Path | None = None, *, config: str | Path | None = None,
               settings: Settings | None = None, read_only: bool = False,
               lock_wait: float | None = None) -> Journeymap:
    """Open (creating if needed) the embedded DuckDB store at ``path``.

    ``path`` defaults to ``store.path`` of the settings (journeymap.duckdb). While another
    process holds the store for writing, wait up to ``lock_wait`` seconds (default
    ``store.lock_wait``) for it, then raise :class:`~journeymap.errors.StoreError`.
    """
    settings = settings or load_settings(config)
    store = Store(path or settings.store.path, settings, read_only=read_only, lock_wait=lock_wait)
    return Journeymap(ibis.duckdb.from_connection(store.con), settings=settings, store=store)


def connect(source: Any, *, path: str | Path | None = None, config: str | Path | None = None,
            settings: Settings | None = None) -> Journeymap:
    """The same API over another engine.

    ``source`` is an Ibis backend whose catalog holds the journeymap tables, a
    ``pyspark.sql.SparkSession``, or a folder written by :meth:`Journeymap.export`. With a
    Spark session (or Ibis backend) and ``path``, the folder's Parquet files are read in place
    as that engine's temporary views.
    """
    settings = settings or load_settings(config)
    if isinstance(source, (str, Path)):
        path, backend = Path(source), ibis.duckdb.connect()
        _register_parquet_duckdb(backend, path)
        return Journeymap(backend, settings=settings)
    backend = source
    if type(source).__name__ == "SparkSession":
        source.conf.set("spark.sql.session.timeZone", "UTC")
        backend = ibis.pyspark.connect(source)
    if not hasattr(backend, "table"):
        raise BackendError(f"cannot connect to {type(source).__name__}",
                           hint="pass an Ibis backend, a SparkSession, or a Parquet folder path")
    if path is not None:
        _register_parquet(backend, Path(path))
    return Journeymap(backend, settings=settings)


def _check_folder(path: Path) -> None:
    if not (path / "events").is_dir():
        raise StoreError(f"{path} has no events/ folder", hint="write one with `journeymap export FOLDER`")


def _register_parquet_duckdb(backend, path: Path) -> None:
    _check_folder(path)
    for name in TABLES:
        if (path / name).is_dir():
            backend.read_parquet(str(path / name / "*.parquet"), table_name=name)


def _register_parquet(backend, path: Path) -> None:
    _check_folder(path)
    if backend.name == "duckdb":
        _register_parquet_duckdb(backend, path)
        return
    if backend.name != "pyspark":
        raise BackendError(f"reading a Parquet folder in place is supported on DuckDB and Spark, not {backend.name}",
                           hint="create the tables in your warehouse and connect without path=")
    session = backend._session
    for name in TABLES:
        if (path / name).is_dir():
            session.read.parquet(str(path / name)).createOrReplaceTempView(name)
