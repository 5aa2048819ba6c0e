"""benchmarks.casing: a model's entity F1 on a test file as written, lowercased and uppercased."""

from __future__ import annotations

from pathlib import Path

from benchmarks import articles, casing
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


def test_each_model_is_scored_on_the_documents_given_as_text(tiny_model: Path, tiny_corpus: dict[str, Path]) -> None:
    results = casing.run([tiny_model], tiny_corpus["test"])
    restored = results["f1_as_text"][str(tiny_model)]
    unrestored = results["f1_as_text"][f"{tiny_model} (capitals not restored)"]
    assert list(restored) == list(unrestored) == list(casing.CASINGS)
    assert restored["as written"] == unrestored["as written"] > 50
    assert unrestored["lowercased"] < restored["lowercased"]
    assert "| model, given as text |" in casing.markdown(results)

    documents = articles.documents(tiny_corpus["test"])
    written = [articles.record(document) for document in documents]
    lowered = [articles.record(casing.recased(document, str.lower)) for document in documents]
    assert [r["text"] for r in lowered] == [r["text"].lower() for r in written]
    assert [r["spans"] for r in lowered] == [r["spans"] for r in written]
    tagger = Tagger.load(tiny_model)  # scored against its own entities, a text scores 100
    own = [{"text": r["text"], "spans": [e.to_dict() for e in tagger.tag(r["text"])]} for r in written]
    assert casing.text_scores(tagger, {"as written": own}) == {"as written": 100.0}
