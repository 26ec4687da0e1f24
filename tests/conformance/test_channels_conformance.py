"""Channel classification gives the same, expected channels on DuckDB (RE2) and Spark (Java regex).

Runs the case table of tests/test_channels.py unchanged on every backend, through every plan:
``classify_channels`` on distinct input combinations (the default) and row by row, and
``channel_expr`` (one inline expression); and a table of messy, random inputs, which must
give DuckDB's channels on every backend, by every plan.
"""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest

from journeymap.channels import _HOST, _host, channel_expr, classify_channels, load_channel_rules
from journeymap.config import ChannelSettings

from ..test_channels import CASE_SETTINGS, CASES, MESSY_SETTINGS, cases_table, messy_table
from .conftest import frame

EXPECTED = {c.id: c.expected for c in CASES}


@pytest.fixture(scope="module")
def rules():
    return load_channel_rules(CASE_SETTINGS)


def test_case_table_on_every_backend(backend, rules):
    events = backend.table("channel_cases", cases_table())
    out = frame(classify_channels(events, rules).select("case_id", "channel"))
    got = dict(zip(out["case_id"], out["channel"]))
    wrong = {case_id: (got[case_id], expected) for case_id, expected in EXPECTED.items() if got[case_id] != expected}
    assert not wrong, f"{backend.name}: case -> (got, expected): {wrong}"


def test_row_by_row_on_every_backend(backend, rules):
    events = backend.table("channel_cases", cases_table())
    out = frame(classify_channels(events, rules, distinct=False).select("case_id", "channel"))
    assert dict(zip(out["case_id"], out["channel"])) == EXPECTED


@pytest.mark.parametrize("settings", [None, MESSY_SETTINGS], ids=["preset", "user-rules"])
def test_messy_inputs_give_duckdb_channels_by_every_plan(backend, settings):
    rules, data = load_channel_rules(settings), messy_table(300, seed=11)
    reference = ibis.memtable(data)
    out = classify_channels(reference, rules, distinct=False).select("id", "channel").to_pyarrow()
    want = dict(zip(out["id"].to_pylist(), out["channel"].to_pylist()))
    events = backend.table("channel_messy", data)
    for plan in (classify_channels(events, rules), classify_channels(events, rules, distinct=False),
                 events.mutate(channel=channel_expr(events, rules))):
        got = frame(plan.select("id", "channel"))
        assert dict(zip(got["id"], got["channel"])) == want, backend.name


def test_host_fast_path_on_every_backend(backend):
    events = backend.table("channel_hosts", messy_table(300, seed=5))
    urls = events.select(u=events.url.lower())
    out = frame(urls.select("u", full=urls.u.re_extract(_HOST, 1).nullif(""), fast=_host(urls.u)), sort_by=["u"])
    assert out["full"].fillna("<none>").tolist() == out["fast"].fillna("<none>").tolist()


def test_inline_expression_on_every_backend(backend, rules):
    events = backend.table("channel_cases", cases_table())
    out = frame(events.select("case_id", channel=channel_expr(events, rules)))
    assert dict(zip(out["case_id"], out["channel"])) == EXPECTED


def test_user_rules_with_regex_escapes_on_every_backend(backend):
    """Backslashes in user regexes survive SQL quoting on both engines."""
    rules = load_channel_rules(ChannelSettings(rules=[
        {"name": "partner-campaigns", "channel": "affiliate", "when": {"utm_campaign_matches": r"^aff\.[0-9]+\b"}},
        {"name": "partner-site", "channel": "referral", "when": {"url_matches": r"\?ref=\w+", "referrer": "none"}},
    ]))
    events = backend.table("channel_regex", pa.table({
        "case_id": ["a", "b", "c"], "utm_campaign": ["AFF.123 spring", "aff-123", None],
        "url": [None, None, "https://shop.example.com/?REF=bob"], "referrer": pa.array([None] * 3, pa.string()),
    }))
    out = frame(classify_channels(events, rules).select("case_id", "channel"))
    assert out["channel"].tolist() == ["affiliate", "direct", "referral"]
