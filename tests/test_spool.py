"""The collector's durable spool: group commit, torn tails, idempotency, backpressure, kill -9, flushing."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import journeymap
from journeymap.collector import spool as spool_module
from journeymap.collector.spool import Flusher, Spool, SpoolFull


def message(mid: str, user: str = "u1", **extra) -> dict:
    base = {"type": "track", "event": "Viewed", "messageId": mid, "userId": user,
            "timestamp": "2024-05-01T10:00:00Z"}
    base.update(extra)
    return base


def spooled_ids(folder: Path) -> list[str]:
    ids = []
    for path in sorted(folder.glob("spool-*.ndjson")):
        for line in path.read_text(encoding="utf-8").splitlines():
            ids.append(json.loads(line)["messageId"])
    return ids


def stored_ids(db: Path) -> list[str]:
    with journeymap.open(db, read_only=True) as jm:
        return [r[0] for r in jm.store.con.execute("SELECT event_id FROM events").fetchall()]


def test_group_commit_shares_fsyncs_and_every_ack_is_on_disk(tmp_path, monkeypatch):
    calls = []
    real_fsync = os.fsync

    def counting_fsync(fd):
        calls.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(spool_module.os, "fsync", counting_fsync)
    checked = []

    async def main():
        spool = Spool(tmp_path)
        fsyncs_at_start = len(calls)

        async def one(i):
            await spool.append([message(f"m{i}")])
            # acknowledged: the line is in the file already, whatever happens next
            checked.append(f'"messageId":"m{i}"' in spool.current_segment.read_text(encoding="utf-8"))

        await asyncio.gather(*(one(i) for i in range(1000)))
        stats = spool.stats()
        await spool.close()
        return len(calls) - fsyncs_at_start, stats

    fsyncs, stats = asyncio.run(main())
    assert len(checked) == 1000 and all(checked)
    assert stats["appended"] == 1000 and stats["fsyncs"] == fsyncs
    assert fsyncs <= 50, f"{fsyncs} fsyncs for 1000 appends: no group commit"
    assert sorted(spooled_ids(tmp_path)) == sorted(f"m{i}" for i in range(1000))


def test_rotation_seals_segments(tmp_path):
    async def main():
        spool = Spool(tmp_path, segment_bytes=500)
        for i in range(20):
            await spool.append([message(f"m{i}")])
        sealed = spool.sealed_segments()
        assert spool.current_segment not in sealed
        assert await spool.rotate() is True
        assert await spool.rotate() is False  # nothing in the new segment yet
        await spool.close()
        return sealed

    sealed = asyncio.run(main())
    assert len(sealed) >= 2
    assert [p.name for p in sealed][:2] == ["spool-000001.ndjson", "spool-000002.ndjson"]
    assert spooled_ids(tmp_path) == [f"m{i}" for i in range(20)]


@pytest.mark.parametrize("tail", [b'{"type":"track","messageId":"torn","use', b"\x00" * 300,
                                  b'{"type":"track","messageId":"to\x00\x00\x00\n'])
def test_torn_tail_is_dropped_on_open(tmp_path, tail):
    async def write(spool, ids):
        await spool.append([message(i) for i in ids])
        await spool.close()

    asyncio.run(write(Spool(tmp_path), ["a", "b", "c"]))
    segment = tmp_path / "spool-000001.ndjson"
    good = segment.read_bytes()
    with open(segment, "ab") as handle:
        handle.write(tail)

    spool = Spool(tmp_path)
    assert spool.recovered["torn_bytes"] == len(tail) and spool.recovered["messages"] == 3
    assert segment.read_bytes() == good
    # appends continue after the intact messages; a retry of a recovered id is not written again
    asyncio.run(write(spool, ["c", "d"]))
    assert spooled_ids(tmp_path) == ["a", "b", "c", "d"]


def test_corrupt_line_in_the_middle_is_dropped_not_the_rest(tmp_path):
    segment = tmp_path / "spool-000001.ndjson"
    segment.write_bytes(b'{"messageId":"a"}\n{"messageId":\x00\x00\n{"messageId":"b"}\n')
    spool = Spool(tmp_path)
    assert spool.recovered["corrupt_lines"] == 1
    assert spooled_ids(tmp_path) == ["a", "b"]


def test_idempotent_retry_is_stored_once(tmp_path):
    db = tmp_path / "store.duckdb"

    async def main():
        spool = Spool(tmp_path / "spool")
        first = asyncio.create_task(spool.append([message("m1"), message("m2")]))
        retry = asyncio.create_task(spool.append([message("m1")]))  # while the first is being fsync'd
        await asyncio.gather(first, retry)
        await spool.append([message("m2"), message("m3"), message("m3")])  # a later retry, a repeat in one batch
        stats = spool.stats()
        await spool.close()
        return stats

    stats = asyncio.run(main())
    assert stats["appended"] == 3 and stats["duplicates"] == 3
    assert spooled_ids(tmp_path / "spool") == ["m1", "m2", "m3"]

    # restarted: the window is rebuilt from the spool; beyond it, the store's dedup is the backstop
    spool = Spool(tmp_path / "spool")
    asyncio.run(spool.append([message("m1")]))
    assert spool.stats()["duplicates"] == 1
    result = Flusher(spool, db).flush_once(include_current=True)
    assert result.status == "flushed" and result.summary.accepted == 3
    spool2 = Spool(tmp_path / "spool", recent_ids=1)  # a window too small to remember m1
    asyncio.run(spool2.append([message("m1")]))
    assert Flusher(spool2, db).flush_once(include_current=True).summary.duplicates == 1
    assert sorted(stored_ids(db)) == ["m1", "m2", "m3"]


def test_spool_full_sheds_instead_of_queueing(tmp_path):
    async def main():
        spool = Spool(tmp_path, max_pending_bytes=400)
        results = await asyncio.gather(*(spool.append([message(f"m{i}")]) for i in range(50)),
                                       return_exceptions=True)
        await spool.close()
        return spool, results

    spool, results = asyncio.run(main())
    full = [r for r in results if isinstance(r, SpoolFull)]
    ok = [i for i, r in enumerate(results) if r is None]
    assert full and ok and len(full) + len(ok) == 50
    assert full[0].retry_after > 0 and full[0].limit == 400
    # refused messages were not written, acknowledged ones were; a refused one may be retried
    assert sorted(spooled_ids(tmp_path)) == sorted(f"m{i}" for i in ok)
    assert spool.stats()["pending_bytes"] == 0


def test_failed_write_acknowledges_nothing_and_forgets_the_ids(tmp_path, monkeypatch):
    async def main():
        spool = Spool(tmp_path)
        real_fsync = os.fsync
        monkeypatch.setattr(spool_module.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(5, "I/O error")))
        with pytest.raises(spool_module.SpoolError):
            await spool.append([message("m1")])
        monkeypatch.setattr(spool_module.os, "fsync", real_fsync)
        await spool.append([message("m1")])  # the retry is written: the failed copy was not acknowledged
        await spool.close()
        return spool.stats()

    stats = asyncio.run(main())
    assert stats["failed"] == 1 and stats["appended"] == 1
    assert spooled_ids(tmp_path) == ["m1"]


def _hold_store(db: Path):
    """A child process that holds the store read-write until killed; returns once it holds it."""
    code = f"import duckdb, sys, time; con = duckdb.connect({str(db)!r}); print('held', flush=True); time.sleep(120)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    return child


def test_flusher_busy_store_loses_nothing_and_loads_later(tmp_path):
    db = tmp_path / "store.duckdb"
    journeymap.open(db).close()
    spool = Spool(tmp_path / "spool")
    messages = [
        message("m1", user=None, anonymousId="anon-1",
                context={"campaign": {"source": "google", "medium": "cpc", "name": "spring"},
                         "page": {"url": "https://shop.example/?utm_source=google&utm_medium=cpc"}}),
        message("m2", user="user-1", anonymousId="anon-1", event="Order Completed",
                properties={"revenue": 42.5, "currency": "EUR"}),
        {"type": "identify", "messageId": "m3", "userId": "user-1", "anonymousId": "anon-1",
         "traits": {"email": "a@example.com"}, "timestamp": "2024-05-01T10:01:00Z"},
    ]
    asyncio.run(spool.append(messages))
    holder = _hold_store(db)
    try:
        flusher = Flusher(spool, db)
        busy = flusher.flush_once(include_current=True)
        assert busy.status == "busy" and len(busy.files) == 1
        assert Path(busy.files[0]).exists() and spooled_ids(tmp_path / "spool") == ["m1", "m2", "m3"]
    finally:
        holder.kill()
        holder.wait()
    done = flusher.flush_once()
    assert done.status == "flushed" and done.summary.accepted == 3
    assert spool.sealed_segments() == [] and not Path(done.files[0]).exists()
    assert flusher.flush_once().status == "idle"

    # like a file load: channel classification, stitching to one customer, email hashed
    with journeymap.open(db, read_only=True) as jm:
        rows = jm.events().order_by("event_id").execute()
    assert list(rows["event_id"]) == ["m1", "m2", "m3"]
    assert rows["channel"].iloc[0] == "paid_search"
    assert rows["customer_id"].nunique() == 1 and rows["customer_id"].iloc[0] is not None
    assert rows["revenue"].iloc[1] == 42.5


def test_flusher_from_another_process_and_archive(tmp_path):
    db = tmp_path / "store.duckdb"

    async def main():
        spool = Spool(tmp_path / "spool", segment_bytes=300)
        for i in range(6):
            await spool.append([message(f"m{i}")])
        await spool.close()

    asyncio.run(main())
    flusher = Flusher(tmp_path / "spool", db, archive=True)  # a folder: the newest segment is not sealed
    result = flusher.flush_once()
    assert result.status == "flushed"
    left = sorted(p.name for p in (tmp_path / "spool").glob("spool-*.ndjson"))
    assert len(left) == 1 and sorted((tmp_path / "spool" / "archive").glob("*.ndjson"))
    assert len(stored_ids(db)) == 6 - len(spooled_ids(tmp_path / "spool"))


CHILD = textwrap.dedent("""
    import asyncio, random, sys
    from journeymap.collector.spool import Flusher, Spool

    folder, db, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = random.Random(seed)

    async def main():
        spool = Spool(folder, segment_bytes=100_000)
        flusher = Flusher(spool, db)
        counter = 0

        async def client(n):
            nonlocal counter
            while True:
                batch = []
                for _ in range(rng.choice([1, 1, 5, 20])):
                    counter += 1
                    # a retry now and then: a messageId sent before, acknowledged or not
                    mid = f"m{rng.randrange(max(counter - 50, 1), counter + 1)}" if rng.random() < 0.05 else f"m{counter}"
                    batch.append({"type": "track", "event": "Viewed", "messageId": mid,
                                  "userId": f"u{n}", "timestamp": "2024-05-01T10:00:00Z"})
                await spool.append(batch)
                sys.stdout.write(" ".join(m["messageId"] for m in batch) + "\\n")
                sys.stdout.flush()
                await asyncio.sleep(rng.random() * 0.02)

        async def flushing():
            while True:
                await flusher.flush()
                await asyncio.sleep(0.2)

        await asyncio.gather(*(client(n) for n in range(20)), flushing())

    asyncio.run(main())
