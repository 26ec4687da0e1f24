"""Every text parameter of the JSON API, fed SQL-looking strings: a clean 200 or 4xx in the one
error shape, never a 500, and the store unchanged (values are typed literals, never SQL)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

import journeymap
from journeymap.collector.server import create_app
from journeymap.collector.service import Collector
from journeymap.config import settings_from_toml

from .collector_helpers import make_demo_store

pytestmark = pytest.mark.timeout(300)

NASTY = [
    "x' OR '1'='1",
    "'; DROP TABLE events; --",
    '" OR 1=1 --',
    "order_completed') UNION SELECT * FROM identity_map --",
    "$.a') , (SELECT 1",
    "\\'; SELECT 1; --",
    "%' --",
    "page_view[path=/'); DROP TABLE events; --]",
    "stage:decision' --",
    "property.x') --",
]

PARAMETERS = [
    ("/api/stages", "preset"), ("/api/stages", "stage"),
    ("/api/stage-funnel", "by"), ("/api/stage-funnel", "segment"), ("/api/stage-funnel", "preset"),
    ("/api/funnels?steps=page_view,order_completed", "by"), ("/api/funnels?steps=page_view,order_completed", "segment"),
    ("/api/funnels?steps=page_view,order_completed", "window"), ("/api/funnels", "steps"),
    ("/api/paths", "start"), ("/api/paths", "end"), ("/api/paths", "node"), ("/api/paths", "segment"),
    ("/api/attribution", "model"), ("/api/attribution", "level"), ("/api/attribution", "conversion"),
    ("/api/attribution", "lookback"), ("/api/attribution", "segment"),
]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    store = make_demo_store(tmp_path_factory.mktemp("inj"), customers=150, seed=9)
    with journeymap.open(store, read_only=True) as jm:
        before = jm.events().count().execute(), jm.identity_map().count().execute()
    collector = Collector(store, settings_from_toml("[collector]\nflush_interval = '1h'\n"))
    _, token = collector.keys.create("read", "test")
    with TestClient(create_app(collector)) as client:
        yield client, {"Authorization": f"Bearer {token}"}, store, before


@pytest.mark.parametrize("route,name", PARAMETERS, ids=[f"{r.split('?')[0]}:{n}" for r, n in PARAMETERS])
def test_sql_looking_values_are_only_values(api, route, name):
    client, auth, _, _ = api
    for value in NASTY:
        answer = client.get(route, params={name: value}, headers=auth)
        assert answer.status_code in (200, 400), (value, answer.status_code, answer.text)
        body = answer.json()
        if answer.status_code == 400:
            assert body["ok"] is False and body["status"] == 400 and body["errors"], body
            assert isinstance(body["error"], str) and body["error"]


def test_the_timeline_of_an_injection_is_no_customer(api):
    client, auth, _, _ = api
    for value in NASTY:
        answer = client.get(f"/api/customers/{value.replace('/', '%2F')}/timeline", headers=auth)
        assert answer.status_code in (400, 404), (value, answer.text)
        assert answer.json()["ok"] is False


def test_the_store_is_unchanged(api):
    client, auth, store, before = api
    for route, name in PARAMETERS:
        for value in NASTY[:2]:
            client.get(route, params={name: value}, headers=auth)
    with journeymap.open(store, read_only=True) as jm:
        assert (jm.events().count().execute(), jm.identity_map().count().execute()) == before
