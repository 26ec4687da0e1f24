"""Channel classification: real-world touchpoints in, channels out (DuckDB).

``CASES`` is the one data table of this module; tests/conformance/test_channels_conformance.py
runs the very same table on DuckDB and Spark. Every case says why it gets its channel.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import ibis
import pyarrow as pa
from ibis import _
import pytest

from journeymap.channels import (
    CHANNEL_LABELS, CHANNELS, CONDITION_KEYS, PRESET_FILE, channel_expr, classify_channels, describe_rules,
    load_channel_rules,
)
from journeymap.config import ChannelSettings, settings_from_toml
from journeymap.errors import ConfigError

INPUT_COLUMNS = ("type", "event", "url", "referrer", "utm_source", "utm_medium", "utm_campaign", "channel")
SHOP = "https://shop.example.com/"
#: Settings the case table runs with: our own sites are example.com and its subdomains.
CASE_SETTINGS = ChannelSettings(internal_domains=["example.com"])


class Case(NamedTuple):
    id: str
    expected: str
    why: str
    inputs: dict


def case(id: str, expected: str, why: str, **inputs: str | None) -> Case:
    inputs.setdefault("type", "page")
    inputs.setdefault("event", "page_view")
    return Case(id, expected, why, inputs)


CASES: list[Case] = [
    # --- click ids --------------------------------------------------------------------
    case("gclid", "paid_search", "Google Ads auto-tagging; beats the google referrer",
         url=SHOP + "landing?gclid=EAIaIQobChMI", referrer="https://www.google.com/"),
    case("gbraid", "paid_search", "iOS Google Ads click id", url=SHOP + "?gbraid=0AAAAA"),
    case("msclkid", "paid_search", "Microsoft Ads click id", url=SHOP + "?q=1&msclkid=abc", referrer="https://www.bing.com/"),
    case("gclid-upper", "paid_search", "parameter names are matched case-insensitively", url=SHOP + "?GCLID=abc"),
    case("gclid-empty", "direct", "an empty click id is no click id", url=SHOP + "?gclid=&x=1"),
    case("gclid-lookalike", "direct", "xgclid is not gclid", url=SHOP + "?xgclid=abc"),
    case("dclid", "display", "Campaign Manager / DV360 display click id", url=SHOP + "?dclid=CJ"),
    case("ttclid", "paid_social", "TikTok ads click id", url=SHOP + "?ttclid=E.C.P"),
    case("li-fat-id", "paid_social", "LinkedIn ads click id", url=SHOP + "?li_fat_id=1234-5678"),
    case("fbclid-referrer", "organic_social", "fbclid alone is not paid (GA4); Facebook referrer",
         url=SHOP + "?fbclid=IwAR", referrer="https://l.facebook.com/l.php?u=x"),
    case("fbclid-alone", "organic_social", "fbclid proves Facebook even when the in-app browser drops the referrer",
         url=SHOP + "?fbclid=IwAR"),
    case("fbclid-tagged-paid", "paid_social", "utm tags say paid social: they beat the bare fbclid",
         url=SHOP + "?fbclid=IwAR", utm_source="facebook", utm_medium="paid_social"),
    # --- utm tags ---------------------------------------------------------------------
    case("google-cpc", "paid_search", "GA4 Paid Search: search source + cpc", utm_source="google", utm_medium="cpc"),
    case("google-cpc-messy", "paid_search", "case and whitespace are ignored", utm_source=" Google", utm_medium=" CPC "),
    case("facebook-cpc", "paid_social", "GA4 Paid Social: social source + cpc", utm_source="facebook", utm_medium="cpc"),
    case("fb-paid", "paid_social", "paid... medium from fb", utm_source="FB", utm_medium="paid"),
    case("youtube-cpc", "video", "GA4 Paid Video: video source + cpc", utm_source="youtube", utm_medium="cpc"),
    case("unknown-cpc", "paid_search", "paid medium, unknown source: paid search (no paid-other channel)",
         utm_source="acme-ads", utm_medium="cpc"),
    case("paid-search-medium", "paid_search", "the medium says so", utm_medium="paid-search"),
    case("paid-social-medium", "paid_social", "the medium says so, whatever the source", utm_source="tiktok", utm_medium="Paid_Social"),
    case("email-medium", "email", "GA4 Email", utm_source="spring_sale", utm_medium=" E-Mail "),
    case("email-medium-google-source", "email", "an explicit medium beats the source list", utm_source="google", utm_medium="email"),
    case("newsletter-medium", "email", "newsletter medium", utm_medium="newsletter"),
    case("newsletter-source", "email", "utm_source only: newsletter", utm_source="Newsletter"),
    case("facebook-source", "organic_social", "utm_source only: a social network", utm_source="facebook"),
    case("facebook-domain-source", "organic_social", "a source written as a domain", utm_source="m.facebook.com"),
    case("lookalike-source", "direct", "notfacebook.com is not Facebook", utm_source="notfacebook.com"),
    case("instagram-social", "organic_social", "social medium", utm_source="instagram", utm_medium="social"),
    case("sm-medium", "organic_social", "GA4's 'sm' social medium, upper-cased", utm_medium="SM"),
    case("affiliate", "affiliate", "GA4 Affiliates", utm_source="awin", utm_medium="affiliate"),
    case("banner", "display", "GA4 Display", utm_source="gdn", utm_medium="banner"),
    case("google-cpm", "display", "cpm is display (GA4 would say paid search for google)", utm_source="google", utm_medium="cpm"),
    case("video-medium", "video", "medium containing video", utm_source="partner", utm_medium="paid_video"),
    case("organic-medium", "organic_search", "GA4 Organic Search medium", utm_source="google", utm_medium="organic"),
    case("referral-medium", "referral", "GA4 Referral medium", utm_source="partner.com", utm_medium="referral"),
    case("push", "app", "push notification medium", utm_source="braze", utm_medium="push"),
    case("ga-direct", "direct", "GA's (direct) marker beats the referrer", utm_source="(direct)", utm_medium="(none)",
         referrer="https://partner.net/"),
    case("utm-in-url-only", "email", "utm parameters read from the URL when the columns are empty",
         url=SHOP + "?utm_source=Newsletter&UTM_Medium=Email", utm_medium=""),
    case("utm-columns-beat-url", "paid_social", "utm columns that are given win over the URL's query",
         url=SHOP + "?utm_source=google&utm_medium=organic", utm_source="Facebook", utm_medium="cpc"),
    case("utm-in-url-after-clid", "paid_search", "a click id decides before utm is read from the URL",
         url=SHOP + "?utm_source=newsletter&utm_medium=email&gclid=x"),
    case("unknown-medium", "referral", "an unrecognised medium falls through to the referrer",
         utm_source="sms_blast", utm_medium="sms", referrer="https://partner.net/"),
    # --- referrers ------------------------------------------------------------------------
    case("google-uk", "organic_search", "country Google", referrer="https://www.google.co.uk/"),
    case("google-upper-no-scheme", "organic_search", "no scheme, upper case", referrer="GOOGLE.COM"),
    case("google-no-scheme-path", "organic_search", "no scheme, with path", referrer="google.com/search?q=shoes"),
    case("google-news", "organic_search", "subdomain of Google", referrer="https://news.google.com/articles/x"),
    case("google-evil", "referral", "google.com.evil.example is not Google", referrer="https://google.com.evil.example/"),
    case("not-google", "referral", "notgoogle.com is not Google", referrer="https://notgoogle.com/"),
    case("userinfo-trick", "referral", "the host is after the @", referrer="https://google.com@evil.example/x"),
    case("bing-port", "organic_search", "port is stripped", referrer="https://www.bing.com:443/search?q=x"),
    case("duckduckgo", "organic_search", "search engine", referrer="https://duckduckgo.com/"),
    case("google-app", "organic_search", "Google search app on Android",
         referrer="android-app://com.google.android.googlequicksearchbox/"),
    case("lm-facebook", "organic_social", "Facebook link shim", referrer="https://lm.facebook.com/l.php"),
    case("t-co", "organic_social", "Twitter/X short links", referrer="https://t.co/AbC"),
    case("x-com", "organic_social", "X", referrer="https://x.com/someone/status/1"),
    case("box-com", "referral", "box.com is not x.com", referrer="https://box.com/s/1"),
    case("lnkd", "organic_social", "LinkedIn short links", referrer="http://lnkd.in/abc"),
    case("youtube", "video", "video site", referrer="https://m.youtube.com/watch?v=1"),
    case("youtu-be", "video", "YouTube short links", referrer="https://youtu.be/abc"),
    case("gmail", "email", "webmail beats google.*", referrer="https://mail.google.com/mail/u/0/"),
    case("gmail-app", "email", "Gmail app on Android", referrer="android-app://com.google.android.gm"),
    case("outlook", "email", "webmail", referrer="https://outlook.live.com/mail/0/"),
    case("blog-referral", "referral", "another site", referrer="https://blog.partner.org/post", url=SHOP),
    case("protocol-relative", "referral", "//host is a host", referrer="//partner.net/page"),
    case("self-referral", "direct", "same host is internal navigation",
         url=SHOP + "cart", referrer=SHOP + "products"),
    case("self-referral-www-port", "direct", "www. and ports do not make it external",
         url="https://www.shop.acme.io/", referrer="http://shop.acme.io:8080/"),
    case("internal-domain", "direct", "configured internal domain, subdomains included",
         url=SHOP, referrer="https://blog.example.com/post"),
    case("internal-not-suffix", "referral", "myexample.com is not example.com", referrer="https://myexample.com/"),
    # --- malformed and empty ------------------------------------------------------------
    case("garbage-referrer", "direct", "'not a url' has no host", referrer="not a url"),
    case("scheme-only", "direct", "'http://' has no host", referrer="http://"),
    case("percent", "direct", "'%%%' has no host", referrer="%%%", url="%%%"),
    case("whitespace", "direct", "blank is empty", referrer="   ", utm_source=" ", utm_medium="\t", channel=" "),
    case("padded-referrer", "organic_social", "tabs, newlines and spaces around a URL",
         referrer=" \thttps://www.facebook.com/\n"),
    case("f-and-v-edges", "video", "values starting with f or v survive trimming (Spark TRIM reads '\\f' as 'f')",
         utm_source="facebook", utm_medium="video"),
    case("all-null", "direct", "nothing at all", type=None, event=None),
    case("all-empty", "direct", "empty strings everywhere", type="", event="", url="", referrer="",
         utm_source="", utm_medium="", utm_campaign="", channel=""),
    # --- apps -----------------------------------------------------------------------------
    case("screen", "app", "a screen event with no other signal", type="screen", event="screen_view"),
    case("screen-upper", "app", "type is case-insensitive", type="SCREEN", event="Home"),
    case("screen-email", "email", "campaign tags beat the app", type="screen", event="screen_view", utm_medium="email"),
    case("screen-referral", "referral", "an outside referrer beats the app", type="screen", referrer="https://partner.net/"),
    case("app-url", "app", "app deep link", type="track", event="Product Viewed", url="app://product/42"),
    # --- what happened ------------------------------------------------------------------
    case("support-chat", "customer_service", "a support chat, even on an ad landing page",
         type="track", event="support_chat_started", url=SHOP + "?gclid=1"),
    case("live-chat", "customer_service", "spaces and capitals", type="track", event="Live Chat Started"),
    case("support-call", "customer_service", "support call", type="track", event="support_call"),
    case("ticket", "customer_service", "ticket", type="track", event="support_ticket_created"),
    case("ticket-camel", "customer_service", "camelCase names", type="track", event="TicketCreated"),
    case("ticket-purchase", "direct", "buying an event ticket is not support", type="track", event="ticket_purchased"),
    case("call-to-action", "direct", "a call-to-action is not a call", type="track", event="call_to_action_clicked"),
    case("store-visit", "offline", "store visit", type="track", event="Store Visit"),
    case("pos", "offline", "point-of-sale purchase", type="track", event="pos_purchase"),
    case("in-store", "offline", "in-store purchase", type="track", event="in_store_purchase"),
    case("post-purchase", "direct", "post_purchase is not a POS purchase", type="track", event="post_purchase_survey"),
    # --- source-supplied channel ------------------------------------------------------------
    case("supplied-email", "email", "the source's own channel beats everything", channel="Email", url=SHOP + "?gclid=1"),
    case("supplied-spaced", "paid_search", "ids in any spelling", channel=" PAID SEARCH "),
    case("supplied-label", "offline", "labels are accepted", channel="In-store / offline", type="track", event="order"),
    case("supplied-segment", "organic_search", "Segment's channel=browser is not a marketing channel",
         channel="browser", referrer="https://www.google.com/"),
    case("supplied-unknown", "referral", "unknown supplied channel is ignored", channel="tv", referrer="https://partner.net/"),
]


def cases_table(cases: list[Case] = CASES) -> pa.Table:
    """One row per case: case_id plus every input column (all strings)."""
    columns = {"case_id": [c.id for c in cases]}
    for name in INPUT_COLUMNS:
        columns[name] = [c.inputs.get(name) for c in cases]
    return pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})


def test_case_table_is_big_and_unique():
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)
    assert {c.expected for c in CASES} == set(CHANNELS)  # every channel is exercised


@pytest.fixture(scope="module")
def classified() -> dict[str, str]:
    con = ibis.duckdb.connect()
    t = con.create_table("cases", cases_table())
    out = classify_channels(t, load_channel_rules(CASE_SETTINGS)).select("case_id", "channel").to_pyarrow()
    return dict(zip(out["case_id"].to_pylist(), out["channel"].to_pylist()))


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_case(c: Case, classified):
    assert classified[c.id] == c.expected, c.why


def test_channel_expr_agrees_with_classify_channels(classified):
    t = ibis.memtable(cases_table())
    expr = t.select("case_id", channel=channel_expr(t, load_channel_rules(CASE_SETTINGS))).to_pyarrow()
    assert dict(zip(expr["case_id"].to_pylist(), expr["channel"].to_pylist())) == classified


def test_row_by_row_agrees_with_distinct_combinations(classified):
    t = ibis.memtable(cases_table())
    out = classify_channels(t, load_channel_rules(CASE_SETTINGS), distinct=False).select("case_id", "channel").to_pyarrow()
    assert dict(zip(out["case_id"].to_pylist(), out["channel"].to_pylist())) == classified


# --- messy inputs: every plan gives the same channels ---------------------------------------

_PIECES = ["", " ", "\t", "\n", "http://", "https://", "HTTPS://", "android-app://", "app://", "//", "ftp+x.y://", "www.",
           "www1.", "www123.", "WWW.", "www", "user@", "a:b@", "@", "google", "google.com", "google.co.uk", "mail.google.com",
           "l.facebook.com", "notfacebook.com", "x.com", "t.co", "com.google.android.gm", "example.com", "blog.example.com",
           ".", "..", "-", "_", ":", ":8080", "/", "?", "#", "&", "=", "%20", "+", "gclid=", "gclid=1", "GCLID=x", "xgclid=1",
           "fbclid=a", "dclid=", "ttclid=q", "utm_source=", "utm_source=Google", "utm_medium=cpc", "UTM_Medium=Email",
           "utm_source=fb&", "utm_medium=paid+social", "utm_medium=e%20mail", "é", "ü.de", "a", "b1", "com", "%%%"]
_LABELS = ["www", "www1", "www1234", "wwwx", "a", "b-c", "x_y", "google", "co", "uk", "com", "", "example", "mail", "facebook", "9"]


def messy_table(rows: int = 400, seed: int = 7) -> pa.Table:
    """Random URL-like strings, well-formed and not, and messy other inputs, with repeats;
    ``id`` numbers the rows. The same seed gives the same table."""
    import random

    rnd = random.Random(seed)

    def url() -> str | None:
        if rnd.random() < 0.1:
            return None
        if rnd.random() < 0.6:  # the usual shape, with the odd twist
            host = ".".join(rnd.choice(_LABELS) for _ in range(rnd.randint(1, 4)))
            return (rnd.choice(["https://", "http://", "//", "", "app://", "a+b.c-d://", "1http://"])
                    + rnd.choice(["", "", "", "u@", "u:p@"]) + host + rnd.choice(["", "", ".", ":", ":80", ":x"])
                    + rnd.choice(["", "/", "/p?q=1", "?gclid=1", "#f", "/x?utm_source=a&utm_medium=cpc", " x"]))
        return "".join(rnd.choice(_PIECES) for _ in range(rnd.randint(0, 6)))

    choices = {"type": ["page", "screen", "track", " Screen ", "", None],
               "event": ["page_view", "support_chat_started", "Live Chat Started", "store_visit", "order", "", None],
               "utm_source": [None, "", " ", " Google ", "facebook", "m.facebook.com", "newsletter", "(direct)", "acme"],
               "utm_medium": [None, "", "\t", " CPC ", "paid", "paid_social", "E-Mail", "video", "push", "organic", "xx"],
               "utm_campaign": [None, "x", "aff_1"],
               "channel": [None, "", " ", "Email", "browser", " PAID SEARCH ", "pos", "tv"]}
    data = [{"url": url(), "referrer": url(), **{k: rnd.choice(v) for k, v in choices.items()}} for _ in range(rows)]
    data += data[: rows // 4]  # repeated combinations
    columns = {"id": [str(i) for i in range(len(data))]} | {k: [r[k] for r in data] for k in data[0]}
    return pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})


#: Settings for the messy table: user rules over every side, internal domains.
MESSY_SETTINGS = ChannelSettings(internal_domains=["example.com"], rules=[
    {"name": "u1", "channel": "affiliate", "when": {"url_domain": "example.com", "referrer": "external"}},
    {"name": "u2", "channel": "video", "when": {"referrer_matches": "^android-app://", "url_param": ["x", "gclid"]}},
    {"name": "u3", "channel": "display", "when": {"utm_campaign_matches": "^aff_", "referrer_domain": "google.*"}},
])


@pytest.mark.parametrize("settings", [None, MESSY_SETTINGS], ids=["preset", "user-rules"])
def test_plans_agree_on_messy_inputs(settings):
    t = ibis.memtable(messy_table())
    rules = load_channel_rules(settings)
    plans = {"distinct": classify_channels(t, rules), "rows": classify_channels(t, rules, distinct=False),
             "inline": t.mutate(channel=channel_expr(t, rules))}
    results = {}
    for name, expr in plans.items():
        out = expr.select("id", "channel").to_pyarrow()
        results[name] = dict(zip(out["id"].to_pylist(), out["channel"].to_pylist()))
    assert len(results["distinct"]) == t.count().execute()
    assert set(results["distinct"].values()) <= set(CHANNELS)
    assert results["distinct"] == results["rows"] == results["inline"]


def test_host_fast_path_is_the_full_regex():
    from journeymap.channels import _HOST, _host

    t = ibis.memtable(messy_table(1000, seed=3))
    urls = t.select(u=t.url.lower()).select("u", full=_.u.re_extract(_HOST, 1).nullif(""), fast=_host(_.u)).to_pyarrow()
    assert urls["full"].to_pylist() == urls["fast"].to_pylist()
    assert sum(h is not None for h in urls["fast"].to_pylist()) > 200  # the fast paths were taken


def test_distinct_keeps_every_row_and_column():
    """NULL-safe join back: repeated and NULL combinations neither vanish nor multiply."""
    t = ibis.memtable(pa.table({
        "id": ["1", "2", "3", "4", "5"], "url": [None, None, SHOP, SHOP, ""],
        "referrer": [None, None, "https://www.google.com/", "https://www.google.com/", None],
        "channel": [None, None, None, "Email", None], "payload": ["a", "b", "c", "d", "e"]}))
    out = classify_channels(t).order_by("id").to_pyarrow()
    assert out.column_names == list(t.columns)
    assert out["id"].to_pylist() == ["1", "2", "3", "4", "5"] and out["payload"].to_pylist() == list("abcde")
    assert out["channel"].to_pylist() == ["direct", "direct", "organic_search", "email", "direct"]


def test_classify_keeps_other_columns_and_replaces_channel():
    t = ibis.memtable(cases_table())
    out = classify_channels(t)
    assert out.columns == t.columns
    assert not [c for c in out.columns if c.startswith("_jm")]


def test_missing_columns_are_treated_as_null():
    t = ibis.memtable({"referrer": ["https://www.google.de/", None]})
    assert classify_channels(t).channel.to_list() == ["organic_search", "direct"]


def test_never_null_on_random_strings():
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    text = st.one_of(st.none(), st.text(max_size=30), st.sampled_from(
        ["https://", "//", "?gclid=", "android-app://", "www.", ":8080", "@", "google.", "cpc", "screen"]))
    rows = st.lists(st.fixed_dictionaries({c: text for c in INPUT_COLUMNS}), min_size=1, max_size=30)
    rules = load_channel_rules()

    @hypothesis.settings(max_examples=25, deadline=None)
    @hypothesis.given(rows)
    def check(batch):
        t = ibis.memtable(pa.table({c: pa.array([r[c] for r in batch], pa.string()) for c in INPUT_COLUMNS}))
        assert set(classify_channels(t, rules).channel.to_list()) <= set(CHANNELS)

    check()


# --- precedence ----------------------------------------------------------------------------

def _one(rules, **inputs: str) -> str:
    return classify_channels(ibis.memtable({k: [v] for k, v in inputs.items()}), rules).channel.to_list()[0]


def test_user_rules_win_over_the_preset_and_go_in_order():
    settings = settings_from_toml("""
