"""Collector benchmark: ``journeymap serve`` under load over loopback, and a kill -9 run.

    .venv/bin/python benchmarks/collector.py                 # 10 s windows + 2 kill -9 runs (~1 min)
    .venv/bin/python benchmarks/collector.py --quick         # 3 s windows, 1 kill run (~30 s)
    .venv/bin/python benchmarks/collector.py --seconds 30 --connections 128 --kill-runs 5

What runs. Every scenario starts a real server, ``python -m journeymap.cli --db STORE serve
--host 127.0.0.1 --port 0 --flush-interval 5s`` (uvicorn, uvloop, httptools; one process),
on a fresh store in a fresh temp folder with a write key from ``journeymap keys create
--write``, waits for its ``listening on`` line and for ``GET /health``, then drives it from
this process with an asyncio load generator (uvloop): ``--connections`` (default 64)
keep-alive HTTP/1.1 connections, each a closed loop (send one request, read the whole
response, send the next; no pipelining), HTTP Basic auth ``KEY:``. Bodies are
pre-encoded templates in which only the messageId counter is substituted (one ``bytes.join``
per request), so the generator spends its CPU on sockets, not JSON; every messageId is
unique. The generator is a ``asyncio.Protocol`` with a hand-written response parser (status
line, ``content-length``), not an HTTP library, because the 2-core machine shares its CPU
between generator and server.

* ``track``: single-event ``POST /v1/track`` (a ~330-byte track call with properties and a
  page context).
* ``batch``: ``POST /v1/batch`` of ``--batch-size`` (100) such track calls (~36 kB).

Each runs ``--warmup`` s (2) unmeasured, then a ``--seconds`` (10) window: requests/s and
events/s are the 200 responses completed in the window / its length; latency (p50, p99,
max) is send-to-last-byte of the requests that *started* in the window; non-200 answers
are counted by status (503/429 are load shedding; a shed request is retried by the same
connection after 50 ms, not counted as done) and ``conn`` counts broken connections. The
server keeps flushing into the store every 5 s during the window, as in production.
Server RSS: VmHWM (the peak since start) and VmRSS at the end of the window, from
``/proc/PID/status``. After the window the server gets SIGTERM (final flush) and the store
is opened read-only: ``stored`` must equal the acknowledged events (warm-up included).

kill -9 run (``--kill-runs``, default 2): a server with ``--flush-interval 1s`` (so kills
land in flushes too) gets a mixed load (half the connections ``/v1/track``, half
``/v1/batch`` of 20, plus 5% of requests resending earlier messageIds, as client retries
do); at a random moment 1-10 s after its first 200 it gets SIGKILL (under load the first flush
takes a few seconds, so the kill lands before it, in a flush, or after one). Every messageId whose
request got a 200 is recorded. Then a server is started again on the same store and spool
(recovering the spool), gets SIGTERM (final flush) and the store is opened read-only:
``lost`` = acknowledged messageIds missing from ``events.event_id``, ``duplicates`` =
event_ids stored more than once. Both must be 0.

Targets (2-core machine): batch >= 50,000 events/s; single track >= 5,000 requests/s with
p99 <= 50 ms; zero acknowledged events lost (and none stored twice). Results go to stdout as
Markdown tables; progress to stderr. ``--profile`` samples the server with py-spy (if it is
installed in this venv) during each window and prints the top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from benchmark_common import describe_code  # noqa: E402

CLI = [sys.executable, "-m", "journeymap.cli"]
TARGET_BATCH_EVENTS = 50_000
TARGET_TRACK_RPS = 5_000
TARGET_TRACK_P99_MS = 50.0
SHED_BACKOFF = 0.05
LISTENING = re.compile(r"listening on http://([^\s:]+|\[[^\]]+\]):(\d+)")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the server under test ----------------------------------------------------------------------
class Server:
    """One ``journeymap serve`` subprocess on ``store`` (port 0: the port is read from its stderr)."""

    def __init__(self, store: Path, *, flush_interval: str = "5s", ready_timeout: float = 60.0) -> None:
        self.store = store
        self.proc = subprocess.Popen([*CLI, "--db", str(store), "serve", "--host", "127.0.0.1", "--port", "0",
                                      "--flush-interval", flush_interval],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     cwd=store.parent)
        self.pid = self.proc.pid
        self.stderr_lines: list[str] = []
        self.port: int | None = None
        found = threading.Event()

        def pump() -> None:
            for raw in self.proc.stderr:
                line = raw.decode("utf-8", "replace")
                self.stderr_lines.append(line)
                match = LISTENING.search(line)
                if match and self.port is None:
                    self.port = int(match.group(2))
                    found.set()
            found.set()

        self._reader = threading.Thread(target=pump, daemon=True)
        self._reader.start()
        if not found.wait(ready_timeout) or self.port is None:
            self.kill()
            raise RuntimeError(f"the server did not start:\n{self.stderr_text()}")
        # the line is printed when the socket is bound; uvicorn listens a moment later
        deadline = time.monotonic() + ready_timeout
        while not _health_ok(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"the server does not answer /health:\n{self.stderr_text()}")
            time.sleep(0.05)

    def stderr_text(self) -> str:
        return "".join(self.stderr_lines)[-4000:]

    @property
    def worker_pid(self) -> int | None:
        """The flush worker's pid (a child process that loads the spool into the store)."""
        return (_health(self.port).get("flusher") or {}).get("worker_pid")

    def memory_kb(self, pid: int | None = None) -> dict[str, int]:
        out = {}
        try:
            with open(f"/proc/{pid or self.pid}/status") as handle:
                for line in handle:
                    if line.startswith(("VmHWM", "VmRSS")):
                        out[line.split(":")[0]] = int(line.split()[1])
        except OSError:
            pass
        return out

    def cpu_seconds(self, pid: int | None = None) -> float:
        """User + system CPU seconds of the server process (all its threads) so far."""
        try:
            with open(f"/proc/{pid or self.pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            return float("nan")

    def terminate(self, timeout: float = 300.0) -> float:
        """SIGTERM (the server flushes everything spooled, then exits); seconds it took."""
        began = time.perf_counter()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise RuntimeError(f"the server did not stop within {timeout} s of SIGTERM:\n{self.stderr_text()}")
        self._reader.join(5)
        # uvicorn re-raises the SIGTERM it caught once its graceful shutdown is done: -15 is a clean stop
        if self.proc.returncode not in (0, -signal.SIGTERM):
            raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{self.stderr_text()}")
        return time.perf_counter() - began

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def _health_ok(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def write_key(store: Path) -> str:
    proc = subprocess.run([*CLI, "--db", str(store), "keys", "create", "--write", "--source", "bench",
                           "--format", "json"], capture_output=True, text=True, cwd=store.parent)
    if proc.returncode != 0:
        raise RuntimeError(f"keys create failed:\n{proc.stderr}")
    return json.loads(proc.stdout)["secret"]


def stored_event_ids(store: Path) -> list[str]:
    import journeymap

    if not store.exists():
        return []
    with journeymap.open(store, read_only=True) as jm:
        table = jm.events().select("event_id").to_pyarrow()
    return table.column("event_id").to_pylist()


# --- request bodies -------------------------------------------------------------------------------
_MARK = "\x00ID\x00"  # where the request number goes in a template (JSON never contains a raw NUL)


def _track_message(mid: str, k: int, now: str) -> dict:
    return {"userId": f"user-{k % 5000}", "event": "Product Viewed" if k % 4 else "Order Completed",
            "messageId": mid, "timestamp": now,
            "properties": {"product_id": f"sku-{k % 997}", "price": 19.99, "revenue": 0 if k % 4 else 59.97,
                           "currency": "EUR"},
            "context": {"page": {"url": f"https://shop.example/p/{k % 997}?utm_source=news&utm_medium=email",
                                 "referrer": "https://www.google.com/"},
                        "userAgent": "Mozilla/5.0 (X11; Linux x86_64) bench/1.0"}}


class Bodies:
    """Pre-encoded request templates: ``body(n)`` substitutes request number ``n`` into the messageIds."""

    def __init__(self, kind: str, prefix: str, batch_size: int, now: str) -> None:
        self.kind, self.prefix, self.batch_size = kind, prefix, batch_size
        if kind == "track":
            doc = _track_message(f"{prefix}{_MARK}", 1, now)
            self.path, self.events = "/v1/track", 1
        else:
            items = [{"type": "track", **_track_message(f"{prefix}{_MARK}-{k}", k, now)} for k in range(batch_size)]
            doc = {"batch": items, "sentAt": now}
            self.path, self.events = "/v1/batch", batch_size
        text = json.dumps(doc, separators=(",", ":"))
        self.pieces = [piece.encode() for piece in text.split(json.dumps(_MARK)[1:-1])]

    def body(self, n: int) -> bytes:
        return str(n).encode().join(self.pieces)

    def ids(self, n: int) -> list[str]:
        if self.kind == "track":
            return [f"{self.prefix}{n}"]
        return [f"{self.prefix}{n}-{k}" for k in range(self.batch_size)]


# --- the load generator -----------------------------------------------------------------------------
def _header(head: bytes, name: bytes) -> bytes | None:
    """The value of header ``name`` in a lower-cased response head (None when absent)."""
    at = head.find(b"\r\n" + name + b":")
    if at < 0:
        return None
    start = at + len(name) + 3
    end = head.find(b"\r\n", start)
    return head[start: end if end >= 0 else len(head)].strip()


class _Conn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: ``request(data)`` -> (status, retry_after, body)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future | None = None
        self.lost: BaseException | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        self.lost = exc or ConnectionResetError("closed by the server")
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(str(self.lost)))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end]).lower()
        length = int(_header(head, b"content-length") or 0)
        if len(self.buf) < end + 4 + length:
            return
        status = int(head[9:12])
        retry_after = float(_header(head, b"retry-after") or 0)
        body = bytes(self.buf[end + 4: end + 4 + length])
        del self.buf[: end + 4 + length]
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((status, retry_after, body))

    def request(self, data: bytes) -> asyncio.Future:
        if self.lost is not None:
            raise ConnectionError(str(self.lost))
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self.waiter


