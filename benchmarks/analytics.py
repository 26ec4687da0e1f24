"""Behavioural analytics benchmark: funnel, transitions, paths, sessions, retention next to a plain
DuckDB scan of the same columns, and next to retentioneering on the same events.

    .venv/bin/python benchmarks/analytics.py                          # 1M, 5M and 50M demo events
    .venv/bin/python benchmarks/analytics.py --sizes 1e6              # quicker
    .venv/bin/python benchmarks/analytics.py --sizes 1e6,5e6 --no-peers

Data (built once, cached under benchmarks/.cache/, which is gitignored):

* up to 10M events: ``analytics-N.duckdb``, a store built like ``journeymap demo`` does it, with
  the demo generator (``N / 9`` customers, seed 7) and ``jm.load`` (full ingest: validation,
  channels, identity stitching, sorted by customer_id, timestamp, event_id);
* above 10M (50M): the ingest would take most of the run, so the store is *derived* from the
  5M one inside DuckDB: the 5M customers' touchpoints copied k = 0..K-1 times (K = round(N /
  5M events)), copy k > 0 with every identifier (customer_id, event_id, anonymous_id, user_id,
  email_hash, device_id, previous_id) prefixed/suffixed with ``~kkk`` and the same timestamps.
  Copies are appended in an order that keeps ``events`` sorted by (customer_id, timestamp,
  event_id) like a loaded store; the identity map is replicated the same way. Every count of
  the derived store is therefore exactly K times the 5M store's: the script checks that for
  the funnel (``derived xK`` note);
* for retentioneering, ``analytics-N.events.parquet``: user_id (= customer_id), event,
  timestamp of every touchpoint with a customer, in (customer_id, timestamp, event_id) order.

Every measured step runs in a fresh subprocess, so its time and its peak RSS (VmHWM from
/proc/self/status, the child's own) are its own; all rows of the table come from one run.
Seconds exclude the Python import of the library (listed once under the table): they are
"data in -> result out" for both tools.

* ``duckdb scan``: the yardstick, plain DuckDB over the store reading every value of the columns
  the analytics read, ``SELECT COUNT(*), SUM(hash(col, col, ...)) FROM events`` (hash forces
  each value to be read and decoded): the core columns every analysis reads (customer_id,
  timestamp, event_id, event, type), and a second scan adding the columns sessions and paths
  read (channel, utm_campaign, url). Each analysis's ``x scan`` is against the scan of its
  own columns.
* journeymap (``journeymap.open(store, read_only=True)``, the public API, results materialised
  with ``.to_pyarrow()``): sessions; funnel (4 steps product_viewed, add_to_cart,
  checkout_started, order_completed, 7-day window, sequential); transitions; paths (from
  product_viewed); step matrix; retention (weekly, first-time cohorts: any touchpoint then
  any touchpoint) - see ``OURS`` below for the exact calls.
* retentioneering (newest version, pip-installed into its own venv
  ``benchmarks/.cache/peers-venv`` so ours is untouched; RETENTIONEERING_NO_TRACK=1): each
  step reads the Parquet file with pandas, builds ``Eventstream(df)`` (its load: parse, sort,
  index) and computes ``funnel_data(steps)``, ``transition_graph_data`` (edge weights
  count, unique_paths and time_median, the three our transitions table has) or
  ``step_matrix_data(max_steps=10)``.
* ``end-to-end``: one process per tool doing funnel + transitions + step matrix after one
  load (retentioneering: Parquet -> Eventstream once), journeymap with retentioneering's
  definitions so both compute the same numbers: funnel without a window (a 100-year one),
  transitions and step matrix over whole journeys (``gap="none"``), repeats not collapsed,
  transitions with path start/end. The >= 5x target is on this row; it only runs where
  retentioneering does.

Counts are compared with retentioneering on the end-to-end results (``compare``; the notes
under the table): per funnel step, customers reaching it in order (our count vs its
unique_paths); per transition, transitions vs count, customers vs unique_paths and
median_seconds vs time_median; per step and node, share vs its step matrix share. Where the
definitions differ the note says how. The retentioneering venv is upgraded on every run
(``--no-upgrade`` keeps it as it is). On a machine shared with other work the times move
with the load: the load average is printed with the table, ``--repeat N`` keeps the fastest
of N runs of each step, and the progress lines on stderr give each step's CPU seconds.

Targets (2-core machine): end-to-end >= 5x faster than retentioneering at 5M events; at 50M
events funnel <= 2x and transitions <= 4x the plain scan; peak RSS <= 4 GB at 50M.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from benchmark_common import describe_code, peers_python  # noqa: E402
CACHE = HERE / ".cache"
PEERS_VENV = CACHE / "peers-venv"
EVENTS_PER_CUSTOMER_GUESS = 9  # the demo averages ~9 touchpoints per customer
BUILD_LIMIT = 10_000_000       # above this a store is derived from the DERIVE_BASE one
DERIVE_BASE = 5_000_000
FUNNEL_STEPS = ["product_viewed", "add_to_cart", "checkout_started", "order_completed"]
MAX_STEPS = 10
CORE_COLUMNS = ("customer_id", "timestamp", "event_id", "event", "type")
WIDE_COLUMNS = CORE_COLUMNS + ("channel", "utm_campaign", "url")

# --- the measured steps (each runs in its own process) -----------------------------------------
_STEP = r"""
import json, os, sys, time
kind, store, parquet, out = sys.argv[1:5]
FUNNEL_STEPS = json.loads(sys.argv[5])
MAX_STEPS = int(sys.argv[6])
columns = sys.argv[7].split(",") if len(sys.argv) > 7 else []
result = {}
began = time.perf_counter()

