"""``journeymap sessions`` and ``journeymap segments``: the shared behavioural commands."""

from __future__ import annotations

from typing import Optional

import ibis
import typer

from .cli import FormatOption, _open, app
from .durations import format_duration
from .output import OutputFormat, render_rows

__all__ = ["SegmentOption", "segments_command", "sessions_command"]

SegmentOption = typer.Option(None, "--segment", help="Only customers in a saved segment (its name) or in KEY=VALUE[,KEY!=VALUE...].")


@app.command("sessions")
def sessions_command(
    gap: Optional[str] = typer.Option(None, "--gap", help="Inactivity that starts a new session (default analytics.session_gap, 30m)."),
    segment: Optional[str] = SegmentOption,
    by: str = typer.Option("entry_channel", "--by", help="Summarise sessions by entry_channel, landing_page, entry_campaign, entry_event or a customer key (device, cohort:month, segment:NAME ...); 'none' lists every session."),
    limit: int = typer.Option(50, "--limit", min=1, help="Rows shown."),
    fmt: OutputFormat = FormatOption,
) -> None:
    """Sessions: a new one after --gap of inactivity; counts, duration and pages by entry channel or landing page."""
    own = ("entry_channel", "landing_page", "entry_campaign", "entry_event", "none")
    with _open(read_only=True) as jm:
        if by in own:
            sessions = jm.sessions(gap=gap, segment=segment)
        else:  # a customer key: the breakdown names its column
            sessions = jm.sessions(gap=gap, segment=segment, by=by)
            by = sessions.columns[-1]
        if by == "none":
            rows = sessions.order_by(["customer_id", "session_index"]).limit(limit).to_pyarrow().to_pylist()
            render_rows(rows, fmt, title="sessions")
            return
        summary = sessions.group_by(by).aggregate(
            sessions=sessions.count(), customers=sessions.customer_id.nunique(),
            median_minutes=(sessions.duration_seconds / 60).median().round(1),
            pages_per_session=sessions.page_views.mean().round(2),
            bounce_rate=ibis.ifelse(sessions.page_views > 0, (sessions.events == 1).cast("float64"),
                                    ibis.null("float64")).mean().round(3))
        rows = summary.order_by([summary.sessions.desc(), summary[by]]).limit(limit).to_pyarrow().to_pylist()
        render_rows(rows, fmt, title=f"sessions by {by} (gap {format_duration(jm.session_gap(gap))})")


@app.command("segments")
def segments_command(fmt: OutputFormat = FormatOption) -> None:
    """The saved segments ([segments.NAME] in journeymap.toml), their definitions and customer counts."""
    with _open(read_only=True) as jm:
        rows = []
        for name, segment in sorted(jm.saved_segments().items()):
            members = jm.segment_customers(name).count().to_pyarrow().as_py()
            rows.append({"segment": name, "customers": members, "description": segment.description,
                         "where": segment.where or "", "did": ", ".join(s.label for s in segment.did),
                         "did_not": ", ".join(s.label for s in segment.did_not),
                         "within": format_duration(segment.within) if segment.within else "", "stage": ", ".join(segment.stage),
                         "first_channel": ", ".join(segment.first_channel)})
        render_rows(rows, fmt, title="saved segments")
