"""``journeymap retention``, ``lifecycle``, ``stickiness`` and ``repeat-purchases``: the retention
commands of the CLI (the same API as Python: :mod:`journeymap.api_retention`).

``--format table`` prints a compact view (the retention triangle; one line per period for
the lifecycle; one line per interval for stickiness); ``csv`` and ``json`` print the analysis
table itself, one row per cell.
"""

from __future__ import annotations

from typing import List, Optional

import typer
from rich.markup import escape

from .analytics.retention import LIFECYCLE_COLUMNS, RETENTION_COLUMNS, STICKINESS_COLUMNS
from .cli import FormatOption, _open, app
from .cli_behaviour import SegmentOption
from .output import OutputFormat, render_rows

__all__ = ["lifecycle_command", "repeat_purchases_command", "retention_command", "stickiness_command"]

ByOption = typer.Option(None, "--by", help="Break down by a segment key (channel, device, cohort:month, property.KEY, segment:NAME, ...; repeat or comma-separate).")
FromOption = typer.Option(None, "--from", help="First date (YYYY-MM-DD, UTC) of the cohorts / periods reported.")
ToOption = typer.Option(None, "--to", help="Last date (YYYY-MM-DD, UTC, inclusive) of the cohorts / periods reported.")
PresetOption = typer.Option(None, "--preset", help="Stage model preset for stage:NAME steps and stage breakdowns.")
PeriodOption = typer.Option(None, "--period", help="hour, day, week (from Monday, UTC) or month (default analytics.retention_period).")


def _percent(value) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


_GAPS = ("median_days_between", "p90_days_between", "median_days_to_second", "p90_days_to_second")


def _days(value) -> str:
    return "" if value is None else f"{value:.1f}"


def _when(moment, period: str) -> str:
    if moment is None:
        return ""
    return moment.strftime("%Y-%m-%d %H:00" if period == "hour" else "%Y-%m" if period == "month" else "%Y-%m-%d")


def _group(row: dict, by: list[str]) -> dict:
    return {b: row[b] for b in by}


def _triangle(rows: list[dict], by: list[str], period: str, periods: int) -> list[dict]:
    """One line per cohort: its size and the retention rate of every period (``*``: not over)."""
    lines: dict[tuple, dict] = {}
    for row in rows:
        key = (*[row[b] for b in by], row["cohort"])
        line = lines.setdefault(key, {**_group(row, by), "cohort": _when(row["cohort"], period),
                                      "size": row["cohort_size"]})
        line[f"{period} {row['period']}"] = _percent(row["retention_rate"]) + ("" if row["complete"] else "*")
    for line in lines.values():
        for p in range(periods):
            line.setdefault(f"{period} {p}", "")
    return list(lines.values())


@app.command("retention")
def retention_command(
    start: str = typer.Option("*", "--start", help="Start event: an event name with optional [filters], stage:NAME, or * (any touchpoint)."),
    returning: str = typer.Option("*", "--return", help="Return event (same forms as --start)."),
    period: Optional[str] = PeriodOption,
    periods: int = typer.Option(8, "--periods", help="Periods reported per cohort: period 0 (the cohort) and periods-1 more."),
    recurring: bool = typer.Option(False, "--recurring", help="Every period with a start event is a cohort entry (default: first time only)."),
    on_or_after: bool = typer.Option(False, "--on-or-after", help="Retained in period N = returned in N or any later period reported."),
    relative: str = typer.Option("start", "--relative", help="Percentages of the cohort size ('start') or of the previous period ('previous')."),
    by: Optional[List[str]] = ByOption,
    segment: Optional[str] = SegmentOption,
    date_from: Optional[str] = FromOption,
    date_to: Optional[str] = ToOption,
    preset: Optional[str] = PresetOption,
    fmt: OutputFormat = FormatOption,
) -> None:
    """Retention by cohort: of the customers who did --start in a period, the share who did --return N periods later."""
    with _open(read_only=True) as jm:
        table = jm.retention(start, returning, cohort="recurring" if recurring else "first_time", period=period,
                             periods=periods, counting="on_or_after" if on_or_after else "on", relative_to=relative,
                             by=by, segment=segment, date_from=date_from, date_to=date_to, preset=preset)
        names = [c for c in table.columns if c not in RETENTION_COLUMNS]
        shown = jm.retention_period(period)
        rows = table.to_pyarrow().to_pylist()
    if fmt != OutputFormat.table:
        render_rows(rows, fmt)
        return
    kind = "recurring" if recurring else "first-time"
    title = (f"{kind} retention by {shown}: {start} then {returning}"
             f" ({'on or after' if on_or_after else 'on'} period N, % of "
             f"{'period 0' if relative == 'start' else 'the previous period'}; * = period not over)")
    render_rows(_triangle(rows, names, shown, periods), fmt, title=escape(title))


@app.command("lifecycle")
def lifecycle_command(
    event: str = typer.Option("*", "--event", help="The activity: an event name with optional [filters], stage:NAME, or * (any touchpoint)."),
    period: Optional[str] = PeriodOption,
    by: Optional[List[str]] = ByOption,
    segment: Optional[str] = SegmentOption,
    date_from: Optional[str] = FromOption,
    date_to: Optional[str] = ToOption,
    preset: Optional[str] = PresetOption,
    fmt: OutputFormat = FormatOption,
) -> None:
    """Lifecycle per period: new, returning, resurrecting and dormant customers."""
    with _open(read_only=True) as jm:
        table = jm.lifecycle(event, period=period, by=by, segment=segment, date_from=date_from, date_to=date_to,
                             preset=preset)
        names = [c for c in table.columns if c not in LIFECYCLE_COLUMNS]
        shown = jm.retention_period(period)
        rows = table.to_pyarrow().to_pylist()
    if fmt != OutputFormat.table:
        render_rows(rows, fmt)
        return
    lines: dict[tuple, dict] = {}
    for row in rows:
        key = (*[row[b] for b in names], row["period"])
        line = lines.setdefault(key, {**_group(row, names), shown: _when(row["period"], shown) + ("" if row["complete"] else "*")})
        line[row["status"]] = row["customers"]
    for line in lines.values():
        line["active"] = sum(line.get(s, 0) for s in ("new", "returning", "resurrecting"))
    render_rows(list(lines.values()), fmt, title=escape(f"lifecycle of {event} by {shown} (* = period not over)"))