def cpu():
    t = os.times()
    return t.user + t.system

def peak_rss_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))

if kind.startswith("scan"):
    import duckdb
    imported, cpu_began = time.perf_counter(), cpu()
    con = duckdb.connect(store, read_only=True)
    con.execute("SET enable_progress_bar = false")
    cols = ", ".join(columns)
    rows, digest = con.execute(f"SELECT COUNT(*), SUM(hash({cols})) FROM events").fetchone()
    result["rows"] = rows
elif kind.startswith("jm-"):
    import journeymap
    import pyarrow.parquet as pq
    imported, cpu_began = time.perf_counter(), cpu()
    jm = journeymap.open(store, read_only=True)
    OURS = {
        # the table's analyses, with the product's defaults (paths and transitions: a new path
        # after 30 minutes of inactivity, immediate repeats collapsed)
        "sessions": lambda: jm.sessions(),
        "funnel": lambda: jm.funnel(FUNNEL_STEPS, window="7d"),
        "transitions": lambda: jm.transitions(),
        "paths": lambda: jm.paths(start=FUNNEL_STEPS[0]),
        "step_matrix": lambda: jm.step_matrix(max_steps=MAX_STEPS),
        "retention": lambda: jm.retention(period="week"),
        # retentioneering's definitions (end-to-end row and count check): a path is a customer's
        # whole journey, no repeat collapsing, path start/end nodes; a funnel without a window
        "funnel_rete": lambda: jm.funnel(FUNNEL_STEPS, window="36500d"),
        "transitions_rete": lambda: jm.transitions(gap="none", collapse_repeats=False, path_ends=True),
        "step_matrix_rete": lambda: jm.step_matrix(max_steps=MAX_STEPS, gap="none", collapse_repeats=False),
    }
    names = kind[3:].split("+")
    missing = [n for n in names if not hasattr(jm, n.removesuffix("_rete"))]
    if missing:
        result["missing"] = missing
    else:
        tables = {}
        for name in names:
            tables[name] = OURS[name]().to_pyarrow()
        result["rows"] = {name: t.num_rows for name, t in tables.items()}
        done, cpu_done = time.perf_counter(), cpu()
        for name, t in tables.items():
            pq.write_table(t, os.path.join(out, f"jm-{name}.parquet"))
        result["seconds"], result["cpu_seconds"] = done - imported, cpu_done - cpu_began
    jm.close()
