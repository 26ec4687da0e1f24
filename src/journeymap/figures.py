"""Plotly figures of analysis results (the ``.figure()`` of every :class:`~journeymap.analytics.result.Analysis`).

Each function takes the result's rows (a list of dicts) and returns a ``plotly.graph_objects.Figure``.
They are the only place journeymap draws charts, so the dashboard and notebooks look alike.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

__all__ = ["sessions_figure"]


def _go():
    import plotly.graph_objects as go

    return go


def sessions_figure(rows: list[dict], *, title: str | None = None, **_: Any):
    """Sessions per day, stacked by entry channel."""
    go = _go()
    counts: dict[str, dict[Any, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        counts[row["entry_channel"] or "(none)"][row["started_at"].date()] += 1
    figure = go.Figure([go.Bar(name=channel, x=sorted(days), y=[days[d] for d in sorted(days)])
                        for channel, days in sorted(counts.items())])
    figure.update_layout(barmode="stack", title=title or "Sessions per day by entry channel",
                         xaxis_title="day", yaxis_title="sessions")
    return figure
