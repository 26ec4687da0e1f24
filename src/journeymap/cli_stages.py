"""``journeymap stages`` and ``journeymap map``: the stage commands of the CLI (same API as Python)."""

from __future__ import annotations

from typing import List, Optional

import ibis
import typer

from .cli import FormatOption, _open, app, console, err_console
from .output import OutputFormat, render_rows, to_json

__all__ = ["stages_command"]


def _percent(value) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def _days(value) -> str:
    if value is None:
        return ""
    return f"{value * 24:.1f} h" if value < 1 else f"{value:.1f} d"


_SHORT = {"conversion_from_previous": "conv. prev", "conversion_from_first": "conv. first",
          "median_days_from_previous": "median to reach", "p90_days_from_previous": "p90 to reach",
          "median_days_in_stage": "median in stage"}


def _for_table(rows: list[dict]) -> list[dict]:
    """Percentages and durations for people; short headers so the table fits a terminal."""
    out = []
    for row in rows:
        shown = {}
        for key, value in row.items():
            if key == "stage_index":
                continue
            if key.startswith("conversion_"):
                value = _percent(value)
            elif key.endswith("_days_from_previous") or key == "median_days_in_stage":
                value = _days(value)
            shown[_SHORT.get(key, key)] = value
        out.append(shown)
    return out


def _model_rows(model) -> list[dict]:
    return [{"stage": s.name, "label": s.label, "entry rule": s.rule.describe(),
             "stay_days": s.stay_days, "description": s.description} for s in model.stages]


