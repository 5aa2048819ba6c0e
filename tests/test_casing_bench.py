"""benchmarks.casing: a model's entity F1 on a test file as written, lowercased and uppercased."""

from __future__ import annotations

from pathlib import Path

from benchmarks import casing
from ner.corpus import Sentence, read_corpus
from ner.metrics import evaluate
from ner.tagger import Tagger


def test_recasing_changes_the_letters_only() -> None:
    sentence = Sentence(["Ann", "met", "IBM", "in", "Köln"], ["S-PER", "O", "S-ORG", "O", "S-LOC"], document=3)
    (lower,) = casing.recased([sentence], str.lower)
    assert lower.tokens == ["ann", "met", "ibm", "in", "köln"] and lower.tags == sentence.tags and lower.document == 3


def test_each_model_is_scored_in_each_casing(tiny_model: Path, tiny_corpus: dict[str, Path]) -> None:
    results = casing.run([tiny_model], tiny_corpus["test"])
    scores = results["f1"][str(tiny_model)]
    assert list(scores) == ["as written", "lowercased", "uppercased"]
    sentences = read_corpus(tiny_corpus["test"])[0]
    lowered = evaluate(Tagger.load(tiny_model), casing.recased(sentences, str.lower))["f1"]
    assert scores["as written"] > 50 and scores["lowercased"] == round(lowered, 2)
    assert casing.markdown(results).splitlines()[2].startswith(f"| {tiny_model} | {scores['as written']:.2f} |")
