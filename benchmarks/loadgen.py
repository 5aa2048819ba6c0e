"""A light HTTP/1.1 load generator: N clients on keep-alive connections, each sending requests back to back.

Raw asyncio sockets and pre-encoded requests keep the client's own CPU use
small, so that on a 2-core machine the server gets most of it.
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing
import socket
import time
from collections import Counter
from dataclasses import dataclass, field


def post(path: str, body: bytes, content_type: str = "application/json") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def post_json(path: str, payload: object) -> bytes:
    return post(path, json.dumps(payload).encode())


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    connection_errors: int = 0
    elapsed: float = 0.0
    by_status: dict[int, list[float]] = field(default_factory=dict)  # latencies of each status
    without_retry_after: int = 0  # 503 answers that did not say when to come back
    not_sent: int = 0  # open loop: requests due while every allowed connection was busy

    def record(self, status: int, latency: float, retry_after: bool) -> None:
        self.latencies.append(latency)
        self.statuses[status] += 1
        self.by_status.setdefault(status, []).append(latency)
        if status == 503 and not retry_after:
            self.without_retry_after += 1

    def percentile(self, q: float, status: int | None = None) -> float:
        return percentile(self.latencies if status is None else self.by_status.get(status, []), q)


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile: the smallest value with at least a share ``q`` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(math.ceil(len(ordered) * q) - 1, 0)] if ordered else float("nan")


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bool, bool]:
    """Send one request, read the whole answer; returns the status, whether the server closes, and
    whether the answer has a ``Retry-After``."""
    writer.write(request)
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed before an answer")
    length, closes, retry_after = 0, False, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
        elif name.lower() == b"connection" and value.strip().lower() == b"close":
            closes = True
        elif name.lower() == b"retry-after":
            retry_after = True
    await reader.readexactly(length)
    return int(status_line.split()[1]), closes, retry_after


async def _client(port: int, requests: list[bytes], offset: int, until: float, stats: Stats, pause: float) -> None:
    index = offset
    reader = writer = None
    while time.perf_counter() < until:
        if writer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        request = requests[index % len(requests)]
        index += 1
        started = time.perf_counter()
        try:
            status, closes, retry_after = await _exchange(reader, writer, request)
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            stats.connection_errors += 1
            writer.close()
            writer = None
            continue
        stats.record(status, time.perf_counter() - started, retry_after)
        if closes:
            writer.close()
            writer = None
        if pause:
            await asyncio.sleep(pause)
    if writer is not None:
        writer.close()


async def run_clients(port: int, requests: list[bytes], clients: int, seconds: float, pause: float = 0.0) -> Stats:
    """``clients`` connections sending ``requests`` round robin for ``seconds``, each waiting
    ``pause`` seconds after every answer (0: back to back, the server saturated)."""
    stats = Stats()
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(*(_client(port, requests, i * 7, until, stats, pause) for i in range(clients)))
    stats.elapsed = time.perf_counter() - started
    return stats


async def run_rate(
    port: int, requests: list[bytes], rate: float, seconds: float, connections: int = 512, idle_s: float = 3.0
) -> Stats:
    """Open loop: a request every ``1 / rate`` s whatever the answers, each on an idle keep-alive
    connection (a new one while fewer than ``connections`` are open; with all of them busy the
    request is counted in ``not_sent``). A latency counts from when its request was due, so that
    a slow server cannot hide its queue in the client's (no coordinated omission). Connections idle
    for ``idle_s`` are closed, as the server would close them soon (``NER_IDLE_TIMEOUT_S``)."""
    stats = Stats()
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
    opened = 0

    async def one(request: bytes, due: float) -> None:
        nonlocal opened
        while idle and idle[0][2] < time.perf_counter() - idle_s:  # the oldest first
            idle.pop(0)[1].close()
            opened -= 1
        if idle:
            reader, writer, _ = idle.pop()
        elif opened < connections:
            opened += 1
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                opened -= 1
                stats.connection_errors += 1
                return
        else:
            stats.not_sent += 1
            return
        try:
            status, closes, retry_after = await _exchange(reader, writer, request)
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            stats.connection_errors += 1
            opened -= 1
            writer.close()
            return
        stats.record(status, time.perf_counter() - due, retry_after)
        if closes:
            opened -= 1
            writer.close()
        else:
            idle.append((reader, writer, time.perf_counter()))

    started = time.perf_counter()
    interval, sent, tasks = 1 / rate, 0, set()
    while (due := started + sent * interval) < started + seconds:
        now = time.perf_counter()
        while due <= now:  # launch everything due by now: sleeps are coarser than the interval
            task = asyncio.create_task(one(requests[sent % len(requests)], due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
            due = started + sent * interval
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
    await asyncio.gather(*tasks)
    stats.elapsed = time.perf_counter() - started
    for _, writer, _ in idle:
        writer.close()
    return stats


def _probe(port: int, request: bytes, interval: float, seconds: float, results: multiprocessing.Queue) -> None:
    latencies: list[float] = []
    statuses: Counter = Counter()
    with socket.create_connection(("127.0.0.1", port)) as connection, connection.makefile("rb") as stream:
        until = time.perf_counter() + seconds
        while time.perf_counter() < until:
            started = time.perf_counter()
            connection.sendall(request)
            status = int(stream.readline().split()[1])
            length = 0
            while (line := stream.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            stream.read(length)
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
            time.sleep(interval)
    results.put((latencies, dict(statuses)))


class Probe:
    """A client in a process of its own sending ``request`` every ``interval`` seconds, so that its
    latencies measure the server's responsiveness, not the load generator's own event loop."""

    def __init__(self, port: int, request: bytes, interval: float, seconds: float) -> None:
        self.results: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()
        self.process = multiprocessing.get_context("spawn").Process(
            target=_probe, args=(port, request, interval, seconds, self.results), daemon=True
        )
        self.process.start()

    def stats(self) -> Stats:
        latencies, statuses = self.results.get(timeout=600)
        self.process.join()
        return Stats(latencies=latencies, statuses=Counter(statuses))
