"""Shared helpers of the collector tests: an app over a Collector on a tmp store, driven in-process
by Starlette's TestClient (its lifespan starts and stops the collector), and the error-shape check."""

from __future__ import annotations

import base64
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import journeymap
from journeymap.collector.keys import KeyStore
from journeymap.collector.server import create_app
from journeymap.collector.service import Collector
from journeymap.config import Settings, load_settings

ERROR_KEYS = {"ok", "error", "errors", "status"}


def make_demo_store(folder: Path, *, customers: int, seed: int) -> Path:
    """A store at ``folder/demo.duckdb`` loaded with a small demo population (its files in ``folder/files``)."""
    from journeymap.demo import DemoSpec, write_demo_files

    write_demo_files(folder / "files", DemoSpec(customers=customers, seed=seed))
    store = folder / "demo.duckdb"
    with journeymap.open(store) as jm:
        jm.load(folder / "files" / "events")
    return store


def basic(secret: str) -> dict[str, str]:
    """Segment's write-key header: HTTP Basic with the key as user name and an empty password."""
    return {"Authorization": "Basic " + base64.b64encode(f"{secret}:".encode()).decode()}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def assert_error_shape(response, status: int | None = None, field: str | None = None) -> dict:
    """The one error shape: {"ok": false, "error": str, "errors": [{"field", "message"}], "status": N}."""
    if status is not None:
        assert response.status_code == status, (response.status_code, response.text[:500])
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["ok"] is False and body["status"] == response.status_code, body
    assert isinstance(body["error"], str) and body["error"], body
    assert isinstance(body["errors"], list) and body["errors"], body
    for item in body["errors"]:
        assert set(item) == {"field", "message"}, item
        assert isinstance(item["field"], str) and item["field"], item
        assert isinstance(item["message"], str) and item["message"], item
    assert body["error"] == body["errors"][0]["message"], body
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


@dataclass
class Served:
    """A running app (TestClient in its context) over one store, with a write key and a read token."""

    client: Any
    collector: Collector
    store: Path
    keys: KeyStore
    write: str
    read: str
    write_id: str
    read_id: str
    extra: dict = field(default_factory=dict)

    @property
    def w(self) -> dict[str, str]:
        return basic(self.write)

    @property
    def r(self) -> dict[str, str]:
        return bearer(self.read)

    def flush(self):
        """Seal the spool and load it (on the app's own event loop, as the periodic flusher does)."""
        result = self.client.portal.call(self.collector.flush)
        assert result.status in ("flushed", "idle"), result
        return result

    def query(self, fn):
        with self.collector.reading() as jm:
            return fn(jm)

    def events(self):
        return self.query(lambda jm: jm.events().to_pandas())

    def rejects(self):
        return self.query(lambda jm: jm.rejects().to_pandas())


def empty_store(folder: Path, name: str = "live.duckdb") -> Path:
    path = Path(folder) / name
    journeymap.open(path).close()
    return path


@contextmanager
def serving(store: Path, settings: Settings | None = None, *, flush_interval: str = "1h") -> Iterator[Served]:
    """An app over ``store`` with fresh keys; flushes only when a test asks (or at shutdown)."""
    from fastapi.testclient import TestClient

    settings = settings or load_settings()
    keys = KeyStore.for_store(store)
    write_id, write = keys.create("write", "website")
    read_id, read = keys.create("read", "analyst")
    collector = Collector(store, settings, flush_interval=flush_interval, fsync=False)
    app = create_app(collector)
    with TestClient(app, raise_server_exceptions=bool(os.environ.get("JM_TEST_RAISE"))) as client:
        yield Served(client, collector, Path(store), keys, write, read, write_id, read_id, {"app": app})
