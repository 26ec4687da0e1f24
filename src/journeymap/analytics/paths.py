"""Paths, transitions and the step matrix: what customers do one step after another.

A **path** is a customer's touchpoints in order of (timestamp, event_id), split into a new
path after ``gap`` of inactivity (a session, 30 minutes by default; ``gap=None`` keeps the
whole journey as one path). Each touchpoint becomes a **node**:

| node | the node of a touchpoint |
|---|---|
| ``event`` | its event name |
| ``path`` | the URL path of a page or screen view (:func:`journeymap.touchpoints.url_path`); other touchpoints are left out, except those matching the start or end step |
| ``event_path`` | the URL path of a page or screen view, the event name of anything else (PostHog's "all events") |

**Cleaning** rules ``(regex, alias)`` rewrite node names in order (every match of ``regex``
becomes ``alias``: ``("^/product/.*", "/product/:id")``) before immediate repeats are
**collapsed** (A, A, B is A, B), so cleaned aliases collapse too. A path may be cut to
begin at the first **start** step of the path, to end at the first **end** step, or both
(from the start to the first end after it). Paths that never meet the start (or end) are
left out.

The **time on an edge** A -> B is the seconds from the last touchpoint of the run of A to the
first touchpoint of B: how long it took to move on (whole seconds, the same on every engine).

>>> import ibis, datetime as dt
>>> at = lambda m: dt.datetime(2025, 1, 1, 9, m, tzinfo=dt.timezone.utc)
>>> log = ibis.memtable({"customer_id": ["a", "a", "a", "a", "b", "b"],
...     "timestamp": [at(0), at(1), at(3), at(4), at(0), at(2)],
...     "event_id": ["1", "2", "3", "4", "5", "6"], "event": ["home", "home", "shop", "buy", "home", "shop"],
...     "type": ["track"] * 6})
>>> rows = path_edges(log, steps=3).order_by(["step", "source", "target"]).to_pyarrow().to_pylist()
>>> [(r["step"], r["source"], r["target"], r["customers"], r["avg_seconds"]) for r in rows]
[(1, 'home', 'shop', 2, 120.0), (2, 'shop', '$drop_off', 1, None), (2, 'shop', 'buy', 1, 60.0)]
>>> m = transition_matrix(log).order_by(["source", "target"]).to_pyarrow().to_pylist()
>>> [(r["source"], r["target"], r["transitions"], r["probability"]) for r in m]
[('home', 'shop', 2, 1.0), ('shop', 'buy', 1, 1.0)]
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Sequence

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from ..engine import backend_of
from ..errors import ConfigError
from ..touchpoints import url_path, whole_seconds
from .customers import join_breakdown
from .steps import Step, step_predicate
from .streams import RUNNING, STREAM, first_of_customer, since_mark

__all__ = ["DROP_OFF", "HIDDEN_STEPS", "NODE_KINDS", "PATH_END", "PATH_START", "STAGE_CURRENT", "node_label",
           "parse_cleaning", "path_edges", "path_nodes", "stage_flow", "step_matrix", "transition_matrix"]

#: Target of an edge from the last node of a path that ended before the step limit.
DROP_OFF = "$drop_off"
#: The node of a path after its last step in :func:`step_matrix` (and the end of a path in
#: :func:`transition_matrix` with ``path_ends=True``).
PATH_END = "$path_end"
#: Source of the first node of every path in :func:`transition_matrix` with ``path_ends=True``.
PATH_START = "$path_start"
#: The node standing for the middle steps of a start-to-end path longer than the step limit.
HIDDEN_STEPS = "$hidden_steps"
#: Target of the last stage a customer entered in :func:`stage_flow` (they are still there).
STAGE_CURRENT = "$current"
NODE_KINDS = ("event", "path", "event_path")
_PAGES = ("page", "screen")

Cleaning = Sequence[tuple[str, str] | str]


def parse_cleaning(rules: Cleaning | None, *, field: str = "clean") -> list[tuple[str, str]]:
    """Cleaning rules as (regex, alias) pairs; a text rule is ``REGEX=ALIAS`` (split at the last ``=``).

    >>> parse_cleaning(["^/product/[^/]+=/product/:id", ("/cart.*", "/cart")])
    [('^/product/[^/]+', '/product/:id'), ('/cart.*', '/cart')]
    >>> parse_cleaning(["/product/(["])
    Traceback (most recent call last):
    ...
    journeymap.errors.ConfigError: setting clean: cleaning rule '/product/([': no '=' between the regex and its alias. Fix: write REGEX=ALIAS, e.g. ^/product/.*=/product/:id
    >>> parse_cleaning(["/product/(=/p"])
    Traceback (most recent call last):
    ...
    journeymap.errors.ConfigError: setting clean: cleaning rule '/product/(=/p': bad regex '/product/(': missing ), unterminated subpattern at position 9. Fix: e.g. ^/product/.*=/product/:id
    """
    pairs = []
    for rule in rules or ():
        if isinstance(rule, str):
            if "=" not in rule:
                raise ConfigError(f"cleaning rule '{rule}': no '=' between the regex and its alias", field=field,
                                  hint="write REGEX=ALIAS, e.g. ^/product/.*=/product/:id")
            pattern, alias = rule.rsplit("=", 1)
        else:
            pattern, alias = rule
        label = rule if isinstance(rule, str) else f"{pattern}={alias}"
        if not pattern:
            raise ConfigError(f"cleaning rule '{label}': empty regex", field=field,
                              hint="e.g. ^/product/.*=/product/:id")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"cleaning rule '{label}': bad regex '{pattern}': {exc}", field=field,
                              hint="e.g. ^/product/.*=/product/:id") from None
        if re.search(r"\\\d|\$\d|\$\{", alias):
            raise ConfigError(f"cleaning rule '{label}': the alias refers to a group ({alias})", field=field,
                              hint="aliases are plain text (engines spell back-references differently)")
        pairs.append((pattern, alias))
    return pairs


def node_label(log: ir.Table, node: str = "event", clean: Cleaning | None = None) -> ir.StringValue:
    """The node name of every touchpoint of ``log`` (see the module doc), cleaned."""
    if node not in NODE_KINDS:
        raise ConfigError(f"node '{node}' is not one of " + ", ".join(NODE_KINDS), field="node",
                          hint="event: event names; path: URL paths of page and screen views; "
                               "event_path: URL paths of views, event names of the rest")
    label = log.event.cast("string")
    if node in ("path", "event_path"):
        label = ibis.ifelse(log.type.isin(_PAGES) & log.url.notnull(), url_path(log.url.cast("string")), label)
    for pattern, alias in parse_cleaning(clean):
        label = label.re_replace(pattern, alias)
    return label


@ibis.udf.scalar.builtin(name="epoch")
def _duckdb_epoch(ts: dt.Timestamp(timezone="UTC")) -> dt.float64:  # type: ignore[empty-body]
    """DuckDB's ``epoch()`` straight on the TIMESTAMPTZ (seconds with the fraction)."""


