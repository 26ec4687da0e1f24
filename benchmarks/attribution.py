"""Attribution benchmark: journeymap's models next to channelattribution and
marketing-attribution-models on the same aggregated path data, against the exact solution.

    .venv/bin/python benchmarks/attribution.py                    # 1M and 5M journeys
    .venv/bin/python benchmarks/attribution.py --quick            # 100k journeys, one run per step
    .venv/bin/python benchmarks/attribution.py --sizes 1e6 --no-upgrade --repeat 5

Data (seeded, built once, cached under benchmarks/.cache/, which is gitignored): N customer
journeys (1M and 5M by default) from :func:`journeys`: 12 channels with skewed popularity, a first-order channel-to-channel preference with no
immediate repeats (so path transforms such as collapsing repeats change nothing), path
lengths 1-10 (geometric, mostly short), conversion by a logistic score of the channels touched
(~12% convert) with a lognormal order value in cents, and one channel (``print_qr``) whose
journeys never convert. The journeys are aggregated to one row per distinct path (1M journeys
give about 80k paths, 5M about 267k), in the two aggregated formats the peers read:

* ``attribution-N-seedS-gG.paths.parquet`` - channelattribution's (and journeymap's
  ``attribution_from_paths``): ``path`` (``a > b > c``), ``total_conversions``,
  ``total_conversion_value``, ``total_null``;
* ``attribution-N-seedS-gG.grouped.parquet`` - marketing-attribution-models' ``grouped_journey`` format:
  ``journey``, ``has_conversion``, ``occurrences``, ``revenue`` (a path's converting journeys and
  its non-converting ones are two rows).

Every measured step runs in a fresh subprocess (journeymap in our venv, the peers in their own
venv ``benchmarks/.cache/attribution-venv``, newest versions from PyPI, upgraded on every run
unless ``--no-upgrade``; never copied into our code). A step imports its library, reads its
input file, makes the same calls once on the first 200 rows (a warm-up: first-call costs),
then times only the model calls on all rows:

* channelattribution: ``heuristic_models`` (first, last, linear touch; conversions and value)
  and ``markov_model`` at its default settings (nsim_start=1e5, nfold=10, conv_par=0.05,
  ncore=1, seed=0, max_step from the data) with ``var_value`` and ``var_null``, ``out_more=True``
  to get the removal effects (only adds the transition-matrix output), order 1 and 2; and once
  more at order 1 with nsim_start=1e7, max_step=200, to show where its estimate converges;
* marketing-attribution-models (MAM, the 2.x polars rewrite: ``run_*`` methods, grouped
  journeys as input; the 0.x ``attribution_*`` API is gone): ``MAM(grouped_journey)`` (parses
  the paths, inside the time) then
  ``run_last_click``, ``run_first_click``, ``run_linear``, ``run_position_based``, and
  ``run_markov(transition_to_same_state=False)`` (it has order 1 only). MAM credits one measure
  per instance: the timed instance credits conversions; a second, untimed one with
  ``conversion_value_colname`` gives the value credits that are compared;
* journeymap public API: ``jm.attribution_from_paths(table, ..., model=..., order=...)`` with
  ``.to_pyarrow()``, i.e. parsing and checking the rows, the models and the credit table;
* journeymap core: ``read_paths`` (parsing and checking the rows; its share of the time is
  reported as ``parse``), then ``attribute(pathset, model)`` per model, both timed, without the
  store object (``journeymap.analytics.attribution`` imports neither Ibis nor DuckDB).

Peak RSS is the process's VmHWM over the timed calls (reset with ``/proc/self/clear_refs``
after the load, so it is the models' peak with the imports and the loaded data resident);
``before`` is the RSS just before the timed calls. ``--repeat N`` (default 3) runs each step N
times in fresh processes and keeps the fastest time and the highest peak.

"vs exact" is the largest per-channel relative difference |x - exact| / |exact| (a channel the
exact answer gives 0 is measured against the largest channel's credit instead). The exact
answer is journeymap's core: heuristics are exact by definition; Markov is the absorbing-chain
solution ``(I - Q) x = r`` (sparse LU, no simulation). An independent dense numpy solution
(:func:`dense_markov`, parsing the path text with ``str.split`` and solving every removal with
``np.linalg.solve``) is computed here and shown as its own row, so the "exact" reference is
itself checked.

Conventions (read from the peers' installed source; see also the notes printed with the table):

* Markov states. journeymap, order k: ``(start) -> a -> a>b -> b>c -> ...`` (the last k channels
  up to each touch). channelattribution: ``(start) -> a>b -> b>c -> ...`` (the k-grams of the
  path; a path shorter than k is one state). The states ``a`` of journeymap are only reached
  from ``(start)``, so both chains give the same conversion probabilities and removal effects
  (the dense check solves both state conventions to show it). MAM: order 1 only, same chain.
* Removal effect: all three use 1 - P(conversion without channel c) / P(conversion), removing
  every state containing c (MAM: redirects transitions into c to ``(null)``; channelattribution
  estimates it as the share of simulated converting paths that visited c, which is the same
  quantity). journeymap and channelattribution credit conversions as the removal effect's
  share of their sum times the total conversions; value the same with the value-weighted
  chain (channelattribution simulates a conversion value at each simulated conversion).
* channelattribution's ``markov_model`` is a Monte Carlo estimate: it simulates paths in 10
  folds until their credits differ by less than conv_par=5% (L1, relative to the total) and
  returns one fold (the one nearest the median), i.e. about nsim/10 simulated paths, so its
  differences from the exact solution are sampling error: the notes give a removal effect's
  binomial standard error at that sample size and the largest difference in standard errors.
  Simulated paths longer than the longest observed path count as not converting (the notes
  give the share that ended in time).
* MAM's Markov credits are not the removal-effect shares: MAM splits each converting
  journey's conversion over that journey's channels in proportion to their removal effects
  (and a channel only on non-converting journeys gets no credit). Its removal effects are the
  exact ones (dense inverse); its credits differ by definition.
* Repeats: with ``transition_to_same_state=False`` MAM drops self-transitions, and
  channelattribution skips a state equal to the previous one; journeymap keeps paths as given
  (``transform="unique"``). The generated paths have no immediate repeats, so all agree.
* Heuristics: first/last/linear are the same rule everywhere; position-based (MAM and
  journeymap) 40/20/40 with 50/50 for two touches. Time decay needs touch times, which
  aggregated paths do not have; last non-direct has no peer; they are not measured.

Targets (2-core machine): exact Markov at least 3x faster than channelattribution's
markov_model at its default settings, with less memory; heuristics agreeing with both
libraries to 1e-9 relative.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from benchmark_common import describe_code, peers_python  # noqa: E402
CACHE = HERE / ".cache"
PEERS_VENV = CACHE / "attribution-venv"
# ChannelAttribution builds its C++ core from source (needs g++)
PEERS = ("ChannelAttribution", "marketing-attribution-models")
#: ChannelAttribution imports matplotlib without declaring it; MAM reads with polars.
PEER_EXTRAS = ("pandas", "numpy", "pyarrow", "polars", "matplotlib")
SEED = 11
GENERATOR = 1  # bump when journeys() changes, so cached data is rebuilt

CHANNELS = ("direct", "organic_search", "paid_search", "email", "social", "display", "affiliate", "referral",
            "video", "sms", "push", "print_qr")
NEVER_CONVERTS = "print_qr"
#: Share of first touches (and of the transition preferences) per channel.
POPULARITY = (0.22, 0.18, 0.16, 0.10, 0.09, 0.07, 0.05, 0.04, 0.03, 0.02, 0.02, 0.02)
#: Each touch's contribution to the conversion score.
EFFECT = (0.5, 0.6, 0.9, 0.8, 0.2, 0.1, 0.7, 0.4, 0.15, 0.5, 0.3, 0.0)
MAX_LENGTH = 10

HEURISTICS = ("first_touch", "last_touch", "linear", "position_based")
COLUMNS = dict(path="path", conversions="total_conversions", value="total_conversion_value", nulls="total_null")

# --- the measured steps (each runs in its own process) -----------------------------------------
_STEP = r"""
import contextlib, io, json, os, re, sys, time
tool, what, paths_file, grouped_file = sys.argv[1:5]
HEURISTICS = json.loads(sys.argv[5])
COLUMNS = json.loads(sys.argv[6])
began = time.perf_counter()
result = {"models": {}}

