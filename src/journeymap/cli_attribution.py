"""``journeymap attribution``: credits per channel, campaign or content, one model or all side by side
(the same API as Python: :meth:`journeymap.Journeymap.attribution`).

On the store's events by default; ``--paths FILE`` reads aggregated path rows instead
(channelattribution / marketing-attribution-models format). A bad argument or row prints
``Error: ...`` and exits 1.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import List, Optional

import typer

from . import api
from .cli import FormatOption, _open, app, state
from .cli_behaviour import SegmentOption
from .output import OutputFormat, render_rows

__all__ = ["attribution_command"]


@contextmanager
def _memory():
    jm = api.open_store(":memory:", config=state.config)
    try:
        yield jm
    finally:
        jm.close()


_AMOUNTS = ("conversions", "value", "spend", "cost_per_conversion", "journeys")
_SHARES = ("share", "value_share", "probability")


def _readable(rows: list[dict], fmt: OutputFormat) -> tuple[list[dict], list[str]]:
    """For a table: amounts with two decimals and thousands separators, shares as percentages
    (csv and json keep the numbers, rounded)."""
    rows = _round(rows)
    if fmt != OutputFormat.table:
        return rows, []
    right = set()
    for row in rows:
        for key, value in row.items():
            if not isinstance(value, float):
                continue
            right.add(key)
            if key in _SHARES:
                row[key] = f"{value:.1%}"
            elif key in ("removal_effect",):
                row[key] = f"{value:.4f}"
            else:
                row[key] = f"{value:,.2f}"
    return rows, sorted(right)


def _print(rows: list[dict], fmt: OutputFormat, title: str) -> None:
    rows, right = _readable(rows, fmt)
    render_rows(rows, fmt, title=title, right=right)


def _round(rows: list[dict]) -> list[dict]:
    for row in rows:
        for key, value in row.items():
            if isinstance(value, float):
                row[key] = round(value, 6 if key in ("share", "value_share", "removal_effect", "probability") else 4)
    return rows


def _wide(rows: list[dict], level: str, column: str) -> list[dict]:
    """One row per channel, one column per model (``column``: conversions, value or share)."""
    table: dict[str, dict] = {}
    for row in rows:
        table.setdefault(row[level], {level: row[level]})[row["model"]] = row[column]
    return list(table.values())


@app.command("attribution")
def attribution_command(
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model: first_touch, last_touch, last_non_direct, linear, time_decay, position_based, markov, shapley, ordered_shapley, shao_li (default attribution.model, markov)."),
    compare: bool = typer.Option(False, "--compare", help="Every model side by side (or those of --models): one row per channel, one column per model."),
    models: Optional[str] = typer.Option(None, "--models", help="Models to compare, comma-separated (implies --compare)."),
    show: str = typer.Option("conversions", "--show", help="With --compare: the column shown per model: conversions, value or share."),
    order: Optional[int] = typer.Option(None, "--order", help="Markov chain order, 1-4 (default attribution.order, 1)."),
    level: Optional[str] = typer.Option(None, "--level", help="Credit to: channel, source_medium, campaign or content (default attribution.level)."),
    conversion: Optional[List[str]] = typer.Option(None, "--conversion", help="What a conversion is (repeatable): an event with filters, e.g. order_completed[revenue>=100], or stage:NAME (default attribution.conversion)."),
    lookback: Optional[str] = typer.Option(None, "--lookback", help="Only touches within this long before the conversion (30d, 12h; 'none' for no limit; default attribution.lookback)."),
    lookback_steps: Optional[int] = typer.Option(None, "--lookback-steps", min=1, help="Only each path's last N touches (after the transforms)."),
    transform: Optional[List[str]] = typer.Option(None, "--transform", help="Path transform (repeatable, in order): exposure, unique, first, frequency, remove_if_not_all(CH,...), remove_if_last_and_not_all(CH,...)."),
    half_life: Optional[str] = typer.Option(None, "--half-life", help="Time-decay half-life (default attribution.half_life, 7d)."),
    positions: Optional[str] = typer.Option(None, "--positions", help="Position-based first,middle,last shares, e.g. 40,20,40."),
    spend: Optional[str] = typer.Option(None, "--spend", help="Spend file (CSV/Parquet: channel or campaign, period, cost): adds cost per conversion and ROAS."),
    transitions: bool = typer.Option(False, "--transitions", help="Show the Markov transition matrix (named states) instead of credits."),
    segment: Optional[str] = SegmentOption,
    paths: Optional[str] = typer.Option(None, "--paths", help="Aggregated path file (CSV/Parquet) instead of the store: path, conversions, value, nulls."),
    path_column: str = typer.Option("path", "--path-column", help="--paths: the path column (e.g. 'a > b > c')."),
    conversions_column: str = typer.Option("conversions", "--conversions-column", help="--paths: conversions per path."),
    value_column: Optional[str] = typer.Option(None, "--value-column", help="--paths: conversion value per path."),
    nulls_column: Optional[str] = typer.Option(None, "--nulls-column", help="--paths: journeys per path that did not convert."),
    sep: str = typer.Option(">", "--sep", help="--paths: the touch separator."),
    reject_bad_rows: bool = typer.Option(False, "--reject-bad-rows", help="--paths: set malformed rows aside (listed after the table) instead of stopping at the first."),
    fmt: OutputFormat = FormatOption,
) -> None:
    """Attribution: conversions and value credited to each channel (campaign, content) by a model, or every model compared."""
    chosen = models or ("all" if compare else model)  # None: attribution.model
    common = dict(order=order, half_life=half_life, positions=positions, spend=spend)
    if paths is not None:
        with _memory() as jm:
            if transitions:
                chain_paths, _ = jm.read_attribution_paths(
                    paths, path=path_column, conversions=conversions_column, value=value_column, nulls=nulls_column,
                    sep=sep, transform=transform or "unique", lookback_steps=lookback_steps,
                    on_error="reject" if reject_bad_rows else "raise")
                rows = jm.attribution_transitions(order=order, paths=chain_paths).to_pyarrow().to_pylist()
                _print(rows, fmt, f"Markov transitions (order {order or jm.settings.attribution.order})")
                return
            result = jm.attribution_from_paths(
                paths, path=path_column, conversions=conversions_column, value=value_column, nulls=nulls_column,
                sep=sep, model=chosen, transform=transform or "unique", lookback_steps=lookback_steps,
                on_error="reject" if reject_bad_rows else "raise", **common)
            _show(result.to_pyarrow().to_pylist(), "channel", compare or bool(models), show, fmt, "attribution of " + paths)
            if result.rejects:
                render_rows(result.rejects, fmt, title=f"{len(result.rejects)} rejected row(s)")
        return
    with _open(read_only=True) as jm:
        shape = dict(level=level, lookback=lookback, lookback_steps=lookback_steps, transform=transform or None,
                     conversion=conversion or None, segment=segment)
        if transitions:
            rows = jm.attribution_transitions(order=order, **shape).to_pyarrow().to_pylist()
            _print(rows, fmt, f"Markov transitions (order {order or jm.settings.attribution.order})")
            return
        result = jm.attribution_compare(chosen or jm.settings.attribution.model, **shape, **common)
        level_name = level or jm.settings.attribution.level
        _show(result.to_pyarrow().to_pylist(), level_name, compare or bool(models), show, fmt, "attribution")


def _show(rows: list[dict], level: str, wide: bool, show: str, fmt: OutputFormat, title: str) -> None:
    if wide:
        if show not in ("conversions", "value", "share"):
            from .errors import ConfigError

            raise ConfigError(f"--show takes conversions, value or share, not '{show}'", field="show")
        table = _wide(rows, level, show)
        if show == "share" and fmt == OutputFormat.table:
            table = [{k: (f"{v:.1%}" if isinstance(v, float) else v) for k, v in row.items()} for row in table]
            render_rows(table, fmt, title=f"{title}: share by model", right=[k for k in table[0] if k != level] if table else [])
            return
        _print(table, fmt, f"{title}: {show} by model")
        return
    model = rows[0]["model"] if rows else ""
    keep = [k for k in rows[0] if any(r[k] is not None for r in rows)] if rows else []
    _print([{k: r[k] for k in keep if k != "model"} for r in rows], fmt, f"{title} ({model})")
