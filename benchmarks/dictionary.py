"""What a user's dictionary costs a request: /tag latency with and without 1,000 phrases.

Starts two ``ner serve`` processes with the English model, one of them with
the dictionary as its configured file (``NER_DICTIONARIES``), and sends one
eng.testb sentence per request, every sentence three times in turn, each on
its own keep-alive connection: plain; with a dictionary of 1,000 phrases
(distinct entity names of eng.train with their gold labels) in the request
body, the same dictionary each time, as a client with its own terms would
send it; and plain to the server that has the dictionary configured. Reports
p50 and p99 of each, the medians' ratios to plain (target: at most +10%), and
how many texts the dictionary changed.

    python -m benchmarks.dictionary [--phrases 1000] [--requests 1000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import report
from benchmarks.load import free_port, start_server
from benchmarks.loadgen import percentile, post_json

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "conll2003_en"


def phrases(count: int) -> dict[str, str]:
    """``count`` distinct gold entity names of eng.train with their labels (the first label seen)."""
    from ner.corpus import read_conll

    out: dict[str, str] = {}
    for sentence in read_conll(DATA / "eng.train")[0]:
        for span in sentence.spans():
            out.setdefault(" ".join(sentence.tokens[span.start : span.end]), span.label)
            if len(out) == count:
                return out
    return out


def exchange(connection: socket.socket, request: bytes) -> tuple[float, dict]:
    """Seconds for one request on a keep-alive connection, and the decoded answer."""
    started = time.perf_counter()
    connection.sendall(request)
    head = b""
    while b"\r\n\r\n" not in head:
        head += connection.recv(65536)
    header, _, body = head.partition(b"\r\n\r\n")
    length = int(
        next(line.split(b":")[1] for line in header.split(b"\r\n") if line.lower().startswith(b"content-length"))
    )
    while len(body) < length:
        body += connection.recv(65536)
    return time.perf_counter() - started, json.loads(body)


def run(count: int, requests: int) -> dict:
    from ner.corpus import read_conll

    texts = [" ".join(s.tokens) for s in read_conll(DATA / "eng.testb")[0] if len(s.tokens) >= 5][:requests]
    terms = phrases(count)
    model = str(ROOT / "models" / "en-conll03")
    times: dict[str, list[float]] = {"plain": [], "dictionary": [], "configured": []}
    changed = 0
    with tempfile.TemporaryDirectory() as folder:
        terms_file = Path(folder) / "terms.tsv"
        terms_file.write_text("".join(f"{phrase}\t{label}\n" for phrase, label in terms.items()), encoding="utf-8")
        plain_port, configured_port = free_port(), free_port()
        servers = [start_server(plain_port, batching=True, threads=2, models=[model])]
        try:
            servers.append(
                start_server(
                    configured_port, True, 2, [model], settings={"NER_DICTIONARIES": f"en-conll03={terms_file}"}
                )
            )
            with (
                socket.create_connection(("127.0.0.1", plain_port)) as plain_connection,
                socket.create_connection(("127.0.0.1", plain_port)) as dictionary_connection,
                socket.create_connection(("127.0.0.1", configured_port)) as configured_connection,
            ):
                for text in texts[:20]:  # warm up; each dictionary is built once
                    exchange(dictionary_connection, post_json("/tag", {"text": text, "dictionary": terms}))
                    exchange(configured_connection, post_json("/tag", {"text": text}))
                for text in texts:
                    plain_seconds, plain = exchange(plain_connection, post_json("/tag", {"text": text}))
                    body = {"text": text, "dictionary": terms}
                    dictionary_seconds, constrained = exchange(dictionary_connection, post_json("/tag", body))
                    configured_seconds, configured = exchange(configured_connection, post_json("/tag", {"text": text}))
                    times["plain"].append(plain_seconds)
                    times["dictionary"].append(dictionary_seconds)
                    times["configured"].append(configured_seconds)
                    changed += plain["results"][0]["entities"] != constrained["results"][0]["entities"]
                    assert configured["results"] == constrained["results"], text
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)
    out: dict = {"phrases": len(terms), "requests": len(texts), "texts_changed": changed}
    for name, values in times.items():
        out[name] = {
            "p50_ms": round(1000 * percentile(values, 0.5), 3),
            "p99_ms": round(1000 * percentile(values, 0.99), 3),
        }
    out["added_p50"] = round(out["dictionary"]["p50_ms"] / out["plain"]["p50_ms"] - 1, 3)
    out["configured_added_p50"] = round(out["configured"]["p50_ms"] / out["plain"]["p50_ms"] - 1, 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phrases", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not (DATA / "eng.testb").is_file():
        sys.exit(f"needs {DATA}")
    results = run(args.phrases, args.requests)
    plain, constrained, configured = results["plain"], results["dictionary"], results["configured"]
    phrases_ = results["phrases"]
    table = (
        "| request | p50 ms | p99 ms |\n|---|---|---|\n"
        f"| plain | {plain['p50_ms']} | {plain['p99_ms']} |\n"
        f"| with {phrases_} phrases in the body | {constrained['p50_ms']} | {constrained['p99_ms']} |\n"
        f"| plain, {phrases_} phrases configured | {configured['p50_ms']} | {configured['p99_ms']} |\n\n"
        f"Added at the median: {100 * results['added_p50']:.1f}% in the body, "
        f"{100 * results['configured_added_p50']:.1f}% configured; entities changed in {results['texts_changed']} "
        f"of {results['requests']} texts."
    )
    report(results, args.json, table)


if __name__ == "__main__":
    main()
