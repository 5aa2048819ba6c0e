"""HTTP load on the real service: throughput and latency at 1, 8 and 32 clients, with and without micro-batching.

Starts ``ner serve`` on a free loopback port, then N clients, each on its own
keep-alive connection, post one sentence (about 20 tokens, from CoNLL-2003
eng.testb) per request back to back for a fixed time. The client
(:mod:`benchmarks.loadgen`) is raw asyncio sockets, so that it takes little
of the CPU the server needs.

    python -m benchmarks.load [--seconds 10] [--clients 1 8 32] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import report
from benchmarks.loadgen import post_json, run_clients

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "conll2003_en"


def sentences_of_about(tokens: int, count: int = 500) -> list[str]:
    from ner.corpus import read_conll

    chosen = [" ".join(s.tokens) for s in read_conll(DATA / "eng.testb")[0] if abs(len(s.tokens) - tokens) <= 3]
    return chosen[:count]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int, batching: bool, threads: int, models: list[str]) -> subprocess.Popen:
    env = {**os.environ, "NER_BATCHING": str(batching).lower(), "NER_THREADS": str(threads), "NER_LOG_LEVEL": "warning"}
    command = [sys.executable, "-m", "ner", "serve", "--host", "127.0.0.1", "--port", str(port)]
    for model in models:
        command += ["--model", model]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /ready HTTP/1.1\r\nHost: x\r\n\r\n")
                if b" 200 " in s.recv(1024):
                    return process
        except OSError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not become ready")


async def drive(port: int, requests: list[bytes], clients: int, seconds: float) -> dict:
    await run_clients(port, requests, clients, 1.0)  # warm up
    stats = await run_clients(port, requests, clients, seconds)
    return {
        "clients": clients,
        "sentences_per_second": round(len(stats.latencies) / stats.elapsed, 1),
        "p50_ms": round(1000 * stats.percentile(0.5), 2),
        "p99_ms": round(1000 * stats.percentile(0.99), 2),
        "requests": len(stats.latencies),
        "errors": sum(n for status, n in stats.statuses.items() if status != 200) + stats.connection_errors,
    }


def run(models: list[str], clients: list[int], seconds: float, threads: int) -> dict:
    texts = sentences_of_about(20)
    requests = [post_json("/tag", {"text": t}) for t in texts]
    results: dict = {
        "seconds_per_point": seconds,
        "threads": threads,
        "models": models,
        "mean_tokens_per_sentence": round(sum(len(t.split()) for t in texts) / len(texts), 1),
    }
    for batching in (True, False):
        port = free_port()
        server = start_server(port, batching, threads, models)
        try:
            key = "batching" if batching else "no_batching"
            results[key] = [asyncio.run(drive(port, requests, n, seconds)) for n in clients]
            for point in results[key]:
                print(key, point, file=sys.stderr)
        finally:
            server.terminate()
            server.wait(timeout=30)
    top = max(clients)
    with_batching = next(p for p in results["batching"] if p["clients"] == top)["sentences_per_second"]
    without = next(p for p in results["no_batching"] if p["clients"] == top)["sentences_per_second"]
    results[f"batching_gain_at_{top}_clients"] = round(with_batching / without, 2)
    return results


def markdown(results: dict) -> str:
    rows = [
        "| clients | batching: sentences/s | p50 ms | p99 ms | no batching: sentences/s | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for a, b in zip(results["batching"], results["no_batching"]):
        rows.append(
            f"| {a['clients']} | {a['sentences_per_second']} | {a['p50_ms']} | {a['p99_ms']} | "
            f"{b['sentences_per_second']} | {b['p50_ms']} | {b['p99_ms']} |"
        )
    gain = next(v for k, v in results.items() if k.startswith("batching_gain"))
    return "\n".join(rows) + f"\n\nMicro-batching gain at the most clients: {gain}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", dest="models")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    models = args.models or [str(ROOT / "models" / "en-conll03")]
    results = run(models, args.clients, args.seconds, args.threads)
    report(results, args.json, markdown(results))


if __name__ == "__main__":
    main()
