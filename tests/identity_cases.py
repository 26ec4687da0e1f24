"""Hand-worked identity-stitching cases, shared by the unit and the conformance tests.

Each case: touchpoints as (event_id, minute, type, anonymous_id, user_id, email_hash, device_id,
previous_id[, properties]) and the expected identity map {(id_type, id_value): customer_id},
expected customer_id per event, and expected over-linked identifiers.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pyarrow as pa

from journeymap.schema import EVENT_SCHEMA

T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)
FIELDS = ("event_id", "minute", "type", "anonymous_id", "user_id", "email_hash", "device_id", "previous_id", "properties")


def events_table(rows) -> pa.Table:
    """Canonical touchpoints (EVENT_SCHEMA) from short tuples."""
    records = []
    for row in rows:
        data = dict(zip(FIELDS, row + (None,) * (len(FIELDS) - len(row))))
        records.append({
            "event_id": data["event_id"], "timestamp": T0 + timedelta(minutes=data["minute"]),
            "type": data["type"], "event": data["type"] if data["type"] != "page" else "page_view",
            "anonymous_id": data["anonymous_id"], "user_id": data["user_id"], "email_hash": data["email_hash"],
            "device_id": data["device_id"], "previous_id": data["previous_id"], "channel": "direct",
            "properties": data["properties"],
        })
    return pa.Table.from_pylist(records, schema=EVENT_SCHEMA)


KIOSK = [("k%d" % i, i, "identify", "kiosk", "u%d" % i) for i in range(1, 9)]

CASES = {
    "anonymous visitor identifies": dict(
        rows=[("e1", 0, "page", "a1"), ("e2", 5, "identify", "a1", "u1"), ("e3", 9, "page", "a1")],
        map={("anonymous_id", "a1"): "u1", ("user_id", "u1"): "u1"},
        customers={"e1": "u1", "e2": "u1", "e3": "u1"}),
    "cross-device: two browsers, one user": dict(
        rows=[("e1", 0, "identify", "a1", "u1"), ("e2", 60, "page", "a2"), ("e3", 70, "identify", "a2", "u1")],
        map={("anonymous_id", "a1"): "u1", ("anonymous_id", "a2"): "u1", ("user_id", "u1"): "u1"},
        customers={"e1": "u1", "e2": "u1", "e3": "u1"}),
    "alias joins an earlier anonymous id": dict(
        rows=[("e1", 0, "page", "a9"), ("e2", 3, "alias", None, "u2", None, None, "a9")],
        map={("anonymous_id", "a9"): "u2", ("user_id", "u2"): "u2"},
        customers={"e1": "u2", "e2": "u2"}),
    "alias joins an earlier user id (a renamed login)": dict(
        rows=[("e1", 0, "track", "a1", "old1"), ("e2", 3, "alias", None, "new1", None, None, "old1")],
        map={("anonymous_id", "a1"): "new1", ("user_id", "old1"): "new1", ("user_id", "new1"): "new1"},
        customers={"e1": "new1", "e2": "new1"}),
    "a chain through an email and a second browser": dict(
        rows=[("e1", 0, "identify", "a1", None, "h1"), ("e2", 10, "identify", "a2", None, "h1"),
              ("e3", 20, "identify", "a2", "u3")],
        map={("anonymous_id", "a1"): "u3", ("anonymous_id", "a2"): "u3", ("email_hash", "h1"): "u3",
             ("user_id", "u3"): "u3"},
        customers={"e1": "u3", "e2": "u3", "e3": "u3"}),
    "junk ids never link anyone": dict(
        rows=[("e1", 0, "identify", "a1", "null"), ("e2", 1, "identify", "a2", "NULL"),
              ("e3", 2, "identify", "a3", "Undefined"), ("e4", 3, "identify", "a4", "0", "-1"),
              ("e5", 4, "identify", "anonymous", "u7"), ("e6", 5, "page", "a5", None, None, "")],
        map={("anonymous_id", "a1"): "anonymous_id:a1", ("anonymous_id", "a2"): "anonymous_id:a2",
             ("anonymous_id", "a3"): "anonymous_id:a3", ("anonymous_id", "a4"): "anonymous_id:a4",
             ("anonymous_id", "a5"): "anonymous_id:a5", ("user_id", "u7"): "u7"},
        customers={"e1": "anonymous_id:a1", "e2": "anonymous_id:a2", "e3": "anonymous_id:a3",
                   "e4": "anonymous_id:a4", "e5": "u7", "e6": "anonymous_id:a5"}),
    "one touchpoint matching two profiles merges them": dict(
        rows=[("e1", 0, "track", None, "u5", "h5"), ("e2", 1, "track", None, "u6", "h6"),
              ("e3", 2, "track", "a6", None, "h6"), ("e4", 3, "identify", "a6", "u5")],
        map={("user_id", "u5"): "u5", ("user_id", "u6"): "u5", ("email_hash", "h5"): "u5",
             ("email_hash", "h6"): "u5", ("anonymous_id", "a6"): "u5"},
        customers={"e1": "u5", "e2": "u5", "e3": "u5", "e4": "u5"}),
    "a kiosk browser used by 8 users is kept out of merging": dict(
        rows=KIOSK + [("k9", 20, "page", "kiosk")],
        map={**{("user_id", "u%d" % i): "u%d" % i for i in range(1, 9)}, ("anonymous_id", "kiosk"): "anonymous_id:kiosk"},
        customers={**{"k%d" % i: "u%d" % i for i in range(1, 9)}, "k9": "anonymous_id:kiosk"},
        overlinked={("anonymous_id", "kiosk"): 8}),
    "a touchpoint with no identifier has no customer": dict(
        rows=[("e1", 0, "track", None, None), ("e2", 1, "page", "a1")],
        map={("anonymous_id", "a1"): "anonymous_id:a1"},
        customers={"e1": None, "e2": "anonymous_id:a1"}),
    "a property identifier (CRM id) links browsers": dict(
        identifiers=["user_id", "properties.crm_id", "anonymous_id"],
        rows=[("e1", 0, "page", "a1", None, None, None, None, '{"crm_id": "C-1", "x": 2}'),
              ("e2", 5, "page", "a2", None, None, None, None, '{"x": 1, "crm_id":"C-1"}'),
              ("e3", 6, "page", "a3", None, None, None, None, '{"crm_id": 77}')],
        map={("anonymous_id", "a1"): "properties.crm_id:C-1", ("anonymous_id", "a2"): "properties.crm_id:C-1",
             ("properties.crm_id", "C-1"): "properties.crm_id:C-1", ("anonymous_id", "a3"): "properties.crm_id:77",
             ("properties.crm_id", "77"): "properties.crm_id:77"},
        customers={"e1": "properties.crm_id:C-1", "e2": "properties.crm_id:C-1", "e3": "properties.crm_id:77"}),
}
