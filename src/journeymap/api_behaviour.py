"""The shared half of the behavioural analytics API: event logs, segments, breakdowns, sessions.

Funnels (:mod:`journeymap.api_funnels`), paths (:mod:`journeymap.api_paths`) and retention
(:mod:`journeymap.api_retention`) build on the helpers here, so a segment, a step or a
breakdown means the same in every analysis, from Python, the CLI and the server.

>>> import journeymap, tempfile, pathlib
>>> from journeymap.demo import DemoSpec, write_demo_files
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = write_demo_files(folder, DemoSpec(customers=100, seed=5))
>>> jm = journeymap.open(":memory:")
>>> _ = jm.load(folder / "events")
>>> s = jm.sessions().to_pyarrow()
>>> s.num_rows > jm.info()["customers"], sorted(s.column_names)[:3]
(True, ['customer_id', 'duration_seconds', 'ended_at'])
>>> jm.close()
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Sequence

import ibis

from .analytics.customers import column_name, join_breakdown, segment_table
from .analytics.result import Analysis, analysis
from .analytics.segments import SEGMENT_PREFIX, Segment, resolve_segment, saved_segments, segment_columns, \
    segment_members
from .analytics.sessions import session_table, sessionize
from .analytics.steps import Step, check_steps, event_log, parse_steps, step_columns, with_stage_events
from .durations import parse_duration

__all__ = ["BehaviourMixin"]

Steps = str | Sequence[str | dict | Step]


def _keys(by: str | Sequence[str] | None) -> list[str]:
    keys = [by] if isinstance(by, str) else list(by or [])
    return [k.strip() for key in keys for k in key.split(",") if k.strip()]


class BehaviourMixin:
    """Shared helpers of the behavioural analytics (needs ``events()``, ``stages()``, ``settings``)."""

    settings: Any

    # --- parameters -----------------------------------------------------------------------------
    def session_gap(self, gap: str | float | _dt.timedelta | None = None) -> _dt.timedelta:
        """``gap`` (``30m``; a bare number is minutes), else the ``analytics.session_gap`` setting."""
        return parse_duration(gap if gap is not None else self.settings.analytics.session_gap, unit="m",
                              field="gap" if gap is not None else "analytics.session_gap")

    def conversion_window(self, window: str | float | _dt.timedelta | None = None) -> _dt.timedelta:
        """``window`` (``7d``; a bare number is days), else the ``analytics.conversion_window`` setting."""
        return parse_duration(window if window is not None else self.settings.analytics.conversion_window,
                              unit="d", field="window" if window is not None else "analytics.conversion_window")

    def saved_segments(self) -> dict[str, Segment]:
        """The saved segments of journeymap.toml (``[segments.NAME]``), validated, by name."""
        return saved_segments(self.settings)

    def _known_events(self) -> list[str]:
        cache = self.__dict__.setdefault("_events_cache", {})
        if "names" not in cache:
            events = self.events()
            cache["names"] = events.select("event").distinct().to_pyarrow().column("event").to_pylist()
        return cache["names"]

    def steps(self, steps: Steps, *, preset: str | None = None, field: str = "steps") -> list[Step]:
        """Parse and check ``steps`` (text ``a,b[k=v],stage:decision`` or a list): an unknown event
        or stage is an error naming it, with the closest known name."""
        parsed = [s for s in steps if isinstance(s, Step)] if not isinstance(steps, str) and steps and all(
            isinstance(s, Step) for s in steps) else parse_steps(steps, field=field)
        stage_names = [s.name for s in self.stage_model(preset).stages] if any(s.stage for s in parsed) else []
        check_steps(parsed, self._known_events(), stage_names, field=field)
        return parsed

    # --- the event log every analysis reads ---------------------------------------------------------
    def event_log(self, *, columns: Sequence[str] = (), steps: Sequence[Step] = (), segment: str | None = None,
                  preset: str | None = None) -> ibis.Table:
        """The customers' touchpoints (customer_id, timestamp, event_id, event, type + ``columns``),
        with stage entries as ``stage:NAME`` events when a step is a stage, restricted to ``segment``
        (a saved segment's name or ``KEY=VALUE[,...]``)."""
        events = self.events()
        log = event_log(events, [*columns, *step_columns(steps, events.columns)])
        if any(s.stage for s in steps):
            log = with_stage_events(log, self.stages(preset))
        customers = self.segment_customers(segment, preset=preset)
        return log if customers is None else log.semi_join(customers, "customer_id")

    def _segment_log(self, steps: Sequence[Step]) -> ibis.Table:
        """The log saved segments read: customer attributes and what their steps' filters test."""
        events = self.events()
        attributes = ("channel", "utm_campaign", "utm_source", "utm_medium", "url", "properties")
        return event_log(events, [*attributes, *step_columns(steps, events.columns)])

    def segment_customers(self, segment: str | Segment | None, *, preset: str | None = None,
                          entries: ibis.Table | None = None) -> ibis.Table | None:
        """``customer_id`` of the customers in ``segment`` (None: no segment, everyone); a
        segment reading stages uses ``entries`` (default: ``jm.stages(preset)``)."""
        if segment is None or (isinstance(segment, str) and not segment.strip()):
            return None
        chosen = resolve_segment(segment, self.saved_segments())
        if chosen.steps:
            self.steps(list(chosen.steps), preset=preset, field=f"segments.{chosen.name}")
        if entries is None and chosen.needs_stages:
            entries = self.stages(preset)
        log = self._segment_log(chosen.steps)
        if any(s.stage for s in chosen.steps):
            log = with_stage_events(log, entries)
        return segment_members(log, chosen, entries=entries)

    def breakdown(self, by: str | Sequence[str] | None, *, preset: str | None = None,
                  entries: ibis.Table | None = None) -> tuple[ibis.Table | None, list[str]]:
        """Per-customer breakdown columns for ``by`` (segment keys such as ``channel``, ``device``,
        ``cohort:month``, ``property.KEY``, or ``segment:NAME``): the table (customer_id + columns)
        and the column names; (None, []) for no breakdown. Keys reading stages use ``entries``
        (default: ``jm.stages(preset)``)."""
        keys = _keys(by)
        if not keys:
            return None, []
        saved = [k for k in keys if k.startswith(SEGMENT_PREFIX)]
        plain = [k for k in keys if not k.startswith(SEGMENT_PREFIX)]
        known = self.saved_segments()
        segments = []
        for key in saved:
            name = key[len(SEGMENT_PREFIX):].strip()
            if name not in known:
                import difflib

                from .errors import ConfigError

                close = difflib.get_close_matches(name, list(known), n=1)
                raise ConfigError(f"'{key}' names no saved segment", field="by",
                                  hint=(f"did you mean 'segment:{close[0]}'? " if close else "")
                                  + "segment:NAME takes the name of a [segments.NAME] table in journeymap.toml")
            segments.append(known[name])
        needs = any(k == "stage" or k.startswith("cohort:") for k in plain) or any(s.needs_stages for s in segments)
        if entries is None and needs:
            entries = self.stages(preset)
        events = self.events()
        table = segment_table(events, plain, entries) if plain else event_log(events).select("customer_id").distinct()
        if segments:
            log = self._segment_log([s for seg in segments for s in seg.steps])
            if any(s.stage for seg in segments for s in seg.steps):
                log = with_stage_events(log, entries)
            table = segment_columns(log, segments, table, entries=entries)
        names = [column_name(k) if not k.startswith(SEGMENT_PREFIX) else f"segment_{k[len(SEGMENT_PREFIX):]}"
                 for k in keys]
        return table.select("customer_id", *names), names

    # --- sessions -----------------------------------------------------------------------------
    def sessions(self, *, gap: str | float | _dt.timedelta | None = None, segment: str | None = None,
                 by: str | Sequence[str] | None = None, preset: str | None = None) -> Analysis:
        """One row per session (a new session after ``gap`` of inactivity, default 30m): start,
        end, duration, touchpoints, page views, entry event, channel and campaign, landing and
        exit page; ``by`` adds the customer's breakdown columns (``device``, ``segment:NAME`` ...).
        ``.figure()`` draws sessions per day by entry channel."""
        from .figures import sessions_figure

        log = event_log(self.events(), ("channel", "utm_campaign", "url"))
        table = session_table(sessionize(log, self.session_gap(gap), ids=False, presorted=self._events_presorted()))
        customers = self.segment_customers(segment, preset=preset)
        if customers is not None:
            table = table.semi_join(customers, "customer_id")
        breakdown, names = self.breakdown(by, preset=preset)
        table = join_breakdown(table, breakdown, names)
        return analysis(table, sessions_figure, "sessions")

    def sessionized(self, *, gap: str | float | _dt.timedelta | None = None, segment: str | None = None,
                    preset: str | None = None) -> ibis.Table:
        """Every touchpoint with its ``touch_index``, ``session_index`` and ``session_id``."""
        log = event_log(self.events(), ("channel", "utm_campaign", "url"))
        tagged = sessionize(log, self.session_gap(gap), presorted=self._events_presorted())
        customers = self.segment_customers(segment, preset=preset)
        return tagged if customers is None else tagged.semi_join(customers, "customer_id")

    def _events_presorted(self) -> bool:
        """True when ``events()`` is the DuckDB store's table, kept in (customer_id, timestamp,
        event_id) order (see :class:`journeymap.store.Store`), so a window may stream it in
        storage order instead of sorting it."""
        return getattr(self, "store", None) is not None and getattr(self.backend, "name", "") == "duckdb"
