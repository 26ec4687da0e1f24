"""The customer journey map: hand-worked lane numbers, escaping, offline HTML, sentiment, and a
real headless-Chromium render (skipped when /usr/bin/chromium is not installed).

The journey is tests/map_cases.py (four-stage preset, hand-written stage entries). Every
expected number below is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import re
import struct
import sys
import zlib
from pathlib import Path

import ibis
import pytest

from journeymap.errors import JourneymapError
from journeymap.mapview import JourneyMap, build_journey_map, render_html, sentiment_score
from journeymap.mapview.screenshot import BrowserError, dump_dom, find_chromium, png_size, screenshot
from journeymap.stages import load_stage_model
from tests.map_cases import AS_OF, entries_table, events_table

MODEL = load_stage_model(preset="four-stage")


def build(events=None, entries=None, **kw) -> JourneyMap:
    events = ibis.memtable(events if events is not None else events_table())
    entries = ibis.memtable(entries if entries is not None else entries_table())
    return build_journey_map(events, entries, MODEL, as_of=AS_OF, min_customers=2, **kw)


@pytest.fixture(scope="module")
def jm() -> JourneyMap:
    return build()


# --- lanes ---------------------------------------------------------------------------------
def test_kpis(jm):
    # customers per stage: awareness c1..c6, consideration c1 c2 c4 c6, purchase c1 c4, post c4
    assert [s.kpis.customers for s in jm.stages] == [6, 4, 2, 1]
    assert [round(s.kpis.share, 4) for s in jm.stages] == [1.0, 0.6667, 0.3333, 0.1667]
    assert [s.kpis.conversion_to_next for s in jm.stages] == [4 / 6, 0.5, 0.5, None]
    assert [s.kpis.dropped for s in jm.stages] == [2, 2, 1, None]
    # awareness -> consideration: c1 2 d, c2 1 d, c4 4 d, c6 0 d -> median 1.5; p90 2 + 0.7 * 2 = 3.4
    # consideration -> purchase: c1 3 d, c4 4 d -> 3.5 (p90 3.9); purchase -> post: c4 1 d
    assert [s.kpis.median_days_to_next for s in jm.stages] == [1.5, 3.5, 1.0, None]
    assert [s.kpis.p90_days_to_next for s in jm.stages] == [3.4, 3.9, 1.0, None]
    # time in stage over customers who left it: same spans as above; nobody left post_purchase
    assert [s.kpis.median_days_in_stage for s in jm.stages] == [1.5, 3.5, 1.0, None]
    assert [s.kpis.current for s in jm.stages] == [2, 2, 1, 1]
    assert jm.customers == 6 and jm.touchpoints == 25  # 26 events, one identify
    assert jm.subtitle == "All customers \u00b7 01 Jan 2025 \u2013 10 Jan 2025 \u00b7 6 customers"


def test_actions_are_tracked_events_while_in_the_stage(jm):
    # awareness: newsletter_signup by c1 (e02) and c3 (e15); page views are content, not actions
    assert [(a.name, a.count, a.customers) for a in jm.stage("awareness").actions] == [("newsletter_signup", 2, 2)]
    assert jm.stage("awareness").actions[0].share == 2 / 6
    # consideration: checkout_started c1 c2 c4 c6; checkout_error c1 c2; support chat c2
    assert [(a.name, a.count, a.customers) for a in jm.stage("consideration").actions] == [
        ("checkout_started", 4, 4), ("checkout_error", 2, 2), ("support_chat_started", 1, 1)]
    # e06/e19 triggered purchase and belong to it; e20 (NPS 10, c4) is in purchase too
    assert [(a.name, a.count) for a in jm.stage("purchase").actions] == [
        ("nps_submitted", 2), ("order_completed", 2), ("review_submitted", 1)]
    assert [a.name for a in build(top=1).stage("consideration").actions] == ["checkout_started"]


def test_channel_mix(jm):
    # awareness touchpoints: e01 e09 e15 e16 email, e14 e23 paid_social, e02 direct (c6's e25 is in
    # consideration: it triggered both stages at once)
    mix = [(c.name, c.count, c.customers, round(c.share, 4)) for c in jm.stage("awareness").touchpoints]
    assert mix == [("email", 4, 4, 0.5714), ("paid_social", 2, 2, 0.2857), ("direct", 1, 1, 0.1429)]
    # moved on to consideration: email c1 c2 c4 of c1..c4; paid_social neither c3 nor c5; direct c1
    assert [c.conversion_to_next for c in jm.stage("awareness").touchpoints] == [0.75, 0.0, 1.0]
    # consideration: 11 touchpoints, 9 direct; one each customer_service / paid_search (name order)
    mix = [(c.name, c.count) for c in jm.stage("consideration").touchpoints]
    assert mix == [("direct", 9), ("customer_service", 1), ("paid_search", 1)]
    # the last stage has no next stage
    assert [c.conversion_to_next for c in jm.stage("post_purchase").touchpoints] == [None]


def test_content_lane(jm):
    content = jm.stage("awareness").content
    assert [(c.title, c.path, c.views, c.customers) for c in content] == [("Blog A", "/blog/a", 3, 3),
                                                                          ("Home", "/", 2, 2)]
    blog = content[0]
    # readers c1 c2 c4 all moved on; others c3 c5 c6: only c6 did -> 100% vs 33%, uplift +67 pts
    assert (blog.rate_with, round(blog.rate_without, 4), round(blog.uplift, 4), blog.lift) == (1.0, 0.3333, 0.6667, 3.0)
    assert blog.uplift_low < 0  # 3 readers: the 95% interval still includes 0, so no opportunity
    assert [(c.title, c.views) for c in jm.stage("consideration").content] == [("Tents", 4)]


def test_emotions_rating_nps_sentiment(jm):
    purchase = jm.stage("purchase").emotions
    # feelings count in the stage they were given in: c4's 5-star review (e21) triggered
    # post_purchase, so it was given as a buyer. Reviews: 2 stars (c1) and 5 stars (c4) -> 3.5;
    # NPS answers 3 (c1) and 10 (c4) -> (1 - 1) / 2 = 0
    assert (purchase.rating, purchase.rating_count) == (3.5, 2)
    assert (purchase.nps, purchase.nps_count, purchase.promoters, purchase.detractors) == (0.0, 2, 1, 1)
    # "Not good, slow delivery.": "not good" = -0.5 * 2, "slow" = -1 -> -2 / sqrt(4 + 15) = -0.459;
    # "Great tent, love it!" = 3 + 3 -> 6 / sqrt(51) = 0.840; mean 0.19
    assert (purchase.sentiment, purchase.sentiment_count) == (0.19, 2)
    # curve: mean of (3.5 - 3) / 2, 0 / 100 and 0.19 = 0.15
    assert purchase.score == 0.15
    post = jm.stage("post_purchase").emotions
    # only the NPS 9 given after entering post_purchase (e22) -> 100; no review there any more
    assert (post.rating, post.nps, post.nps_count, post.sentiment, post.score) == (None, 100.0, 1, None, 1.0)
    assert not jm.stage("awareness").emotions.has_data


def test_nps_maths_promoters_minus_detractors():
    # NPS answers 0, 6 (detractors), 7, 8 (passives), 9, 10, 10 (promoters): (3 - 2) / 7 = +14.3
    ev = events_table()
    extra = {"event_id": [], "timestamp": [], "type": [], "event": [], "customer_id": [], "channel": [],
             "url": [], "page_title": [], "properties": []}
    from tests.map_cases import day
    for n, score in enumerate([0, 6, 7, 8, 9, 10, 10]):
        for key, value in (("event_id", f"n{n}"), ("timestamp", day(4, 12)), ("type", "track"),
                           ("event", "nps_submitted"), ("customer_id", "c3"), ("channel", "email"),
                           ("url", None), ("page_title", None), ("properties", f'{{"score": {score}}}')):
            extra[key].append(value)
    import pyarrow as pa
    combined = pa.concat_tables([ev, pa.table(extra, schema=ev.schema)])
    em = build(events=combined).stage("awareness").emotions
    assert (em.nps_count, em.promoters, em.detractors, em.nps) == (7, 3, 2, 14.3)


def test_pain_points_in_words(jm):
    assert jm.stage("awareness").pain_points == [
        "2 of 6 customers (33%) did not move on from Awareness to Consideration.",
        "It takes a median 1.5 days to move on from Awareness to Consideration (p90 3.4 days).",
    ]
    # consideration loses 50% (2 of 4); purchase also 50% but fewer customers: consideration is largest
    # checkout: c1 c2 on mobile both erred (2 of 2), c4 c6 on desktop did not -> 2 of 4 overall
    assert jm.stage("consideration").pain_points == [
        "Largest drop-off: 2 of 4 customers (50%) did not move on from Consideration to Purchase.",
        "Slowest step: it takes a median 3.5 days to move on from Consideration to Purchase (p90 3.9 days).",
        "100% of customers with checkout_started on mobile hit checkout_error (payment_form_timeout): "
        "2 of 2 (all devices: 50%).",
        "1 customer (25% of Consideration) contacted support (1 contact); top topic payment_problem (1 customer).",
    ]
    # reviews given as buyers average 3.5 (2 and 5 stars): not below 3.5, so no reviews sentence
    assert jm.stage("purchase").pain_points[-1] == \
        "It takes a median 1 day to move on from Purchase to Post-purchase (p90 1 day)."
    assert not any("Reviews average" in p for p in jm.stage("purchase").pain_points)
    assert jm.stage("post_purchase").pain_points == []


def test_opportunities(jm):
    # awareness: customers with touchpoints there c1..c5, 3 moved on (60%); email 3 of 4 (75%)
    assert jm.stage("awareness").opportunities == [
        "Customers reached via email moved on to Consideration at 75% vs 60% of all customers active in "
        "Awareness (4 customers)."]
    assert jm.stage("post_purchase").opportunities == ["1 promoter (NPS +100): ask them for a review or a referral."]


def test_customers_restriction_draws_the_map_for_a_segment():
    seg = build(customers=ibis.memtable({"customer_id": ["c1", "c3"]}), segment="channel=paid_social")
    # c1 reached purchase, c3 stayed in awareness
    assert [s.kpis.customers for s in seg.stages] == [2, 1, 1, 0]
    assert seg.customers == 2
    # awareness touchpoints of c1 and c3: e01 e15 email, e02 direct, e14 paid_social
    assert [(c.name, c.count) for c in seg.stage("awareness").touchpoints] == [
        ("email", 2), ("direct", 1), ("paid_social", 1)]
    assert seg.subtitle.startswith("Segment: channel=paid_social \u00b7 ")
    assert seg.stage("purchase").emotions.nps_count == 1  # only c1's answer (3)
    with pytest.raises(JourneymapError, match="customer_id"):
        build(customers=ibis.memtable({"id": ["c1"]}))


def test_to_dict_and_save(jm, tmp_path):
    data = jm.to_dict()
    assert data["stages"][2]["emotions"]["score"] == 0.15
    assert data["as_of"].startswith("2025-01-11")
    path = jm.save(tmp_path / "map.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert 'class="jm-map"' in jm._repr_html_()


# --- escaping and offline ------------------------------------------------------------------
EVIL = "<script>alert(1)</script>"


def evil_map() -> JourneyMap:
    ev = events_table(rename={"e02": EVIL, "e15": EVIL})
    ev = ev.set_column(ev.schema.get_field_index("channel"), "channel",
                       [[EVIL if c == "paid_social" else c for c in ev.column("channel").to_pylist()]])
    ev = ev.set_column(ev.schema.get_field_index("page_title"), "page_title",
                       [[EVIL if t == "Home" else t for t in ev.column("page_title").to_pylist()]])
    ev = ev.set_column(ev.schema.get_field_index("url"), "url",
                       [[f'https://s.example/"><script>alert(1)</script>' if u == "https://s.example/" else u
                         for u in ev.column("url").to_pylist()]])
    return build(events=ev, title=EVIL, segment=EVIL)


def test_every_user_string_is_escaped():
    jm = evil_map()
    assert jm.stage("awareness").actions[0].name == EVIL
    page = render_html(jm)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 5  # title x2, segment, event, channel, ...
    assert "&quot;&gt;&lt;script&gt;" in page  # the URL, in a title attribute


def test_html_is_self_contained():
    page = render_html(evil_map())
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "@import" not in page and not re.search(r"url\(\s*['\"]?\s*(?:https?:)?//", page, re.I)
    assert not re.search(r"<(?:script|link|img|iframe|object|embed)\b", page, re.I)
    assert "http://" not in page and "https://" not in page.replace("https://s.example", "")


# --- sentiment -----------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("Great quality and worth every penny.", 0.79),   # 3 + 2 = 5 -> 5 / sqrt(40)
    ("good", 0.46),                                   # 2 / sqrt(19)
    ("not good", -0.25),                              # -0.5 * 2 = -1 -> -1 / 4
    ("It isn't good", -0.25),                         # n't is a negation
    ("never bad", 0.25),                              # -0.5 * -2 = +1
    ("Never again: broken on arrival.", -0.46),       # negation stops at the colon
    ("very good", 0.61),                              # 1.5 * 2 = 3 -> 3 / sqrt(24)
    ("Terrible quality and slow support.", -0.72),    # -3 - 1 = -4
    ("disappointing", -0.46),                         # prefix disappoint*
    ("The tent arrived on Tuesday.", 0.0),            # no lexicon word
    ("", 0.0),
])
def test_sentiment(text, expected):
    assert sentiment_score(text) == expected


def test_sentiment_is_bounded():
    assert sentiment_score("great " * 200) <= 1.0
    assert sentiment_score("terrible " * 200) >= -1.0


# --- a real browser ------------------------------------------------------------------------
def _chromium() -> str | None:
    try:
        return find_chromium()
    except BrowserError:
        return None


needs_chromium = pytest.mark.skipif(_chromium() is None, reason="headless chromium not installed "
                                    "(apt-get install -y chromium)")


def read_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """A tiny PNG reader (8-bit RGB/RGBA, not interlaced): width, height, unfiltered rows."""
    width, height = png_size(data)
    depth, colour, interlace = data[24], data[25], data[28]
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    bpp = 3 if colour == 2 else 4
    pos, idat = 8, b""
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows


@needs_chromium
def test_real_browser_screenshot(jm, tmp_path):
    html = jm.save(tmp_path / "map.html")
    png = screenshot(html, tmp_path / "map.png", width=900, height=500)
    data = png.read_bytes()
    width, height, rows = read_png(data)
    assert (width, height) == (900, 500)
    assert 5_000 < len(data) < 2_000_000
    pixels = {row[i:i + 3] for row in rows[::7] for i in range(0, len(row), 3 * 11)}
    assert len(pixels) > 20  # text, stage colours and white: not a blank page
    assert b"\x2f\x6d\xb5" in b"".join(rows[60:220])  # the first stage's blue header is drawn


@needs_chromium
def test_full_height_screenshot_measures_the_page(jm, tmp_path):
    html = jm.save(tmp_path / "map.html")
    png = screenshot(html, tmp_path / "full.png", width=1200)
    width, height = png_size(png.read_bytes())
    assert width == 1200 and height > 1200  # eight lanes do not fit in one screen


@needs_chromium
def test_escaped_script_does_not_run_in_a_browser(tmp_path):
    jm = evil_map()
    jm.title = "<script>document.title='pwned'</script>"
    jm.stages[0].pain_points.append("<img src=x onerror=\"document.title='pwned'\">")
    html = jm.save(tmp_path / "evil.html")
    dom = dump_dom(html)
    assert "pwned</title>" not in dom
    assert "<title>&lt;script&gt;document.title='pwned'&lt;/script&gt;</title>" in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom  # shown as text
    assert "<script" not in dom.lower() and "<img" not in dom.lower()


def test_missing_chromium_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys.modules["journeymap.mapview.screenshot"], "DEFAULT_CHROMIUM", str(tmp_path / "none"))
    monkeypatch.delenv("JOURNEYMAP_CHROMIUM", raising=False)
    html = tmp_path / "m.html"
    html.write_text("<p>x</p>")
    with pytest.raises(BrowserError, match="apt-get install -y chromium"):
        screenshot(html, tmp_path / "m.png")
    assert isinstance(BrowserError("x"), JourneymapError)
    assert Path(html).exists()
