"""The FastAPI application factory: ``create_app(settings)``.

Startup loads the models in a background thread (``/health`` answers at once,
``/ready`` says 503 until they are loaded) and starts the micro-batcher. An
ASGI middleware gives every request an id, checks the API key, bounds the body
size and the request time, logs one JSON line per request and records
Prometheus metrics.
"""

from __future__ import annotations

import asyncio
import gc
import hmac
import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import torch
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.batcher import MicroBatcher
from api.responses import SafeJSONResponse, error_response
from api.routes import router as routes
from api.settings import Settings
from ner.router import Router
from ner.tagger import Tagger

log = logging.getLogger("ner.api")

REQUESTS = Counter("ner_requests_total", "HTTP requests", ["endpoint", "model", "status"])
LATENCY = Histogram(
    "ner_request_seconds",
    "Request latency",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ERRORS = Counter("ner_errors_total", "Requests answered with an error status", ["endpoint", "status"])
OPEN_PATHS = frozenset({"/health", "/ready", "/", "/favicon.ico"})


class ServiceState:
    """What the routes need: settings, the loaded models, the batcher."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.router: Router | None = None
        self.load_errors: dict[str, str] = {}
        self.batcher: MicroBatcher | None = None
        self.accepting = True

    @property
    def ready(self) -> bool:
        return self.router is not None and self.accepting

    def load_models(self) -> None:
        taggers = []
        for path in self.settings.models:
            try:
                tagger = Tagger.load(path, bfloat16=self.settings.bfloat16)
                if any(t.name == tagger.name for t in taggers):
                    raise ValueError(f"another model is already named {tagger.name!r}")
                taggers.append(tagger)
                log.info(json.dumps({"event": "model_loaded", "path": path, "name": tagger.name}))
            except Exception as error:  # a bad model must not take the others down
                self.load_errors[path] = str(error)
                log.error(json.dumps({"event": "model_failed", "path": path, "error": str(error)}))
        # Everything alive now lives as long as the process: keep it out of the cyclic collector's
        # full scans, which otherwise pause the event loop for tens of milliseconds under load.
        gc.collect()
        gc.freeze()
        try:
            self.router = Router(taggers, self.settings.default_model)
        except (ValueError, KeyError) as error:  # no models, or an unknown default
            self.load_errors["router"] = str(error)
            log.critical(json.dumps({"event": "no_service", "error": str(error), "errors": self.load_errors}))

    def analyze(self, texts: list[str], options: tuple) -> list:
        model, lang, scores, tokens, nbest = options
        assert self.router is not None
        return self.router.analyze(texts, model=model, lang=lang, scores=scores, tokens=tokens, nbest=nbest)


class Guard:
    """ASGI middleware: request id, API key, body size limit, timeout, access log, metrics."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.key = settings.api_key.get_secret_value().encode() if settings.api_key else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["method"] == "POST" and "json" not in headers.get("content-type", ""):
            # Bodies are always JSON; accept them from clients that label them otherwise (curl -d).
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-type"]
            scope["headers"].append((b"content-type", b"application/json"))
        request_id = headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        path = scope["path"]
        status = {"code": 500}
        body_read = False

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            response = self._refuse(path, headers, request_id)
            if response is not None:
                await response(scope, receive, send_with_id)
            else:
                async with asyncio.timeout(self.settings.request_timeout_s):
                    body = await self._read_body(receive, headers)
                    body_read = True
                    if body is None:
                        response = error_response(
                            413,
                            "body_too_large",
                            f"request body over {self.settings.max_body_bytes} bytes",
                            request_id,
                            limit="max_body_bytes",
                        )
                        await response(scope, receive, send_with_id)
                    else:
                        await self.app(scope, _replay(body, receive), send_with_id)
        except TimeoutError:
            if status["code"] == 500:  # nothing sent yet: say why
                slow_client = not body_read
                await error_response(
                    408 if slow_client else 503,
                    "timeout",
                    f"{'the request body' if slow_client else 'the request'} took over "
                    f"{self.settings.request_timeout_s} s",
                    request_id,
                    limit="request_timeout_s",
                )(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            endpoint = path if path in _ENDPOINTS else "other"
            model = scope["state"].get("model", "")
            REQUESTS.labels(endpoint, model, str(status["code"])).inc()
            LATENCY.labels(endpoint).observe(elapsed)
            if status["code"] >= 400:
                ERRORS.labels(endpoint, str(status["code"])).inc()
            if path not in ("/health", "/metrics") and log.isEnabledFor(logging.INFO):
                log.info(
                    json.dumps(
                        {
                            "event": "request",
                            "request_id": request_id,
                            "method": scope["method"],
                            "path": path,
                            "status": status["code"],
                            "ms": round(elapsed * 1000, 2),
                            "model": model,
                        }
                    )
                )

    def _refuse(self, path: str, headers: dict[str, str], request_id: str) -> JSONResponse | None:
        if self.key is not None and path not in OPEN_PATHS:
            given = headers.get("authorization", "")
            scheme, _, token = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), self.key):
                return error_response(
                    401,
                    "unauthorized",
                    "missing or wrong API key (Authorization: Bearer KEY)",
                    request_id,
                    headers={"www-authenticate": "Bearer"},
                )
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.settings.max_body_bytes:
            return error_response(
                413,
                "body_too_large",
                f"request body over {self.settings.max_body_bytes} bytes",
                request_id,
                limit="max_body_bytes",
            )
        return None

    async def _read_body(self, receive: Receive, headers: dict[str, str]) -> bytes | None:
        """The whole body, or None once it passes the limit."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.settings.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


_ENDPOINTS = frozenset({"/tag", "/models", "/health", "/ready", "/metrics", "/", "/docs", "/openapi.json"})


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _openapi_with_limits(app: FastAPI, settings: Settings) -> dict:
    """The OpenAPI schema, with this server's configured limits written into the request schema."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        fields = schema["components"]["schemas"]["TagRequest"]["properties"]
        fields["text"]["maxLength"] = settings.max_chars
        fields["texts"]["maxItems"] = settings.max_texts
        fields["texts"]["items"]["maxLength"] = settings.max_chars
        fields["nbest"]["maximum"] = settings.max_nbest
        app.openapi_schema = schema
    return app.openapi_schema


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service; tests pass their own ``Settings``."""
    settings = settings or Settings()
    torch.set_num_threads(settings.threads)
    # Tagging holds the GIL in its Python parts; hand it back to the event loop more often than
    # every 5 ms so that small requests (health checks) are not kept waiting behind it.
    sys.setswitchinterval(0.001)
    state = ServiceState(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        batcher = MicroBatcher(
            state.analyze, settings.batch_wait_ms / 1000, settings.max_batch_texts, enabled=settings.batching
        )
        await batcher.start()
        state.batcher = batcher
        # Load in a thread: /health answers at once, /ready once the models are in.
        loader = threading.Thread(target=state.load_models, name="model-loader", daemon=True)
        loader.start()
        yield
        state.accepting = False
        await batcher.stop()

    app = FastAPI(
        title="NER service",
        version="1.0.0",
        description="Named-entity recognition with BiLSTM-CRF models: entities with character offsets, "
        "labels and calibrated probabilities; n-best analyses; English and Chinese.",
        lifespan=lifespan,
        default_response_class=SafeJSONResponse,
    )
    app.state.service = state
    app.openapi = lambda: _openapi_with_limits(app, settings)
    app.include_router(routes)
    app.add_middleware(Guard, settings=settings)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = error.errors()
        if any(p.get("type") == "json_invalid" for p in problems):
            return error_response(400, "invalid_json", "the body is not valid JSON", request.state.request_id)
        message = "; ".join(
            f"{'.'.join(str(x) for x in p.get('loc', ())[1:]) or 'body'}: {p.get('msg')}" for p in problems
        )
        return error_response(422, "invalid_request", message, request.state.request_id)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = (
            error.detail if isinstance(error.detail, dict) else {"type": "http_error", "message": str(error.detail)}
        )
        return error_response(
            error.status_code,
            detail.get("type", "http_error"),
            detail.get("message", ""),
            request.state.request_id,
            limit=detail.get("limit"),
            headers=error.headers,
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error_response(500, "internal_error", "internal error", getattr(request.state, "request_id", None))

    return app
