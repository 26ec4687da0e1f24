"""The funnels part of :class:`journeymap.Journeymap` (see :mod:`journeymap.api_behaviour` for the shared helpers).

Every method takes the same funnel definition (steps, window, order, exclusions, count_by,
breakdown and attribution, segment) and reads it the same way, so the funnel, its time to
convert, its trend and its drop-offs always agree. docs/funnels.md defines every term.

>>> import journeymap, tempfile, pathlib
>>> from journeymap.demo import DemoSpec, write_demo_files
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = write_demo_files(folder, DemoSpec(customers=200, seed=5))
>>> jm = journeymap.open(":memory:")
>>> _ = jm.load(folder / "events")
>>> f = jm.funnel("product_viewed,add_to_cart,order_completed", window="7d")
>>> rows = f.to_pyarrow().to_pylist()
>>> [r["step_label"] for r in rows], rows[0]["count"] >= rows[1]["count"] >= rows[2]["count"] > 0
(['product_viewed', 'add_to_cart', 'order_completed'], True)
>>> type(f.figure()).__name__
'Figure'
>>> jm.funnel("product_viewed,add_to_crat")
Traceback (most recent call last):
...
journeymap.errors.ConfigError: setting steps: unknown event 'add_to_crat': no touchpoint has it. Fix: did you mean 'add_to_cart'? (`journeymap info` lists the events)
>>> jm.close()
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Sequence

import ibis

from .analytics.funnels import (FunnelSpec, breakdown_value, dropped_units, funnel_table, funnel_trend, funnel_units,
                                next_events, parse_exclusion, time_to_convert)
from .analytics.customers import join_breakdown
from .analytics.result import Analysis, analysis
from .errors import ConfigError

__all__ = ["FunnelsMixin"]

Window = str | float | _dt.timedelta | None
_COLUMN_KEYS = {"channel", "utm_source", "utm_medium", "utm_campaign", "utm_content", "url", "type", "event"}


def _breakdown_columns(breakdown: str | None) -> list[str]:
    """The log column the breakdown reads (the steps' own columns come with the event log)."""
    if not breakdown:
        return []
    return [breakdown if breakdown in _COLUMN_KEYS else "properties"]


class FunnelsMixin:
    """Methods of :class:`~journeymap.Journeymap` about funnels."""

    def _funnel(self, steps, *, window: Window = None, order: str = "sequential", exclusions=None,
                conversion: str = "first", breakdown: str | None = None, breakdown_attribution: str = "first_touch",
                by: str | Sequence[str] | None = None, count_by: str = "customer", segment: str | None = None,
                preset: str | None = None, gap: Window = None) -> tuple[Any, FunnelSpec, Any, list[str]]:
        """(event log, spec, per-customer breakdown table, its columns) of a funnel definition."""
        parsed = self.steps(steps, preset=preset)
        raw = [exclusions] if isinstance(exclusions, str) else list(exclusions or [])
        excl = [parse_exclusion(e, len(parsed)) for e in raw]
        if excl:
            self.steps([e.step for e in excl], preset=preset, field="exclusions")
        if breakdown is not None:
            breakdown = breakdown.strip() or None
        spec = FunnelSpec(parsed, window=self.conversion_window(window), order=order, exclusions=tuple(excl),
                          count_by=count_by, breakdown=breakdown, attribution=breakdown_attribution,
                          conversion=conversion)
        if breakdown:  # a bad name is an error now, not when the table runs
            breakdown_value(ibis.table({c: "string" for c in [*_COLUMN_KEYS, "properties"]}, name="check"), breakdown)
        log = self.event_log(columns=_breakdown_columns(breakdown), steps=[*parsed, *[e.step for e in excl]],
                             segment=segment, preset=preset)
        if count_by == "session":
            from .analytics.sessions import sessionize

            log = sessionize(log, self.session_gap(gap))
        table, names = self.breakdown(by, preset=preset)
        return log, spec, table, names

    def funnel(self, steps, *, window: Window = None, order: str = "sequential", exclusions=None,
               conversion: str = "first", breakdown: str | None = None, breakdown_attribution: str = "first_touch",
               by: str | Sequence[str] | None = None, count_by: str = "customer", segment: str | None = None,
               preset: str | None = None) -> Analysis:
        """The funnel of ``steps`` (``"a,b[k=v],stage:decision"`` or a list), one row per
        (``by`` columns, ``breakdown_value``, step): step, step_label, count, conversion (from the
        first or previous step, per ``conversion``), conversion_from_first, conversion_from_previous,
        dropped, median and average seconds from the previous step.

        ``window``: conversion window from the step-1 event (``7d``; default the
        ``analytics.conversion_window`` setting, 14d), inclusive. ``order``: ``sequential``
        (other events may come between steps), ``strict`` (none may) or ``any``. ``exclusions``:
        events that disqualify an attempt between two steps: ``[("purchase_cancelled", 1, 2)]``,
        ``"1..2:purchase_cancelled"`` or a bare event (the whole funnel). ``breakdown``: a
        touchpoint column or property (``channel``, ``device``) with ``breakdown_attribution``
        ``first_touch``, ``last_touch``, ``all_steps`` or ``step:N``. ``by``: customer-level
        segment keys (``first_channel``, ``cohort:month``, ``segment:NAME``). ``count_by``:
        ``customer``, ``session`` (all steps in one session) or ``total`` (every entry).
        ``.figure()`` draws the funnel bars."""
        from .figures_funnels import funnel_figure

        log, spec, table, names = self._funnel(steps, window=window, order=order, exclusions=exclusions,
                                               conversion=conversion, breakdown=breakdown,
                                               breakdown_attribution=breakdown_attribution, by=by, count_by=count_by,
                                               segment=segment, preset=preset)
        units = join_breakdown(funnel_units(log, spec), table, names)
        result = funnel_table(units, spec, by=names)
        return analysis(result, funnel_figure, "funnel", groups=[*names, *(["breakdown_value"] if breakdown else [])],
                        unit=spec.count_by)

    def funnel_time_to_convert(self, steps, *, from_step: int = 1, to_step: int | None = None, bins: int = 10,
                               **definition: Any) -> Analysis:
        """Time to convert from ``from_step`` to ``to_step`` (default the last): a histogram of
        ``bins`` equal bins (from_seconds, to_seconds, customers, share) with the median, p90 and
        average seconds on every row. ``definition``: the arguments of :meth:`funnel`."""
        from .figures_funnels import time_to_convert_figure

        log, spec, table, names = self._funnel(steps, **definition)
        units = join_breakdown(funnel_units(log, spec), table, names)
        result = time_to_convert(units, spec, from_step=from_step, to_step=to_step, bins=bins, by=names)
        return analysis(result, time_to_convert_figure, "funnel_time_to_convert",
                        groups=[*names, *(["breakdown_value"] if spec.breakdown else [])])

    def funnel_trend(self, steps, *, period: str = "week", **definition: Any) -> Analysis:
        """Conversion by entry period (``day``, ``week``, ``month``): entered, converted (reached
        the last step within the window of that entry), conversion_rate and ``complete`` (False
        while entries of the period could still convert: period end + window is after the latest
        touchpoint). ``definition``: the arguments of :meth:`funnel`."""
        from .figures_funnels import trend_figure

        log, spec, table, names = self._funnel(steps, **definition)
        result = funnel_trend(log, spec, period=period, by=names, segments=table)
        return analysis(result, trend_figure, "funnel_trend",
                        groups=[*names, *(["breakdown_value"] if spec.breakdown else [])])

    def funnel_dropoffs(self, steps, *, step: int, **definition: Any) -> ibis.Table:
        """The customers (sessions, entries) who reached step ``step - 1`` but not ``step``: customer_id
        (session_id), entered_at, reached, last_step_at (the last step they reached) and the
        ``by``/breakdown columns, ordered by customer. ``definition``: the arguments of :meth:`funnel`."""
        log, spec, table, names = self._funnel(steps, **definition)
        units = join_breakdown(funnel_units(log, spec), table, names)
        dropped = dropped_units(units, spec, step)
        keep = [c for c in ("customer_id", "session_id") if c in dropped.columns]
        extra = [*names, *(["breakdown_value"] if spec.breakdown else [])]
        out = dropped.select(*keep, "entered_at", "reached",
                             last_step_at=dropped.last_seconds.as_timestamp("s"),
                             last_step=ibis.literal(spec.steps[step - 2].label), *extra)
        return out.order_by([*keep, "entered_at"])

    def funnel_next_events(self, steps, *, step: int, top: int = 10, **definition: Any) -> Analysis:
        """What the customers who dropped at ``step`` did instead: the event right after the last
        step they reached (``(none)`` if nothing followed), customers and share, the ``top`` most
        common. ``definition``: the arguments of :meth:`funnel`."""
        from .figures_funnels import next_events_figure

        if top < 1:
            raise ConfigError("top must be at least 1", field="top")
        log, spec, table, names = self._funnel(steps, **definition)
        dropped = dropped_units(funnel_units(log, spec), spec, step)
        result = next_events(log, spec, dropped, top=top)
        return analysis(result, next_events_figure, "funnel_next_events", step=step,
                        label=spec.steps[step - 1].label)
