"""Every speed path returns what the plain path returns: bucketing, TorchScript scores, pytorch-crf, int8, bfloat16."""

from __future__ import annotations

from pathlib import Path

import pytest

from ner import Tagger

from .conftest import shared_data, shipped_model, synthetic_sentences

TEXTS = [" ".join(t for t, _ in s) for s in synthetic_sentences(120, 41)]


def spans(tagger: Tagger, texts: list[str]) -> list[list[tuple[int, int, str]]]:
    return [[(e.start, e.end, e.label) for e in entities] for entities in tagger.tag_batch(texts, scores=False)]


def test_pytorch_crf_decoding_agrees_with_our_viterbi(tiny_model: Path) -> None:
    assert spans(Tagger.load(tiny_model, decoder="torchcrf"), TEXTS) == spans(Tagger.load(tiny_model), TEXTS)


def test_compiled_scores_equal_plain_ones(tiny_model: Path) -> None:
    compiled = Tagger.load(tiny_model).tag_batch(TEXTS)
    plain = Tagger.load(tiny_model, compiled=False).tag_batch(TEXTS)
    assert [(e.start, e.end, e.label) for t in compiled for e in t] == [
        (e.start, e.end, e.label) for t in plain for e in t
    ]
    for a, b in zip((e for t in compiled for e in t), (e for t in plain for e in t)):
        assert a.score == pytest.approx(b.score, abs=1e-6)


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_bucketed_batches_of_any_size_agree(tiny_model: Path, batch_size: int) -> None:
    plain = spans(Tagger.load(tiny_model, batch_size=128), TEXTS)
    assert spans(Tagger.load(tiny_model, batch_size=batch_size), TEXTS) == plain


def test_quantized_agrees_on_a_fixed_sample(tiny_model: Path) -> None:
    plain = spans(Tagger.load(tiny_model), TEXTS)
    quantized = spans(Tagger.load(tiny_model, quantize=True), TEXTS)
    same = sum(a == b for a, b in zip(plain, quantized))
    assert same >= 0.95 * len(TEXTS)


def test_bfloat16_agrees_on_a_fixed_sample(tiny_model: Path) -> None:
    plain = spans(Tagger.load(tiny_model), TEXTS)
    half = spans(Tagger.load(tiny_model, bfloat16=True), TEXTS)
    assert sum(a == b for a, b in zip(plain, half)) >= 0.95 * len(TEXTS)


def test_quantized_and_bfloat16_together_are_refused(tiny_model: Path) -> None:
    with pytest.raises(ValueError, match="exclude each other"):
        Tagger.load(tiny_model, quantize=True, bfloat16=True)


def test_unknown_decoder_is_refused(tiny_model: Path) -> None:
    with pytest.raises(ValueError, match="decoder"):
        Tagger.load(tiny_model, decoder="fast")


@pytest.mark.slow
def test_shipped_model_speed_paths_on_conll_test() -> None:
    """On real text: compiled scores and pytorch-crf decoding agree with the plain path; int8 and
    bfloat16 cost little F1."""
    from ner.corpus import read_conll
    from ner.train import evaluate

    model = shipped_model("en-conll03")
    sentences = read_conll(shared_data("conll2003_en", "eng.testb"))[0]
    texts = [" ".join(s.tokens) for s in sentences[:600]]
    plain = Tagger.load(model)
    compiled_scores = [e.score for t in plain.tag_batch(texts) for e in t]
    plain_scores = [e.score for t in Tagger.load(model, compiled=False).tag_batch(texts) for e in t]
    assert compiled_scores == pytest.approx(plain_scores, abs=1e-6)
    assert spans(Tagger.load(model, decoder="torchcrf"), texts[:200]) == spans(plain, texts[:200])
    f1 = evaluate(plain, sentences)["f1"]
    assert abs(f1 - evaluate(Tagger.load(model, quantize=True), sentences)["f1"]) < 1.0
    assert abs(f1 - evaluate(Tagger.load(model, bfloat16=True), sentences)["f1"]) < 0.3