""")


def test_kill_9_loses_no_acknowledged_message_and_stores_none_twice(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    rng = random.Random()
    for round_ in range(3):
        folder, db = tmp_path / f"spool{round_}", tmp_path / f"store{round_}.duckdb"
        acked: list[str] = []
        child = subprocess.Popen([sys.executable, str(script), str(folder), str(db), str(rng.randrange(1 << 30))],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out = bytearray()

        def pump():
            while chunk := child.stdout.read1(65536):
                out.extend(chunk)

        first = child.stdout.readline()  # the first acknowledgement: the child is running, whatever the machine's load
        out.extend(first)
        reader = threading.Thread(target=pump)
        reader.start()
        time.sleep(rng.uniform(0.2, 4.0))  # a flush takes ~1-2 s: the kill lands mid-load, sometimes mid-flush
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        reader.join()
        stderr = child.stderr.read().decode()
        assert child.returncode == -signal.SIGKILL, stderr
        for line in bytes(out).split(b"\n")[:-1]:  # a last line without newline was cut by the kill
            acked.extend(line.decode().split())
        assert acked, f"the child acknowledged nothing before the kill: {stderr}"

        before = len(stored_ids(db)) if db.exists() else 0
        spool = Spool(folder)
        flusher = Flusher(spool, db)
        result = flusher.flush_once(include_current=True)
        while result.status == "flushed":  # at most max_files segments per flush
            result = flusher.flush_once()
        assert result.status == "idle" and not spool.segments()[:-1]
        print(f"round {round_}: {len(acked)} acknowledged, {before} stored by the child, {spool.recovered}, {flusher.stats}")
        ids = stored_ids(db)
        assert len(ids) == len(set(ids)), "an event stored twice"
        missing = set(acked) - set(ids)
        assert not missing, f"{len(missing)} acknowledged messages lost, e.g. {sorted(missing)[:5]}"


def test_close_waits_for_appends_in_flight(tmp_path):
    async def main():
        spool = Spool(tmp_path)
        appends = [asyncio.create_task(spool.append([message(f"m{i}")])) for i in range(200)]
        await asyncio.sleep(0)  # some are queued, some in the writer's first group
        await asyncio.wait_for(spool.close(), 10)
        await asyncio.gather(*appends)
        with pytest.raises(spool_module.SpoolError):
            await spool.append([message("late")])

    asyncio.run(main())
    assert sorted(spooled_ids(tmp_path)) == sorted(f"m{i}" for i in range(200))


def test_flusher_run_flushes_while_appends_go_on(tmp_path):
    db = tmp_path / "store.duckdb"

    async def main():
        spool = Spool(tmp_path / "spool")
        flusher = Flusher(spool, db)
        stop = asyncio.Event()
        running = asyncio.create_task(flusher.run(interval=0.05, stop=stop))
        for i in range(30):
            await spool.append([message(f"m{i}")])
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        stop.set()
        await running
        await spool.close()
        while (await flusher.flush()).status == "flushed":
            pass
        return flusher.stats

    stats = asyncio.run(main())
    assert stats["flushes"] >= 1 and "errors" not in stats
    assert sorted(stored_ids(db)) == sorted(f"m{i}" for i in range(30))
