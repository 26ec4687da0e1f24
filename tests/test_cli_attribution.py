"""``journeymap attribution`` run as a user runs it: on the demo store and on aggregated path files."""

from __future__ import annotations

import json

import pytest

from .test_cli import run

PATHS = """path,conv,value,null
search > email > direct,3,300,10
search,1,50,20
social > search,2,120,5
social,0,0,40
email > direct,1,80,3
direct,2,90,30
"""


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("attribution-cli")
    made = run("--db", "d.duckdb", "demo", "--customers", "1000", "--format", "json", cwd=folder)
    assert made.returncode == 0, made.stderr
    (folder / "paths.csv").write_text(PATHS)
    return folder


def jm(folder, *args):
    return run("--db", "d.duckdb", *args, cwd=folder)


def _json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


BYO = ("attribution", "--paths", "paths.csv", "--conversions-column", "conv", "--value-column", "value",
       "--nulls-column", "null")


def test_paths_file_linear_credits_by_hand(demo_dir):
    rows = _json(jm(demo_dir, *BYO, "--model", "linear", "-f", "json"))
    # linear, every touch an equal part: search 3/3 + 1 + 2/2 = 3; direct 3/3 + 1/2 + 2 = 3.5;
    # email 3/3 + 1/2 = 1.5; social 2/2 = 1 (its 40 null journeys earn nothing)
    assert {r["channel"]: r["conversions"] for r in rows} == {"direct": 3.5, "search": 3.0, "email": 1.5, "social": 1.0}
    # value: search 100 + 50 + 60; direct 100 + 40 + 90; email 100 + 40; social 60
    assert {r["channel"]: r["value"] for r in rows} == {"direct": 230.0, "search": 210.0, "email": 140.0, "social": 60.0}
    assert abs(sum(r["share"] for r in rows) - 1) < 1e-9


def test_paths_file_compare_is_one_column_per_model_and_conserves(demo_dir):
    rows = _json(jm(demo_dir, *BYO, "--compare", "-f", "json"))
    models = set(rows[0]) - {"channel"}
    # time_decay needs touch times, which this file has not: compared without it
    assert models == {"first_touch", "last_touch", "last_non_direct", "linear", "position_based", "markov",
                      "shapley", "ordered_shapley", "shao_li"}
    for model in models:
        assert sum(r[model] for r in rows) == pytest.approx(9.0, abs=1e-3)  # 3 + 1 + 2 + 1 + 2 conversions
    chosen = _json(jm(demo_dir, *BYO, "--models", "first_touch,last_touch", "--show", "value", "-f", "json"))
    assert set(chosen[0]) == {"channel", "first_touch", "last_touch"}
    # last touch value: direct 300 + 80 + 90, search 50 + 120
    assert {r["channel"]: r["last_touch"] for r in chosen} == {"direct": 470.0, "search": 170.0, "email": 0.0,
                                                                 "social": 0.0}


def test_paths_file_transitions_and_markov_order(demo_dir):
    rows = _json(jm(demo_dir, *BYO, "--transitions", "--order", "2", "-f", "json"))
    starts = {r["to_state"]: r["journeys"] for r in rows if r["from_state"] == "(start)"}
    # journeys starting with search: 13 + 21; social: 7 + 40; email: 4; direct: 32
    assert starts == {"search": 34, "social": 47, "email": 4, "direct": 32}
    assert any(r["from_state"] == "search > email" and r["to_state"] == "email > direct" for r in rows)
    markov = _json(jm(demo_dir, *BYO, "--order", "2", "-f", "json"))
    assert {"removal_effect", "conversions", "share"} <= set(markov[0])
    assert sum(r["conversions"] for r in markov) == pytest.approx(9.0, abs=1e-3)


def test_paths_file_bad_rows_error_or_rejected(demo_dir):
    (demo_dir / "bad.csv").write_text(PATHS + "search >> email,1,10,0\nemail,2.5,10,0\n")
    failed = jm(demo_dir, "attribution", "--paths", "bad.csv", "--conversions-column", "conv", "--value-column",
                "value", "--nulls-column", "null")
    assert failed.returncode == 1
    assert "row 7" in failed.stderr and "column path" in failed.stderr and "touch 2 of the path is empty" in failed.stderr
    kept = jm(demo_dir, "attribution", "--paths", "bad.csv", "--conversions-column", "conv", "--value-column", "value",
              "--nulls-column", "null", "--reject-bad-rows", "--model", "first_touch", "-f", "csv")
    assert kept.returncode == 0, kept.stderr
    assert "2 rejected row(s)" in kept.stdout or "row,column,value,reason" in kept.stdout
    assert "conversions must be a whole number of journeys" in kept.stdout


def test_unknown_model_and_level_are_errors(demo_dir):
    bad = jm(demo_dir, "attribution", "--model", "markvo")
    assert bad.returncode == 1 and "did you mean 'markov'" in bad.stderr
    level = jm(demo_dir, "attribution", "--level", "campain")
    assert level.returncode == 1 and "did you mean 'campaign'" in level.stderr
    order = jm(demo_dir, "attribution", "--order", "5")
    assert order.returncode == 1 and "order must be 1 to 4" in order.stderr


def test_demo_campaigns_the_planted_campaign_gets_near_zero(demo_dir):
    rows = _json(jm(demo_dir, "attribution", "--level", "campaign", "--models", "markov,shapley,shao_li,first_touch",
                    "-f", "json"))
    blowout = next(r for r in rows if r["campaign"] == "summer_blowout")
    total = sum(r["markov"] for r in rows)
    assert blowout["shapley"] == 0 and blowout["shao_li"] == 0 and blowout["first_touch"] == 0
    assert blowout["markov"] / total < 0.02


def test_demo_spend_gives_cost_per_conversion_and_roas(demo_dir):
    (demo_dir / "spend.csv").write_text("channel,period,cost\npaid_search,2025-06,1000\npaid_social,2025-06,500\n"
                                        "paid_social,2019-01,999999\n")
    rows = _json(jm(demo_dir, "attribution", "--model", "linear", "--spend", "spend.csv", "-f", "json"))
    search = next(r for r in rows if r["channel"] == "paid_search")
    social = next(r for r in rows if r["channel"] == "paid_social")
    assert search["spend"] == 1000 and social["spend"] == 500  # 2019 is outside the conversions' dates
    assert search["cost_per_conversion"] == pytest.approx(1000 / search["conversions"], rel=1e-3)
    assert search["roas"] == pytest.approx(search["value"] / 1000, rel=1e-3)
    bad = jm(demo_dir, "attribution", "--spend", "paths.csv")
    assert bad.returncode == 1 and "no column cost" in bad.stderr
