"""benchmarks.load and benchmarks.loadgen: what the load benchmark counts as throughput and latency."""

from __future__ import annotations

import asyncio

from benchmarks import load
from benchmarks.loadgen import percentile

REFUSAL = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 2\r\n\r\n{}"


def test_percentile_is_the_nearest_rank() -> None:
    hundred = [float(i) for i in range(100, 0, -1)]  # unsorted on purpose
    assert percentile(hundred, 0.99) == 99.0 and percentile(hundred, 0.5) == 50.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert percentile([5.0], 0.99) == 5.0 and percentile([1.0, 2.0], 0.0) == 1.0


def test_refused_requests_are_not_counted_as_throughput() -> None:
    """A real socket server that sheds every request: the benchmark must report no capacity."""

    async def shed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(REFUSAL)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()  # the client hung up

    async def measure() -> tuple[dict, float]:
        server = await asyncio.start_server(shed, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        request = b"POST /tag HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        async with server:
            driven = await load.drive(port, [request], clients=2, seconds=0.3)
            return driven, await load.capacity(port, [request], seconds=0.3)

    driven, capacity = asyncio.run(measure())
    assert driven["requests"] > 0 and driven["errors"] == driven["requests"]
    assert driven["sentences_per_second"] == 0 and capacity == 0