elif kind.startswith("rete-"):
    import pandas as pd
    import retentioneering
    from retentioneering import Eventstream
    imported, cpu_began = time.perf_counter(), cpu()
    df = pd.read_parquet(parquet)
    stream = Eventstream(df)  # default schema: user_id, event, timestamp
    del df
    result["load_seconds"] = time.perf_counter() - imported
    result["version"] = retentioneering.__version__
    results = {}
    for name in kind[5:].split("+"):
        if name == "funnel":
            results["funnel"] = pd.DataFrame(stream.funnel_data(steps=FUNNEL_STEPS)["steps"])
        elif name == "transitions":
            results["transitions"] = {w: stream.transition_graph_data(edge_weight=w)
                                      for w in ("count", "unique_paths", "time_median")}
        elif name == "step_matrix":
            results["step_matrix"] = stream.step_matrix_data(max_steps=MAX_STEPS)
        elif name != "load":
            raise SystemExit(f"unknown step {name}")
    done, cpu_done = time.perf_counter(), cpu()
    result["rows"] = len(stream.df)
    for name, value in results.items():
        if name == "transitions":
            frames = []
            for weight, matrix in value.items():
                long = matrix.stack().rename(weight)
                long.index.names = ["event", "next_event"]
                frames.append(long)
            value = pd.concat(frames, axis=1).reset_index()
            value["time_median"] = value["time_median"].dt.total_seconds()
        elif name == "step_matrix":
            value = value.rename(columns=str).reset_index()
            value.columns = [str(c) for c in value.columns]
            value["event"] = value["event"].astype(str)
        value.to_parquet(os.path.join(out, f"rete-{name}.parquet"))
    result["seconds"], result["cpu_seconds"] = done - imported, cpu_done - cpu_began
else:
    raise SystemExit(f"unknown step {kind}")
if "seconds" not in result:
    result["seconds"], result["cpu_seconds"] = time.perf_counter() - imported, cpu() - cpu_began
