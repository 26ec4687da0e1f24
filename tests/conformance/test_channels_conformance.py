"""Channel classification gives the same, expected channels on DuckDB (RE2) and Spark (Java regex).

Runs the case table of tests/test_channels.py unchanged on every backend, through both
``classify_channels`` (helper columns) and ``channel_expr`` (one inline expression).
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from journeymap.channels import channel_expr, classify_channels, load_channel_rules
from journeymap.config import ChannelSettings

from ..test_channels import CASE_SETTINGS, CASES, cases_table
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
