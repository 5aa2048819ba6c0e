"""The FastAPI application factory: ``create_app(settings)``.

Startup loads the models in a background thread (``/health`` answers at once,
``/ready`` says 503 until they are loaded; with several workers, before the
worker takes connections, so that one restarted leaves them to the others), starts the micro-batcher and the
Prometheus metrics server on its own port (``NER_METRICS_PORT``). The
middleware (:mod:`api.middleware`) gives every request an id, bounds its
headers, body, time and the queue it joins, and logs and counts it; the
routes (:mod:`api.routes`) get the service state and the API key check as
dependencies.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import signal
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from wsgiref.simple_server import WSGIServer

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from prometheus_client import start_http_server
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.batcher import Overloaded
from api.dependencies import require_api_key
from api.logs import SERVICE_LOGGER
from api.middleware import BodyLimit, HeaderLimit, RequestContext, RootPath, Shed, Timeout
from api.responses import SafeJSONResponse, error_response, queue_full, timed_out
from api.routes import router as routes
from api.routes import too_many_texts
from api.service import ServiceState
from api.settings import Settings
from ner import __version__
from ner.signals import handlers_set
from ner.tagger import DeadlineExceeded

log = logging.getLogger(SERVICE_LOGGER)
ECHO = 40  # characters of a field name quoted back in an error message, at most
GZIP_LEVEL = 5  # within 4% of level 9's size at a fifth to an eighth of its time (benchmarks/compression.py)


# While a worker loads its models, SIGTERM and SIGINT end it at once: uvicorn, whose handlers they replace, would
# wait for the startup to end, and nothing has been accepted yet that a stop must finish.
STOPPED_AT_ONCE = {signal.SIGTERM: signal.SIG_DFL, signal.SIGINT: signal.SIG_DFL}


def _openapi_with_limits(app: FastAPI, settings: Settings) -> dict:
    """The OpenAPI schema, with this server's configured limits written into the request schema."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            servers=[{"url": settings.root_path}] if settings.root_path else None,  # where clients send requests
        )
        request = schema["components"]["schemas"]["TagRequest"]
        request["description"] += (
            f" At most {settings.max_tokens:,} tokens per request, all texts together, times (1 + nbest), and "
            f"{settings.max_body_bytes:,} bytes of body (422 too_many_tokens, 413 beyond)."
        )
        fields = request["properties"]
        fields["text"]["maxLength"] = settings.max_chars
        fields["texts"]["maxItems"] = settings.max_texts
        fields["texts"]["items"]["maxLength"] = settings.max_chars
        fields["nbest"]["maximum"] = settings.max_nbest
        fields["dictionary"]["anyOf"][0]["maxProperties"] = settings.max_dictionary
        if settings.accepted_keys():
            schema["components"]["securitySchemes"] = {"apiKey": {"type": "http", "scheme": "bearer"}}
            for route in routes.routes:  # this service's routes (app.routes holds them as one included router)
                if isinstance(route, APIRoute) and route.include_in_schema and _takes_key(route):
                    for method in route.methods:
                        schema["paths"][route.path][method.lower()]["security"] = [{"apiKey": []}]
        app.openapi_schema = schema
    return app.openapi_schema


def _takes_key(route: APIRoute) -> bool:
    return any(dependency.call is require_api_key for dependency in route.dependant.dependencies)


def _metrics_server(settings: Settings) -> WSGIServer | None:
    """Serve ``/metrics`` on ``NER_METRICS_PORT`` (no API key: keep that port inside the cluster)."""
    if settings.metrics_port is None:
        return None
    try:
        server, _ = start_http_server(settings.metrics_port, addr=settings.host)
    except OSError as error:  # e.g. with NER_WORKERS > 1, another worker serves it
        log.error(json.dumps({"event": "metrics_unavailable", "port": settings.metrics_port, "error": str(error)}))
        return None
    return server


def _where(location: tuple) -> str:
    """A field's location in the body, each part cut short: field names come from the client."""
    parts = [str(x) if len(str(x)) <= ECHO else f"{str(x)[:ECHO]}..." for x in location[1:]]
    return ".".join(parts) or "body"


