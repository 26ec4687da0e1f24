"""Collector access keys: create, verify, revoke, the key file, HTTP credentials and the CLI."""

from __future__ import annotations

import base64
import hmac
import json
import stat

import pytest

from journeymap.collector import keys as keys_module
from journeymap.collector.keys import KeyStore, basic_auth_key, bearer_token, hash_secret, keys_path_for_store
from journeymap.errors import ConfigError, InputError

from .test_cli import run


@pytest.fixture
def store(tmp_path):
    return KeyStore.for_store(tmp_path / "journeymap.duckdb")


def _basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def test_the_key_file_sits_beside_the_store(tmp_path):
    assert keys_path_for_store(tmp_path / "shop.duckdb") == tmp_path / "shop.keys.json"
    with pytest.raises(ConfigError):
        keys_path_for_store(":memory:")


def test_create_verify_revoke(store):
    write_id, write_secret = store.create("write", "website", note="main site")
    read_id, read_secret = store.create("read", "analyst")
    assert write_secret.startswith("jmw_") and read_secret.startswith("jmr_")
    assert len(write_secret) >= 4 + 43 and write_id != read_id

    record = store.verify(write_secret, "write")
    assert (record.key_id, record.kind, record.source, record.note) == (write_id, "write", "website", "main site")
    assert store.verify(read_secret, "read").key_id == read_id

    # kinds do not mix: a write key is no read token and the other way round
    assert store.verify(write_secret, "read") is None
    assert store.verify(read_secret, "write") is None
    # wrong, empty, missing or near-miss secrets fail
    for bad in ("", None, "jmw_nope", write_secret[:-1], write_secret + "x", write_secret.upper()):
        assert store.verify(bad, "write") is None, bad

    revoked = store.revoke(write_id)
    assert revoked.revoked and revoked.revoked_at
    assert store.verify(write_secret, "write") is None
    assert store.verify(read_secret, "read") is not None  # the other key lives on
    with pytest.raises(InputError, match="already revoked"):
        store.revoke(write_id)
    with pytest.raises(InputError, match="no key with id"):
        store.revoke("key_missing")


def test_bad_kind_or_source_is_an_input_error(store):
    with pytest.raises(InputError, match="kind"):
        store.create("admin", "x")
    with pytest.raises(InputError, match="source"):
        store.create("write", "  ")
    with pytest.raises(InputError, match="kind"):
        store.verify("x", "admin")


def test_the_file_keeps_only_hashes_and_is_private(store):
    key_id, secret = store.create("write", "app")
    text = store.path.read_text()
    assert secret not in text and secret[4:] not in text
    data = json.loads(text)
    assert data["keys"][0]["secret_sha256"] == hash_secret(secret)
    assert data["keys"][0]["key_id"] == key_id
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert not [p for p in store.path.parent.iterdir() if p.name.endswith(".tmp")]  # no temp file left
    store.revoke(key_id)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert all("secret" not in row for row in store.list())


def test_a_second_instance_sees_new_and_revoked_keys(store):
    server_view = KeyStore(store.path)
    assert server_view.verify("jmw_x", "write") is None  # no file yet
    key_id, secret = store.create("write", "crm")
    assert server_view.verify(secret, "write").key_id == key_id
    store.revoke(key_id)
    assert server_view.verify(secret, "write") is None


def test_a_damaged_key_file_is_a_config_error(store):
    store.path.write_text("{not json")
    with pytest.raises(ConfigError, match="damaged"):
        store.verify("jmw_x", "write")


def test_verify_compares_every_hash_in_constant_time(store, monkeypatch):
    secrets_ = [store.create("write", f"s{i}")[1] for i in range(4)]
    calls = []
    original = hmac.compare_digest

    def counting(a, b):
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(keys_module.hmac, "compare_digest", counting)
    # the first key matches: the loop still compares all four (no early exit)
    assert store.verify(secrets_[0], "write") is not None
    assert len(calls) == 4
    calls.clear()
    assert store.verify("jmw_wrong", "write") is None
    assert len(calls) == 4
    calls.clear()
    assert store.verify(secrets_[1], "read") is None  # the wrong kind is checked after the loop
    assert len(calls) == 4
    # what is compared are the hashes, never the secret itself
    assert all(secrets_[1].encode() not in (a, b) for a, b in calls)