@dataclass
class Load:
    """Counters of one load run (requests done in the window, latencies of requests started in it)."""

    window_start: float = float("inf")
    window_end: float = float("inf")
    ok_requests: int = 0
    ok_events: int = 0
    statuses: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    total_ok_events: int = 0  # warm-up included: what the store must hold
    first_ok: asyncio.Event | None = None
    acked: list[tuple[int, int]] = field(default_factory=list)  # (body kind index, request number)
    retried: int = 0


async def _client(port: int, auth: str, kinds: list[Bodies], kind_index: int, counter, load: Load,
                  stop: asyncio.Event, *, record: bool, retry_share: float, rng: random.Random,
                  interval: float | None = None) -> None:
    """One keep-alive connection. With ``interval`` it sends at fixed times (open loop: a
    request's latency counts from when it was due, so a stall is not hidden by not sending)."""
    loop = asyncio.get_running_loop()
    try:
        _, conn = await loop.create_connection(_Conn, "127.0.0.1", port)
    except OSError:
        load.statuses["conn"] += 1
        return
    bodies = kinds[kind_index]
    head = (f"POST {bodies.path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Basic {auth}\r\n"
            "content-type: application/json\r\ncontent-length: ").encode()
    perf = time.perf_counter
    pending: int | None = None  # a shed request, sent again
    due = perf() + (rng.random() * interval if interval else 0.0)
    try:
        while not stop.is_set():
            if interval:
                wait = due - perf()
                if wait > 0:
                    await asyncio.sleep(wait)
            if pending is not None:
                n, pending = pending, None
            elif retry_share and load.acked and rng.random() < retry_share:
                n = None
                for _ in range(4):  # a retry of an earlier request of this kind (acknowledged or not)
                    k, m = rng.choice(load.acked)
                    if k == kind_index:
                        n = m
                        break
                if n is None:
                    n = next(counter)
                else:
                    load.retried += 1
            else:
                n = next(counter)
            body = bodies.body(n)
            started = due if interval else perf()
            due += interval or 0.0
            try:
                status, retry_after, _ = await conn.request(head + str(len(body)).encode() + b"\r\n\r\n" + body)
            except ConnectionError:
                load.statuses["conn"] += 1
                return
            done = perf()
            if status == 200:
                load.total_ok_events += bodies.events
                if record:
                    load.acked.append((kind_index, n))
                if load.first_ok is not None and not load.first_ok.is_set():
                    load.first_ok.set()
                if load.window_start <= done < load.window_end:
                    load.ok_requests += 1
                    load.ok_events += bodies.events
            else:
                if load.window_start <= done < load.window_end:
                    load.statuses[str(status)] += 1
                if status in (429, 503):
                    pending = n
                    await asyncio.sleep(SHED_BACKOFF)
            if load.window_start <= started < load.window_end:
                load.latencies.append(done - started)
    finally:
        conn.transport.close()


