"""Calibration of entity probabilities: expected calibration error, temperature scaling, reliability diagram.

An entity's score is the CRF probability that exactly its span carries exactly
its label. Scores are calibrated when, of all predicted entities scored about
``p``, a share ``p`` is correct (in the gold annotation with the same span and
label). Temperature scaling divides every CRF score by ``T`` before the
forward-backward pass; the best path does not change, only the probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ner.corpus import Sentence, Span, as_model_tokens
from ner.tagger import Tagger, TagOptions

TEMPERATURES = tuple(round(0.5 + 0.05 * i, 2) for i in range(51))  # 0.5 .. 3.0


@dataclass
class _Batch:
    emissions: np.ndarray
    mask: np.ndarray
    rows: list[tuple[int, int, int, int]]  # sentence, start, end, label index of each predicted entity
    correct: list[bool]


def _predicted_entities(tagger: Tagger, sentences: Sequence[Sentence]) -> list[_Batch]:
    """Emissions and predicted entities (with their correctness) per length-sorted batch; the
    network runs once per batch, and each temperature reuses its emissions."""
    groups, computed = tagger.corpus_emissions(sentences)
    batches = []
    for group, (emissions, mask) in zip(groups, computed):
        chunk = [sentences[i].tokens for i in group]
        predictions = tagger.decode(chunk, emissions, mask, TagOptions(scores=False), tags=False)
        rows, correct = [], []
        for i, (index, prediction) in enumerate(zip(group, predictions)):
            gold: set[Span] = set(sentences[index].spans())
            for span in prediction.spans:
                rows.append((i, span.start, span.end, tagger.labels.index(span.label)))
                correct.append(span in gold)
        if rows:
            batches.append(_Batch(emissions, mask, rows, correct))
    return batches


def _scores(tagger: Tagger, batches: list[_Batch], temperature: float) -> tuple[list[float], list[bool]]:
    scores, correct = [], []
    for batch in batches:
        scores.extend(tagger.span_probabilities(batch.emissions, batch.mask, batch.rows, temperature)[1])
        correct.extend(batch.correct)
    return scores, correct


def entity_confidences(
    tagger: Tagger, sentences: Sequence[Sentence], temperature: float | None = None
) -> tuple[list[float], list[bool]]:
    """Score and correctness of every predicted entity in gold-annotated ``sentences``."""
    temperature = tagger.bundle.temperature if temperature is None else temperature
    return _scores(tagger, _predicted_entities(tagger, sentences), temperature)


def expected_calibration_error(scores: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """Weighted mean gap between accuracy and mean score over ``bins`` equal-width score bins."""
    if not scores:
        return 0.0
    totals = [[0, 0.0, 0] for _ in range(bins)]  # count, score sum, correct count
    for score, right in zip(scores, correct):
        b = min(int(score * bins), bins - 1)
        totals[b][0] += 1
        totals[b][1] += score
        totals[b][2] += int(right)
    return sum(abs(c - s) for n, s, c in totals if n) / len(scores)


def _log_loss(scores: Sequence[float], correct: Sequence[bool]) -> float:
    eps = 1e-7
    return -sum(math.log(max(s, eps) if r else max(1 - s, eps)) for s, r in zip(scores, correct)) / max(len(scores), 1)


def fit_temperature(tagger: Tagger, sentences: Sequence[Sentence], grid: Sequence[float] = TEMPERATURES) -> dict:
    """The temperature minimising the log-loss of entity correctness on ``sentences`` (a dev set)."""
    sentences = as_model_tokens(sentences, tagger.char_level)
    batches = _predicted_entities(tagger, sentences)
    results = []
    for temperature in grid:
        scores, correct = _scores(tagger, batches, temperature)
        if any(math.isnan(score) for score in scores):
            raise FloatingPointError("the model's scores are not numbers (outputs overflow): lower the learning rate")
        results.append((_log_loss(scores, correct), temperature, expected_calibration_error(scores, correct)))
    base_scores, base_correct = _scores(tagger, batches, 1.0)
    loss, temperature, ece = min(results) if base_scores else (0.0, 1.0, 0.0)
    return {
        "temperature": temperature,
        "ece": round(ece, 4),
        "log_loss": round(loss, 4),
        "ece_at_1": round(expected_calibration_error(base_scores, base_correct), 4),
        "log_loss_at_1": round(_log_loss(base_scores, base_correct), 4),
        "entities": len(base_scores),
    }


def reliability_diagram(
    curves: dict[str, tuple[Sequence[float], Sequence[bool]]], path: str | Path, bins: int = 10
) -> None:
    """Accuracy against mean score per bin, one line per named ``(scores, correct)``, as a PNG."""
    from ner.card import pyplot

    plt = pyplot()

    figure, axes = plt.subplots(figsize=(5, 5))
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    for name, (scores, correct) in curves.items():
        xs, ys = [], []
        for b in range(bins):
            members = [(s, r) for s, r in zip(scores, correct) if min(int(s * bins), bins - 1) == b]
            if members:
                xs.append(sum(s for s, _ in members) / len(members))
                ys.append(sum(r for _, r in members) / len(members))
        ece = expected_calibration_error(scores, correct, bins)
        axes.plot(xs, ys, marker="o", label=f"{name} (ECE {ece:.3f})")
    axes.set(
        xlabel="mean entity score in bin",
        ylabel="share of entities correct",
        xlim=(0, 1),
        ylim=(0, 1),
        title="Reliability of entity scores",
    )
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
