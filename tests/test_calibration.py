"""Tests for ner.calibration: expected calibration error by hand, the fitted temperature against brute force
(every tag path of tiny sentences enumerated), and the network run once per batch whatever the grid."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ner import Tagger
from ner import bundle as bundles
from ner.calibration import (
    TEMPERATURES,
    entity_confidences,
    expected_calibration_error,
    fit_temperature,
    reliability_diagram,
)
from ner.config import ModelConfig
from ner.corpus import Sentence, Span, spans_to_tags, tags_to_spans
from ner.crf import CRFScores
from ner.features import Batch, Vocabularies
from ner.vocab import Vocab

from .conftest import synthetic_sentences

TAGS = ["O", "B-PER", "I-PER", "E-PER", "S-PER"]
# Emission scores of each word for O, B-PER, I-PER, E-PER, S-PER.
EMISSIONS = {
    "ann": [0.0, 0.0, 0.0, 0.0, 3.0],  # surely a one-word name
    "bob": [0.0, 0.0, 0.0, 0.0, 0.8],  # probably one
    "cat": [2.0, 0.0, 0.0, 0.0, 0.0],  # surely not a name
    "dog": [0.0, 1.5, 0.0, 0.0, 0.5],  # begins a name
    "eve": [0.0, 0.0, 0.0, 1.5, 0.5],  # ends one
    "fay": [0.3, 0.0, 0.0, 0.0, 0.5],  # a toss-up
}
# Sentences and their gold names: some of the predicted names are right, some wrong.
GOLD = [
    ("ann cat", [(0, 1)]),
    ("bob cat", []),
    ("dog eve cat", [(0, 2)]),
    ("fay cat ann", [(2, 3)]),
    ("bob ann", [(0, 1), (1, 2)]),
    ("cat fay", [(1, 2)]),
    ("dog eve", []),
]
# Trained-looking CRF scores (start, transitions, end), so that calibration must divide them as well.
CRF_RNG = np.random.default_rng(0)
START, TRANSITIONS, END = CRF_RNG.normal(size=5), CRF_RNG.normal(size=(5, 5)), CRF_RNG.normal(size=5)


class TableBackend:
    """A backend whose emissions are a fixed row per word, with fixed CRF scores; counts its calls."""

    name = "table"

    def __init__(self, vocab: Vocabularies) -> None:
        self.table = np.zeros((len(vocab.words), len(TAGS)), dtype=np.float32)
        for word, row in EMISSIONS.items():
            self.table[vocab.words.stoi[word]] = row
        self.calls = 0

    def emissions(self, batch: Batch) -> np.ndarray:
        self.calls += 1
        return self.table[batch.words]

    def crf_scores(self) -> CRFScores:
        return CRFScores.constrained(START, TRANSITIONS, END, TAGS)


def table_tagger(batch_size: int = 128) -> Tagger:
    vocab = Vocabularies(
        "word", Vocab(EMISSIONS), Vocab(TAGS[1:], specials=("O",)), chars=Vocab(sorted(set("".join(EMISSIONS))))
    )
    bundle = bundles.Bundle(vocab, ModelConfig(), {}, "table", "en")
    return Tagger(bundle, TableBackend(vocab), batch_size=batch_size)


def gold_sentences() -> list[Sentence]:
    sentences = []
    for text, names in GOLD:
        tokens = text.split()
        sentences.append(Sentence(tokens, spans_to_tags([Span(a, b, "PER") for a, b in names], len(tokens))))
    return sentences


def brute_force(sentence: Sentence, temperature: float) -> list[tuple[float, bool]]:
    """The probability and correctness of each entity of the best path, from every path's score at ``temperature``."""
    scores = CRFScores.constrained(START, TRANSITIONS, END, TAGS)
    rows = [EMISSIONS[token] for token in sentence.tokens]
    paths = {}
    for path in itertools.product(range(len(TAGS)), repeat=len(rows)):
        score = scores.start[path[0]] + scores.end[path[-1]] + sum(row[tag] for row, tag in zip(rows, path))
        score += sum(scores.transitions[a, b] for a, b in zip(path, path[1:]))
        paths[path] = float(score)
    best = max(paths, key=paths.get)
    top = max(paths.values()) / temperature
    total = sum(math.exp(s / temperature - top) for s in paths.values())
    gold = set(sentence.spans())
    out = []
    for span in tags_to_spans([TAGS[t] for t in best]):
        mass = sum(
            math.exp(s / temperature - top)
            for path, s in paths.items()
            if span in tags_to_spans([TAGS[t] for t in path])
        )
        out.append((mass / total, span in gold))
    return out


def log_loss(pairs: list[tuple[float, bool]]) -> float:
    return -sum(math.log(max(p, 1e-7) if right else max(1 - p, 1e-7)) for p, right in pairs) / len(pairs)


