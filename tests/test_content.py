"""Content analytics: the catalogue, URL-rule and text classification, the content stage per
customer and content effectiveness. Small event logs in, tables worked out by hand out.

The case tables (``catalogue_events``, ``effect_events`` / ``effect_entries`` ...) are shared
with tests/conformance/test_content_conformance.py, which runs them on DuckDB and Spark.
"""

from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace as S

import ibis
import pandas as pd
import pyarrow as pa
import pytest

from journeymap.analytics.content import (EFFECTIVENESS_COLUMNS, classify_content, content_catalogue,
                                          content_effectiveness, content_stage_by_customer, newcombe_interval,
                                          stage_scores, wilson_interval)
from journeymap.analytics.content.classify import stem, tokens
from journeymap.errors import ConfigError, InputError
from journeymap.stages import load_stage_model

UTC = dt.timezone.utc


def day(d: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 3, d, hour, minute, tzinfo=UTC)


EVENT_FIELDS = ("event_id", "timestamp", "type", "event", "customer_id", "url", "page_title", "properties")
EVENT_SCHEMA = pa.schema([("event_id", pa.string()), ("timestamp", pa.timestamp("us", tz="UTC")),
                          ("type", pa.string()), ("event", pa.string()), ("customer_id", pa.string()),
                          ("url", pa.string()), ("page_title", pa.string()), ("properties", pa.string())])


def events_table(rows: list[tuple]) -> pa.Table:
    return pa.Table.from_pylist([dict(zip(EVENT_FIELDS, r)) for r in rows], schema=EVENT_SCHEMA)


# --------------------------------------------------------------------------- a small stage model

def toy_model():
    """Three stages of a (non-demo) site, duck-typed like journeymap.stages.StageModel."""
    return S(name="toy", stages=(
        S(name="learn", label="Learn", index=0, content=("/", "/blog/*"),
          description="The visitor discovers the problem and wants to understand it.",
          keywords=("guide", "how", "what", "why", "tips")),
        S(name="compare", label="Compare", index=1, content=("/compare/*", "/reviews/*"),
          description="The visitor weighs the options and reads reviews.",
          keywords=("compare", "vs", "review", "choose", "which", "best")),
        S(name="buy", label="Buy", index=2, content=("/reviews/write", "/cart", "/checkout/*"),
          description="The visitor buys: price, delivery, checkout.",
          keywords=("price", "pricing", "delivery", "checkout", "order")),
    ))


# --------------------------------------------------------------------------- catalogue

SITE = "https://www.bakery.example"


def catalogue_events() -> pa.Table:
    return events_table([
        # the same page: scheme, case, trailing slash, query and fragment do not matter; the
        # most common spelling (e03, e04) is its url
        ("e01", day(1), "page", "page_view", "a", SITE + "/Blog/Sourdough/?utm_source=x", "Sourdough 101", '{"tags": ["Bread", "starter"]}'),
        ("e02", day(2), "page", "page_view", "b", "http://www.bakery.example/blog/sourdough#top", "Sourdough 101 | Bakery", '{"category": "bread"}'),
        ("e03", day(3), "page", "page_view", "a", SITE + "/blog/sourdough", "Sourdough 101 | Bakery", None),
        ("e04", day(4), "page", "page_view", "c", SITE + "/blog/sourdough", "Sourdough 101", '{"device": "mobile"}'),
        # url tie (one each) -> the smaller string; title tie -> the smaller string; no title -> NULL
        ("e05", day(1), "page", "page_view", "a", SITE + "/Pricing", None, None),
        ("e06", day(5), "page", "page_view", "a", SITE + "/pricing", "", None),
        # app screens keep their scheme and host
        ("e07", day(2), "screen", "screen_view", "b", "app://bakery/orders", "Orders", None),
        # the root
        ("e08", day(3), "page", "page_view", "c", SITE + "/", "Home", None),
        ("e09", day(4), "page", "page_view", "c", SITE, "Home", None),
        # not content: track and identify events, no URL, no customer
        ("e10", day(1), "track", "order_completed", "a", SITE + "/checkout", "Checkout", None),
        ("e11", day(1), "page", "page_view", "a", None, "No url", None),
        ("e12", day(1), "page", "page_view", "a", "", "Empty url", None),
        ("e13", day(1), "page", "page_view", None, SITE + "/blog/sourdough", "Sourdough 101", None),
        ("e14", day(1), "identify", "identify", "a", SITE + "/account", None, None),
    ])


