"""Hostile clients against the real server (issue 17's probes): slow and huge headers, early errors on
closing connections, bodies held open, costly requests, overload, and what the service tells outsiders."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest

from ner import bundle as bundles
from ner.tagger import Tagger

from .conftest import reseal
from .server import Server, free_port, serving, wait_for_log

TEXT = "John Smith visited Berlin on Monday."
KEY = "k3y-for-probes"
AUTH = {"authorization": f"Bearer {KEY}"}
AUTH_LINE = f"Authorization: Bearer {KEY}"
EDGE = {"idle_timeout_s": 1, "max_connections": 32, "api_keys": f"probe:{KEY}"}  # max_body_bytes: 2 MB


@pytest.fixture(scope="module")
def edge(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving([tiny_model], tmp_path_factory.mktemp("edge") / "server.log", **EDGE) as server:
        yield server


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def head(path: str = "/tag", *lines: str, method: str = "POST") -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: x\r\n" + "".join(f"{line}\r\n" for line in lines) + "\r\n").encode()


def closed_within(connection: socket.socket, seconds: float) -> bool:
    """Whether the server closes ``connection`` within ``seconds`` (anything it sends is dropped)."""
    connection.settimeout(seconds)
    until = time.monotonic() + seconds
    try:
        while time.monotonic() < until:
            if not connection.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    return False


def answer(connection: socket.socket, stream: BinaryIO | None = None) -> tuple[int, dict[str, str], bytes]:
    """Read one response: status, headers, body (from ``stream``, the connection's, when several answers come
    at once: a stream of its own for each would drop what the one before had read ahead)."""
    stream = stream or connection.makefile("rb")
    status = int(stream.readline().split()[1])
    headers = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, stream.read(int(headers.get("content-length", 0)))


def healthy(server: Server) -> bool:
    return httpx.get(f"{server.url}/health", timeout=5).status_code == 200


# Slow, huge and many headers


def test_a_connection_that_sends_nothing_is_closed(edge: Server) -> None:
    with connect(edge) as silent:
        assert closed_within(silent, 5)


def test_headers_sent_slowly_are_cut_off_and_others_are_served(edge: Server) -> None:
    with connect(edge) as slow:
        slow.sendall(b"POST /tag HTTP/1.1\r\nHost: x\r\n")
        started, cut = time.monotonic(), False
        for i in range(40):  # one header every 0.2 s: the whole head would take 8 s
            try:
                slow.sendall(f"X-Slow-{i}: 1\r\n".encode())
            except OSError:
                cut = True
                break
            assert httpx.get(f"{edge.url}/health", timeout=5).status_code == 200
            time.sleep(0.2)
        assert cut or closed_within(slow, 1)
        assert time.monotonic() - started < 7  # not the 8 s of the whole head


def test_an_unfinished_head_after_a_kept_alive_request_is_cut_off(edge: Server) -> None:
    with connect(edge) as connection:
        connection.sendall(head("/health", method="GET"))
        assert answer(connection)[0] == 200
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        assert closed_within(connection, 5)


@pytest.mark.parametrize(
    "flood",
    [
        pytest.param(lambda: b"X-Huge: " + b"a" * 10_000_000 + b"\r\n", id="10 MB header"),
        pytest.param(lambda: b"".join(b"X-%d: 1\r\n" % i for i in range(100_000)), id="100000 headers"),
    ],
)
def test_huge_heads_are_refused_without_holding_memory(edge: Server, flood) -> None:
    before = edge.rss_mb()
    with connect(edge) as connection:
        connection.sendall(b"POST /tag HTTP/1.1\r\nHost: x\r\n")
        try:
            connection.sendall(flood() + b"\r\n")
            status = answer(connection)[0]
        except OSError:  # cut off while still sending
            status = None
    assert status in (None, 431)  # the unfinished head passed max_header_bytes: 431, and closed
    assert healthy(edge)
    assert edge.rss_mb() - before < 30


def test_a_connection_pipelining_past_the_limit_is_closed_and_its_queue_let_go(edge: Server) -> None:
    """Each queued request held about 2 KB: 256 KB of pipelined GETs sent and never read held 14 MB."""
    from api.edge import MAX_PIPELINED

    with connect(edge) as few:  # within the limit: every one answered, in order
        few.sendall(head("/health", method="GET") * MAX_PIPELINED)
        stream = few.makefile("rb")
        assert [answer(few, stream)[0] for _ in range(MAX_PIPELINED)] == [200] * MAX_PIPELINED
    with connect(edge) as past:  # one more: the one under way is answered (unless the close, with requests
        past.sendall(head("/health", method="GET") * (MAX_PIPELINED + 2))  # unread, resets it), then closed
        assert closed_within(past, 5)
    before = edge.rss_mb()
    with connect(edge) as flood:
        with contextlib.suppress(OSError):  # closed while sending
            flood.sendall(head("/health", method="GET") * 8_000)
        assert closed_within(flood, 5)
    assert healthy(edge) and edge.rss_mb() - before < 5


def test_a_websocket_upgrade_is_served_as_http_without_a_log_line(edge: Server) -> None:
    """uvicorn logged two warnings for each such request, on any route, without a key."""
    logged = edge.log.stat().st_size
    with connect(edge) as connection:
        for _ in range(5):
            connection.sendall(head("/health", "Connection: Upgrade", "Upgrade: websocket", method="GET"))
            assert answer(connection)[0] == 200
    assert "upgrade" not in edge.log.read_bytes()[logged:].decode().lower()


def test_a_whole_head_with_too_many_headers_gets_431(edge: Server) -> None:
    with connect(edge) as connection:
        connection.sendall(head("/health", *(f"X-{i}: 1" for i in range(100)), method="GET"))
        status, _, body = answer(connection)
    assert status == 431 and json.loads(body)["error"]["limit"] == "max_headers"


def test_an_unfinished_head_too_large_gets_a_431_in_json_as_every_error(edge: Server) -> None:
    """The edge's 431 had no body, where a generated client parses each error's body as JSON."""
    with connect(edge) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 10_000)
        time.sleep(0.2)
        connection.sendall(b"a" * 10_000)
        status, headers, body = answer(connection)
    assert status == 431 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["type"] == "headers_too_large"


def test_unfinished_huge_heads_hold_no_memory(edge: Server) -> None:
    before = edge.rss_mb()

    def send_forever() -> bool:
        """Send an endless header (up to 50 MB); True when the server cut it off."""
        with connect(edge) as connection:
            connection.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Endless: ")
            try:
                for _ in range(50):
                    connection.sendall(b"a" * 1_000_000)
            except OSError:
                return True
            return closed_within(connection, 5)

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        assert all(pool.map(lambda _: send_forever(), range(3)))
    assert healthy(edge) and edge.rss_mb() - before < 30


def test_idle_connections_past_max_connections_are_refused_then_reaped(edge: Server) -> None:
    idle = [connect(edge) for _ in range(EDGE["max_connections"] + 5)]
    try:
        with connect(edge) as extra:
            extra.sendall(head("/health", method="GET"))
            assert answer(extra)[0] == 503  # uvicorn's limit_concurrency
        time.sleep(2)  # the idle ones sent no request head within idle_timeout_s: closed
        assert all(closed_within(c, 5) for c in idle)
        assert healthy(edge)
    finally:
        for connection in idle:
            connection.close()


# Early error answers reach a client that closes the connection


def urlopen_status(request: urllib.request.Request) -> int:
    """The status urllib sees (it always sends ``Connection: close``); a reset raises."""
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        # Bodies larger than what the sockets buffer: the client is still sending when the answer is ready.
        (b"a" * 7_000_000, {"content-type": "application/json", **AUTH}, 413),  # over max_body_bytes
        (json.dumps({"text": "a " * 900_000}).encode(), {"content-type": "application/json"}, 401),  # no key
        (json.dumps({"text": "a " * 900_000}).encode(), {"content-type": "text/plain", **AUTH}, 415),
    ],
    ids=["413", "401", "415"],
)
def test_early_errors_reach_a_client_that_sends_connection_close(
    edge: Server, body: bytes, headers: dict, status: int
) -> None:
    request = urllib.request.Request(f"{edge.url}/tag", data=body, headers=headers, method="POST")
    assert [urlopen_status(request) for _ in range(20)] == [status] * 20


def test_expect_100_continue_is_honoured(edge: Server) -> None:
    body = json.dumps({"text": TEXT}).encode()
    with connect(edge) as connection:
        connection.sendall(
            head(
                "/tag",
                "Content-Type: application/json",
                f"Content-Length: {len(body)}",
                "Expect: 100-continue",
                AUTH_LINE,
            )
        )
        assert connection.recv(100).startswith(b"HTTP/1.1 100 ")
        connection.sendall(body)
        assert answer(connection)[0] == 200
    with connect(edge) as connection:  # too large: refused at once, the body never invited
        connection.sendall(
            head("/tag", "Content-Type: application/json", "Content-Length: 5000000", "Expect: 100-continue")
        )
        status, headers, _ = answer(connection)
        assert status == 413 and headers["connection"] == "close"


# Bodies held open, costly requests


def test_many_connections_holding_big_bodies_use_bounded_memory(tiny_model: Path, tmp_path: Path) -> None:
    budget = 32_000_000
    with serving([tiny_model], tmp_path / "log", max_buffered_bytes=budget) as server:
        before = server.rss_mb()
        release = threading.Event()

        def hold() -> None:
            with connect(server) as connection:
                connection.sendall(head("/tag", "Content-Type: application/json", "Content-Length: 1900000"))
                try:
                    connection.sendall(b'{"text": "' + b"a" * 1_500_000)  # and never the rest
                except OSError:  # turned away, and the connection closed, while sending
                    return
                release.wait(30)

        holders = [threading.Thread(target=hold) for _ in range(100)]
        for thread in holders:
            thread.start()
        time.sleep(5)
        during = server.rss_mb()
        small = httpx.post(f"{server.url}/tag", json={"text": TEXT}, timeout=10)  # small bodies always get in
        release.set()
        for thread in holders:
            thread.join()
        assert small.status_code == 200
        assert during - before < 100, (before, during)  # without the budget: 150 MB of bodies
        assert healthy(server)
    log = (tmp_path / "log").read_text()
    assert '"status": 503' in log  # the ones beyond the budget were turned away


def test_nbest_on_64_kb_of_paris_is_refused_at_once_and_the_costliest_allowed_one_answered(edge: Server) -> None:
    costly = httpx.post(f"{edge.url}/tag", json={"text": "Paris . " * 8000, "nbest": 10}, headers=AUTH, timeout=30)
    assert costly.status_code == 422 and costly.json()["error"]["limit"] == "max_tokens"
    assert "16000 tokens x (1 + nbest 10)" in costly.json()["error"]["message"]
    allowed = httpx.post(f"{edge.url}/tag", json={"text": "Paris . " * 909, "nbest": 10}, headers=AUTH, timeout=30)
    assert allowed.status_code == 200 and len(allowed.json()["results"][0]["nbest"]) == 10


def test_a_timed_out_request_stops_computing(tiny_model: Path, tmp_path: Path) -> None:
    metrics = free_port()
    limits = {"max_tokens": 2_000_000, "max_chars": 500_000, "request_timeout_s": 1, "metrics_port": metrics}
    with serving([tiny_model], tmp_path / "log", **limits) as server:
        # About 7 s of work: 100,000 tokens with 10 best analyses.
        slow = httpx.post(f"{server.url}/tag", json={"text": "Paris . " * 50_000, "nbest": 10}, timeout=30)
        assert slow.status_code == 503 and slow.json()["error"]["type"] == "timeout"
        given_up = time.monotonic()
        while bulk_work(metrics) > 0:  # the model thread lets go of it at its next batch
            assert time.monotonic() - given_up < 3, "the timed-out request is still being computed"
            time.sleep(0.05)
        after = httpx.post(f"{server.url}/tag", json={"text": "Paris . " * 1000, "nbest": 1}, timeout=30)
        assert after.status_code == 200


def bulk_work(port: int) -> float:
    for line in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text.splitlines():
        if line.startswith('ner_queue_work{lane="bulk"}'):
            return float(line.split()[-1])
    raise AssertionError("no ner_queue_work for the bulk lane")


# Overload: 503 with Retry-After at once, /ready fails meanwhile


def test_overload_gets_an_immediate_503_with_retry_after_and_ready_fails(tiny_model: Path, tmp_path: Path) -> None:
    with serving([tiny_model], tmp_path / "log", queue_tokens=1) as server:  # room for one request at a time
        text = "John Smith visited Berlin on Monday . " * 20

        def one(_: int) -> tuple[int, str | None, float]:
            started = time.perf_counter()
            response = httpx.post(f"{server.url}/tag", json={"text": text}, timeout=30)
            return response.status_code, response.headers.get("retry-after"), time.perf_counter() - started

        readiness: list[int] = []
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            calls = [pool.submit(one, i) for i in range(200)]
            while not all(call.done() for call in calls):
                readiness.append(httpx.get(f"{server.url}/ready", timeout=5).status_code)
                time.sleep(0.05)
            results = [call.result() for call in calls]
        shed = [r for r in results if r[0] == 503]
        assert {status for status, _, _ in results} == {200, 503} and shed
        assert all(retry is not None and int(retry) >= 1 for _, retry, _ in shed)
        assert max(seconds for _, _, seconds in shed) < 15  # at once: not after request_timeout_s (30 s)
        assert 503 in readiness  # saturated: the balancer should send traffic elsewhere
        time.sleep(1.5)
        ready = httpx.get(f"{server.url}/ready", timeout=5)
        assert ready.status_code == 200 and ready.json() == {"status": "ready"}


# What the service tells outsiders


def tampered(model: Path, into: Path) -> Path:
    """A copy of ``model`` under another name whose vocabulary no longer fits its weights, its manifest
    rewritten to match, as tampering would: it passes ``ner serve``'s checks and fails to load."""
    shutil.copytree(model, into)
    for name, change in (("config.json", {"name": into.name}), ("vocab.json", {"words": ["one", "too", "few"]})):
        (into / name).write_text(json.dumps({**json.loads((into / name).read_text()), **change}))
    reseal(into, "config.json", "vocab.json")
    return into