[[channels.rules]]
name = "google-partners"
channel = "affiliate"
when = {utm_source = "google", utm_campaign_matches = "^partner"}
[[channels.rules]]
name = "all-google"
channel = "display"
when = {utm_source = "Google"}
""").channels
    rules = load_channel_rules(settings)
    assert [r.name for r in rules.rules[:2]] == ["google-partners", "all-google"]
    assert _one(rules, utm_source="google", utm_medium="cpc", utm_campaign="Partner_Q3") == "affiliate"
    assert _one(rules, utm_source="google", utm_medium="cpc", utm_campaign="brand") == "display"
    assert _one(load_channel_rules(), utm_source="google", utm_medium="cpc") == "paid_search"


def test_source_supplied_channel_is_kept_before_user_rules():
    rules = load_channel_rules(ChannelSettings(rules=[{"channel": "affiliate", "when": {"utm_source": "google"}}]))
    assert _one(rules, channel="Paid_Social", utm_source="google") == "paid_social"
    assert _one(rules, channel="server", utm_source="google") == "affiliate"


def test_preset_none_keeps_only_user_rules_and_fallback():
    rules = load_channel_rules(ChannelSettings(preset="none", rules=[{"channel": "email", "when": {"utm_medium": "mail"}}]))
    assert [r.name for r in rules.rules] == ["rule-1"]
    assert _one(rules, utm_medium="mail") == "email"
    assert _one(rules, utm_source="google", utm_medium="cpc", referrer="https://www.google.com/") == "referral"


def test_user_rule_conditions_cover_the_vocabulary():
    rule = {"channel": "affiliate", "when": {
        "type": ["page"], "event": ["Page_View"], "event_matches": "view", "utm_source": "awin",
        "utm_source_matches": "^aw", "utm_medium": "cpc", "utm_medium_matches": "c$", "utm_campaign": "x",
        "utm_campaign_matches": "^x$", "source_category": "search", "url_param": "aff_id",
        "url_domain": "https://www.example.com/", "url_matches": "/deals/", "referrer": "external",
        "referrer_domain": "partner.net", "referrer_category": "social", "referrer_matches": "^https://"}}
    assert set(rule["when"]) == set(CONDITION_KEYS)
    rules = load_channel_rules(ChannelSettings(rules=[rule]))
    conditions = {c.key: c.values for c in rules.rules[0].conditions}
    assert conditions["source_category"] == ("search",) and conditions["url_domain"] == ("example.com",)
    inputs = dict(type="page", event="page_view", utm_source="awin", utm_medium="cpc", utm_campaign="x",
                  url="https://shop.example.com/deals/?aff_id=7", referrer="https://partner.net/")
    # source_category=search and referrer_category=social cannot hold for awin / partner.net
    assert _one(rules, **inputs) == "paid_search"
    loose = {k: v for k, v in rule["when"].items() if k not in ("source_category", "referrer_category")}
    assert _one(load_channel_rules(ChannelSettings(rules=[{"channel": "affiliate", "when": loose}])), **inputs) == "affiliate"


# --- configuration errors --------------------------------------------------------------------

def _error(rules: list[dict], **settings) -> str:
    with pytest.raises(ConfigError) as info:
        load_channel_rules(ChannelSettings(rules=rules, **settings))
    return str(info.value)


def test_unknown_channel_names_rule_and_key():
    message = _error([{"name": "ok", "channel": "email", "when": {"utm_medium": "mail"}},
                      {"name": "tv-spots", "channel": "tv", "when": {"utm_medium": "tv"}}])
    assert "rule 2 (tv-spots)" in message and "'channel'" in message and "unknown channel 'tv'" in message
    assert "Fix:" in message and "paid_search" in message


def test_unknown_condition_key_suggests_the_right_one():
    message = _error([{"channel": "email", "when": {"utm_mediun": "mail"}}])
    assert "rule 1 (rule-1)" in message and "'utm_mediun'" in message
    assert "did you mean 'utm_medium'" in message


@pytest.mark.parametrize("pattern, complaint", [
    ("(unclosed", "bad regex"),
    ("^(?!internal)", "look-around"),
    (r"(a)\1", "back-references"),
    ("[[:alpha:]]+", "POSIX"),
    ("Newsletter", "lower case"),
])
def test_bad_regex_names_rule_and_key(pattern, complaint):
    message = _error([{"name": "mail-rule", "channel": "email", "when": {"utm_source_matches": pattern}}])
    assert "rule 1 (mail-rule)" in message and "'utm_source_matches'" in message and complaint in message


def test_unknown_preset():
    message = _error([], preset="ga4-strict")
    assert "setting channels.preset" in message and "'ga4-strict'" in message and "default" in message


@pytest.mark.parametrize("when, complaint", [
    ({"referrer": "outside"}, "use one of: none, internal, external"),
    ({"referrer_category": "shopping"}, "use one of: email, search, social, video"),
    ({"type": "click"}, "use one of: track, page"),
    ({"referrer_domain": "not a domain"}, "is not a domain"),
    ({"url_param": "gclid="}, "query parameter name"),
    ({"utm_source": 42}, "expected a string"),
    ({"utm_source": []}, "expected a string"),
    ({}, "at least one condition"),
])
def test_bad_condition_values(when, complaint):
    message = _error([{"name": "r", "channel": "email", "when": when}])
    assert "rule 1 (r)" in message and complaint in message


def test_bad_internal_domain():
    message = _error([], internal_domains=["my site"])
    assert "channels.internal_domains" in message and "'my site'" in message


def test_internal_domains_are_normalised():
    rules = load_channel_rules(ChannelSettings(internal_domains=["https://www.Example.com/", "*.example.org"]))
    assert rules.internal_domains == ("example.com", "example.org")


# --- describing the rules -------------------------------------------------------------------

def test_describe_rules_lists_the_full_precedence():
    rules = load_channel_rules(ChannelSettings(rules=[{"name": "mine", "channel": "affiliate", "when": {"utm_medium": ["aff", "partner"]}}]))
    rows = describe_rules(rules)
    assert [r["precedence"] for r in rows] == list(range(1, len(rules.rules) + 4))
    assert rows[1] == {"precedence": 2, "name": "mine", "channel": "affiliate",
                       "conditions": "utm_medium is one of: aff, partner", "origin": "user"}
    assert rows[2]["origin"] == "preset default" and rows[2]["conditions"].endswith("(+7 more)")
    assert all(set(r) == set(rows[0]) for r in rows)
    assert "(+" not in " ".join(r["conditions"] for r in describe_rules(rules, max_items=None))


def test_labels_cover_every_channel():
    assert set(CHANNEL_LABELS) == set(CHANNELS) and CHANNEL_LABELS["offline"] == "In-store / offline"


def test_docs_list_channels_rules_and_conditions_in_order():
    docs = (Path(__file__).resolve().parents[1] / "docs" / "channels.md").read_text(encoding="utf-8")
    for channel, label in CHANNEL_LABELS.items():
        assert f"`{channel}`" in docs and label in docs
    for key in CONDITION_KEYS:
        assert f"`{key}`" in docs
    names = [r.name for r in load_channel_rules().rules]
    positions = [docs.find(f"| `{n}` |") for n in names]
    assert -1 not in positions, [n for n, p in zip(names, positions) if p == -1]
    assert positions == sorted(positions), "docs/channels.md lists the rules out of order"


def test_preset_file_regexes_are_portable():
    text = PRESET_FILE.read_text(encoding="utf-8")
    assert not re.search(r"\(\?[=!<]", text)
    load_channel_rules()  # validates every preset rule


def test_docs_config_example_is_valid():
    docs = (Path(__file__).resolve().parents[1] / "docs" / "channels.md").read_text(encoding="utf-8")
    example = re.search(r"```toml\n(.*?)```", docs, re.S).group(1)
    rules = load_channel_rules(settings_from_toml(example).channels)
    assert [r.name for r in rules.rules[:4]] == ["affiliate-networks", "impact-click-ids", "ai-assistants", "boosted-posts"]
    assert _one(rules, url="https://shop.example.com/?irclickid=x1", referrer="https://www.google.com/") == "affiliate"
    assert _one(rules, referrer="https://chatgpt.com/") == "referral"
    assert _one(rules, utm_source="facebook", utm_medium="Boosted") == "paid_social"
    assert _one(rules, url="https://shop.example-shop.de/", referrer="https://blog.example.com/") == "direct"
