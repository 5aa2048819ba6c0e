"""What a user's dictionary costs a request: /tag latency with and without 1,000 phrases.

Starts pairs of ``ner serve`` processes with the English model, one of each
pair with the dictionary as its configured file (``NER_DICTIONARIES``), and
sends one eng.testb sentence per request, every sentence three times, to
one pair (the pairs take blocks of 20 sentences in turn, and each kind of
request takes the block in turn), each on its own keep-alive connection:
plain; with a dictionary of 1,000 phrases (distinct
entity names of eng.train with their gold labels) in the request body, the
same dictionary each time, as a client with its own terms would send it; and
plain to the server that has the dictionary configured. Reports p50 and p99
of each, the medians' ratios to plain (target: at most +10%), and how many
texts the dictionary changed. A configured server is another process than
the plain one it is compared with, and a process's speed varies by a few
percent from one start to the next; two pairs or more average that out.

In process, it also times a request's own small dictionary laid over a large
configured file (``--file-entries`` phrases): the file's dictionary is built
once, a request's distinct entries alone each time.

    python -m benchmarks.dictionary [--phrases 1000] [--requests 1000] [--pairs 2] [--file-entries 60000]
                                    [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import CONLL, ROOT, report
from benchmarks.load import free_port, start_server
from benchmarks.loadgen import percentile, post_json

# Each kind of request goes to its server BLOCK sentences at a time: a server answering right after
# another process ran starts with its weights out of the CPU caches, which would tax whichever kind
# of request came first after a switch.
BLOCK = 20


def phrases(count: int) -> dict[str, str]:
    """``count`` distinct gold entity names of eng.train with their labels (the first label seen)."""
    from ner.corpus import read_conll

    out: dict[str, str] = {}
    for sentence in read_conll(CONLL / "eng.train")[0]:
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


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=30)


def run(count: int, requests: int, pairs: int = 2) -> dict:
    from ner.corpus import read_conll

    texts = [" ".join(s.tokens) for s in read_conll(CONLL / "eng.testb")[0] if len(s.tokens) >= 5][:requests]
    terms = phrases(count)
    model = str(ROOT / "models" / "en-conll03")
    times: dict[str, list[float]] = {"plain": [], "dictionary": [], "configured": []}
    changed = 0
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        terms_file = Path(folder) / "terms.tsv"
        terms_file.write_text("".join(f"{phrase}\t{label}\n" for phrase, label in terms.items()), encoding="utf-8")
        configured = {"NER_DICTIONARIES": f"en-conll03={terms_file}"}
        # (plain, with the dictionary in the body, configured) connections of each pair of servers
        lanes: list[tuple[socket.socket, socket.socket, socket.socket]] = []
        for _ in range(pairs):
            plain_port, configured_port = free_port(), free_port()
            for port, settings in ((plain_port, None), (configured_port, configured)):
                server = start_server(port, batching=True, threads=2, models=[model], settings=settings)
                stack.callback(_stop, server)
            ports = (plain_port, plain_port, configured_port)
            lanes.append(tuple(stack.enter_context(socket.create_connection(("127.0.0.1", p))) for p in ports))
        for _, dictionary_connection, configured_connection in lanes:  # warm up; each dictionary is built once
            for text in texts[:20]:
                exchange(dictionary_connection, post_json("/tag", {"text": text, "dictionary": terms}))
                exchange(configured_connection, post_json("/tag", {"text": text}))
        for number, begin in enumerate(range(0, len(texts), BLOCK)):
            block = texts[begin : begin + BLOCK]
            plain_connection, dictionary_connection, configured_connection = lanes[number % pairs]
            plain = [exchange(plain_connection, post_json("/tag", {"text": text})) for text in block]
            body = [{"text": text, "dictionary": terms} for text in block]
            constrained = [exchange(dictionary_connection, post_json("/tag", b)) for b in body]
            answers = [exchange(configured_connection, post_json("/tag", {"text": text})) for text in block]
            for name, exchanges in (("plain", plain), ("dictionary", constrained), ("configured", answers)):
                times[name].extend(seconds for seconds, _ in exchanges)
            for text, (_, alone), (_, forced), (_, answer) in zip(block, plain, constrained, answers):
                changed += alone["results"][0]["entities"] != forced["results"][0]["entities"]
                assert answer["results"] == forced["results"], text
    out: dict = {"phrases": len(terms), "requests": len(texts), "server_pairs": pairs, "texts_changed": changed}
    for name, values in times.items():
        out[name] = {
            "p50_ms": round(1000 * percentile(values, 0.5), 3),
            "p99_ms": round(1000 * percentile(values, 0.99), 3),
        }
    out["added_p50"] = round(out["dictionary"]["p50_ms"] / out["plain"]["p50_ms"] - 1, 3)
    out["configured_added_p50"] = round(out["configured"]["p50_ms"] / out["plain"]["p50_ms"] - 1, 3)
    return out


def over_file(entries: int, requests: int = 20) -> dict:
    """Seconds to build the English model's configured file of ``entries`` phrases (the first request), and
    the median ms of ``requests`` requests after it, each with a distinct dictionary of one phrase."""
    import asyncio

    from api.service import ServiceState
    from api.settings import Settings

    with tempfile.TemporaryDirectory() as folder:
        terms_file = Path(folder) / "terms.tsv"
        terms_file.write_text("".join(f"Company{i} Holdings Ltd\tORG\n" for i in range(entries)), encoding="utf-8")
        model = ROOT / "models" / "en-conll03"
        state = ServiceState(Settings(models=[str(model)], dictionaries=f"en-conll03={terms_file}"))
        state.load_models()
        assert state.router is not None
        route = state.router.route(["Acme Corp hired John Smith in Berlin."], "en-conll03", "en")
        started = time.perf_counter()
        asyncio.run(state.dictionaries(route, None, False))
        file_s = time.perf_counter() - started
        times = []
        for i in range(requests):
            started = time.perf_counter()
            asyncio.run(state.dictionaries(route, {f"Acme {i}": "ORG"}, False))
            times.append(time.perf_counter() - started)
    return {
        "file_entries": entries,
        "file_build_s": round(file_s, 2),
        "request_p50_ms": round(1000 * percentile(times, 0.5), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phrases", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--pairs", type=int, default=2, help="pairs of servers (plain, configured), used in turn")
    parser.add_argument("--file-entries", type=int, default=60_000, help="a large configured file (0: not timed)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not (CONLL / "eng.testb").is_file():
        sys.exit(f"needs {CONLL}")
    results = run(args.phrases, args.requests, args.pairs)
    if args.file_entries:
        results["over_file"] = over_file(args.file_entries)
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
    if over := results.get("over_file"):
        table += (
            f"\n\nA configured file of {over['file_entries']:,} phrases built in {over['file_build_s']} s; "
            f"a request's own dictionary over it {over['request_p50_ms']} ms at the median."
        )
    report(results, args.json, table)


if __name__ == "__main__":
    main()
