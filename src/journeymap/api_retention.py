"""The retention part of :class:`journeymap.Journeymap`: retention, lifecycle, stickiness and
repeat purchases (see :mod:`journeymap.api_behaviour` for the shared helpers and
:mod:`journeymap.analytics.retention` for the definitions).

>>> import journeymap, tempfile, pathlib
>>> from journeymap.demo import DemoSpec, write_demo_files
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = write_demo_files(folder, DemoSpec(customers=200, seed=5))
>>> jm = journeymap.open(":memory:")
>>> _ = jm.load(folder / "events")
>>> r = jm.retention("page_view", "page_view", period="month", periods=3).to_pyarrow().to_pylist()
>>> r[0]["period"], r[0]["customers"] == r[0]["cohort_size"], r[0]["retention_rate"]
(0, True, 1.0)
>>> sorted({row["status"] for row in jm.lifecycle(period="month").to_pyarrow().to_pylist()})
['dormant', 'new', 'resurrecting', 'returning']
>>> s = jm.repeat_purchases().to_pyarrow().to_pylist()[0]
>>> 0 < s["repeat_rate"] < 1
True
>>> jm.retention("page_veiw")
Traceback (most recent call last):
...
journeymap.errors.ConfigError: setting start: unknown event 'page_veiw': no touchpoint has it. Fix: did you mean 'page_view'? (`journeymap info` lists the events)
>>> jm.close()
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Sequence

from .analytics.result import Analysis, analysis
from .analytics.retention import check_period, check_periods, lifecycle_table, purchase_count_distribution, \
    repeat_purchase_summary, retention_table, stickiness_table
from .analytics.steps import Step
from .errors import ConfigError

__all__ = ["RetentionMixin"]

By = str | Sequence[str] | None
Date = _dt.date | _dt.datetime | str | None


class RetentionMixin:
    """Methods of :class:`~journeymap.Journeymap` about retention (needs :class:`BehaviourMixin`)."""

    settings: Any

    # --- helpers ----------------------------------------------------------------------------------
    def _retention_step(self, step: str | dict | Step, field: str, preset: str | None) -> Step:
        if isinstance(step, Step):
            steps = self.steps([step], preset=preset, field=field)
        else:
            steps = self.steps(step if isinstance(step, str) else [step], preset=preset, field=field)
        if len(steps) != 1:
            raise ConfigError(f"{field} takes one step, not {len(steps)}", field=field,
                              hint="e.g. order_completed, page_view[path=/shop*] or stage:purchase")
        return steps[0]

    def retention_period(self, period: str | None = None, *, field: str = "period") -> str:
        """``period`` (hour, day, week, month), else the ``analytics.retention_period`` setting."""
        if period is None:
            return check_period(self.settings.analytics.retention_period, field="analytics.retention_period")
        return check_period(period, field=field)

    def _retention_as_of(self) -> _dt.datetime:
        latest = self.events().timestamp.max().to_pyarrow().as_py()
        if latest is None:
            raise ConfigError("the store has no touchpoints", field="store",
                              hint="load events first: journeymap load FILE (or journeymap demo)")
        return latest if latest.tzinfo else latest.replace(tzinfo=_dt.timezone.utc)

    def _retention_inputs(self, steps: list[Step], by: By, segment: str | None, preset: str | None):
        log = self.event_log(steps=steps, segment=segment, preset=preset)
        breakdown, names = self.breakdown(by, preset=preset)
        return log, breakdown, names

    # --- analyses -----------------------------------------------------------------------------------
    def retention(self, start: str | dict | Step = "*", returning: str | dict | Step = "*", *,
                  cohort: str = "first_time", period: str | None = None, periods: int = 8, counting: str = "on",
                  relative_to: str = "start", by: By = None, segment: str | None = None, date_from: Date = None,
                  date_to: Date = None, preset: str | None = None) -> Analysis:
        """Retention by cohort: of the customers who did ``start`` in a period (their first time,
        or every time with ``cohort="recurring"``), how many did ``returning`` 1, 2, ... periods
        later (``counting="on"``: in that period; ``"on_or_after"``: then or later).

        One row per cohort and period number 0 .. ``periods``-1: ``cohort`` (period start),
        ``period``, ``cohort_size``, ``customers``, ``retention_rate`` (of period 0, or of the
        previous period with ``relative_to="previous"``), ``complete`` (False while the period is
        still running at the latest touchpoint; later periods are left out). ``period`` defaults
        to the ``analytics.retention_period`` setting; weeks start on Monday, UTC. ``date_from`` /
        ``date_to`` select cohorts. ``.figure()`` draws the retention triangle."""
        from .figures_retention import retention_figure

        period = self.retention_period(period)
        periods = check_periods(periods)
        first = self._retention_step(start, "start", preset)
        again = self._retention_step(returning, "returning", preset)
        log, breakdown, names = self._retention_inputs([first, again], by, segment, preset)
        table = retention_table(log, first, again, period=period, periods=periods, cohort=cohort, counting=counting,
                                relative_to=relative_to, breakdown=breakdown, by=names, date_from=date_from,
                                date_to=date_to, as_of=self._retention_as_of())
        return analysis(table, retention_figure, "retention", by=names, period=period, start=first.label,
                        returning=again.label, relative_to=relative_to)

    def lifecycle(self, event: str | dict | Step = "*", *, period: str | None = None, by: By = None,
                  segment: str | None = None, date_from: Date = None, date_to: Date = None,
                  preset: str | None = None) -> Analysis:
        """Per period, the customers who did ``event`` for the first time (``new``), again after
        the previous period (``returning``), again after a gap (``resurrecting``), and those
        active in the previous period but not this one (``dormant``). ``.figure()`` draws stacked
        bars with dormant below the axis, as PostHog does."""
        from .figures_retention import lifecycle_figure

        period = self.retention_period(period)
        step = self._retention_step(event, "event", preset)
        log, breakdown, names = self._retention_inputs([step], by, segment, preset)
        table = lifecycle_table(log, step, period=period, breakdown=breakdown, by=names, date_from=date_from,
                                date_to=date_to, as_of=self._retention_as_of())
        return analysis(table, lifecycle_figure, "lifecycle", by=names, period=period, event=step.label)

    def stickiness(self, event: str | dict | Step = "*", *, period: str = "day", within: str = "week",
                   by: By = None, segment: str | None = None, date_from: Date = None, date_to: Date = None,
                   preset: str | None = None) -> Analysis:
        """Customers by the number of ``period``s (default days) they did ``event`` in, per
        ``within`` interval (``week``, ``month``, ``day``; ``all`` = the whole date range, PostHog's
        stickiness). ``.figure()`` draws the distribution as bars."""
        from .figures_retention import stickiness_figure

        period = check_period(period)
        step = self._retention_step(event, "event", preset)
        log, breakdown, names = self._retention_inputs([step], by, segment, preset)
        table = stickiness_table(log, step, period=period, within=within, breakdown=breakdown, by=names,
                                 date_from=date_from, date_to=date_to, as_of=self._retention_as_of())
        return analysis(table, stickiness_figure, "stickiness", by=names, period=period, within=within,
                        event=step.label)

    def repeat_purchases(self, event: str | dict | Step = "order_completed", *, by: By = None,
                         segment: str | None = None, date_from: Date = None, date_to: Date = None,
                         preset: str | None = None) -> Analysis:
        """Repeat-purchase rate (customers with 2+ purchases / customers with 1+), purchases per
        customer, and days between consecutive purchases and from the 1st to the 2nd (median,
        p90), per breakdown group. ``.figure()`` draws the distribution of purchase counts
        (:meth:`purchase_counts`)."""
        from .figures_retention import repeat_purchases_figure

        step = self._retention_step(event, "event", preset)
        log, breakdown, names = self._retention_inputs([step], by, segment, preset)
        table = repeat_purchase_summary(log, step, breakdown=breakdown, by=names, date_from=date_from,
                                        date_to=date_to)
        counts = purchase_count_distribution(log, step, breakdown=breakdown, by=names, date_from=date_from,
                                             date_to=date_to)
        return analysis(table, repeat_purchases_figure, "repeat_purchases", by=names, event=step.label,
                        distribution=counts)

    def purchase_counts(self, event: str | dict | Step = "order_completed", *, cap: int | None = 10, by: By = None,
                        segment: str | None = None, date_from: Date = None, date_to: Date = None,
                        preset: str | None = None) -> Analysis:
        """Customers by number of purchases (1, 2, ..., ``cap`` or more). ``.figure()`` draws bars."""
        from .figures_retention import purchase_counts_figure

        step = self._retention_step(event, "event", preset)
        log, breakdown, names = self._retention_inputs([step], by, segment, preset)
        table = purchase_count_distribution(log, step, cap=cap, breakdown=breakdown, by=names,
                                            date_from=date_from, date_to=date_to)
        return analysis(table, purchase_counts_figure, "purchase_counts", by=names, event=step.label)
