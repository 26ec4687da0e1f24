"""``journeymap funnel``: the funnel commands of the CLI (the same API as Python: :mod:`journeymap.api_funnels`)."""

from __future__ import annotations

from typing import List, Optional

import typer

from .cli import FormatOption, _open, app
from .cli_behaviour import SegmentOption
from .output import OutputFormat, render_rows

__all__ = ["funnel_command"]


def _seconds(value) -> str:
    if value is None:
        return ""
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if value >= size:
            return f"{value / size:.1f}{unit}"
    return f"{value:g}s"


def _compact(rows: list[dict]) -> list[dict]:
    """The funnel table for a terminal: percentages and readable durations, fewer columns."""
    out = []
    for row in rows:
        keep = {k: v for k, v in row.items() if k not in (
            "conversion", "conversion_from_first", "conversion_from_previous", "median_seconds_from_previous",
            "average_seconds_from_previous")}
        keep["of_first"] = "" if row["conversion_from_first"] is None else f"{row['conversion_from_first']:.1%}"
        keep["of_previous"] = "" if row["conversion_from_previous"] is None else f"{row['conversion_from_previous']:.1%}"
        keep["median_time"] = _seconds(row["median_seconds_from_previous"])
        keep["average_time"] = _seconds(row["average_seconds_from_previous"])
        out.append(keep)
    return out


@app.command("funnel")
def funnel_command(
    steps: str = typer.Option(..., "--steps", help="Steps, comma-separated: events with filters (checkout_started[device=mobile]) or stage:NAME."),
    window: Optional[str] = typer.Option(None, "--window", help="Conversion window from step 1, inclusive (e.g. 7d, 12h; default analytics.conversion_window, 14d)."),
    order: str = typer.Option("sequential", "--order", help="sequential (others may come between steps), strict (none may) or any."),
    exclude: Optional[List[str]] = typer.Option(None, "--exclude", help="An event that disqualifies an attempt between two steps: 1..2:purchase_cancelled (a bare event: the whole funnel). Repeatable."),
    conversion: str = typer.Option("first", "--conversion", help="The 'conversion' column relative to the first or the previous step."),
    breakdown: Optional[str] = typer.Option(None, "--breakdown", help="Break down by a touchpoint column or property (channel, utm_source, device, property.KEY)."),
    attribution: str = typer.Option("first_touch", "--attribution", help="Breakdown attribution: first_touch, last_touch, all_steps or step:N."),
    by: Optional[List[str]] = typer.Option(None, "--by", help="Break down by a customer-level segment key (first_channel, cohort:month, segment:NAME ...)."),
    count_by: str = typer.Option("customer", "--count-by", help="Count customers, sessions (the steps in one session) or total entries."),
    segment: Optional[str] = SegmentOption,
    preset: Optional[str] = typer.Option(None, "--preset", help="Stage model for stage:NAME steps."),
    time_to_convert: bool = typer.Option(False, "--time-to-convert", help="Show the time-to-convert histogram (median, p90) instead of the steps."),
    bins: int = typer.Option(10, "--bins", help="Histogram bins for --time-to-convert."),
    trend: Optional[str] = typer.Option(None, "--trend", help="Show conversion by entry period: day, week or month."),
    dropped: Optional[int] = typer.Option(None, "--dropped", help="List the customers who dropped at step N (did step N-1, not N)."),
    next_events: Optional[int] = typer.Option(None, "--next-events", help="What the customers who dropped at step N did next (top events)."),
    top: int = typer.Option(10, "--top", help="Rows for --next-events."),
    limit: int = typer.Option(50, "--limit", min=1, help="Rows shown for --dropped."),
    fmt: OutputFormat = FormatOption,
) -> None:
    """Funnel: how many customers went through --steps in order within --window, PostHog's way (docs/funnels.md)."""
    from .errors import ConfigError

    chosen = [name for name, on in (("--time-to-convert", time_to_convert), ("--trend", trend is not None),
                                    ("--dropped", dropped is not None), ("--next-events", next_events is not None)) if on]
    if len(chosen) > 1:
        raise ConfigError(f"{' and '.join(chosen)} cannot be combined", field="funnel", hint="pick one view")
    definition = dict(window=window, order=order, exclusions=list(exclude or []), conversion=conversion,
                      breakdown=breakdown, breakdown_attribution=attribution, by=list(by or []) or None,
                      count_by=count_by, segment=segment, preset=preset)
    with _open(read_only=True) as jm:
        from .durations import format_duration

        title = f"funnel {steps} (window {format_duration(jm.conversion_window(window))}, {order}, by {count_by})"
        if time_to_convert:
            rows = jm.funnel_time_to_convert(steps, bins=bins, **definition).to_pyarrow().to_pylist()
            title = "time to convert: " + title
        elif trend is not None:
            rows = jm.funnel_trend(steps, period=trend, **definition).to_pyarrow().to_pylist()
            title = f"conversion by entry {trend} (complete=false: entries may still convert): " + title
        elif dropped is not None:
            table = jm.funnel_dropoffs(steps, step=dropped, **definition)
            rows = table.limit(limit).to_pyarrow().to_pylist()
            title = f"dropped at step {dropped}: " + title
        elif next_events is not None:
            rows = jm.funnel_next_events(steps, step=next_events, top=top, **definition).to_pyarrow().to_pylist()
            title = f"next events of those who dropped at step {next_events}: " + title
        else:
            rows = jm.funnel(steps, **definition).to_pyarrow().to_pylist()
            rows = _compact(rows) if fmt == OutputFormat.table else rows
        render_rows(rows, fmt, title=title)