def cpu():
    t = os.times()
    return t.user + t.system

def status():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmHWM", "VmRSS")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out

def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False

def channels(names, values):
    return {str(n): float(v) for n, v in zip(names, values)}

class Timed:
    # the timed region: wall and CPU seconds, the peak RSS over it (VmHWM reset at its start)
    def __enter__(self):
        st = status()
        result["rss_before_kb"], result["process_peak_before_kb"] = st["VmRSS"], st["VmHWM"]
        result["peak_reset"] = reset_peak()
        self.wall, self.cpu = time.perf_counter(), cpu()
        return self
    def __exit__(self, *exc):
        result["seconds"], result["cpu_seconds"] = time.perf_counter() - self.wall, cpu() - self.cpu
        result["peak_rss_kb"] = status()["VmHWM"]

def lap(name, began_at):
    result["models"].setdefault(name, {})["seconds"] = time.perf_counter() - began_at

order = int(what[6]) if what.startswith("markov") else None
WARM_UP = 200  # rows of the untimed first call of every step
if tool == "ca":
    from importlib.metadata import version
    with contextlib.redirect_stdout(io.StringIO()):  # it prints a banner on import
        import ChannelAttribution as ca
    import pandas as pd
    result["version"] = version("ChannelAttribution")
    imported = time.perf_counter()
    df = pd.read_parquet(paths_file)
    result["load_seconds"] = time.perf_counter() - imported
    with contextlib.redirect_stdout(io.StringIO()):  # warm-up (untimed): the first call on a few rows
        ca.heuristic_models(df.head(WARM_UP), COLUMNS["path"], COLUMNS["conversions"], var_value=COLUMNS["value"],
                            sep=">", flg_pro=False)
        ca.markov_model(df.head(WARM_UP), COLUMNS["path"], COLUMNS["conversions"], var_value=COLUMNS["value"],
                        var_null=COLUMNS["nulls"], order=1, sep=">", flg_pro=False, nsim_start=1000)
    if what == "heuristics":
        with Timed():
            h = ca.heuristic_models(df, COLUMNS["path"], COLUMNS["conversions"], var_value=COLUMNS["value"], sep=">",
                                    flg_pro=False)
        names = h["channel_name"]
        for ours, theirs in (("first_touch", "first_touch"), ("last_touch", "last_touch"), ("linear", "linear_touch")):
            result["models"][ours] = {"conversions": channels(names, h[f"{theirs}_conversions"]),
                                      "value": channels(names, h[f"{theirs}_value"])}
    else:
        printed = io.StringIO()
        # the defaults, or (markovNx) enough simulations, and steps, to show where it converges
        settings = dict(nsim_start=1e7, max_step=200) if what.endswith("x") else {}
        with Timed(), contextlib.redirect_stdout(printed):  # default verbose=True: it reports convergence
            r = ca.markov_model(df, COLUMNS["path"], COLUMNS["conversions"], var_value=COLUMNS["value"],
                                var_null=COLUMNS["nulls"], order=order, sep=">", out_more=True, flg_pro=False,
                                **settings)
        res, effects = r["result"], r["removal_effects"]
        result["models"]["markov"] = {
            "conversions": channels(res["channel_name"], res["total_conversions"]),
            "value": channels(res["channel_name"], res["total_conversion_value"]),
            "removal_effect": channels(effects["channel_name"], effects["removal_effects_conversion"]),
            "value_removal_effect": channels(effects["channel_name"], effects["removal_effects_conversion_value"])}
        log = printed.getvalue()
        sims = re.findall(r"Number of simulations: (\d+)", log)
        ended = re.findall(r"\(([0-9]+)\) is reached: ([0-9.]+)%", log)
        result["simulation"] = {"simulations": [int(s) for s in sims],
                                "max_steps": int(ended[-1][0]) if ended else None,
                                "ended_in_time_percent": float(ended[-1][1]) if ended else None}