async def run_load(port: int, key: str, plan: list[tuple[Bodies, int]], *, warmup: float, seconds: float,
                   record: bool = False, retry_share: float = 0.0, kill=None, seed: int = 0,
                   rate: float | None = None) -> Load:
    """Drive the server with ``plan`` = [(bodies, connections), ...] for warmup + seconds.

    ``kill`` (for the crash run): an async callable run once the first 200 arrived; the load
    stops when it returns (or when the window ends)."""
    auth = base64.b64encode(f"{key}:".encode()).decode()
    load = Load(first_ok=asyncio.Event())
    stop = asyncio.Event()
    kinds = [bodies for bodies, _ in plan]
    counters = [iter(range(1, 1 << 62)) for _ in plan]
    rng = random.Random(seed)
    connections_in_all = sum(connections for _, connections in plan)
    interval = connections_in_all / rate if rate else None  # each connection's share of the offered rate
    tasks = [asyncio.create_task(_client(port, auth, kinds, i, counters[i], load, stop, record=record,
                                         retry_share=retry_share, rng=rng, interval=interval))
             for i, (_, connections) in enumerate(plan) for _ in range(connections)]
    began = time.perf_counter()
    load.window_start = began + warmup
    load.window_end = load.window_start + seconds
    if kill is not None:
        await asyncio.wait_for(load.first_ok.wait(), 60)
        await kill()
    else:
        await asyncio.sleep(warmup + seconds)
    stop.set()
    load.window_end = min(load.window_end, time.perf_counter())
    await asyncio.wait(tasks, timeout=30)
    for task in tasks:
        task.cancel()
    return load


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- scenarios --------------------------------------------------------------------------------------------
def _new_store(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir()
    return folder / "store.duckdb"


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _profile_start(pid: int, seconds: float, out: Path):
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        log("  (--profile: py-spy is not installed in this venv; `pip install py-spy`)")
        return None
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "200",
                             "--format", "raw", "--output", str(out), "--nonblocking", "--threads"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


#: Where a server sample's time goes: the innermost frame matching one of these (in this order of
#: precedence from the leaf up) names the part; "event loop" is uvloop's own C code (sockets, epoll).
PARTS = (
    ("flush: load into the store (worker thread)", r"Flusher\.flush_once|_flush_locked|_flush_rejects"),
    ("spool: encode + queue (Spool.append)", r"Spool\.append|spool\.py.*_encode|^_encode "),
    ("spool: writer task + write/fsync thread", r"Spool\._write_loop|Spool\._write_group|Spool\.rotate"),
    ("messages.parse_body (JSON + checks)", r"collector/messages\.py"),
    ("keys: verify write key", r"collector/keys\.py"),
    ("shed check (spool folder listing)", r"shed_status|unflushed_bytes|pending_segments_bytes"),
    ("collect handler (server.py)", r"collector/server\.py"),
    ("FastAPI/Starlette routing + middleware", r"fastapi/|starlette/"),
    ("uvicorn httptools protocol", r"uvicorn/"),
    ("thread pool (to_thread plumbing)", r"concurrent/futures|threading\.py|asyncio/threads"),
    ("event loop (uvloop C: sockets, epoll, callbacks)", r"asyncio/runners\.py|uvloop|asyncio/base_events"),
)


def _profile_report(out: Path, top: int = 15) -> str:
    """Where the server's samples go (by :data:`PARTS`), then the functions with most own samples,
    from a py-spy raw (collapsed stacks) file."""
    own, parts, total = Counter(), Counter(), 0
    patterns = [(label, re.compile(rx)) for label, rx in PARTS]
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [re.sub(r" \(/[^)]*/(site-packages|src|lib/python3\.\d+)/", " (", f) for f in stack.split(";")]
        own[frames[-1]] += n
        for frame in reversed(frames):
            label = next((label for label, rx in patterns if rx.search(frame)), None)
            if label:
                parts[label] += n
                break
        else:
            parts["other"] += n
    lines = [f"    {total} samples (busy threads only), by part:"]
    for label, n in parts.most_common():
        lines.append(f"    {100 * n / total:5.1f}%  {label}")
    lines.append("    functions with the most own samples:")
    for frame, n in own.most_common(top):
        lines.append(f"    {100 * n / total:5.1f}%  {frame}")
    return "\n".join(lines)


def throughput(root: Path, kind: str, args, rate: float | None = None) -> dict:
    """Saturate the server with ``kind`` requests, or (``rate``) offer that many requests/s."""
    store = _new_store(root, kind + ("-paced" if rate else ""))
    key = write_key(store)
    server = Server(store, flush_interval=args.flush_interval)
    try:
        bodies = Bodies(kind, f"{kind[0]}", args.batch_size, _now_iso())
        log(f"{kind}: server pid {server.pid} on port {server.port}; {args.connections} connections, "
            f"{args.warmup:g} s warm-up + {args.seconds:g} s window")
        cpu0 = [None]
        spy = None
        worker = server.worker_pid

        async def main() -> Load:
            async def mark():
                nonlocal spy
                await asyncio.sleep(args.warmup)
                cpu0[0] = (server.cpu_seconds(), time.perf_counter(), os.times(),
                           server.cpu_seconds(worker) if worker else 0.0)
                if args.profile:
                    spy = _profile_start(server.pid, args.seconds, root / f"{kind}.pyspy")
            marker = asyncio.create_task(mark())
            load = await run_load(server.port, key, [(bodies, args.connections)], warmup=args.warmup,
                                  seconds=args.seconds, rate=rate)
            await marker
            return load

        load = _run(main())
        cpu_server = server.cpu_seconds() - cpu0[0][0]
        cpu_worker = (server.cpu_seconds(worker) - cpu0[0][3]) if worker else 0.0
        worker_memory = server.memory_kb(worker) if worker else {}
        elapsed = time.perf_counter() - cpu0[0][1]
        gen = os.times()
        cpu_gen = (gen.user + gen.system) - (cpu0[0][2].user + cpu0[0][2].system)
        memory = server.memory_kb()
        health = _health(server.port)
        flush_seconds = server.terminate()
    except BaseException:
        server.kill()
        raise
    profile = None
    if spy is not None:
        spy.wait(60)
        out = root / f"{kind}.pyspy"
        profile = _profile_report(out) if out.exists() else f"py-spy failed: {spy.stderr.read().decode()[-500:]}"
    ids = stored_event_ids(store)
    window = load.window_end - load.window_start
    return {
        "kind": kind, "rate": rate, "window": window, "rps": load.ok_requests / window, "eps": load.ok_events / window,
        "p50": _pct(load.latencies, 0.50) * 1000, "p99": _pct(load.latencies, 0.99) * 1000,
        "max": max(load.latencies, default=float("nan")) * 1000, "statuses": dict(load.statuses),
        "peak_mb": memory.get("VmHWM", 0) / 1024, "rss_mb": memory.get("VmRSS", 0) / 1024,
        "server_cpu": cpu_server / elapsed, "gen_cpu": cpu_gen / elapsed,
        "worker_peak_mb": worker_memory.get("VmHWM", 0) / 1024, "worker_cpu": cpu_worker / elapsed,
        "acked": load.total_ok_events, "stored": len(ids), "stored_distinct": len(set(ids)),
        "stop_seconds": flush_seconds, "health": health, "profile": profile,
    }


def _health(port: int) -> dict:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        return json.loads(data.split(b"\r\n\r\n", 1)[1])
    except (OSError, ValueError):
        return {}


def kill_run(root: Path, index: int, args, rng: random.Random) -> dict:
    store = _new_store(root, f"kill{index}")
    key = write_key(store)
    server = Server(store, flush_interval="1s")
    now = _now_iso()
    track = Bodies("track", f"k{index}t", 1, now)
    batch = Bodies("batch", f"k{index}b", 20, now)
    half = max(1, args.connections // 2)
    delay = rng.uniform(1.0, args.kill_max)

    async def kill():
        await asyncio.sleep(delay)
        os.kill(server.pid, signal.SIGKILL)
        await asyncio.sleep(0.3)  # let the connections see the reset

    log(f"kill run {index + 1}: server pid {server.pid}; SIGKILL {delay:.2f} s after the first 200")
    try:
        load = _run(run_load(server.port, key, [(track, half), (batch, half)], warmup=0, seconds=3600, record=True,
                             retry_share=0.05, kill=kill, seed=rng.randrange(1 << 30)))
    finally:
        server.kill()
    acked: set[str] = set()
    for kind_index, n in load.acked:
        acked.update((track, batch)[kind_index].ids(n))
    on_disk = sum(1 for _ in (store.parent / "store.duckdb.spool").glob("spool-*.ndjson"))
    try:  # what the killed server's flushes had committed
        in_store = len(stored_event_ids(store))
    except Exception as exc:  # noqa: BLE001 - only informative
        in_store = f"? ({type(exc).__name__})"
    restarted = Server(store, flush_interval="1s")
    try:
        recovered = re.search(r"recovered (\d+) spooled", restarted.stderr_text())
        stop_seconds = restarted.terminate()
    except BaseException:
        restarted.kill()
        raise
    ids = stored_event_ids(store)
    distinct = set(ids)
    return {"delay": delay, "acked": len(acked), "acked_requests": len(load.acked), "retried": load.retried,
            "stored": len(ids), "lost": len(acked - distinct), "duplicates": len(ids) - len(distinct),
            "segments_left": on_disk, "in_store": in_store, "recovered": int(recovered.group(1)) if recovered else 0,
            "stop_seconds": stop_seconds, "conn_errors": load.statuses.get("conn", 0)}


def _run(coro):
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


# --- report --------------------------------------------------------------------------------------------------
def _machine() -> str:
    model = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} cores ({model or platform.machine()}), Linux {platform.release()}, "
            f"Python {platform.python_version()}")


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "**FAIL**"


