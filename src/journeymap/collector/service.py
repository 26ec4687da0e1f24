"""The collector's running parts, without HTTP: spool, flusher, rejects and the store gate.

:class:`Collector` is what ``journeymap serve`` runs; the FastAPI app (:mod:`.server`) only
translates requests into calls on it, so the same object can be driven from a test without a
socket.

**One writer, many readers.** DuckDB lets one process hold a store read-write, and while it
does no other process can open it at all. So the server never keeps the store open:

* accepted messages go to the :class:`~.spool.Spool` (fsync'd before the 200);
* every ``flush_interval`` the flusher seals the current segment and loads the sealed ones
  (channel classification, identity stitching, dedup by messageId) in one read-write session
  of a few seconds, then closes the store. ``journeymap serve`` runs the load in a child
  process (:class:`~.flush_worker.FlushWorker`), so its seconds of Python do not hold the
  server's GIL;
* the JSON API opens the store read-only per request and closes it after;
* the gate (:attr:`Collector.gate`, a lock) keeps the flusher and the API's reads apart.

Between flushes any other process (``journeymap stages``, a notebook) can open the store; if
one holds it when a flush is due, the flush answers ``busy`` and the segments wait for the
next try (they are on disk, so nothing is lost; ``/health`` shows the backlog). Keep notebook
sessions short (``with journeymap.open(path, read_only=True) as jm: ...``) or query through
the JSON API, so flushes are not held up.

**Rejects.** A message the server refuses (4xx) is kept like a file reject: a line in
``rejects-*.ndjson`` in the spool folder, moved into the store's ``rejects`` table at the next
flush, with ``file`` = ``collector:<source><endpoint>``, the field as ``column`` and the reason.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from ..durations import parse_duration
from .keys import KeyStore
from .messages import FieldError, Limits
from .flush_worker import FlushWorker
from .spool import Flusher, FlushResult, Spool

__all__ = ["Collector", "spool_path_for_store"]

_REJECTS = "rejects-{:06d}.ndjson"


def spool_path_for_store(store_path: str | os.PathLike) -> Path:
    """The default spool folder: ``<store>.spool`` beside the store file."""
    path = Path(store_path)
    return path.with_name(path.name + ".spool")


class Collector:
    """Spool + flusher + rejects + read gate for one store (see the module doc)."""

    def __init__(self, store_path: str | os.PathLike, settings, *, spool_dir: str | os.PathLike | None = None,
                 flush_interval: str | float | None = None, fsync: bool = True, flush_worker: bool = False,
                 max_files: int = 64) -> None:
        self.store_path = str(store_path)
        self.settings = settings
        conf = settings.collector
        self.spool_dir = Path(spool_dir) if spool_dir else spool_path_for_store(store_path)
        interval = conf.flush_interval if flush_interval is None else flush_interval
        self.flush_interval = parse_duration(interval, unit="s", field="collector.flush_interval").total_seconds()
        self.limits = Limits.from_settings(settings)
        self.max_unflushed_bytes = conf.max_unflushed_mb * 1024 * 1024
        self.spool = Spool(self.spool_dir, max_pending_bytes=conf.max_pending_mb * 1024 * 1024, fsync=fsync)
        self.flusher = Flusher(self.spool, self.store_path, settings, max_files=max_files)
        self.use_worker = flush_worker
        self.worker: FlushWorker | None = None
        self.keys = KeyStore.for_store(self.store_path)
        if not Path(self.store_path).exists():  # create it now, so readers can open it before the first flush
            from ..api import open_store

            open_store(self.store_path, settings=settings, lock_wait=0).close()
        self.gate = threading.Lock()  # the flusher's read-write session vs the API's read-only ones
        self.last_flush: FlushResult | None = None
        self.started_at = datetime.now(timezone.utc)
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._rejects_lock = threading.Lock()
        self._reject_seq = time.time_ns() // 1000  # rows of collector rejects: unique per server
        self._unflushed, self._unflushed_at = 0, float("-inf")
        self.counters = {"requests": 0, "accepted": 0, "rejected": 0, "shed_503": 0, "shed_429": 0}

    # --- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        if self.spool._closed:  # started again after a stop: a fresh spool over the same folder
            self.spool = Spool(self.spool_dir, max_pending_bytes=self.spool.max_pending_bytes, fsync=self.spool._fsync)
            self.flusher.spool = self.spool
        if self.use_worker and self.worker is None:
            # started from the event loop's thread, which lives as long as the server: the child's
            # death signal is tied to the thread that started it
            self.worker = FlushWorker(self.store_path, self.settings)
            self.worker.start()
            self.flusher.loader = self.worker.flush
        self._stop = asyncio.Event()  # bound to this start's event loop
        self._task = asyncio.get_running_loop().create_task(self._flush_loop(), name="collector-flusher")

    async def stop(self) -> None:
        """Stop the flush loop, close the spool, and flush everything spooled (best effort:
        what cannot be flushed now stays in the spool for the next start)."""
        self._stop.set()
        if self._task is not None:
            await self._task
        await self.spool.close()
        try:
            await asyncio.to_thread(self._flush_locked, True)
        except Exception as exc:  # noqa: BLE001 - the segments stay on disk for the next start
            self.flusher.stats["last_error"] = f"{type(exc).__name__}: {exc}"
        if self.worker is not None:
            await asyncio.to_thread(self.worker.close)
            self.worker = self.flusher.loader = None

    def next_flush_wait(self) -> float:
        """Seconds until the next flush: ``flush_interval``, or twice the last flush's duration
        when that is longer. A load re-stitches and rewrites the sorted store, so its cost grows
        with the store; spacing flushes keeps them to at most a third of the time, leaving the
        CPU to the requests (events then reach the store less often, never later than that)."""
        last = self.last_flush.seconds if self.last_flush is not None and self.last_flush.status == "flushed" else 0.0
        return max(self.flush_interval, 2 * last)

    async def _flush_loop(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.wait_for(self._stop.wait(), self.next_flush_wait())
                return
            except asyncio.TimeoutError:
                pass
            try:
                await self.flush()
            except Exception as exc:  # noqa: BLE001 - a failed flush leaves the files; retried next time
                self.flusher.stats["errors"] = self.flusher.stats.get("errors", 0) + 1
                self.flusher.stats["last_error"] = f"{type(exc).__name__}: {exc}"

    async def flush(self) -> FlushResult:
        """Seal the current segment and load everything sealed (plus rejects) into the store."""
        await self.spool.rotate()
        return await asyncio.to_thread(self._flush_locked, False)

    def _flush_locked(self, include_current: bool) -> FlushResult:
        """One flush of the sealed segments and the rejects, in the worker process if there is
        one (``include_current`` first seals the current segment: only once appends stopped)."""
        with self.gate:
            result = self.flusher.flush_once(include_current=include_current, rejects=self._stage_rejects())
            self.last_flush = result
            self._unflushed_at = float("-inf")
            return result

    # --- collecting -----------------------------------------------------------------------------
    def unflushed_bytes(self) -> int:
        """Bytes spooled but not yet in the store (a folder listing, so cached for 0.25 s)."""
        now = time.monotonic()
        if now - self._unflushed_at > 0.25:
            self._unflushed, self._unflushed_at = self.spool.pending_segments_bytes(), now
        return self._unflushed

    def shed_status(self) -> tuple[int, int] | None:
        """(429, retry-after seconds) when the flusher is too far behind, else None."""
        if self.unflushed_bytes() > self.max_unflushed_bytes:
            self.counters["shed_429"] += 1
            return 429, max(1, int(self.flush_interval))
        return None

    async def accept(self, messages: list[dict]) -> None:
        """Make ``messages`` durable (raises :class:`~.spool.SpoolFull` to shed)."""
        await self.spool.append(messages)
        self.counters["accepted"] += len(messages)

    def keep_rejects(self, errors: list[FieldError], *, endpoint: str, source: str) -> None:
        """Keep refused messages with their reason (one line per error) for the next flush."""
        if not errors:
            return
        now = datetime.now(timezone.utc).isoformat()
        lines = []
        with self._rejects_lock:
            for error in errors:
                self._reject_seq += 1
                raw = error.raw
                record = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
                value = None
                if isinstance(raw, dict) and error.field:
                    leaf = error.field.rsplit(".", 1)[-1]
                    if leaf in raw:
                        value = raw[leaf] if isinstance(raw[leaf], str) else json.dumps(raw[leaf], default=str)
                line = json.dumps({
                    "file": f"collector:{source}{endpoint}", "row": self._reject_seq, "column": error.field or None,
                    "reason": error.message, "value": value, "record": record, "rejected_at": now,
                }, ensure_ascii=False) + "\n"
                # a lone UTF-16 surrogate (refused for that reason) cannot be written as UTF-8: keep it as U+FFFD
                lines.append(line.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
            self.counters["rejected"] += len(errors)
            path = self.spool_dir / _REJECTS.format(os.getpid() % 1_000_000)
            with open(path, "a", encoding="utf-8") as handle:
                handle.write("".join(lines))

    def _stage_rejects(self) -> list[Path]:
        """Rename the rejects files to ``.flushing`` (new refusals go to a fresh file) and list
        them with any left staged by an earlier flush that did not finish."""
        with self._rejects_lock:
            for path in self.spool_dir.glob("rejects-*.ndjson"):
                # a unique name: a staged file of an earlier, busy flush must not be overwritten
                os.replace(path, path.with_name(f"{path.stem}-{time.time_ns()}.flushing"))
        return sorted(self.spool_dir.glob("rejects-*.flushing"))

    # --- reading --------------------------------------------------------------------------------
    @contextmanager
    def reading(self) -> Iterator[Any]:
        """The store, read-only, for one API request (waits while a flush runs)."""
        from ..api import open_store

        with self.gate:
            jm = open_store(self.store_path, settings=self.settings, read_only=True)
            try:
                yield jm
            finally:
                jm.close()

    def health(self) -> dict:
        last = self.last_flush
        return {
            "ok": True,
            "store": self.store_path,
            "spool": str(self.spool_dir),
            "started_at": self.started_at.isoformat(),
            "unflushed_bytes": self.spool.pending_segments_bytes(),
            "flush_interval_seconds": self.flush_interval,
            "next_flush_wait_seconds": round(self.next_flush_wait(), 3),
            "last_flush": None if last is None else {"status": last.status, "files": len(last.files),
                                                     "seconds": round(last.seconds, 3), "error": last.error},
            "counters": dict(self.counters),
            "spool_counters": self.spool.stats(),
            "flusher": {**self.flusher.stats, "worker_pid": self.worker.pid if self.worker else None},
        }
