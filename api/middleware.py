"""ASGI middleware, one job each, outermost first:

- :class:`RequestContext` gives every request an id (``X-Request-Id``), logs one JSON line per
  request and records the Prometheus metrics;
- :class:`Timeout` bounds the time of a request: 408 while the client is still sending its body,
  503 once the service is working on it;
- :class:`BodyLimit` reads the body up to ``max_body_bytes`` and answers 413 beyond it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.responses import error_response, too_large
from api.settings import Settings

log = logging.getLogger("ner.api")

REQUESTS = Counter("ner_requests_total", "HTTP requests", ["endpoint", "model", "status"])
LATENCY = Histogram(
    "ner_request_seconds",
    "Request latency",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ERRORS = Counter("ner_errors_total", "Requests answered with an error status", ["endpoint", "status"])
ENDPOINTS = frozenset({"/tag", "/models", "/health", "/ready", "/metrics", "/", "/docs", "/openapi.json"})
UNLOGGED = frozenset({"/health", "/metrics"})


class RequestContext:
    """Request id, status capture, access log and metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"x-request-id"), "")
        request_id = given[:64] or uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    @staticmethod
    def _record(scope: Scope, status: int, elapsed: float) -> None:
        path = scope["path"]
        endpoint = path if path in ENDPOINTS else "other"
        model = scope["state"].get("model", "")
        REQUESTS.labels(endpoint, model, str(status)).inc()
        LATENCY.labels(endpoint).observe(elapsed)
        if status >= 400:
            ERRORS.labels(endpoint, str(status)).inc()
        if path not in UNLOGGED and log.isEnabledFor(logging.INFO):
            record = {
                "event": "request",
                "request_id": scope["state"]["request_id"],
                "method": scope["method"],
                "path": path,
                "status": status,
                "ms": round(elapsed * 1000, 2),
                "model": model,
            }
            log.info(json.dumps(record))


class Timeout:
    """At most ``request_timeout_s`` per request; the answer says whose side was slow."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.seconds = settings.request_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            async with asyncio.timeout(self.seconds):
                await self.app(scope, receive, tracking_send)
        except TimeoutError:
            if started:  # the answer is on its way: nothing more can be said
                return
            slow_client = not scope["state"].get("body_read", False)
            what = "the request body" if slow_client else "the request"
            response = error_response(
                408 if slow_client else 503,
                "timeout",
                f"{what} took over {self.seconds} s",
                scope["state"].get("request_id"),
                limit="request_timeout_s",
            )
            await response(scope, receive, send)


class BodyLimit:
    """Reads the whole body (at most ``max_body_bytes``) before the app sees the request."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.limit = settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = next((v for k, v in scope["headers"] if k.lower() == b"content-length"), b"")
        body = None if declared.isdigit() and int(declared) > self.limit else await self._read(receive)
        scope["state"]["body_read"] = True
        if body is None:
            return await too_large(self.limit, scope["state"].get("request_id"))(scope, receive, send)
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body, or None once it passes the limit."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
