"""Plotly drawings of the retention analyses: the retention triangle (a heatmap), lifecycle
stacked bars (dormant below the axis), the stickiness and purchase-count distributions.

Each takes the result rows (dicts) as :meth:`journeymap.analytics.result.Analysis.figure` passes
them, plus the context the API attached.

>>> import datetime as dt
>>> rows = [{"cohort": dt.datetime(2025, 1, 6), "period": p, "cohort_size": 10, "customers": c,
...          "retention_rate": c / 10, "complete": p < 2} for p, c in enumerate([10, 4, 3])]
>>> figure = retention_figure(rows, period="week")
>>> figure.data[0].type, figure.data[0].z[0], figure.data[0].text[0][2]
('heatmap', [100.0, 40.0, 30.0], '30%*')
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

__all__ = ["lifecycle_figure", "purchase_counts_figure", "repeat_purchases_figure", "retention_figure",
           "stickiness_figure"]

_COLOURS = {"new": "#2ca02c", "returning": "#1f77b4", "resurrecting": "#ff7f0e", "dormant": "#d62728"}


def _go():
    import plotly.graph_objects as go

    return go


def _label(moment: Any, period: str) -> str:
    if moment is None:
        return "(none)"
    if hasattr(moment, "strftime"):
        return moment.strftime("%Y-%m-%d %H:00" if period == "hour" else "%Y-%m" if period == "month" else "%Y-%m-%d")
    return str(moment)


def _group(row: dict, by: list[str]) -> str:
    return " · ".join("(none)" if row[b] is None else str(row[b]) for b in by)


def retention_figure(rows: list[dict], *, by: list[str] = (), period: str = "week", start: str = "*",
                     returning: str = "*", relative_to: str = "start", title: str | None = None, **_: Any):
    """The retention triangle: a row per cohort (and breakdown group), a column per period,
    the retention rate in %; ``*`` marks a period that is not over yet."""
    go = _go()
    by = list(by)
    cells: dict[str, dict[int, dict]] = defaultdict(dict)
    for row in rows:
        name = _label(row["cohort"], period) + f" (n={row['cohort_size']})"
        if by:
            name = _group(row, by) + " · " + name
        cells[name][row["period"]] = row
    names = list(cells)
    width = max((p for c in cells.values() for p in c), default=-1) + 1
    z, text = [], []
    for name in names:
        line_z, line_t = [], []
        for p in range(width):
            row = cells[name].get(p)
            rate = None if row is None or row["retention_rate"] is None else round(row["retention_rate"] * 100, 1)
            line_z.append(rate)
            line_t.append("" if rate is None else f"{rate:g}%" + ("" if row["complete"] else "*"))
        z.append(line_z)
        text.append(line_t)
    figure = go.Figure(go.Heatmap(z=z, x=[f"{period} {p}" for p in range(width)], y=names, text=text,
                                  texttemplate="%{text}", colorscale="Blues", zmin=0, zmax=100,
                                  colorbar={"title": "%"}))
    base = "period 0" if relative_to == "start" else "the previous period"
    figure.update_layout(title=title or f"Retention: {start} then {returning} (% of {base}; * = period not over)",
                         yaxis={"autorange": "reversed"}, xaxis_title=f"{period}s after the cohort {period}")
    return figure


def lifecycle_figure(rows: list[dict], *, period: str = "week", event: str = "*", title: str | None = None, **_: Any):
    """Customers per period by lifecycle status, stacked; dormant drawn negative (below the axis).
    Breakdown groups are added together."""
    go = _go()
    totals: dict[str, dict[Any, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        totals[row["status"]][row["period"]] += row["customers"]
    periods = sorted({row["period"] for row in rows})
    bars = [go.Bar(name=status, x=periods, marker_color=_COLOURS[status],
                   y=[-totals[status][p] if status == "dormant" else totals[status][p] for p in periods])
            for status in ("new", "returning", "resurrecting", "dormant")]
    figure = go.Figure(bars)
    figure.update_layout(barmode="relative", title=title or f"Lifecycle of {event} per {period}",
                         xaxis_title=period, yaxis_title="customers (dormant below 0)")
    return figure


def stickiness_figure(rows: list[dict], *, period: str = "day", within: str = "week", event: str = "*",
                      title: str | None = None, **_: Any):
    """Customers by number of active periods, summed over the intervals (one bar per count)."""
    go = _go()
    counts: dict[int, int] = defaultdict(int)
    for row in rows:
        counts[row["active_periods"]] += row["customers"]
    xs = sorted(counts)
    figure = go.Figure(go.Bar(x=xs, y=[counts[x] for x in xs]))
    unit = "customer-" + within + "s" if within != "all" else "customers"
    figure.update_layout(title=title or f"Stickiness of {event}: {period}s active per {within}",
                         xaxis_title=f"{period}s active", yaxis_title=unit)
    return figure


def _count_bars(rows: list[dict], by: list[str]):
    go = _go()
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[_group(row, list(by)) if by else "customers"].append(row)
    bars = []
    for name, items in groups.items():
        items = sorted(items, key=lambda r: r["purchases"])
        bars.append(go.Bar(name=name, x=[f"{r['purchases']}+" if r["or_more"] else str(r["purchases"]) for r in items],
                           y=[r["customers"] for r in items]))
    return go.Figure(bars)


def purchase_counts_figure(rows: list[dict], *, by: list[str] = (), event: str = "order_completed",
                           title: str | None = None, **_: Any):
    """Customers by number of purchases."""
    figure = _count_bars(rows, list(by))
    figure.update_layout(title=title or f"Customers by number of {event}", xaxis_title="purchases",
                         yaxis_title="customers", barmode="group")
    return figure


def repeat_purchases_figure(rows: list[dict], *, distribution=None, by: list[str] = (),
                            event: str = "order_completed", title: str | None = None, **_: Any):
    """The purchase-count distribution, titled with the repeat-purchase rate and the median
    days between purchases."""
    counts = distribution.to_pyarrow().to_pylist() if distribution is not None else []
    figure = _count_bars(counts, list(by))
    if not title and len(rows) == 1 and rows[0]["repeat_rate"] is not None:
        row = rows[0]
        title = (f"{event}: {row['repeat_rate'] * 100:.1f}% of buyers bought again; median "
                 f"{row['median_days_to_second'] if row['median_days_to_second'] is not None else '-'} days to the second")
    figure.update_layout(title=title or f"Repeat {event}", xaxis_title="purchases", yaxis_title="customers",
                         barmode="group")
    return figure
