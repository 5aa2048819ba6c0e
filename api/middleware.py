"""ASGI middleware, one job each, outermost first:

- :class:`RootPath` serves the service under the path prefix of a reverse proxy (``NER_ROOT_PATH``),
  whether the proxy strips it or not;
- :class:`RequestContext` gives every request an id (``X-Request-Id``), logs one JSON line per
  request (with the id of its API key, never the key) and records the Prometheus metrics;
- :class:`HeaderLimit` answers 431 to a request with too many or too large headers;
- :class:`Timeout` bounds the time of a request: 408 while the client is still sending its body,
  503 once the service is working on it; it gives the request its ``deadline``;
- :class:`Shed` answers ``POST /tag`` with 503 and ``Retry-After`` while the batcher is full,
  before reading the body;
- :class:`BodyLimit` reads the body up to ``max_body_bytes`` (413 beyond), and holds at most
  ``max_buffered_bytes`` of bodies for all requests together (503 beyond); a client that hangs up
  before its answer cancels the request, its queued work dropped (logged as status 499).

An answer given before the body is read (:func:`answer_early`) first reads and drops what the
client sends of it, within bounds: closing a connection with unread data resets it, and a reset
loses the answer on its way to a client that sent ``Connection: close``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import traceback
import uuid
from collections.abc import Callable, Mapping

from prometheus_client import Counter, Histogram
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import routes
from api.batcher import MicroBatcher
from api.dependencies import key_id_of
from api.logs import SERVICE_LOGGER
from api.responses import error_response, overloaded, queue_full, timed_out, too_large
from api.settings import Settings

log = logging.getLogger(SERVICE_LOGGER)

REQUESTS = Counter("ner_requests_total", "HTTP requests", ["endpoint", "model", "status"])
LATENCY = Histogram(
    "ner_request_seconds",
    "Request latency",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30),  # 30: the timeout
)
ERRORS = Counter(
    "ner_errors_total", "Requests ending with an error status (499: the client hung up)", ["endpoint", "status"]
)
ENDPOINTS = frozenset(route.path for route in routes.router.routes)  # metrics name these; any other path is "other"
UNLOGGED = frozenset({"/health", "/ready"})  # the probes' paths, logged only when they fail
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
DRAIN_S = 3.0  # the longest an early answer waits for the body it drops
DRAIN_FACTOR = 4  # and the most it reads: this many times the largest body accepted
SMALL_BODY = 65_536  # bodies this small are never refused for memory: max_connections of them take little
CLIENT_GONE = 499  # the status logged for a request whose client hung up before its answer (as nginx logs it)


def route_path(scope: Scope) -> str:
    """The path the routes match: the request's, without the root path (:class:`RootPath`)."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root + "/") else path


def _header(scope: Scope, name: bytes) -> bytes | None:
    return next((v for k, v in scope["headers"] if k.lower() == name), None)


def _content_length(scope: Scope) -> int | None:
    declared = _header(scope, b"content-length")
    return int(declared) if declared is not None and declared.isdigit() else None


async def _drain(receive: Receive, limit: int) -> bool:
    """Read and drop the rest of the body: True once all of it came, False past ``limit`` bytes or ``DRAIN_S``."""
    size = 0
    try:
        async with asyncio.timeout(DRAIN_S):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return False
                size += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return True
                if size > limit:
                    return False
    except TimeoutError:
        return False


async def answer_early(
    response: Response, scope: Scope, receive: Receive, send: Send, drain_bytes: int, ended: bool = False
) -> None:
    """Answer a request whose body (or its rest: ``ended`` once it all came) is not wanted.

    The body is read and dropped first, up to ``drain_bytes`` and ``DRAIN_S``; if it did not all
    come, or the client asked ``Expect: 100-continue`` (it sends nothing until invited, and is not
    invited), the answer says ``Connection: close``.
    """
    declared = _content_length(scope)
    drained = ended or (
        _header(scope, b"expect") is None
        and (declared is None or declared <= drain_bytes)
        and await _drain(receive, drain_bytes)
    )
    if not drained:
        response.headers["connection"] = "close"
    await response(scope, receive, send)


# On every answer: no content sniffing, no framing (the page takes an API key), no referrer sent on.
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


class RootPath:
    """The service under a reverse proxy's path prefix (``/ner``): a request's path holds it as ASGI wants
    (``/ner/tag``), whether the proxy stripped it (``/tag``) or not; the page, asked for without its
    final ``/``, is sent there, so that its calls (``tag``, relative) go under the prefix."""

    def __init__(self, app: ASGIApp, root_path: str) -> None:
        self.app = app
        self.root_path = root_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        root, path = self.root_path, scope["path"]
        if path == root and scope["type"] == "http":
            query = scope.get("query_string", b"").decode("latin-1")
            location = root + "/" + (f"?{query}" if query else "")
            headers = {"location": location, **{k.decode(): v.decode() for k, v in SECURITY_HEADERS}}
            return await Response(status_code=308, headers=headers)(scope, receive, send)
        if not path.startswith(root + "/"):  # stripped by the proxy
            scope = {**scope, "path": root + path, "raw_path": root.encode() + (scope.get("raw_path") or path.encode())}
        await self.app({**scope, "root_path": root}, receive, send)


