"""Contract tests of `journeymap serve` in-process (issue 6): every collection endpoint stores what it
accepts with the canonical columns, identity stitching and dedup; bad input gets a 4xx naming the field
(never a 500) and lands in the store's rejects; CORS; the JSON API on a small demo store."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

import journeymap
from journeymap.config import Settings

from .collector_helpers import ERROR_KEYS, assert_error_shape, empty_store, make_demo_store, serving

pytestmark = [pytest.mark.timeout(180)]

RUN = uuid.uuid4().hex[:8]
OK = {"ok": True, "success": True}


def _id(name: str) -> str:
    return f"{name}-{RUN}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    with serving(empty_store(tmp_path_factory.mktemp("collector"))) as served:
        yield served


# --- every endpoint accepts a valid message; the events land with their canonical columns ---------

PAID_URL = "https://shop.example/pricing?utm_source=google&utm_medium=cpc&utm_campaign=brand"

# (endpoint, body, the stored row's expected columns); ids are made unique per run by _id()
VALID = [
    ("page", {"anonymousId": _id("anon-page"), "messageId": _id("m-page"), "name": "Pricing",
              "context": {"page": {"url": PAID_URL, "title": "Pricing - Shop"}}},
     {"type": "page", "event": "page_view", "anonymous_id": _id("anon-page"), "user_id": None,
      "url": PAID_URL, "page_title": "Pricing - Shop", "channel": "paid_search", "utm_source": "google",
      "utm_medium": "cpc", "utm_campaign": "brand"}),
    ("screen", {"userId": _id("u-screen"), "messageId": _id("m-screen"), "name": "Home Screen"},
     {"type": "screen", "event": "screen_view", "user_id": _id("u-screen"), "anonymous_id": None}),
    ("track", {"userId": _id("u-track"), "messageId": _id("m-track"), "event": "Order Completed",
               "properties": {"revenue": 42.5, "currency": "EUR"}},
     {"type": "track", "event": "Order Completed", "user_id": _id("u-track"), "revenue": 42.5, "currency": "EUR"}),
    ("identify", {"userId": _id("u-ident"), "messageId": _id("m-ident"), "traits": {"plan": "pro"}},
     {"type": "identify", "event": "identify", "user_id": _id("u-ident")}),
    ("alias", {"previousId": _id("old-alias"), "userId": _id("u-alias"), "messageId": _id("m-alias")},
     {"type": "alias", "previous_id": _id("old-alias"), "user_id": _id("u-alias")}),
    ("batch", {"batch": [{"type": "track", "userId": _id("u-batch"), "event": "Signed Up", "messageId": _id("m-batch")}],
               "context": {"library": {"name": "test"}}},
     {"type": "track", "event": "Signed Up", "user_id": _id("u-batch")}),
]


@pytest.fixture(scope="module")
def landed(srv):
    """Send everything the acceptance tests check, flush once, and return (responses, events)."""
    now = datetime.now(timezone.utc)
    responses: dict[str, object] = {}

    def post(label, endpoint, body, **kwargs):
        kwargs.setdefault("headers", srv.w)
        response = srv.client.post(f"/v1/{endpoint}", json=body, **kwargs) if "content" not in kwargs else \
            srv.client.post(f"/v1/{endpoint}", **kwargs)
        responses[label] = response
        return response

    for endpoint, body, _ in VALID:
        post(endpoint, endpoint, body)

    # identity stitching: two anonymous page views, then identify joins them to the user
    visitor, user = _id("anon-visitor"), _id("user-stitched")
    for n in (1, 2):
        post(f"anon-view-{n}", "page", {"anonymousId": visitor, "timestamp": _iso(now - timedelta(minutes=10 - n)),
                                         "context": {"page": {"url": f"https://shop.example/p{n}"}}})
    post("stitch-identify", "identify", {"anonymousId": visitor, "userId": user, "traits": {"email": f"{RUN}@x.example"}})
    post("stitch-track", "track", {"userId": user, "event": "Signed Up"})
    # alias: events of the old id join the new user's customer
    old, new = _id("legacy-user"), _id("new-user")
    post("alias-before", "track", {"userId": old, "event": "Cart Viewed",
                                   "timestamp": _iso(now - timedelta(minutes=5))})
    post("alias-call", "alias", {"previousId": old, "userId": new})
    post("alias-after", "track", {"userId": new, "event": "Checkout Started"})

    # idempotency: a retried message (same messageId), a batch repeating one, and a message without id sent twice
    dup = {"userId": _id("u-dup"), "event": "Retried", "messageId": _id("dup-1")}
    post("dup-1a", "track", dup)
    post("dup-1b", "track", dup)
    item = {"type": "track", "userId": _id("u-dup"), "event": "Batched", "messageId": _id("dup-2")}
    post("dup-2", "batch", {"batch": [item, dict(item)]})
    post("dup-2-again", "batch", {"batch": [item]})
    noid = {"userId": _id("u-dup"), "event": "No Id", "timestamp": "2024-05-01T10:00:00Z"}
    post("dup-3a", "track", noid)
    post("dup-3b", "track", {**noid, "sentAt": _iso(now)})  # a retry: only sentAt differs

    # sentAt correction: a device clock 3 days fast; the event happened 5 s before it was sent
    device_now = now + timedelta(days=3)
    post("skew", "track", {"userId": _id("u-skew"), "event": "Skewed", "messageId": _id("m-skew"),
                           "originalTimestamp": _iso(device_now - timedelta(seconds=5)), "sentAt": _iso(device_now)})
    post("skew-batch", "batch", {"sentAt": _iso(device_now), "batch": [
        {"type": "track", "userId": _id("u-skew"), "event": "Skewed In Batch", "messageId": _id("m-skew-b"),
         "originalTimestamp": _iso(device_now - timedelta(seconds=30))}]})
    post("skew-ts", "track", {"userId": _id("u-skew"), "event": "Skewed Timestamp", "messageId": _id("m-skew-ts"),
                              "timestamp": _iso(device_now - timedelta(seconds=7)), "sentAt": _iso(device_now)})
    # a historical event sent now by a device with a right clock: corrected by ~0, so it keeps its time
    post("backfill", "track", {"userId": _id("u-skew"), "event": "Backfill", "messageId": _id("m-backfill"),
                               "timestamp": "2024-05-01T10:00:00Z", "sentAt": _iso(now)})
    # without sentAt a timestamp is taken as is (an import)
    post("explicit-ts", "track", {"userId": _id("u-skew"), "event": "Explicit", "messageId": _id("m-explicit"),
                                  "timestamp": "2024-05-01T10:00:00Z"})

    # text/plain (a CORS simple request, as sendBeacon sends) with the write key in the body
    beacon = {"anonymousId": _id("anon-beacon"), "event": "Beacon", "messageId": _id("m-beacon"),
              "writeKey": srv.write}
    post("text-plain", "track", None, content=json.dumps(beacon).encode(),
         headers={"Content-Type": "text/plain;charset=UTF-8"})
    # a batch with one good and one bad item: the good one is stored
    post("mixed", "batch", {"batch": [
        {"type": "track", "userId": _id("u-mixed"), "event": "Good", "messageId": _id("m-mixed")},
        {"type": "track", "userId": _id("u-mixed")}]})
    received_after = datetime.now(timezone.utc)

    srv.flush()
    events = srv.events()
    return responses, events, (now, received_after)


def _rows(events: pd.DataFrame, **where) -> pd.DataFrame:
    mask = pd.Series(True, index=events.index)
    for column, value in where.items():
        mask &= events[column] == value
    return events[mask]


def _value(value):
    return None if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA else value


@pytest.mark.parametrize("endpoint, body, expected", VALID, ids=[v[0] for v in VALID])
def test_each_endpoint_accepts_and_stores_canonical_columns(landed, endpoint, body, expected):
    responses, events, _ = landed
    assert responses[endpoint].status_code == 200, responses[endpoint].text
    assert responses[endpoint].json() == OK
    message_id = body["batch"][0]["messageId"] if endpoint == "batch" else body["messageId"]
    row = _rows(events, event_id=message_id)
    assert len(row) == 1, events[["event_id", "type", "event"]]
    row = row.iloc[0]
    for column, value in expected.items():
        assert _value(row[column]) == value, (column, row[column], value)
    assert _value(row["customer_id"]) is not None
    assert pd.notna(row["timestamp"])


def test_identify_joins_earlier_anonymous_page_views_to_the_user(landed):
    responses, events, _ = landed
    for label in ("anon-view-1", "anon-view-2", "stitch-identify", "stitch-track"):
        assert responses[label].status_code == 200, responses[label].text
    visitor, user = _id("anon-visitor"), _id("user-stitched")
    theirs = events[(events.anonymous_id == visitor) | (events.user_id == user)]
    assert len(theirs) == 4
    assert theirs.customer_id.nunique() == 1, theirs[["event", "anonymous_id", "user_id", "customer_id"]]
    views = theirs[theirs.type == "page"]
    assert len(views) == 2 and views.user_id.isna().all()  # stored as sent, joined by customer_id
    assert views.url.tolist() == ["https://shop.example/p1", "https://shop.example/p2"] or \
        sorted(views.url) == ["https://shop.example/p1", "https://shop.example/p2"]
    # the email is kept only as a hash
    identify = theirs[theirs.type == "identify"].iloc[0]
    assert _value(identify.email_hash) and f"{RUN}@x.example" not in str(identify.properties)


def test_alias_joins_the_previous_id_to_the_user(landed):
    _, events, _ = landed
    old, new = _id("legacy-user"), _id("new-user")
    theirs = events[events.user_id.isin([old, new]) | (events.previous_id == old)]
    assert set(theirs.event) == {"Cart Viewed", "alias", "Checkout Started"}
    assert theirs.customer_id.nunique() == 1, theirs[["event", "user_id", "previous_id", "customer_id"]]


def test_the_same_message_is_stored_once(landed):
    responses, events, _ = landed
    for label in ("dup-1a", "dup-1b", "dup-2", "dup-2-again", "dup-3a", "dup-3b"):
        assert responses[label].status_code == 200, (label, responses[label].text)
    assert len(_rows(events, event_id=_id("dup-1"))) == 1
    assert len(_rows(events, event_id=_id("dup-2"))) == 1
    no_id = _rows(events, user_id=_id("u-dup"), event="No Id")
    assert len(no_id) == 1 and no_id.iloc[0].event_id.startswith("jm-")


def test_sent_at_corrects_the_device_clock(landed):
    """messages.py: with ``sentAt``, event time = receivedAt - (sentAt - timestamp) (or originalTimestamp when
    there is no timestamp); a batch-level sentAt applies to its items; without sentAt the timestamp is kept."""
    responses, events, (before, after) = landed
    slack = timedelta(seconds=1)
    for label, message_id, lag in (("skew", "m-skew", 5), ("skew-batch", "m-skew-b", 30), ("skew-ts", "m-skew-ts", 7)):
        assert responses[label].status_code == 200, responses[label].text
        stored = _rows(events, event_id=_id(message_id)).iloc[0].timestamp.to_pydatetime()
        assert before - timedelta(seconds=lag) - slack <= stored <= after - timedelta(seconds=lag) + slack, \
            (label, stored, before, after)
    # the device's own value is kept (as originalTimestamp) in the properties
    skewed = json.loads(_rows(events, event_id=_id("m-skew-ts")).iloc[0].properties)
    assert skewed["originalTimestamp"].startswith(str((before + timedelta(days=3)).year))
    backfill = _rows(events, event_id=_id("m-backfill")).iloc[0].timestamp.to_pydatetime()
    assert abs(backfill - datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)) < timedelta(seconds=2) + (after - before)
    explicit = _rows(events, event_id=_id("m-explicit")).iloc[0].timestamp.to_pydatetime()
    assert explicit == datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)


def test_text_plain_body_with_the_write_key_in_it_is_accepted_and_the_key_not_stored(landed, srv):
    responses, events, _ = landed
    assert responses["text-plain"].status_code == 200, responses["text-plain"].text
    row = _rows(events, event_id=_id("m-beacon"))
    assert len(row) == 1 and row.iloc[0].event == "Beacon"
    assert srv.write not in row.iloc[0].to_json()


def test_a_batch_keeps_its_good_items_and_names_the_bad_ones(landed):
    responses, events, _ = landed
    response = responses["mixed"]
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["accepted"] == 1 and body["rejected"] == 1
    assert [e["field"] for e in body["errors"]] == ["batch[1].event"]
    assert len(_rows(events, event_id=_id("m-mixed"))) == 1


# --- bad input: a 4xx naming the field, never a 500 -----------------------------------------------

DEEP = b'{"userId":"u","event":"x","properties":' + b'{"a":' * 3000 + b"1" + b"}" * 3000 + b"}"

# (case id, endpoint, body: bytes as sent, or a JSON-able value, status, field, words in the message)
BAD = [
    ("malformed-json", "track", b'{"userId": "u", "event": ', 400, "body", "malformed JSON"),
    ("invalid-utf8", "track", b'{"userId": "u", "event": "caf\xe9 \xff"}', 400, "body", "UTF-8"),
    ("lone-surrogate", "track", b'{"userId": "u\\ud800", "event": "x"}', 400, "body", "Unicode"),
    ("lone-surrogate-batch", "batch", b'{"batch": [{"type": "track", "userId": "u", "event": "\\udfff"}]}', 400,
     "batch[0]", "Unicode"),
    ("nan", "track", b'{"userId": "u", "event": "x", "properties": {"v": NaN}}', 400, "body", "JSON"),
    ("too-deep", "track", DEEP, 400, "body", "nested too deeply"),
    ("empty-body", "track", b"", 400, "body", "empty"),
    ("blank-body", "page", b"  \n ", 400, "body", "empty"),
    ("json-array", "track", [{"userId": "u", "event": "x"}], 400, "body", "JSON object"),
    ("json-string", "identify", "hello", 400, "body", "JSON object"),
    ("batch-array", "batch", [{"type": "track", "userId": "u", "event": "x"}], 400, "body", "'batch' list"),
    ("user-id-object", "track", {"userId": {"id": 1}, "event": "x"}, 400, "userId", "must be a string"),
    ("user-id-bool", "identify", {"userId": True}, 400, "userId", "must be a string"),
    ("user-id-list", "page", {"anonymousId": ["a"]}, 400, "anonymousId", "must be a string"),
    ("user-id-too-long", "track", {"userId": "u" * 2000, "event": "x"}, 400, "userId", "longer than"),
    ("event-number", "track", {"userId": "u", "event": 7}, 400, "event", "must be a string"),
    ("properties-list", "track", {"userId": "u", "event": "x", "properties": [1]}, 400, "properties", "object"),
    ("context-string", "page", {"anonymousId": "a", "context": "web"}, 400, "context", "object"),
    ("message-id-empty", "track", {"userId": "u", "event": "x", "messageId": " "}, 400, "messageId", "empty"),
    ("no-ids-track", "track", {"event": "x"}, 400, "userId", "userId or anonymousId is required"),
    ("no-ids-page", "page", {"name": "Home"}, 400, "userId", "userId or anonymousId is required"),
    ("no-ids-identify", "identify", {"traits": {"plan": "pro"}}, 400, "userId", "required"),
    ("track-without-event", "track", {"userId": "u"}, 400, "event", "event is required"),
    ("track-empty-event", "track", {"userId": "u", "event": "  "}, 400, "event", "event is required"),
    ("alias-without-previous", "alias", {"userId": "u"}, 400, "previousId", "required for alias"),
    ("alias-without-user", "alias", {"previousId": "p"}, 400, "userId", "required for alias"),
    ("type-mismatch", "track", {"type": "page", "userId": "u", "event": "x"}, 400, "type", "does not match"),
    ("year-1900", "track", {"userId": "u", "event": "x", "timestamp": "1900-01-01T00:00:00Z"}, 400,
     "timestamp", "plausible range"),
    ("far-future", "track", {"userId": "u", "event": "x", "timestamp": "2999-01-01T00:00:00Z"}, 400,
     "timestamp", "plausible range"),
    ("original-ts-1900", "page", {"anonymousId": "a", "originalTimestamp": "1900-01-01T00:00:00Z"}, 400,
     "originalTimestamp", "plausible range"),
    ("timestamp-not-iso", "track", {"userId": "u", "event": "x", "timestamp": "yesterday"}, 400,
     "timestamp", "ISO-8601"),
    ("timestamp-number", "track", {"userId": "u", "event": "x", "timestamp": 1714557600}, 400,
     "timestamp", "ISO-8601"),
    ("unknown-field-userID", "track", {"userID": "u", "event": "x"}, 400, "userID", "did you mean 'userId'"),
    ("unknown-field-timeStamp", "track", {"userId": "u", "event": "x", "timeStamp": "2024-05-01T10:00:00Z"}, 400,
     "timeStamp", "did you mean 'timestamp'"),
    ("unknown-field-far", "identify", {"userId": "u", "favouriteColour": "red"}, 400, "favouriteColour",
     "properties or traits"),
    ("batch-missing", "batch", {"sentAt": "2024-05-01T10:00:00Z"}, 400, "batch", "batch is required"),
    ("batch-not-list", "batch", {"batch": {"type": "track"}}, 400, "batch", "must be a list"),
    ("batch-unknown-field", "batch", {"batch": [], "bacth": []}, 400, "bacth", "unknown field"),
    ("batch-item-no-type", "batch", {"batch": [{"userId": "u", "event": "x"}]}, 400, "batch[0].type", "type is required"),
    ("batch-item-bad-type", "batch", {"batch": [{"type": "group2", "userId": "u"}]}, 400, "batch[0].type",
     "unsupported type"),
    ("batch-item-not-object", "batch", {"batch": ["x"]}, 400, "batch[0]", "JSON object"),
    ("batch-bad-sent-at", "batch", {"batch": [], "sentAt": "soon"}, 400, "sentAt", "ISO-8601"),
]


def _send(srv, endpoint, body, headers=None):
    headers = {**srv.w, **(headers or {})}
    if isinstance(body, (bytes, bytearray)):
        return srv.client.post(f"/v1/{endpoint}", content=bytes(body),
                               headers={"Content-Type": "application/json", **headers})
    return srv.client.post(f"/v1/{endpoint}", json=body, headers=headers)


XFAIL: dict = {}  # case id -> pytest mark, for a bug pinned while it is open


@pytest.mark.parametrize("endpoint, body, status, field, words",
                         [pytest.param(*c[1:], id=c[0], marks=XFAIL.get(c[0], ())) for c in BAD])
def test_bad_input_gets_a_4xx_naming_the_field(srv, endpoint, body, status, field, words):
    response = _send(srv, endpoint, body)
    error = assert_error_shape(response, status, field)
    messages = " | ".join(e["message"] for e in error["errors"])
    assert words in messages, messages


BIG_STRING = "x" * 33_000


@pytest.mark.parametrize("endpoint, body, field", [
    ("track", {"userId": "u", "event": "x", "properties": {"blob": BIG_STRING}}, "body"),
    ("page", {"anonymousId": "a", "properties": {"blob": BIG_STRING}}, "body"),
    ("batch", {"batch": [{"type": "track", "userId": "u", "event": "x", "properties": {"blob": "y" * 30_000}}] * 18},
     "body"),
    ("batch", {"batch": [{"type": "track", "userId": "u", "event": "x", "properties": {"blob": BIG_STRING}}]},
     "batch[0]"),
], ids=["track-33KB", "page-33KB", "batch-540KB", "batch-item-33KB"])
def test_too_large_gets_413(srv, endpoint, body, field):
    response = _send(srv, endpoint, body)
    assert_error_shape(response, 413, field)


def test_too_large_without_content_length_gets_413(srv):
    """A chunked body (no Content-Length) is cut off at the limit, not read whole."""
    def chunks():
        yield b'{"userId": "u", "event": "x", "properties": {"blob": "'
        for _ in range(40):
            yield b"x" * 1024
        yield b'"}}'

    response = srv.client.post("/v1/track", content=chunks(), headers={**srv.w, "Content-Type": "application/json"})
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_error_shape(response, 413, "body")


def test_a_batch_of_500_small_messages_is_accepted(srv):
    items = [{"type": "track", "anonymousId": f"a{i}", "event": "Bulk", "messageId": f"{RUN}-bulk-{i}"}
             for i in range(500)]
    response = _send(srv, "batch", {"batch": items})
    assert response.status_code == 200 and response.json() == OK


def test_refused_messages_land_in_the_rejects_table_with_their_reason(srv):
    marker = _id("reject-me")
    cases = [
        ("track", {"userId": {"nested": marker}, "event": "x"}, "userId", "must be a string"),
        ("page", {"name": marker}, "userId", "userId or anonymousId is required"),
        ("track", {"userId": "u", "event": marker, "timestamp": "1900-01-01T00:00:00Z"}, "timestamp", "plausible"),
        ("identify", {"userId": "u", "userID": marker}, "userID", "did you mean 'userId'"),
        ("batch", {"batch": [{"type": "track", "userId": "u", "event": marker, "messageId": _id("keep")},
                             {"type": "track", "anonymousId": marker}]}, "batch[1].event", "event is required"),
    ]
    for endpoint, body, _, _ in cases:
        assert _send(srv, endpoint, body).status_code in (200, 400)
    bad_bytes = b'{"userId": "' + marker.encode() + b'", "event": '
    assert _send(srv, "track", bad_bytes).status_code == 400
    srv.flush()
    rejects = srv.rejects()
    mine = rejects[rejects.record.str.contains(marker, regex=False)]
    for endpoint, _, column, reason in cases:
        hit = mine[(mine.file == f"collector:website/v1/{endpoint}") & (mine.column == column)]
        assert len(hit) == 1, (endpoint, column, mine[["file", "column", "reason"]])
        assert reason in hit.iloc[0].reason
        assert hit.iloc[0].load_id == "collector"
    malformed = mine[(mine.file == "collector:website/v1/track") & (mine.column == "body")]
    assert len(malformed) == 1 and "malformed JSON" in malformed.iloc[0].reason
    assert srv.write not in mine.to_json(date_format="iso")
    # the batch's good item was stored
    events = srv.events()
    assert len(_rows(events, event_id=_id("keep"))) == 1


def test_unknown_route_and_wrong_method_have_the_error_shape(srv):
    assert_error_shape(srv.client.get("/nope", headers=srv.r), 404, "path")
    assert_error_shape(srv.client.post("/v1/group", json={"userId": "u", "groupId": "g"}, headers=srv.w), 404, "path")
    assert_error_shape(srv.client.get("/api/nope", headers=srv.r), 404, "path")
    assert_error_shape(srv.client.get("/v1/track", headers=srv.w), 405, "path")
    assert_error_shape(srv.client.options("/v1/track"), 405, "path")  # no CORS configured


def test_health_is_open_and_reports_the_spool(srv):
    response = srv.client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["counters"]["accepted"] >= 1
    assert srv.write not in response.text and srv.read not in response.text


# --- CORS ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cors(tmp_path_factory):
    settings = Settings.model_validate({"collector": {"cors_origins": ["https://shop.example"]}})
    with serving(empty_store(tmp_path_factory.mktemp("cors")), settings) as served:
        yield served


def _preflight(client, origin, path="/v1/track"):
    return client.options(path, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                         "Access-Control-Request-Headers": "authorization, content-type"})


def test_cors_preflight_from_an_allowed_origin(cors):
    response = _preflight(cors.client, "https://shop.example")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://shop.example"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    # and the request itself carries the header, so the page can read the answer
    post = cors.client.post("/v1/track", json={"anonymousId": "a", "event": "x"},
                            headers={**cors.w, "Origin": "https://shop.example"})
    assert post.status_code == 200
    assert post.headers["access-control-allow-origin"] == "https://shop.example"


@pytest.mark.parametrize("origin", ["https://evil.example", "http://shop.example", "https://shop.example.evil.example"])
def test_cors_preflight_from_another_origin_is_refused(cors, origin):
    response = _preflight(cors.client, origin)
    assert response.status_code >= 400
    assert "access-control-allow-origin" not in response.headers
    post = cors.client.post("/v1/track", json={"anonymousId": "a", "event": "x"}, headers={**cors.w, "Origin": origin})
    assert "access-control-allow-origin" not in post.headers


def test_cors_refused_preflight_has_the_error_shape(cors):
    assert_error_shape(_preflight(cors.client, "https://evil.example"), 400)


# --- the JSON API on a small demo store -----------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    store = make_demo_store(tmp_path_factory.mktemp("api-demo"), customers=200, seed=1)
    with journeymap.open(store, read_only=True) as jm:
        events = jm.events()
        someone = (events.filter(events.user_id.notnull() & events.anonymous_id.notnull())
                   .select("customer_id", "user_id").order_by("customer_id").limit(1).to_pyarrow().to_pylist()[0])
    with serving(store) as served:
        served.extra["someone"] = someone
        yield served


def _rows_of(response) -> list[dict]:
    assert response.status_code == 200, response.text[:500]
    body = response.json()
    assert body["ok"] is True and body["count"] == len(body["rows"])
    return body["rows"]


@pytest.mark.parametrize("path, check", [
    ("/api/stages?limit=5", lambda rows: len(rows) == 5 and {"customer_id", "current_stage"} <= set(rows[0])),
    ("/api/stages?stage=consideration&limit=50",
     lambda rows: rows and {r["current_stage"] for r in rows} == {"consideration"}),
    ("/api/stage-funnel", lambda rows: [r["stage"] for r in rows][:2] == ["awareness", "consideration"]
     and rows[0]["customers"] > 100),
    ("/api/stage-funnel?by=channel", lambda rows: len({r["first_channel"] for r in rows}) > 1),
    ("/api/funnels?steps=page_view,product_viewed,order_completed",
     lambda rows: [r["step_label"] for r in rows] == ["page_view", "product_viewed", "order_completed"]
     and rows[0]["count"] >= rows[1]["count"] >= rows[2]["count"] > 0),
    ("/api/funnels?steps=page_view,order_completed&window=30d&order=any",
     lambda rows: len(rows) == 2),
    ("/api/paths?steps=3&limit=10", lambda rows: 0 < len(rows) <= 10),
    ("/api/attribution", lambda rows: rows and abs(sum(r["share"] for r in rows) - 1) < 1e-6),
    ("/api/attribution?model=linear&level=campaign", lambda rows: rows and "campaign" in rows[0]),
], ids=["stages", "stages-filtered", "stage-funnel", "stage-funnel-by", "funnels", "funnels-any", "paths",
        "attribution", "attribution-linear-campaign"])
def test_api_routes_return_rows(demo, path, check):
    rows = _rows_of(demo.client.get(path, headers=demo.r))
    assert check(rows), rows[:3]


def test_api_info(demo):
    response = demo.client.get("/api/info", headers=demo.r)
    assert response.status_code == 200
    info = response.json()
    assert info["ok"] is True and info["events"] > 1000 and 150 <= info["customers"] <= 260
    assert info["channels"]


@pytest.mark.parametrize("path, field, words", [
    ("/api/paths?steps=abc", "steps", "integer"),
    ("/api/paths?steps=0", "steps", "greater than"),
    ("/api/paths?limit=100001", "limit", "less than or equal to 100000"),
    ("/api/stages?limit=100001", "limit", "100000"),
    ("/api/stages?offset=-1", "offset", "greater than"),
    ("/api/stages?stage=nope", "stage", "unknown stage"),
    ("/api/funnels", "steps", "required"),
    ("/api/funnels?steps=", "steps", "at least 1"),
    ("/api/funnels?steps=page_view,add_to_crat", "steps", "did you mean 'add_to_cart'"),
    ("/api/funnels?steps=page_view,nope", "steps", "unknown event 'nope'"),
    ("/api/funnels?steps=page_view,signup&order=sideways", "order", "sequential"),
    ("/api/attribution?model=nope", "model", "unknown attribution model"),
    ("/api/attribution?order=9", "order", "less than or equal to 4"),
    ("/api/paths?node=nope", "node", "not one of"),
], ids=lambda v: v if isinstance(v, str) and v.startswith("/") else None)
def test_api_validates_parameters(demo, path, field, words):
    error = assert_error_shape(demo.client.get(path, headers=demo.r), 400, field)
    messages = " | ".join(e["message"] for e in error["errors"])
    assert words in messages, messages


def test_api_bad_segment_names_the_segment_parameter(demo):
    assert_error_shape(demo.client.get("/api/stage-funnel?segment=nosuchkey%3Dx", headers=demo.r), 400, "segment")


def test_timeline_by_customer_id_and_by_stitched_user_id(demo):
    someone = demo.extra["someone"]
    by_customer = _rows_of(demo.client.get(f"/api/customers/{someone['customer_id']}/timeline", headers=demo.r))
    by_user = _rows_of(demo.client.get(f"/api/customers/{someone['user_id']}/timeline", headers=demo.r))
    assert by_customer and by_customer == by_user
    assert {r["customer_id"] for r in by_user} == {someone["customer_id"]}
    stamps = [r["timestamp"] for r in by_user]
    assert stamps == sorted(stamps)
    # anonymous page views before the identify are part of it
    assert any(r["user_id"] is None and r["anonymous_id"] for r in by_user)
    page = _rows_of(demo.client.get(f"/api/customers/{someone['user_id']}/timeline?limit=2&offset=1", headers=demo.r))
    assert page == by_user[1:3]


@pytest.mark.parametrize("customer", ["x' OR 1=1 --", "' OR '1'='1", "x\"; DROP TABLE events; --", "%", "*",
                                      "nobody-" + RUN])
def test_timeline_of_an_unknown_or_injection_looking_customer_is_a_clean_400(demo, customer):
    from urllib.parse import quote

    response = demo.client.get(f"/api/customers/{quote(customer, safe='')}/timeline", headers=demo.r)
    error = assert_error_shape(response, 400)
    assert "no customer" in error["error"] and customer in error["error"]
    # and the store is intact
    assert demo.client.get("/api/info", headers=demo.r).json()["events"] > 1000


def test_api_answers_are_json_with_the_documented_keys(demo):
    response = demo.client.get("/api/stage-funnel", headers=demo.r)
    assert response.headers["content-type"].startswith("application/json")
    assert set(response.json()) == {"ok", "count", "rows"}
    assert not ERROR_KEYS <= set(response.json())


def test_gzip_body_as_segment_libraries_send_it(srv):
    import gzip

    body = gzip.compress(json.dumps({"userId": _id("u-gzip"), "event": "Zipped"}).encode())
    response = srv.client.post("/v1/track", content=body, headers={**srv.w, "Content-Type": "application/json",
                                                                   "Content-Encoding": "gzip"})
    assert response.status_code == 200, response.text


# --- 500s the fuzz found once (huge numbers): now 400s naming the parameter ------------------------------

_BIG = str(2**63)


@pytest.mark.parametrize("path, field", [
    (f"/api/paths?min_customers={_BIG}", "min_customers"),
    (f"/api/stages?offset={_BIG}", "offset"),
    ("/api/customers/{customer}/timeline?offset=99999999999999999999", "offset"),
    ("/api/funnels?steps=page_view&window=99999999999d", "window"),
    ("/api/attribution?lookback=99999999999d", "lookback"),
    (f"/api/paths?min_customers={2**63 - 1}", None),  # the largest int64 is fine (no rows)
], ids=["paths-min-customers-2^63", "stages-offset-2^63", "timeline-offset-1e20", "funnel-window-1e11d",
        "attribution-lookback-1e11d", "paths-min-customers-int64-max"])
def test_huge_numbers_are_a_400_not_a_500(demo, path, field):
    response = demo.client.get(path.replace("{customer}", demo.extra["someone"]["customer_id"]), headers=demo.r)
    if field is None:
        assert response.status_code in (200, 400), response.text[:300]
    else:
        assert_error_shape(response, 400, field)
