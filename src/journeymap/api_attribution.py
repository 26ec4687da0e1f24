"""The attribution part of :class:`journeymap.Journeymap`: which channels, campaigns and
messages move customers to convert (see :mod:`journeymap.analytics.attribution`).

>>> import journeymap, tempfile, pathlib
>>> from journeymap.demo import DemoSpec, write_demo_files
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = write_demo_files(folder, DemoSpec(customers=300, seed=3))
>>> jm = journeymap.open(":memory:")
>>> _ = jm.load(folder / "events")
>>> credits = jm.attribution(model="markov").to_pandas()
>>> bool(abs(credits.conversions.sum() - jm.attribution_paths().total_conversions()) < 1e-9)
True
>>> sorted(jm.attribution_compare().to_pandas().model.unique())[:3]
['first_touch', 'last_non_direct', 'last_touch']
>>> jm.attribution(model="markvo")
Traceback (most recent call last):
...
journeymap.errors.ConfigError: setting model: unknown attribution model 'markvo'. Fix: did you mean 'markov'? use one of first_touch, last_touch, last_non_direct, linear, time_decay, position_based, markov, shapley, ordered_shapley, shao_li
>>> jm.close()
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import replace
from typing import Any, Sequence

import ibis
import numpy as np

from .analytics.attribution import (MODELS, NO_TOUCH, ModelOptions, PathSet, apply_transforms, attribute,
                                    find_model, fit_chain, last_steps, transition_rows)
from .analytics.attribution.aggregated import read_paths
from .analytics.attribution.journeys import check_level, conversion_events, conversion_journeys, session_touches
from .analytics.attribution.report import credit_rows, credit_table
from .analytics.attribution.spend import spend_by
from .analytics.result import Analysis, analysis
from .analytics.steps import event_log, step_columns, step_predicate, with_stage_events
from .durations import parse_duration
from .errors import ConfigError

__all__ = ["AttributionMixin"]

Duration = str | float | _dt.timedelta | None
_NONE = ("none", "off", "no", "0", "")
_TOUCH_COLUMNS = ("channel", "utm_source", "utm_medium", "utm_campaign", "utm_content")


def _positions(value: Any) -> tuple[float, float, float]:
    if isinstance(value, str):
        try:
            value = [float(x) for x in value.replace("/", ",").split(",")]
        except ValueError:
            raise ConfigError(f"positions '{value}' are not three numbers", field="positions",
                              hint="first,middle,last shares, e.g. 40,20,40 or 0.4,0.2,0.4") from None
    value = tuple(float(x) for x in value)
    if len(value) != 3:
        raise ConfigError(f"positions need three shares (first, middle, last), not {len(value)}", field="positions")
    if sum(value) > 1.5:  # percentages
        value = tuple(x / 100 for x in value)
    return value  # type: ignore[return-value]


class AttributionMixin:
    """Methods of :class:`~journeymap.Journeymap` about attribution (needs the
    :class:`~journeymap.api_behaviour.BehaviourMixin` helpers)."""

    # --- parameters -------------------------------------------------------------------------------
    def _attribution_lookback(self, lookback: Duration | bool) -> _dt.timedelta | None:
        if lookback is None:
            lookback = self.settings.attribution.lookback
        if lookback is None or lookback is False or (isinstance(lookback, str) and lookback.strip().lower() in _NONE):
            return None
        return parse_duration(lookback, unit="d", field="lookback")

    def _model_options(self, order: int | None, half_life: Duration, positions: Any) -> ModelOptions:
        settings = self.settings.attribution
        return ModelOptions(
            order=settings.order if order is None else order,
            half_life=parse_duration(half_life if half_life is not None else settings.half_life, unit="d",
                                     field="half_life").total_seconds(),
            positions=_positions(positions if positions is not None else settings.positions),
        )

    def _attribution_level(self, level: str | None) -> str:
        return check_level((level or self.settings.attribution.level).strip())

    def _conversion_steps(self, conversion: str | Sequence[str] | None, preset: str | None) -> list:
        """The conversion steps; the default list (``attribution.conversion``) keeps the events the
        store has (a store with web orders only has no ``pos_purchase``), naming yours is strict."""
        if conversion:
            return self.steps(conversion, preset=preset, field="conversion")
        from .analytics.steps import parse_steps

        default = parse_steps(self.settings.attribution.conversion, field="attribution.conversion")
        known = set(self._known_events())
        present = [s for s in default if s.stage is not None or all(e in known for e in s.events)]
        if not present:
            raise ConfigError("no touchpoint is a conversion: the store has none of the events of attribution.conversion ("
                              + ", ".join(self.settings.attribution.conversion) + ")", field="attribution.conversion",
                              hint="name your purchase event: --conversion EVENT or attribution.conversion in journeymap.toml")
        return self.steps(present, preset=preset, field="attribution.conversion")

    # --- journeys ---------------------------------------------------------------------------------
    def attribution_journeys(self, *, conversion: str | Sequence[str] | None = None, level: str | None = None,
                             lookback: Duration | bool = None, segment: str | None = None,
                             preset: str | None = None) -> ibis.Table:
        """Every journey's touches, one row per touch (see
        :func:`journeymap.analytics.attribution.journeys.conversion_journeys`): each conversion
        with the touches since the previous one, within ``lookback`` (default 30d, ``"none"``
        for no limit), and each customer's trailing touches that did not convert (a null
        journey). A touch is a session's first touchpoint, labelled at ``level``."""
        steps = self._conversion_steps(conversion, preset)
        events = self.events()
        columns = [*_TOUCH_COLUMNS, *(["revenue"] if "revenue" in events.columns else []),
                   *step_columns(steps, events.columns)]
        log = event_log(events, columns)
        presorted = self._events_presorted()
        conversions_log = log
        if any(s.stage for s in steps):
            conversions_log = with_stage_events(log, self.stages(preset))
        predicate = step_predicate(conversions_log, steps[0])
        for step in steps[1:]:
            predicate = predicate | step_predicate(conversions_log, step)
        conversions = conversion_events(conversions_log, predicate)
        touches = session_touches(log, self._attribution_level(level), self.session_gap(None),
                                  direct_channels=self.settings.attribution.direct, presorted=presorted)
        customers = self.segment_customers(segment, preset=preset)
        if customers is not None:
            conversions = conversions.semi_join(customers, "customer_id")
            touches = touches.semi_join(customers, "customer_id")
        return conversion_journeys(touches, conversions, lookback=self._attribution_lookback(lookback))

    def attribution_paths(self, *, conversion: str | Sequence[str] | None = None, level: str | None = None,
                          lookback: Duration | bool = None, lookback_steps: int | None = None,
                          transform: str | Sequence[str] | None = None, segment: str | None = None,
                          preset: str | None = None) -> PathSet:
        """The journeys as a :class:`~journeymap.analytics.attribution.PathSet`, transformed
        (default ``exposure``) and cut to the last ``lookback_steps`` touches: what the models read."""
        table = (self.attribution_journeys(conversion=conversion, level=level, lookback=lookback, segment=segment,
                                           preset=preset)
                 .order_by(["customer_id", "conversion_index", "touch_index"]).to_pyarrow())
        paths = _journeys_to_paths(table, self.settings.attribution.direct)
        return self._shape_paths(paths, transform, lookback_steps)

    def _shape_paths(self, paths: PathSet, transform: str | Sequence[str] | None, lookback_steps: int | None) -> PathSet:
        paths = apply_transforms(paths, transform if transform is not None else self.settings.attribution.transform)
        steps = lookback_steps if lookback_steps is not None else self.settings.attribution.lookback_steps
        return last_steps(paths, steps) if steps else paths

    # --- models -----------------------------------------------------------------------------------
    def attribution(self, model: str | None = None, *, level: str | None = None, order: int | None = None,
                    lookback: Duration | bool = None, lookback_steps: int | None = None,
                    transform: str | Sequence[str] | None = None, conversion: str | Sequence[str] | None = None,
                    half_life: Duration = None, positions: Any = None, spend: Any = None,
                    segment: str | None = None, preset: str | None = None) -> Analysis:
        """Credits of one model (default ``attribution.model``, markov) per channel (or
        ``level``): attributed conversions, value, shares, Markov's removal effects, and with a
        ``spend`` file (or table) cost per conversion and ROAS. ``.figure()`` draws the credits."""
        return self.attribution_compare([model or self.settings.attribution.model], level=level, order=order,
                                        lookback=lookback, lookback_steps=lookback_steps, transform=transform,
                                        conversion=conversion, half_life=half_life, positions=positions,
                                        spend=spend, segment=segment, preset=preset)

    def attribution_compare(self, models: Sequence[str] | str | None = None, *, level: str | None = None,
                            order: int | None = None, lookback: Duration | bool = None,
                            lookback_steps: int | None = None, transform: str | Sequence[str] | None = None,
                            conversion: str | Sequence[str] | None = None, half_life: Duration = None,
                            positions: Any = None, spend: Any = None, segment: str | None = None,
                            preset: str | None = None) -> Analysis:
        """Every model (or ``models``) side by side on the same paths: one row per model and
        channel. ``.figure()`` draws grouped bars."""
        level = self._attribution_level(level)
        paths = self.attribution_paths(conversion=conversion, level=level, lookback=lookback,
                                       lookback_steps=lookback_steps, transform=transform, segment=segment, preset=preset)
        dates = {"first": paths.period[0], "last": paths.period[1]} if paths.period else None
        return self._attribution_credits(paths, models, level, self._model_options(order, half_life, positions), spend, dates)

    def read_attribution_paths(self, df: Any, *, path: str = "path", conversions: str = "conversions",
                               value: str | None = None, nulls: str | None = None, times: str | None = None,
                               sep: str = ">", transform: str | Sequence[str] | None = "unique",
                               lookback_steps: int | None = None, direct: Sequence[str] | None = None,
                               on_error: str = "raise") -> tuple[PathSet, list[dict]]:
        """Aggregated path rows (channelattribution / marketing-attribution-models format: ``path``
        text such as ``search > email``, ``conversions``, ``value``, ``nulls``; a DataFrame, Arrow
        or Ibis table, or a CSV/Parquet file) as a PathSet, and the rejected rows with their
        reasons. Paths are used as given (``transform="unique"``); ``direct`` (default the
        ``attribution.direct`` channels and ``(direct)``) are what last non-direct skips."""
        direct = tuple(direct) if direct is not None else (*self.settings.attribution.direct, "(direct)")
        paths, rejects = read_paths(df, path=path, conversions=conversions, value=value, nulls=nulls, times=times,
                                    sep=sep, direct=direct, on_error=on_error)
        paths = apply_transforms(paths, transform)
        return (last_steps(paths, lookback_steps) if lookback_steps else paths), rejects

    def attribution_from_paths(self, df: Any, *, path: str = "path", conversions: str = "conversions",
                               value: str | None = None, nulls: str | None = None, times: str | None = None,
                               sep: str = ">", model: str | Sequence[str] | None = None, order: int | None = None,
                               transform: str | Sequence[str] | None = "unique", lookback_steps: int | None = None,
                               half_life: Duration = None, positions: Any = None, spend: Any = None,
                               direct: Sequence[str] | None = None, on_error: str = "raise") -> Analysis:
        """Attribution of aggregated path rows (see :meth:`read_attribution_paths`). ``model`` may
        be a list (or ``"all"``) to compare; malformed rows raise, or with ``on_error="reject"``
        are left out and listed in ``result.rejects``.

        >>> import journeymap, pandas as pd
        >>> jm = journeymap.open(":memory:")
        >>> df = pd.DataFrame({"path": ["search > email", "email", "social"], "conversions": [2, 1, 0],
        ...                    "nulls": [1, 2, 5]})
        >>> rows = jm.attribution_from_paths(df, nulls="nulls", model="linear").to_pyarrow().to_pylist()
        >>> [(r["channel"], r["conversions"]) for r in rows]
        [('email', 2.0), ('search', 1.0), ('social', 0.0)]
        >>> jm.close()
        """
        paths, rejects = self.read_attribution_paths(df, path=path, conversions=conversions, value=value, nulls=nulls,
                                                     times=times, sep=sep, transform=transform,
                                                     lookback_steps=lookback_steps, direct=direct, on_error=on_error)
        models = model if model is not None else self.settings.attribution.model
        result = self._attribution_credits(paths, models, "channel", self._model_options(order, half_life, positions), spend, None)
        object.__setattr__(result, "rejects", rejects)
        return result

    def _attribution_credits(self, paths: PathSet, models: Sequence[str] | str | None, level: str, options: ModelOptions,
                 spend: Any, dates) -> Analysis:
        from .figures_attribution import credits_figure

        if models is None or (isinstance(models, str) and models.strip().lower() == "all"):
            names = [m.name for m in MODELS]
        elif isinstance(models, str):
            names = [m.strip() for m in models.split(",") if m.strip()]
        else:
            names = list(models)
        names = [find_model(n).name for n in names]
        if "time_decay" in names and paths.ages is None and len(names) > 1:
            names.remove("time_decay")  # aggregated paths without times: compare the rest
        results = [(name, attribute(paths, name, options)) for name in names]
        costs = spend_by(spend, level, **(dates or {})) if spend is not None else None
        rows = credit_rows(results, level, spend=costs)
        table = ibis.memtable(credit_table(rows, level))
        return analysis(table, credits_figure, "attribution", level=level, models=names,
                        total_conversions=paths.total_conversions(), total_value=paths.total_value())

    def attribution_transitions(self, *, order: int | None = None, level: str | None = None,
                                lookback: Duration | bool = None, lookback_steps: int | None = None,
                                transform: str | Sequence[str] | None = None,
                                conversion: str | Sequence[str] | None = None, segment: str | None = None,
                                preset: str | None = None, paths: PathSet | None = None) -> Analysis:
        """The Markov chain's transition matrix with named states (``(start)``, ``a > b``,
        ``(conversion)``, ``(null)``): journeys and probability of every observed transition, on
        the store's journeys or on ``paths`` (e.g. from :meth:`read_attribution_paths`)."""
        from .figures_attribution import transitions_figure

        if paths is None:
            paths = self.attribution_paths(conversion=conversion, level=level, lookback=lookback,
                                           lookback_steps=lookback_steps, transform=transform, segment=segment,
                                           preset=preset)
        chain = fit_chain(paths, order if order is not None else self.settings.attribution.order)
        import pyarrow as pa

        schema = pa.schema([("from_state", pa.string()), ("to_state", pa.string()), ("journeys", pa.float64()),
                            ("probability", pa.float64())])
        return analysis(ibis.memtable(pa.Table.from_pylist(transition_rows(chain), schema=schema)),
                        transitions_figure, "attribution_transitions", order=chain.order)


