"""Who may do what on `journeymap serve`: write keys collect, read tokens query, nothing else does;
a key revoked (by the KeyStore or the CLI) while the server runs fails from the next request on."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest

from journeymap.collector.keys import KeyStore

from .collector_helpers import assert_error_shape, basic, bearer, empty_store, serving

pytestmark = [pytest.mark.timeout(120)]

EVENT = {"anonymousId": "auth-visitor", "event": "Auth Test"}
API_PATHS = ["/api/info", "/api/stages", "/api/stage-funnel", "/api/funnels?steps=page_view",
             "/api/paths", "/api/attribution", "/api/customers/someone/timeline", "/openapi.json"]
COLLECT_PATHS = ["/v1/track", "/v1/page", "/v1/screen", "/v1/identify", "/v1/alias", "/v1/batch"]


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    with serving(empty_store(tmp_path_factory.mktemp("auth"))) as served:
        yield served


def _collect_401(response):
    error = assert_error_shape(response, 401, "writeKey")
    assert response.headers["www-authenticate"].startswith("Basic")
    return error


def _api_401(response):
    error = assert_error_shape(response, 401, "authorization")
    assert response.headers["www-authenticate"].startswith("Bearer")
    return error


@pytest.mark.parametrize("path", COLLECT_PATHS)
def test_collection_without_a_key_is_401(srv, path):
    _collect_401(srv.client.post(path, json=EVENT))


@pytest.mark.parametrize("headers", [
    basic("jmw_" + "A" * 43),                                              # a made-up write key
    {"Authorization": "Basic !!!not-base64!!!"},                           # garbage
    {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},  # no user:password
    {"Authorization": "Basic " + base64.b64encode(b":").decode()},         # empty user
    {"Authorization": "Basic"},
    {"Authorization": "Digest abc"},
], ids=["unknown", "not-base64", "no-colon", "empty-user", "no-credentials", "other-scheme"])
def test_collection_with_a_wrong_key_is_401(srv, headers):
    _collect_401(srv.client.post("/v1/track", json=EVENT, headers=headers))


def test_collection_with_a_read_token_is_401(srv):
    _collect_401(srv.client.post("/v1/track", json=EVENT, headers=basic(srv.read)))
    _collect_401(srv.client.post("/v1/track", json=EVENT, headers=bearer(srv.read)))
    _collect_401(srv.client.post("/v1/track", json={**EVENT, "writeKey": srv.read}))
    # and a write key as a Bearer token is not how collection takes it either
    _collect_401(srv.client.post("/v1/track", json=EVENT, headers=bearer(srv.write)))


def test_collection_with_the_write_key_in_basic_auth_or_in_the_body(srv):
    assert srv.client.post("/v1/track", json=EVENT, headers=srv.w).status_code == 200
    assert srv.client.post("/v1/track", json={**EVENT, "writeKey": srv.write}).status_code == 200
    batch = {"writeKey": srv.write, "batch": [{"type": "track", **EVENT}]}
    assert srv.client.post("/v1/batch", json=batch).status_code == 200
    # a body key that is not a string does not authenticate (and does not crash)
    _collect_401(srv.client.post("/v1/track", json={**EVENT, "writeKey": {"key": srv.write}}))


def test_auth_is_checked_before_the_body_is_judged(srv):
    """Without a key, a bad body still gets 401: nothing about the body leaks to strangers."""
    _collect_401(srv.client.post("/v1/track", content=b"{not json", headers={"Content-Type": "application/json"}))
    _collect_401(srv.client.post("/v1/track", json={"userID": "x"}))


@pytest.mark.parametrize("path", API_PATHS)
def test_api_without_a_token_is_401(srv, path):
    _api_401(srv.client.get(path))


@pytest.mark.parametrize("path", API_PATHS)
def test_api_with_a_write_key_is_401(srv, path):
    _api_401(srv.client.get(path, headers=bearer(srv.write)))
    _api_401(srv.client.get(path, headers=basic(srv.write)))


@pytest.mark.parametrize("headers", [
    bearer("jmr_" + "B" * 43), {"Authorization": "Bearer"}, {"Authorization": "Bearer  "},
    {"Authorization": "Token abc"},
], ids=["unknown", "empty", "blank", "other-scheme"])
def test_api_with_a_wrong_token_is_401(srv, headers):
    _api_401(srv.client.get("/api/info", headers=headers))


def test_api_read_token_as_basic_auth_is_401(srv):
    _api_401(srv.client.get("/api/info", headers=basic(srv.read)))


def test_api_with_the_read_token(srv):
    response = srv.client.get("/api/info", headers=srv.r)
    assert response.status_code == 200 and response.json()["ok"] is True


def test_openapi_document_requires_the_read_token(srv):
    _api_401(srv.client.get("/openapi.json"))
    _api_401(srv.client.get("/openapi.json", headers=basic(srv.write)))
    response = srv.client.get("/openapi.json", headers=srv.r)
    assert response.status_code == 200
    document = response.json()
    assert "/v1/track" in document["paths"] and "/api/funnels" in document["paths"]
    assert "/openapi.json" not in document["paths"]
    # FastAPI's own docs pages are off
    for path in ("/docs", "/redoc"):
        assert_error_shape(srv.client.get(path), 404)


def test_health_is_open(srv):
    response = srv.client.get("/health")
    assert response.status_code == 200 and response.json()["ok"] is True
    assert srv.write not in response.text and srv.read not in response.text


def test_a_key_created_while_serving_works_at_once(srv):
    keys = KeyStore.for_store(srv.store)  # another KeyStore: as `journeymap keys create` in another process
    _, write = keys.create("write", "late-app")
    _, read = keys.create("read", "late-analyst")
    assert srv.client.post("/v1/track", json=EVENT, headers=basic(write)).status_code == 200
    assert srv.client.get("/api/info", headers=bearer(read)).status_code == 200


def test_a_key_revoked_while_serving_fails_on_the_next_request(srv):
    keys = KeyStore.for_store(srv.store)
    write_id, write = keys.create("write", "to-revoke")
    read_id, read = keys.create("read", "to-revoke")
    assert srv.client.post("/v1/track", json=EVENT, headers=basic(write)).status_code == 200
    assert srv.client.get("/api/info", headers=bearer(read)).status_code == 200
    KeyStore.for_store(srv.store).revoke(write_id)
    KeyStore.for_store(srv.store).revoke(read_id)
    _collect_401(srv.client.post("/v1/track", json=EVENT, headers=basic(write)))
    _collect_401(srv.client.post("/v1/track", json={**EVENT, "writeKey": write}))
    _api_401(srv.client.get("/api/info", headers=bearer(read)))
    # the other keys still work
    assert srv.client.post("/v1/track", json=EVENT, headers=srv.w).status_code == 200
    assert srv.client.get("/api/info", headers=srv.r).status_code == 200


def _cli(*args: str, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "journeymap.cli", *args], capture_output=True, text=True,
                          timeout=60, env=env, cwd=cwd)


@pytest.mark.slow
def test_keys_cli_create_and_revoke_while_serving(srv):
    created = _cli("--db", str(srv.store), "keys", "create", "--read", "--source", "cli-analyst", "--format", "json",
                   cwd=srv.store.parent)
    assert created.returncode == 0, created.stderr
    import json

    row = json.loads(created.stdout)
    assert row["kind"] == "read" and row["secret"].startswith("jmr_")
    assert srv.client.get("/api/info", headers=bearer(row["secret"])).status_code == 200
    revoked = _cli("--db", str(srv.store), "keys", "revoke", row["key_id"], cwd=srv.store.parent)
    assert revoked.returncode == 0, revoked.stderr
    _api_401(srv.client.get("/api/info", headers=bearer(row["secret"])))
    listed = _cli("--db", str(srv.store), "keys", "list", "--format", "json", cwd=srv.store.parent)
    assert listed.returncode == 0 and row["secret"] not in listed.stdout
