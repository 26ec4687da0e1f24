"""The demo generator: determinism, bounded streaming, raw schema, realistic invariants,
the planted effects (measured with DuckDB over the written Parquet) and the CRM export."""

from __future__ import annotations

import csv
import json
import tracemalloc
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from journeymap.demo import (CRM_COLUMN_MAP, CRM_COLUMNS, PLANTED_EFFECTS, RAW_SCHEMA, DemoSpec,
                             broken_reason, generate_touchpoints, write_demo_files)
from journeymap.demo.catalogue import REVIEW_TEXTS, SITE
from journeymap.schema import EVENT_SCHEMA

SITE_OR_APP = (SITE + "/", "app://trailhead/")


def table(spec: DemoSpec, batch_customers: int = 20_000) -> pa.Table:
    return pa.Table.from_batches(list(generate_touchpoints(spec, batch_customers)), schema=RAW_SCHEMA)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """5,000 customers over the default year, written as the CLI writes them."""
    folder = tmp_path_factory.mktemp("demo")
    seen: list[int] = []
    files = write_demo_files(folder, DemoSpec(customers=5_000, seed=42), progress=seen.append)
    con = duckdb.connect()
    con.execute(f"CREATE VIEW raw AS SELECT *, json_extract_string(properties, '$.device') AS device "
                f"FROM read_parquet('{files.events_dir}/*.parquet', file_row_number = true, filename = true)")
    # a simple person key for effect checks: the user_id a browser ever carried, else the browser
    con.execute("CREATE TABLE ev AS SELECT *, COALESCE(MAX(user_id) OVER (PARTITION BY anonymous_id), "
                "anonymous_id) AS person FROM raw")
    return files, con, seen


def one(con, sql):
    return con.execute(sql).fetchone()


# --------------------------------------------------------------------------- determinism, streaming


def test_same_seed_same_rows_other_seed_other_rows():
    spec = DemoSpec(customers=400, seed=3, days=90)
    first, again = table(spec), table(spec)
    assert first.equals(again)
    other = table(DemoSpec(customers=400, seed=4, days=90))
    assert not first.column("event_id").equals(other.column("event_id"))
    assert first.num_rows != other.num_rows or not first.column("timestamp").equals(other.column("timestamp"))


def test_rows_do_not_depend_on_the_batch_size():
    spec = DemoSpec(customers=6_000, seed=11, days=60)  # two internal blocks
    whole = table(spec, 20_000)
    pieces = list(generate_touchpoints(spec, batch_customers=2_500))
    assert len(pieces) == 3
    assert pa.Table.from_batches(pieces).equals(whole)


def test_batches_hold_at_most_batch_customers_customers():
    spec = DemoSpec(customers=25, seed=5, days=200)
    batches = list(generate_touchpoints(spec, batch_customers=1))
    assert len(batches) == 25  # one customer each, and every customer has touchpoints
    for batch in batches:
        assert batch.num_rows >= 1
        assert len(pc.unique(batch.column("user_id")).drop_null()) <= 1
        assert len(pc.unique(batch.column("email")).drop_null()) <= 1
    sizes = [b.num_rows for b in generate_touchpoints(DemoSpec(customers=2_500, seed=5), batch_customers=1_000)]
    assert len(sizes) == 3 and sizes[-1] < max(sizes)


def _peak_bytes(spec: DemoSpec, batch_customers: int) -> int:
    tracemalloc.start()
    rows = 0
    for batch in generate_touchpoints(spec, batch_customers):
        rows += batch.num_rows
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_memory_is_flat_in_the_number_of_customers():
    small = _peak_bytes(DemoSpec(customers=5_000, seed=1), 5_000)
    large = _peak_bytes(DemoSpec(customers=20_000, seed=1), 5_000)
    assert large < 1.5 * small


def test_bad_spec_is_refused():
    with pytest.raises(ValueError):
        next(generate_touchpoints(DemoSpec(customers=0)))


# --------------------------------------------------------------------------- schema and invariants


def test_batch_schema_uses_canonical_names_and_types():
    batch = next(generate_touchpoints(DemoSpec(customers=50, days=30)))
    assert batch.schema.equals(RAW_SCHEMA)
    for field in batch.schema:
        if field.name == "email":
            continue  # clear text; the ingest hashes it into email_hash
        assert EVENT_SCHEMA.field(field.name).type == field.type
    assert not any(name.startswith("utm_") for name in batch.schema.names)


