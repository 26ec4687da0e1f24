"""Attribution from Python on the demo store: every model, every level, credits conserved, the planted
campaign, spend, transitions, figures and errors."""

from __future__ import annotations

import pandas as pd
import pytest

import journeymap
from journeymap.analytics.attribution import MODELS
from journeymap.demo import DemoSpec, write_demo_files
from journeymap.errors import ConfigError, InputError


@pytest.fixture(scope="module")
def jm(tmp_path_factory):
    folder = tmp_path_factory.mktemp("attribution-demo")
    write_demo_files(folder, DemoSpec(customers=3000, seed=42))
    store = journeymap.open(folder / "demo.duckdb")
    store.load(folder / "events")
    yield store
    store.close()


def test_every_model_conserves_conversions_and_value_on_the_demo(jm):
    paths = jm.attribution_paths()
    assert paths.total_conversions() > 100
    compared = jm.attribution_compare().to_pandas()
    assert set(compared.model) == {m.name for m in MODELS}
    for model, rows in compared.groupby("model"):
        assert rows.conversions.sum() == pytest.approx(paths.total_conversions(), rel=1e-9), model
        assert rows.value.sum() == pytest.approx(paths.total_value(), rel=1e-9), model
        assert (rows.conversions >= -1e-12).all(), model
        assert rows.share.sum() == pytest.approx(1.0, rel=1e-9), model


def test_conversions_are_the_purchase_events(jm):
    events = jm.events()
    purchases = events.filter(events.event.isin(["order_completed", "pos_purchase"]) & events.customer_id.notnull())
    paths = jm.attribution_paths()
    assert paths.total_conversions() == purchases.count().execute()
    assert paths.total_value() == pytest.approx(purchases.revenue.sum().execute(), rel=1e-9)
    journeys = jm.attribution_journeys().to_pandas()
    # one null journey at most per customer, and only customers who have touches after their last conversion
    nulls = journeys[~journeys.converted].groupby("customer_id").conversion_index.nunique()
    assert (nulls == 1).all()


@pytest.mark.parametrize("level", ["channel", "source_medium", "campaign", "content"])
def test_levels(jm, level):
    rows = jm.attribution(model="linear", level=level).to_pandas()
    assert level in rows.columns and rows[level].is_unique
    assert rows.conversions.sum() == pytest.approx(jm.attribution_paths().total_conversions())


def test_planted_campaign_gets_near_zero_credit_from_data_driven_models(jm):
    rows = jm.attribution_compare(["markov", "shapley", "ordered_shapley", "shao_li"], level="campaign").to_pandas()
    blowout = rows[rows.campaign == "summer_blowout"].set_index("model")
    assert blowout.loc["shapley", "conversions"] == 0 and blowout.loc["shao_li", "conversions"] == 0
    assert blowout.loc["ordered_shapley", "conversions"] == 0
    # default order 2; an order-1 chain forgets where visitors came from and gives it ~3%
    assert blowout.loc["markov", "share"] < 0.02
    order3 = jm.attribution(model="markov", order=3, level="campaign").to_pandas().set_index("campaign")
    assert order3.loc["summer_blowout", "share"] < 0.01
    # and it does bring traffic: first touch of many null journeys
    journeys = jm.attribution_journeys(level="campaign").to_pandas()
    assert (journeys.touch == "summer_blowout").sum() > 100


def test_lookback_and_steps_and_transforms_change_paths_as_documented(jm):
    wide = jm.attribution_paths(lookback="none", transform="unique")
    narrow = jm.attribution_paths(lookback="1s", transform="unique")
    assert len(narrow.codes) < len(wide.codes)
    assert narrow.total_conversions() == wide.total_conversions()  # every conversion kept, (none) if no touch
    assert "(none)" in narrow.channels
    last2 = jm.attribution_paths(lookback_steps=2)
    assert last2.lengths.max() == 2
    first = jm.attribution_paths(transform="first")
    assert all(len(set(p)) == len(p) for p in first.paths()[:2000])


def test_stage_conversion(jm):
    paths = jm.attribution_paths(conversion="stage:decision")
    entered = jm.stages().to_pandas()
    assert paths.total_conversions() == (entered.stage == "decision").sum()
    assert paths.total_value() == 0


def test_transitions_have_named_states_and_rows_sum_to_one(jm):
    table = jm.attribution_transitions(order=2).to_pandas()
    assert {"(start)", "(conversion)", "(null)"} <= set(table.from_state) | set(table.to_state)
    assert any(" > " in s for s in table.from_state)
    assert table.groupby("from_state").probability.sum().sub(1).abs().max() < 1e-9
    assert type(table).__name__ == "DataFrame"
    figure = jm.attribution_transitions().figure()
    assert figure.data[0].type == "heatmap"


def test_markov_orders_and_figure(jm):
    for order in (1, 2, 3, 4):
        rows = jm.attribution(model="markov", order=order).to_pandas()
        assert rows.removal_effect.between(0, 1).all()
        assert rows.conversions.sum() == pytest.approx(jm.attribution_paths().total_conversions())
    figure = jm.attribution_compare(["linear", "markov"]).figure()
    assert [t.name for t in figure.data] == ["linear", "markov"]


def test_segment(jm):
    everyone = jm.attribution_paths()
    mobile = jm.attribution_paths(segment="device=mobile")
    assert 0 < mobile.total_conversions() < everyone.total_conversions()


def test_spend_table(jm, tmp_path):
    spend = pd.DataFrame({"channel": ["email", "paid_search", "display"], "period": ["2025-06", "2025-06-15", "2025-07"],
                          "cost": [100.0, 2500.0, 300.0]})
    rows = jm.attribution(model="last_touch", spend=spend).to_pandas().set_index("channel")
    assert rows.loc["email", "spend"] == 100.0
    assert rows.loc["email", "cost_per_conversion"] == pytest.approx(100.0 / rows.loc["email", "conversions"])
    assert rows.loc["email", "roas"] == pytest.approx(rows.loc["email", "value"] / 100.0)
    bad = tmp_path / "spend.csv"
    bad.write_text("channel,period,cost\nemail,2025-06,ten\n")
    with pytest.raises(InputError) as error:
        jm.attribution(spend=bad)
    assert error.value.row == 1 and error.value.column == "cost" and str(bad) in str(error.value)


def test_errors(jm):
    with pytest.raises(ConfigError, match="did you mean 'campaign'"):
        jm.attribution(level="campain")
    with pytest.raises(ConfigError, match="unknown event 'order_complete'"):
        jm.attribution(conversion="order_complete")
    with pytest.raises(ConfigError, match="order must be 1 to 4"):
        jm.attribution(model="markov", order=0)
    with pytest.raises(ConfigError, match="unknown path transform"):
        jm.attribution(transform="exposur")
    with pytest.raises(ConfigError, match="not a duration"):
        jm.attribution(lookback="soon")