elif tool == "mam":
    from importlib.metadata import version
    import polars as pl
    from mam import MAM
    result["version"] = version("marketing-attribution-models")
    imported = time.perf_counter()
    grouped = pl.read_parquet(grouped_file)
    result["load_seconds"] = time.perf_counter() - imported
    spec = dict(format_type="grouped_journey", channels_colname="journey", journey_with_conv_colname="has_conversion",
                occurrences_colname="occurrences", path_separator=" > ")
    runs = {"last_touch": "run_last_click", "first_touch": "run_first_click", "linear": "run_linear",
            "position_based": "run_position_based"} if what == "heuristics" else {"markov": "run_markov"}
    kwargs = {"markov": {"transition_to_same_state": False}}
    out = {}
    warm = MAM(grouped.head(WARM_UP), **spec)  # warm-up (untimed): the first call on a few rows
    for name, method in runs.items():
        getattr(warm, method)(**kwargs.get(name, {}))
    with Timed():
        t = time.perf_counter()
        mam = MAM(grouped, **spec)
        result["parse_seconds"] = time.perf_counter() - t
        for name, method in runs.items():
            t = time.perf_counter()
            out[name] = getattr(mam, method)(**kwargs.get(name, {}))
            lap(name, t)
    # untimed: the value credits (MAM credits one measure per instance)
    valued = MAM(grouped, conversion_value_colname="revenue", **spec)
    for name, method in runs.items():
        conv = out[name].to_polars()
        value = getattr(valued, method)(**kwargs.get(name, {})).to_polars()
        entry = result["models"][name]
        entry["conversions"] = channels(conv["channels"].cast(pl.Utf8), conv["attribution"])
        entry["value"] = channels(value["channels"].cast(pl.Utf8), value["attribution"])
        if name == "markov":
            effect = out[name].metadata["removal_effect"]
            entry["removal_effect"] = channels(effect.index, effect["removal_effect"])
elif tool in ("api", "core"):
    import pyarrow.parquet as pq
    import journeymap
    from journeymap.analytics.attribution import attribute
    from journeymap.analytics.attribution.aggregated import read_paths
    result["version"] = getattr(journeymap, "__version__", "")
    imported = time.perf_counter()
    table = pq.read_table(paths_file)
    result["load_seconds"] = time.perf_counter() - imported
    models = list(HEURISTICS) if what == "heuristics" else ["markov"]
    if tool == "api":
        jm = journeymap.open(":memory:")
        if not hasattr(jm, "attribution_from_paths"):
            result["missing"] = ["attribution_from_paths"]
        else:
            def call(rows):
                return jm.attribution_from_paths(rows, path=COLUMNS["path"], conversions=COLUMNS["conversions"],
                                                 value=COLUMNS["value"], nulls=COLUMNS["nulls"], sep=">",
                                                 model=models, order=order or 1, transform="unique"
                                                 ).to_pyarrow().to_pylist()
            call(table.slice(0, WARM_UP))  # warm-up (untimed): the first call on a few rows
            with Timed():
                rows = call(table)
            for row in rows:
                entry = result["models"].setdefault(row["model"], {"conversions": {}, "value": {}})
                entry["conversions"][row["channel"]] = row["conversions"]
                entry["value"][row["channel"]] = row["value"]
                if row.get("removal_effect") is not None:
                    entry.setdefault("removal_effect", {})[row["channel"]] = row["removal_effect"]
        jm.close()
    else:
        warm, _ = read_paths(table.slice(0, WARM_UP), path=COLUMNS["path"], conversions=COLUMNS["conversions"],
                             value=COLUMNS["value"], nulls=COLUMNS["nulls"], sep=">")
        for name in models:  # warm-up (untimed): the first call on a few rows
            attribute(warm, name, order=order or 1)
        with Timed():  # parsing the path text is in the timed region, as it is for the peers
            t = time.perf_counter()
            pathset, rejects = read_paths(table, path=COLUMNS["path"], conversions=COLUMNS["conversions"],
                                          value=COLUMNS["value"], nulls=COLUMNS["nulls"], sep=">")
            result["parse_seconds"] = time.perf_counter() - t
            credits = {}
            for name in models:
                t = time.perf_counter()
                credits[name] = attribute(pathset, name, order=order or 1)
                lap(name, t)
        for name, c in credits.items():
            entry = result["models"][name]
            entry["conversions"] = channels(c.channels, c.conversions)
            entry["value"] = channels(c.channels, c.value)
            if c.removal_effect is not None:
                entry["removal_effect"] = channels(c.channels, c.removal_effect)
                entry["details"] = {k: float(v) for k, v in c.details.items()}