EXPECTED_CATALOGUE = [
    # content_id, url, path, title, tags, views, customers, first_seen, last_seen
    ("www.bakery.example/blog/sourdough", SITE + "/blog/sourdough", "/blog/sourdough", "Sourdough 101",
     "bread, starter", 4, 3, day(1), day(4)),
    ("www.bakery.example", SITE, "/", "Home", None, 2, 1, day(3), day(4)),
    ("www.bakery.example/pricing", SITE + "/Pricing", "/pricing", None, None, 2, 1, day(1), day(5)),
    ("app://bakery/orders", "app://bakery/orders", "/orders", "Orders", None, 1, 1, day(2), day(2)),
]


def rows_of(expr: ibis.Table) -> list[tuple]:
    return [tuple(r.values()) for r in expr.to_pyarrow().to_pylist()]


def test_catalogue_aggregates_views_of_one_page_under_every_spelling():
    cat = content_catalogue(ibis.memtable(catalogue_events()))
    assert cat.columns == ("content_id", "url", "path", "title", "tags", "views", "customers", "first_seen",
                           "last_seen")
    assert rows_of(cat) == EXPECTED_CATALOGUE  # ordered by views desc, then content_id


def test_catalogue_url_tie_goes_to_the_smaller_string_and_title_tie_too():
    # "Sourdough 101" (e01, e04) and "Sourdough 101 | Bakery" (e02, e03): 2 each -> the smaller
    # ".../Pricing" and ".../pricing" once each -> "...P" < "...p" (byte order)
    cat = content_catalogue(ibis.memtable(catalogue_events())).to_pandas().set_index("content_id")
    assert cat.loc["www.bakery.example/blog/sourdough", "title"] == "Sourdough 101"
    assert cat.loc["www.bakery.example/pricing", "url"] == SITE + "/Pricing"


def test_catalogue_of_no_content_is_empty():
    events = events_table([("e1", day(1), "track", "signup", "a", SITE + "/x", "X", None)])
    assert content_catalogue(ibis.memtable(events)).count().execute() == 0


def test_catalogue_needs_the_event_columns():
    events = ibis.memtable(catalogue_events()).drop("url")
    with pytest.raises(InputError, match="no column 'url'") as err:
        content_catalogue(events)
    assert err.value.column == "url" and "canonical columns" in str(err.value)


def test_catalogue_works_without_title_and_properties_columns():
    events = ibis.memtable(catalogue_events()).drop("page_title", "properties")
    cat = content_catalogue(events).to_pandas()
    assert cat["title"].isna().all() and cat["tags"].isna().all() and cat["views"].sum() == 9


# --------------------------------------------------------------------------- classification

def test_stemmer_makes_word_forms_meet():
    assert stem("choosing") == stem("choose") and stem("reviews") == stem("review")
    assert stem("pricing") == stem("price") and stem("stories") == stem("story")
    assert tokens("The best of the Blog") == ["best", "blog"]  # stop words, lower-case
    assert tokens("how", stop_words=()) == ["how"]


def catalogue_rows(rows: list[tuple[str, str, str | None]]) -> ibis.Table:
    return ibis.memtable(pd.DataFrame(rows, columns=["content_id", "path", "title"]).assign(tags=None),
                         schema={"content_id": "string", "path": "string", "title": "string", "tags": "string"})


def test_url_rules_most_specific_glob_wins_then_model_order():
    items = catalogue_rows([
        ("x/reviews/write", "/reviews/write", "Write a review"),  # /reviews/write (buy) beats /reviews/* (compare)
        ("x/reviews/tents", "/reviews/tents", "Tent reviews"),  # only /reviews/*
        ("x", "/", "Home"),  # "/" matches only the root
        ("x/blog", "/blog", "Checkout pricing"),  # "/blog/*" needs something after the slash -> text
        ("x/checkout/pay", "/checkout/pay", "Pay"),
    ])
    got = {r[0]: r[1:4] for r in rows_of(classify_content(items, toy_model()))}
    assert got == {
        "x/reviews/write": ("buy", 2, "url_rule"),
        "x/reviews/tents": ("compare", 1, "url_rule"),
        "x": ("learn", 0, "url_rule"),
        "x/blog": ("buy", 2, "text"),
        "x/checkout/pay": ("buy", 2, "url_rule"),
    }


def test_same_specificity_goes_to_the_earlier_stage():
    model = S(stages=(S(name="one", label="One", description="", keywords=(), content=("/a/*",), index=0),
                      S(name="two", label="Two", description="", keywords=(), content=("/*/b",), index=1)))
    out = rows_of(classify_content(catalogue_rows([("x/a/b", "/a/b", None)]), model))
    assert out == [("x/a/b", "one", 0, "url_rule", None, None, None)]


def test_text_classifier_on_a_new_site_with_the_default_model():
    """A bakery's pages (no URL rule of the default preset matches them) go to the obvious stages."""
    items = catalogue_rows([
        ("b/learn/why-sourdough", "/learn/why-sourdough", "Why sourdough? A beginner's guide to wild yeast"),
        ("b/flour-compared", "/flour-compared", "Rye vs spelt: which flour should you choose?"),
        ("b/delivery", "/delivery-and-pricing", "Delivery and pricing"),
        ("b/my/orders", "/my/orders", "Track your orders"),
        ("b/gift", "/gift", "Refer a friend, share a gift"),
        ("b/sign-in", "/sign-in", "Sign in"),
    ])
    got = {r[0]: (r[1], r[3]) for r in rows_of(classify_content(items, load_stage_model(preset="default")))}
    assert got == {
        "b/learn/why-sourdough": ("awareness", "text"),
        "b/flour-compared": ("consideration", "text"),
        "b/delivery": ("decision", "text"),
        "b/my/orders": ("retention", "text"),
        "b/gift": ("advocacy", "text"),
        "b/sign-in": (None, "unclassified"),
    }


def test_text_scores_by_hand():
    """Two stages, documents = label + description + 3 x keywords; idf over 2 stage docs + 2 items.

    stage a: "learn" x1, "guid" x3    stage b: "buy" x1, "pric" x3
    item 1: "guid" x1, "pric" x1      item 2: "guid" x1
    df: learn 1, guid 3, buy 1, pric 2; N = 4 -> idf = ln(5 / (1 + df)) + 1
    """
    model = S(stages=(S(name="a", label="Learn", description="", keywords=("guide",), content=(), index=0),
                      S(name="b", label="Buy", description="", keywords=("price",), content=(), index=1)))
    idf = {t: math.log(5 / (1 + df)) + 1 for t, df in {"learn": 1, "guid": 3, "buy": 1, "pric": 2}.items()}
    tf3 = 1 + math.log(3)
    a = {"learn": idf["learn"], "guid": tf3 * idf["guid"]}
    b = {"buy": idf["buy"], "pric": tf3 * idf["pric"]}
    item1 = {"guid": idf["guid"], "pric": idf["pric"]}

    def cos(u, v):
        dot = sum(u[k] * v.get(k, 0) for k in u)
        return dot / math.sqrt(sum(x * x for x in u.values())) / math.sqrt(sum(x * x for x in v.values()))

    scores = stage_scores(["A guide to prices", "Guide"], model)
    assert scores[0] == pytest.approx([cos(item1, a), cos(item1, b)])
    assert scores[1] == pytest.approx([cos({"guid": 1}, a), 0.0])
    out = rows_of(classify_content(catalogue_rows([("i1", "/x", "A guide to prices"), ("i2", "/y", "Guide")]), model))
    # b wins (pric has the higher idf); runner-up a; margin = difference
    assert out[0][:4] == ("i1", "b", 1, "text") and out[0][5] == "a"
    assert out[0][4] == pytest.approx(cos(item1, b)) and out[0][6] == pytest.approx(cos(item1, b) - cos(item1, a))


def test_below_min_score_is_unclassified_and_ties_go_to_the_earlier_stage():
    model = S(stages=(S(name="a", label="", description="", keywords=("tent",), content=(), index=0),
                      S(name="b", label="", description="", keywords=("tent",), content=(), index=1)))
    out = rows_of(classify_content(catalogue_rows([("t", "/t", "Tent"), ("z", "/z", "Zebra")]), model))
    assert out[0][:4] == ("t", "a", 0, "text") and out[0][5] == "b" and out[0][6] == pytest.approx(0.0)
    assert out[1] == ("z", None, None, "unclassified", 0.0, None, 0.0)
    high = rows_of(classify_content(catalogue_rows([("t", "/t", "Tent tips")]), model, min_score=0.99))
    assert high[0][1:4] == (None, None, "unclassified")


def test_classification_errors():
    items = catalogue_rows([("t", "/t", "Tent")])
    with pytest.raises(ConfigError, match="no stages"):
        classify_content(items, S(stages=()))
    with pytest.raises(ConfigError, match="min_score"):
        classify_content(items, toy_model(), min_score=2)
    with pytest.raises(InputError, match="no column 'path'"):
        classify_content(items.drop("path"), toy_model())
    with pytest.raises(ConfigError, match="has no 'keywords'"):
        classify_content(items, S(stages=(S(name="a", label="A", description="", content=(), index=0),)))


def test_empty_catalogue_classifies_to_an_empty_table():
    out = classify_content(catalogue_rows([]), toy_model())
    assert out.count().execute() == 0 and out.schema()["stage_index"].is_integer()


# --------------------------------------------------------------------------- stage entries by hand

ENTRY_FIELDS = ("customer_id", "stage", "stage_index", "entered_at", "exited_at", "skipped", "is_current")
ENTRY_SCHEMA = pa.schema([("customer_id", pa.string()), ("stage", pa.string()), ("stage_index", pa.int64()),
                          ("entered_at", pa.timestamp("us", tz="UTC")), ("exited_at", pa.timestamp("us", tz="UTC")),
                          ("skipped", pa.bool_()), ("is_current", pa.bool_())])


def entries_table(spans: dict[str, list[tuple]]) -> pa.Table:
    """customer -> [(stage, entered_at, skipped)]; exited_at = next entry, current = the last."""
    names = {"learn": 0, "compare": 1, "buy": 2}
    rows = []
    for customer, stages in spans.items():
        for i, (stage, entered, skipped) in enumerate(stages):
            exited = stages[i + 1][1] if i + 1 < len(stages) else None
            rows.append(dict(zip(ENTRY_FIELDS, (customer, stage, names[stage], entered, exited, skipped,
                                                i + 1 == len(stages)))))
    return pa.Table.from_pylist(rows, schema=ENTRY_SCHEMA)


GUIDE = SITE + "/guides/which-oven"
BLOG = SITE + "/blog/crumb"


def effect_entries() -> pa.Table:
    return entries_table({
        "a": [("learn", day(1), False), ("compare", day(3), False), ("buy", day(5), False)],
        "b": [("learn", day(1), False), ("compare", day(2), False)],
        "c": [("learn", day(1), False), ("compare", day(2), False), ("buy", day(4), False)],
        "d": [("learn", day(1), False), ("compare", day(2), True), ("buy", day(2), False)],
        "e": [("learn", day(1), False)],
        "f": [("learn", day(1), False), ("compare", day(2), False), ("buy", day(6), False)],
        "g": [("learn", day(1), False), ("compare", day(2), False), ("buy", day(7, 12, 20), False)],
    })


def effect_events() -> pa.Table:
    """Who read the guide (classified 'compare' by its title) when:

    a: in compare (day 4), then reached buy           -> consumer, advanced
    b: in compare (day 3, twice), never reached buy   -> consumer, not advanced
    c: never read it; compare -> buy                  -> other, advanced
    d: read it in learn (day 1, 13:00); compare skipped at day 2 -> not in compare's population
    e: read it before any stage (day 1, 06:00), then only learn -> counts nowhere
    f: read it at the very moment buy was entered (day 6) -> in buy, so an 'other' in compare
    g: read it in compare 10 minutes before entering buy -> consumer, advanced within the visit
    """
    return events_table([
        ("a1", day(1), "page", "page_view", "a", SITE + "/", "Home", None),
        ("a2", day(4), "page", "page_view", "a", GUIDE, "Which oven should you choose?", None),
        ("b1", day(3), "page", "page_view", "b", GUIDE, "Which oven should you choose?", None),
        ("b2", day(3, 13), "page", "page_view", "b", GUIDE, "Which oven should you choose?", None),
        ("b3", day(3, 14), "page", "page_view", "b", BLOG, "Crumb secrets", None),
        ("c1", day(3), "page", "page_view", "c", BLOG, "Crumb secrets", None),
        ("d1", day(1, 13), "page", "page_view", "d", GUIDE, "Which oven should you choose?", None),
        ("e1", day(1, 6), "page", "page_view", "e", GUIDE, "Which oven should you choose?", None),
        ("f1", day(6), "page", "page_view", "f", GUIDE, "Which oven should you choose?", None),
        ("g1", day(7, 12, 10), "page", "page_view", "g", GUIDE, "Which oven should you choose?", None),
    ])


def ref_wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson's interval in its closed form (a different spelling from the module's)."""
    p = k / n
    root = z * math.sqrt(z * z + 4 * n * p * (1 - p))
    return (2 * n * p + z * z - root) / (2 * (n + z * z)), (2 * n * p + z * z + root) / (2 * (n + z * z))


def test_wilson_and_newcombe_match_published_values():
    # Newcombe (1998), Statistics in Medicine 17: 81/263 -> 0.2553 to 0.3662 (Wilson score);
    # 56/70 - 48/80 -> 0.0524 to 0.3339 (method 10, hybrid score)
    assert [round(x, 4) for x in wilson_interval(81, 263)] == [0.2553, 0.3662]
    assert [round(x, 4) for x in newcombe_interval(56, 70, 48, 80)] == [0.0524, 0.3339]
    for k, n in ((0, 5), (1, 2), (3, 3), (17, 40)):
        assert wilson_interval(k, n) == pytest.approx(ref_wilson(k, n), abs=1e-12)


def effectiveness(content_stages: str = "up_to_stage", **kw) -> pd.DataFrame:
    events = ibis.memtable(effect_events())
    out = content_effectiveness(events, ibis.memtable(effect_entries()), toy_model(), min_customers=1,
                                content_stages=content_stages, **kw)
    assert out.columns == EFFECTIVENESS_COLUMNS
    return out.to_pandas()


def test_consumers_and_others_by_hand():
    out = effectiveness().set_index(["content_id", "stage"])
    guide = out.loc[("www.bakery.example/guides/which-oven", "compare")]
    # compare's population: a, b, c, f, g (d skipped it, e never entered); reached buy: a, c, f, g
    assert (guide.consumers, guide.consumers_advanced, guide.others, guide.others_advanced) == (3, 2, 2, 2)
    assert guide.content_stage == "compare" and guide.next_stage == "buy" and guide.title.startswith("Which oven")
    assert guide.advanced_in_visit == 1 and not guide.step  # g only: 1 of 2 advanced readers
    assert guide.rate_consumers == pytest.approx(2 / 3) and guide.rate_others == pytest.approx(1.0)
    lo1, hi1 = ref_wilson(2, 3)
    lo2, hi2 = ref_wilson(2, 2)
    assert (guide.rate_consumers_lo, guide.rate_consumers_hi) == pytest.approx((lo1, hi1))
    assert (guide.rate_others_lo, guide.rate_others_hi) == pytest.approx((lo2, hi2))
    d = 2 / 3 - 1
    assert guide.uplift == pytest.approx(d)
    assert guide.uplift_lo == pytest.approx(d - math.sqrt((2 / 3 - lo1) ** 2 + (hi2 - 1) ** 2))
    assert guide.uplift_hi == pytest.approx(d + math.sqrt((hi1 - 2 / 3) ** 2 + (1 - lo2) ** 2))
    assert guide.lift == pytest.approx(2 / 3)
    # the blog post (learn content) read in compare by b and c (c advanced); others a, f, g (all advanced)
    blog = out.loc[("www.bakery.example/blog/crumb", "compare")]
    assert (blog.consumers, blog.consumers_advanced, blog.others, blog.others_advanced) == (2, 1, 3, 3)


def test_later_stage_content_is_left_out_unless_all():
    # d read the guide (compare content) in learn; learn's population: a b c d e f g, all but e advanced
    default = effectiveness().set_index(["content_id", "stage"])
    assert ("www.bakery.example/guides/which-oven", "learn") not in default.index
    every = effectiveness("all").set_index(["content_id", "stage"])
    row = every.loc[("www.bakery.example/guides/which-oven", "learn")]
    assert (row.consumers, row.consumers_advanced, row.others, row.others_advanced) == (1, 1, 6, 5)


def test_min_customers_and_ranking():
    out = effectiveness()
    assert list(out["rank"]) == list(range(1, len(out) + 1))
    assert list(out["uplift_lo"]) == sorted(out["uplift_lo"], reverse=True)
    events, entries = ibis.memtable(effect_events()), ibis.memtable(effect_entries())
    few = content_effectiveness(events, entries, toy_model(), min_customers=3).to_pandas()
    assert list(few["content_id"]) == []  # the guide has 3 consumers but only 2 others


def test_a_row_whose_advances_happen_in_the_viewing_visit_is_a_step_and_ranks_last():
    events = events_table([
        # "cart" pages viewed minutes before buying by x and y; z viewed it and never bought
        ("x1", day(3), "page", "page_view", "x", SITE + "/basket", "Your basket", None),
        ("y1", day(3), "page", "page_view", "y", SITE + "/basket", "Your basket", None),
        ("z1", day(3), "page", "page_view", "z", SITE + "/basket", "Your basket", None),
        ("w1", day(3), "page", "page_view", "w", GUIDE, "Which oven should you choose?", None),
        ("v1", day(3), "page", "page_view", "v", GUIDE, "Which oven should you choose?", None),
    ])
    entries = entries_table({
        "x": [("compare", day(2), False), ("buy", day(3, 12, 5), False)],
        "y": [("compare", day(2), False), ("buy", day(3, 12, 29), False)],
        "z": [("compare", day(2), False)],
        "w": [("compare", day(2), False), ("buy", day(4), False)],
        "v": [("compare", day(2), False)],
    })
    out = content_effectiveness(ibis.memtable(events), ibis.memtable(entries), toy_model(), min_customers=1,
                                content_stages="all").to_pandas()
    assert list(out["content_id"]) == ["www.bakery.example/guides/which-oven", "www.bakery.example/basket"]
    basket = out.iloc[1]
    assert basket.step and basket.advanced_in_visit == 2 and basket.uplift > out.iloc[0].uplift
    assert not out.iloc[0].step


def test_entries_from_assign_stages_work_too():
    events = ibis.memtable(effect_events())
    model = load_stage_model(preset="default")
    from journeymap.stages import assign_stages

    entries = assign_stages(events.mutate(channel=ibis.literal("direct")), model)
    out = content_effectiveness(events, entries, model, min_customers=1, content_stages="all").to_pandas()
    # no bakery page matches a default rule past awareness: everyone is in awareness; the guide's
    # readers a, b, d, e, f, g (e's view is now their first touchpoint, so it is in awareness); c did not read it
    guide = out.set_index("content_id").loc["www.bakery.example/guides/which-oven"]
    assert (guide.stage, guide.consumers, guide.others, guide.consumers_advanced) == ("awareness", 6, 1, 0)


def test_effectiveness_errors():
    events, entries = ibis.memtable(effect_events()), ibis.memtable(effect_entries())
    with pytest.raises(InputError, match="no column 'skipped'") as err:
        content_effectiveness(events, entries.drop("skipped"), toy_model())
    assert "assign_stages" in str(err.value)
    with pytest.raises(ConfigError, match="min_customers"):
        content_effectiveness(events, entries, toy_model(), min_customers=0)
    with pytest.raises(ConfigError, match="content_stages"):
        content_effectiveness(events, entries, toy_model(), content_stages="some")
    with pytest.raises(InputError, match="no column 'customer_id'"):
        content_effectiveness(events.drop("customer_id"), entries, toy_model())


# --------------------------------------------------------------------------- content stage per customer

def by_customer_case():
    events = events_table([
        # p: 2 learn views, then 2 compare views, then 1 buy view; recent=4 -> learn 1, compare 2, buy 1
        ("p1", day(1), "page", "page_view", "p", SITE + "/blog/a", "A", None),
        ("p2", day(2), "page", "page_view", "p", SITE + "/blog/b", "B", None),
        ("p3", day(3), "page", "page_view", "p", SITE + "/compare/x", "X", None),
        ("p4", day(4), "page", "page_view", "p", SITE + "/compare/y", "Y", None),
        ("p5", day(5), "page", "page_view", "p", SITE + "/cart", "Cart", None),
        ("p6", day(6), "page", "page_view", "p", SITE + "/unknown", "Zzz", None),  # unclassified: skipped
        # q: one learn and one compare view, same timestamp -> tie -> the later stage (compare)
        ("q1", day(1), "page", "page_view", "q", SITE + "/blog/a", "A", None),
        ("q2", day(1), "page", "page_view", "q", SITE + "/compare/x", "X", None),
        # r: only unclassified content
        ("r1", day(1), "page", "page_view", "r", SITE + "/unknown", "Zzz", None),
        # s: content but no stage entry
        ("s1", day(1), "page", "page_view", "s", SITE + "/cart", "Cart", None),
    ])
    entries = entries_table({
        "p": [("learn", day(1), False), ("compare", day(3), False)],
        "q": [("learn", day(1), False), ("compare", day(1), False)],
        "r": [("learn", day(1), False)],
    })
    return events, entries


def test_content_stage_by_customer_by_hand():
    events, entries = by_customer_case()
    ev = ibis.memtable(events)
    classified = classify_content(content_catalogue(ev), toy_model())
    out = content_stage_by_customer(ev, ibis.memtable(entries), classified, recent=4)
    assert rows_of(out) == [
        ("p", "compare", 1, "compare", 1, 4, True),
        ("q", "compare", 1, "compare", 1, 2, True),
        ("r", "learn", 0, None, None, 0, None),
        ("s", None, None, "buy", 2, 1, None),
    ]
    # the last 2 views of p: compare (p4), buy (p5) -> tie -> buy, which disagrees with compare
    two = content_stage_by_customer(ev, ibis.memtable(entries), classified, recent=2).to_pandas()
    assert two.set_index("customer_id").loc["p"].tolist() == ["compare", 1, "buy", 2, 2, False]


def test_content_stage_by_customer_errors():
    events, entries = by_customer_case()
    ev = ibis.memtable(events)
    classified = classify_content(content_catalogue(ev), toy_model())
    with pytest.raises(ConfigError, match="recent"):
        content_stage_by_customer(ev, ibis.memtable(entries), classified, recent=0)
    with pytest.raises(InputError, match="is_current"):
        content_stage_by_customer(ev, ibis.memtable(entries).drop("is_current"), classified)
    with pytest.raises(InputError, match="stage_index"):
        content_stage_by_customer(ev, ibis.memtable(entries), classified.drop("stage_index"))