def _whole_seconds(t: ir.Table) -> ir.IntegerValue:
    """:func:`journeymap.touchpoints.whole_seconds` of ``t.timestamp``; on DuckDB as
    ``floor(epoch(ts))``, the same number ~15x faster than truncating a TIMESTAMPTZ (the
    conformance suite checks the engines agree, fractions of a second included)."""
    try:
        duckdb = backend_of(t).name == "duckdb" and t.timestamp.type().timezone is not None
    except Exception:  # noqa: BLE001 - an unbound table: the portable spelling
        duckdb = False
    if duckdb:
        return _duckdb_epoch(t.timestamp).floor().cast("int64")
    return whole_seconds(t.timestamp)


def _window(t: ir.Table, *keys: str, running: bool = False) -> ibis.Window:
    group = [t[k] for k in ("customer_id", *keys)]
    if running:
        return ibis.window(group_by=group, order_by=[t.timestamp, t.event_id], preceding=None, following=0)
    return ibis.window(group_by=group, order_by=[t.timestamp, t.event_id])


def _gap_seconds(gap: _dt.timedelta | None) -> int | None:
    return None if gap is None else int(gap.total_seconds())


def path_nodes(log: ir.Table, *, node: str = "event", clean: Cleaning | None = None,
               collapse_repeats: bool = True, gap: _dt.timedelta | None = _dt.timedelta(minutes=30),
               start: Step | None = None, end: Step | None = None, presorted: bool = False) -> ir.Table:
    """One row per node of every path: customer_id, path_index (1, 2, ... per customer), step
    (1, 2, ... within the path, from the start step when given), node, timestamp (of the node's
    first touchpoint), seconds (from the previous node's last touchpoint; NULL on step 1) and
    nodes (the path's length). With ``end`` the path stops at its first end step (after the
    start), and paths without one are left out.

    >>> import ibis, datetime as dt
    >>> from journeymap.analytics.steps import parse_step
    >>> at = lambda m: dt.datetime(2025, 1, 1, 9, m, tzinfo=dt.timezone.utc)
    >>> log = ibis.memtable({"customer_id": ["a"] * 5, "timestamp": [at(0), at(1), at(2), at(50), at(51)],
    ...     "event_id": list("12345"), "event": ["x", "home", "shop", "home", "buy"], "type": ["track"] * 5})
    >>> rows = path_nodes(log, start=parse_step("home")).order_by(["path_index", "step"]).to_pyarrow().to_pylist()
    >>> [(r["path_index"], r["step"], r["node"], r["seconds"]) for r in rows]
    [(1, 1, 'home', None), (1, 2, 'shop', 60), (2, 1, 'home', None), (2, 2, 'buy', 60)]
    """
    if presorted and start is None and end is None:
        return _streamed_nodes(log, node=node, clean=clean, collapse_repeats=collapse_repeats, gap=gap)
    if node == "path":
        keep = log.type.isin(_PAGES)
        for step in (start, end):
            if step is not None:
                keep = keep | step_predicate(log, step)
        log = log.filter(keep)
    marks = {}
    if start is not None:
        marks["_is_start"] = step_predicate(log, start).fill_null(False).cast("int64")
    if end is not None:
        marks["_is_end"] = step_predicate(log, end).fill_null(False).cast("int64")
    t = log.select("customer_id", "timestamp", "event_id", _node=node_label(log, node, clean),
                   _sec=_whole_seconds(log), **marks)
    w = _window(t)
    previous = t._sec.lag().over(w)
    gap_s = _gap_seconds(gap)
    new = previous.isnull() if gap_s is None else previous.isnull() | (t._sec - previous > gap_s)
    t = t.mutate(_new=new.cast("int64"), _prev_node=t._node.lag().over(w), _prev_sec=previous)
    t = t.mutate(path_index=t._new.sum().over(_window(t, running=True)))
    first = ibis.literal(False)
    if start is not None:
        t = t.mutate(_starts=t._is_start.sum().over(_window(t, "path_index", running=True)))
        t = t.filter(t._starts >= 1)
        t = t.mutate(_first=(t._is_start == 1) & (t._starts == 1))
        first = t._first
    if end is not None:
        is_end = t._is_end if start is None else ibis.ifelse(t._first, 0, t._is_end)
        t = t.mutate(_end=is_end)
        t = t.mutate(_ends=t._end.sum().over(_window(t, "path_index", running=True)),
                     _has_end=t._end.max().over(ibis.window(group_by=[t.customer_id, t.path_index])))
        t = t.filter((t._has_end == 1) & (t._ends - t._end == 0))
        if start is not None:
            first = t._first
    if collapse_repeats:
        t = t.filter((t._new == 1) | (t._node != t._prev_node).fill_null(True) | first)
    w = _window(t, "path_index")
    t = t.mutate(step=(ibis.row_number().over(w) + 1).cast("int64"),
                 nodes=t._node.count().over(ibis.window(group_by=[t.customer_id, t.path_index])).cast("int64"))
    seconds = ibis.ifelse(t.step == 1, ibis.null("int64"), (t._sec - t._prev_sec).cast("int64"))
    return t.select("customer_id", "path_index", "step", node=t._node, timestamp=t.timestamp,
                    event_id=t.event_id, seconds=seconds, nodes=t.nodes)