result["import_seconds"] = imported - began
result["peak_rss_kb"] = peak_rss_kb()
print(json.dumps(result))
"""


def run_step(kind: str, store: Path, parquet: Path | None, out: Path, *, python: str | None = None,
             columns: tuple[str, ...] = (), repeat: int = 1) -> dict:
    """Run one step in a child process (``repeat`` times: the fastest run, the highest peak)."""
    env = dict(os.environ, RETENTIONEERING_NO_TRACK="1")
    best: dict | None = None
    for _ in range(repeat):
        args = [python or sys.executable, "-c", _STEP, kind, str(store), str(parquet or ""), str(out),
                json.dumps(FUNNEL_STEPS), str(MAX_STEPS), ",".join(columns)]
        proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=str(out))
        if proc.returncode != 0:
            print(f"step {kind} failed:\n{proc.stderr[-4000:]}", file=sys.stderr)
            return {"failed": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
        result = json.loads(next(line for line in reversed(proc.stdout.splitlines()) if line.startswith("{")))
        result["peak_rss_mb"] = result["peak_rss_kb"] / 1024
        if best is None or result.get("seconds", 0) < best.get("seconds", 0):
            peak = max(result["peak_rss_mb"], best["peak_rss_mb"]) if best else result["peak_rss_mb"]
            best = dict(result, peak_rss_mb=peak)
        else:
            best["peak_rss_mb"] = max(best["peak_rss_mb"], result["peak_rss_mb"])
        if "missing" in result:
            break
    print(f"  {kind:<50} {best.get('seconds', float('nan')):8.2f} s {best.get('cpu_seconds', float('nan')):8.2f} "
          f"cpu s {best.get('peak_rss_mb', 0):8,.0f} MB  (load {os.getloadavg()[0]:.1f})", file=sys.stderr)
    return best


# --- data ----------------------------------------------------------------------------------------
def store_path(size: int) -> Path:
    return CACHE / f"analytics-{size}.duckdb"


def build_store(size: int) -> Path:
    """A store of about ``size`` demo touchpoints (cached): the demo generator + ``jm.load``."""
    store = store_path(size)
    if store.exists():
        return store
    if size > BUILD_LIMIT:
        return derive_store(size)
    import journeymap
    from journeymap.demo import DemoSpec, write_demo_files

    CACHE.mkdir(exist_ok=True)
    folder = CACHE / f"analytics-{size}-files"
    began = time.perf_counter()
    files = write_demo_files(folder, DemoSpec(customers=max(size // EVENTS_PER_CUSTOMER_GUESS, 1), seed=7))
    partial = store.with_suffix(".partial.duckdb")
    partial.unlink(missing_ok=True)
    with journeymap.open(str(partial)) as jm:
        jm.load(files.events_dir)
    partial.rename(store)
    shutil.rmtree(folder, ignore_errors=True)
    print(f"built {store.name} ({files.events:,} touchpoints) in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    return store


_ID_COLUMNS = ("event_id", "anonymous_id", "user_id", "email_hash", "device_id", "previous_id")


def derive_store(size: int) -> Path:
    """A store of about ``size`` touchpoints made of K copies of the DERIVE_BASE store's customers
    (copy k > 0: ids with ``~kkk``, same timestamps), appended so that events stay sorted."""
    import duckdb

    import journeymap

    base = build_store(DERIVE_BASE)
    store = store_path(size)
    partial = store.with_suffix(".partial.duckdb")
    partial.unlink(missing_ok=True)
    began = time.perf_counter()
    with journeymap.open(str(partial)):
        pass  # the schema, exactly as a new store has it
    con = duckdb.connect(str(partial))
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"ATTACH '{base}' AS base (READ_ONLY)")
    base_events = con.execute("SELECT COUNT(*) FROM base.events").fetchone()[0]
    copies = max(2, round(size / base_events))
    columns = [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE "
                                         "table_catalog = 'base' AND table_name = 'events' ORDER BY ordinal_position").fetchall()]
    # '~' sorts after every character of the demo's ids (C..., email_hash:..., user_id:...), and the
    # zero-padded copy number keeps copy k's customers after copy k-1's: appending copy after copy
    # (each scanned in the base's sorted order) leaves events sorted by customer, timestamp, event_id
    for k in range(copies):
        def renamed(col: str) -> str:
            if k == 0:
                return f'"{col}"'
            if col == "customer_id":
                return f"'~{k:03d}:' || customer_id AS customer_id"
            if col in _ID_COLUMNS:
                return f"\"{col}\" || '~{k:03d}' AS \"{col}\""
            return f'"{col}"'
        quoted = ", ".join(f'"{c}"' for c in columns)
        con.execute(f"INSERT INTO events ({quoted}) SELECT {', '.join(renamed(c) for c in columns)} FROM base.events")
        prefix = "" if k == 0 else f"'~{k:03d}:' || "
        suffix = "" if k == 0 else f" || '~{k:03d}'"
        con.execute(f"INSERT INTO identity_map SELECT id_type, id_value{suffix}, {prefix}customer_id "
                    f"FROM base.identity_map")
        print(f"  derived copy {k + 1}/{copies}", file=sys.stderr)
    for table in ("loads", "load_files"):
        con.execute(f"INSERT INTO {table} SELECT * FROM base.{table}")
    con.execute("INSERT OR REPLACE INTO meta SELECT * FROM base.meta")
    con.execute("INSERT OR REPLACE INTO meta VALUES ('benchmark_derived', ?)",
                [json.dumps({"base": base.name, "copies": copies})])
    con.execute("DETACH base")
    con.execute("CHECKPOINT")
    con.close()
    partial.rename(store)
    print(f"derived {store.name} ({copies} x {base_events:,} touchpoints) in {time.perf_counter() - began:.0f} s",
          file=sys.stderr)
    return store


def derived_copies(store: Path) -> tuple[str, int] | None:
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    row = con.execute("SELECT value FROM meta WHERE key = 'benchmark_derived'").fetchone()
    con.close()
    if not row:
        return None
    info = json.loads(row[0])
    return info["base"], info["copies"]


def export_parquet(store: Path) -> Path:
    """The events retentioneering reads: user_id, event, timestamp, in our event order (cached)."""
    import duckdb

    parquet = store.with_suffix(".events.parquet")
    if parquet.exists() and parquet.stat().st_mtime >= store.stat().st_mtime:
        return parquet
    con = duckdb.connect(str(store), read_only=True)
    con.execute("SET enable_progress_bar = false")
    tmp = parquet.with_suffix(".tmp.parquet")
    con.execute(f"""COPY (SELECT customer_id AS user_id, event, timestamp FROM events
        WHERE customer_id IS NOT NULL ORDER BY customer_id, timestamp, event_id)
        TO '{tmp}' (FORMAT parquet, COMPRESSION zstd)""")
    con.close()
    tmp.rename(parquet)
    return parquet


# --- comparisons with retentioneering --------------------------------------------------------
def compare(out: Path) -> list[str]:
    """Our counts next to retentioneering's where the definitions agree (the end-to-end runs'
    results): one note per analysis saying what was compared and whether it was equal."""
    import pandas as pd

    def read(name: str):
        path = out / f"{name}.parquet"
        return pd.read_parquet(path) if path.exists() else None

    notes = []
    ours, theirs = read("jm-funnel_rete"), read("rete-funnel")
    if ours is not None and theirs is not None:
        ours = ours.sort_values("step")
        a, b = ours["count"].tolist(), theirs["unique_paths"].tolist()
        notes.append(f"funnel: customers reaching each step in order, our sequential funnel with an unlimited "
                     f"(100-year) window vs retentioneering funnel_data unique_paths: {a} vs {b}: "
                     + ("equal" if a == b else "DIFFERENT"))
        windowed = read("jm-funnel")
        if windowed is not None:
            notes.append(f"funnel with the 7-day window (no retentioneering equivalent): "
                         f"{windowed.sort_values('step')['count'].tolist()}")
    ours, theirs = read("jm-transitions_rete"), read("rete-transitions")
    if ours is not None and theirs is not None:
        names = {"path_start": "$path_start", "path_end": "$path_end"}
        theirs = theirs[theirs["count"] > 0].assign(source=lambda d: d["event"].replace(names),
                                                    target=lambda d: d["next_event"].replace(names))
        both = ours.merge(theirs, on=["source", "target"], how="outer", indicator=True)
        only = (both["_merge"] != "both").sum()
        both = both[both["_merge"] == "both"]
        bad_count = (both["transitions"] != both["count"]).sum()
        bad_unique = (both["customers"] != both["unique_paths"]).sum()
        # retentioneering's synthetic path_start/path_end rows copy the timestamp of the first/last
        # event, so their edges have a median of 0 s; ours have none (NULL): compare real edges only
        timed = both[~both["source"].eq("$path_start") & ~both["target"].eq("$path_end")]
        bad_time = (~((timed["median_seconds"] - timed["time_median"]).abs() < 1e-9)).sum()
        notes.append(f"transitions: whole-journey paths, no repeat collapsing, with path start/end, vs "
                     f"transition_graph_data: {len(both) + only} edges, {only} only on one side; transitions = "
                     f"count on {len(both) - bad_count}/{len(both)}, customers = unique_paths on "
                     f"{len(both) - bad_unique}/{len(both)}, median_seconds = time_median on "
                     f"{len(timed) - bad_time}/{len(timed)} (edges between events; path start/end edges have a "
                     f"median of 0 s there, none here): "
                     + ("equal" if only == bad_count == bad_unique == bad_time == 0 else "DIFFERENT"))
    ours, theirs = read("jm-step_matrix_rete"), read("rete-step_matrix")
    if ours is not None and theirs is not None:
        names = {"path_start": "$path_start", "path_end": "$path_end"}
        theirs = theirs.melt(id_vars="event", var_name="step", value_name="their_share")
        theirs["step"] = theirs["step"].astype(int)
        theirs = theirs[(theirs["step"] >= 1) & (theirs["their_share"] > 0)]
        theirs["node"] = theirs["event"].replace(names)
        both = ours.merge(theirs, on=["step", "node"], how="outer").fillna({"share": 0.0, "their_share": 0.0})
        worst = (both["share"] - both["their_share"]).abs().max()
        notes.append(f"step matrix: whole-journey paths, no repeat collapsing, steps 1-{MAX_STEPS}, vs "
                     f"step_matrix_data shares: {len(both)} cells, largest difference {worst:.1e}: "
                     + ("equal" if worst < 1e-12 else "DIFFERENT"))
    return notes


# --- main ------------------------------------------------------------------------------------------
#: (row label, our step, scan it is measured against, retentioneering step)
ROWS = (
    ("sessions", "jm-sessions", "wide", None),
    ("funnel (4 steps, 7-day window)", "jm-funnel", "core", "rete-funnel"),
    ("transitions", "jm-transitions", "core", "rete-transitions"),
    ("paths (from product_viewed)", "jm-paths", "wide", None),
    ("step matrix (10 steps)", "jm-step_matrix", "core", "rete-step_matrix"),
    ("retention (weekly)", "jm-retention", "core", None),
    ("end-to-end: funnel + transitions + step matrix, retentioneering's definitions",
     "jm-funnel_rete+transitions_rete+step_matrix_rete", "core",
     "rete-funnel+transitions+step_matrix"),
)


def measure(size: int, args, python: str | None) -> dict:
    store = build_store(size)
    out = CACHE / "results" / str(size)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    print(f"{store.name}:", file=sys.stderr)
    step = lambda kind, **kw: run_step(kind, store, kw.pop("parquet", None), out, repeat=args.repeat, **kw)  # noqa: E731
    run_step("scan-warmup", store, None, out, columns=WIDE_COLUMNS)  # page cache: every step reads a warm file
    results = {"store": store, "out": out,
               "scan-core": step("scan-core", columns=CORE_COLUMNS),
               "scan-wide": step("scan-wide", columns=WIDE_COLUMNS)}
    for name, ours, _, theirs in ROWS:
        if name.startswith("end-to-end") and not python:
            continue  # the end-to-end row is there to be compared with retentioneering
        results[ours] = step(ours)
    if python:
        parquet = export_parquet(store)
        run_step("rete-load", store, parquet, out, python=python)  # warm-up: imports and the file
        results["rete-load"] = step("rete-load", parquet=parquet, python=python)
        for _, _, _, theirs in ROWS:
            if theirs:
                results[theirs] = step(theirs, parquet=parquet, python=python)
        results["notes"] = compare(out)
    return results


def cell_seconds(r: dict | None) -> str:
    if not r:
        return ""
    if "missing" in r:
        return "n/a (not in the API yet)"
    if "failed" in r:
        return "failed"
    return f"{r['seconds']:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e6,5e6,5e7", help="comma-separated demo event counts")
    parser.add_argument("--peers-up-to", type=float, default=5e6,
                        help="run retentioneering at sizes up to this (default 5e6)")
    parser.add_argument("--no-peers", action="store_true", help="skip retentioneering")
    parser.add_argument("--no-upgrade", action="store_true",
                        help="use the peers venv as it is (no pip install -U retentioneering)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per step; the fastest is kept")
    args = parser.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    for size in sizes:
        build_store(size)
    python = None
    if not args.no_peers and any(size <= args.peers_up_to for size in sizes):
        python = peers_python(PEERS_VENV, ["retentioneering", "pyarrow"], upgrade=not args.no_upgrade)
    began = time.perf_counter()
    runs = {size: measure(size, args, python if size <= args.peers_up_to else None) for size in sizes}
    notes = derived_checks(runs)
    print_table(runs, notes)
    print(f"\n(measured in {time.perf_counter() - began:.0f} s)", file=sys.stderr)


def derived_checks(runs: dict) -> list[str]:
    """A derived store is K copies of the base store: its funnel counts must be K times the base's."""
    import pandas as pd

    notes = []
    for size, res in runs.items():
        derived = derived_copies(res["store"])
        base = next((r for r in runs.values() if r["store"].name == (derived or ("",))[0]), None)
        if not derived or base is None:
            continue
        files = [r["out"] / "jm-funnel.parquet" for r in (res, base)]
        if not all(f.exists() for f in files):
            continue
        mine, theirs = (pd.read_parquet(f).sort_values("step")["count"].tolist() for f in files)
        same = mine == [derived[1] * c for c in theirs]
        notes.append(f"{size / 1e6:g}M is {derived[1]} copies of the {base['store'].name} customers: funnel "
                     f"{mine} = {derived[1]} x {theirs}: {'yes' if same else 'NO'}")
    return notes


