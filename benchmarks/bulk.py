"""Bulk tagging on this machine: the single-process engine against Ray Data with 2 actors, on the same file.

The sentences of CoNLL-2003 eng.testb as raw text lines (tokens joined by spaces), ``--repeat`` times
over, are tagged in turn by ``ner tag``'s two engines, ``--rounds`` times: one process with 2 threads,
and Ray Data with 2 actors of one thread each on a local Ray of 2 CPUs. Tokens/s are gold CoNLL tokens
over the wall time of a whole pass, output lines written to /dev/null, model loading (and for Ray the
start of the actors) included; the best pass of each. Ray's own start-up (``ray.init``) is reported
apart. Target: Ray >= 90% of the process pool that Ray replaced (32,077 tokens/s with 2 workers in
docs/benchmarks.md), and compared with one process in the same run. Other work on the machine slows
every pass: the load average is reported with the results.

    python -m benchmarks.bulk [--model models/en-conll03] [--repeat 8] [--rounds 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from benchmarks import CONLL, ROOT, report
from ner import bulk
from ner.corpus import read_conll

POOL_TOKENS_PER_SECOND = 32_077  # `ner tag --workers 2`, the process pool that the Ray engine replaced


def drain(chunks: Iterable[list[str | bulk.Rejection]]) -> tuple[float, float]:
    """Writes the output lines to /dev/null, as ``ner tag > /dev/null`` would; the wall seconds to the first
    output (loading the model, for Ray also starting the actors and tagging a whole block) and to the end."""
    start, first = time.perf_counter(), None
    with open(os.devnull, "w", encoding="utf-8") as sink:
        for chunk in chunks:
            first = time.perf_counter() - start if first is None else first
            sink.write("".join(f"{line}\n" for line in chunk if isinstance(line, str)))
    return first or 0.0, time.perf_counter() - start


def single_pass(model: Path, source: Path) -> tuple[float, float]:
    with open(source, "rb") as handle:
        return drain(bulk.tag_stream(bulk.lines(handle, str(source)), bulk.Settings(models=(str(model),), threads=2)))


def ray_pass(model: Path, source: Path) -> tuple[float, float]:
    return drain(bulk.ray_stream([str(source)], bulk.Settings(models=(str(model),), threads=1), workers=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "en-conll03")
    parser.add_argument("--repeat", type=int, default=8, help="copies of eng.testb in the file")
    parser.add_argument("--rounds", type=int, default=2, help="passes of each engine, in turn")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sentences = [s.tokens for s in read_conll(CONLL / "eng.testb")[0]] * args.repeat
    tokens = sum(len(s) for s in sentences)
    engines = {"single_process": single_pass, "ray_2_actors": ray_pass}
    passes: dict[str, list[tuple[float, float]]] = {name: [] for name in engines}
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "testb.txt"
        source.write_text("".join(" ".join(s) + "\n" for s in sentences), encoding="utf-8")
        started = time.perf_counter()
        with bulk.ray_session(cpus=2):
            ray_start = time.perf_counter() - started
            for _ in range(args.rounds):
                for name, run in engines.items():
                    passes[name].append(run(args.model, source))
    best = {name: min(times, key=lambda t: t[1]) for name, times in passes.items()}
    rates = {name: round(tokens / seconds) for name, (_, seconds) in best.items()}
    results = {
        "lines": len(sentences),
        "tokens": tokens,
        "cpus": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2),
        "ray_start_seconds": round(ray_start, 2),
        "engines": {
            name: {
                "tokens_per_second": rates[name],
                "seconds": round(best[name][1], 2),
                "first_output_seconds": round(best[name][0], 2),
                "passes": [round(seconds, 2) for _, seconds in passes[name]],
            }
            for name in engines
        },
        "ray_over_single_process": round(rates["ray_2_actors"] / rates["single_process"], 3),
        "ray_over_process_pool": round(rates["ray_2_actors"] / POOL_TOKENS_PER_SECOND, 3),
        "note": "wall time of a pass, model loading and the start of Ray's actors included; ray.init apart",
    }
    markdown = "\n".join(
        [
            "| engine | tokens/s | seconds | to the first output |",
            "|---|---|---|---|",
            *(f"| {name} | {rates[name]:,} | {best[name][1]:.2f} | {best[name][0]:.2f} |" for name in engines),
            f"| (Ray start-up, ray.init) | | {ray_start:.2f} | |",
        ]
    )
    report(results, args.json, markdown)


if __name__ == "__main__":
    main()