def _streamed_nodes(log: ir.Table, *, node: str, clean: Cleaning | None, collapse_repeats: bool,
                    gap: _dt.timedelta | None, lengths: bool = True) -> ir.Table:
    """:func:`path_nodes` without start or end, for a log already in (customer_id, timestamp,
    event_id) order (the DuckDB store): every window is unpartitioned, so DuckDB streams the
    table in storage order instead of sorting it; a path's number is a running count of path
    starts over the whole table (tests/test_behaviour.py checks both ways agree)."""
    if node == "path":
        log = log.filter(log.type.isin(_PAGES))
    t = log.select("customer_id", "timestamp", "event_id", _node=node_label(log, node, clean), _sec=_whole_seconds(log))
    first = first_of_customer(t)
    previous = ibis.ifelse(first, ibis.null("int64"), t._sec.lag().over(STREAM))
    gap_s = _gap_seconds(gap)
    new = first if gap_s is None else first | (t._sec - previous > gap_s)
    t = t.mutate(_first=first, _new=new, _prev_node=ibis.ifelse(first, ibis.null("string"), t._node.lag().over(STREAM)),
                 _prev_sec=previous)
    if collapse_repeats:
        t = t.filter(t._new | (t._node != t._prev_node).fill_null(True))
    t = t.mutate(_row=ibis.row_number().over(STREAM), _path=t._new.cast("int64").sum().over(RUNNING))
    t = t.mutate(step=(since_mark(t._row, t._new) + 1).cast("int64"),
                 path_index=(since_mark(t._path, t._first) + 1).cast("int64"))
    seconds = ibis.ifelse(t.step == 1, ibis.null("int64"), (t._sec - t._prev_sec).cast("int64"))
    rows = t.select("customer_id", "_path", "path_index", "step", node=t._node, timestamp=t.timestamp,
                    event_id=t.event_id, seconds=seconds)
    if not lengths:  # the caller counts the paths' lengths itself (a window per path costs a sort)
        return rows
    return rows.mutate(nodes=rows.count().over(ibis.window(group_by=rows._path)).cast("int64")).drop("_path")