@app.command("stickiness")
def stickiness_command(
    event: str = typer.Option("*", "--event", help="The activity: an event name with optional [filters], stage:NAME, or * (any touchpoint)."),
    period: str = typer.Option("day", "--period", help="What is counted: active hours, days or weeks."),
    within: str = typer.Option("week", "--within", help="Per day, week, month, or 'all' (the whole date range, PostHog's stickiness)."),
    by: Optional[List[str]] = ByOption,
    segment: Optional[str] = SegmentOption,
    date_from: Optional[str] = FromOption,
    date_to: Optional[str] = ToOption,
    preset: Optional[str] = PresetOption,
    fmt: OutputFormat = FormatOption,
) -> None:
    """Stickiness: customers by the number of days (or hours, weeks) they were active in each week (or month)."""
    with _open(read_only=True) as jm:
        table = jm.stickiness(event, period=period, within=within, by=by, segment=segment, date_from=date_from,
                              date_to=date_to, preset=preset)
        names = [c for c in table.columns if c not in STICKINESS_COLUMNS]
        rows = table.to_pyarrow().to_pylist()
    if fmt != OutputFormat.table:
        render_rows(rows, fmt)
        return
    if within.strip().lower() == "all":
        shown = [{**_group(r, names), "active " + period + "s": r["active_periods"], "customers": r["customers"],
                  "share": _percent(r["share"]), "at least": r["customers_at_least"]} for r in rows]
        render_rows(shown, fmt, title=escape(f"customers by {period}s with {event} in the whole range"))
        return
    unit = period.strip().lower()
    most = max((r["active_periods"] for r in rows), default=0)
    label = {k: f"{k} {unit}" + ("s" if k > 1 else "") for k in range(1, most + 1)}
    lines: dict[tuple, dict] = {}
    for row in rows:
        key = (*[row[b] for b in names], row["interval"])
        if key not in lines:
            lines[key] = {**_group(row, names), "interval": _when(row["interval"], "day")
                          + ("" if row["complete"] else "*"), "customers": 0, **{label[k]: 0 for k in label}}
        lines[key]["customers"] += row["customers"]
        lines[key][label[row["active_periods"]]] = row["customers"]
    render_rows(list(lines.values()), fmt,
                title=escape(f"customers by {unit}s with {event} per {within} (* = interval not over)"))


@app.command("repeat-purchases")
def repeat_purchases_command(
    event: str = typer.Option("order_completed", "--event", help="The purchase event, with optional [filters], e.g. order_completed[device=mobile]."),
    distribution: bool = typer.Option(False, "--distribution", help="Print customers by number of purchases instead of the summary."),
    cap: int = typer.Option(10, "--cap", help="With --distribution: the last bucket holds customers with this many purchases or more."),
    by: Optional[List[str]] = ByOption,
    segment: Optional[str] = SegmentOption,
    date_from: Optional[str] = typer.Option(None, "--from", help="Only purchases from this date (YYYY-MM-DD, UTC)."),
    date_to: Optional[str] = typer.Option(None, "--to", help="Only purchases up to this date (inclusive)."),
    preset: Optional[str] = PresetOption,
    fmt: OutputFormat = FormatOption,
) -> None:
    """Repeat purchases: the share of buyers who buy again, purchases per buyer, days between purchases."""
    with _open(read_only=True) as jm:
        if distribution:
            table = jm.purchase_counts(event, cap=cap, by=by, segment=segment, date_from=date_from, date_to=date_to,
                                       preset=preset)
        else:
            table = jm.repeat_purchases(event, by=by, segment=segment, date_from=date_from, date_to=date_to,
                                        preset=preset)
        rows = table.to_pyarrow().to_pylist()
    if fmt != OutputFormat.table:
        render_rows(rows, fmt)
        return
    if distribution:
        shown = [{**{k: v for k, v in r.items() if k not in ("purchases", "or_more", "share")},
                  "purchases": f"{r['purchases']}+" if r["or_more"] else str(r["purchases"]),
                  "share": _percent(r["share"])} for r in rows]
        shown = [{"purchases": s.pop("purchases"), **s} for s in shown]
        render_rows(shown, fmt, title=escape(f"customers by number of {event}"))
        return
    short = {"customers": "buyers", "repeat_customers": "repeat buyers", "repeat_rate": "repeat rate",
             "purchases": "purchases", "purchases_per_customer": "per buyer", "median_days_between": "median days between",
             "p90_days_between": "p90 days between", "median_days_to_second": "median days 1st to 2nd",
             "p90_days_to_second": "p90 days 1st to 2nd"}
    shown = [{short.get(k, k): _percent(v) if k == "repeat_rate" else _days(v) if k in _GAPS else v
              for k, v in r.items()} for r in rows]
    if len(shown) == 1 and not by:  # one summary: a measure per line reads better than 9 columns
        shown = [{"measure": k, "value": v if isinstance(v, str) else f"{v:,}" if isinstance(v, int) else
                  f"{v:.3g}" if v is not None else ""} for k, v in shown[0].items()]
    render_rows(shown, fmt, title=escape(f"repeat {event}"))


