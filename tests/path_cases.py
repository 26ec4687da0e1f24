"""Hand-worked path cases shared by tests/test_paths.py and the conformance suite.

Minutes (and seconds) count from 2025-01-01 09:00 UTC. Page views carry a URL; node names
below are event names (pv = page_view, atc = add_to_cart, co = checkout) unless a case says
``node="path"``.

- a: a1 pv /home at 0:00 and a2 pv /product/1 also at 0:00 (tie: a1 < a2 by event_id), a3 pv
  /product/2 at 1:00, a4 atc at 2:00, a5 co at 3:00; 40 minutes of silence (more than the 30m
  gap: a new path); a6 pv /home at 43:00, a7 pv /home at 44:00 (a repeat), a8 co at 45:00.
  Paths (repeats collapsed): [pv, atc, co] and [pv, co].
- b: b2 pv /product/9 and b1 pv /home both at 0:00 (listed in the wrong order on purpose:
  b1 sorts first), b3 atc at 10:00. Path [pv, atc]; pv -> atc took 600 s (from b2, the last
  page view of the run, to b3).
- c: c1 atc at 0:00, c2 pv /home at 5:05.7 and c3 co at 6:06.2: whole seconds 305 and 366,
  so atc -> pv is 305 s and pv -> co 61 s (not 60.5). Path [atc, pv, co].

Times on an edge run from the last touchpoint of the source's run to the first of the target:
a's pv -> atc is 60 s (a3 at 1:00 to a4 at 2:00), not 120 s.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

BASE = dt.datetime(2025, 1, 1, 9, 0, tzinfo=dt.timezone.utc)
SITE = "https://shop.example"
D = "$drop_off"
E = "$path_end"


def at(minutes: float) -> dt.datetime:
    return BASE + dt.timedelta(minutes=minutes)


# (customer, event_id, minutes, event, url)
EVENTS = [
    ("a", "a1", 0, "page_view", SITE + "/home"),
    ("a", "a2", 0, "page_view", SITE + "/product/1"),
    ("a", "a3", 1, "page_view", SITE + "/product/2"),
    ("a", "a4", 2, "add_to_cart", None),
    ("a", "a5", 3, "checkout", None),
    ("a", "a6", 43, "page_view", SITE + "/home"),
    ("a", "a7", 44, "page_view", SITE + "/home?ref=nav"),
    ("a", "a8", 45, "checkout", None),
    ("b", "b2", 0, "page_view", SITE + "/product/9"),
    ("b", "b1", 0, "page_view", SITE + "/home"),
    ("b", "b3", 10, "add_to_cart", None),
    ("c", "c1", 0, "add_to_cart", None),
    ("c", "c2", 5 + 5.7 / 60, "page_view", SITE + "/home/"),
    ("c", "c3", 6 + 6.2 / 60, "checkout", None),
]

# a start-to-end path longer than the step limit: home, x, y, z, buy
LONG_EVENTS = [("d", f"d{i}", i, name, None) for i, name in enumerate(["home", "x", "y", "z", "buy"], 1)]

TIMESTAMP = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema([("customer_id", pa.string()), ("timestamp", TIMESTAMP), ("event_id", pa.string()),
                    ("event", pa.string()), ("type", pa.string()), ("url", pa.string())])


def log_table(events=EVENTS) -> pa.Table:
    rows = [{"customer_id": c, "timestamp": at(m), "event_id": e, "event": name,
             "type": "page" if name == "page_view" else "track", "url": url} for c, e, m, name, url in events]
    return pa.Table.from_pylist(rows, schema=SCHEMA)


# --- path_edges: (step, source, target, customers, transitions, avg_seconds, median_seconds) -----
PATH_CASES = {
    # no start, no end: every path from its first node; paths shorter than 5 go to $drop_off
    "all": (dict(steps=5), [
        (1, "page_view", "add_to_cart", 2, 2, 330.0, 330.0),     # a (60 s), b (600 s)
        (1, "page_view", "checkout", 1, 1, 60.0, 60.0),          # a's second path: a7 -> a8
        (1, "add_to_cart", "page_view", 1, 1, 305.0, 305.0),     # c
        (2, "add_to_cart", "checkout", 1, 1, 60.0, 60.0),        # a
        (2, "add_to_cart", D, 1, 1, None, None),                 # b's path ends on step 2
        (2, "page_view", "checkout", 1, 1, 61.0, 61.0),          # c: 5:05.7 -> 6:06.2 is 366 - 305
        (2, "checkout", D, 1, 1, None, None),                    # a's second path
        (3, "checkout", D, 2, 2, None, None),                    # a's first path and c
    ]),
    # the step limit counts nodes: 2 nodes = one edge per path, no drop-offs after step 2
    "two_steps": (dict(steps=2), [
        (1, "page_view", "add_to_cart", 2, 2, 330.0, 330.0),
        (1, "page_view", "checkout", 1, 1, 60.0, 60.0),
        (1, "add_to_cart", "page_view", 1, 1, 305.0, 305.0),
    ]),
    # from the first add_to_cart of each path; a's second path has none and is left out
    "start": (dict(steps=5, start="add_to_cart"), [
        (1, "add_to_cart", "checkout", 1, 1, 60.0, 60.0),        # a
        (1, "add_to_cart", D, 1, 1, None, None),                 # b
        (1, "add_to_cart", "page_view", 1, 1, 305.0, 305.0),     # c
        (2, "checkout", D, 1, 1, None, None),                    # a
        (2, "page_view", "checkout", 1, 1, 61.0, 61.0),          # c
        (3, "checkout", D, 1, 1, None, None),                    # c
    ]),
    # up to the first checkout: b never checks out; no drop-offs (every path ends at the end)
    "end": (dict(steps=5, end="checkout"), [
        (1, "page_view", "add_to_cart", 1, 1, 60.0, 60.0),       # a: pv, atc, co
        (1, "page_view", "checkout", 1, 1, 60.0, 60.0),          # a: pv, co
        (1, "add_to_cart", "page_view", 1, 1, 305.0, 305.0),     # c: atc, pv, co
        (2, "add_to_cart", "checkout", 1, 1, 60.0, 60.0),
        (2, "page_view", "checkout", 1, 1, 61.0, 61.0),
    ]),
    # with an end the limit keeps the last nodes: a [atc, co], a [pv, co], c [pv, co]
    "end_two_steps": (dict(steps=2, end="checkout"), [
        (1, "add_to_cart", "checkout", 1, 1, 60.0, 60.0),
        (1, "page_view", "checkout", 2, 2, 60.5, 60.5),          # a (60 s) and c (61 s)
    ]),
    # between: from the first page view to the first checkout after it
    "between": (dict(steps=5, start="page_view", end="checkout"), [
        (1, "page_view", "add_to_cart", 1, 1, 60.0, 60.0),       # a
        (1, "page_view", "checkout", 2, 2, 60.5, 60.5),          # a's second path, c (from c2)
        (2, "add_to_cart", "checkout", 1, 1, 60.0, 60.0),
    ]),
    # URL paths of page views only; cleaning makes /product/1 and /product/2 one node, collapsed
    "clean": (dict(steps=5, node="path", clean=[("^/product/.*", "/product/:id")]), [
        (1, "/home", "/product/:id", 2, 2, 0.0, 0.0),            # a1 -> a2 and b1 -> b2, same second
        (1, "/home", D, 2, 2, None, None),                       # a's second path (a6, a7 = /home) and c
        (2, "/product/:id", D, 2, 2, None, None),
    ]),
    "no_clean": (dict(steps=5, node="path"), [
        (1, "/home", "/product/1", 1, 1, 0.0, 0.0),
        (1, "/home", "/product/9", 1, 1, 0.0, 0.0),
        (1, "/home", D, 2, 2, None, None),
        (2, "/product/1", "/product/2", 1, 1, 60.0, 60.0),
        (2, "/product/9", D, 1, 1, None, None),
        (3, "/product/2", D, 1, 1, None, None),
    ]),
    # no session split and no collapsing: a is one path of 8 touchpoints, cut at 4 nodes
    "raw": (dict(steps=4, gap=None, collapse_repeats=False), [
        (1, "page_view", "page_view", 2, 2, 0.0, 0.0),           # a1 -> a2, b1 -> b2
        (1, "add_to_cart", "page_view", 1, 1, 305.0, 305.0),
        (2, "page_view", "page_view", 1, 1, 60.0, 60.0),         # a2 -> a3
        (2, "page_view", "add_to_cart", 1, 1, 600.0, 600.0),     # b
        (2, "page_view", "checkout", 1, 1, 61.0, 61.0),          # c
        (3, "page_view", "add_to_cart", 1, 1, 60.0, 60.0),       # a3 -> a4
        (3, "add_to_cart", D, 1, 1, None, None),                 # b
        (3, "checkout", D, 1, 1, None, None),                    # c
    ]),
}

# a start-to-end path of 5 nodes with a limit of 3: the first node, the hidden middle, the end
LONG_CASE = (dict(steps=3, start="home", end="buy"), [
    (1, "home", "$hidden_steps", 1, 1, None, None),
    (2, "$hidden_steps", "buy", 1, 1, None, None),
])

# --- transition_matrix: (source, target, transitions, customers, probability, median_seconds) ----
TRANSITION_CASES = {
    "default": (dict(), [
        ("page_view", "add_to_cart", 2, 2, 0.5, 330.0),
        ("page_view", "checkout", 2, 2, 0.5, 60.5),              # a's second path (60 s), c (61 s)
        ("add_to_cart", "checkout", 1, 1, 0.5, 60.0),
        ("add_to_cart", "page_view", 1, 1, 0.5, 305.0),
    ]),
    # whole journeys, repeats kept: 8 moves out of page_view, 4 of them to page_view
    "raw": (dict(gap=None, collapse_repeats=False), [
        ("page_view", "page_view", 4, 2, 0.5, 30.0),             # a: 0, 60, 60; b: 0 -> median 30
        ("page_view", "add_to_cart", 2, 2, 0.25, 330.0),
        ("page_view", "checkout", 2, 2, 0.25, 60.5),
        ("add_to_cart", "checkout", 1, 1, 0.5, 60.0),
        ("add_to_cart", "page_view", 1, 1, 0.5, 305.0),
        ("checkout", "page_view", 1, 1, 1.0, 2400.0),            # a5 at 3:00 -> a6 at 43:00
    ]),
    "path_ends": (dict(path_ends=True), [
        ("$path_start", "page_view", 3, 2, 0.75, None),          # a twice, b
        ("$path_start", "add_to_cart", 1, 1, 0.25, None),        # c
        ("page_view", "add_to_cart", 2, 2, 0.5, 330.0),
        ("page_view", "checkout", 2, 2, 0.5, 60.5),
        ("add_to_cart", "checkout", 1, 1, 1 / 3, 60.0),
        ("add_to_cart", "page_view", 1, 1, 1 / 3, 305.0),
        ("add_to_cart", E, 1, 1, 1 / 3, None),                   # b
        ("checkout", E, 3, 2, 1.0, None),                        # a twice, c
    ]),
}

# --- step_matrix: (step, node, paths, customers, share) -------------------------------------------
# paths: a [pv, atc, co], a [pv, co], b [pv, atc], c [atc, pv, co]
STEP_MATRIX_CASES = {
    "default": (dict(max_steps=10), [
        (1, "page_view", 3, 2, 0.75), (1, "add_to_cart", 1, 1, 0.25),
        (2, "add_to_cart", 2, 2, 0.5), (2, "checkout", 1, 1, 0.25), (2, "page_view", 1, 1, 0.25),
        (3, "checkout", 2, 2, 0.5), (3, E, 2, 2, 0.5),
        (4, E, 4, 3, 1.0),                                       # every path is over; later steps left out
    ]),
    "two_steps": (dict(max_steps=2), [
        (1, "page_view", 3, 2, 0.75), (1, "add_to_cart", 1, 1, 0.25),
        (2, "add_to_cart", 2, 2, 0.5), (2, "checkout", 1, 1, 0.25), (2, "page_view", 1, 1, 0.25),
    ]),
    # from the first add_to_cart: a [atc, co], b [atc], c [atc, pv, co]
    "start": (dict(max_steps=10, start="add_to_cart"), [
        (1, "add_to_cart", 3, 3, 1.0),
        (2, "checkout", 1, 1, 1 / 3), (2, "page_view", 1, 1, 1 / 3), (2, E, 1, 1, 1 / 3),
        (3, "checkout", 1, 1, 1 / 3), (3, E, 2, 2, 2 / 3),
        (4, E, 3, 3, 1.0),
    ]),
}

# --- stage_flow from stage entries --------------------------------------------------------------
DAY = dt.timedelta(days=1)
# (customer, stage, stage_index, days, skipped)
ENTRIES = [
    ("p", "awareness", 0, 0, False), ("p", "consideration", 1, 1, False), ("p", "decision", 2, 3, False),
    ("q", "awareness", 0, 0, False), ("q", "consideration", 1, 2, True), ("q", "decision", 2, 2, False),
    ("r", "awareness", 0, 0, False),
]


def entries_table() -> pa.Table:
    rows = [{"customer_id": c, "stage": s, "stage_index": i, "entered_at": BASE + d * DAY, "skipped": k}
            for c, s, i, d, k in ENTRIES]
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("customer_id", pa.string()), ("stage", pa.string()), ("stage_index", pa.int64()),
        ("entered_at", TIMESTAMP), ("skipped", pa.bool_())]))


C = "$current"
STAGE_FLOW_CASES = {
    # q skipped consideration: awareness -> decision; r is still in awareness
    "entered": (dict(), [
        (1, "awareness", "consideration", 1, 1, 86400.0, 86400.0),
        (1, "awareness", "decision", 1, 1, 172800.0, 172800.0),
        (1, "awareness", C, 1, 1, None, None),
        (2, "consideration", "decision", 1, 1, 172800.0, 172800.0),
        (2, "decision", C, 1, 1, None, None),
        (3, "decision", C, 1, 1, None, None),
    ]),
    # counting skipped stages: q enters consideration and decision at one moment (index order)
    "include_skipped": (dict(include_skipped=True), [
        (1, "awareness", "consideration", 2, 2, 129600.0, 129600.0),
        (1, "awareness", C, 1, 1, None, None),
        (2, "consideration", "decision", 2, 2, 86400.0, 86400.0),  # p: 2 days, q: 0
        (3, "decision", C, 2, 2, None, None),
    ]),
}


def rows_of(table, columns) -> list[tuple]:
    """Rows of an Ibis result as tuples of ``columns``, NaN read as None, sorted."""
    frame = table.to_pandas()
    out = []
    for record in frame[list(columns)].itertuples(index=False):
        out.append(tuple(None if (isinstance(v, float) and v != v) else (v.item() if hasattr(v, "item") else v)
                         for v in record))
    return sorted(out, key=repr)


def approx(rows: list[tuple]) -> list[tuple]:
    """Floats rounded to 9 places (1/3 and its kin), sorted as :func:`rows_of` sorts."""
    return sorted((tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in rows), key=repr)


EDGE_COLUMNS = ("step", "source", "target", "customers", "transitions", "avg_seconds", "median_seconds")
TRANSITION_COLUMNS = ("source", "target", "transitions", "customers", "probability", "median_seconds")
STEP_MATRIX_COLUMNS = ("step", "node", "paths", "customers", "share")


def with_steps(params: dict) -> dict:
    """``params`` with start/end texts parsed into steps and the gap as a timedelta."""
    from journeymap.analytics.steps import parse_step

    out = dict(params)
    for key in ("start", "end"):
        if key in out:
            out[key] = parse_step(out[key])
    out.setdefault("gap", dt.timedelta(minutes=30))
    return out
