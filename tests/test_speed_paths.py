"""Every speed path returns what the plain path returns: bucketing, bfloat16; and decoding as pytorch-crf's."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchcrf import CRF

from ner import Tagger

from .conftest import shared_data, shipped_model, synthetic_sentences

TEXTS = [" ".join(t for t, _ in s) for s in synthetic_sentences(120, 41)]


def spans(tagger: Tagger, texts: list[str]) -> list[list[tuple[int, int, str]]]:
    return [[(e.start, e.end, e.label) for e in entities] for entities in tagger.tag_batch(texts, scores=False)]


def test_decoding_agrees_with_pytorch_crf(tiny_model: Path) -> None:
    """The tagger's paths are those of pytorch-crf's CRF.decode over the same constrained scores."""
    tagger = Tagger.load(tiny_model, backend="torch")
    sentences = [t.split() for t in TEXTS]
    scores = tagger.backend.crf_scores()
    reference = CRF(len(tagger.tags), batch_first=True)
    with torch.no_grad():
        for parameter, value in zip(
            (reference.start_transitions, reference.transitions, reference.end_transitions),
            (scores.start, scores.transitions, scores.end),
        ):
            parameter.copy_(torch.from_numpy(value))
    (emissions, mask), *_ = tagger.emissions([sentences], [list(range(len(sentences)))])
    expected = reference.decode(torch.from_numpy(emissions), torch.from_numpy(mask))
    assert tagger.predict_tags(sentences) == [[tagger.tags[t] for t in path] for path in expected]


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_bucketed_batches_of_any_size_agree(tiny_model: Path, batch_size: int) -> None:
    plain = spans(Tagger.load(tiny_model, batch_size=128), TEXTS)
    assert spans(Tagger.load(tiny_model, batch_size=batch_size), TEXTS) == plain


def test_bfloat16_agrees_on_a_fixed_sample(tiny_model: Path) -> None:
    plain = spans(Tagger.load(tiny_model), TEXTS)
    half = spans(Tagger.load(tiny_model, bfloat16=True), TEXTS)
    assert sum(a == b for a, b in zip(plain, half)) >= 0.95 * len(TEXTS)


@pytest.mark.slow
def test_shipped_model_bfloat16_costs_little_f1() -> None:
    from ner.corpus import read_conll
    from ner.metrics import evaluate

    model = shipped_model("en-conll03")
    sentences = read_conll(shared_data("conll2003_en", "eng.testb"))[0]
    f1 = evaluate(Tagger.load(model), sentences)["f1"]
    assert abs(f1 - evaluate(Tagger.load(model, bfloat16=True), sentences)["f1"]) < 0.3
