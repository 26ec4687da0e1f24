"""The stage half of :class:`journeymap.Journeymap`: stages, funnel, content, journey map.

On the embedded store, stage entries are kept in the store and refreshed incrementally
(:mod:`journeymap.stages.state`); on other backends (Spark, a Parquet folder) they are
computed from the touchpoints and held for the session.

>>> import journeymap, tempfile, pathlib
>>> from journeymap.demo import DemoSpec, write_demo_files
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = write_demo_files(folder, DemoSpec(customers=200, seed=5))
>>> jm = journeymap.open(":memory:")
>>> _ = jm.load(folder / "events")
>>> funnel = jm.stage_funnel().to_pyarrow().to_pylist()
>>> [row["stage"] for row in funnel][:3], funnel[0]["customers"] == jm.info()["customers"]
(['awareness', 'consideration', 'decision'], True)
>>> jm.close()
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import ibis

from .analytics.stage_funnel import stage_funnel
from .engine import materialize
from .errors import ConfigError
from .stages import (StageModel, as_of_time, assign_stages, customer_stages, finish_entries, load_stage_model)
from .stages.state import StageRefresh, refresh_stage_history

__all__ = ["StagesMixin"]


class StagesMixin:
    """Methods of :class:`~journeymap.Journeymap` about stages (needs ``backend``, ``settings``, ``store``)."""

    backend: Any
    settings: Any
    store: Any

    def stage_model(self, preset: str | None = None) -> StageModel:
        """The stage model in use: ``preset`` if given, else journeymap.toml's stages or preset."""
        return load_stage_model(self.settings, preset=preset)

    def refresh_stages(self, preset: str | None = None) -> StageRefresh:
        """Bring the stored stage history up to date (embedded store only); returns what it did."""
        if self.store is None:
            raise ConfigError("only the embedded store keeps stage history",
                              hint="on other backends jm.stages() computes it from the touchpoints")
        model = self.stage_model(preset)
        self.last_refresh = refresh_stage_history(self.store, self.backend, model)
        return self.last_refresh

    def _as_of(self, as_of: _dt.datetime | str | None) -> _dt.datetime:
        if as_of is None:
            return as_of_time(self.events())
        if isinstance(as_of, str):
            try:
                as_of = _dt.datetime.fromisoformat(as_of)
            except ValueError:
                raise ConfigError(f"as_of '{as_of}' is not an ISO date or time", field="as_of",
                                  hint="e.g. 2025-12-31 or 2025-12-31T23:59:00") from None
        return as_of if as_of.tzinfo else as_of.replace(tzinfo=_dt.timezone.utc)

    def stages(self, preset: str | None = None, *, as_of: _dt.datetime | str | None = None) -> ibis.Table:
        """Stage entries: one row per customer per stage entered (see :data:`journeymap.stages.ENTRY_COLUMNS`)."""
        model = self.stage_model(preset)
        when = self._as_of(as_of)
        if self.store is not None and not getattr(self.store, "read_only", False):
            self.refresh_stages(preset)
            return finish_entries(self.backend.table("stage_history"), model, when)
        cache = self.__dict__.setdefault("_stage_cache", {})
        key = (repr(model), when)
        if key not in cache:
            cache[key] = materialize(assign_stages(self.events(), model, as_of=when))
        return cache[key]

    def customer_stages(self, preset: str | None = None, *, as_of: _dt.datetime | str | None = None) -> ibis.Table:
        """One row per customer: current stage, since when, highest stage, regressed."""
        return customer_stages(self.stages(preset, as_of=as_of))

    def segment(self, segment: str, preset: str | None = None) -> ibis.Table:
        """The customer_id of every customer in ``segment`` (a saved segment's name or ``KEY=VALUE[,KEY!=VALUE...]``)."""
        return self.segment_customers(segment, preset=preset, entries=self.stages(preset))

    def _restricted(self, segment: str | None, entries: ibis.Table,
                    preset: str | None = None) -> tuple[ibis.Table, ibis.Table | None]:
        """``entries`` of the customers in ``segment`` (all if none), and those customers."""
        if not segment:
            return entries, None
        chosen = self.segment_customers(segment, preset=preset, entries=entries)
        return entries.semi_join(chosen, "customer_id"), chosen

    def stage_funnel(self, by: str | list[str] | None = None, *, preset: str | None = None,
                     segment: str | None = None, as_of: _dt.datetime | str | None = None) -> ibis.Table:
        """The stage funnel, optionally broken down ``by`` segment keys (``channel``,
        ``campaign``, ``device``, ``cohort:week``, ``property.KEY`` ...) and restricted to a ``segment``."""
        model = self.stage_model(preset)
        entries, _ = self._restricted(segment, self.stages(preset, as_of=as_of), preset)
        segments, names = self.breakdown(by, preset=preset, entries=entries)
        if not names:
            return stage_funnel(entries, model)
        return stage_funnel(entries, model, by=names, segments=segments)

    # --- content ----------------------------------------------------------------------------
    def _classified(self, events: ibis.Table, model) -> tuple[ibis.Table, ibis.Table]:
        from .analytics.content import classify_content, content_catalogue

        catalogue = content_catalogue(events)
        return catalogue, classify_content(catalogue, model, min_score=self.settings.content.min_score)

    def content_stages(self, preset: str | None = None) -> ibis.Table:
        """The content catalogue (pages and screens: url, title, tags, views, customers) with the
        stage each item belongs to: by the stage model's content globs, else by a text
        classifier trained on the stage descriptions and keywords (see docs/content.md)."""
        catalogue, classified = self._classified(self.events(), self.stage_model(preset))
        return catalogue.join(classified, "content_id")

    def customer_content_stages(self, preset: str | None = None, *, recent: int | None = None) -> ibis.Table:
        """Per customer: the stage their actions put them in next to the stage their latest
        ``recent`` classified content views indicate (default ``content.recent``)."""
        from .analytics.content import content_stage_by_customer

        events = self.events()
        _, classified = self._classified(events, self.stage_model(preset))
        return content_stage_by_customer(events, self.stages(preset), classified,
                                         recent=recent or self.settings.content.recent)

    def content_effectiveness(self, preset: str | None = None, *, segment: str | None = None,
                              min_customers: int | None = None, content_stages: str | None = None) -> ibis.Table:
        """Per content item and stage: did customers who viewed it there reach the next stage
        more often than those who did not? Counts, rates with 95% intervals, uplift, ranked."""
        entries, customers = self._restricted(segment, self.stages(preset), preset)
        return self._effectiveness(self.stage_model(preset), entries, customers, min_customers=min_customers,
                                   content_stages=content_stages)

    def _effectiveness(self, model, entries: ibis.Table, customers: ibis.Table | None, *,
                       min_customers: int | None = None, content_stages: str | None = None) -> ibis.Table:
        from .analytics.content import content_effectiveness

        settings = self.settings.content
        events = self.events() if customers is None else self.events().semi_join(customers, "customer_id")
        return content_effectiveness(
            events, entries, model, min_customers=min_customers or settings.min_customers,
            content_stages=content_stages or settings.content_stages, min_score=settings.min_score,
            visit_minutes=settings.visit_minutes)

    # --- the journey map -----------------------------------------------------------------------
    def journey_map(self, preset: str | None = None, *, segment: str | None = None,
                    as_of: _dt.datetime | str | None = None, top: int = 5, title: str | None = None):
        """The customer journey map (a :class:`~journeymap.mapview.JourneyMap`): ``.save(path)``
        writes one self-contained HTML file; in Jupyter it renders itself."""
        from .mapview import build_journey_map

        model = self.stage_model(preset)
        when = self._as_of(as_of)
        entries = self.stages(preset, as_of=when)
        chosen, customers = self._restricted(segment, entries, preset)
        content = self._effectiveness(model, chosen, customers)
        return build_journey_map(self.events(), entries, model, customers=customers, segment=segment,
                                 content=content, as_of=when, top=top, title=title)