else:
    raise SystemExit(f"unknown step {tool}:{what}")
result["import_seconds"] = imported - began
print(json.dumps(result))
"""


def run_step(kind: str, data: dict, *, python: str | None, repeat: int, timeout: float) -> dict:
    """Run one step in child processes (``repeat`` times: the fastest run, the highest peak)."""
    tool, what = kind.split(":")
    best: dict | None = None
    for _ in range(repeat):
        args = [python or sys.executable, "-c", _STEP, tool, what, str(data["paths_file"]), str(data["grouped_file"]),
                json.dumps(HEURISTICS), json.dumps(COLUMNS)]
        try:
            proc = subprocess.run(args, capture_output=True, text=True, cwd=str(CACHE), timeout=timeout)
        except subprocess.TimeoutExpired:
            print(f"  {kind:<22} skipped: more than {timeout:.0f} s", file=sys.stderr)
            return {"failed": f"skipped: > {timeout / 60:.0f} min"}
        if proc.returncode != 0:
            print(f"step {kind} failed:\n{proc.stderr[-4000:]}", file=sys.stderr)
            return {"failed": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
        result = json.loads(next(line for line in reversed(proc.stdout.splitlines()) if line.startswith("{")))
        if "missing" in result:
            return result
        result["peak_rss_mb"] = result["peak_rss_kb"] / 1024
        result["rss_before_mb"] = result["rss_before_kb"] / 1024
        if best is None or result["seconds"] < best["seconds"]:
            peak = max(result["peak_rss_mb"], best["peak_rss_mb"]) if best else result["peak_rss_mb"]
            best = dict(result, peak_rss_mb=peak)
        else:
            best["peak_rss_mb"] = max(best["peak_rss_mb"], result["peak_rss_mb"])
    assert best is not None
    print(f"  {kind:<22} {best['seconds']:8.3f} s {best['cpu_seconds']:8.3f} cpu s {best['peak_rss_mb']:8,.0f} MB "
          f"(before {best['rss_before_mb']:,.0f} MB; load {os.getloadavg()[0]:.1f})", file=sys.stderr)
    return best


# --- data ----------------------------------------------------------------------------------------
def journeys(n: int, seed: int = SEED):
    """``n`` seeded journeys: (codes into CHANNELS, offsets, converted, value) as numpy arrays.

    A journey's first channel follows POPULARITY, each next one a fixed random preference
    (popularity x gamma affinity) that never picks the same channel again; lengths 1-10 with
    P(L) ~ 0.62^(L-1); P(convert) = logistic(-3.2 + 0.9 * sum of EFFECT over the touches),
    never when the journey touched NEVER_CONVERTS; value lognormal(3.8, 0.7) in cents."""
    import numpy as np

    rng = np.random.default_rng(seed)
    k = len(CHANNELS)
    popularity = np.array(POPULARITY) / sum(POPULARITY)
    affinity = rng.gamma(0.7, 1.0, size=(k, k)) * popularity[None, :]
    np.fill_diagonal(affinity, 0.0)  # no immediate repeats
    cumulative = np.cumsum(affinity / affinity.sum(axis=1, keepdims=True), axis=1)
    cumulative[:, -1] = 1.0
    choices = np.arange(1, MAX_LENGTH + 1)
    weights = 0.62 ** (choices - 1)
    lengths = rng.choice(choices, size=n, p=weights / weights.sum())
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    codes = np.empty(int(offsets[-1]), dtype=np.int64)
    codes[offsets[:-1]] = rng.choice(k, size=n, p=popularity)
    position = np.arange(len(codes)) - np.repeat(offsets[:-1], lengths)
    for step in range(1, MAX_LENGTH):
        at = np.flatnonzero(position == step)
        u = rng.random(len(at))
        codes[at] = (u[:, None] > cumulative[codes[at - 1]]).sum(axis=1)
    owner = np.repeat(np.arange(n), lengths)
    score = np.bincount(owner, weights=np.array(EFFECT)[codes], minlength=n)
    converted = rng.random(n) < 1.0 / (1.0 + np.exp(-(-3.2 + 0.9 * score)))
    never = CHANNELS.index(NEVER_CONVERTS)
    converted &= np.bincount(owner, weights=(codes == never).astype(float), minlength=n) == 0
    value = np.where(converted, np.round(rng.lognormal(3.8, 0.7, n), 2), 0.0)
    return codes, offsets, converted, value


def build_data(n: int) -> dict:
    """The two aggregated files of ``n`` journeys (cached) and their sizes."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    CACHE.mkdir(exist_ok=True)
    stem = CACHE / f"attribution-{n}-seed{SEED}-g{GENERATOR}"
    paths_file, grouped_file, meta_file = (Path(f"{stem}.{s}") for s in ("paths.parquet", "grouped.parquet", "json"))
    if not (paths_file.exists() and grouped_file.exists() and meta_file.exists()):
        began = time.perf_counter()
        codes, offsets, converted, value = journeys(n)
        lengths = np.diff(offsets)
        # one int64 key per path (base len(CHANNELS) + 1 digits, first touch lowest), then aggregate
        base = len(CHANNELS) + 1
        position = np.arange(len(codes)) - np.repeat(offsets[:-1], lengths)
        # (exact in float64: keys stay below base ** MAX_LENGTH < 2 ** 53)
        key = np.bincount(np.repeat(np.arange(n), lengths), weights=(codes + 1) * base ** position,
                          minlength=n).round().astype(np.int64)
        keys, path_of = np.unique(key, return_inverse=True)
        conversions = np.bincount(path_of, weights=converted, minlength=len(keys)).round().astype(np.int64)
        journeys_per_path = np.bincount(path_of, minlength=len(keys)).astype(np.int64)
        total_value = np.bincount(path_of, weights=value, minlength=len(keys))
        names = np.array(CHANNELS, dtype=object)
        texts, rest = [], keys.copy()
        while (rest > 0).any():
            digit = rest % base
            texts.append(np.where(digit > 0, names[np.maximum(digit - 1, 0)], None))
            rest //= base
        paths = [" > ".join(t for t in touches if t is not None) for touches in zip(*texts)]
        table = pa.table({"path": paths, "total_conversions": conversions, "total_conversion_value": total_value,
                          "total_null": journeys_per_path - conversions}).sort_by("path")
        pq.write_table(table, paths_file)
        converting = pa.table({"journey": table["path"], "has_conversion": pa.repeat(True, table.num_rows),
                               "occurrences": table["total_conversions"], "revenue": table["total_conversion_value"]})
        null = pa.table({"journey": table["path"], "has_conversion": pa.repeat(False, table.num_rows),
                         "occurrences": table["total_null"], "revenue": pa.repeat(0.0, table.num_rows)})
        grouped = pa.concat_tables([converting, null])
        grouped = grouped.filter(np.asarray(grouped["occurrences"]) > 0)
        pq.write_table(grouped, grouped_file)
        meta = {"journeys": n, "touches": int(len(codes)), "paths": table.num_rows, "grouped_rows": grouped.num_rows,
                "conversions": int(conversions.sum()), "value": float(total_value.sum())}
        meta_file.write_text(json.dumps(meta))
        print(f"built {paths_file.name}: {n:,} journeys -> {table.num_rows:,} paths in "
              f"{time.perf_counter() - began:.1f} s", file=sys.stderr)
    return dict(json.loads(meta_file.read_text()), paths_file=paths_file, grouped_file=grouped_file)


