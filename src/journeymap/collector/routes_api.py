"""The JSON API of ``journeymap serve``: the analytics that exist, over HTTP, for read tokens.

Every route calls the same :class:`journeymap.api.Journeymap` method as the CLI command of the
same name, on the store opened read-only for the request (see :mod:`.service`), and answers
``{"ok": true, "rows": [...], "count": N}``. Parameters are declared (FastAPI validates their
types: a bad one is a 400 naming it) and go to the API as values: step and segment expressions
are parsed by journeymap's own parsers into Ibis expressions whose values are typed literals
(quoted by the SQL compiler), so no request text is ever pasted into SQL.
"""

from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from .keys import KeyRecord
from .messages import FieldError
from .service import Collector

__all__ = ["add_api_routes"]

class ErrorItem(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    """The one error shape of every route."""

    ok: Literal[False]
    error: str
    errors: list[ErrorItem]
    status: int


class Rows(BaseModel):
    """An analysis: its rows, as the CLI's --format json prints them."""

    ok: Literal[True]
    count: int
    rows: list[dict]


_RESPONSES: dict = {
    200: {"model": Rows, "description": "The rows."},
    400: {"model": ErrorBody, "description": "A parameter is wrong: the errors name it."},
    401: {"model": ErrorBody, "description": "No valid read token."},
}

_bearer = HTTPBearer(auto_error=False, description="A read token: `journeymap keys create --read --source NAME`.")
_MAX_ROWS = 100_000


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    parts = [p.strip() for p in value.split(",") if p.strip()]
    return parts or None


def add_api_routes(app: FastAPI, collector: Collector) -> None:
    from .server import error_response, json_response

    class Unauthorized(Exception):
        def __init__(self, message: str) -> None:
            self.message = message

    @app.exception_handler(Unauthorized)
    async def _unauthorized(request: Request, exc: Unauthorized) -> Response:
        return error_response(401, [FieldError("authorization", exc.message, 401)],
                              headers={"WWW-Authenticate": 'Bearer realm="journeymap"'})

    def reader(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> KeyRecord:
        if credentials is None:
            raise Unauthorized("a read token is required: send 'Authorization: Bearer <token>' "
                               "(create one with `journeymap keys create --read --source NAME`)")
        record = collector.keys.verify(credentials.credentials, "read")
        if record is None:
            raise Unauthorized("the token is not a valid read token (unknown, revoked, or a write key)")
        return record

    Reader = Annotated[KeyRecord, Depends(reader)]
    Preset = Annotated[str | None, Query(description="Stage model preset (default: the configured stages).",
                                         max_length=200)]
    Segment = Annotated[str | None, Query(description="A saved segment's name, or KEY=VALUE[,KEY!=VALUE...].",
                                          max_length=2000)]
    By = Annotated[str | None, Query(description="Breakdown keys, comma-separated: channel, campaign, device, "
                                                 "cohort:month, property.KEY ...", max_length=500)]
    Limit = Annotated[int, Query(ge=1, le=_MAX_ROWS, description="At most this many rows.")]
    Offset = Annotated[int, Query(ge=0, le=2**31, description="Skip this many rows first.")]

    def rows_of(table, limit: int | None = None, offset: int = 0) -> dict:
        if limit is not None:
            table = table.limit(limit, offset=offset)
        rows = table.to_pyarrow().to_pylist()
        return {"ok": True, "count": len(rows), "rows": rows}

    tags = ["analytics"]

    @app.get("/api/info", tags=tags, responses={**_RESPONSES, 200: {"description": "The store's summary."}}, summary="What the store holds: events, customers, channels, loads.")
    def api_info(_: Reader) -> Response:
        with collector.reading() as jm:
            return json_response({"ok": True, **jm.info()})

    @app.get("/api/stages", tags=tags, responses=_RESPONSES, summary="Each customer's current stage (journeymap stages --customer, for all).")
    def api_stages(_: Reader, preset: Preset = None,
                   stage: Annotated[str | None, Query(max_length=200, description="Only customers now in this stage.")] = None,
                   limit: Limit = 1000, offset: Offset = 0) -> Response:
        with collector.reading() as jm:
            table = jm.customer_stages(preset)
            if stage is not None:
                names = [s.name for s in jm.stage_model(preset).stages]
                if stage not in names:
                    from ..errors import InputError

                    raise InputError(f"unknown stage '{stage}': the stages are {', '.join(names)}", column="stage")
                table = table.filter(table.current_stage == stage)
            return json_response(rows_of(table.order_by("customer_id"), limit, offset))

    @app.get("/api/stage-funnel", tags=tags, responses=_RESPONSES, summary="The stage funnel (journeymap stages).")
    def api_stage_funnel(_: Reader, preset: Preset = None, by: By = None, segment: Segment = None) -> Response:
        with collector.reading() as jm:
            return json_response(rows_of(jm.stage_funnel(_split(by), preset=preset, segment=segment)))

    @app.get("/api/funnels", tags=tags, responses=_RESPONSES, summary="A funnel of steps (journeymap funnel).")
    def api_funnel(_: Reader,
                   steps: Annotated[str, Query(min_length=1, max_length=2000,
                                               description="Steps in order: 'page_viewed,signed_up,stage:purchase'.")],
                   window: Annotated[str | None, Query(max_length=20, description="Conversion window, e.g. 7d.")] = None,
                   order: Literal["sequential", "strict", "any"] = "sequential",
                   count_by: Literal["customer", "session"] = "customer",
                   by: By = None, segment: Segment = None, preset: Preset = None) -> Response:
        with collector.reading() as jm:
            return json_response(rows_of(jm.funnel(steps, window=window, order=order, count_by=count_by,
                                            by=_split(by), segment=segment, preset=preset)))

    @app.get("/api/paths", tags=tags, responses=_RESPONSES, summary="User paths: edges step k -> k+1 (journeymap paths).")
    def api_paths(_: Reader,
                  start: Annotated[str | None, Query(max_length=500, description="Paths from this step.")] = None,
                  end: Annotated[str | None, Query(max_length=500, description="Paths up to this step.")] = None,
                  steps: Annotated[int, Query(ge=1, le=20, description="Steps per path.")] = 5,
                  node: Annotated[str, Query(max_length=100, description="What a node is: event, channel, "
                                             "url, stage ...")] = "event",
                  min_customers: Annotated[int, Query(ge=1, le=10**9, description="Hide edges with fewer customers.")] = 1,
                  segment: Segment = None, limit: Limit = 1000) -> Response:
        with collector.reading() as jm:
            table = jm.paths(start=start, end=end, steps=steps, node=node, min_customers=min_customers,
                             segment=segment)
            return json_response(rows_of(table, limit))

    @app.get("/api/attribution", tags=tags, responses=_RESPONSES, summary="Conversion credit per channel or campaign (journeymap attribution).")
    def api_attribution(_: Reader,
                        model: Annotated[str | None, Query(max_length=50, description="markov, shapley, first_touch, "
                                                           "last_touch, linear, time_decay, position ...")] = None,
                        level: Annotated[str | None, Query(max_length=50, description="channel, source_medium, "
                                                           "campaign or content.")] = None,
                        conversion: Annotated[str | None, Query(max_length=1000, description="Conversion steps, "
                                                                "comma-separated.")] = None,
                        lookback: Annotated[str | None, Query(max_length=20, description="e.g. 30d, or none.")] = None,
                        order: Annotated[int | None, Query(ge=1, le=4, description="Markov order.")] = None,
                        segment: Segment = None) -> Response:
        with collector.reading() as jm:
            table = jm.attribution(model, level=level, conversion=_split(conversion), lookback=lookback, order=order,
                                   segment=segment)
            return json_response(rows_of(table))

    @app.get("/api/customers/{customer}/timeline", tags=tags, responses=_RESPONSES,
             summary="Every touchpoint of one customer, oldest first (a customer_id or any stitched identifier).")
    def api_timeline(_: Reader, customer: Annotated[str, Path(min_length=1, max_length=1024)],
                     limit: Limit = 10_000, offset: Offset = 0) -> Response:
        with collector.reading() as jm:
            return json_response(rows_of(jm.customer_timeline(customer), limit, offset))

    @app.get("/openapi.json", tags=["server"], summary="This API's OpenAPI document (read token).",
             include_in_schema=False)
    def openapi_document(_: Reader) -> Response:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)
            schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
            schemes["writeKey"] = {"type": "http", "scheme": "basic",
                                   "description": "A write key as the user name, empty password (Segment)."}
            _only_real_statuses(schema)
            app.openapi_schema = schema
        return json_response(app.openapi_schema)


def _only_real_statuses(schema: dict) -> None:
    """FastAPI documents a 422 for validation errors; this app answers them with 400 (the one
    error shape), so drop the 422 and its schemas, and give every 4xx the error schema."""
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            responses.pop("422", None)
            for code, response in responses.items():
                if code.startswith("4") or code.startswith("5"):
                    response.setdefault("content", {"application/json": {"schema": error_ref}})
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
