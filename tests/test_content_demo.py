"""The demo's planted content effect (PLANTED_EFFECTS: tent_guide_lift) comes out on top.

Generates the demo exactly as ``journeymap demo`` does (10,000 customers, seed 42; web events
and the CRM export), assigns the default stage model and ranks content effectiveness.
"""

from __future__ import annotations

import pytest

import journeymap
from journeymap.analytics.content import classify_content, content_catalogue, content_effectiveness
from journeymap.demo import DemoSpec, write_demo_files
from journeymap.stages import assign_stages, load_stage_model

GUIDE = "www.trailhead-outfitters.example/guides/choosing-the-right-tent"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("content-demo")
    files = write_demo_files(folder / "files", DemoSpec(customers=10_000, seed=42))
    jm = journeymap.open(folder / "demo.duckdb")
    jm.load(files.events_dir)
    jm.load(files.crm_csv, map=files.crm_column_map)
    events = jm.events()
    model = load_stage_model(preset="default")
    entries = assign_stages(events, model).cache()
    catalogue = content_catalogue(events).cache()
    classified = classify_content(catalogue, model)  # a memtable: it runs wherever it is joined
    yield events, entries, model, catalogue, classified
    entries.release()
    catalogue.release()
    jm.close()


@pytest.mark.slow
def test_the_tent_guide_is_consideration_content_by_its_text(demo):
    *_, classified = demo
    row = classified.filter(classified.content_id == GUIDE).to_pyarrow().to_pylist()[0]
    assert (row["stage"], row["method"], row["runner_up_stage"]) == ("consideration", "text", "awareness")
    assert row["score"] > 0.2


@pytest.mark.slow
def test_the_planted_tent_guide_effect_is_ranked_first(demo):
    events, entries, model, catalogue, classified = demo
    out = content_effectiveness(events, entries, model, catalogue=catalogue, classified=classified).to_pandas()
    top = out.iloc[0]
    assert (top["rank"], top.content_id, top.stage, top.next_stage) == (1, GUIDE, "consideration", "decision")
    assert top.uplift_lo > 0 and not top.step
    # planted: about twice the decision rate (56% of readers vs 26% of other consideration-stage customers)
    assert 0.50 < top.rate_consumers < 0.62 and 0.22 < top.rate_others < 0.30 and 1.8 < top.lift < 2.6
    # ... and clearly ahead of the runner-up
    assert top.uplift_lo > 2 * out.iloc[1].uplift_lo
    print(out.head(5).to_string())