def _journeys_to_paths(table, direct: Sequence[str]) -> PathSet:
    """The long journeys table (sorted by customer, conversion_index, touch_index) -> PathSet."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = table.num_rows
    if n == 0:
        return PathSet((), np.zeros(0, np.int32), np.zeros(1, np.int64), np.zeros(0), np.zeros(0), np.zeros(0),
                       ages=np.zeros(0), direct=frozenset(direct))
    customer = table.column("customer_id")
    index = table.column("conversion_index").to_numpy()
    same_customer = pc.equal(customer.slice(1), customer.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    new = np.ones(n, dtype=bool)
    new[1:] = ~(same_customer & (index[1:] == index[:-1]))
    starts = np.flatnonzero(new)
    offsets = np.append(starts, n).astype(np.int64)
    touch = pc.fill_null(table.column("touch"), NO_TOUCH)
    converted = table.column("converted").to_numpy(zero_copy_only=False)[starts].astype(np.float64)
    value = np.nan_to_num(pc.fill_null(table.column("value"), 0.0).to_numpy(zero_copy_only=False)[starts].astype(np.float64))
    ages = np.nan_to_num(pc.fill_null(table.column("seconds_before"), 0.0).to_numpy(zero_copy_only=False).astype(np.float64))
    tokens = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), touch.combine_chunks())
    flags = table.column("direct").to_pylist()
    direct_tokens = {t for t, d in zip(touch.to_pylist(), flags) if d} | set(direct)
    paths = PathSet.from_arrow_lists(tokens, conversions=converted, value=value * converted, nulls=1.0 - converted,
                                     ages=ages, direct=direct_tokens)
    when = pc.filter(table.column("conversion_at"), table.column("converted"))
    if len(when):
        bounds = pc.min_max(when).as_py()
        paths = replace(paths, period=(bounds["min"].date(), bounds["max"].date()))
    return paths
