"""Loading spooled events into the store, in the server process or in a child process.

:func:`load_into_store` is one flush: open the store read-write (at once, or answer ``busy``),
load the sealed spool segments through the normal Segment ingest, add the refused messages to
``rejects``, close, and only then delete the files. The load is one transaction: a crash
before its commit leaves the store as it was and the files in place; a crash after the commit
but before the delete loads the files again next time, which the store's dedup by
``event_id`` makes a no-op.

A flush is mostly Python (reading NDJSON, compiling Ibis expressions), and in the server's
process it would hold the GIL for seconds, stalling every request meanwhile. So
``journeymap serve`` runs flushes in a **child process** (:class:`FlushWorker`), one at a
time, talking JSON lines over a pipe. The child asks Linux to kill it when the server dies
(``PR_SET_PDEATHSIG``), so a ``kill -9`` of the server cannot leave a flusher behind that
goes on deleting spool files.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .spool import FlushResult, _fsync_dir

__all__ = ["FlushWorker", "load_into_store"]


def load_into_store(store_path: str, settings, segments: list[Path], rejects: list[Path], *,
                    archive: bool = False) -> FlushResult:
    """One flush (see the module doc): ``segments`` are sealed spool files, ``rejects`` staged
    ``rejects-*.flushing`` files. Returns ``flushed``, ``idle`` or ``busy``."""
    import duckdb

    from ..api import open_store
    from ..errors import StoreError

    started = time.perf_counter()
    if not segments and not rejects:
        return FlushResult("idle")
    try:
        jm = open_store(store_path, settings=settings, lock_wait=0)
    except StoreError as exc:
        if isinstance(exc.__context__, duckdb.IOException):
            return FlushResult("busy", [str(f) for f in segments], error=str(exc),
                               seconds=time.perf_counter() - started)
        raise
    summary = None
    try:
        if segments:
            summary = jm.load(*segments, format="ndjson")  # returns after its transaction committed
        if rejects:
            _insert_rejects(jm.store.con, rejects)
    finally:
        jm.close()
    folders = {path.parent for path in segments} | {path.parent for path in rejects}
    for path in segments:
        if archive:
            (path.parent / "archive").mkdir(exist_ok=True)
            shutil.move(str(path), path.parent / "archive" / path.name)
        else:
            path.unlink(missing_ok=True)
    for path in rejects:
        path.unlink(missing_ok=True)
    for folder in folders:
        _fsync_dir(folder)
    return FlushResult("flushed", [str(f) for f in segments], summary, seconds=time.perf_counter() - started)


def _insert_rejects(con, files: list[Path]) -> int:
    rows = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue  # a torn last line after a crash: its request never got an answer
            rows.append(("collector", item["file"], item["row"], item["column"], item["reason"],
                         item["value"], item["record"], item["rejected_at"]))
    if rows:
        con.execute("BEGIN")
        con.executemany("""INSERT INTO rejects SELECT ?, ?, ?, ?, ?, ?, ?, ?::TIMESTAMPTZ
            WHERE NOT EXISTS (SELECT 1 FROM rejects WHERE file = ? AND "row" = ?)""",
                        [r + (r[1], r[2]) for r in rows])
        con.execute("COMMIT")
    return len(rows)


# --- the child process ------------------------------------------------------------------------
_PR_SET_PDEATHSIG = 1


def _libc_prctl():
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return None


class FlushWorker:
    """A child process that runs :func:`load_into_store` for the server, one flush at a time.

    Started from the thread that lives as long as the server (the event loop's): Linux sends
    the death signal when *that thread* ends. Restarted on the next flush if it died.
    """

    def __init__(self, store_path: str, settings) -> None:
        self.store_path = str(store_path)
        self.settings_json = settings.model_dump_json()
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self.starts = 0

    def start(self) -> None:
        prctl = _libc_prctl()

        def die_with_parent() -> None:  # runs in the child between fork and exec: no Python imports
            if prctl is not None:
                prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

        self._proc = subprocess.Popen(
            [sys.executable, "-m", "journeymap.collector.flush_worker", str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, preexec_fn=die_with_parent, text=True, bufsize=1)
        self._proc.stdin.write(json.dumps({"store": self.store_path, "settings": self.settings_json}) + "\n")
        self.starts += 1

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def flush(self, segments: list[Path], rejects: list[Path]) -> FlushResult:
        """Run one flush in the child and wait for its answer (call from a worker thread)."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self.start()
            request = {"segments": [str(p) for p in segments], "rejects": [str(p) for p in rejects]}
            try:
                self._proc.stdin.write(json.dumps(request) + "\n")
                self._proc.stdin.flush()
                line = self._proc.stdout.readline()
            except (BrokenPipeError, OSError):
                line = ""
            if not line:
                code = self._proc.wait()
                self._proc = None
                raise RuntimeError(f"the flush worker died (exit {code}); the files stay for the next flush")
            answer = json.loads(line)
        if answer.get("crashed"):
            raise RuntimeError(answer["crashed"])
        return FlushResult(answer["status"], answer["files"], _Summary(**answer["summary"]) if answer["summary"] else None,
                           error=answer["error"], seconds=answer["seconds"])

    def close(self) -> None:
        with self._lock:
            if self._proc is None:
                return
            try:
                self._proc.stdin.close()
                self._proc.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()
            self._proc = None


class _Summary:
    """The counts of a load that ran in the child (a LoadSummary's, as the server reports them)."""

    def __init__(self, accepted: int = 0, duplicates: int = 0, rejected: int = 0) -> None:
        self.accepted, self.duplicates, self.rejected = accepted, duplicates, rejected


def _serve(parent: int) -> int:
    from ..config import Settings

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the server decides
    try:
        os.nice(10)  # a flush is background work: on a busy machine the requests come first
    except OSError:
        pass
    first = sys.stdin.readline()
    if not first or os.getppid() != parent:  # the server died before the death signal was armed
        return 0
    setup = json.loads(first)
    settings = Settings.model_validate_json(setup["settings"])
    for line in sys.stdin:
        request = json.loads(line)
        try:
            result = load_into_store(setup["store"], settings, [Path(p) for p in request["segments"]],
                                     [Path(p) for p in request["rejects"]])
            summary = result.summary
            answer: dict[str, Any] = {
                "status": result.status, "files": result.files, "error": result.error, "seconds": result.seconds,
                "summary": None if summary is None else {k: getattr(summary, k) for k in ("accepted", "duplicates",
                                                                                         "rejected")}}
        except Exception as exc:  # noqa: BLE001 - told to the server, which keeps the files
            answer = {"crashed": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":  # pragma: no cover - run by FlushWorker
    sys.exit(_serve(int(sys.argv[1])))
