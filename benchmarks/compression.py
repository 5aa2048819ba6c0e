"""Compressed answers: the size of a large ``/tag`` answer and the time to gzip it at each level.

The service gzips answers of ``NER_GZIP_MIN_BYTES`` or more for clients that accept it, on its event loop;
this shows what the level it uses costs and saves against the others. The answer is the real service's, for
the first ``--chars`` characters of eng.testb's words, with and without ``"tokens": true``.

    python -m benchmarks.compression [--chars 30000] [--json out.json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
import urllib.request
from pathlib import Path

from api.app import GZIP_LEVEL
from benchmarks import CONLL, ROOT, report
from benchmarks.load import free_port, start_server
from ner.corpus import read_conll

LEVELS = (1, GZIP_LEVEL, 6, 9)
REPEATS = 20


def corpus_text(chars: int) -> str:
    return " ".join(token for sentence in read_conll(CONLL / "eng.testb")[0] for token in sentence.tokens)[:chars]


def gzip_ms(body: bytes, level: int) -> float:
    started = time.perf_counter()
    for _ in range(REPEATS):
        gzip.compress(body, level)
    return (time.perf_counter() - started) / REPEATS * 1000


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compression", description=__doc__.split("\n\n")[0])
    parser.add_argument("--chars", type=int, default=30_000, help="characters of text in the request")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    port = free_port()
    server = start_server(port, batching=True, threads=1, models=[str(ROOT / "models" / "en-conll03")])
    results: dict = {"gzip_level_used": GZIP_LEVEL, "answers": []}
    try:
        text = corpus_text(args.chars)
        for tokens in (False, True):
            body = json.dumps({"text": text, "tokens": tokens}).encode()
            request = urllib.request.Request(f"http://127.0.0.1:{port}/tag", body, {"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=300) as answer:  # no Accept-Encoding: the plain answer
                plain = answer.read()
            levels = {
                level: {"bytes": len(gzip.compress(plain, level)), "ms": round(gzip_ms(plain, level), 2)}
                for level in LEVELS
            }
            results["answers"].append({"tokens": tokens, "bytes": len(plain), "gzip": levels})
    finally:
        server.terminate()
        server.wait()
    rows = [
        f"| {'with' if a['tokens'] else 'without'} tokens, {a['bytes']:,} B | "
        + " | ".join(f"{g['bytes']:,} B, {g['ms']} ms" for g in a["gzip"].values())
        + " |"
        for a in results["answers"]
    ]
    header = "| answer | " + " | ".join(f"level {level}" for level in LEVELS) + " |"
    report(results, args.json, "\n".join([header, "|---" * (len(LEVELS) + 1) + "|", *rows]))


if __name__ == "__main__":
    main()
