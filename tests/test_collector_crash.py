"""kill -9 of a real ``journeymap serve`` under load: no acknowledged event lost, none stored twice.

The server runs as the CLI runs it (a subprocess, ``--port 0``); clients send ``/v1/track``
and ``/v1/batch`` concurrently over keep-alive connections, and now and then resend
messageIds sent before (acknowledged or still in flight), as client retries do. At a random
moment after the first 200 the server gets SIGKILL, possibly in the middle of a flush (one
every second). A second server on the same store recovers the spool, gets a few more
resends, and stops with SIGTERM (its final flush). Then every messageId that got a 200 must
be in ``events`` exactly once, and nothing else may be there.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

import journeymap
from journeymap.collector.keys import KeyStore

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


class ServeProcess:
    """``python -m journeymap.cli --db STORE serve --port 0``; ready when it answers /health."""

    def __init__(self, store: Path, started: list) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "journeymap.cli", "--db", str(store), "serve", "--host", "127.0.0.1",
             "--port", "0", "--flush-interval", "1s"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=store.parent)
        started.append(self.proc)  # the finalizer kills it whatever happens
        self.lines: list[str] = []
        self.port: int | None = None
        found = threading.Event()

        def pump() -> None:
            for raw in self.proc.stderr:
                line = raw.decode("utf-8", "replace")
                self.lines.append(line)
                if self.port is None and (match := LISTENING.search(line)):
                    self.port = int(match.group(1))
                    found.set()
            found.set()  # it exited

        self.reader = threading.Thread(target=pump, daemon=True)
        self.reader.start()
        assert found.wait(90) and self.port is not None, f"the server did not start:\n{self.stderr}"
        deadline = time.monotonic() + 60  # the line comes when the socket is bound; uvicorn listens just after
        while not self._healthy():
            assert self.proc.poll() is None, f"the server exited:\n{self.stderr}"
            assert time.monotonic() < deadline, f"the server does not answer /health:\n{self.stderr}"
            time.sleep(0.05)

    @property
    def stderr(self) -> str:
        return "".join(self.lines)[-4000:]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _healthy(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                sock.sendall(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
                return sock.recv(32).startswith(b"HTTP/1.1 200")
        except OSError:
            return False


def track(mid: str, n: int, now: str) -> dict:
    return {"userId": f"user-{n % 50}", "event": "Order Completed" if n % 7 == 0 else "Product Viewed",
            "messageId": mid, "timestamp": now, "properties": {"sku": f"sku-{n % 13}", "revenue": n % 100},
            "context": {"page": {"url": f"https://shop.example/p/{n % 13}?utm_source=news&utm_medium=email"}}}


async def drive(url: str, key: str, rng: random.Random, kill) -> tuple[set[str], dict[str, dict], int]:
    """Track and batch clients until the server dies; returns (acknowledged ids, sent messages by id, resends)."""
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    acked: set[str] = set()
    sent: dict[str, dict] = {}  # messageId -> the message, for resends with the same content
    first_ack = asyncio.Event()
    dead = asyncio.Event()
    counter = iter(range(1, 1 << 40))
    resends = 0
    flushes: list[int] = []

    def new_or_resent(prefix: str) -> dict:
        nonlocal resends
        if sent and rng.random() < 0.08:  # a client retry: a messageId sent before (maybe not answered yet)
            resends += 1
            return sent[rng.choice(list(sent)[-2000:])]
        n = next(counter)
        message = track(f"{prefix}{n}", n, now)
        sent[message["messageId"]] = message
        return message

    async def client(http: httpx.AsyncClient, batch: bool) -> None:
        while not dead.is_set():
            if batch:
                messages = [dict(new_or_resent("b"), type="track") for _ in range(rng.randint(1, 30))]
                path, body = "/v1/batch", {"batch": messages, "sentAt": now}
            else:
                messages = [new_or_resent("t")]
                path, body = "/v1/track", messages[0]
            try:
                response = await http.post(path, content=json.dumps(body), auth=(key, ""),
                                           headers={"content-type": "application/json"})
            except httpx.HTTPError:  # the server is gone (or the connection broke): not acknowledged
                if dead.is_set():
                    return
                await asyncio.sleep(0.01)
                continue
            if response.status_code == 200:
                assert response.json().get("rejected", 0) == 0, response.text
                acked.update(m["messageId"] for m in messages)
                first_ack.set()
            elif response.status_code in (429, 503):  # shed: not acknowledged, sent again later
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"{path}: {response.status_code} {response.text}")
            await asyncio.sleep(rng.random() * 0.005)

    async def killer(http: httpx.AsyncClient) -> None:
        await asyncio.wait_for(first_ack.wait(), 60)
        # a flush every second (the first one imports the ingest stack, so it takes longer): the kill
        # lands before the first flush, in a flush, or between flushes
        await asyncio.sleep(rng.uniform(0.3, 6.0))
        health = (await http.get("/health")).json()
        flushes.append(health["flusher"]["flushes"])
        kill()
        dead.set()

    limits = httpx.Limits(max_connections=24, max_keepalive_connections=24)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=httpx.Timeout(30.0)) as http:
        clients = [asyncio.create_task(client(http, batch=i % 3 == 0)) for i in range(12)]
        await killer(http)
        done, _ = await asyncio.wait(clients, timeout=30)
        for task in done:
            task.result()  # an unexpected status fails the test
    print(f"killed after {flushes[0]} flushes;", end=" ")
    return acked, sent, resends


async def resend(url: str, key: str, messages: list[dict]) -> set[str]:
    """Send ``messages`` again to the restarted server, one batch at a time; the acknowledged ids."""
    acked: set[str] = set()
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(30.0)) as http:
        for start in range(0, len(messages), 50):
            chunk = [dict(m, type="track") for m in messages[start:start + 50]]
            response = await http.post("/v1/batch", json={"batch": chunk}, auth=(key, ""))
            assert response.status_code == 200, response.text
            acked.update(m["messageId"] for m in chunk)
    return acked


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)


def test_kill_9_under_http_load_loses_no_acknowledged_event(tmp_path, processes):
    rng = random.Random()
    store = tmp_path / "store.duckdb"
    _, key = KeyStore.for_store(store).create("write", "crash-test")

    server = ServeProcess(store, processes)
    acked, sent, resends = asyncio.run(drive(server.url, key, rng, lambda: os.kill(server.proc.pid, signal.SIGKILL)))
    assert server.proc.wait(30) == -signal.SIGKILL
    assert acked, f"nothing was acknowledged before the kill:\n{server.stderr}"
    assert resends, "no messageId was sent twice"

    restarted = ServeProcess(store, processes)
    # after the restart, clients retry: acknowledged ids (some already in the store, some only in
    # the recovered spool) and ids whose answer the kill cut off
    unanswered = sorted(set(sent) - acked)
    acked_before_kill = len(acked)
    again = rng.sample(sorted(acked), min(200, len(acked))) + rng.sample(unanswered, min(200, len(unanswered)))
    acked |= asyncio.run(resend(restarted.url, key, [sent[m] for m in again]))
    restarted.proc.send_signal(signal.SIGTERM)
    assert restarted.proc.wait(120) in (0, -signal.SIGTERM), restarted.stderr  # a clean stop after the final flush
    restarted.reader.join(10)

    with journeymap.open(store, read_only=True) as jm:
        stored = jm.events().select("event_id").to_pyarrow().column("event_id").to_pylist()
    distinct = set(stored)
    twice = len(stored) - len(distinct)
    missing = acked - distinct
    print(f"{acked_before_kill} acknowledged before the kill, {len(unanswered)} sent but unanswered, "
          f"{resends} resends; "
          f"{len(acked)} acknowledged after resending, {len(stored)} stored; "
          f"{restarted.stderr.strip()}")
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:5]}"
    assert twice == 0, f"{twice} events stored twice"
    assert distinct <= set(sent), f"stored events nobody sent: {sorted(distinct - set(sent))[:5]}"
