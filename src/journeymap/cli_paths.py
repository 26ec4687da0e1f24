"""``journeymap paths``, ``transitions``, ``step-matrix`` and ``stage-flow`` (the same API as Python).

Every command prints a table (or ``--format csv|json``); a bad argument (unknown event or
segment, ``--steps`` below 2, a bad ``--clean`` regex) prints ``Error: ...`` and exits 1.
"""

from __future__ import annotations

from typing import List, Optional

import typer

from .cli import FormatOption, _open, app
from .cli_behaviour import SegmentOption
from .output import OutputFormat, render_rows as _render_rows


def render_rows(rows: list[dict], fmt: OutputFormat, *, title: str) -> None:
    """Rows as a table, CSV or JSON; the title escaped (a step such as ``page_view[path=/]``
    is not Rich markup)."""
    from rich.markup import escape

    _render_rows(rows, fmt, title=escape(title))

__all__ = ["paths_command", "stage_flow_command", "step_matrix_command", "transitions_command"]

NodeOption = typer.Option("event", "--node", help="What a node is: event (event name), path (URL path of page/screen views) or event_path (URL path of views, event name of the rest).")
CleanOption = typer.Option(None, "--clean", help="Rename nodes: 'REGEX=ALIAS' (repeatable, applied in order before repeats are collapsed), e.g. '^/product/.*=/product/:id'.")
NoCollapseOption = typer.Option(False, "--no-collapse", help="Keep immediate repeats (A, A, B) instead of collapsing them to A, B.")
GapOption = typer.Option(None, "--gap", help="Inactivity that starts a new path (default analytics.session_gap, 30m); 'none' keeps whole journeys.")
LimitOption = typer.Option(100, "--limit", min=1, help="Rows shown.")


def _seconds(rows: list[dict]) -> list[dict]:
    for row in rows:
        for key in ("avg_seconds", "median_seconds"):
            if isinstance(row.get(key), float):
                row[key] = round(row[key], 1)
        for key in ("probability", "share"):
            if isinstance(row.get(key), float):
                row[key] = round(row[key], 4)
    return rows


ByOption = typer.Option(None, "--by", help="Break down by a customer property (channel, device, cohort:month, segment:NAME...).")


@app.command("paths")
def paths_command(
    start: Optional[str] = typer.Option(None, "--from", help="Start step: paths begin at its first occurrence in each path (e.g. page_view[path=/pricing*])."),
    end: Optional[str] = typer.Option(None, "--to", help="End step: the steps leading up to its first occurrence (after --from)."),
    steps: int = typer.Option(5, "--steps", help="Nodes per path (at least 2)."),
    node: str = NodeOption,
    clean: Optional[List[str]] = CleanOption,
    no_collapse: bool = NoCollapseOption,
    gap: Optional[str] = GapOption,
    segment: Optional[str] = SegmentOption,
    by: Optional[str] = ByOption,
    min_customers: int = typer.Option(1, "--min-customers", help="Leave out edges with fewer customers."),
    count: str = typer.Option("customers", "--count", help="Order edges by customers (unique) or transitions (every traversal)."),
    limit: int = LimitOption,
    fmt: OutputFormat = FormatOption,
) -> None:
    """User paths: edges step k -> k+1 (customers, transitions, time on the edge), with $drop_off."""
    with _open(read_only=True) as jm:
        edges = jm.paths(start=start, end=end, steps=steps, node=node, clean=clean or None,
                         collapse_repeats=not no_collapse, gap=gap, segment=segment, by=by,
                         min_customers=min_customers, count=count)
        rows = _seconds(edges.limit(limit).to_pyarrow().to_pylist())
        where = "".join([f" from {start}" if start else "", f" to {end}" if end else ""])
        render_rows(rows, fmt, title=f"paths{where} ({steps} steps, by {count})")


@app.command("transitions")
def transitions_command(
    node: str = NodeOption,
    clean: Optional[List[str]] = CleanOption,
    no_collapse: bool = NoCollapseOption,
    gap: Optional[str] = GapOption,
    path_ends: bool = typer.Option(False, "--path-ends", help="Add $path_start -> first node and last node -> $path_end."),
    segment: Optional[str] = SegmentOption,
    by: Optional[str] = ByOption,
    limit: int = LimitOption,
    fmt: OutputFormat = FormatOption,
) -> None:
    """The transition matrix: moves from node to node, unique customers, probability out of the source, median time."""
    with _open(read_only=True) as jm:
        matrix = jm.transitions(node=node, clean=clean or None, collapse_repeats=not no_collapse, gap=gap,
                                path_ends=path_ends, segment=segment, by=by)
        render_rows(_seconds(matrix.limit(limit).to_pyarrow().to_pylist()), fmt, title="transitions")


@app.command("step-matrix")
def step_matrix_command(
    max_steps: int = typer.Option(10, "--max-steps", help="Steps (columns) of the matrix."),
    start: Optional[str] = typer.Option(None, "--from", help="Step 1 is the first occurrence of this step in each path."),
    node: str = NodeOption,
    clean: Optional[List[str]] = CleanOption,
    no_collapse: bool = NoCollapseOption,
    gap: Optional[str] = GapOption,
    segment: Optional[str] = SegmentOption,
    by: Optional[str] = ByOption,
    wide: bool = typer.Option(False, "--wide", help="One row per node, one column per step (shares)."),
    fmt: OutputFormat = FormatOption,
) -> None:
    """The step matrix: the share of paths at each node on step 1, 2, ... ($path_end: already over)."""
    if wide and by:
        from .errors import ConfigError

        raise ConfigError("--wide shows one row per node and takes no --by", field="wide",
                          hint="drop --wide to see the breakdown in long form")
    with _open(read_only=True) as jm:
        matrix = jm.step_matrix(max_steps=max_steps, start=start, node=node, clean=clean or None,
                                collapse_repeats=not no_collapse, gap=gap, segment=segment, by=by)
        rows = _seconds(matrix.to_pyarrow().to_pylist())
        if wide:
            rows = _wide(rows)
        render_rows(rows, fmt, title="step matrix" + (f" from {start}" if start else ""))


def _wide(rows: list[dict]) -> list[dict]:
    steps = sorted({r["step"] for r in rows})
    table: dict[str, dict] = {}
    for row in rows:
        table.setdefault(row["node"], {"node": row["node"], **{str(s): 0.0 for s in steps}})[str(row["step"])] = row["share"]
    return sorted(table.values(), key=lambda r: (r["node"].startswith("$"), -sum(r[str(s)] for s in steps), r["node"]))


@app.command("stage-flow")
def stage_flow_command(
    preset: Optional[str] = typer.Option(None, "--preset", help="Stage model preset (default: journeymap.toml or the default model)."),
    segment: Optional[str] = SegmentOption,
    by: Optional[str] = ByOption,
    include_skipped: bool = typer.Option(False, "--include-skipped", help="Count skipped stages as entered."),
    limit: int = LimitOption,
    fmt: OutputFormat = FormatOption,
) -> None:
    """The flow between stages (the moves from each stage to the next one entered; $current after the last)."""
    with _open(read_only=True) as jm:
        flow = jm.stage_flow(preset=preset, segment=segment, by=by, include_skipped=include_skipped)
        render_rows(_seconds(flow.limit(limit).to_pyarrow().to_pylist()), fmt, title="stage flow")