def test_event_ids_are_unique_uuids_and_timestamps_in_the_window(demo):
    _, con, _ = demo
    n, ids, bad, lo, hi = one(con, "SELECT count(*), count(DISTINCT event_id), "
                                   "count(*) FILTER (NOT regexp_full_match(event_id, '[0-9a-f-]{36}')), "
                                   "min(timestamp), max(timestamp) FROM raw")
    assert n == ids and bad == 0
    assert str(lo) >= "2025-01-01" and str(hi) < "2026-01-01"


def test_rows_of_a_browser_are_consecutive_in_time_order(demo):
    _, con, _ = demo
    out_of_order = one(con, """
        SELECT count(*) FROM (SELECT timestamp, lag(timestamp) OVER (PARTITION BY filename, anonymous_id
                                                  ORDER BY file_row_number) AS prev FROM raw)
        WHERE timestamp <= prev""")[0]
    assert out_of_order == 0


def test_user_id_only_from_an_identify_on_that_browser(demo):
    _, con, _ = demo
    first_known = con.execute("""
        SELECT arg_min(type, (timestamp, event_id)) FROM raw WHERE user_id IS NOT NULL GROUP BY anonymous_id
    """).fetchall()
    assert first_known and {t for (t,) in first_known} == {"identify"}
    assert one(con, "SELECT count(*) FROM raw WHERE email IS NOT NULL AND type <> 'identify'")[0] == 0
    assert one(con, "SELECT count(*) FROM raw WHERE email IS NOT NULL AND NOT regexp_matches(email, "
                    "'^[a-z]+\\.[a-z]+[0-9]+@example\\.(com|org)$')")[0] == 0
    anonymous_only = one(con, "SELECT avg((NOT known)::int) FROM (SELECT anonymous_id, bool_or(email IS NOT NULL) "
                              "AS known FROM raw GROUP BY 1)")[0]
    assert anonymous_only > 0.6  # many visitors never identify
    buyers_identified = one(con, "SELECT bool_and(user_id IS NOT NULL) FROM raw WHERE event = 'order_completed'")[0]
    assert buyers_identified


def test_revenue_only_on_purchases(demo):
    _, con, _ = demo
    events = {e for (e,) in con.execute("SELECT DISTINCT event FROM raw WHERE revenue IS NOT NULL").fetchall()}
    assert events == {"order_completed"}
    low, median, missing = one(con, "SELECT min(revenue), median(revenue), count(*) FILTER (revenue IS NULL "
                                    "OR currency <> 'USD') FROM raw WHERE event = 'order_completed'")
    assert low > 0 and 60 < median < 200 and missing == 0


def test_devices_urls_and_properties_look_like_tracker_data(demo):
    _, con, _ = demo
    assert one(con, "SELECT count(*) FROM raw WHERE NOT json_valid(properties) "
                    "OR device NOT IN ('desktop', 'mobile', 'tablet')")[0] == 0
    assert one(con, f"SELECT count(*) FROM raw WHERE NOT (starts_with(url, '{SITE_OR_APP[0]}') "
                    f"OR starts_with(url, '{SITE_OR_APP[1]}'))")[0] == 0
    app_ok, app_total = one(con, "SELECT count(*) FILTER (device_id IS NOT NULL AND referrer IS NULL), count(*) "
                                 "FROM raw WHERE starts_with(url, 'app://')")
    assert app_total > 0 and app_ok == app_total
    assert one(con, "SELECT count(*) FROM raw WHERE device_id IS NOT NULL AND NOT starts_with(url, 'app://')")[0] == 0
    assert {t for (t,) in con.execute("SELECT DISTINCT type FROM raw WHERE starts_with(url, 'app://')").fetchall()} \
        <= {"screen", "track", "identify"}
    # paid search carries click ids and cpc tags; organic search only a search-engine referrer
    paid = con.execute("SELECT DISTINCT referrer FROM raw WHERE url LIKE '%utm_medium=cpc%'").fetchall()
    assert {r for (r,) in paid} == {"https://www.google.com/", "https://www.bing.com/"}
    assert one(con, "SELECT count(*) FROM raw WHERE url LIKE '%utm_medium=cpc%' "
                    "AND NOT regexp_matches(url, '[?&](gclid|msclkid)=')")[0] == 0
    assert one(con, "SELECT count(*) FROM raw WHERE url LIKE '%utm_source=newsletter&utm_medium=email%'")[0] > 0
    assert one(con, "SELECT count(*) FROM raw WHERE url LIKE '%utm_medium=referral&utm_campaign=refer_a_friend"
                    "&ref=________%'")[0] > 0