@pytest.mark.parametrize("header, expected", [
    (_basic("jmw_key:"), "jmw_key"),
    (_basic("jmw_key:ignored-password"), "jmw_key"),
    ("basic " + base64.b64encode(b"jmw_key:").decode(), "jmw_key"),  # the scheme is case-insensitive
    ("Bearer jmw_key", None),  # wrong scheme
    ("Digest " + base64.b64encode(b"jmw_key:").decode(), None),
    ("Basic !!!not-base64", None),  # bad base64
    ("Basic " + base64.b64encode(b"jmw_key").decode(), None),  # no colon
    (_basic(":password"), None),  # empty user name
    ("Basic ", None),
    ("Basic " + base64.b64encode(b"\xff\xfe:").decode(), None),  # not UTF-8
    ("", None),
    (None, None),
])
def test_segment_basic_auth(header, expected):
    assert basic_auth_key(header) == expected


@pytest.mark.parametrize("header, expected", [
    ("Bearer jmr_tok", "jmr_tok"),
    ("bearer  jmr_tok ", "jmr_tok"),
    ("Basic jmr_tok", None),
    ("Bearer", None),
    ("Bearer a b", None),
    (None, None),
])
def test_bearer_tokens(header, expected):
    assert bearer_token(header) == expected


def test_basic_auth_round_trip_with_verify(store):
    _key_id, secret = store.create("write", "website")
    assert store.verify(basic_auth_key(_basic(f"{secret}:")), "write") is not None
    assert store.verify(basic_auth_key(_basic("jmw_other:")), "write") is None


def test_cli_create_list_revoke(tmp_path):
    created = run("--db", "s.duckdb", "keys", "create", "--write", "--source", "website", "-f", "json", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    assert key["secret"].startswith("jmw_") and key["kind"] == "write" and key["source"] == "website"
    assert KeyStore(tmp_path / "s.keys.json").verify(key["secret"], "write").key_id == key["key_id"]

    table = run("--db", "s.duckdb", "keys", "create", "--read", "--source", "analyst", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "secret: jmr_" in table.stdout and "not stored" in table.stderr

    listed = run("--db", "s.duckdb", "keys", "list", "-f", "json", cwd=tmp_path)
    rows = json.loads(listed.stdout)
    assert [(r["kind"], r["source"], r["revoked_at"]) for r in rows] == [("write", "website", None), ("read", "analyst", None)]
    assert key["secret"] not in listed.stdout and "secret" not in listed.stdout

    csv_out = run("--db", "s.duckdb", "keys", "list", "-f", "csv", cwd=tmp_path)
    assert csv_out.stdout.splitlines()[0] == "key_id,kind,source,note,created_at,revoked_at"

    revoked = run("--db", "s.duckdb", "keys", "revoke", key["key_id"], cwd=tmp_path)
    assert revoked.returncode == 0 and f"revoked {key['key_id']}" in revoked.stdout
    rows = json.loads(run("--db", "s.duckdb", "keys", "list", "-f", "json", cwd=tmp_path).stdout)
    assert rows[0]["revoked_at"] and rows[1]["revoked_at"] is None
    assert KeyStore(tmp_path / "s.keys.json").verify(key["secret"], "write") is None


def test_cli_mistakes_print_error_and_exit_1(tmp_path):
    for args in (("keys", "create", "--source", "x"),
                 ("keys", "create", "--write", "--read", "--source", "x"),
                 ("keys", "create", "--write", "--source", " "),
                 ("keys", "revoke", "key_nope")):
        result = run("--db", "s.duckdb", *args, cwd=tmp_path)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr
