"""Content analytics give the same tables on DuckDB and Spark: the catalogue, the
classification, the content stage per customer and content effectiveness, on the hand-worked
case tables of tests/test_content.py (and their expected values)."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from journeymap.analytics.content import (classify_content, content_catalogue, content_effectiveness,
                                          content_stage_by_customer)

from ..test_content import (EXPECTED_CATALOGUE, by_customer_case, catalogue_events, effect_entries, effect_events,
                            toy_model)
from .conftest import frame


def _duckdb(expr_fn, *tables):
    """The reference: the same computation on in-memory (DuckDB) tables."""
    return expr_fn(*[ibis.memtable(t) for t in tables]).to_pandas()


def _same(got: pd.DataFrame, want: pd.DataFrame, keys: list[str]) -> None:
    got = got.sort_values(keys).reset_index(drop=True)
    want = want.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False, check_exact=False, rtol=1e-12, atol=1e-12)


def test_catalogue_on_every_backend(backend):
    cat = frame(content_catalogue(backend.table("content_events", catalogue_events())), ["content_id"])
    want = pd.DataFrame(EXPECTED_CATALOGUE, columns=cat.columns).sort_values("content_id").reset_index(drop=True)
    for c in ("first_seen", "last_seen"):
        cat[c] = pd.to_datetime(cat[c], utc=True)
        want[c] = pd.to_datetime(want[c], utc=True)
    _same(cat, want, ["content_id"])


def test_classification_on_every_backend(backend):
    model = toy_model()
    events = backend.table("content_events", effect_events())
    got = classify_content(content_catalogue(events), model).to_pandas()
    want = _duckdb(lambda e: classify_content(content_catalogue(e), model), effect_events())
    _same(got, want, ["content_id"])
    assert set(got["method"]) == {"url_rule", "text"}


@pytest.mark.parametrize("content_stages", ["up_to_stage", "all"])
def test_effectiveness_on_every_backend(backend, content_stages):
    model = toy_model()
    events = backend.table("content_events", effect_events())
    entries = backend.table("content_entries", effect_entries())
    got = content_effectiveness(events, entries, model, min_customers=1, content_stages=content_stages).to_pandas()
    want = _duckdb(lambda e, s: content_effectiveness(e, s, model, min_customers=1, content_stages=content_stages),
                   effect_events(), effect_entries())
    assert list(got["rank"]) == list(range(1, len(got) + 1))
    _same(got, want, ["rank"])
    guide = got.set_index(["content_id", "stage"]).loc[("www.bakery.example/guides/which-oven", "compare")]
    assert (guide.consumers, guide.consumers_advanced, guide.others, guide.others_advanced) == (3, 2, 2, 2)


def test_content_stage_by_customer_on_every_backend(backend):
    events, entries = by_customer_case()
    model = toy_model()

    def run(e, s):
        return content_stage_by_customer(e, s, classify_content(content_catalogue(e), model), recent=4)

    got = run(backend.table("content_events", events), backend.table("content_entries", entries)).to_pandas()
    want = _duckdb(run, events, entries)
    _same(got.astype(object), want.astype(object), ["customer_id"])
    assert got.set_index("customer_id").loc["p", "content_views_used"] == 4
