"""The durable spool of the collector: what a 200 means, and how events reach the store.

DuckDB allows one writer process, and a read-write connection locks the store file against
every other process. So the server does not write to the store per request. Instead:

1. **The spool** (:class:`Spool`) is an append-only log of accepted Segment messages in
   segment files ``spool-000001.ndjson``, ``spool-000002.ndjson``, ... in one folder. It is
   the source of truth for recent events. :meth:`Spool.append` returns only after the
   messages are written *and* ``os.fsync``'d (and, for a new segment file, after the folder
   was fsync'd too, so the file's name is durable). **A 200 response means that await
   returned**: the event is on disk and survives ``kill -9`` of the server (and a power cut,
   as far as the disk honours fsync) at any moment.
2. **Group commit.** Appends only queue their bytes; one writer task takes everything queued,
   writes it with one ``os.write`` and one ``os.fsync`` (in a worker thread, so the event
   loop keeps accepting requests meanwhile), then wakes every waiter of that group. While one
   group is being fsync'd the next one collects, so the cost of an fsync is shared by all
   requests that arrived during the previous one: thousands of acknowledged requests per
   second on one disk.
3. **The flusher** (:class:`Flusher`) loads *sealed* segments (every segment but the current
   one; :meth:`Spool.rotate` seals the current one) into the DuckDB store through the normal
   Segment ingest (:meth:`journeymap.api.Journeymap.load`: channel classification, identity
   stitching, dedup by ``event_id`` = ``messageId``), opening the store read-write only for
   the flush, so CLI commands and notebooks can open it between flushes. A segment file is
   deleted (or moved to ``archive/``) only after the load committed; a crash between the
   commit and the delete reloads the file next time, which the store's dedup makes a no-op.
   If another process holds the store, :meth:`Flusher.flush_once` answers ``"busy"`` and
   leaves the files for the next try.

**Record framing.** A segment is plain NDJSON: one compact JSON object per line (JSON escapes
newlines inside strings, so a message never spans lines), loadable as is by the NDJSON /
Segment reader. A record is complete when its line ends with ``\\n`` and parses as a JSON
object. After a crash the end of the newest segment may be torn (a partial line, or a block
of zero bytes a file system exposes after a crash): :class:`Spool` detects it on open and
truncates it away. Everything torn is after the last fsync, so it was never acknowledged.
A bad line *followed by* good lines (which only disk corruption can make) is dropped by
rewriting the segment; :attr:`Spool.recovered` says what recovery did.

**Idempotency.** A message whose ``messageId`` is among the last ``recent_ids`` messageIds
appended (default 200,000; kept in memory, rebuilt on open from the segments still in the
folder, newest first) is acknowledged without being written again; a retry that arrives while
its first copy is still being fsync'd waits for that fsync. That is the window. Beyond it
(an older retry, or one whose first copy was already flushed and deleted before a restart) the
message is spooled again, and the store drops it on load because its ``event_id`` is already
stored: the store's dedup is the backstop, so an event is stored once either way.

**Backpressure.** Bytes queued but not yet fsync'd are bounded by ``max_pending_bytes``
(default 32 MiB). An append that would pass the bound raises :class:`SpoolFull` at once
(the server answers 503 with ``Retry-After``); it is never queued, so memory stays bounded.
An append larger than the bound on its own is still taken when nothing else is pending, so
one big batch cannot be refused forever. :meth:`Spool.pending_segments_bytes` (bytes spooled
but not yet flushed to the store) lets the server shed with 429 when the flusher falls
behind, e.g. while the store is busy for a long time.

>>> import asyncio, tempfile
>>> folder = tempfile.mkdtemp()
>>> async def main():
...     spool = Spool(folder)
...     await spool.append([{"type": "track", "event": "Signed Up", "messageId": "m1", "userId": "u1",
...                          "timestamp": "2024-05-01T10:00:00Z"}])
...     await spool.append([{"type": "track", "event": "Signed Up", "messageId": "m1", "userId": "u1",
...                          "timestamp": "2024-05-01T10:00:00Z"}])  # a retry: acknowledged, not written
...     await spool.close()
...     return spool.stats()
>>> stats = asyncio.run(main())
>>> stats["appended"], stats["duplicates"]
(1, 1)
>>> import journeymap, os
>>> flusher = Flusher(Spool(folder), os.path.join(folder, "store.duckdb"))
>>> result = flusher.flush_once(include_current=True)
>>> result.status, result.summary.accepted
('flushed', 1)
>>> with journeymap.open(os.path.join(folder, "store.duckdb"), read_only=True) as jm:
...     jm.events().count().execute()
1
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

__all__ = ["FlushResult", "Flusher", "Spool", "SpoolError", "SpoolFull"]

MiB = 1024 * 1024
_SEGMENT = re.compile(r"^spool-(\d{6,})\.ndjson$")


class SpoolError(Exception):
    """The spool could not make messages durable (a write or fsync failed)."""


class SpoolFull(SpoolError):
    """Too many bytes wait for fsync: shed load (503 + Retry-After) instead of queueing."""

    def __init__(self, pending: int, limit: int, retry_after: float = 1.0) -> None:
        super().__init__(f"spool full: {pending} bytes pending fsync, limit {limit}")
        self.pending, self.limit, self.retry_after = pending, limit, retry_after


def _segment_name(number: int) -> str:
    return f"spool-{number:06d}.ndjson"


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _encode(message: dict) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8") + b"\n"


def _scan(path: Path) -> tuple[list[str | None], int, int, int]:
    """(messageIds of good lines, bytes of good prefix, bad lines in the middle, torn tail bytes)."""
    data = path.read_bytes()
    ids: list[str | None] = []
    good_end = 0  # end of the last good line
    middle_bad = 0
    pos = 0
    bad_since_good = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        if end < 0:  # no newline: a torn tail
            break
        line = data[pos:end]
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            middle_bad += bad_since_good
            bad_since_good = 0
            mid = obj.get("messageId")
            ids.append(mid if isinstance(mid, str) else None)
            good_end = end + 1
        else:
            bad_since_good += 1
        pos = end + 1
    return ids, good_end, middle_bad, len(data) - good_end


@dataclass
class _Group:
    """Messages queued for one write + fsync."""

    chunks: list[bytes] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    size: int = 0
    count: int = 0
    done: asyncio.Future | None = None


class Spool:
    """An append-only, fsync'd, crash-safe log of JSON messages in a folder (see the module doc).

    Create it anywhere; :meth:`append` must be awaited from one event loop. Recovery of torn
    tails runs in the constructor. ``fsync=False`` is for benchmarks of everything else only.
    """

    def __init__(self, folder: str | Path, *, segment_bytes: int = 64 * MiB, max_pending_bytes: int = 32 * MiB,
                 recent_ids: int = 200_000, fsync: bool = True) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = int(segment_bytes)
        self.max_pending_bytes = int(max_pending_bytes)
        self.recent_ids_limit = int(recent_ids)
        self._fsync = fsync
        self._recent: OrderedDict[str, asyncio.Future | None] = OrderedDict()
        self._lock = threading.Lock()  # guards the segment list against a flusher thread
        self._group = _Group()
        self._pending_bytes = 0  # queued + being written, not yet fsync'd
        self._wakeup: asyncio.Event | None = None
        self._writer: asyncio.Task | None = None
        self._io: asyncio.Lock | None = None
        self._closed = False
        self.counters = {"appended": 0, "duplicates": 0, "writes": 0, "fsyncs": 0, "full": 0, "failed": 0}
        self.recovered: dict[str, Any] = {"segments": 0, "messages": 0, "torn_bytes": 0, "corrupt_lines": 0}
        self._recover()
        self._fd, self._size = self._open_segment(self._current)

    # --- recovery and segments ----------------------------------------------------------------
    def segments(self) -> list[Path]:
        """Every segment file, oldest first."""
        found = []
        for child in self.folder.iterdir():
            match = _SEGMENT.match(child.name)
            if match and child.is_file():
                found.append((int(match.group(1)), child))
        return [path for _, path in sorted(found)]

    def _recover(self) -> None:
        segments = self.segments()
        id_lists: list[list[str | None]] = []
        for path in segments:
            ids, good_end, middle_bad, torn = _scan(path)
            if middle_bad:
                self._rewrite_good_lines(path)
                self.recovered["corrupt_lines"] += middle_bad
            elif torn:
                with open(path, "r+b") as handle:
                    handle.truncate(good_end)
                    handle.flush()
                    os.fsync(handle.fileno())
                self.recovered["torn_bytes"] += torn
            id_lists.append(ids)
            self.recovered["segments"] += 1
            self.recovered["messages"] += len(ids)
        # the recent-id window: the newest ids still on disk, in append order
        newest: list[str] = []
        for ids in reversed(id_lists):
            for mid in reversed(ids):
                if mid is not None:
                    newest.append(mid)
            if len(newest) >= self.recent_ids_limit:
                break
        for mid in reversed(newest[: self.recent_ids_limit]):
            self._recent[mid] = None
        self._current = int(_SEGMENT.match(segments[-1].name).group(1)) if segments else 1

    def _rewrite_good_lines(self, path: Path) -> None:
        good = []
        for line in path.read_bytes().split(b"\n")[:-1]:
            try:
                if isinstance(json.loads(line), dict):
                    good.append(line + b"\n")
            except ValueError:
                pass
        temp = path.with_name("_" + path.name + ".tmp")
        with open(temp, "wb") as handle:
            handle.write(b"".join(good))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
        _fsync_dir(self.folder)

    def _open_segment(self, number: int) -> tuple[int, int]:
        path = self.folder / _segment_name(number)
        created = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if created:
            _fsync_dir(self.folder)  # the name of the file must be durable before its data counts
        return fd, os.fstat(fd).st_size

    @property
    def current_segment(self) -> Path:
        return self.folder / _segment_name(self._current)

    def sealed_segments(self) -> list[Path]:
        """Segments that are no longer written to (everything but the current one), oldest first."""
        with self._lock:
            current = self._current
            return [p for p in self.segments() if int(_SEGMENT.match(p.name).group(1)) < current]

    def _rotate_now(self) -> None:
        """Seal the current segment and start the next one (caller holds the I/O lock)."""
        with self._lock:
            if self._closed and self._fd < 0:  # closed: seal, but open no new file
                self._current += 1
                self._size = 0
                return
            os.close(self._fd)
            self._current += 1
            self._fd, self._size = self._open_segment(self._current)

    async def rotate(self) -> bool:
        """Seal the current segment if it holds anything; True if it did."""
        async with self._io_lock():
            if self._size == 0:
                return False
            self._rotate_now()
            return True

    def pending_segments_bytes(self) -> int:
        """Bytes spooled (fsync'd) but not yet flushed into the store."""
        total = 0
        for path in self.segments():
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                pass
        return total

    # --- appending ----------------------------------------------------------------------------
    def _io_lock(self) -> asyncio.Lock:
        if self._io is None:
            self._io = asyncio.Lock()
        return self._io

    def _start(self) -> None:
        if self._writer is None or self._writer.done():
            self._wakeup = asyncio.Event()
            self._writer = asyncio.get_running_loop().create_task(self._write_loop(), name="spool-writer")

    async def append(self, messages: Iterable[dict]) -> None:
        """Make ``messages`` durable; returns after their bytes are written and fsync'd.

        Messages whose ``messageId`` is in the recent window are acknowledged without being
        written again. Raises :class:`SpoolFull` (nothing queued) when too many bytes already
        wait for fsync, :class:`SpoolError` if the write or fsync failed (nothing acknowledged).
        """
        if self._closed:
            raise SpoolError("the spool is closed")
        self._start()
        waits: list[asyncio.Future] = []
        chunks: list[bytes] = []
        ids: list[str] = []
        seen: set[str] = set()
        for message in messages:
            mid = message.get("messageId")
            if isinstance(mid, str):
                if mid in seen:
                    self.counters["duplicates"] += 1
                    continue
                if mid in self._recent:
                    self.counters["duplicates"] += 1
                    earlier = self._recent[mid]
                    if earlier is not None and not earlier.done():
                        waits.append(earlier)  # its first copy is still on its way to disk
                    continue
                seen.add(mid)
                ids.append(mid)
            line = getattr(message, "line", None)  # a checked Message comes encoded
            chunks.append(line if line is not None else _encode(message))
        if chunks:
            size = sum(map(len, chunks))
            if self._pending_bytes and self._pending_bytes + size > self.max_pending_bytes:
                self.counters["full"] += 1
                raise SpoolFull(self._pending_bytes, self.max_pending_bytes)
            group = self._group
            if group.done is None:
                group.done = asyncio.get_running_loop().create_future()
            group.chunks.extend(chunks)
            group.ids.extend(ids)
            group.size += size
            group.count += len(chunks)
            self._pending_bytes += size
            for mid in ids:
                self._recent[mid] = group.done
            while len(self._recent) > self.recent_ids_limit:
                self._recent.popitem(last=False)
            self._wakeup.set()
            waits.append(group.done)
        for wait in waits:
            await asyncio.shield(wait)  # a cancelled request must not cancel the group's fsync

    async def _write_loop(self) -> None:
        while True:
            if self._group.done is None:  # nothing queued
                if self._closed:
                    return
                await self._wakeup.wait()
                self._wakeup.clear()
                continue
            group, self._group = self._group, _Group()
            async with self._io_lock():
                try:
                    await asyncio.to_thread(self._write_group, group)
                except BaseException as exc:  # noqa: BLE001 - every waiter must hear of it
                    self.counters["failed"] += group.count
                    for mid in group.ids:
                        if self._recent.get(mid) is group.done:
                            del self._recent[mid]
                    if not group.done.done():
                        group.done.set_exception(SpoolError(f"could not make messages durable: {exc}"))
                        group.done.exception()  # mark retrieved when nobody waits any more
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                else:
                    self.counters["appended"] += group.count
                    for mid in group.ids:
                        if self._recent.get(mid) is group.done:
                            self._recent[mid] = None
                    group.done.set_result(None)
                finally:
                    self._pending_bytes -= group.size

    def _write_group(self, group: _Group) -> None:
        """One write + one fsync for a whole group (runs in a worker thread)."""
        if self._size >= self.segment_bytes:
            self._rotate_now()
        data = b"".join(group.chunks)
        before = self._size
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            self.counters["writes"] += 1
            if self._fsync:
                os.fsync(self._fd)
                self.counters["fsyncs"] += 1
        except OSError:
            # take back a partial write so later groups do not follow a torn line; after a failed
            # fsync the page cache is in doubt, so continue in a fresh segment
            try:
                os.ftruncate(self._fd, before)
                self._rotate_now()
            except OSError:
                pass
            raise
        self._size = before + len(data)

    async def close(self) -> None:
        """Wait for queued appends, stop the writer and close the current segment."""
        if self._closed:
            return
        self._closed = True
        if self._writer is not None and not self._writer.done():
            self._wakeup.set()
            await self._writer
        with self._lock:
            os.close(self._fd)
            self._fd = -1

    def stats(self) -> dict[str, Any]:
        """Counters: messages appended, duplicates acknowledged, writes, fsyncs, appends refused."""
        return {**self.counters, "pending_bytes": self._pending_bytes, "recent_ids": len(self._recent),
                "current_segment": self.current_segment.name}


# --- flushing into the store ----------------------------------------------------------------
@dataclass
class FlushResult:
    """What one flush did: ``status`` is ``"flushed"``, ``"idle"`` (nothing sealed) or ``"busy"``."""

    status: str
    files: list[str] = field(default_factory=list)
    summary: Any = None  # the LoadSummary of the load, when flushed
    error: str | None = None
    seconds: float = 0.0


class Flusher:
    """Loads sealed spool segments into the DuckDB store, then deletes (or archives) them.

    ``spool`` is a :class:`Spool` (same process) or a spool folder (another process: every
    segment but the newest counts as sealed). ``settings`` are journeymap settings (channel
    rules, store limits); the defaults (``./journeymap.toml`` if present) otherwise.
    ``loader(segments, rejects) -> FlushResult`` runs the load somewhere else (the server's
    :class:`~.flush_worker.FlushWorker` child process); by default it runs here with
    :func:`~.flush_worker.load_into_store`.
    """

    def __init__(self, spool: Spool | str | Path, store_path: str | Path, settings=None, *,
                 archive: bool = False, max_files: int = 64, loader=None) -> None:
        self.spool = spool if isinstance(spool, Spool) else None
        self.folder = spool.folder if isinstance(spool, Spool) else Path(spool)
        self.store_path = str(store_path)
        self.settings = settings
        self.archive = archive
        self.max_files = max_files
        self.loader = loader
        self.stats = {"flushes": 0, "busy": 0, "files": 0, "accepted": 0, "duplicates": 0, "rejected": 0}

    def _sealed(self) -> list[Path]:
        if self.spool is not None:
            return self.spool.sealed_segments()
        segments = sorted((int(m.group(1)), p) for p in self.folder.iterdir() if (m := _SEGMENT.match(p.name)))
        return [p for _, p in segments[:-1]]

    def flush_once(self, *, include_current: bool = False, rejects: list[Path] = ()) -> FlushResult:
        """Load the sealed segments (oldest first, at most ``max_files``) in one load, with the
        staged ``rejects`` files of the collector.

        ``include_current`` first seals the current segment; only for a spool that no event
        loop is appending to (the async :meth:`flush` rotates safely while appends run).
        """
        if include_current and self.spool is not None and self.spool._size:
            self.spool._rotate_now()
        files = self._sealed()[: self.max_files]
        if self.loader is not None:
            result = self.loader(files, list(rejects))
        else:
            from ..config import load_settings
            from .flush_worker import load_into_store

            result = load_into_store(self.store_path, self.settings or load_settings(), files, list(rejects),
                                     archive=self.archive)
        self._count(result)
        return result

    def _count(self, result: FlushResult) -> None:
        if result.status == "busy":
            self.stats["busy"] += 1
        elif result.status == "flushed":
            self.stats["flushes"] += 1
            self.stats["files"] += len(result.files)
            if result.summary is not None:
                for key in ("accepted", "duplicates", "rejected"):
                    self.stats[key] += getattr(result.summary, key)

    async def flush(self, *, rotate: bool = True) -> FlushResult:
        """Seal the current segment (when ``rotate`` and it holds anything), then
        :meth:`flush_once` in a worker thread; safe while appends run on this loop."""
        if rotate and self.spool is not None:
            await self.spool.rotate()
        return await asyncio.to_thread(self.flush_once)

    async def run(self, interval: float = 1.0, stop: asyncio.Event | None = None) -> None:
        """Flush every ``interval`` seconds until ``stop`` is set (a busy store is retried next time)."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await self.flush()
            except Exception as exc:  # noqa: BLE001 - a failed flush leaves the files; try again later
                self.stats["errors"] = self.stats.get("errors", 0) + 1
                self.stats["last_error"] = f"{type(exc).__name__}: {exc}"
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except asyncio.TimeoutError:
                pass
