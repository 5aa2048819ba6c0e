"""Soak: 64 clients for 60 s on loopback, mixing valid, oversized and malformed requests.

Checks what a service taking text from anyone must hold under load: no 5xx
(but 503 with ``Retry-After``: a request shed because the machine could not keep
up, counted apart), no dropped connections, resident memory flat after warm-up, and the event
loop responsive (``/health`` p99, probed every 50 ms from a process of its own
during the load). Each client waits ``--pause`` seconds after every answer, so
that the load is heavy but below saturation: at saturation every request,
health checks included, waits its turn in the queue, and the probe would
measure the queue, not whether model work blocks the event loop. ``--pause 0``
shows that case.

    python -m benchmarks.soak [--seconds 60] [--clients 64] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from pathlib import Path

from benchmarks import ROOT, report
from benchmarks.load import free_port, rss_mb, start_server
from benchmarks.loadgen import Probe, get, post, post_json, run_clients

MAX_CHARS = 5000


def mixed_requests() -> list[bytes]:
    """Seven valid requests for every oversized, malformed or mistyped one."""
    valid = [post_json("/tag", {"text": f"Angela Merkel met Emmanuel Macron in Paris on day {i}."}) for i in range(7)]
    return [
        *valid,
        post_json("/tag", {"text": "x" * (MAX_CHARS + 1)}),  # over max_chars: 422
        post("/tag", b'{"text": "unterminated'),  # malformed JSON: 400
        *valid,
        post_json("/tag", {"texts": "not a list"}),  # wrong type: 422
        post_json("/tag", {"text": "   "}),  # empty: 422
        *valid,
        post_json("/tag", {"text": "ok", "model": "missing"}),  # unknown model: 404
    ]


def soak(models: list[str], seconds: float, clients: int, threads: int = 2, pause: float = 0.1) -> dict:
    port = free_port()
    server = start_server(port, True, threads, models, settings={"NER_MAX_CHARS": str(MAX_CHARS)})
    samples: list[tuple[float, float]] = []
    stop = threading.Event()

    def sample_memory() -> None:
        started = time.perf_counter()
        while not stop.wait(0.5):
            samples.append((time.perf_counter() - started, rss_mb(server.pid)))

    sampler = threading.Thread(target=sample_memory, daemon=True)
    sampler.start()

    try:
        probe = Probe(port, get("/health"), 0.05, seconds)
        load = asyncio.run(run_clients(port, mixed_requests(), clients, seconds, pause))
        health = probe.stats()
    finally:
        stop.set()
        sampler.join()
        server.terminate()
        server.wait(timeout=30)
    warm = [mb for t, mb in samples if t >= seconds * 0.25]
    statuses = {str(k): v for k, v in sorted(load.statuses.items())}
    return {
        "seconds": seconds,
        "clients": clients,
        "pause_between_requests_s": pause,
        "requests": len(load.latencies),
        "requests_per_second": round(len(load.latencies) / load.elapsed, 1),
        "statuses": statuses,
        "server_errors": sum(n for status, n in load.statuses.items() if status >= 500 and status != 503)
        + load.without_retry_after,
        "shed_503_with_retry_after": load.statuses.get(503, 0) - load.without_retry_after,
        "connection_errors": load.connection_errors,
        "rss_mb_after_warmup": round(warm[0], 1) if warm else None,
        "rss_mb_end": round(warm[-1], 1) if warm else None,
        "rss_growth_percent": round(100 * (warm[-1] - warm[0]) / warm[0], 2) if warm else None,
        "health_p50_ms": round(1000 * health.percentile(0.5), 2),
        "health_p99_ms": round(1000 * health.percentile(0.99), 2),
        "health_probes": len(health.latencies),
        "p99_ms": round(1000 * load.percentile(0.99), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", dest="models")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--pause", type=float, default=0.1, help="seconds each client waits after an answer")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = soak(args.models or [str(ROOT / "models" / "en-conll03")], args.seconds, args.clients, pause=args.pause)
    report(results, args.json)
    sys.exit(0 if results["server_errors"] == 0 and results["connection_errors"] == 0 else 1)


if __name__ == "__main__":
    main()
