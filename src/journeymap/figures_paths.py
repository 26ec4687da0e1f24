"""Plotly figures of paths, transitions, the step matrix and the stage flow.

Each function takes the result's rows (a list of dicts) and returns a ``plotly.graph_objects.Figure``.

>>> rows = [{"step": 1, "source": "home", "target": "shop", "customers": 3, "transitions": 4},
...         {"step": 2, "source": "shop", "target": "$drop_off", "customers": 1, "transitions": 1}]
>>> figure = paths_figure(rows)
>>> list(figure.data[0].node.label), list(figure.data[0].link.value)
(['1. home', '2. shop', '3. $drop_off'], [3, 1])
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

__all__ = ["paths_figure", "step_matrix_figure", "transitions_figure"]


def _go():
    import plotly.graph_objects as go

    return go


def paths_figure(rows: list[dict], *, value: str = "customers", title: str | None = None, **_: Any):
    """A Sankey of path edges (one node per step and name: ``2. /pricing``), links sized by
    ``value`` (customers or transitions), summed over any breakdown."""
    go = _go()
    links: dict[tuple, int] = defaultdict(int)
    for row in rows:
        links[(row["step"], row["source"], row["target"])] += row[value] or 0
    nodes: dict[tuple, int] = {}
    for step, source, target in sorted(links):
        nodes.setdefault((step, source), len(nodes))
        nodes.setdefault((step + 1, target), len(nodes))
    labels = [f"{step}. {name}" for step, name in nodes]
    ordered = sorted(links.items())
    figure = go.Figure(go.Sankey(
        arrangement="snap",
        node=dict(label=labels, pad=12, thickness=14),
        link=dict(source=[nodes[(s, a)] for (s, a, _), _ in ordered],
                  target=[nodes[(s + 1, b)] for (s, _, b), _ in ordered],
                  value=[v for _, v in ordered])))
    figure.update_layout(title=title or "Paths", font_size=11)
    return figure


def _heatmap(x: list, y: list, z: list[list], *, title: str, x_title: str, y_title: str, text_format: str):
    go = _go()
    figure = go.Figure(go.Heatmap(x=x, y=y, z=z, colorscale="Blues", texttemplate=text_format,
                                  hoverongaps=False))
    figure.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title,
                         yaxis_autorange="reversed")
    return figure


def step_matrix_figure(rows: list[dict], *, title: str | None = None, **_: Any):
    """The step matrix as a heatmap: nodes (rows, busiest first, ``$path_end`` last) by steps."""
    steps = sorted({r["step"] for r in rows})
    totals: dict[str, float] = defaultdict(float)
    share = {(r["node"], r["step"]): r["share"] for r in rows}
    for row in rows:
        totals[row["node"]] += row["share"]
    names = sorted(totals, key=lambda n: (n.startswith("$"), -totals[n], n))
    z = [[share.get((name, step)) for step in steps] for name in names]
    return _heatmap(steps, names, z, title=title or "Step matrix", x_title="step", y_title="node",
                    text_format="%{z:.0%}")


def transitions_figure(rows: list[dict], *, title: str | None = None, **_: Any):
    """The transition probabilities as a heatmap: sources (rows) by targets (columns)."""
    busy: dict[str, int] = defaultdict(int)
    for row in rows:
        busy[row["source"]] += row["transitions"]
        busy[row["target"]] += row["transitions"]
    names = sorted(busy, key=lambda n: (-busy[n], n))
    probability = {(r["source"], r["target"]): r["probability"] for r in rows}
    sources = [n for n in names if any((n, t) in probability for t in names)]
    targets = [n for n in names if any((s, n) in probability for s in names)]
    z = [[probability.get((s, t)) for t in targets] for s in sources]
    return _heatmap(targets, sources, z, title=title or "Transition probabilities", x_title="to",
                    y_title="from", text_format="%{z:.2f}")
