"""Stage benchmark: stage assignment plus the stage funnel, next to a plain scan of the same data.

    .venv/bin/python benchmarks/stages.py                 # 10M demo events (store cached)
    .venv/bin/python benchmarks/stages.py --events 1e6    # quicker

It builds (once, cached under benchmarks/.cache/) a store of N demo touchpoints with
``journeymap demo``'s generator and ``jm.load``, then runs each step in a fresh subprocess,
so time and peak RSS (VmHWM) are per step and measured side by side in one run:

* ``duckdb scan``        - plain DuckDB reading the columns the stage rules read
  (customer_id, timestamp, event_id, type, event, url, properties) from the same store
* ``stages + funnel``    - full stage assignment for the default model, written to the store's
  stage history, then the stage funnel (what ``journeymap stages`` does on a new model)
* ``stages + funnel, pure`` - the same computed from the touchpoints without the store
  (what runs on Spark or a Parquet folder), materialised to Arrow
* ``incremental refresh`` - after loading 1,000 new touchpoints of existing customers:
  only the changed customers are recomputed (the load itself is not timed here)

Targets (2-core machine): stages + funnel on 10M events <= 10 s and <= 5x the scan, peak RSS
<= 4 GB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"

_STEP = r"""
import json, sys, time
kind, store = sys.argv[1], sys.argv[2]
began = time.perf_counter()
result = {}
if kind == "scan":
    import duckdb
    con = duckdb.connect(store, read_only=True)
    con.execute("SET enable_progress_bar = false")
    result["rows"] = con.execute("SELECT COUNT(*), COUNT(DISTINCT customer_id), MAX(timestamp), "
        "COUNT(DISTINCT event_id) > 0, SUM(LENGTH(type) + LENGTH(event) + COALESCE(LENGTH(url), 0) "
        "+ COALESCE(LENGTH(properties), 0)) FROM events").fetchone()[0]
else:
    import journeymap
    with journeymap.open(store) as jm:
        if kind == "full":
            jm.store.con.execute("DELETE FROM meta WHERE key = 'stage_model'")
            refresh = jm.refresh_stages()
            funnel = jm.stage_funnel().to_pyarrow()
            result.update(rows=refresh.customers, recomputed=refresh.customers_recomputed, refresh=refresh.seconds)
        elif kind == "pure":
            from journeymap.stages import assign_stages
            from journeymap.analytics.stage_funnel import stage_funnel
            model = jm.stage_model()
            entries = assign_stages(jm.events(), model).cache()
            funnel = stage_funnel(entries, model).to_pyarrow()
            result["rows"] = funnel.column("customers")[0].as_py()
        elif kind == "incremental":
            refresh = jm.refresh_stages()
            funnel = jm.stage_funnel().to_pyarrow()
            result.update(rows=refresh.customers, recomputed=refresh.customers_recomputed, refresh=refresh.seconds)
result["seconds"] = time.perf_counter() - began
with open("/proc/self/status") as status:
    result["peak_rss_kb"] = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
print(json.dumps(result))
"""


def run_step(kind: str, store: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", _STEP, kind, str(store)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"step {kind} failed:\n{proc.stderr}")
    result = json.loads(next(line for line in reversed(proc.stdout.splitlines()) if line.startswith("{")))
    result["peak_rss_mb"] = result["peak_rss_kb"] / 1024
    return result


def build_store(events: int) -> Path:
    """A store of about ``events`` demo touchpoints (cached), with stage history up to date."""
    import journeymap
    from journeymap.demo import DemoSpec, write_demo_files

    CACHE.mkdir(exist_ok=True)
    store = CACHE / f"stages-{events}.duckdb"
    if store.exists():
        return store
    folder = CACHE / f"stages-{events}-files"
    began = time.perf_counter()
    files = write_demo_files(folder, DemoSpec(customers=max(events // 9, 1), seed=7))
    with journeymap.open(str(store)) as jm:
        jm.load(files.events_dir)
    print(f"built {store} ({files.events:,} touchpoints) in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    return store


def add_new_touchpoints(store: Path, n: int = 1000) -> None:
    """Load ``n`` new touchpoints of existing customers (copies of stored ones with new ids)."""
    import duckdb

    import journeymap

    extra = store.with_suffix(".extra.parquet")
    con = duckdb.connect(str(store), read_only=True)
    con.execute(f"""COPY (SELECT 'bench-' || event_id || '-' || CAST(epoch_ms(now()) AS VARCHAR) AS event_id,
        timestamp + INTERVAL 1 DAY AS timestamp, type, event, anonymous_id, user_id, url, referrer, page_title,
        properties FROM events USING SAMPLE {n} ROWS) TO '{extra}' (FORMAT parquet)""")
    con.close()
    with journeymap.open(str(store)) as jm:
        jm.refresh_stages()
        jm.load(extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=float, default=1e7, help="demo touchpoints (default 1e7)")
    args = parser.parse_args()
    events = int(args.events)
    store = build_store(events)
    scan = run_step("scan", store)
    full = run_step("full", store)
    pure = run_step("pure", store)
    add_new_touchpoints(store)
    incremental = run_step("incremental", store)
    rows = [("duckdb scan", scan), ("stages + funnel", full), ("stages + funnel, pure", pure),
            ("incremental refresh + funnel", incremental)]
    print(f"\nStage benchmark: {scan['rows']:,} touchpoints, {full['rows']:,} customers, 2-core machine\n")
    print("| step | seconds | x scan | peak RSS | notes |")
    print("|---|---:|---:|---:|---|")
    for name, r in rows:
        ratio = r["seconds"] / scan["seconds"]
        notes = ""
        if name == "stages + funnel":
            ok = r["seconds"] <= 10 and ratio <= 5 and r["peak_rss_mb"] <= 4096
            notes = f"target <= 10 s, <= 5x scan, <= 4 GB: {'met' if ok else 'NOT met'}"
        if name.startswith("incremental"):
            notes = f"{r['recomputed']:,} customers recomputed of {r['rows']:,}"
        print(f"| {name} | {r['seconds']:.2f} | {ratio:.1f} | {r['peak_rss_mb']:,.0f} MB | {notes} |")


if __name__ == "__main__":
    main()