def test_reviews_and_nps_answers_are_consistent(demo):
    _, con, _ = demo
    reviews = con.execute("SELECT CAST(properties->>'rating' AS INT), properties->>'review_text' FROM raw "
                          "WHERE event = 'review_submitted'").fetchall()
    assert reviews and all(text in REVIEW_TEXTS[rating] for rating, text in reviews)
    scores = [s for (s,) in con.execute("SELECT CAST(properties->>'score' AS INT) FROM raw "
                                        "WHERE event = 'nps_submitted'").fetchall()]
    assert scores and min(scores) >= 0 and max(scores) <= 10
    vocabulary = {e for (e,) in con.execute("SELECT DISTINCT event FROM raw").fetchall()}
    assert {"page_view", "screen_view", "identify", "newsletter_signup", "signup", "product_viewed",
            "add_to_cart", "checkout_started", "checkout_error", "order_completed", "review_submitted",
            "nps_submitted", "referral_sent", "support_chat_started", "support_ticket_created",
            "fitting_booked"} <= vocabulary


# --------------------------------------------------------------------------- planted effects


def test_summer_blowout_brings_traffic_and_no_buyers(demo):
    _, con, _ = demo
    share, buyers = one(con, """
        WITH first AS (SELECT person, arg_min(url, (timestamp, event_id)) LIKE '%utm_campaign=summer_blowout%' AS bo
                       FROM ev GROUP BY 1),
             bo AS (SELECT DISTINCT person FROM ev WHERE url LIKE '%utm_campaign=summer_blowout%')
        SELECT (SELECT avg(bo::int) FROM first),
               (SELECT count(*) FROM ev JOIN bo USING (person) WHERE event = 'order_completed')""")
    assert share > 0.10 and buyers == 0
    other_paid_social_buyers = one(con, """
        WITH ps AS (SELECT DISTINCT person FROM ev WHERE url LIKE '%utm_medium=paid_social%'
                    AND url NOT LIKE '%summer_blowout%')
        SELECT count(*) FROM ev JOIN ps USING (person) WHERE event = 'order_completed'""")[0]
    assert other_paid_social_buyers > 0


def test_mobile_checkouts_fail(demo):
    _, con, _ = demo
    rates = dict(con.execute("""
        SELECT device, count(*) FILTER (event = 'order_completed') / count(*) FILTER (event = 'checkout_started')
        FROM raw GROUP BY 1""").fetchall())
    assert rates["mobile"] < 0.35 and rates["desktop"] > 0.7
    assert rates["desktop"] > 2.5 * rates["mobile"]
    timeouts = one(con, "SELECT count(*) FILTER (device = 'mobile') / count(*) FROM raw "
                        "WHERE properties->>'error_code' = 'payment_form_timeout'")[0]
    assert timeouts == 1.0


def test_tent_guide_readers_reach_decision_twice_as_often(demo):
    _, con, _ = demo
    rates = dict(con.execute("""
        WITH c AS (SELECT person,
                     bool_or(regexp_matches(url, '/(shop|compare)/|/reviews/(tents|backpacks|hiking-boots)')) AS cons,
                     bool_or(url LIKE '%/guides/choosing-the-right-tent%') AS guide,
                     bool_or(event IN ('product_viewed', 'add_to_cart')) AS decision
                   FROM ev GROUP BY 1)
        SELECT guide, avg(decision::int) FROM c WHERE cons GROUP BY 1""").fetchall())
    assert rates[True] >= 1.6 * rates[False]


