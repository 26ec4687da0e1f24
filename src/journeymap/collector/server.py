"""The HTTP face of the collector: ``journeymap serve`` (FastAPI on uvicorn).

Routes (see the README's "Live collection" section and ``/openapi.json``):

* ``POST /v1/track|page|screen|identify|alias|batch``: the Segment HTTP Tracking API. A write
  key by HTTP Basic auth (``KEY:``, as Segment's libraries send it) or as ``writeKey`` in the
  body (as browsers send it with ``sendBeacon``, which cannot set headers). A body may come as
  ``application/json`` or ``text/plain`` (a CORS "simple" request: no preflight). 200 means
  durable (:mod:`.spool`); 4xx names the field (:mod:`.messages`) and the refused message is
  kept with its reason; 503 / 429 with ``Retry-After`` shed load.
* ``GET /api/...``: the JSON API (read token as ``Authorization: Bearer ...``), in
  :mod:`.routes_api`.
* ``GET /health`` and ``GET /t.js`` (the browser tracker): open to all.

Every error, from any route, has one shape: ``{"ok": false, "error": ..., "errors":
[{"field": ..., "message": ...}], "status": N}``.
"""

from __future__ import annotations

import json
import logging
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import JourneymapError
from .keys import basic_auth_key
from .messages import ENDPOINT_TYPES, FieldError, error_body, parse_body, response_status
from .service import Collector
from .spool import SpoolError, SpoolFull

__all__ = ["create_app", "json_response", "error_response"]

_JSON = "application/json"
_log = logging.getLogger("journeymap.collector")