def test_ready_fails_with_a_model_that_failed_to_load_and_tells_only_the_log(tiny_model: Path, tmp_path: Path) -> None:
    twin = tampered(tiny_model, tmp_path / "twin")
    log = tmp_path / "log"
    with serving([tiny_model, twin], log, wait_for="/health") as server:
        wait_for_log(log, '"model_failed"')
        ready = httpx.get(f"{server.url}/ready", timeout=5)
        assert ready.status_code == 503 and ready.json() == {"status": "not ready"}
        assert str(twin) not in ready.text
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith('{"event": "readiness"')]
    assert records[-1]["state"] == "model_failed" and str(twin) in records[-1]["failed"]


def test_a_service_whose_only_model_failed_says_so_rather_than_still_loading(tiny_model: Path, tmp_path: Path) -> None:
    """``ner serve`` refuses to start without a usable model; a worker that uvicorn starts again later reads
    the directory again, and may find it broken by then."""
    from api.routes import _not_ready
    from api.service import ServiceState
    from api.settings import Settings

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    state = ServiceState(Settings(models=[str(broken)]))
    loading = _not_ready(state)
    assert "still loading" in loading.detail["message"] and loading.headers == {"Retry-After": "1"}
    (broken / "weights.safetensors").write_bytes(b"not weights")
    state.load_models()
    failed = _not_ready(state)
    assert state.router is None and "could not start its models" in failed.detail["message"] and not failed.headers