def test_winback_clickers_buy_again_more_often(demo):
    _, con, _ = demo
    rates = dict(con.execute("""
        WITH b AS (SELECT person, count(*) FILTER (event = 'order_completed') AS orders,
                          bool_or(url LIKE '%utm_campaign=winback_60d%') AS winback FROM ev GROUP BY 1)
        SELECT winback, avg((orders > 1)::int) FROM b WHERE orders > 0 GROUP BY 1""").fetchall())
    assert rates[True] >= 1.4 * rates[False]


def test_planted_effects_are_documented():
    assert len(PLANTED_EFFECTS) >= 3
    for effect in PLANTED_EFFECTS:
        assert effect.name and effect.description and effect.how_to_see and effect.expected
    doc = (Path(__file__).parents[1] / "docs" / "demo.md").read_text()
    assert all(effect.name in doc for effect in PLANTED_EFFECTS)


# --------------------------------------------------------------------------- files and the CRM export


def test_files_progress_and_parts(demo, tmp_path):
    files, con, seen = demo
    assert seen == sorted(seen) and seen[-1] == files.events
    assert one(con, "SELECT count(*) FROM raw")[0] == files.events
    assert sorted(p.name for p in files.events_dir.iterdir()) == ["part-00000.parquet"]
    big = write_demo_files(tmp_path, DemoSpec(customers=20_001, days=30))
    assert sorted(p.name for p in big.events_dir.iterdir()) == ["part-00000.parquet", "part-00001.parquet"]
    small = write_demo_files(tmp_path, DemoSpec(customers=100, days=30))  # stale parts are removed
    assert sorted(p.name for p in small.events_dir.iterdir()) == ["part-00000.parquet"]


def test_crm_export_joins_the_web_data_and_has_exactly_the_broken_rows(demo):
    files, _, _ = demo
    with open(files.crm_csv, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        assert tuple(next(reader)) == CRM_COLUMNS
        records = list(reader)
    assert len(records) == files.crm_rows
    reasons = [broken_reason(r) for r in records]
    broken = [r for r in reasons if r]
    assert len(broken) == files.crm_broken_rows > 0
    assert set(broken) == {"timestamp", "identifiers", "amount", "fields"}
    assert files.crm_broken_rows < 0.03 * files.crm_rows
    assert set(files.crm_column_map) <= set(CRM_COLUMNS) and files.crm_column_map == CRM_COLUMN_MAP
    con = duckdb.connect()
    web = con.execute(f"SELECT DISTINCT user_id, lower(email) FROM read_parquet('{files.events_dir}/*.parquet') "
                      "WHERE type = 'identify' AND user_id IS NOT NULL").fetchall()
    users, emails = {u for u, _ in web}, {e for _, e in web}
    good = [dict(zip(CRM_COLUMNS, r)) for r, why in zip(records, reasons) if not why]
    assert {r["activity"] for r in good} == {"store_visit", "pos_purchase", "support_call"}
    for r in good:
        assert r["crm_contact_id"] in users or r["contact_email"].lower() in emails
        assert (r["amount"] != "") == (r["activity"] == "pos_purchase")
    assert sum(r["contact_email"] != "" and r["contact_email"] != r["contact_email"].lower() for r in good) > 0


def test_demo_loads_through_the_ingest_with_the_broken_rows_rejected(tmp_path):
    pytest.importorskip("journeymap.channels")
    pytest.importorskip("journeymap.identity")
    import journeymap

    files = write_demo_files(tmp_path / "files", DemoSpec(customers=500, seed=9, days=120))
    with journeymap.open(tmp_path / "store.duckdb") as jm:
        web = jm.load(files.events_dir)
        crm = jm.load(files.crm_csv, map=files.crm_column_map)
        assert web.rejected == 0 and web.accepted == files.events
        assert crm.rejected == files.crm_broken_rows
        assert crm.accepted == files.crm_rows - files.crm_broken_rows


def test_properties_json_is_compact_and_has_event_keys():
    t = table(DemoSpec(customers=2_000, seed=8))
    props = {}
    for event, text in zip(t.column("event").to_pylist(), t.column("properties").to_pylist()):
        props.setdefault(event, set()).update(json.loads(text))
    assert {"order_id", "product_id", "quantity"} <= props["order_completed"]
    assert {"rating", "review_text"} <= props["review_submitted"]
    assert {"error_code"} <= props["checkout_error"]
    assert {"score"} <= props["nps_submitted"]
    assert all("device" in keys for keys in props.values())