def json_response(data: Any, status: int = 200, headers: dict | None = None) -> Response:
    """JSON of ``data``; NaN and infinities (a ratio over nothing) become null, as JSON has neither."""
    try:
        text = json.dumps(data, ensure_ascii=False, default=_plain, separators=(",", ":"), allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(data), ensure_ascii=False, default=_plain, separators=(",", ":"))
    return Response(text.encode("utf-8"), status_code=status, media_type=_JSON, headers=headers)


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None.

    >>> _finite({"a": [1.0, float("nan")], "b": float("inf")})
    {'a': [1.0, None], 'b': None}
    """
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    return str(value)


def error_response(status: int, errors: list[FieldError], headers: dict | None = None) -> Response:
    return json_response(error_body(status, errors), status, headers)


_OK = b'{"ok":true,"success":true}'


def _collect_schema(name: str) -> dict:
    """The OpenAPI request body of a collection endpoint (the handlers read the raw body)."""
    if name == "batch":
        schema = {"type": "object", "required": ["batch"],
                  "properties": {"batch": {"type": "array", "items": {"type": "object"}},
                                 "sentAt": {"type": "string", "format": "date-time"},
                                 "context": {"type": "object"}, "integrations": {"type": "object"},
                                 "writeKey": {"type": "string"}}}
    else:
        schema = {"type": "object", "properties": {
            "userId": {"type": "string"}, "anonymousId": {"type": "string"},
            "messageId": {"type": "string"}, "timestamp": {"type": "string", "format": "date-time"},
            "sentAt": {"type": "string", "format": "date-time"}, "context": {"type": "object"},
            "writeKey": {"type": "string"}}}
        if name == "track":
            schema["properties"].update(event={"type": "string"}, properties={"type": "object"})
            schema["required"] = ["event"]
        elif name in ("page", "screen"):
            schema["properties"].update(name={"type": "string"}, properties={"type": "object"})
        elif name == "identify":
            schema["properties"].update(traits={"type": "object"})
        elif name == "alias":
            schema["properties"].update(previousId={"type": "string"})
            schema["required"] = ["previousId", "userId"]
    return {"requestBody": {"required": True, "content": {_JSON: {"schema": schema}}},
            "security": [{"writeKey": []}],
            "responses": {"200": {"description": "Accepted and durable (on disk)."},
                          "400": {"description": "Invalid: the errors name the field."},
                          "401": {"description": "No valid write key."},
                          "413": {"description": "Too large."},
                          "429": {"description": "The flusher is behind: retry after Retry-After seconds."},
                          "503": {"description": "Too many writes waiting for disk: retry after Retry-After."}}}


def _decode_body(raw: bytes, encoding: str, limit: int) -> tuple[bytes, FieldError | None]:
    """A ``gzip`` or ``deflate`` body (Segment's libraries can gzip), inflated to at most
    ``limit`` bytes: a larger result is a 413 (a small bomb cannot fill the memory)."""
    import zlib

    if encoding not in ("gzip", "x-gzip", "deflate"):
        return raw, FieldError("Content-Encoding", f"unsupported Content-Encoding '{encoding}': send gzip, "
                                                   "deflate or an uncompressed body", 415)
    inflater = zlib.decompressobj(wbits=47 if "gzip" in encoding else 15)  # 47: gzip or zlib header
    try:
        body = inflater.decompress(raw, limit + 1)
        if len(body) > limit or inflater.unconsumed_tail:
            return b"", FieldError("body", f"the body is more than the limit ({limit:,} bytes) once inflated", 413)
        if not inflater.eof:
            return b"", FieldError("body", f"the {encoding} body is cut short", 400)
    except zlib.error as exc:
        return b"", FieldError("body", f"the body is not valid {encoding} ({exc})", 400)
    return body, None


def _body_write_key(raw: bytes) -> str | None:
    """``writeKey`` of a JSON body (browsers cannot send an Authorization header with sendBeacon)."""
    if b'"writeKey"' not in raw:
        return None
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    key = document.get("writeKey") if isinstance(document, dict) else None
    return key if isinstance(key, str) else None


def create_app(collector: Collector) -> FastAPI:
    """The FastAPI app over a :class:`~.service.Collector` (its lifespan starts and stops it)."""
    settings = collector.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await collector.start()
        try:
            yield
        finally:
            await collector.stop()

    app = FastAPI(
        title="journeymap collector and JSON API",
        version=_version(),
        description="Segment-compatible collection (write keys) and customer-journey analytics (read tokens).",
        lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,
    )
    app.state.collector = collector
    collect_handlers: dict = {}  # path -> handler, filled below; the middleware calls them directly
    app.add_middleware(_DirectCollect, handlers=collect_handlers)
    if settings.collector.cors_origins:  # added after, so it wraps the direct route too
        origins = list(settings.collector.cors_origins)
        app.add_middleware(_cors_middleware(), allow_origins=origins, allow_methods=["POST", "GET", "OPTIONS"],
                           allow_headers=["Authorization", "Content-Type"], expose_headers=["Retry-After"],
                           allow_credentials=False, max_age=86400)

    # --- one error shape everywhere ----------------------------------------------------------
    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail, default=str)
        field = "path" if exc.status_code in (404, 405) else "request"
        if exc.status_code == 404:
            detail = f"no such route: {request.method} {request.url.path}"
        return error_response(exc.status_code, [FieldError(field, detail, exc.status_code)],
                              headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for item in exc.errors():
            loc = [str(p) for p in item.get("loc", ()) if p not in ("query", "path", "body", "header")]
            errors.append(FieldError(".".join(loc) or "request", item.get("msg", "invalid"), 400))
        return error_response(400, errors)

    @app.exception_handler(JourneymapError)
    async def _domain(request: Request, exc: JourneymapError) -> Response:
        field = getattr(exc, "field", None) or getattr(exc, "column", None) or "request"
        return error_response(400, [FieldError(field, str(exc), 400)])

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:  # pragma: no cover - a bug
        _log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return error_response(500, [FieldError("server", f"internal error ({type(exc).__name__}); "
                                                         "see the server log", 500)])

    # --- open routes ----------------------------------------------------------------------------
    @app.get("/health", tags=["server"], summary="Liveness and the spool's backlog (no auth).")
    async def health() -> Response:
        return json_response(collector.health())

    tracker = resources.files("journeymap.collector").joinpath("static/t.js")

    @app.get("/t.js", tags=["server"], summary="The browser tracker script (no auth).",
             response_class=Response)
    async def tracker_script() -> Response:
        return Response(tracker.read_bytes(), media_type="application/javascript",
                        headers={"Cache-Control": "public, max-age=300"})

    # --- collection -----------------------------------------------------------------------------
    def collect_route(name: str):
        path = f"/v1/{name}"

        async def collect(request: Request) -> Response:
            collector.counters["requests"] += 1
            limit = settings.collector.max_batch_bytes if name == "batch" else settings.collector.max_message_bytes
            declared = request.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                return error_response(413, [FieldError("body", f"the body is {int(declared):,} bytes, more than "
                                                               f"the limit ({limit:,})", 413)])
            raw = await _read_limited(request, limit)
            if raw is None:
                return error_response(413, [FieldError("body", f"the body is more than the limit ({limit:,} bytes)",
                                                       413)])
            encoding = request.headers.get("content-encoding", "identity").strip().lower()
            if encoding not in ("", "identity"):
                raw, problem = _decode_body(raw, encoding, limit)
                if problem is not None:
                    return error_response(problem.status, [problem])
            secret = basic_auth_key(request.headers.get("authorization")) or _body_write_key(raw)
            key = collector.keys.verify(secret, "write")
            if key is None:
                return error_response(401, [FieldError("writeKey", "no valid write key: send it as HTTP Basic "
                                                       "auth (user KEY, empty password) or as writeKey in the body; "
                                                       "create one with `journeymap keys create --write`", 401)],
                                      headers={"WWW-Authenticate": 'Basic realm="journeymap"'})
            shed = collector.shed_status()
            if shed is not None:
                status, after = shed
                return error_response(status, [FieldError("server", "the store is behind on loading events: "
                                                          f"retry after {after} s", status)],
                                      headers={"Retry-After": str(after)})
            messages, errors = parse_body(raw, endpoint=path, limits=collector.limits,
                                          extra={"collector_source": key.source})  # properties.collector_source
            if errors:
                collector.keep_rejects(errors, endpoint=path, source=key.source)
            status = response_status(messages, errors, endpoint=path)
            if messages and status == 200:
                try:
                    await collector.accept(messages)
                except SpoolFull as exc:
                    collector.counters["shed_503"] += 1
                    after = max(1, int(exc.retry_after))
                    return error_response(503, [FieldError("server", "too many events are waiting for the disk: "
                                                           f"retry after {after} s", 503)],
                                          headers={"Retry-After": str(after)})
                except SpoolError as exc:
                    return error_response(503, [FieldError("server", f"{exc}; retry later", 503)],
                                          headers={"Retry-After": "5"})
            if status != 200:
                return error_response(status, errors)
            if errors:  # a batch with good and bad items: the good ones are stored
                return json_response({"ok": True, "success": True, "accepted": len(messages),
                                      "rejected": len(errors), "errors": [e.to_dict() for e in errors]})
            return Response(_OK, media_type=_JSON)

        collect.__name__ = f"collect_{name}"
        collect_handlers[path] = collect
        app.add_api_route(path, collect, methods=["POST"], tags=["collect"], response_class=Response,
                          summary=f"Segment {name}" + (" (a list of messages)" if name == "batch" else ""),
                          openapi_extra=_collect_schema(name))

    for name in ENDPOINT_TYPES:
        collect_route(name)

    from .routes_api import add_api_routes

    add_api_routes(app, collector)
    return app


class _DirectCollect:
    """``POST /v1/...`` straight to its handler, past FastAPI's routing and request plumbing
    (the same handler the router would call; 2-3x the requests per CPU second for single
    events). Every other request goes on to the app."""

    def __init__(self, app, handlers: dict) -> None:
        self.app, self.handlers = app, handlers

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            handler = self.handlers.get(scope["path"])
            if handler is not None:
                try:
                    response = await handler(Request(scope, receive))
                except Exception as exc:  # noqa: BLE001 - a bug still answers in the error shape
                    _log.exception("collecting %s failed", scope["path"])
                    response = error_response(500, [FieldError("server", f"internal error ({type(exc).__name__}); "
                                                                         "see the server log", 500)])
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _cors_middleware():
    """Starlette's CORS middleware, with a refused preflight in the one error shape."""
    from starlette.middleware.cors import CORSMiddleware

    class Cors(CORSMiddleware):
        def preflight_response(self, request_headers) -> Response:
            response = super().preflight_response(request_headers)
            if response.status_code < 400:
                return response
            reason = response.body.decode("utf-8", "replace").strip() or "CORS preflight refused"
            headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
            return error_response(response.status_code, [FieldError(
                "Origin", f"{reason}; allow the origin in collector.cors_origins", response.status_code)], headers)

    return Cors


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it passes ``limit`` (a chunked body has no Content-Length)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("journeymap")
    except Exception:  # noqa: BLE001
        return "0"
