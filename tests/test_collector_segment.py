"""Issue 6's "done when": Segment's own Python library, pointed at a real `journeymap serve` process,
sends an anonymous visitor's page view and product view, then their identify and purchase; after the
server stops (SIGTERM -> last flush), `journeymap stages` counts them and shows one stitched customer.

Everything is a real process: the CLI creates the keys, serves, and reads the store afterwards."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

CLI = [sys.executable, "-m", "journeymap.cli"]
LISTENING = re.compile(r"listening on (http://[^\s]+?:(\d+))\b")


def _env() -> dict:
    return {**os.environ, "NO_COLOR": "1", "COLUMNS": "250", "PYTHONUNBUFFERED": "1"}


def cli(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=120, env=_env())
    if check:
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
    return done


class Server:
    """`journeymap --db STORE serve --port 0 --flush-interval 0.5s` as a child process."""

    def __init__(self, store: Path, cwd: Path) -> None:
        self.process = subprocess.Popen([*CLI, "--db", str(store), "serve", "--port", "0", "--flush-interval", "0.5s"],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                                        env=_env())
        self.stderr: list[str] = []
        self.url: str | None = None
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(60) or self.url is None:
            self.kill()
            pytest.fail("journeymap serve did not start:\n" + "".join(self.stderr)[-3000:])

    def _read(self) -> None:
        for line in self.process.stderr:
            self.stderr.append(line)
            match = LISTENING.search(line)
            if match and self.url is None:
                self.url = match.group(1)
                self._ready.set()
        self._ready.set()  # the process ended

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM: uvicorn shuts down, the lifespan flushes what is spooled, the process exits."""
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail("journeymap serve did not stop after SIGTERM:\n" + "".join(self.stderr)[-3000:])
        self._reader.join(5)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def segment_client(monkeypatch):
    """segment.analytics configured through its module settings (as its README shows), reset after."""
    import segment.analytics as analytics

    errors: list = []
    monkeypatch.setattr(analytics, "default_client", None)
    monkeypatch.setattr(analytics, "on_error", lambda error, batch: errors.append((error, batch)))
    monkeypatch.setattr(analytics, "max_retries", 2)
    monkeypatch.setattr(analytics, "sync_mode", False)
    monkeypatch.setattr(analytics, "debug", False)
    yield analytics, errors
    if analytics.default_client is not None:
        analytics.default_client.shutdown()
        analytics.default_client = None


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what} (last: {last!r})")