@app.command("stages")
def stages_command(
    preset: Optional[str] = typer.Option(None, "--preset", help="Stage model preset (default: journeymap.toml's stages, else 'default')."),
    by: Optional[List[str]] = typer.Option(None, "--by", help="Break down by a segment key: channel, campaign, source, medium, device, landing_page, cohort:week, cohort:month, stage, property.KEY (repeat or comma-separate)."),
    segment: Optional[str] = typer.Option(None, "--segment", help="Only customers in a saved segment (its name) or in KEY=VALUE[,KEY!=VALUE...], e.g. channel=email."),
    rules: bool = typer.Option(False, "--rules", help="Print the stage model (stages, entry rules, descriptions) instead of the funnel."),
    customer: Optional[str] = typer.Option(None, "--customer", help="Print one customer's stage entries and the touchpoints that triggered them (a customer_id, or a user, anonymous or device id stitched to one)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="'Now' for days in the current stage (ISO date; default: the latest touchpoint)."),
    fmt: OutputFormat = FormatOption,
) -> None:
    """The stage funnel: customers who reached each stage, conversion, time between stages, drop-offs."""
    if rules:
        from .config import load_settings
        from .stages import load_stage_model
        from .cli import state

        model = load_stage_model(load_settings(state.config), preset=preset)
        render_rows(_model_rows(model), fmt, title=f"stage model '{model.name}'")
        return
    with _open() as jm:
        model = jm.stage_model(preset)
        if customer is not None:
            customer = jm.resolve_customer(customer)  # a customer_id, or any identifier stitched to one
            entries = jm.stages(preset, as_of=as_of)
            rows = (entries.filter(entries.customer_id == customer).order_by("stage_index")
                    .drop("exit_event_id").to_pyarrow().to_pylist())
            if not rows:
                from .errors import ConfigError

                raise ConfigError(f"no customer '{customer}' in the store", field="customer",
                                  hint="customer ids are in `journeymap export` or jm.customer_stages()")
            render_rows(rows, fmt, title=f"stages of customer {customer}")
            return
        funnel = jm.stage_funnel(by, preset=preset, segment=segment, as_of=as_of)
        rows = funnel.to_pyarrow().to_pylist()
        refresh = getattr(jm, "last_refresh", None)
    if fmt == OutputFormat.json:
        console.file.write(to_json({"model": model.name, "rows": rows,
                                    "refresh": refresh.to_dict() if refresh else None}) + "\n")
        return
    title = f"stage funnel ({model.name})" + (f", segment {segment}" if segment else "")
    render_rows(_for_table(rows) if fmt == OutputFormat.table else rows, fmt, title=title)
    if refresh is not None and fmt == OutputFormat.table:
        how = "all customers (new stage model)" if refresh.full else \
            f"{refresh.customers_recomputed:,} changed customers of {refresh.customers:,}"
        err_console.print(f"stage history: recomputed {how} in {refresh.seconds:.2f} s", markup=False)


@app.command("map")
def map_command(
    out: str = typer.Option("journey-map.html", "--out", "-o", help="HTML file to write (one self-contained file, opens offline)."),
    preset: Optional[str] = typer.Option(None, "--preset", help="Stage model preset (default: journeymap.toml's stages, else 'default')."),
    segment: Optional[str] = typer.Option(None, "--segment", help="Draw the map for a saved segment (its name) or KEY=VALUE[,KEY!=VALUE...] only, e.g. channel=email."),
    title: Optional[str] = typer.Option(None, "--title", help="Title at the top of the map."),
    top: int = typer.Option(5, "--top", min=1, max=20, help="Items per ranked lane (actions, channels, content)."),
    png: Optional[str] = typer.Option(None, "--png", help="Also photograph the map to this PNG with headless Chromium."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="'Now' for time in the current stage (ISO date; default: the latest touchpoint)."),
) -> None:
    """Draw the customer journey map: stages as columns; lanes for goals, KPIs, actions,
    touchpoints, content, emotions, pain points and opportunities."""
    with _open() as jm:
        journey = jm.journey_map(preset, segment=segment, as_of=as_of, top=top, title=title)
    path = journey.save(out)
    console.print(f"wrote {path or out}: {len(journey.stages)} stages, {journey.customers:,} customers", markup=False)
    if png:
        from .mapview import screenshot

        screenshot(out, png, width=1500)
        console.print(f"wrote {png}", markup=False)


@app.command("content")
def content_command(
    preset: Optional[str] = typer.Option(None, "--preset", help="Stage model preset (default: journeymap.toml's stages, else 'default')."),
    segment: Optional[str] = typer.Option(None, "--segment", help="Only customers in a saved segment (its name) or in KEY=VALUE[,KEY!=VALUE...]."),
    stage: Optional[str] = typer.Option(None, "--stage", help="Only content viewed in this stage."),
    top: int = typer.Option(15, "--top", min=1, help="How many rows to print."),
    min_customers: Optional[int] = typer.Option(None, "--min-customers", min=1, help="Fewest viewers and non-viewers per row (default content.min_customers)."),
    all_content: bool = typer.Option(False, "--all-content", help="Keep content whose own stage is later than the stage it was viewed in."),
    catalogue: bool = typer.Option(False, "--catalogue", help="Print the content catalogue with each item's stage and how it was decided."),
    customers: bool = typer.Option(False, "--customers", help="Print each customer's action stage next to the stage their recent content indicates."),
    fmt: OutputFormat = FormatOption,
) -> None:
    """Which content moves customers to the next stage (viewers vs non-viewers, with 95% intervals)."""
    with _open() as jm:
        if catalogue:
            table = jm.content_stages(preset).order_by([ibis.desc("views"), "content_id"])
            rows = table.drop("first_seen", "last_seen").limit(top).to_pyarrow().to_pylist()
            render_rows(rows, fmt, title="content catalogue and stages")
            return
        if customers:
            table = jm.customer_content_stages(preset).order_by("customer_id")
            if segment:
                table = table.semi_join(jm.segment(segment, preset), "customer_id")
            render_rows(table.limit(top).to_pyarrow().to_pylist(), fmt, title="action stage vs content stage")
            return
        table = jm.content_effectiveness(preset, segment=segment, min_customers=min_customers,
                                         content_stages="all" if all_content else None)
        if stage:
            jm.stage_model(preset).stage(stage)  # a clear error for an unknown stage
            table = table.filter(table.stage == stage)
        rows = table.order_by("rank").limit(top).to_pyarrow().to_pylist()
    if fmt != OutputFormat.table:
        render_rows(rows, fmt)
        return
    shown = [{"rank": r["rank"], "content": r["title"] or r["content_id"], "stage": f"{r['stage']} -> {r['next_stage']}",
              "viewers": f"{r['consumers_advanced']:,}/{r['consumers']:,} = {_percent(r['rate_consumers'])}",
              "others": f"{r['others_advanced']:,}/{r['others']:,} = {_percent(r['rate_others'])}",
              "uplift [95% CI]": f"{r['uplift'] * 100:+.1f} pts [{r['uplift_lo'] * 100:+.1f}, {r['uplift_hi'] * 100:+.1f}]",
              "lift": f"{r['lift']:.2f}x" if r["lift"] is not None else "",
              "step": "step" if r["step"] else ""} for r in rows]
    render_rows(shown, fmt, title="content that moves customers to the next stage")
