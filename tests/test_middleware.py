"""Each middleware in process, around a small ASGI app, with the request body sent as the test scripts it."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Sequence
from types import SimpleNamespace

import pytest
from starlette.types import Message, Receive, Scope, Send

from api import middleware
from api.batcher import MicroBatcher
from api.middleware import BodyLimit, HeaderLimit, RequestContext, RootPath, Shed, Timeout
from api.settings import Settings

SETTINGS = Settings(models=[], metrics_port=None, max_body_bytes=1000, max_buffered_bytes=3000, request_timeout_s=1)


class Exchange:
    """One request through an ASGI app: the body comes in ``chunks`` (``pause`` s apart; after the last
    one nothing more, as from a client that waits for its answer, or one that ``stalls`` before the end
    of its body, or one that ``hangs_up`` that many seconds after it); what the app sent is kept."""

    def __init__(
        self,
        headers: Sequence[tuple[str, str]] = (),
        chunks: Sequence[bytes] = (b"",),
        pause: float = 0,
        stalls: bool = False,
        hangs_up: float | None = None,
    ) -> None:
        self.scope: Scope = {
            "type": "http",
            "method": "POST",
            "path": "/tag",
            "raw_path": b"/tag",
            "query_string": b"",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
            "state": {},
        }
        self.chunks = list(chunks)
        self.pause = pause
        self.stalls = stalls
        self.hangs_up = hangs_up
        self.read = 0  # body messages the app took
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        if self.read < len(self.chunks):
            await asyncio.sleep(self.pause)
            self.read += 1
            return {
                "type": "http.request",
                "body": self.chunks[self.read - 1],
                "more_body": self.stalls or self.read < len(self.chunks),
            }
        if self.hangs_up is not None:
            await asyncio.sleep(self.hangs_up)
            return {"type": "http.disconnect"}
        await asyncio.sleep(3600)  # the client sends nothing more
        raise AssertionError("unreachable")

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    async def through(self, app) -> Exchange:
        await app(self.scope, self.receive, self.send)
        return self

    def run(self, app) -> Exchange:
        return asyncio.run(self.through(app))

    @property
    def status(self) -> int:
        return self.sent[0]["status"]

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.sent[0]["headers"]}

    @property
    def json(self) -> dict:
        return json.loads(b"".join(m.get("body", b"") for m in self.sent[1:]))


class App:
    """Reads the whole body, then answers 200 with its length after ``delay`` s; counts its calls."""

    def __init__(self, delay: float = 0) -> None:
        self.delay = delay
        self.calls = 0
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        self.scopes.append(scope)
        size = 0
        while True:
            message = await receive()
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await asyncio.sleep(self.delay)
        body = json.dumps({"size": size}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


def length(size: int) -> tuple[str, str]:
    return ("content-length", str(size))


# RequestContext


def test_request_id_is_echoed_when_safe_and_replaced_otherwise() -> None:
    context = RequestContext(App())
    assert Exchange([("x-request-id", "trace-42.a:b")]).run(context).headers["x-request-id"] == "trace-42.a:b"
    for given in ("x" * 65, "two words", "<script>", ""):
        made = Exchange([("x-request-id", given)]).run(context).headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", made), given


def test_the_log_names_the_api_key_by_its_id(caplog: pytest.LogCaptureFixture) -> None:
    async def authorized(scope: Scope, receive: Receive, send: Send) -> None:
        scope["state"]["key_id"] = "rotation-2"
        await App()(scope, receive, send)

    with caplog.at_level(logging.INFO, logger="ner.api"):
        Exchange().run(RequestContext(authorized))
    (record,) = [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith("{")]
    assert record["key"] == "rotation-2" and record["status"] == 200 and record["path"] == "/tag"
    # answered before the key check (a 413): the key's id still, found from the header
    service = SimpleNamespace(keys={"rotation-2": b"k2", "rotation-1": b"k1"})
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ner.api"):
        early = Exchange([("authorization", "Bearer k1"), length(5000)], chunks=[b"a" * 5000])
        early.scope["app"] = SimpleNamespace(state=SimpleNamespace(service=service))
        early.run(RequestContext(BodyLimit(App(), SETTINGS)))
    (record,) = [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith("{")]
    assert record["key"] == "rotation-1" and record["status"] == 413


@pytest.mark.parametrize("path", ["/health", "/ready"])
def test_probes_are_logged_only_when_they_fail(path: str, caplog: pytest.LogCaptureFixture) -> None:
    """Probes call them every few seconds (readiness every 5 s: 17,000 lines a pod a day): their answers are
    counted, and logged when they are errors."""
    with caplog.at_level(logging.INFO, logger="ner.api"):
        for headers in ([], [(f"x-{i}", "1") for i in range(100)]):
            probe = Exchange(headers)
            probe.scope |= {"method": "GET", "path": path}
            probe.run(RequestContext(HeaderLimit(App(), SETTINGS)))
    assert [json.loads(r.getMessage())["status"] for r in caplog.records] == [431]


# HeaderLimit


def test_too_many_or_too_large_headers_get_431_and_the_app_never_sees_them() -> None:
    app = App()
    limit = HeaderLimit(app, Settings(models=[], max_headers=10, max_header_bytes=2048))
    many = Exchange([(f"x-{i}", "1") for i in range(11)]).run(limit)
    assert many.status == 431 and many.json["error"]["limit"] == "max_headers"
    large = Exchange([("x-big", "a" * 2100)]).run(limit)
    assert large.status == 431 and large.json["error"]["limit"] == "max_header_bytes"
    assert app.calls == 0
    assert Exchange([(f"x-{i}", "1") for i in range(10)]).run(limit).status == 200 and app.calls == 1


# Timeout


def test_timeout_gives_the_request_its_deadline() -> None:
    app = App()
    before = time.monotonic()
    Exchange().run(Timeout(app, SETTINGS))
    assert before + 1 <= app.scopes[0]["state"]["deadline"] <= time.monotonic() + 1


def test_a_slow_body_gets_408_and_the_connection_closed() -> None:
    slow = Exchange([length(3)], chunks=[b"a", b"b", b"c"], pause=0.6).run(Timeout(App(), SETTINGS))
    assert slow.status == 408 and slow.headers["connection"] == "close"
    assert slow.json["error"]["limit"] == "request_timeout_s"


def test_slow_work_after_the_body_gets_503() -> None:
    timed_out = Exchange().run(Timeout(BodyLimit(App(delay=5), SETTINGS), SETTINGS))
    assert timed_out.status == 503 and timed_out.json["error"]["type"] == "timeout"


# Shed


def test_a_full_batcher_sheds_tag_requests_at_once_with_retry_after() -> None:
    app = App()
    batcher = MicroBatcher(queue_work=100)
    shed = Shed(app, batcher, SETTINGS)
    assert Exchange().run(shed).status == 200
    batcher.interactive.pending = 100  # as if 100 tokens of work were waiting
    assert batcher.full
    started = time.perf_counter()
    refused = Exchange([length(2)], chunks=[b"{}"]).run(shed)
    assert time.perf_counter() - started < 2
    assert refused.status == 503 and refused.headers["retry-after"] == "1"
    assert refused.json["error"]["type"] == "overloaded" and refused.json["error"]["limit"] == "queue_tokens"
    assert "connection" not in refused.headers and refused.read == 1  # its body was read: the connection lives on
    assert app.calls == 1 and batcher.saturated()
    other = Exchange()
    other.scope["path"] = "/health"
    assert other.run(shed).status == 200
    get = Exchange()  # no request for the lanes: answered as it would be (405 here, by the app)
    get.scope["method"] = "GET"
    assert get.run(shed).status == 200 and app.calls == 3
    keyed = Shed(app, batcher, Settings(models=[], metrics_port=None, api_key="k1"))
    assert Exchange().run(keyed).status == 200 and app.calls == 4  # no key: on to its 401
    assert Exchange([("authorization", "Bearer k1")]).run(keyed).status == 503 and app.calls == 4


def test_a_full_batcher_sheds_tag_requests_under_a_root_path_too() -> None:
    """Under NER_ROOT_PATH the path holds the prefix: /ner/tag went on to its route, its body read first."""
    app = App()
    batcher = MicroBatcher(queue_work=100)
    batcher.interactive.pending = 100
    served = RootPath(Shed(app, batcher, SETTINGS), "/ner")
    for path in ("/tag", "/ner/tag"):  # as a proxy that strips the prefix sends it, and one that keeps it
        request = Exchange([length(2)], chunks=[b"{}"])
        request.scope["path"] = path
        assert request.run(served).status == 503 and app.calls == 0


# RootPath


def test_a_root_path_is_in_every_path_whether_the_proxy_strips_it_or_not() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    served = RootPath(app, "/ner")
    for path in ("/tag", "/ner/tag", "/nerve"):
        request = Exchange()
        request.scope["path"], request.scope["raw_path"] = path, path.encode()
        assert request.run(served).status == 200
    assert [(s["root_path"], s["path"], s["raw_path"], middleware.route_path(s)) for s in seen] == [
        ("/ner", "/ner/tag", b"/ner/tag", "/tag"),
        ("/ner", "/ner/tag", b"/ner/tag", "/tag"),
        ("/ner", "/ner/nerve", b"/ner/nerve", "/nerve"),  # /nerve is no path under /ner: one stripped
    ]
    page = Exchange()
    page.scope.update(method="GET", path="/ner", query_string=b"a=1")
    assert page.run(served).status == 308 and page.headers["location"] == "/ner/?a=1"  # the page's calls are relative
    assert len(seen) == 3


# BodyLimit and early answers


def test_an_oversized_body_gets_413_after_it_is_read_and_dropped() -> None:
    app = App()
    declared = Exchange([length(1500)], chunks=[b"a" * 500] * 3).run(BodyLimit(app, SETTINGS))
    assert declared.status == 413 and declared.json["error"]["limit"] == "max_body_bytes"
    assert declared.read == 3 and "connection" not in declared.headers
    streamed = Exchange(chunks=[b"a" * 600] * 3).run(BodyLimit(app, SETTINGS))  # no length declared
    assert streamed.status == 413 and streamed.read == 3
    assert app.calls == 0


def test_expect_100_continue_is_answered_without_inviting_the_body() -> None:
    refused = Exchange([length(1500), ("expect", "100-continue")], chunks=[b"a" * 1500]).run(BodyLimit(App(), SETTINGS))
    assert refused.status == 413 and refused.read == 0 and refused.headers["connection"] == "close"
    accepted = Exchange([length(5), ("expect", "100-continue")], chunks=[b"hello"]).run(BodyLimit(App(), SETTINGS))
    assert accepted.status == 200 and accepted.json == {"size": 5}


def test_a_body_too_large_to_drain_is_not_read_and_the_connection_closed() -> None:
    huge = Exchange([length(50_000)], chunks=[b"a" * 10_000] * 5).run(BodyLimit(App(), SETTINGS))
    assert huge.status == 413 and huge.read == 0 and huge.headers["connection"] == "close"
    endless = Exchange(chunks=[b"a" * 1000] * 10).run(BodyLimit(App(), SETTINGS))  # past 4 x max_body_bytes
    assert endless.status == 413 and endless.read < 10 and endless.headers["connection"] == "close"


def test_draining_stops_after_a_few_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(middleware, "DRAIN_S", 0.3)
    started = time.perf_counter()
    stalled = Exchange([length(1200)], chunks=[b"a" * 1001], stalls=True).run(BodyLimit(App(), SETTINGS))
    assert 0.3 <= time.perf_counter() - started < 2.5  # not DRAIN_S's 3 s
    assert stalled.status == 413 and stalled.headers["connection"] == "close"


def test_bodies_held_at_once_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(middleware, "SMALL_BODY", 100)  # bodies of 10 bytes are always taken
    app = App(delay=2)  # the holders keep their bodies while the others come
    limit = BodyLimit(app, SETTINGS)  # 3000 bytes of bodies at once

    async def scenario() -> list[Exchange]:
        holders = [asyncio.create_task(Exchange([length(1000)], chunks=[b"a" * 1000]).through(limit)) for _ in range(3)]
        await asyncio.sleep(0.1)
        assert limit.held == 3000
        declared = await Exchange([length(200)], chunks=[b"a" * 200]).through(limit)
        streamed = await Exchange(chunks=[b"a" * 60] * 3).through(limit)
        small = await Exchange([length(10)], chunks=[b"a" * 10]).through(limit)
        done = await asyncio.gather(*holders)
        return [declared, streamed, small, *done]

    declared, streamed, small, *done = asyncio.run(scenario())
    for refused in (declared, streamed):
        assert refused.status == 503 and refused.headers["retry-after"] == "1"
        assert refused.json["error"]["limit"] == "max_buffered_bytes"
    assert declared.read == 1 and streamed.read == 3  # read and dropped, not held
    assert small.status == 200
    assert [d.status for d in done] == [200, 200, 200] and limit.held == 0
    assert Exchange([length(200)], chunks=[b"a" * 200]).run(limit).status == 200


def test_declared_lengths_hold_no_room_until_their_bodies_come() -> None:
    """Connections that declare large bodies and send nothing do not crowd out a body that comes."""
    app = App()
    limit = BodyLimit(app, SETTINGS)  # 3000 bytes of bodies at once

    async def scenario() -> tuple[Exchange, int]:
        idle = [Exchange([length(1000)], chunks=[]) for _ in range(5)]
        tasks = [asyncio.create_task(exchange.through(limit)) for exchange in idle]
        await asyncio.sleep(0.05)
        held = limit.held
        answered = await Exchange([length(1000)], chunks=[b"a" * 1000]).through(limit)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return answered, held

    answered, held = asyncio.run(scenario())
    assert held == 0 and answered.status == 200 and limit.held == 0


def test_a_client_that_hangs_up_cancels_its_request_which_is_logged_499(caplog: pytest.LogCaptureFixture) -> None:
    """Its work stops (here the app's wait, in the service the batcher's queued job) and no answer is sent;
    a client that waits for its answer gets it, though the connection ends after it."""
    stack = RequestContext(BodyLimit(App(delay=30), SETTINGS))
    with caplog.at_level(logging.INFO, logger="ner.api"):
        started = time.monotonic()
        gone = Exchange([length(5)], chunks=[b"hello"], hangs_up=0.1).run(stack)
        assert time.monotonic() - started < 5 and gone.sent == []
        waited = Exchange([length(5)], chunks=[b"hello"], hangs_up=0.5).run(RequestContext(BodyLimit(App(), SETTINGS)))
        assert waited.status == 200 and waited.json == {"size": 5}
        # Gone halfway through its body: no server error either (it had been logged and counted 500).
        midway = Exchange([length(500)], chunks=[b'{"text": "ab'], stalls=True, hangs_up=0.1)
        assert midway.run(RequestContext(BodyLimit(App(), SETTINGS))).sent == []
    logged = [json.loads(r.getMessage())["status"] for r in caplog.records if r.getMessage().startswith("{")]
    assert logged == [499, 200, 499]


def test_an_unexpected_error_is_answered_as_json_with_every_answers_headers(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("a bug")

    with caplog.at_level(logging.ERROR, logger="ner.api"):
        exchange = Exchange(headers=[("x-request-id", "bug-1")]).run(RequestContext(broken))
    assert exchange.status == 500
    assert exchange.json == {"error": {"type": "internal_error", "message": "internal error", "request_id": "bug-1"}}
    assert exchange.headers["x-request-id"] == "bug-1" and exchange.headers["x-content-type-options"] == "nosniff"
    (record,) = [json.loads(r.getMessage()) for r in caplog.records]  # one line of JSON, the trace in it
    assert record["event"] == "unexpected_error" and record["request_id"] == "bug-1"
    assert "RuntimeError: a bug" in record["error"]  # the trace goes to the log, not to the client


def test_an_error_after_the_answer_started_is_left_to_the_server() -> None:
    async def broken_midway(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        Exchange().run(RequestContext(broken_midway))


def test_a_bug_met_while_cancelling_a_gone_clients_request_is_still_a_500(caplog: pytest.LogCaptureFixture) -> None:
    async def buggy_cleanup(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            raise RuntimeError("a bug in the cancellation path") from None

    with caplog.at_level(logging.INFO, logger="ner.api"):
        Exchange([length(5)], chunks=[b"hello"], hangs_up=0.1).run(RequestContext(BodyLimit(buggy_cleanup, SETTINGS)))
    records = [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith("{")]
    # counted as the server's error, not as the client's hang-up
    assert [r["status"] for r in records if r["event"] == "request"] == [500]
