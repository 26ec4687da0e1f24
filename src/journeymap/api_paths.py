"""The paths part of :class:`journeymap.Journeymap`: paths, transitions, the step matrix and the
stage flow (see :mod:`journeymap.analytics.paths` for the definitions, and
:mod:`journeymap.api_behaviour` for the shared helpers).

>>> import journeymap, tempfile, pathlib
>>> from journeymap.demo import DemoSpec, write_demo_files
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = write_demo_files(folder, DemoSpec(customers=200, seed=3))
>>> jm = journeymap.open(":memory:")
>>> _ = jm.load(folder / "events")
>>> edges = jm.paths(start="page_view", steps=3).to_pyarrow().to_pylist()
>>> edges[0]["step"], sorted(edges[0])[:3]
(1, ['avg_seconds', 'customers', 'median_seconds'])
>>> m = jm.transitions().to_pandas()
>>> bool(abs(m.groupby("source").probability.sum() - 1).max() < 1e-9)
True
>>> s = jm.step_matrix(max_steps=4).to_pandas()
>>> bool(abs(s.groupby("step").share.sum() - 1).max() < 1e-9)
True
>>> type(jm.paths(start="page_view").figure()).__name__, type(jm.step_matrix().figure()).__name__
('Figure', 'Figure')
>>> jm.paths(start="page_veiw")
Traceback (most recent call last):
...
journeymap.errors.ConfigError: setting start: unknown event 'page_veiw': no touchpoint has it. Fix: did you mean 'page_view'? (`journeymap info` lists the events)
>>> jm.close()
"""

from __future__ import annotations

import datetime as _dt
from typing import Sequence

import ibis

from .analytics.paths import NODE_KINDS, parse_cleaning, path_edges, stage_flow, step_matrix, transition_matrix
from .analytics.result import Analysis, analysis
from .analytics.steps import Step, event_log
from .errors import ConfigError

__all__ = ["COUNTS", "PathsMixin"]

#: What a paths edge is measured by (its value in the Sankey, and the order of the rows).
COUNTS = ("customers", "transitions")
_NO_SPLIT = ("none", "off", "no", "never")
Gap = str | float | _dt.timedelta | bool | None