runs_load = os.getloadavg()


def print_targets(runs: dict) -> None:
    """The issue's targets, met or not, from the rows above."""
    lines = []
    e2e = next(name for name, *_ in ROWS if name.startswith("end-to-end"))
    ours_e2e, theirs_e2e = next((o, t) for name, o, _, t in ROWS if name == e2e)
    for size, res in runs.items():
        r, t = res.get(ours_e2e), res.get(theirs_e2e)
        if size == 5_000_000 and r and t and "seconds" in r and "seconds" in t:
            ratio, cpu = t["seconds"] / r["seconds"], t["cpu_seconds"] / r["cpu_seconds"]
            lines.append(f"end-to-end >= 5x faster than retentioneering at 5M events: {ratio:.1f}x "
                         f"({t['seconds']:.1f} s vs {r['seconds']:.1f} s; CPU seconds {cpu:.1f}x): "
                         + ("met" if ratio >= 5 else "NOT met"))
        if size >= 50_000_000:
            scan = res["scan-core"]["seconds"]
            for label, key, limit in (("funnel", "jm-funnel", 2), ("transitions", "jm-transitions", 4)):
                x = res.get(key, {})
                if "seconds" in x and "missing" not in x:
                    lines.append(f"{label} <= {limit}x the plain scan at {size / 1e6:g}M events: "
                                 f"{x['seconds'] / scan:.1f}x ({x['seconds']:.1f} s vs {scan:.1f} s): "
                                 + ("met" if x["seconds"] / scan <= limit else "NOT met"))
            peaks = {k: v["peak_rss_mb"] for k, v in res.items() if k.startswith("jm-") and isinstance(v, dict)
                     and "peak_rss_mb" in v and "missing" not in v}
            if peaks:
                worst = max(peaks, key=peaks.get)
                lines.append(f"peak RSS <= 4 GB at {size / 1e6:g}M events: highest {peaks[worst]:,.0f} MB "
                             f"({worst[3:]}): " + ("met" if peaks[worst] <= 4096 else "NOT met"))
    if lines:
        print("\nTargets (2-core machine):\n")
        for line in lines:
            print(f"* {line}")


