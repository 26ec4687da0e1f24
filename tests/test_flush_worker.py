"""The flush worker: loads the spool in a child process, and dies with the server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import journeymap
from journeymap.collector.flush_worker import FlushWorker, load_into_store
from journeymap.config import Settings

pytestmark = pytest.mark.timeout(180)


def _segment(folder: Path, name: str, ids: list[str]) -> Path:
    path = folder / name
    path.write_text("".join(json.dumps({"type": "track", "event": "Signed Up", "userId": f"u-{i}", "messageId": i,
                                        "timestamp": "2026-11-20T10:00:00Z"}) + "\n" for i in ids))
    return path


def _rejects(folder: Path) -> Path:
    path = folder / "rejects-000001.flushing"
    path.write_text(json.dumps({"file": "collector:site/v1/track", "row": 7, "column": "event", "reason": "event is required",
                                "value": None, "record": "{}", "rejected_at": "2026-11-20T10:00:00+00:00"}) + "\n"
                    + '{"torn')  # a torn last line (a crash mid-write) is skipped
    return path


def test_a_flush_in_the_child_loads_deletes_and_counts(tmp_path):
    store = tmp_path / "s.duckdb"
    worker = FlushWorker(str(store), Settings())
    worker.start()
    try:
        first = _segment(tmp_path, "spool-000001.ndjson", ["a", "b"])
        result = worker.flush([first], [_rejects(tmp_path)])
        assert result.status == "flushed" and result.summary.accepted == 2
        assert not first.exists() and not list(tmp_path.glob("rejects-*"))
        again = _segment(tmp_path, "spool-000002.ndjson", ["b", "c"])  # b again: a retry after a crash
        result = worker.flush([again], [])
        assert (result.summary.accepted, result.summary.duplicates) == (1, 1)
        assert worker.flush([], []).status == "idle"
    finally:
        worker.close()
    with journeymap.open(store, read_only=True) as jm:
        assert sorted(jm.events().event_id.execute()) == ["a", "b", "c"]
        assert jm.rejects().select("file", "row", "column").to_pyarrow().to_pylist() == [
            {"file": "collector:site/v1/track", "row": 7, "column": "event"}]


def test_a_busy_store_is_busy_in_the_child_too(tmp_path):
    store = tmp_path / "s.duckdb"
    journeymap.open(store).close()
    holder = journeymap.open(store)  # this process holds the store read-write
    worker = FlushWorker(str(store), Settings())
    worker.start()
    try:
        segment = _segment(tmp_path, "spool-000001.ndjson", ["a"])
        assert worker.flush([segment], []).status == "busy"
        assert segment.exists()
    finally:
        holder.close()
        worker.close()
    assert load_into_store(str(store), Settings(), [segment], []).status == "flushed"


def test_a_dead_worker_is_replaced_and_the_files_wait(tmp_path):
    store = tmp_path / "s.duckdb"
    worker = FlushWorker(str(store), Settings())
    worker.start()
    try:
        os.kill(worker.pid, signal.SIGKILL)
        time.sleep(0.5)
        segment = _segment(tmp_path, "spool-000001.ndjson", ["a"])
        result = worker.flush([segment], [])  # a new child starts and flushes
        assert result.status == "flushed" and worker.starts == 2
    finally:
        worker.close()


SERVER = textwrap.dedent("""
    import sys, time
    from journeymap.collector.flush_worker import FlushWorker
    from journeymap.config import Settings
    worker = FlushWorker(sys.argv[1], Settings())
    worker.start()
    print(worker.pid, flush=True)
    time.sleep(120)
""")


@pytest.mark.skipif(sys.platform != "linux", reason="the death signal is Linux's PR_SET_PDEATHSIG")
def test_the_child_dies_with_a_killed_server(tmp_path):
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(tmp_path / "s.duckdb")], stdout=subprocess.PIPE, text=True)
    child = int(server.stdout.readline())
    assert _alive(child)
    server.kill()
    server.wait(30)
    deadline = time.monotonic() + 30
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child), "the flush worker outlived a kill -9 of its server"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie waits for its reaper, it runs nothing
