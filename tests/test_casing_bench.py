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
    scores, unrestored = results["f1"][str(tiny_model)], results["f1"][f"{tiny_model} (capitals not restored)"]
    assert list(scores) == list(unrestored) == ["as written", "lowercased", "uppercased"]
    sentences = read_corpus(tiny_corpus["test"])[0]
    tagger = Tagger.load(tiny_model)
    lowered = evaluate(tagger, casing.recased(sentences, str.lower))["f1"]
    assert scores["as written"] > 50 and scores["lowercased"] == round(lowered, 2)
    tagger.vocab.truecaser = None
    assert unrestored["lowercased"] == round(evaluate(tagger, casing.recased(sentences, str.lower))["f1"], 2)
    assert unrestored["as written"] == scores["as written"] and unrestored["lowercased"] < scores["lowercased"]
    assert casing.markdown(results).splitlines()[2].startswith(f"| {tiny_model} | {scores['as written']:.2f} |")
