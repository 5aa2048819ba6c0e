"""A light HTTP/1.1 load generator: N clients on keep-alive connections, each sending requests back to back.

Raw asyncio sockets and pre-encoded requests keep the client's own CPU use
small, so that on a 2-core machine the server gets most of it.
"""

from __future__ import annotations

import asyncio
import json
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

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(int(len(ordered) * q), len(ordered) - 1)] if ordered else float("nan")


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, bool]:
    """Send one request, read the whole answer; returns the status and whether the server closes."""
    writer.write(request)
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed before an answer")
    length, closes = 0, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
        elif name.lower() == b"connection" and value.strip().lower() == b"close":
            closes = True
    await reader.readexactly(length)
    return int(status_line.split()[1]), closes


async def _client(port: int, requests: list[bytes], offset: int, until: float, stats: Stats) -> None:
    index = offset
    reader = writer = None
    while time.perf_counter() < until:
        if writer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        request = requests[index % len(requests)]
        index += 1
        started = time.perf_counter()
        try:
            status, closes = await _exchange(reader, writer, request)
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            stats.connection_errors += 1
            writer.close()
            writer = None
            continue
        stats.latencies.append(time.perf_counter() - started)
        stats.statuses[status] += 1
        if closes:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def run_clients(port: int, requests: list[bytes], clients: int, seconds: float) -> Stats:
    """``clients`` connections sending ``requests`` round robin for ``seconds``."""
    stats = Stats()
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(*(_client(port, requests, i * 7, until, stats) for i in range(clients)))
    stats.elapsed = time.perf_counter() - started
    return stats


async def poll(port: int, request: bytes, interval: float, until: float) -> Stats:
    """One client sending ``request`` every ``interval`` seconds (a probe of responsiveness)."""
    stats = Stats()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while time.perf_counter() < until:
        started = time.perf_counter()
        status, _ = await _exchange(reader, writer, request)
        stats.latencies.append(time.perf_counter() - started)
        stats.statuses[status] += 1
        await asyncio.sleep(interval)
    writer.close()
    return stats
