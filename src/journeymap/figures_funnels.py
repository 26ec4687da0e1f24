"""Plotly drawings of the funnel results (see :mod:`journeymap.api_funnels`).

Each function takes the result's rows (a list of dicts) and returns a ``plotly.graph_objects.Figure``.

>>> rows = [{"step": 1, "step_label": "view", "count": 10, "conversion_from_first": 1.0},
...         {"step": 2, "step_label": "buy", "count": 4, "conversion_from_first": 0.4}]
>>> fig = funnel_figure(rows)
>>> [list(t.y) for t in fig.data], fig.data[0].x
([['1. view', '2. buy']], (10, 4))
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

__all__ = ["funnel_figure", "next_events_figure", "time_to_convert_figure", "trend_figure"]


def _go():
    import plotly.graph_objects as go

    return go


def _group(row: dict, groups: list[str]) -> str:
    return " / ".join("(none)" if row.get(g) is None else str(row.get(g)) for g in groups) or "all"


def _series(rows: list[dict], groups) -> dict[str, list[dict]]:
    """The rows by breakdown group, in order of first appearance."""
    series: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        series[_group(row, list(groups))].append(row)
    return series


def funnel_figure(rows: list[dict], *, groups: list[str] = (), unit: str = "customer", title: str | None = None,
                  **_: Any):
    """Funnel bars, one trace per breakdown group, conversion from the first step as text."""
    go = _go()
    series = _series(rows, groups)
    figure = go.Figure()
    for name, items in series.items():
        items = sorted(items, key=lambda r: r["step"])
        figure.add_trace(go.Funnel(name=name, y=[f"{r['step']}. {r['step_label']}" for r in items],
                                   x=[r["count"] for r in items],
                                   text=[f"{(r['conversion_from_first'] or 0):.1%}" for r in items],
                                   textinfo="value+text"))
    figure.update_layout(title=title or f"Funnel ({unit}s)")
    return figure


def time_to_convert_figure(rows: list[dict], *, groups: list[str] = (), title: str | None = None, **_: Any):
    """Histogram of the time to convert (hours), one trace per group."""
    go = _go()
    series = _series(rows, groups)
    figure = go.Figure([go.Bar(name=name, x=[round(r["from_seconds"] / 3600, 2) for r in items],
                               y=[r["customers"] for r in items]) for name, items in series.items()])
    figure.update_layout(title=title or "Time to convert", xaxis_title="hours (bin start)",
                         yaxis_title="converted", barmode="group")
    return figure


def trend_figure(rows: list[dict], *, groups: list[str] = (), title: str | None = None, **_: Any):
    """Conversion rate by entry period; incomplete periods dotted."""
    go = _go()
    series = _series(rows, groups)
    figure = go.Figure()
    for name, items in series.items():
        items = sorted(items, key=lambda r: r["period"])
        figure.add_trace(go.Scatter(name=name, x=[r["period"] for r in items],
                                    y=[r["conversion_rate"] for r in items], mode="lines+markers",
                                    marker={"symbol": ["circle" if r["complete"] else "circle-open" for r in items]}))
    figure.update_layout(title=title or "Funnel conversion by entry period (open markers: still converting)",
                         yaxis_title="conversion rate", yaxis_tickformat=".0%")
    return figure


def next_events_figure(rows: list[dict], *, step: int = 0, label: str = "", title: str | None = None, **_: Any):
    """Horizontal bars: what customers who dropped before a step did next."""
    go = _go()
    rows = sorted(rows, key=lambda r: r["customers"])
    figure = go.Figure(go.Bar(x=[r["customers"] for r in rows], y=[r["next_event"] for r in rows], orientation="h"))
    figure.update_layout(title=title or f"What customers who dropped before step {step} ({label}) did next",
                         xaxis_title="customers")
    return figure