class RequestContext:
    """Request id, security headers, the answer to an unexpected error, status capture, access log and metrics.

    ``error_wrapper`` wraps the answer to an unexpected error in what the app's answers pass through
    outside the app (CORS: a page of another origin reads that 500 too)."""

    def __init__(self, app: ASGIApp, error_wrapper: Callable[[ASGIApp], ASGIApp] | None = None) -> None:
        self.app = app
        self.error_wrapper = error_wrapper or (lambda answer: answer)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        given = (_header(scope, b"x-request-id") or b"").decode("latin-1")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500  # unless an answer starts
        answered = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
                request_header = (b"x-request-id", request_id.encode("latin-1"))
                message["headers"] = [*message.get("headers", []), request_header, *SECURITY_HEADERS]
            await send(message)

        # HEAD is answered as GET is (RFC 9110); the server, which sees the method it was sent, sends no body.
        inner = {**scope, "method": "GET"} if scope["method"] == "HEAD" else scope
        try:
            await self.app(inner, receive, send_with_id)
        except Exception:
            if answered:  # too late for another answer: the server cuts the connection
                raise
            # One record, as every other line of the log is (a traceback's lines would each be a line).
            log.error(
                json.dumps({"event": "unexpected_error", "request_id": request_id, "error": traceback.format_exc()})
            )
            answer = self.error_wrapper(error_response(500, "internal_error", "internal error", request_id))
            await answer(scope, receive, send_with_id)
        finally:
            if state.get("client_gone") and not answered:  # a 500 sent to a gone client stays a 500
                status = CLIENT_GONE
            self._record(scope, status, time.perf_counter() - started)

    @staticmethod
    def _record(scope: Scope, status: int, elapsed: float) -> None:
        """Count the request and log it (``/health``'s answers below 400 are counted alone: probes call it
        every few seconds)."""
        path = route_path(scope)
        endpoint = path if path in ENDPOINTS else "other"
        model = scope["state"].get("model", "")
        REQUESTS.labels(endpoint, model, str(status)).inc()
        LATENCY.labels(endpoint).observe(elapsed)
        if status >= 400:
            ERRORS.labels(endpoint, str(status)).inc()
        if (path not in UNLOGGED or status >= 400) and log.isEnabledFor(logging.INFO):
            record = {
                "event": "request",
                "request_id": scope["state"]["request_id"],
                "method": scope["method"],
                "path": endpoint,
                "status": status,
                "ms": round(elapsed * 1000, 2),
                "model": model,
            }
            if key_id := scope["state"].get("key_id") or _key_id(scope):
                record["key"] = key_id
            log.info(json.dumps(record))


def _key_id(scope: Scope) -> str | None:
    """The id of the key a request answered before the key check carries (a 413, a shed 503), if any."""
    app = scope.get("app")
    return _carried_key(scope, app.state.service.keys) if app is not None and hasattr(app.state, "service") else None


def _carried_key(scope: Scope, keys: Mapping[str, bytes]) -> str | None:
    """The id of the key of ``keys`` that the request's ``Authorization`` header carries, if any."""
    header = _header(scope, b"authorization")
    return key_id_of(header.decode("latin-1"), keys) if keys and header else None


class HeaderLimit:
    """At most ``max_headers`` headers and ``max_header_bytes`` of request line and headers: 431 beyond.

    (The edge, :mod:`api.edge`, already closes a connection whose unfinished head passes
    ``max_header_bytes``; this catches a head that arrived whole.)
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.count = settings.max_headers
        self.size = settings.max_header_bytes
        self.drain_bytes = DRAIN_FACTOR * settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = scope["headers"]
        size = len(scope["raw_path"]) + len(scope["query_string"]) + sum(len(k) + len(v) + 4 for k, v in headers)
        if len(headers) <= self.count and size <= self.size:
            return await self.app(scope, receive, send)
        limit = "max_headers" if len(headers) > self.count else "max_header_bytes"
        message = f"at most {self.count} headers and {self.size} bytes of request line and headers"
        response = error_response(431, "headers_too_large", message, scope["state"].get("request_id"), limit=limit)
        await answer_early(response, scope, receive, send, self.drain_bytes)


class Timeout:
    """At most ``request_timeout_s`` per request; the answer says whose side was slow.

    The request's ``deadline`` (a :func:`time.monotonic` time) goes into its state for the
    model: past it nobody waits for the answer, and tagging stops.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.seconds = settings.request_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False
        scope["state"]["deadline"] = time.monotonic() + self.seconds

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
            await timed_out(self.seconds, scope["state"].get("request_id"), slow_client)(scope, receive, send)