def report(results: list[dict], kills: list[dict], args, temp: Path) -> bool:
    import uvicorn

    fs = subprocess.run(["df", "-T", str(temp)], capture_output=True, text=True).stdout.splitlines()[-1:]
    print(f"\nCollector benchmark ({describe_code()}), {_machine()}, uvicorn {uvicorn.__version__}; "
          f"load generator in the same machine (asyncio + uvloop, {args.connections} keep-alive connections); "
          f"{args.warmup:g} s warm-up, {args.seconds:g} s window; flush every {args.flush_interval}; "
          f"spool on {fs[0].split()[1] if fs else '?'} ({temp})\n")
    passed = True
    if results:
        print("| endpoint | requests/s | events/s | p50 ms | p99 ms | max ms | non-200 (window) | server peak RSS | "
              "server CPU | events per server CPU-s | flush worker peak RSS | flush worker CPU | generator CPU | "
              "acked = stored | target | result |")
        print("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---|---|")
        for r in results:
            if r["kind"] == "track" and r["rate"]:
                label = f"`/v1/track` (1 event), {r['rate']:,.0f} req/s offered"
                target = f">= {TARGET_TRACK_RPS:,} req/s, p99 <= {TARGET_TRACK_P99_MS:g} ms"
                ok = r["rps"] >= 0.98 * TARGET_TRACK_RPS and r["p99"] <= TARGET_TRACK_P99_MS
            elif r["kind"] == "track":
                label = "`/v1/track` (1 event), as fast as it goes"
                target = f">= {TARGET_TRACK_RPS:,} req/s"
                ok = r["rps"] >= TARGET_TRACK_RPS
            else:
                label = f"`/v1/batch` ({args.batch_size} events)"
                target = f">= {TARGET_BATCH_EVENTS:,} events/s"
                ok = r["eps"] >= TARGET_BATCH_EVENTS
            intact = r["acked"] == r["stored"] == r["stored_distinct"]
            ok = ok and intact
            passed &= ok
            statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(r["statuses"].items())) or "none"
            print(f"| {label} | {r['rps']:,.0f} | {r['eps']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['max']:.0f} | "
                  f"{statuses} | {r['peak_mb']:,.0f} MB | {r['server_cpu']:.0%} | "
                  f"{r['eps'] / r['server_cpu'] if r['server_cpu'] else float('nan'):,.0f} | "
                  f"{r['worker_peak_mb']:,.0f} MB | {r['worker_cpu']:.0%} | {r['gen_cpu']:.0%} | "
                  f"{r['acked']:,} = {r['stored']:,}{'' if intact else ' (MISMATCH)'} | {target} | {_verdict(ok)} |")
    if kills:
        print("\n| kill -9 run | killed after | acknowledged ids (requests) | resent ids | in the store at the kill | "
              "spool segments left | recovered on restart | stored | lost | stored twice | result |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for i, k in enumerate(kills, 1):
            ok = k["lost"] == 0 and k["duplicates"] == 0 and k["acked"] > 0
            passed &= ok
            in_store = k["in_store"] if isinstance(k["in_store"], str) else f"{k['in_store']:,}"
            print(f"| {i} | {k['delay']:.2f} s | {k['acked']:,} ({k['acked_requests']:,}) | {k['retried']:,} | "
                  f"{in_store} | {k['segments_left']} | {k['recovered']:,} | {k['stored']:,} | {k['lost']} | "
                  f"{k['duplicates']} | {_verdict(ok)} |")
    print()
    for r in results:
        spool = r["health"].get("spool_counters", {})
        flusher = r["health"].get("flusher", {})
        last = r["health"].get("last_flush") or {}
        print(f"* {r['kind']}{' at %s req/s' % format(r['rate'], ',.0f') if r['rate'] else ''}: "
              f"{spool.get('appended', 0):,} messages spooled in "
              f"{spool.get('fsyncs', 0):,} fsyncs "
              f"({spool.get('appended', 0) / max(1, spool.get('fsyncs', 1)):.1f} per fsync); "
              f"{flusher.get('flushes', 0)} flushes during the run (last {last.get('seconds', 0):.2f} s), "
              "unflushed at the end "
              f"{r['health'].get('unflushed_bytes', 0) / 1e6:.1f} MB; SIGTERM to exit (final flush) "
              f"{r['stop_seconds']:.1f} s; RSS at the end {r['rss_mb']:,.0f} MB.")
    print("* requests/s and events/s count 200s completed in the window; latency is send to last byte of the "
          "response of requests started in it (offered-rate run: from when the request was due, so a stall "
          "counts for every request it delays); CPU is the share of one core over the window "
          "(server: all its threads; flush worker: the child process that loads the spool into the store; "
          "generator: this process); events per server CPU-s = events/s / server CPU, "
          "what one dedicated core would sustain (robust to other load on the machine).")
    print("* kill -9: ``lost`` = acknowledged messageIds not in `events.event_id` after a restart and a final "
          "flush; ``stored twice`` = event_ids stored more than once. The kill lands 1 s to "
          f"{args.kill_max:g} s after the first 200, with a flush every second (so before the first flush, in one, "
          "or between flushes); ``in the store at the kill`` = events the killed server's flushes had committed.")
    for r in results:
        if r["profile"]:
            print(f"\npy-spy, server during the {r['kind']} window:\n```\n{r['profile']}\n```")
    print(f"\nTargets (2-core machine): batch >= {TARGET_BATCH_EVENTS:,} events/s; single track >= "
          f"{TARGET_TRACK_RPS:,} requests/s with p99 <= {TARGET_TRACK_P99_MS:g} ms; zero acknowledged events lost "
          f"or stored twice: {'all met' if passed else 'NOT all met'}.")
    return passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window per endpoint (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before it (default 2)")
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections (default 64)")
    parser.add_argument("--batch-size", type=int, default=100, help="events per /v1/batch request (default 100)")
    parser.add_argument("--flush-interval", default="5s", help="the server's --flush-interval (default 5s)")
    parser.add_argument("--kill-runs", type=int, default=2, help="kill -9 runs (default 2; 0 skips)")
    parser.add_argument("--kill-max", type=float, default=10.0,
                        help="latest kill, seconds after the first 200 (default 10)")
    parser.add_argument("--only", choices=("track", "batch", "kill"), action="append",
                        help="run only these parts (repeatable)")
    parser.add_argument("--quick", action="store_true", help="3 s windows, 1 s warm-up, one kill run (a smoke run)")
    parser.add_argument("--profile", action="store_true", help="sample the server with py-spy during each window")
    parser.add_argument("--seed", type=int, default=None, help="seed of the kill moments (default random)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (stores, spools, profiles)")
    parser.add_argument("--tmp", default=None, help="where the temp folder goes (default the system's)")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.warmup = min(args.seconds, 3.0), 1.0
        args.kill_runs, args.kill_max = min(args.kill_runs, 1), 3.0
    parts = set(args.only or ("track", "batch", "kill"))
    rng = random.Random(args.seed)
    began = time.perf_counter()
    temp = Path(tempfile.mkdtemp(prefix="journeymap-collector-bench-", dir=args.tmp))
    try:
        results = [throughput(temp, kind, args) for kind in ("track", "batch") if kind in parts]
        if "track" in parts:  # the target's own terms: 5,000 requests/s offered, and their p99
            results.insert(1, throughput(temp, "track", args, rate=TARGET_TRACK_RPS))
        kills = [kill_run(temp, i, args, rng) for i in range(args.kill_runs)] if "kill" in parts else []
        passed = report(results, kills, args, temp)
    finally:
        if args.keep:
            log(f"kept {temp}")
        else:
            shutil.rmtree(temp, ignore_errors=True)
    log(f"(measured in {time.perf_counter() - began:.0f} s)")
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