def test_beside_other_workers_a_worker_loads_before_it_accepts_and_a_stop_signal_ends_the_load(
    tiny_model: Path,
) -> None:
    """uvicorn's supervisor restarts a worker that died; started serving at once, its requests got 503s
    that the workers beside it could have answered (uvicorn accepts once the lifespan has started). While
    it loads, uvicorn's handlers would wait for the startup to end: SIGTERM 3 s into a 14 s load took 11 s
    to stop."""
    import asyncio
    import signal

    from api.app import create_app
    from api.settings import Settings

    app = create_app(Settings(models=[str(tiny_model)], workers=2))
    state = app.state.service
    seen = []
    load = state.load_models

    def loading() -> None:  # the handlers, as they are while the models load
        seen.append((signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)))
        load()

    state.load_models = loading
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)

    async def started() -> bool:
        async with app.router.lifespan_context(app):
            return app.state.service.router is not None

    assert asyncio.run(started())
    assert seen == [(signal.SIG_DFL, signal.SIG_DFL)]
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_a_dictionary_file_failing_in_any_way_leaves_its_model_out_not_a_service_loading_for_ever(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api import service
    from api.settings import Settings

    def unexpected(*args: object, **kwargs: object) -> None:
        raise LookupError("an error no handler names")

    monkeypatch.setattr(service, "DictionaryFile", unexpected)
    terms = tmp_path / "terms.tsv"
    terms.write_text("Paris\tLOC\n")
    state = service.ServiceState(Settings(models=[str(tiny_model)], dictionaries=f"tiny-en={terms}"))
    state.load_models()
    assert state.router is None and state.load_errors[str(tiny_model)] == "an error no handler names"
    assert list(state.load_errors) == [str(tiny_model), "router"]  # not also "no loaded model is named"


def test_metrics_have_their_own_port_without_the_api_key(tiny_model: Path, tmp_path: Path) -> None:
    port = free_port()
    with serving([tiny_model], tmp_path / "log", metrics_port=port, api_keys=f"probe:{KEY}") as server:
        assert httpx.get(f"{server.url}/metrics", headers=AUTH).status_code == 404
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert metrics.status_code == 200 and "ner_requests_total" in metrics.text


def test_a_symlinked_weights_file_is_refused(tiny_model: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    shutil.copytree(tiny_model, linked)
    (linked / bundles.WEIGHTS).unlink()
    (linked / bundles.WEIGHTS).symlink_to(tiny_model / bundles.WEIGHTS)  # the same bytes, through a link
    with pytest.raises(bundles.BundleError, match="a link"):
        Tagger.load(linked)
    refused = subprocess.run(
        [sys.executable, "-m", "ner", "serve", "--model", str(linked), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "a link" in refused.stderr
