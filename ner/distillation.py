"""Distillation: what trained models (teachers) believe about each training token, as targets for a new one.

Each teacher tags the training sentences; its CRF's per-token tag probabilities
``(T, K)`` (forward-backward, :func:`ner.crf.marginals`) are averaged over the
teachers and mixed with the gold tags. The student then learns the CRF's
cross-entropy against these soft tags (:func:`ner.model.crf_cross_entropy`)
instead of the gold tags alone: an ensemble's knowledge in one model of one
model's size and speed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ner import crf
from ner.corpus import Sentence
from ner.tagger import Tagger


def teacher_probabilities(
    teachers: Sequence[str | Path],
    sentences: Sequence[Sentence],
    tags: Sequence[str],
    threads: int,
    progress: bool = True,
    level: str | None = None,
) -> list[np.ndarray]:
    """The teachers' mean tag probabilities of each sentence, ``(len(tokens), len(tags))`` float32 with
    columns in the order of ``tags`` (the student's). A teacher with a tag the student lacks, or of
    another ``level`` than the student's (it would read the sentences' tokens as other units), is an error."""
    totals = [np.zeros((len(s.tokens), len(tags)), dtype=np.float32) for s in sentences]
    for number, path in enumerate(teachers, 1):
        teacher = Tagger.load(path, threads=threads)
        if level is not None and teacher.vocab.level != level:
            raise ValueError(f"teacher {path} is a {teacher.vocab.level}-level model; the student is {level}-level")
        extra = sorted(set(teacher.tags) - set(tags))
        if extra:
            raise ValueError(f"teacher {path} has tags the training data lacks: {extra}")
        columns = [list(tags).index(tag) for tag in teacher.tags]
        groups, computed = teacher.corpus_emissions(sentences)
        scores = teacher.backend.crf_scores()
        bar = tqdm(computed, total=len(groups), desc=f"teacher {number}/{len(teachers)}", disable=not progress)
        for group, (emissions, mask) in zip(groups, bar):
            probabilities = crf.marginals(emissions, mask, scores.start, scores.transitions, scores.end)
            for row, index in enumerate(group):
                totals[index][:, columns] += probabilities[row, : len(sentences[index].tokens)]
    for total in totals:  # in place: a large corpus's probabilities are not held twice
        total /= len(teachers)
    return totals


def soft_targets(gold: np.ndarray, teachers: Sequence[np.ndarray], mask: np.ndarray, weight: float) -> np.ndarray:
    """Training targets ``(B, T, K)``: ``1 - weight`` on each gold tag ``gold (B, T)`` plus ``weight``
    times the teachers' probabilities (one ``(length, K)`` array per sentence); zero on padding
    (``mask (B, T)``)."""
    batch, steps = gold.shape
    targets = np.zeros((batch, steps, teachers[0].shape[1]), dtype=np.float32)
    for row, probabilities in enumerate(teachers):
        targets[row, : len(probabilities)] = weight * probabilities
    rows, columns = np.nonzero(mask)
    targets[rows, columns, gold[rows, columns]] += 1.0 - weight
    return targets