# --- the exact solution, independently ----------------------------------------------------------
def dense_markov(paths_file: Path, order: int, states: str = "history") -> dict:
    """Markov removal effects and credits from the aggregated file with plain Python and dense
    numpy, independent of journeymap's code: the path text split with ``str.split``, the
    transition counts in a dict, ``np.linalg.solve`` for the absorption probability and expected
    value of ``(start)`` with and without each channel's states.

    ``states="history"``: journeymap's order-k states (the last k channels up to each touch:
    a, a>b, b>c); ``"kgram"``: channelattribution's (the path's k-grams: a>b, b>c)."""
    import numpy as np
    import pyarrow.parquet as pq

    table = pq.read_table(paths_file).to_pydict()
    index: dict[tuple, int] = {(): 0}
    moves: dict[tuple[int, int], float] = {}
    ends: dict[int, list[float]] = {}  # state -> [conversions, nulls, value]
    for text, conv, value, nulls in zip(table[COLUMNS["path"]], table[COLUMNS["conversions"]],
                                        table[COLUMNS["value"]], table[COLUMNS["nulls"]]):
        touches = [t.strip() for t in text.split(">")]
        if states == "history":
            sequence = [tuple(touches[max(0, i - order + 1):i + 1]) for i in range(len(touches))]
        else:
            sequence = [tuple(touches[i:i + order]) for i in range(max(1, len(touches) - order + 1))]
        weight, previous = conv + nulls, 0
        for state in sequence:
            current = index.setdefault(state, len(index))
            moves[previous, current] = moves.get((previous, current), 0.0) + weight
            previous = current
        end = ends.setdefault(previous, [0.0, 0.0, 0.0])
        end[0] += conv
        end[1] += nulls
        end[2] += value
    n = len(index)
    counts = np.zeros((n, n))
    for (i, j), w in moves.items():
        counts[i, j] += w
    to_conversion, to_null, to_value = (np.zeros(n) for _ in range(3))
    for i, (c, u, v) in ends.items():
        to_conversion[i], to_null[i], to_value[i] = c, u, v
    totals = counts.sum(axis=1) + to_conversion + to_null
    q = counts / totals[:, None]
    rhs = np.column_stack([to_conversion / totals, to_value / totals])

    def solve(keep: np.ndarray) -> np.ndarray:
        k = np.flatnonzero(keep)
        return np.linalg.solve(np.eye(len(k)) - q[np.ix_(k, k)], rhs[k])[0]  # from (start), state 0

    everything = solve(np.ones(n, dtype=bool))
    names = sorted({c for state in index for c in state})
    effect, value_effect = {}, {}
    for name in names:
        keep = np.array([name not in state for state in index])
        without = solve(keep)
        effect[name] = 1.0 - without[0] / everything[0]
        value_effect[name] = 1.0 - without[1] / everything[1]
    total_conv, total_value = float(sum(table[COLUMNS["conversions"]])), float(sum(table[COLUMNS["value"]]))
    return {"removal_effect": effect,
            "conversions": {c: e / sum(effect.values()) * total_conv for c, e in effect.items()},
            "value": {c: e / sum(value_effect.values()) * total_value for c, e in value_effect.items()},
            "conversion_probability": float(everything[0]), "states": n}


