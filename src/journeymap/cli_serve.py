"""``journeymap serve``: the collector (Segment HTTP API) and the JSON API, on uvicorn.

One process, one event loop (uvloop, httptools): the spool's group commit and the store's
single writer both want exactly one server process, so there is no ``--workers``.
"""

from __future__ import annotations

from typing import Optional

import typer

from .cli import app, err_console, state
from .config import load_settings

__all__ = ["serve_command"]


@app.command("serve")
def serve_command(
    host: Optional[str] = typer.Option(None, "--host", help="Address to listen on (default collector.host, 127.0.0.1)."),
    port: Optional[int] = typer.Option(None, "--port", help="Port (default collector.port, 8321; 0 picks a free one)."),
    spool: Optional[str] = typer.Option(None, "--spool", help="Spool folder (default collector.spool, else <store>.spool)."),
    flush_interval: Optional[str] = typer.Option(None, "--flush-interval", help="How often spooled events are loaded into the store, e.g. 5s (default collector.flush_interval)."),
    log_requests: bool = typer.Option(False, "--log-requests", help="Print one access-log line per request."),
) -> None:
    """Receive touchpoints (Segment HTTP API, /t.js tracker) and answer the JSON API; Ctrl-C stops after a last flush."""
    import socket

    import uvicorn

    from .collector.server import create_app
    from .collector.service import Collector
    from .durations import parse_duration

    settings = load_settings(state.config)
    store_path = state.db or settings.store.path
    conf = settings.collector
    if flush_interval is not None:
        parse_duration(flush_interval, unit="s", field="--flush-interval")
    collector = Collector(store_path, settings, spool_dir=spool or conf.spool, flush_interval=flush_interval,
                          flush_worker=True)
    application = create_app(collector)
    sock = socket.socket(socket.AF_INET6 if ":" in (host or conf.host) else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host or conf.host, conf.port if port is None else port))
    except OSError as exc:
        from .errors import ConfigError

        raise ConfigError(f"cannot listen on {host or conf.host}:{conf.port if port is None else port}: {exc.strerror}",
                          field="collector.port", hint="pick another --port, or stop what uses it") from None
    sock.listen(4096)  # connections wait in the backlog until uvicorn accepts: "listening" is true when printed
    bound_host, bound_port = sock.getsockname()[:2]
    recovered = collector.spool.recovered
    err_console.print(
        f"journeymap serve: listening on http://{bound_host}:{bound_port}  (store {store_path}, spool "
        f"{collector.spool_dir}, flush every {collector.flush_interval:g} s"
        + (f"; recovered {recovered['messages']} spooled messages" if recovered["messages"] else "") + ")",
        markup=False, highlight=False, soft_wrap=True)
    config = uvicorn.Config(application, loop="uvloop", http="httptools", lifespan="on",
                            log_level="info" if log_requests else "warning", access_log=log_requests,
                            timeout_graceful_shutdown=10, backlog=4096)
    import gc

    # the imported modules and the app live as long as the server: frozen, the collector's full
    # collections skip them (they were the 80 ms pauses behind the p99 before this)
    gc.collect()
    gc.freeze()
    server = _exit_zero_server(config)
    server.run(sockets=[sock])
    last = collector.last_flush
    err_console.print(
        f"journeymap serve: stopped; {collector.counters['accepted']} events accepted, "
        f"{collector.counters['rejected']} refused; last flush: {last.status if last else 'none'}"
        + (f" ({last.error})" if last is not None and last.error else ""),
        markup=False, highlight=False, soft_wrap=True)


def _exit_zero_server(config):
    """uvicorn's server, but a SIGTERM/SIGINT that led to a clean shutdown (final flush
    included) ends the process with exit code 0 instead of being raised again."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame) -> None:
            super().handle_exit(sig, frame)
            self._captured_signals.clear()

    return Server(config)
