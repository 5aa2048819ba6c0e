"""Decoding with many labels: the CRF's best tagging and its five best for a model of CoNLL's 4 types (17 BIOES
tags) against models of OntoNotes' 18 types (73 tags), 33 (133) and Few-NERD's 66 (265), on the same 3,584
tokens (128 sentences of 28) of random scores under BIOES's constraints, as the tagger decodes them
(:func:`ner.crf.viterbi`, :func:`ner.crf.nbest` with the moves BIOES allows). Times are the best of three, in
seconds; ``ratio``: against 4 types.

    python -m benchmarks.decoding [--json out.json]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks import report
from ner import crf

TYPES = (4, 18, 33, 66)
SENTENCES, LENGTH, BEST = 128, 28, 5


def best_of_three(run: Callable[[], object]) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def decoding_times(types: int, seed: int = 0) -> dict:
    """Seconds to decode the best tagging and the :data:`BEST` best of random scores over ``types`` labels."""
    tags = ["O", *(f"{prefix}-T{n}" for n in range(types) for prefix in "BIES")]
    rng = np.random.default_rng(seed)
    emissions = rng.standard_normal((SENTENCES, LENGTH, len(tags))).astype(np.float32)
    mask = np.ones((SENTENCES, LENGTH), dtype=bool)
    start, moves, end = (rng.standard_normal(shape) for shape in [(len(tags),), (len(tags), len(tags)), (len(tags),)])
    scores = crf.CRFScores.constrained(start, moves, end, tags)
    decoded = (emissions, mask, scores.start, scores.transitions, scores.end)
    return {
        "tags": len(tags),
        "viterbi_s": round(best_of_three(lambda: crf.viterbi(*decoded, scores.sources)), 4),
        "nbest_s": round(best_of_three(lambda: crf.nbest(*decoded, BEST, scores.sources)), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.decoding", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    results = {f"{types} types": decoding_times(types) for types in TYPES}
    few = results[f"{TYPES[0]} types"]
    rows = ["| types | tags | best tagging, s | five best, s | five best, x 4 types |", "|---|---|---|---|---|"]
    for types, row in zip(TYPES, results.values()):
        row["nbest_ratio"] = round(row["nbest_s"] / few["nbest_s"], 1)
        cells = [types, row["tags"], row["viterbi_s"], row["nbest_s"], row["nbest_ratio"]]
        rows.append("| " + " | ".join(map(str, cells)) + " |")
    report({"tokens": SENTENCES * LENGTH, "best": BEST, "results": results}, args.json, "\n".join(rows))


if __name__ == "__main__":
    main()