def _limit(nodes: ir.Table, steps: int, *, start: bool, end: bool) -> ir.Table:
    """Cut every path to ``steps`` nodes: the first ones (the last ones with only an end; the
    first and last halves around a :data:`HIDDEN_STEPS` node from a start to an end)."""
    if not end:
        return nodes.filter(nodes.step <= steps)
    if not start:
        cut = ibis.greatest(nodes.nodes - steps, 0)
        kept = nodes.filter(nodes.step > cut)
        return kept.mutate(step=kept.step - ibis.greatest(kept.nodes - steps, 0))
    tail = max(1, (steps - 1) // 2)
    head = max(1, steps - 1 - tail)
    long = nodes.nodes > steps
    kept = nodes.filter(~long | (nodes.step <= head + 1) | (nodes.step > nodes.nodes - tail))
    hidden = long & (kept.step == head + 1)
    return kept.mutate(
        step=ibis.ifelse(long & (kept.step > head + 1), kept.step - (kept.nodes - tail) + head + 1, kept.step),
        node=ibis.ifelse(hidden, HIDDEN_STEPS, kept.node),
        seconds=ibis.ifelse(hidden | (long & (kept.step == kept.nodes - tail + 1)), ibis.null("int64"),
                            kept.seconds))


def _edges(nodes: ir.Table, steps: int, end_label: str | None, keys: Sequence[str]) -> ir.Table:
    """Edges between consecutive nodes of the (cut) paths, with ``end_label`` after the last
    node of a path shorter than ``steps`` (None: no such edge)."""
    w = _window(nodes, "path_index")
    t = nodes.mutate(target=nodes.node.lead().over(w), _seconds=nodes.seconds.lead().over(w))
    if end_label is None:
        t = t.filter(t.target.notnull())
    else:
        t = t.filter(t.target.notnull() | (t.step < steps))
        t = t.mutate(target=t.target.fill_null(end_label))
    grouped = t.group_by([*keys, "step", t.node.name("source"), "target"])
    return grouped.aggregate(customers=t.customer_id.nunique().cast("int64"), transitions=t.count().cast("int64"),
                             avg_seconds=t._seconds.mean(), median_seconds=t._seconds.median().cast("float64"))


def path_edges(log: ir.Table, *, steps: int = 5, node: str = "event", clean: Cleaning | None = None,
               collapse_repeats: bool = True, gap: _dt.timedelta | None = _dt.timedelta(minutes=30),
               start: Step | None = None, end: Step | None = None, breakdown: ir.Table | None = None,
               min_customers: int = 1) -> ir.Table:
    """The edges of the paths (PostHog's user paths): step k (of the source; the target is on
    k + 1), source, target, customers (unique), transitions (every traversal), avg_seconds and
    median_seconds on the edge. A path that ends before ``steps`` nodes goes on to
    :data:`DROP_OFF` (not with ``end``: those paths all end at the end step). ``breakdown``
    (customer_id + columns) adds its columns to the edge key. Edges with fewer than
    ``min_customers`` customers are left out."""
    _check_steps(steps, "steps", minimum=2)
    nodes = _limit(path_nodes(log, node=node, clean=clean, collapse_repeats=collapse_repeats, gap=gap,
                              start=start, end=end), steps, start=start is not None, end=end is not None)
    keys = [c for c in breakdown.columns if c != "customer_id"] if breakdown is not None else []
    nodes = join_breakdown(nodes, breakdown)
    edges = _edges(nodes, steps, None if end is not None else DROP_OFF, keys)
    return edges.filter(edges.customers >= min_customers) if min_customers > 1 else edges


def _check_steps(value: int, field: str, *, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{field} must be a whole number of at least {minimum}, not {value!r}", field=field,
                          hint=f"e.g. {field}=5")


def transition_matrix(log: ir.Table, *, node: str = "event", clean: Cleaning | None = None,
                      collapse_repeats: bool = True, gap: _dt.timedelta | None = _dt.timedelta(minutes=30),
                      path_ends: bool = False, customers: ir.Table | None = None,
                      presorted: bool = False, breakdown: ir.Table | None = None) -> ir.Table:
    """Transitions between consecutive nodes of the paths (Retentioneering's transition graph):
    source, target, transitions (every move), customers (unique), probability (transitions out
    of ``source`` that go to ``target``) and median_seconds. One window pass over the log: the
    store is sorted by customer and time. With ``path_ends`` every path also moves from
    :data:`PATH_START` to its first node and from its last node to :data:`PATH_END`.
    ``customers`` (customer_id) keeps only their moves.

    ``presorted=True`` is the fast path for a log already in (customer_id, timestamp,
    event_id) order, as the DuckDB store keeps its events: the neighbours come from an
    unpartitioned ``lag()`` that DuckDB streams in storage order, with no sort at all
    (tests/test_paths.py checks both ways agree on a store). Do not use it on anything else.

    >>> import ibis, datetime as dt
    >>> at = lambda m: dt.datetime(2025, 1, 1, 9, m, tzinfo=dt.timezone.utc)
    >>> log = ibis.memtable({"customer_id": ["a"] * 4, "timestamp": [at(0), at(0), at(1), at(2)],
    ...     "event_id": ["2", "1", "3", "4"], "event": ["shop", "home", "home", "buy"], "type": ["track"] * 4})
    >>> m = transition_matrix(log, collapse_repeats=False, path_ends=True).order_by(["source", "target"])
    >>> [(r["source"], r["target"], r["transitions"], r["probability"]) for r in m.to_pyarrow().to_pylist()]
    [('$path_start', 'home', 1, 1.0), ('buy', '$path_end', 1, 1.0), ('home', 'buy', 1, 0.5), ('home', 'shop', 1, 0.5), ('shop', 'home', 1, 1.0)]
    """
    if node == "path":
        log = log.filter(log.type.isin(_PAGES))
    t = log.select("customer_id", "timestamp", "event_id", _node=node_label(log, node, clean),
                   _sec=_whole_seconds(log))
    w = ibis.window() if presorted else _window(t)
    gap_s = _gap_seconds(gap)
    columns = dict(_prev_sec=t._sec.lag().over(w), _prev_node=t._node.lag().over(w))
    if path_ends:
        columns["_next_sec"] = t._sec.lead().over(w)
    if presorted:  # the neighbour may be another customer's
        columns["_prev_customer"] = t.customer_id.lag().over(w)
        if path_ends:
            columns["_next_customer"] = t.customer_id.lead().over(w)
    t = t.mutate(**columns)
    if presorted:
        t = t.mutate(_prev_sec=ibis.ifelse((t._prev_customer == t.customer_id).fill_null(False), t._prev_sec,
                                           ibis.null("int64")),
                     **({"_next_sec": ibis.ifelse((t._next_customer == t.customer_id).fill_null(False), t._next_sec,
                                                  ibis.null("int64"))} if path_ends else {}))
    new = t._prev_sec.isnull() if gap_s is None else t._prev_sec.isnull() | (t._sec - t._prev_sec > gap_s)
    moves = t.filter(~new) if not collapse_repeats else t.filter(~new & (t._node != t._prev_node))
    moves = moves.select("customer_id", source=moves._prev_node, target=moves._node,
                         _seconds=(moves._sec - moves._prev_sec).cast("int64"))
    if path_ends:
        last = t._next_sec.isnull() if gap_s is None else t._next_sec.isnull() | (t._next_sec - t._sec > gap_s)
        null = ibis.null("int64")
        starts = t.filter(new).select("customer_id", source=ibis.literal(PATH_START), target=t._node, _seconds=null)
        ends = t.filter(last).select("customer_id", source=t._node, target=ibis.literal(PATH_END), _seconds=null)
        moves = moves.union(starts).union(ends)
    if customers is not None:
        moves = moves.semi_join(customers, "customer_id")
    keys = [c for c in breakdown.columns if c != "customer_id"] if breakdown is not None else []
    moves = join_breakdown(moves, breakdown)
    counts = moves.group_by([*keys, "source", "target"]).aggregate(
        transitions=moves.count().cast("int64"), customers=moves.customer_id.nunique().cast("int64"),
        median_seconds=moves._seconds.median().cast("float64"))
    out = counts.transitions.sum().over(ibis.window(group_by=[*[counts[k] for k in keys], counts.source]))
    return counts.mutate(probability=counts.transitions / out).select(
        *keys, "source", "target", "transitions", "customers", "probability", "median_seconds")


def step_matrix(log: ir.Table, *, max_steps: int = 10, node: str = "event", clean: Cleaning | None = None,
                collapse_repeats: bool = True, gap: _dt.timedelta | None = _dt.timedelta(minutes=30),
                start: Step | None = None, breakdown: ir.Table | None = None, presorted: bool = False) -> ir.Table:
    """Retentioneering's step matrix in long form: step k (1..``max_steps``), node, paths (at
    ``node`` on step k), customers (unique) and share (of all paths). A path shorter than k
    is at :data:`PATH_END` on step k, so the shares of a step add up to 1. Steps after the
    longest path are left out. With ``start`` step 1 is the path's first start step.

    >>> import ibis, datetime as dt
    >>> at = lambda m: dt.datetime(2025, 1, 1, 9, m, tzinfo=dt.timezone.utc)
    >>> log = ibis.memtable({"customer_id": ["a", "a", "b"], "timestamp": [at(0), at(1), at(0)],
    ...     "event_id": ["1", "2", "3"], "event": ["home", "buy", "home"], "type": ["track"] * 3})
    >>> rows = step_matrix(log).order_by(["step", "node"]).to_pyarrow().to_pylist()
    >>> [(r["step"], r["node"], r["paths"], r["share"]) for r in rows]
    [(1, 'home', 2, 1.0), (2, '$path_end', 1, 0.5), (2, 'buy', 1, 0.5), (3, '$path_end', 2, 1.0)]
    """
    _check_steps(max_steps, "max_steps")
    keys = [c for c in breakdown.columns if c != "customer_id"] if breakdown is not None else []
    if presorted and start is None:  # streamed: lengths by a hash aggregate over the path numbers, no sort
        rows = _streamed_nodes(log, node=node, clean=clean, collapse_repeats=collapse_repeats, gap=gap, lengths=False)
        on = join_breakdown(rows.filter(rows.step <= max_steps).drop("_path"), breakdown)
        paths = join_breakdown(rows.group_by("_path").aggregate(customer_id=rows.customer_id.min(),
                                                                length=rows.count().cast("int64")).drop("_path"),
                               breakdown)
    else:
        nodes = join_breakdown(path_nodes(log, node=node, clean=clean, collapse_repeats=collapse_repeats, gap=gap,
                                          start=start), breakdown)
        on = nodes.filter(nodes.step <= max_steps)
        paths = nodes.filter(nodes.step == 1).select("customer_id", *keys, length=nodes.nodes)
    at_node = on.group_by([*keys, "step", "node"]).aggregate(paths=on.count().cast("int64"),
                                                             customers=on.customer_id.nunique().cast("int64"))
    columns = at_node.select("step").union(paths.select(step=paths.length + 1)).distinct()
    columns = columns.filter(columns.step <= max_steps)
    ended = paths.cross_join(columns)
    ended = ended.filter(ended.length < ended.step)
    at_end = ended.group_by([*keys, "step"]).aggregate(node=ibis.literal(PATH_END),
                                                       paths=ended.count().cast("int64"),
                                                       customers=ended.customer_id.nunique().cast("int64"))
    both = at_node.union(at_end.select(*keys, "step", "node", "paths", "customers"))
    # every path is on exactly one node (or already over) at every step: a step's paths are all paths
    total = both.paths.sum().over(ibis.window(group_by=[*[both[k] for k in keys], both.step]))
    return both.mutate(share=both.paths / total.cast("float64"))


def stage_flow(entries: ir.Table, *, include_skipped: bool = False, max_steps: int = 20,
               breakdown: ir.Table | None = None) -> ir.Table:
    """The flow between stages (for a Sankey): from the stage entries (:func:`journeymap.stages.assign_stages`),
    in order of (entered_at, stage_index), every move from one stage to the next entered one
    (skipped stages left out unless ``include_skipped``), as :func:`path_edges` rows: step,
    source, target, customers, transitions, avg_seconds and median_seconds; the last stage a
    customer entered goes on to :data:`STAGE_CURRENT`.
    """
    _check_steps(max_steps, "max_steps", minimum=2)
    rows = entries if include_skipped else entries.filter(~entries.skipped.fill_null(False))
    index = rows.stage_index.cast("string").lpad(3, "0")
    log = rows.select(customer_id=rows.customer_id, timestamp=rows.entered_at, event_id=index,
                      event=rows.stage.cast("string"), type=ibis.literal("stage"))
    nodes = path_nodes(log, gap=None, collapse_repeats=False)
    nodes = nodes.filter(nodes.step <= max_steps)
    keys = [c for c in breakdown.columns if c != "customer_id"] if breakdown is not None else []
    return _edges(join_breakdown(nodes, breakdown), max_steps + 1, STAGE_CURRENT, keys)