class Shed:
    """While the batcher has no room for a small request, ``POST /tag`` gets 503 with ``Retry-After`` at once,
    before its body is read (whatever lane it would have gone to: counted as the interactive lane's); a
    request without an accepted key, where keys are set, goes on to get its 401."""

    def __init__(self, app: ASGIApp, batcher: MicroBatcher, settings: Settings) -> None:
        self.app = app
        self.batcher = batcher
        self.keys = settings.accepted_keys()
        self.drain_bytes = DRAIN_FACTOR * settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or (route_path(scope), scope["method"]) != ("/tag", "POST")
            or not self.batcher.full
            or (self.keys and _carried_key(scope, self.keys) is None)
        ):
            return await self.app(scope, receive, send)
        refusal = self.batcher.interactive.refuse()
        response = queue_full("interactive", refusal.retry_after, scope["state"].get("request_id"))
        await answer_early(response, scope, receive, send, self.drain_bytes)


class BodyLimit:
    """Reads the whole body (at most ``max_body_bytes``) before the app sees the request.

    All requests together hold at most ``max_buffered_bytes`` of bodies: a body that would pass
    that gets 503, unless it is small (``SMALL_BODY``), so that large bodies cannot crowd out
    ordinary requests. A declared length that could not be held now is refused before the body is
    read; what a body holds is counted as it comes, so connections that declare large bodies and
    send nothing hold no room from others.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.limit = settings.max_body_bytes
        self.budget = settings.max_buffered_bytes
        self.drain_bytes = DRAIN_FACTOR * settings.max_body_bytes
        self.held = 0  # bytes of bodies now held, all requests together

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request_id = scope["state"].get("request_id")
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            return await answer_early(too_large(self.limit, request_id), scope, receive, send, self.drain_bytes)
        if declared is not None and self._over_budget(declared, 0):
            return await answer_early(self._full(request_id), scope, receive, send, self.drain_bytes)
        chunks, size = [], 0  # size: the bytes of this body that came so far, and are held
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":  # the client hung up while sending its body
                    scope.setdefault("state", {})["client_gone"] = True
                    return
                chunk, ended = message.get("body", b""), not message.get("more_body", False)
                if size + len(chunk) > self.limit:
                    return await answer_early(
                        too_large(self.limit, request_id), scope, receive, send, self.drain_bytes, ended
                    )
                if self._over_budget(size + len(chunk), size):
                    return await answer_early(self._full(request_id), scope, receive, send, self.drain_bytes, ended)
                self.held += len(chunk)
                size += len(chunk)
                chunks.append(chunk)
                if ended:
                    break
            scope["state"]["body_read"] = True
            await _cancelled_on_disconnect(self.app, scope, b"".join(chunks), receive, send)
        finally:
            self.held -= size

    def _over_budget(self, size: int, reserved: int) -> bool:
        """Whether a body of ``size`` bytes, ``reserved`` of them held already, would pass the budget."""
        return size > SMALL_BODY and self.held + size - reserved > self.budget

    @staticmethod
    def _full(request_id: str | None) -> Response:
        return overloaded("memory for request bodies", 1, request_id, "max_buffered_bytes")


async def _cancelled_on_disconnect(app: ASGIApp, scope: Scope, body: bytes, receive: Receive, send: Send) -> None:
    """Runs ``app`` with the whole ``body`` while watching the connection: a client that hangs up before
    its answer is complete cancels the app (so the batcher drops the work queued for it) and marks the
    request ``client_gone``. The app's own ``receive`` gets the body, then the disconnect once it comes."""
    hung_up = asyncio.Event()
    answered = False
    body_given = False
    running = asyncio.current_task()
    assert running is not None

    async def replay() -> Message:
        nonlocal body_given
        if not body_given:
            body_given = True
            return {"type": "http.request", "body": body, "more_body": False}
        await hung_up.wait()
        return {"type": "http.disconnect"}

    async def tracking_send(message: Message) -> None:
        nonlocal answered
        answered = answered or (message["type"] == "http.response.body" and not message.get("more_body", False))
        await send(message)

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        hung_up.set()
        if not answered:  # the client hung up first
            scope["state"]["client_gone"] = True
            running.cancel()

    watcher = asyncio.ensure_future(watch())
    try:
        await app(scope, replay, tracking_send)
    except asyncio.CancelledError:
        if not scope["state"].get("client_gone") or running.uncancel():  # cancelled by something else too
            raise
    finally:
        watcher.cancel()
