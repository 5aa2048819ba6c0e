"""What an ensemble of trained models would score: is distilling it into one model worth trying?

Each model's CRF gives per-token tag probabilities (marginals); the ensemble
averages them and takes the best valid BIOES path through their logarithms
(max-marginal decoding). Reports strict F1 of each model decoded that way and
of the ensemble, on each corpus file given. Models must share their tag set.

    python -m benchmarks.ensemble --files DEV TEST -- MODEL [MODEL ...] [--json out.json]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks import report
from ner import crf
from ner.bundle import load
from ner.corpus import read_corpus
from ner.distillation import teacher_probabilities
from ner.metrics import entity_scores


def decode(probabilities: Sequence[np.ndarray], tags: Sequence[str]) -> list[list[str]]:
    """The best BIOES-valid path through each sentence's log-probabilities."""
    start, moves, end = (np.where(ok, 0.0, crf.FORBIDDEN) for ok in crf.bioes_constraints(tags))
    paths = []
    for sentence in probabilities:
        scores = np.log(np.maximum(sentence, 1e-12))[None]
        path, _ = crf.viterbi(scores, np.ones(scores.shape[:2], dtype=bool), start, moves, end)
        paths.append([tags[t] for t in path[0]])
    return paths


def run(models: Sequence[Path], files: Sequence[Path]) -> dict:
    tag_sets = [load(m).vocab.tags.itos for m in models]
    tags = tag_sets[0]
    if any(sorted(t) != sorted(tags) for t in tag_sets):
        raise SystemExit("the models' tag sets differ")
    results: dict = {"models": [str(m) for m in models]}
    for path in files:
        sentences, _ = read_corpus(path)
        gold = [s.tags for s in sentences]
        each = [teacher_probabilities([m], sentences, tags, threads=1, progress=False) for m in models]
        mean = [sum(parts) / len(parts) for parts in zip(*each)]
        results[str(path)] = {
            "each_f1": [entity_scores(gold, decode(m, tags))["f1"] for m in each],
            "ensemble_f1": entity_scores(gold, decode(mean, tags))["f1"],
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--files", nargs="+", type=Path, required=True, help="corpus files to score on")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report(run(args.models, args.files), args.json)


if __name__ == "__main__":
    main()
