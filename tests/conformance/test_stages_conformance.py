"""Stage assignment, touchpoint tagging, the stage funnel and segments give the same,
hand-worked answers on DuckDB and Spark (the case is in tests/stage_cases.py)."""

from __future__ import annotations

import datetime as dt

from journeymap.analytics.customers import segment_table
from journeymap.analytics.stage_funnel import stage_funnel
from journeymap.config import settings_from_toml
from journeymap.stages import assign_stages, customer_stages, load_stage_model, stage_at_touchpoint

from .. import stage_cases as cases


def _utc(value):
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def test_stage_entries(backend):
    events = backend.table("events", cases.events_table())
    rows = assign_stages(events, cases.model()).to_pyarrow().to_pylist()
    got = sorted((r["customer_id"], r["stage"], r["trigger_event_id"], r["skipped"], r["days_in_stage"],
                  r["is_current"]) for r in rows)
    assert got == sorted(cases.ENTRIES)
    loyal = next(r for r in rows if (r["customer_id"], r["stage"]) == ("p", "loyal"))
    assert _utc(loyal["entered_at"]) == cases.BASE + dt.timedelta(days=50)
    assert _utc(loyal["exited_at"]) == cases.BASE + dt.timedelta(days=52) and loyal["exit_event_id"] == "p9"


def test_touchpoint_stages(backend):
    events = backend.table("events", cases.events_table())
    tagged = stage_at_touchpoint(events, assign_stages(events, cases.model())).to_pyarrow().to_pylist()
    assert {r["event_id"]: r["stage"] for r in tagged} == cases.TOUCHPOINT_STAGES
    before = stage_at_touchpoint(events, assign_stages(events, cases.model()), before=True).to_pyarrow().to_pylist()
    assert {r["event_id"]: r["stage"] for r in before} == cases.TOUCHPOINT_STAGES_BEFORE


def test_stage_funnel_and_breakdown(backend):
    events = backend.table("events", cases.events_table())
    model = cases.model()
    entries = assign_stages(events, model)
    rows = stage_funnel(entries, model).to_pyarrow().to_pylist()
    got = [(r["stage"], r["customers"], r["skipped"], r["conversion_from_previous"], r["conversion_from_first"],
            r["dropped"], r["median_days_from_previous"], r["p90_days_from_previous"], r["median_days_in_stage"])
           for r in sorted(rows, key=lambda r: r["stage_index"])]
    assert got == cases.FUNNEL
    by = stage_funnel(entries, model, by=["first_channel"], segments=segment_table(events, ["channel"]))
    direct = sorted((r for r in by.to_pyarrow().to_pylist() if r["first_channel"] == "direct"),
                    key=lambda r: r["stage_index"])
    assert [(r["stage"], r["customers"], r["skipped"], r["conversion_from_previous"], r["conversion_from_first"],
             r["dropped"]) for r in direct] == cases.FUNNEL_DIRECT


def test_regression_and_segments(backend):
    events = backend.table("events", cases.events_table())
    model = load_stage_model(settings_from_toml("[stages]\nregression = true\n" + cases.MODEL_TOML))
    entries = assign_stages(events, model, as_of=cases.BASE + dt.timedelta(days=70))
    summary = sorted((r["customer_id"], r["current_stage"], r["regressed"])
                     for r in customer_stages(entries).to_pyarrow().to_pylist())
    assert summary == [("p", "fan", False), ("q", "buyer", False), ("r", "buyer", True), ("w", "loyal", False),
                       ("x", "buyer", False)]
    seg = sorted(tuple(r.values()) for r in
                 segment_table(events, ["channel", "cohort:week", "stage"], entries).to_pyarrow().to_pylist())
    assert seg[0] == ("p", "email", "2024-12-30", "fan") and seg[2] == ("r", "paid_search", "2024-12-30", "buyer")
