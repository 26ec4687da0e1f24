"""The collector's running parts: shedding (429/503 with Retry-After), flush spacing, a busy
store, rejects kept in the store, health, and the CLI reading the store while the server runs."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time

import duckdb
import pytest
from fastapi.testclient import TestClient

import journeymap
from journeymap.collector.server import create_app
from journeymap.collector.service import Collector, spool_path_for_store
from journeymap.collector.spool import FlushResult, SpoolFull
from journeymap.config import settings_from_toml

pytestmark = pytest.mark.timeout(180)


def _settings(extra: str = ""):
    return settings_from_toml("[collector]\nflush_interval = '1h'\n" + extra)


@pytest.fixture()
def made(tmp_path):
    """A collector that flushes only when told (flush interval 1 h), a write key and a client."""
    store = tmp_path / "live.duckdb"
    collector = Collector(store, _settings())
    _, secret = collector.keys.create("write", "website")
    with TestClient(create_app(collector)) as client:
        yield collector, client, {"Authorization": "Basic " + base64.b64encode(f"{secret}:".encode()).decode()}


def _track(n: int, user: str = "u1") -> dict:
    return {"userId": user, "event": "Signed Up", "messageId": f"m-{n}", "timestamp": "2026-11-20T10:00:00Z"}


def _flush(collector: Collector) -> FlushResult:
    collector.spool._rotate_now()  # no appends are in flight between test requests
    return collector._flush_locked(False)


def _hold(store: str) -> subprocess.Popen:
    """Another process holding the store read-write (as a notebook or a load would)."""
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time, duckdb; con = duckdb.connect(sys.argv[1]); print('holding', flush=True); "
        "time.sleep(60)"), store], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder


def test_the_spool_sits_beside_the_store(tmp_path):
    assert spool_path_for_store(tmp_path / "shop.duckdb") == tmp_path / "shop.duckdb.spool"


def test_sheds_with_429_when_the_store_is_far_behind(tmp_path):
    store = tmp_path / "live.duckdb"
    collector = Collector(store, _settings("max_unflushed_mb = 1\n"))
    _, secret = collector.keys.create("write", "website")
    auth = {"Authorization": "Basic " + base64.b64encode(f"{secret}:".encode()).decode()}
    # 1.5 MiB already spooled and not flushed (as if another process held the store for long)
    (collector.spool_dir / "spool-000000.ndjson").write_bytes(
        (json.dumps(_track(0)) + "\n").encode() * (1_600_000 // len(json.dumps(_track(0)))))
    with TestClient(create_app(collector)) as client:
        answer = client.post("/v1/track", json=_track(1), headers=auth)
        assert answer.status_code == 429
        assert int(answer.headers["Retry-After"]) >= 1
        body = answer.json()
        assert body["ok"] is False and body["status"] == 429 and body["errors"][0]["field"] == "server"
        assert collector.counters["shed_429"] >= 1
        # once the backlog is flushed, the same request is taken
        assert _flush(collector).status == "flushed"
        collector._unflushed_at = float("-inf")
        assert client.post("/v1/track", json=_track(1), headers=auth).status_code == 200


def test_sheds_with_503_when_too_much_waits_for_the_disk(made, monkeypatch):
    collector, client, auth = made

    async def full(messages):
        raise SpoolFull(40 << 20, 32 << 20)

    monkeypatch.setattr(collector.spool, "append", full)
    answer = client.post("/v1/batch", json={"batch": [{"type": "track", **_track(1)}]}, headers=auth)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert answer.json()["errors"][0]["message"].startswith("too many events are waiting for the disk")
    assert collector.counters["shed_503"] == 1 and collector.counters["accepted"] == 0


def test_flushes_are_spaced_by_their_cost(made):
    collector, _, _ = made
    collector.flush_interval = 5.0
    assert collector.next_flush_wait() == 5.0
    collector.last_flush = FlushResult("flushed", seconds=4.0)
    assert collector.next_flush_wait() == 8.0
    collector.last_flush = FlushResult("busy", seconds=40.0)  # a busy try costs nothing
    assert collector.next_flush_wait() == 5.0


def test_a_busy_store_keeps_the_events_for_the_next_flush(made):
    collector, client, auth = made
    assert client.post("/v1/track", json=_track(1), headers=auth).status_code == 200
    holder = _hold(collector.store_path)
    try:
        result = _flush(collector)
        assert result.status == "busy" and result.files
        assert collector.spool.sealed_segments()  # still on disk
    finally:
        holder.kill()
        holder.wait(30)
    assert collector._flush_locked(False).status == "flushed"
    with journeymap.open(collector.store_path, read_only=True) as jm:
        assert jm.events().event_id.execute().tolist() == ["m-1"]


def test_refused_messages_reach_the_rejects_table_with_their_reason(made):
    collector, client, auth = made
    bad = client.post("/v1/track", json={"userId": "u1", "timestamp": "2026-11-20T10:00:00Z"}, headers=auth)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "event"
    mixed = client.post("/v1/batch", headers=auth, json={"batch": [
        {"type": "track", **_track(2)}, {"type": "track", "event": "x", "userId": {"no": 1}}]})
    assert mixed.status_code == 200 and mixed.json()["accepted"] == 1 and mixed.json()["rejected"] == 1
    assert client.post("/v1/track", content=b"{not json", headers=auth).status_code == 400
    _flush(collector)
    with journeymap.open(collector.store_path, read_only=True) as jm:
        rejects = jm.rejects().order_by("row").to_pyarrow().to_pylist()
        assert jm.events().event_id.execute().tolist() == ["m-2"]
    assert [(r["file"], r["column"]) for r in rejects] == [
        ("collector:website/v1/track", "event"),
        ("collector:website/v1/batch", "batch[1].userId"),
        ("collector:website/v1/track", "body"),
    ]
    assert all(r["reason"] and r["record"] for r in rejects)
    assert json.loads(rejects[1]["record"])["userId"] == {"no": 1}
    assert rejects[2]["record"] == "{not json"
    assert not list(collector.spool_dir.glob("rejects-*"))  # moved into the store, not kept twice
    _flush(collector)
    with journeymap.open(collector.store_path, read_only=True) as jm:
        assert jm.rejects().count().execute() == 3


def test_health_is_open_and_shows_the_backlog(made):
    collector, client, auth = made
    client.post("/v1/track", json=_track(1), headers=auth)
    health = client.get("/health").json()
    assert health["ok"] is True and health["counters"]["accepted"] == 1
    assert health["spool_counters"]["appended"] == 1 and health["unflushed_bytes"] >= 0
    assert health["next_flush_wait_seconds"] == 3600.0


@pytest.mark.slow
def test_the_cli_reads_the_store_while_the_server_runs(tmp_path):
    """`journeymap stages` (which opens the store read-write) and `info` work between flushes,
    and see the events of the last flush."""
    store = tmp_path / "live.duckdb"
    cli = [sys.executable, "-m", "journeymap.cli", "--db", str(store)]
    secret = json.loads(subprocess.run(cli + ["keys", "create", "--write", "--source", "site", "--format", "json"],
                                       capture_output=True, text=True, check=True).stdout)["secret"]
    server = subprocess.Popen(cli + ["serve", "--port", "0", "--flush-interval", "0.5s"],
                              stderr=subprocess.PIPE, text=True)
    try:
        line = server.stderr.readline()
        assert "listening on http://" in line, line
        url = line.split("listening on ", 1)[1].split()[0]
        import httpx

        for n in range(20):
            answer = httpx.post(f"{url}/v1/track", json=_track(n, user=f"u{n % 4}"), auth=(secret, ""))
            assert answer.status_code == 200, answer.text
        deadline = time.monotonic() + 60
        while True:
            info = subprocess.run(cli + ["info", "--format", "json"], capture_output=True, text=True)
            assert info.returncode == 0, info.stderr
            if json.loads(info.stdout)["events"] == 20 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert json.loads(info.stdout)["customers"] == 4
        stages = subprocess.run(cli + ["stages", "--format", "json"], capture_output=True, text=True)
        assert stages.returncode == 0, stages.stderr
        # the server keeps collecting after the CLI let go of the store
        assert httpx.post(f"{url}/v1/track", json=_track(99), auth=(secret, "")).status_code == 200
    finally:
        server.terminate()
        server.wait(60)
    assert server.returncode == 0
    with journeymap.open(store, read_only=True) as jm:
        assert jm.events().count().execute() == 21  # the last one by the final flush at shutdown
    assert duckdb.__version__  # the store file is a plain DuckDB file


def test_the_write_keys_source_is_kept_with_each_event(made):
    collector, client, auth = made
    _, app_secret = collector.keys.create("write", "ios-app")
    app_auth = {"Authorization": "Basic " + base64.b64encode(f"{app_secret}:".encode()).decode()}
    assert client.post("/v1/track", json=_track(1, "u1"), headers=auth).status_code == 200
    assert client.post("/v1/track", json=_track(2, "u2"), headers=app_auth).status_code == 200
    _flush(collector)
    with journeymap.open(collector.store_path, read_only=True) as jm:
        rows = jm.events().order_by("event_id").select("event_id", "properties").to_pyarrow().to_pylist()
        assert [(r["event_id"], json.loads(r["properties"])["collector_source"]) for r in rows] == [
            ("m-1", "website"), ("m-2", "ios-app")]
        funnel = jm.stage_funnel(by="property.collector_source").to_pyarrow().to_pylist()
    assert {(r["collector_source"], r["customers"]) for r in funnel if r["stage"] == "awareness"} == {
        ("website", 1), ("ios-app", 1)}


@pytest.mark.parametrize("encoding, packed, status", [
    ("gzip", lambda raw: __import__("gzip").compress(raw), 200),
    ("deflate", lambda raw: __import__("zlib").compress(raw), 200),
    ("gzip", lambda raw: __import__("gzip").compress(raw)[:-12], 400),             # cut short
    ("gzip", lambda raw: b"not gzip at all", 400),
    ("br", lambda raw: raw, 415),
    ("gzip", lambda raw: __import__("gzip").compress(b" " * 40_000 + raw), 413),   # inflates past 32 KB
])
def test_compressed_bodies(made, encoding, packed, status):
    collector, client, auth = made
    raw = json.dumps(_track(7)).encode()
    answer = client.post("/v1/track", content=packed(raw),
                         headers={**auth, "Content-Type": "application/json", "Content-Encoding": encoding})
    assert answer.status_code == status, answer.text
    if status != 200:
        assert answer.json()["errors"][0]["field"] in ("body", "Content-Encoding")


def test_a_bomb_is_not_inflated_past_the_limit(made):
    import gzip

    collector, client, auth = made
    bomb = gzip.compress(b"{" * (200 << 20))  # 200 MiB of nothing in a ~200 KB body, over the batch limit
    assert len(bomb) < 512_000
    answer = client.post("/v1/batch", content=bomb, headers={**auth, "Content-Encoding": "gzip"})
    assert answer.status_code == 413


def test_a_collector_can_be_started_again_after_a_stop(tmp_path):
    collector = Collector(tmp_path / "s.duckdb", _settings())
    _, secret = collector.keys.create("write", "website")
    auth = {"Authorization": "Basic " + base64.b64encode(f"{secret}:".encode()).decode()}
    for n in (1, 2):
        with TestClient(create_app(collector)) as client:
            assert client.post("/v1/track", json=_track(n), headers=auth).status_code == 200
    with journeymap.open(collector.store_path, read_only=True) as jm:
        assert sorted(jm.events().event_id.execute()) == ["m-1", "m-2"]  # each stop flushed


def test_rejects_staged_by_a_busy_flush_are_not_overwritten(made):
    collector, client, auth = made
    bad = {"userId": "u1", "timestamp": "2026-11-20T10:00:00Z"}  # no event
    assert client.post("/v1/track", json=bad, headers=auth).status_code == 400
    holder = _hold(collector.store_path)  # another process holds the store: the flushes keep their files
    try:
        assert _flush(collector).status == "busy"
        assert client.post("/v1/track", json=bad, headers=auth).status_code == 400
        assert _flush(collector).status == "busy"
    finally:
        holder.kill()
        holder.wait(30)
    assert len(list(collector.spool_dir.glob("rejects-*.flushing"))) == 2
    assert _flush(collector).status == "flushed"
    with journeymap.open(collector.store_path, read_only=True) as jm:
        assert jm.rejects().count().execute() == 2


def test_json_answers_have_no_nan():
    from journeymap.collector.server import json_response

    body = json.loads(json_response({"rows": [{"conversion": float("nan"), "lift": float("-inf"), "n": 3}]}).body)
    assert body == {"rows": [{"conversion": None, "lift": None, "n": 3}]}