class PathsMixin:
    """Methods of :class:`~journeymap.Journeymap` about paths (needs the
    :class:`~journeymap.api_behaviour.BehaviourMixin` helpers)."""

    # --- parameters -------------------------------------------------------------------------------
    def _path_gap(self, gap: Gap) -> _dt.timedelta | None:
        """The session gap that starts a new path; ``"none"`` (or False) keeps whole journeys."""
        if gap is False or (isinstance(gap, str) and gap.strip().lower() in _NO_SPLIT):
            return None
        return self.session_gap(gap)

    def _path_step(self, text: str | dict | Step | None, field: str, preset: str | None) -> Step | None:
        if text is None or (isinstance(text, str) and not text.strip()):
            return None
        steps = self.steps([text] if not isinstance(text, str) else text, preset=preset, field=field)
        if len(steps) != 1:
            raise ConfigError(f"{field} is one step, not {len(steps)}", field=field,
                              hint="e.g. page_view[path=/pricing*] or stage:decision")
        return steps[0]

    @staticmethod
    def _path_node(node: str) -> str:
        if node not in NODE_KINDS:
            raise ConfigError(f"node '{node}' is not one of " + ", ".join(NODE_KINDS), field="node",
                              hint="event: event names; path: URL paths of page and screen views; "
                                   "event_path: URL paths of views, event names of the rest")
        return node

    def _path_log(self, steps: Sequence[Step], node: str, segment: str | None, preset: str | None) -> ibis.Table:
        # the steps' filter columns come with the event log
        return self.event_log(columns=("url",) if node != "event" else (), steps=steps, segment=segment,
                              preset=preset)

    # --- analyses ---------------------------------------------------------------------------------
    def paths(self, *, start: str | Step | None = None, end: str | Step | None = None, steps: int = 5,
              node: str = "event", clean: Sequence[tuple[str, str] | str] | None = None,
              collapse_repeats: bool = True, gap: Gap = None, segment: str | None = None,
              by: str | Sequence[str] | None = None, min_customers: int = 1, count: str = "customers",
              preset: str | None = None) -> Analysis:
        """User paths (PostHog's): the edges step k -> k + 1 of the customers' paths (a new path
        after ``gap``, default ``analytics.session_gap``; ``gap="none"`` for whole journeys),
        from the first ``start`` step of a path, up to its first ``end`` step, or between both,
        cut to ``steps`` nodes. Columns: [by columns,] step, source, target, customers,
        transitions, avg_seconds, median_seconds; a path that stops early goes to ``$drop_off``.
        ``node`` is what a node is (``event``, ``path``, ``event_path``), ``clean`` rewrites node
        names (``[("^/product/.*", "/product/:id")]`` or ``"REGEX=ALIAS"``), ``count`` orders
        the edges and sizes the Sankey of ``.figure()``."""
        from .figures_paths import paths_figure

        if count not in COUNTS:
            raise ConfigError(f"count '{count}' is not one of " + ", ".join(COUNTS), field="count",
                              hint="customers: unique customers per edge; transitions: every traversal")
        if isinstance(min_customers, bool) or not isinstance(min_customers, int) or min_customers < 1:
            raise ConfigError(f"min_customers must be a whole number of at least 1, not {min_customers!r}",
                              field="min_customers", hint="e.g. min_customers=5")
        node, cleaning = self._path_node(node), parse_cleaning(clean)
        first, last = self._path_step(start, "start", preset), self._path_step(end, "end", preset)
        chosen = [s for s in (first, last) if s is not None]
        breakdown, names = self.breakdown(by, preset=preset)
        log = self._path_log(chosen, node, segment, preset)
        edges = path_edges(log, steps=steps, node=node, clean=cleaning, collapse_repeats=collapse_repeats,
                           gap=self._path_gap(gap), start=first, end=last, breakdown=breakdown,
                           min_customers=min_customers)
        other = "transitions" if count == "customers" else "customers"
        ordered = edges.order_by([*names, "step", ibis.desc(count), ibis.desc(other), "source", "target"])
        title = "Paths" + (f" from {first.label}" if first else "") + (f" to {last.label}" if last else "")
        return analysis(ordered, paths_figure, "paths", value=count, title=title)

    def transitions(self, *, node: str = "event", clean: Sequence[tuple[str, str] | str] | None = None,
                    collapse_repeats: bool = True, gap: Gap = None, path_ends: bool = False,
                    segment: str | None = None, by: str | Sequence[str] | None = None,
                    preset: str | None = None) -> Analysis:
        """The transition matrix (Retentioneering's transition graph): source, target, transitions,
        customers (unique), probability (share of the moves out of ``source``) and
        median_seconds, over the same paths as :meth:`paths` (``path_ends=True`` adds
        ``$path_start`` and ``$path_end``). ``.figure()`` draws the probabilities as a heatmap."""
        from .figures_paths import transitions_figure

        node, cleaning = self._path_node(node), parse_cleaning(clean)
        customers = self.segment_customers(segment, preset=preset)
        breakdown, names = self.breakdown(by, preset=preset)
        log = event_log(self.events(), ("url",) if node != "event" else ())
        matrix = transition_matrix(log, node=node, clean=cleaning, collapse_repeats=collapse_repeats,
                                   gap=self._path_gap(gap), path_ends=path_ends, customers=customers,
                                   presorted=self._events_presorted(), breakdown=breakdown)
        ordered = matrix.order_by([*names, ibis.desc("transitions"), "source", "target"])
        return analysis(ordered, transitions_figure, "transitions")

    def step_matrix(self, *, max_steps: int = 10, start: str | Step | None = None, node: str = "event",
                    clean: Sequence[tuple[str, str] | str] | None = None, collapse_repeats: bool = True,
                    gap: Gap = None, segment: str | None = None, by: str | Sequence[str] | None = None,
                    preset: str | None = None) -> Analysis:
        """The step matrix (Retentioneering's): step, node, paths, customers and share (of all
        paths) at ``node`` on step k = 1..``max_steps`` (from the path's first ``start`` step
        when given); ``$path_end`` holds the paths already over, so every step adds up to 1.
        ``.figure()`` is a heatmap of nodes by steps."""
        from .figures_paths import step_matrix_figure

        node, cleaning = self._path_node(node), parse_cleaning(clean)
        first = self._path_step(start, "start", preset)
        log = self._path_log([first] if first else [], node, segment, preset)
        breakdown, names = self.breakdown(by, preset=preset)
        matrix = step_matrix(log, max_steps=max_steps, start=first, node=node, clean=cleaning,
                             collapse_repeats=collapse_repeats, gap=self._path_gap(gap), breakdown=breakdown,
                             # the store's events in storage order, with no segment join in between
                             presorted=self._events_presorted() and not segment and first is None)
        ordered = matrix.order_by([*names, "step", ibis.desc("paths"), "node"])
        return analysis(ordered, step_matrix_figure, "step_matrix",
                        title="Step matrix" + (f" from {first.label}" if first else ""))

    def stage_flow(self, *, preset: str | None = None, segment: str | None = None,
                   by: str | Sequence[str] | None = None, include_skipped: bool = False,
                   max_steps: int = 20) -> Analysis:
        """The flow between stages from the stage entries, as :meth:`paths` edges (step, source,
        target, customers, transitions, avg_seconds, median_seconds): every move from a stage
        to the next one a customer entered (skipped stages left out unless ``include_skipped``),
        and ``$current`` after the last. ``.figure()`` is its Sankey."""
        from .figures_paths import paths_figure

        entries = self.stages(preset)
        customers = self.segment_customers(segment, preset=preset)
        if customers is not None:
            entries = entries.semi_join(customers, "customer_id")
        breakdown, names = self.breakdown(by, preset=preset)
        flow = stage_flow(entries, include_skipped=include_skipped, max_steps=max_steps, breakdown=breakdown)
        ordered = flow.order_by([*names, "step", ibis.desc("customers"), "source", "target"])
        return analysis(ordered, paths_figure, "stage_flow", value="customers", title="Stage flow")