# --- comparisons -----------------------------------------------------------------------------------
def rel_diff(x: dict | None, exact: dict | None) -> float | None:
    """Largest per-channel |x - exact| / |exact| (a channel exact gives 0: against the largest
    |exact| instead); a channel missing on one side counts as 0 there."""
    if not x or not exact:
        return None
    scale = max(abs(v) for v in exact.values()) or 1.0
    worst = 0.0
    for channel in set(x) | set(exact):
        a, b = x.get(channel, 0.0), exact.get(channel, 0.0)
        if a != b:
            worst = max(worst, abs(a - b) / (abs(b) if b != 0 else scale))
    return worst


def fmt_diff(d: float | None) -> str:
    if d is None:
        return ""
    if d == 0:
        return "0"
    return f"{d:.1e}" if d < 0.01 else f"{d:.1%}"


#: (key, label, steps per tool)
GROUPS = (
    ("heuristics", "heuristics", {"api": "api:heuristics", "core": "core:heuristics", "ca": "ca:heuristics",
                                  "mam": "mam:heuristics"}),
    ("markov1", "Markov order 1", {"api": "api:markov1", "core": "core:markov1", "ca": "ca:markov1",
                                   "mam": "mam:markov1", "ca_x": "ca:markov1x"}),
    ("markov2", "Markov order 2", {"api": "api:markov2", "core": "core:markov2", "ca": "ca:markov2"}),
)
TOOLS = ("api", "core", "ca", "mam", "ca_x")


def measure(size: int, args, python: str | None) -> dict:
    data = build_data(size)
    print(f"{size:,} journeys, {data['paths']:,} paths ({data['paths_file'].name}):", file=sys.stderr)
    results: dict = {"data": data, "steps": {}}
    for _, _, steps in GROUPS:
        for tool, kind in steps.items():
            peer = tool.startswith(("ca", "mam"))
            if peer and not python:
                continue
            results["steps"][kind] = run_step(kind, data, python=python if peer else None,
                                              repeat=args.repeat, timeout=args.timeout)
    checks = {}
    for order, states in ((1, "history"), (2, "history"), (2, "kgram")):
        began = time.perf_counter()
        checks[order, states] = dict(dense_markov(data["paths_file"], order, states),
                                     seconds=time.perf_counter() - began)
    results["dense"] = checks
    return results


def exact_of(res: dict, group: str) -> dict:
    """journeymap core's results of a group: model -> credits (the exact reference)."""
    return res["steps"].get(dict((g, s) for g, _, s in GROUPS)[group]["core"], {}).get("models", {})


def diffs(models: dict, exact: dict, names) -> dict:
    """Largest difference per measure over ``names`` (models present on both sides)."""
    out: dict[str, float | None] = {}
    for measure in ("conversions", "value", "removal_effect"):
        values = [rel_diff(models[m].get(measure), exact[m].get(measure)) for m in names if m in models and m in exact]
        values = [v for v in values if v is not None]
        out[measure] = max(values) if values else None
    return out