def _answer_errors(app: FastAPI, settings: Settings) -> None:
    """Every error as ``{"error": {type, message, limit?, request_id}}`` with its status."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        try:  # a body that is no JSON fails before the key check would run: a caller without a key hears 401
            await require_api_key(request, request.app.state.service)
        except StarletteHTTPException as refused:
            return await http_error(request, refused)
        problems = error.errors()
        if any(p.get("type") == "json_invalid" for p in problems):
            return error_response(400, "invalid_json", "the body is not valid JSON", request.state.request_id)
        if [(p.get("type"), tuple(p.get("loc", ()))) for p in problems] == [("missing", ("body",))]:
            return error_response(400, "invalid_json", "the body is empty, not a JSON object", request.state.request_id)
        for p in problems:  # past schemas.MAX_TEXTS, refused before the route's own check: answered as it does
            if p.get("type") == "too_long" and tuple(p.get("loc", ())) == ("body", "texts"):
                return await http_error(
                    request, too_many_texts(p.get("ctx", {}).get("actual_length"), settings.max_texts)
                )
        message = "; ".join(f"{_where(p.get('loc', ()))}: {p.get('msg')}" for p in problems[:5])
        return error_response(422, "invalid_request", message, request.state.request_id)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = (
            error.detail if isinstance(error.detail, dict) else {"type": "http_error", "message": str(error.detail)}
        )
        if error.status_code == 405 and error.headers and error.headers.get("Allow") == "GET":
            error.headers["Allow"] = "GET, HEAD"  # answered as GET is (api.middleware.RequestContext)
        return error_response(
            error.status_code,
            detail.get("type", "http_error"),
            detail.get("message", ""),
            request.state.request_id,
            limit=detail.get("limit"),
            headers=error.headers,
        )

    @app.exception_handler(Overloaded)
    async def lane_full(request: Request, error: Overloaded) -> JSONResponse:
        return queue_full(error.lane, error.retry_after, request.state.request_id)

    @app.exception_handler(DeadlineExceeded)
    async def too_slow(request: Request, error: DeadlineExceeded) -> JSONResponse:
        return timed_out(settings.request_timeout_s, request.state.request_id)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service; tests pass their own ``Settings``."""
    settings = settings or Settings()
    # Tagging holds the GIL in its Python parts; hand it back to the event loop more often than
    # every 5 ms so that small requests (health checks) are not kept waiting behind it.
    sys.setswitchinterval(0.001)
    state = ServiceState(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await state.batcher.start()
        metrics = _metrics_server(settings)
        if settings.workers > 1:  # a worker (re)started beside others takes no connection before its models
            with handlers_set(STOPPED_AT_ONCE):
                await asyncio.to_thread(state.load_models)
        else:  # load in a thread: /health answers at once, /ready once the models are in
            threading.Thread(target=state.load_models, name="model-loader", daemon=True).start()
        yield
        state.accepting = False
        await state.batcher.stop()
        if metrics is not None:
            metrics.shutdown()
            metrics.server_close()

    app = FastAPI(
        title="NER service",
        version=__version__,
        description="Named-entity recognition with BiLSTM-CRF models: entities with character offsets, "
        "labels and calibrated probabilities; n-best analyses; English and Chinese.",
        lifespan=lifespan,
        default_response_class=SafeJSONResponse,
        openapi_url=None,  # served by api.routes
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,  # "/tag/" is a 404, not a redirect built from the client's Host header
    )
    app.state.service = state
    app.openapi = lambda: _openapi_with_limits(app, settings)  # type: ignore[method-assign]
    app.include_router(routes)
    # Added innermost first: a request meets them in the reverse order.
    if settings.gzip_min_bytes is not None:
        app.add_middleware(GZipMiddleware, minimum_size=settings.gzip_min_bytes, compresslevel=GZIP_LEVEL)
    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(Shed, batcher=state.batcher, settings=settings)
    app.add_middleware(Timeout, settings=settings)
    app.add_middleware(HeaderLimit, settings=settings)
    cors = None
    if settings.cors_origins:  # outside the limits: their refusals, too, reach a page of another origin readable
        cors = functools.partial(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["Retry-After", "X-Request-ID"],
            max_age=600,
        )
        app.add_middleware(cors)
    app.add_middleware(RequestContext, error_wrapper=cors)
    if settings.root_path:
        app.add_middleware(RootPath, root_path=settings.root_path)

    _answer_errors(app, settings)
    return app
