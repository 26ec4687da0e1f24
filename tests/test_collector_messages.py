"""Segment HTTP Tracking API bodies: validation, errors naming the field, canonical rows."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeymap.collector.messages import FieldError, Limits, error_body, message_id, parse_body, response_status
from journeymap.config import Settings, settings_from_toml
from journeymap.ingest.segment import flatten_message

NOW = datetime(2024, 5, 1, 10, 0, 2, tzinfo=timezone.utc)


def _body(obj) -> bytes:
    return json.dumps(obj).encode()


def _parse(obj_or_bytes, endpoint="/v1/track", limits=None):
    raw = obj_or_bytes if isinstance(obj_or_bytes, bytes) else _body(obj_or_bytes)
    return parse_body(raw, endpoint=endpoint, limits=limits, now=NOW)


TRACK = {"event": "Order Completed", "userId": "u1", "messageId": "m1"}


# -- bad input: each case -> its status and the field it names ---------------------------------
BAD = [
    ("invalid utf-8", b'{"event": "\xff\xfe", "userId": "u"}', "/v1/track", 400, "body", "UTF-8"),
    ("malformed json", b'{"event": "a", ', "/v1/track", 400, "body", "malformed JSON"),
    ("empty body", b"", "/v1/track", 400, "body", "empty"),
    ("NaN is not JSON", b'{"event": "a", "userId": "u", "properties": {"x": NaN}}', "/v1/track", 400, "body", "NaN"),
    ("not an object", b"[1, 2]", "/v1/track", 400, "body", "JSON object"),
    ("missing event", {"userId": "u"}, "/v1/track", 400, "event", "event is required"),
    ("blank event", {"event": "  ", "userId": "u"}, "/v1/track", 400, "event", "event is required"),
    ("event not a string", {"event": 5, "userId": "u"}, "/v1/track", 400, "event", "must be a string"),
    ("missing ids", {"event": "a"}, "/v1/track", 400, "userId", "userId or anonymousId"),
    ("page without id", {"name": "Home"}, "/v1/page", 400, "userId", "userId or anonymousId"),
    ("screen without id", {"name": "Home"}, "/v1/screen", 400, "userId", "userId or anonymousId"),
    ("identify without id", {"traits": {"plan": "pro"}}, "/v1/identify", 400, "userId", "userId or anonymousId"),
    ("alias without previousId", {"userId": "u"}, "/v1/alias", 400, "previousId", "required for alias"),
    ("alias without userId", {"previousId": "a"}, "/v1/alias", 400, "userId", "required for alias"),
    ("userId an object", {"event": "a", "userId": {"id": 1}}, "/v1/track", 400, "userId", "must be a string"),
    ("anonymousId a boolean", {"event": "a", "anonymousId": True}, "/v1/track", 400, "anonymousId", "a boolean"),
    ("properties a list", {**TRACK, "properties": [1]}, "/v1/track", 400, "properties", "must be an object"),
    ("context a string", {**TRACK, "context": "web"}, "/v1/track", 400, "context", "must be an object"),
    ("traits a number", {"userId": "u", "traits": 3}, "/v1/identify", 400, "traits", "must be an object"),
    ("timestamp not ISO", {**TRACK, "timestamp": "yesterday"}, "/v1/track", 400, "timestamp", "ISO-8601"),
    ("timestamp a number", {**TRACK, "timestamp": 1714557600}, "/v1/track", 400, "timestamp", "ISO-8601"),
    ("sentAt not ISO", {**TRACK, "sentAt": "2024-13-01T00:00:00Z"}, "/v1/track", 400, "sentAt", "ISO-8601"),
    ("timestamp too old", {**TRACK, "timestamp": "1970-01-01T00:00:00Z"}, "/v1/track", 400, "timestamp", "plausible range"),
    ("timestamp far ahead", {**TRACK, "timestamp": "2024-05-03T10:00:00Z"}, "/v1/track", 400, "timestamp", "plausible range"),
    ("originalTimestamp too old", {**TRACK, "originalTimestamp": "1999-12-31T00:00:00Z"}, "/v1/track", 400,
     "originalTimestamp", "plausible range"),
    ("sentAt skews far", {**TRACK, "originalTimestamp": "2024-05-01T10:00:00Z", "sentAt": "1990-05-01T10:00:00Z"},
     "/v1/track", 400, "sentAt", "plausible range"),
    ("unknown field", {**TRACK, "userID": "u"}, "/v1/track", 400, "userID", "did you mean 'userId'"),
    ("unknown field, no close name", {**TRACK, "zzz": 1}, "/v1/track", 400, "zzz", "properties or traits"),
    ("type against the endpoint", {**TRACK, "type": "page"}, "/v1/track", 400, "type", "does not match"),
    ("empty messageId", {**TRACK, "messageId": " "}, "/v1/track", 400, "messageId", "empty"),
    ("lone surrogate", b'{"event": "\\ud800", "userId": "u"}', "/v1/track", 400, "body", "Unicode"),
    ("message too large", {**TRACK, "properties": {"blob": "x" * 40_000}}, "/v1/track", 413, "body",
     "collector.max_message_bytes"),
    ("batch too large", {"batch": [{**TRACK, "type": "track", "properties": {"b": "x" * 20_000}}] * 30}, "/v1/batch",
     413, "body", "collector.max_batch_bytes"),
    ("batch missing", {"sentAt": "2024-05-01T10:00:00Z"}, "/v1/batch", 400, "batch", "required"),
    ("batch not a list", {"batch": {"a": 1}}, "/v1/batch", 400, "batch", "must be a list"),
    ("batch unknown field", {"batch": [], "events": []}, "/v1/batch", 400, "events", "unknown field"),
    ("batch item without type", {"batch": [TRACK]}, "/v1/batch", 400, "batch[0].type", "type is required"),
    ("batch item bad type", {"batch": [{**TRACK, "type": "group"}]}, "/v1/batch", 400, "batch[0].type", "unsupported"),
    ("batch item not an object", {"batch": ["x"]}, "/v1/batch", 400, "batch[0]", "JSON object"),
    ("batch item too large", {"batch": [{**TRACK, "type": "track", "properties": {"b": "x" * 33_000}}]}, "/v1/batch",
     413, "batch[0]", "collector.max_message_bytes"),
    ("unknown endpoint", {**TRACK}, "/v1/group", 404, "endpoint", "unknown endpoint"),
]


@pytest.mark.parametrize("name, body, endpoint, status, field, text", BAD, ids=[case[0] for case in BAD])
def test_bad_input_gets_a_4xx_naming_the_field(name, body, endpoint, status, field, text):
    messages, errors = _parse(body, endpoint)
    assert messages == []
    assert errors and errors[0].field == field, errors
    assert text in errors[0].message, errors[0].message
    got = response_status(messages, errors, endpoint=endpoint)
    assert got == status
    shape = error_body(got, errors)
    assert shape == {"ok": False, "error": errors[0].message, "status": status,
                     "errors": [{"field": e.field, "message": e.message} for e in errors]}
    json.dumps(shape)  # serialisable as is


def test_rejected_input_keeps_the_raw_item_for_the_rejects():
    _, errors = _parse(b"{oops", "/v1/track")
    assert errors[0].raw == "{oops"
    _, errors = _parse({"batch": [{"type": "track", "userId": "u"}]}, "/v1/batch")
    assert errors[0].raw == {"type": "track", "userId": "u"} and errors[0].index == 0


def test_limits_come_from_the_settings():
    settings = settings_from_toml("[collector]\nmax_message_bytes = 2048\nmax_batch_bytes = 4096\n"
                                  "[ingest]\nmax_future_hours = 1\n")
    limits = Limits.from_settings(settings)
    assert (limits.max_message_bytes, limits.max_batch_bytes, limits.max_future_hours) == (2048, 4096, 1)
    assert Limits.from_settings(Settings()) == Limits()
    _, errors = _parse({**TRACK, "properties": {"b": "x" * 3000}}, limits=limits)
    assert errors[0].status == 413
    _, errors = _parse({**TRACK, "timestamp": "2024-05-01T12:00:00Z"}, limits=limits)
    assert errors[0].field == "timestamp"
    assert not _parse({**TRACK, "timestamp": "2024-05-01T12:00:00Z"})[1]  # within the default 24 hours


# -- good input: one message of each type -> the canonical row ---------------------------------
GOOD = [
    ("/v1/track", {"event": "Order Completed", "userId": "u1", "messageId": "m-track",
                   "originalTimestamp": "2024-05-01T09:00:00Z", "sentAt": "2024-05-01T09:00:10Z",
                   "properties": {"revenue": 42.5, "currency": "EUR"},
                   "context": {"campaign": {"source": "google", "medium": "cpc", "name": "spring"}}},
     {"event": "Order Completed", "user_id": "u1", "event_id": "m-track", "revenue": 42.5,
      "utm_campaign": "spring", "timestamp": "2024-05-01T09:59:52+00:00"}),
    ("/v1/page", {"anonymousId": "a1", "name": "Pricing", "messageId": "m-page",
                  "originalTimestamp": "2024-05-01T10:00:00Z", "sentAt": "2024-05-01T10:00:00Z",
                  "context": {"page": {"url": "https://shop.example/pricing", "referrer": "https://google.com/"}}},
     {"event": "page_view", "anonymous_id": "a1", "url": "https://shop.example/pricing",
      "timestamp": "2024-05-01T10:00:02+00:00"}),
    ("/v1/screen", {"userId": 123, "name": "Home", "messageId": "m-screen", "timestamp": "2024-05-01T08:00:00Z"},
     {"event": "screen_view", "user_id": "123", "timestamp": "2024-05-01T08:00:00Z"}),
    ("/v1/identify", {"userId": "u1", "anonymousId": "a1", "traits": {"email": "Ann@Example.com", "plan": "pro"},
                      "messageId": "m-identify"},
     {"event": "identify", "user_id": "u1", "anonymous_id": "a1", "email": "Ann@Example.com",
      "timestamp": "2024-05-01T10:00:02+00:00"}),
    ("/v1/alias", {"previousId": "a1", "userId": "u1", "messageId": "m-alias",
                   "originalTimestamp": "2024-05-01T10:00:00+02:00", "sentAt": "2024-05-01T10:00:01+02:00"},
     {"event": "alias", "previous_id": "a1", "user_id": "u1", "timestamp": "2024-05-01T10:00:01+00:00"}),
]


@pytest.mark.parametrize("endpoint, message, expected", GOOD, ids=[case[0] for case in GOOD])
def test_a_good_message_of_each_type_becomes_its_canonical_row(endpoint, message, expected):
    messages, errors = _parse(message, endpoint)
    assert errors == [] and response_status(messages, errors, endpoint=endpoint) == 200
    [accepted] = messages
    assert accepted["type"] == endpoint.rsplit("/", 1)[1]
    assert accepted["receivedAt"] == NOW.isoformat()
    row = flatten_message(accepted)
    for key, value in expected.items():
        assert row[key] == value, (key, row[key])


def test_sdk_extras_are_accepted_and_secrets_dropped():
    body = {**TRACK, "type": "track", "writeKey": "jmw_secret", "_metadata": {"nodeVersion": "20"},
            "receivedAt": "1999-01-01T00:00:00Z", "context": {"library": {"name": "analytics-node"}}}
    [message], errors = _parse(body)
    assert errors == []
    assert "writeKey" not in message and "_metadata" not in message
    assert message["receivedAt"] == NOW.isoformat()  # the server's clock, not the client's
    assert "jmw_secret" not in json.dumps(flatten_message(message))


def test_missing_message_id_is_a_content_hash_stable_across_retries():
    first = {"event": "Clicked", "anonymousId": "a1", "originalTimestamp": "2024-05-01T09:59:00Z",
             "sentAt": "2024-05-01T10:00:00Z"}
    retry = {**first, "sentAt": "2024-05-01T10:00:30Z"}  # the library re-sends later
    [a], _ = _parse(first)
    [b], _ = parse_body(_body(retry), endpoint="/v1/track", now=datetime(2024, 5, 1, 10, 0, 31, tzinfo=timezone.utc))
    assert a["messageId"] == b["messageId"] and a["messageId"].startswith("jm-")
    [c], _ = _parse({**first, "event": "Clicked twice"})
    assert c["messageId"] != a["messageId"]
    [d], _ = _parse({**first, "messageId": "given"})
    assert d["messageId"] == "given"
    assert message_id({"a": 1, "b": 2}) == message_id({"b": 2, "a": 1})


def test_a_batch_keeps_the_good_items_and_names_the_bad_ones():
    body = {
        "sentAt": "2024-05-01T10:00:05Z",
        "context": {"library": {"name": "analytics-python"}, "campaign": {"source": "news"}},
        "batch": [
            {"type": "track", "event": "Signed Up", "userId": "u1", "originalTimestamp": "2024-05-01T10:00:00Z"},
            {"type": "track", "userId": "u2"},  # no event
            {"type": "identify", "anonymousId": "a9", "traits": {"plan": "pro"},
             "context": {"campaign": {"source": "own"}}},
            {"type": "page", "name": "Home", "anonymousId": "a9", "timestamp": "1960-01-01T00:00:00Z"},
            {"type": "alias", "previousId": "a9", "userId": "u9", "sentAt": "2024-05-01T10:00:02Z",
             "originalTimestamp": "2024-05-01T10:00:00Z"},
        ],
    }
    messages, errors = _parse(body, "/v1/batch")
    assert [m["type"] for m in messages] == ["track", "identify", "alias"]
    assert [(e.field, e.index) for e in errors] == [("batch[1].event", 1), ("batch[3].timestamp", 3)]
    assert response_status(messages, errors, endpoint="/v1/batch") == 200
    rows = [flatten_message(m) for m in messages]
    # the batch's sentAt corrects items without their own; an item's own sentAt wins
    assert rows[0]["timestamp"] == "2024-05-01T09:59:57+00:00"
    assert rows[2]["timestamp"] == "2024-05-01T10:00:00+00:00"
    # batch-level context applies, the item's own keys win
    assert rows[0]["utm_source"] == "news" and rows[1]["utm_source"] == "own"
    assert messages[0]["context"]["library"]["name"] == "analytics-python"

    only_bad, bad_errors = _parse({"batch": [{"type": "track", "userId": "u"}]}, "/v1/batch")
    assert only_bad == [] and response_status(only_bad, bad_errors, endpoint="/v1/batch") == 400
    empty, none = _parse({"batch": []}, "/v1/batch")
    assert (empty, none, response_status(empty, none, endpoint="/v1/batch")) == ([], [], 200)


def test_endpoint_spellings_and_error_body_without_errors():
    for endpoint in ("/v1/track", "v1/track", "track", "/v1/track/", "/V1/TRACK?x=1"):
        assert _parse(TRACK, endpoint)[0], endpoint
    assert error_body(401, []) == {"ok": False, "error": "Unauthorized", "errors": [], "status": 401}
    assert FieldError("a", "b").to_dict() == {"field": "a", "message": "b"}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=400), endpoint=st.sampled_from(["/v1/track", "/v1/batch", "/v1/identify", "/v1/nope"]))
def test_parse_body_never_raises_on_arbitrary_bytes(raw, endpoint):
    messages, errors = parse_body(raw, endpoint=endpoint, now=NOW)
    assert isinstance(messages, list) and isinstance(errors, list)
    assert messages or errors or endpoint == "/v1/batch"
    assert 400 <= response_status(messages, errors, endpoint=endpoint) < 500 or not errors


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
_fields = st.sampled_from(["type", "event", "userId", "anonymousId", "previousId", "timestamp", "sentAt",
                           "originalTimestamp", "properties", "context", "traits", "messageId", "name", "odd"])


@settings(max_examples=300, deadline=None)
@given(message=st.dictionaries(_fields, _json, max_size=8),
       endpoint=st.sampled_from(["/v1/track", "/v1/page", "/v1/alias", "/v1/batch"]))
def test_parse_body_never_raises_on_arbitrary_json(message, endpoint):
    body = {"batch": [message, message]} if endpoint == "/v1/batch" else message
    messages, errors = parse_body(_body(body), endpoint=endpoint, now=NOW)
    status = response_status(messages, errors, endpoint=endpoint)
    assert status == 200 or 400 <= status < 500
    for accepted in messages:
        flatten_message(accepted)  # every accepted message flattens
        assert accepted["messageId"] and accepted["receivedAt"]