def test_segment_library_to_journeymap_serve_to_stages(tmp_path, segment_client):
    analytics, errors = segment_client
    store = tmp_path / "shop.duckdb"
    write = json.loads(cli("--db", str(store), "keys", "create", "--write", "--source", "website",
                           "--format", "json", cwd=tmp_path).stdout)
    read = json.loads(cli("--db", str(store), "keys", "create", "--read", "--source", "test",
                          "--format", "json", cwd=tmp_path).stdout)

    run = uuid.uuid4().hex[:8]
    visitor, user = f"anon-{run}", f"user-{run}"
    landing = "https://shop.example/shoes?utm_source=google&utm_medium=cpc&utm_campaign=spring"
    server = Server(store, tmp_path)
    try:
        analytics.write_key = write["secret"]
        analytics.host = server.url
        # the visit takes a few seconds (analytics-python stamps milliseconds: four calls in a row could share one)
        start = datetime.now(timezone.utc) - timedelta(minutes=3)
        at = [start + timedelta(seconds=40 * i) for i in range(4)]
        # an anonymous visitor lands from a paid search ad and looks at a product ...
        analytics.page(anonymous_id=visitor, name="Shoes",
                       properties={"url": landing, "title": "Shoes"},
                       context={"page": {"url": landing, "title": "Shoes", "referrer": "https://www.google.com/"},
                                "campaign": {"source": "google", "medium": "cpc", "name": "spring"}}, timestamp=at[0])
        analytics.track(anonymous_id=visitor, event="product_viewed", properties={"sku": "SHOE-1"}, timestamp=at[1])
        # ... then signs up (identify joins the anonymous id to the user) and buys
        analytics.identify(user_id=user, anonymous_id=visitor, traits={"email": f"{run}@shop.example", "plan": "free"},
                           timestamp=at[2])
        analytics.track(user_id=user, event="order_completed", properties={"revenue": 99.0, "currency": "EUR"},
                        timestamp=at[3])
        analytics.flush()  # blocks until the queue is sent
        assert errors == [], errors

        # while serving: the flusher loads them within a few flush intervals; the JSON API sees them stitched
        headers = {"Authorization": f"Bearer {read['secret']}"}

        def timeline():
            response = httpx.get(f"{server.url}/api/customers/{user}/timeline", headers=headers, timeout=10)
            rows = response.json().get("rows", []) if response.status_code == 200 else []
            return rows if len(rows) == 4 else None

        rows = _wait_for(timeline, 30, "the four events in the timeline")
        assert [r["event"] for r in rows] == ["page_view", "product_viewed", "identify", "order_completed"]
        assert len({r["customer_id"] for r in rows}) == 1
        health = httpx.get(f"{server.url}/health", timeout=10).json()
        assert health["counters"]["accepted"] == 4 and health["counters"]["rejected"] == 0, health
    finally:
        code = server.stop()
    assert code == 0, "".join(server.stderr)[-3000:]
    assert "Traceback" not in "".join(server.stderr), "".join(server.stderr)[-3000:]

    # the store, read by another process, now that the server let go of it
    import journeymap

    with journeymap.open(store, read_only=True) as jm:
        events = jm.events().to_pandas()
        theirs = events[(events.anonymous_id == visitor) | (events.user_id == user)]
        assert sorted(theirs.event) == ["identify", "order_completed", "page_view", "product_viewed"]
        assert theirs.customer_id.nunique() == 1
        customer = theirs.customer_id.iloc[0]
        page = theirs[theirs.event == "page_view"].iloc[0]
        assert page.url == landing and page.channel == "paid_search" and page.utm_campaign == "spring"
        assert theirs[theirs.event == "order_completed"].iloc[0].revenue == 99.0
        assert len(events) == 4, "nothing else was stored"
        stored = theirs.sort_values("timestamp")
        assert list(stored.event) == ["page_view", "product_viewed", "identify", "order_completed"]
        for moment, sent in zip(stored.timestamp, at):  # sentAt correction: same clock, so ~unchanged
            assert abs(moment.to_pydatetime() - sent) < timedelta(seconds=5), (moment, sent)
        assert jm.rejects().count().execute() == 0

    # the stage funnel counts them
    funnel = json.loads(cli("--db", str(store), "stages", "--format", "json", cwd=tmp_path).stdout)
    by_stage = {row["stage"]: row for row in funnel["rows"]}
    assert by_stage["awareness"]["customers"] >= 1
    assert by_stage["purchase"]["customers"] >= 1, funnel

    # one customer's stages, by the user id and by the customer id: the same person
    # (`stages --customer` takes a customer_id, unlike the API's timeline, not an anonymous id)
    shown = {}
    for identifier in dict.fromkeys((user, customer)):
        done = cli("--db", str(store), "stages", "--customer", identifier, "--format", "json", cwd=tmp_path)
        shown[identifier] = json.loads(done.stdout)
        assert shown[identifier], done.stdout
    assert shown[user] == shown[customer]
    entries = shown[user]
    assert {e["customer_id"] for e in entries} == {customer}
    reached = {e["stage"]: e for e in entries}
    assert {"awareness", "purchase"} <= set(reached), entries
    assert reached["awareness"]["trigger_event"] == "page_view"  # the anonymous landing counts for the customer
    assert reached["purchase"]["trigger_event"] == "order_completed"

    # identity explain: the anonymous id is joined to the user by the identify call
    explained = cli("--db", str(store), "identity", "explain", visitor, cwd=tmp_path)
    assert user in explained.stdout or customer in explained.stdout, explained.stdout