def print_table(runs: dict, notes: list[str]) -> None:
    version = next((r["rete-load"].get("version") for r in runs.values() if r.get("rete-load")), None)
    print(f"\nBehavioural analytics benchmark ({describe_code()}), {os.cpu_count()}-core machine, one run; "
          f"journeymap vs a plain DuckDB scan" + (f" and retentioneering {version}" if version else "")
          + f"; load average {runs_load[0]:.1f} before, {os.getloadavg()[0]:.1f} after\n")
    print("| events | analysis | journeymap s | x scan | peak RSS | retentioneering s | its peak RSS | "
          "retentioneering / journeymap |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for size, res in runs.items():
        events = res["scan-core"].get("rows", size)
        label = f"{events / 1e6:.1f}M"
        for scan in ("core", "wide"):
            r = res[f"scan-{scan}"]
            cols = CORE_COLUMNS if scan == "core" else WIDE_COLUMNS
            print(f"| {label} | duckdb scan ({', '.join(cols)}) | {cell_seconds(r)} | 1.0 | "
                  f"{r['peak_rss_mb']:,.0f} MB | | | |")
        if res.get("rete-load"):
            r = res["rete-load"]
            print(f"| {label} | load (retentioneering: Parquet -> Eventstream) | | | | {cell_seconds(r)} | "
                  f"{r['peak_rss_mb']:,.0f} MB | |")
        for name, ours, scan, theirs in ROWS:
            if ours not in res:
                continue
            r, t, s = res[ours], res.get(theirs) if theirs else None, res[f"scan-{scan}"]
            ok = r and "seconds" in r and "missing" not in r
            ratio = f"{r['seconds'] / s['seconds']:.1f}" if ok else ""
            rss = f"{r['peak_rss_mb']:,.0f} MB" if ok else ""
            t_ok = t and "seconds" in t and "failed" not in t
            vs = f"{t['seconds'] / r['seconds']:.1f}x" if ok and t_ok else ""
            t_rss = f"{t['peak_rss_mb']:,.0f} MB" if t_ok else ""
            print(f"| {label} | {name} | {cell_seconds(r)} | {ratio} | {rss} | {cell_seconds(t)} | {t_rss} | {vs} |")
    imports = {}
    for res in runs.values():
        for key, r in res.items():
            if isinstance(r, dict) and "import_seconds" in r:
                tool = "retentioneering" if key.startswith("rete") else "journeymap" if key.startswith("jm") else None
                if tool:
                    imports.setdefault(tool, []).append(r["import_seconds"])
    if imports:
        print("\nSeconds exclude importing the library: "
              + ", ".join(f"{tool} {min(v):.1f}-{max(v):.1f} s" for tool, v in imports.items()) + ".")
    for size, res in runs.items():
        for note in res.get("notes", []):
            print(f"* {size / 1e6:g}M: {note}")
    for note in notes:
        print(f"* {note}")
    print_targets(runs)


if __name__ == "__main__":
    main()
