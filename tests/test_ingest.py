"""File ingest: hand-checked expected rows, rejects and counts for every format."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import journeymap
from journeymap.config import Settings
from journeymap.errors import ConfigError, InputError

DATA = Path(__file__).parent / "data"
CRM_MAP = {"activity_id": "event_id", "when": "timestamp", "activity": "event", "customer": "user_id",
           "mail": "email", "amount": "revenue"}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def jm(tmp_path):
    settings = Settings()
    settings.privacy.email_salt = "pepper"
    with journeymap.open(tmp_path / "store.duckdb", settings=settings) as store:
        yield store


def rows(table, *columns, order=None):
    order = order or (("event_id",) if "event_id" in table.columns else ("row",))
    return table.order_by(list(order)).select(*columns).to_pyarrow().to_pylist()


def test_csv_with_own_column_names_broken_rows_and_a_second_identical_load(jm):
    first = jm.load(DATA / "crm_export.csv", map=CRM_MAP)
    assert (first.rows_read, first.accepted, first.duplicates, first.rejected) == (7, 3, 0, 4)
    assert first.exceeded  # 4/7 > 5 %
    stored = rows(jm.events(), "event_id", "timestamp", "event", "user_id", "revenue", "currency",
                  "properties", "customer_id")
    assert stored == [
        {"event_id": "a1", "timestamp": utc(2024, 5, 1, 10), "event": "store_visit", "user_id": "c1",
         "revenue": None, "currency": None, "properties": '{"store":"Berlin"}', "customer_id": "c1"},
        {"event_id": "a2", "timestamp": utc(2024, 5, 1, 11, 30), "event": "pos_purchase", "user_id": "c1",
         "revenue": 49.9, "currency": "USD", "properties": '{"store":"Berlin"}', "customer_id": "c1"},
        {"event_id": "a7", "timestamp": utc(2024, 5, 3, 10), "event": "store_visit", "user_id": "c4",
         "revenue": None, "currency": None, "properties": '{"store":"Rome"}', "customer_id": "c4"},
    ]
    expected_hash = hashlib.sha256(b"pepperann@example.com").hexdigest()
    assert rows(jm.events().filter(jm.events().event_id == "a1"), "email_hash") == [{"email_hash": expected_hash}]
    rejects = rows(jm.rejects(), "row", "column", "value", order=("row",))
    assert rejects == [
        {"row": 3, "column": "timestamp", "value": "not a date"},
        {"row": 4, "column": "identifiers", "value": None},
        {"row": 5, "column": "revenue", "value": "12 EUR"},
        {"row": 6, "column": None, "value": None},
    ]
    reasons = [r["reason"] for r in rows(jm.rejects(), "reason", "row", order=("row",))]
    assert "ISO 8601" in reasons[0] and "no usable identifier" in reasons[1]
    assert "not a number" in reasons[2] and "8 fields, the header has 7" in reasons[3]
    record = json.loads(rows(jm.rejects().filter(jm.rejects().row == 5), "record")[0]["record"])
    assert record["amount"] == "12 EUR" and record["activity_id"] == "a5"

    second = jm.load(DATA / "crm_export.csv", map=CRM_MAP)
    assert (second.rows_read, second.accepted, second.duplicates, second.rejected) == (7, 0, 3, 4)
    assert jm.events().count().execute() == 3
    assert jm.rejects().count().execute() == 4  # the same rejects are not stored twice
    assert jm.loads().count().execute() == 2


def test_segment_batch_messages_are_flattened_per_the_spec(jm):
    summary = jm.load(DATA / "segment_batch.json")
    assert (summary.accepted, summary.rejected) == (5, 1)
    got = {r["event_id"]: r for r in rows(jm.events(), "event_id", "timestamp", "type", "event", "utm_source",
                                           "utm_medium", "utm_campaign", "revenue", "currency", "page_title",
                                           "channel", "customer_id")}
    assert got["m1"]["event"] == "page_view" and got["m1"]["page_title"] == "Home"
    assert (got["m1"]["utm_source"], got["m1"]["utm_medium"], got["m1"]["utm_campaign"]) == ("google", "cpc", "summer sale")
    assert got["m1"]["channel"] == "paid_search"
    # originalTimestamp 08:10:00 corrected by receivedAt - sentAt = -20 s
    assert got["m3"]["timestamp"] == utc(2024, 6, 1, 8, 9, 40)
    assert (got["m3"]["revenue"], got["m3"]["currency"]) == (99.5, "EUR")
    assert got["m4"]["type"] == "alias"
    assert got["m5"]["channel"] == "direct"
    assert {r["customer_id"] for r in got.values()} == {"u-1"}  # anon-1, anon-2 (alias) and u-1 are one person
    reject = rows(jm.rejects(), "row", "column", "value")[0]
    assert reject == {"row": 6, "column": "type", "value": "tarck"}


def test_ndjson_keeps_unknown_keys_in_properties_and_rejects_bad_lines(jm):
    summary = jm.load(DATA / "records.ndjson")
    assert (summary.rows_read, summary.accepted, summary.rejected) == (4, 1, 3)
    assert rows(jm.events(), "event_id", "properties", "type") == [
        {"event_id": "n1", "properties": '{"plan":"pro"}', "type": "track"}]
    assert rows(jm.rejects(), "row", "column", order=("row",)) == [
        {"row": 2, "column": None}, {"row": 3, "column": "identifiers"}, {"row": 5, "column": None}]


def test_gzip_parquet_and_folders_load_the_same_rows(jm, tmp_path):
    folder = tmp_path / "in"
    (folder / "nested").mkdir(parents=True)
    with open(DATA / "crm_export.csv", "rb") as src, gzip.open(folder / "nested" / "crm.csv.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    table = pa.table({
        "event_id": ["p1", "p2"],
        "timestamp": pa.array([utc(2024, 1, 1, 12), utc(2024, 1, 2, 12)], pa.timestamp("us", tz="UTC")),
        "event": ["signup", "order_completed"],
        "anonymous_id": ["x1", "x1"],
        "revenue": [None, 10.0],
        "score": [1, 2],
    })
    pq.write_table(table, folder / "web.parquet")
    (folder / ".hidden.csv").write_text("junk")
    (folder / "notes.txt").write_text("not data")
    summary = jm.load(folder, map=CRM_MAP)
    assert [Path(f.file).name for f in summary.files] == ["crm.csv.gz", "web.parquet"]
    assert (summary.accepted, summary.rejected) == (5, 4)
    assert rows(jm.events().filter(jm.events().anonymous_id == "x1"), "event_id", "properties", "customer_id") == [
        {"event_id": "p1", "properties": '{"score":1}', "customer_id": "anonymous_id:x1"},
        {"event_id": "p2", "properties": '{"score":2}', "customer_id": "anonymous_id:x1"},
    ]


def test_rows_without_event_id_deduplicate_by_content(jm, tmp_path):
    path = tmp_path / "noid.csv"
    path.write_text("ts,event,user_id\n2024-03-01T00:00:00Z,signup,u1\n2024-03-01T00:00:00Z,signup,u1\n"
                    "2024-03-02T00:00:00Z,login,u1\n")
    first = jm.load(path)
    assert (first.accepted, first.duplicates) == (2, 1)
    again = jm.load(path)
    assert (again.accepted, again.duplicates) == (0, 3)
    ids = [r["event_id"] for r in rows(jm.events(), "event_id")]
    assert all(i.startswith("h") and len(i) == 33 for i in ids)


@pytest.mark.parametrize("value, column, expected", [
    ("2024-05-01T10:00:00+02:00", "timestamp", utc(2024, 5, 1, 8)),
    ("2024-05-01t10:00:00z", "timestamp", utc(2024, 5, 1, 10)),
    ("1714557600", "timestamp", utc(2024, 5, 1, 10)),
    ("1714557600000", "timestamp", utc(2024, 5, 1, 10)),
    ("1714557600.5", "timestamp", utc(2024, 5, 1, 10, 0, 0, 500000)),
    ("1970-01-01T00:00:00Z", "reject", "timestamp"),
    ("2999-01-01T00:00:00Z", "reject", "timestamp"),
    ("", "reject", "timestamp"),
])
def test_timestamp_forms(jm, tmp_path, value, column, expected):
    path = tmp_path / "ts.csv"
    path.write_text(f"event_id,timestamp,event,user_id\ne1,{value},x,u1\n")
    jm.load(path)
    if column == "reject":
        assert rows(jm.rejects(), "column") == [{"column": expected}]
    else:
        assert rows(jm.events(), "timestamp") == [{"timestamp": expected}]


def test_custom_timestamp_format_and_email_in_clear_when_opted_out(tmp_path):
    settings = Settings()
    settings.ingest.timestamp_format = "%d/%m/%Y %H:%M"
    settings.privacy.hash_emails = False
    path = tmp_path / "eu.csv"
    path.write_text("event_id,timestamp,event,email\ne1,31/12/2024 23:59, Signup , Bob@Example.COM \n")
    with journeymap.open(tmp_path / "s.duckdb", settings=settings) as jm:
        jm.load(path)
        assert rows(jm.events(), "timestamp", "event", "email_hash") == [
            {"timestamp": utc(2024, 12, 31, 23, 59), "event": "Signup", "email_hash": "bob@example.com"}]


def test_a_malformed_row_deep_in_a_large_csv_is_reported_with_its_row_number(tmp_path):
    settings = Settings()
    settings.ingest.batch_rows = 1000
    lines = ["event_id,timestamp,event,user_id"]
    for i in range(1, 5001):
        lines.append(f"e{i},2024-01-01T00:00:00Z,view,u{i % 50}" + (",oops" if i == 3500 else ""))
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n")
    with journeymap.open(tmp_path / "s.duckdb", settings=settings) as jm:
        summary = jm.load(path)
        assert (summary.rows_read, summary.accepted, summary.rejected) == (5000, 4999, 1)
        assert rows(jm.rejects(), "row") == [{"row": 3500}]
        assert jm.events().filter(jm.events().event_id == "e3501").count().execute() == 1


def test_bad_map_and_missing_files_name_what_to_fix(jm, tmp_path):
    with pytest.raises(ConfigError, match="'when' to 'wen'.*not a canonical column"):
        jm.load(DATA / "crm_export.csv", map={"when": "wen"})
    with pytest.raises(InputError, match="no such file or folder"):
        jm.load(tmp_path / "missing.csv")
    bad = tmp_path / "events.xlsx"
    bad.write_text("x")
    with pytest.raises(InputError, match="cannot tell the format"):
        jm.load(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty.csv, row 0: the CSV file is empty"):
        jm.load(empty)


def test_info_counts_what_was_loaded(jm):
    jm.load(DATA / "segment_batch.json")
    info = jm.info()
    assert info["events"] == 5 and info["customers"] == 1 and info["rejects"] == 1
    assert info["first_touchpoint"].startswith("2024-06-01T07:00:00")
    assert info["channels"] == {"direct": 4, "paid_search": 1}