def print_table(runs: dict, load_before: float, repeat: int) -> None:
    versions = {}
    for res in runs.values():
        for kind, r in res["steps"].items():
            if r.get("version"):
                versions[kind.split(":")[0]] = r["version"]
    label = {"api": "journeymap attribution_from_paths", "core": "journeymap read_paths + attribute",
             "ca": f"channelattribution {versions.get('ca', '')}".strip(),
             "mam": f"marketing-attribution-models {versions.get('mam', '')}".strip()}
    label["ca_x"] = label["ca"] + " with nsim_start=1e7, max_step=200 (convergence check)"
    runs_per_step = "one fresh process per step" if repeat == 1 else f"each step the fastest of {repeat} fresh processes"
    print(f"\nAttribution benchmark ({describe_code()}), {os.cpu_count()}-core machine, all rows from one run, "
          f"{runs_per_step}; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after\n")
    print("| journeys | paths | tool | models | s | CPU s | peak RSS | RSS before | conversions vs exact | "
          "value vs exact | removal effects vs exact | channelattribution s / this |")
    print("|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, res in runs.items():
        data = res["data"]
        head = f"| {size / 1e6:g}M | {data['paths']:,} "
        for group, title, steps in GROUPS:
            exact = exact_of(res, group)
            ca = res["steps"].get(steps["ca"], {})
            for tool in TOOLS:
                kind = steps.get(tool)
                r = res["steps"].get(kind) if kind else None
                if r is None:
                    continue
                names = [m for m in (HEURISTICS if group == "heuristics" else ("markov",)) if m in r.get("models", {})]
                what = title + (": " + ", ".join(n.replace("_touch", "").replace("_based", "") for n in names)
                                if group == "heuristics" else "")
                if "missing" in r or "failed" in r:
                    print(f"{head}| {label[tool]} | {title} | {r.get('failed', 'n/a (not in the API yet)')} "
                          f"| | | | | | | |")
                    continue
                if tool == "core":  # the reference
                    cells = ["= (exact)", "=", "" if group == "heuristics" else "="]
                else:
                    d = diffs(r["models"], exact, names)
                    cells = [fmt_diff(d["conversions"]), fmt_diff(d["value"]), fmt_diff(d["removal_effect"])]
                ratio = ""
                if tool in ("api", "core") and group != "heuristics" and "seconds" in ca:
                    ratio = f"{ca['seconds'] / r['seconds']:.1f}x"
                print(f"{head}| {label[tool]} | {what} | {r['seconds']:.3f} | {r['cpu_seconds']:.3f} | "
                      f"{r['peak_rss_mb']:,.0f} MB | {r['rss_before_mb']:,.0f} MB | {' | '.join(cells)} | {ratio} |")
            if group != "heuristics":
                order = int(group[-1])
                check = res["dense"].get((order, "history"))
                core = exact.get("markov", {})
                if check and core:
                    print(f"{head}| dense numpy check (independent; journeymap vs it) | {title} | | | | | "
                          f"{fmt_diff(rel_diff(core.get('conversions'), check['conversions']))} | "
                          f"{fmt_diff(rel_diff(core.get('value'), check['value']))} | "
                          f"{fmt_diff(rel_diff(core.get('removal_effect'), check['removal_effect']))} | |")
    print_notes(runs, label)
    print_targets(runs)


def print_notes(runs: dict, label: dict) -> None:
    print()
    imports = {}
    for res in runs.values():
        for kind, r in res["steps"].items():
            if "import_seconds" in r:
                imports.setdefault(kind.split(":")[0], []).append(r["import_seconds"])
    if imports:
        print("Seconds exclude importing the library and reading the input file ("
              + ", ".join(f"{label[t]} import {min(v):.1f}-{max(v):.1f} s" for t, v in imports.items())
              + "); of journeymap core's time, `read_paths` (parse and check the rows) takes "
              + ", ".join(f"{size / 1e6:g}M {res['steps'].get('core:heuristics', {}).get('parse_seconds', float('nan')):.3f} s"
                          for size, res in runs.items()) + ". Peak RSS is over the timed calls, with the imports and "
              "the data resident; RSS before is just before them. 'vs exact': the largest per-channel relative "
              "difference from journeymap core (heuristics: exact by definition; Markov: the absorbing-chain "
              "solution), '=' where it is the reference.")
    for size, res in runs.items():
        tag = f"* {size / 1e6:g}M:"
        data = res["data"]
        print(f"{tag} {data['journeys']:,} journeys, {data['touches']:,} touches, {data['paths']:,} distinct paths "
              f"(MAM grouped rows {data['grouped_rows']:,}), {data['conversions']:,} conversions, value "
              f"{data['value']:,.2f}.")
        for group, title, steps in GROUPS:
            exact = exact_of(res, group)
            if group == "heuristics":
                for tool in ("api", "ca", "mam"):
                    r = res["steps"].get(steps[tool], {})
                    if r.get("models"):
                        per = ", ".join(f"{m} {fmt_diff(rel_diff(v.get('conversions'), exact.get(m, {}).get('conversions')))}"
                                        f"/{fmt_diff(rel_diff(v.get('value'), exact.get(m, {}).get('value')))}"
                                        for m, v in r["models"].items())
                        print(f"{tag} {label[tool]} heuristics vs exact (conversions/value): {per}")
                mam = res["steps"].get(steps["mam"], {})
                if mam.get("parse_seconds") is not None:
                    print(f"{tag} MAM's time includes building MAM(grouped_journey) (parsing the paths): "
                          f"{mam['parse_seconds']:.3f} s; per model: "
                          + ", ".join(f"{m} {v['seconds']:.3f} s" for m, v in mam["models"].items()))
                continue
            order = int(group[-1])
            for which in ("ca", "ca_x"):
                ca = res["steps"].get(steps.get(which, ""), {})
                if not ca.get("simulation"):
                    continue
                sim = ca["simulation"]
                error = sampling_error(ca["models"]["markov"], exact.get("markov", {}), sim)
                print(f"{tag} {label[which]} {title}: simulated paths per round {sim['simulations']} (in 10 folds); "
                      f"{sim['ended_in_time_percent']}% of them ended before its maximum of {sim['max_steps']} steps "
                      f"(the rest count as not converting)" + (
                          f"; its result is one fold, about {error['paths']:,.0f} simulated paths with "
                          f"{error['conversions']:,.0f} conversions, so a removal effect's binomial standard error is "
                          f"{error['low']:.1%}-{error['high']:.1%} of it here; the largest difference from the exact "
                          f"removal effect is {error['z']:.1f} standard errors" if error else "") + ".")
            hist, kgram = res["dense"].get((order, "history")), res["dense"].get((order, "kgram"))
            if hist:
                print(f"{tag} dense numpy check {title}: {hist['states']} states, {hist['seconds']:.2f} s with reading "
                      f"and splitting the path text in Python (not a measured tool).")
            if order == 2 and hist and kgram:
                print(f"{tag} dense check, order 2: channelattribution's k-gram states ({kgram['states']} states) vs "
                      f"journeymap's history states ({hist['states']}): removal effects differ by at most "
                      f"{fmt_diff(rel_diff(kgram['removal_effect'], hist['removal_effect']))}, conversion probability "
                      f"{kgram['conversion_probability']:.12f} vs {hist['conversion_probability']:.12f}.")
            mam = res["steps"].get(steps.get("mam", ""), {})
            if mam.get("models", {}).get("markov") and exact.get("markov"):
                m, e = mam["models"]["markov"], exact["markov"]
                print(f"{tag} MAM Markov: removal effects vs exact {fmt_diff(rel_diff(m.get('removal_effect'), e.get('removal_effect')))}; "
                      f"its credits split each converting journey over its own channels by removal effect, not the "
                      f"removal-effect share of all conversions, hence {fmt_diff(rel_diff(m.get('conversions'), e.get('conversions')))} "
                      f"(without {NEVER_CONVERTS}: {fmt_diff(rel_diff(_without(m.get('conversions')), _without(e.get('conversions'))))}) "
                      f"({NEVER_CONVERTS}: {m['conversions'].get(NEVER_CONVERTS, 0.0):,.1f} vs "
                      f"{e['conversions'].get(NEVER_CONVERTS, 0.0):,.1f}).")


def _without(credits: dict | None, channel: str = NEVER_CONVERTS) -> dict | None:
    return {k: v for k, v in credits.items() if k != channel} if credits else None


def sampling_error(model: dict, exact: dict, sim: dict) -> dict | None:
    """channelattribution returns one of its 10 folds (the one nearest the median); a fold of the
    last round holds about nsim/10 simulated paths (rounds re-simulate the same seeded paths and
    add them up). With P(conversion) of the exact chain, the binomial standard error of a removal
    effect p (a share of the converting simulated paths) is sqrt(p (1 - p) / conversions)."""
    effects, probability = exact.get("removal_effect"), exact.get("details", {}).get("conversion_probability")
    if not effects or not probability or not sim.get("simulations") or not model.get("removal_effect"):
        return None
    paths = sim["simulations"][-1] / 10
    conversions = paths * probability
    relative, z = [], []
    for channel, p in effects.items():
        if 0 < p < 1:
            se = math.sqrt(p * (1 - p) / conversions)
            relative.append(se / p)
            z.append(abs(model["removal_effect"].get(channel, 0.0) - p) / se)
    if not z:
        return None
    return {"paths": paths, "conversions": conversions, "low": min(relative), "high": max(relative), "z": max(z)}


def print_targets(runs: dict) -> None:
    lines = []
    for size, res in runs.items():
        tag = f"{size / 1e6:g}M journeys"
        steps = res["steps"]
        for order in (1, 2):
            ours, ca = steps.get(f"api:markov{order}", {}), steps.get(f"ca:markov{order}", {})
            core = steps.get(f"core:markov{order}", {})
            if "seconds" in ours and "seconds" in ca:
                ratio = ca["seconds"] / ours["seconds"]
                lines.append(f"{tag}, Markov order {order}: exact (attribution_from_paths) {ratio:.1f}x faster than "
                             f"channelattribution markov_model ({ours['seconds']:.3f} s vs {ca['seconds']:.3f} s; "
                             f"read_paths + attribute {ca['seconds'] / core['seconds']:.1f}x; CPU seconds "
                             f"{ca['cpu_seconds'] / ours['cpu_seconds']:.1f}x): " + ("met" if ratio >= 3 else "NOT met"))
                for label, mine in (("read_paths + attribute", core), ("attribution_from_paths", ours)):
                    if "peak_rss_mb" not in mine:
                        continue
                    lines.append(f"{tag}, Markov order {order}: peak RSS of journeymap {label} "
                                 f"{mine['peak_rss_mb']:,.0f} MB vs channelattribution {ca['peak_rss_mb']:,.0f} MB "
                                 f"(above the RSS before the call: {mine['peak_rss_mb'] - mine['rss_before_mb']:,.0f} MB "
                                 f"vs {ca['peak_rss_mb'] - ca['rss_before_mb']:,.0f} MB): "
                                 + ("met" if mine["peak_rss_mb"] < ca["peak_rss_mb"] else "NOT met"))
        exact = exact_of(res, "heuristics")
        for tool, name in (("ca", "channelattribution"), ("mam", "marketing-attribution-models")):
            r = steps.get(f"{tool}:heuristics", {})
            if r.get("models"):
                names = [m for m in HEURISTICS if m in r["models"]]
                d = diffs(r["models"], exact, names)
                worst = max(v for k, v in d.items() if v is not None and k != "removal_effect")
                lines.append(f"{tag}: heuristics ({', '.join(names)}; conversions and value) agree with {name} to "
                             f"{fmt_diff(worst)} relative: " + ("met" if worst <= 1e-9 else "NOT met"))
    if lines:
        print("\nTargets (2-core machine):\n")
        for line in lines:
            print(f"* {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e6,5e6", help="comma-separated journey counts (default 1e6,5e6)")
    parser.add_argument("--quick", action="store_true", help="100k journeys, one run per step (a fast check)")
    parser.add_argument("--no-peers", action="store_true", help="journeymap only")
    parser.add_argument("--no-upgrade", action="store_true",
                        help="use the peers venv as it is (no pip install -U)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per step; the fastest is kept (default 3)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before a step is skipped (default 1800)")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.repeat = "1e5", 1
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    load_before = os.getloadavg()[0]
    for size in sizes:
        build_data(size)
    python = None if args.no_peers else peers_python(PEERS_VENV, [*PEERS, *PEER_EXTRAS], upgrade=not args.no_upgrade)
    began = time.perf_counter()
    runs = {size: measure(size, args, python) for size in sizes}
    print_table(runs, load_before, args.repeat)
    print(f"\n(measured in {time.perf_counter() - began:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        main()