@pytest.mark.parametrize(
    ("scores", "correct", "expected"),
    [
        ([], [], 0.0),
        # bins: [0.05] none right: 0.05; [0.15] right: 0.85; [0.95, 0.95] one right: |1 - 1.9| = 0.9
        ([0.05, 0.15, 0.95, 0.95], [False, True, True, False], (0.05 + 0.85 + 0.9) / 4),
        ([0.25, 0.25, 0.25, 0.25], [True, False, False, False], 0.0),  # perfectly calibrated
        ([1.0, 1.0], [True, True], 0.0),  # a score of 1 falls in the last bin
        ([1.0, 0.0], [False, True], 1.0),  # confidently wrong both ways
    ],
)
def test_expected_calibration_error_by_hand(scores: list[float], correct: list[bool], expected: float) -> None:
    assert expected_calibration_error(scores, correct) == pytest.approx(expected)


def test_expected_calibration_error_with_other_bins() -> None:
    scores, correct = [0.1, 0.4, 0.6, 0.9], [True, False, False, False]
    # Two bins: [0.1, 0.4] mean 0.25, half right: 0.25; [0.6, 0.9] mean 0.75, none right: 0.75.
    assert expected_calibration_error(scores, correct, bins=2) == pytest.approx((0.25 * 2 + 0.75 * 2) / 4)
    # Ten bins, one score each: 0.9, 0.4, 0.6 and 0.9 away from their outcomes.
    assert expected_calibration_error(scores, correct) == pytest.approx((0.9 + 0.4 + 0.6 + 0.9) / 4)


def test_entity_confidences_equal_brute_force() -> None:
    tagger = table_tagger()
    sentences = gold_sentences()
    for temperature in (0.5, 1.0, 2.5):
        scores, correct = entity_confidences(tagger, sentences, temperature)
        # Sentences are scored in length-sorted order (a stable sort).
        order = sorted(range(len(sentences)), key=lambda i: len(sentences[i].tokens))
        expected = [pair for i in order for pair in brute_force(sentences[i], temperature)]
        assert correct == [right for _, right in expected]
        assert scores == pytest.approx([p for p, _ in expected], abs=1e-6)
    assert sum(correct) and not all(correct)


def test_fit_temperature_picks_the_grid_value_of_least_log_loss() -> None:
    tagger = table_tagger()
    sentences = gold_sentences()
    losses = {t: log_loss([pair for s in sentences for pair in brute_force(s, t)]) for t in TEMPERATURES}
    best = min(losses, key=losses.get)
    assert TEMPERATURES[0] < best < TEMPERATURES[-1]  # a minimum inside the grid: the case tells something
    result = fit_temperature(tagger, sentences)
    assert result["temperature"] == best
    assert result["log_loss"] == pytest.approx(losses[best], abs=1e-4)
    assert result["log_loss_at_1"] == pytest.approx(losses[1.0], abs=1e-4)
    at_1 = [pair for s in sentences for pair in brute_force(s, 1.0)]
    assert result["entities"] == len(at_1)
    assert result["ece_at_1"] == pytest.approx(
        expected_calibration_error([p for p, _ in at_1], [r for _, r in at_1]), abs=1e-4
    )
    # On a grid without the best value, the best of the grid.
    others = [t for t in TEMPERATURES if t != best]
    assert fit_temperature(tagger, sentences, others)["temperature"] == min(others, key=losses.get)


def test_fit_temperature_without_predicted_entities_keeps_1() -> None:
    result = fit_temperature(table_tagger(), [Sentence(["cat", "cat"], ["O", "O"])])
    assert result["temperature"] == 1.0 and result["entities"] == 0


@pytest.mark.parametrize("batch_size", [1, 3, 100])
def test_the_network_runs_once_per_batch_however_many_temperatures(batch_size: int) -> None:
    tagger = table_tagger(batch_size)
    sentences = gold_sentences()
    fit_temperature(tagger, sentences)
    assert tagger.backend.calls == math.ceil(len(sentences) / batch_size)


class Counting:
    """A backend wrapper that counts the calls of each method."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls: dict[str, int] = {"emissions": 0, "states": 0, "projection": 0}

    def __getattr__(self, name: str) -> object:
        method = getattr(self.inner, name)
        if name not in self.calls:
            return method

        def counted(*args: object) -> object:
            self.calls[name] += 1
            return method(*args)

        return counted


@pytest.mark.parametrize("variant", ["plain", "memory"])
def test_a_real_model_runs_once_per_batch(variant: str, tiny_model: Path, tiny_variant: Callable[[str], Path]) -> None:
    tagger = Tagger.load(tiny_model if variant == "plain" else tiny_variant("memory"), batch_size=16)
    tagger.backend = counting = Counting(tagger.backend)
    sentences = [
        Sentence([t for t, _ in s], spans_to_tags(tags_to_spans([tag for _, tag in s]), len(s)))
        for s in synthetic_sentences(60, 77)
    ]
    result = fit_temperature(tagger, sentences)
    assert result["entities"] > 60
    if variant == "plain":
        assert counting.calls == {"emissions": 4, "states": 0, "projection": 0}
    else:  # a document memory encodes each batch once and reads the emission layer once
        assert counting.calls == {"emissions": 0, "states": 4, "projection": 1}


def test_reliability_diagram_is_a_png(tmp_path: Path) -> None:
    path = tmp_path / "reliability.png"
    reliability_diagram({"before": ([0.2, 0.9, 0.95], [False, True, True]), "after": ([0.5], [True])}, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
