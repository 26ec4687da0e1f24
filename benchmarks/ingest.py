"""Ingest benchmark: load rate, stitching time and peak memory next to plain DuckDB.

    .venv/bin/python benchmarks/ingest.py              # 1M and 10M demo events
    .venv/bin/python benchmarks/ingest.py --sizes 1e6  # quicker

For each size it generates the demo population once (Parquet, plus the same rows as CSV),
then runs, each in a fresh subprocess so peak RSS is measured per step:

* ``load parquet``  - journeymap.open(new store).load(folder): read, validate, classify
  channels, deduplicate, stitch identities, sort; events/s is rows / wall time
* its phases: read+validate (staging), dedup+channels, identity stitching (links,
  components, identity map), customer_id+sort (every touchpoint gets its customer and
  ``events`` is rewritten sorted by customer, timestamp)
* ``load csv``      - the same rows from CSV
* ``duckdb scan``   - plain DuckDB reading the same Parquet columns (the yardstick)
* ``duckdb copy``   - plain DuckDB CREATE TABLE AS SELECT * FROM read_parquet (no checks)

Targets (2-core machine): load from Parquet >= 1M events/s, stitching 10M events <= 30 s,
peak RSS <= 4 GB. Results go to stdout as one table; paste it into the README.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PHASES = (("stage", "  read+validate"), ("classify", "  dedup+channels"),
          ("stitch", "  identity stitching"), ("write", "  customer_id+sort"))
EVENTS_PER_CUSTOMER_GUESS = 9  # the demo averages ~9 touchpoints per customer

_STEP = r"""
import json, sys, time
kind, data, store = sys.argv[1], sys.argv[2], sys.argv[3]
began = time.perf_counter()
result = {}
if kind in ("parquet", "csv"):
    import journeymap
    with journeymap.open(store) as jm:
        summary = jm.load(data)
        result = {"rows": summary.accepted, "rejected": summary.rejected, "stage": summary.stage_seconds,
                  "classify": summary.classify_seconds, "stitch": summary.stitch_seconds,
                  "write": summary.write_seconds}
elif kind == "scan":
    import duckdb
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    result = {"rows": con.execute(f"SELECT COUNT(*), COUNT(DISTINCT anonymous_id), MAX(timestamp), SUM(revenue), "
        f"SUM(LENGTH(url)) FROM read_parquet('{data}/*.parquet')").fetchone()[0]}
elif kind == "copy":
    import duckdb
    con = duckdb.connect(store)
    con.execute("SET enable_progress_bar = false")
    con.execute(f"CREATE TABLE events AS SELECT * FROM read_parquet('{data}/*.parquet')")
    result = {"rows": con.execute("SELECT COUNT(*) FROM events").fetchone()[0]}
result["seconds"] = time.perf_counter() - began
# this process's own peak RSS (VmHWM); ru_maxrss would include the parent's peak from before exec
with open("/proc/self/status") as status:
    result["peak_rss_kb"] = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
print(json.dumps(result))
"""


def run_step(kind: str, data: Path, store: Path) -> dict:
    """Run one step in a child process; return its result plus the child's peak RSS."""
    if store.exists():
        store.unlink()
    proc = subprocess.Popen([sys.executable, "-c", _STEP, kind, str(data), str(store)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"step {kind} failed:\n{err}")
    result = json.loads(next(line for line in reversed(out.splitlines()) if line.startswith("{")))
    result["peak_rss_mb"] = result["peak_rss_kb"] / 1024
    return result


def prepare(size: int, workdir: Path) -> tuple[Path, Path, int]:
    """Demo events of about ``size`` rows as a Parquet folder and one CSV file."""
    import duckdb

    from journeymap.demo import DemoSpec, write_demo_files

    customers = max(int(size / EVENTS_PER_CUSTOMER_GUESS), 100)
    files = write_demo_files(workdir / "demo", DemoSpec(customers=customers, seed=7))
    parquet_dir = files.events_dir
    con = duckdb.connect()
    rows = con.execute(f"SELECT COUNT(*) FROM read_parquet('{parquet_dir}/*.parquet')").fetchone()[0]
    csv_dir = workdir / "csv"
    csv_dir.mkdir(exist_ok=True)
    con.execute(f"COPY (SELECT * FROM read_parquet('{parquet_dir}/*.parquet')) TO '{csv_dir}/events.csv' (HEADER)")
    return parquet_dir, csv_dir, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e6,1e7", help="comma-separated target event counts")
    parser.add_argument("--workdir", default=None, help="where to put generated data (default: a temp dir)")
    args = parser.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    print(f"{'events':>12} {'step':<22} {'seconds':>9} {'events/s':>12} {'peak RSS MB':>12} {'vs scan':>8}")
    for size in sizes:
        workdir = Path(args.workdir or tempfile.mkdtemp(prefix="jm-bench-")) / f"n{size}"
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            parquet_dir, csv_dir, rows = prepare(size, workdir)
            store = workdir / "bench.duckdb"
            results = {kind: run_step(kind, data, store) for kind, data in
                       (("scan", parquet_dir), ("copy", parquet_dir), ("parquet", parquet_dir), ("csv", csv_dir))}
            scan = results["scan"]["seconds"]
            for label, kind in (("duckdb scan", "scan"), ("duckdb copy", "copy"), ("load parquet", "parquet"),
                                ("load csv", "csv")):
                r = results[kind]
                print(f"{rows:>12,} {label:<22} {r['seconds']:>9.2f} {rows / r['seconds']:>12,.0f} "
                      f"{r['peak_rss_mb']:>12,.0f} {r['seconds'] / scan:>7.1f}x")
                if kind in ("parquet", "csv"):
                    for phase, label in PHASES:
                        print(f"{rows:>12,} {label:<22} {r[phase]:>9.2f} {rows / r[phase]:>12,.0f} {'':>12} "
                              f"{r[phase] / scan:>7.1f}x")
            sys.stdout.flush()
        finally:
            if not args.workdir:
                shutil.rmtree(workdir.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
