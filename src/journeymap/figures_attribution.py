"""Plotly figures of attribution: credits per channel (one model or a comparison) and the
Markov transition matrix.

>>> rows = [{"model": "linear", "channel": "email", "conversions": 2.0},
...         {"model": "markov", "channel": "email", "conversions": 3.0},
...         {"model": "linear", "channel": "search", "conversions": 4.0}]
>>> figure = credits_figure(rows, level="channel")
>>> [(t.name, list(t.x), list(t.y)) for t in figure.data]
[('linear', ['search', 'email'], [4.0, 2.0]), ('markov', ['search', 'email'], [0.0, 3.0])]
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

__all__ = ["credits_figure", "transitions_figure"]


def _go():
    import plotly.graph_objects as go

    return go


def credits_figure(rows: list[dict], *, level: str = "channel", value: str = "conversions",
                   title: str | None = None, **_: Any):
    """Grouped bars: ``value`` (conversions or value) credited to each channel, one bar per model;
    channels ordered by their largest credit."""
    go = _go()
    by_model: dict[str, dict[str, float]] = defaultdict(dict)
    for row in rows:
        by_model[row["model"]][row[level]] = row[value] or 0.0
    best: dict[str, float] = defaultdict(float)
    for credits in by_model.values():
        for name, amount in credits.items():
            best[name] = max(best[name], amount)
    order = sorted(best, key=lambda n: (-best[n], n))
    figure = go.Figure([go.Bar(name=model, x=order, y=[credits.get(n, 0.0) for n in order])
                        for model, credits in by_model.items()])
    figure.update_layout(barmode="group", title=title or f"Attributed {value} by {level}",
                         xaxis_title=level, yaxis_title=f"attributed {value}")
    return figure


def transitions_figure(rows: list[dict], *, title: str | None = None, order: int = 1, **_: Any):
    """A heatmap of transition probabilities, from-state rows by to-state columns."""
    go = _go()
    sources = sorted({r["from_state"] for r in rows}, key=lambda s: (s != "(start)", s))
    targets = sorted({r["to_state"] for r in rows}, key=lambda s: (s.startswith("("), s))
    cell = {(r["from_state"], r["to_state"]): r["probability"] for r in rows}
    z = [[cell.get((s, t)) for t in targets] for s in sources]
    figure = go.Figure(go.Heatmap(x=targets, y=sources, z=z, colorscale="Blues", texttemplate="%{z:.2f}"))
    figure.update_layout(title=title or f"Markov transitions (order {order})", xaxis_title="to", yaxis_title="from",
                         yaxis_autorange="reversed")
    return figure
