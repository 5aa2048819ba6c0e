"""benchmarks.ensemble: max-marginal decoding against enumeration, and an ensemble of one model."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from benchmarks import ensemble

from .test_crf import is_valid_bioes

TAGS = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]


def log_product(probabilities: np.ndarray, path: list[str]) -> float:
    return float(sum(np.log(probabilities[i, TAGS.index(tag)]) for i, tag in enumerate(path)))


@pytest.mark.parametrize("seed", range(4))
def test_decode_takes_the_valid_path_of_highest_probability_product(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sentences = [rng.dirichlet(np.ones(len(TAGS)) * 0.3, size=length) for length in (1, 3, 4)]
    for probabilities, decoded in zip(sentences, ensemble.decode(sentences, TAGS)):
        valid = [
            [TAGS[t] for t in path]
            for path in itertools.product(range(len(TAGS)), repeat=len(probabilities))
            if is_valid_bioes([TAGS[t] for t in path])
        ]

        best = max(log_product(probabilities, path) for path in valid)
        assert is_valid_bioes(decoded) and log_product(probabilities, decoded) == pytest.approx(best)


def test_an_ensemble_of_one_model_twice_scores_as_the_model(tiny_model: Path, tiny_corpus: dict[str, Path]) -> None:
    results = ensemble.run([tiny_model, tiny_model], [tiny_corpus["dev"]])[str(tiny_corpus["dev"])]
    single, again = results["each_f1"]
    assert single == again == results["ensemble_f1"] > 50
