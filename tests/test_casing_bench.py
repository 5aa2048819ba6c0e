"""benchmarks.casing: a model's entity F1 on a test file as written and in other casings, with each
``capitals`` option."""

from __future__ import annotations

from pathlib import Path

from benchmarks import articles, casing
from ner.corpus import Sentence, read_corpus
from ner.metrics import evaluate
from ner.tagger import Tagger


def test_recasing_changes_the_letters_only() -> None:
    sentence = Sentence(
        ["Ann", "met", "IBM", "in", "Köln", "i"], ["S-PER", "O", "S-ORG", "O", "S-LOC", "O"], document=3
    )
    (lower,) = casing.CASINGS["lowercased"]([sentence])
    assert (
        lower.tokens == ["ann", "met", "ibm", "in", "köln", "i"] and lower.tags == sentence.tags and lower.document == 3
    )
    (chat,) = casing.first_words([sentence])
    assert chat.tokens == ["Ann", "met", "ibm", "in", "köln", "I"] and chat.tags == sentence.tags


def test_each_model_is_scored_in_each_casing_with_each_capitals_option(
    tiny_model: Path, tiny_corpus: dict[str, Path]
) -> None:
    results = casing.run([tiny_model], tiny_corpus["test"])
    auto, restore, as_written = (
        results["f1"][f"{tiny_model}, capitals {c}"] for c in ("auto", "restore", "as_written")
    )
    assert list(auto) == list(casing.CASINGS)
    sentences = read_corpus(tiny_corpus["test"])[0]
    tagger = Tagger.load(tiny_model)
    lowered = casing.CASINGS["lowercased"](sentences)
    assert auto["lowercased"] == round(evaluate(tagger, lowered)["f1"], 2) == restore["lowercased"]
    assert as_written["lowercased"] == round(evaluate(tagger, lowered, "as_written")["f1"], 2) < auto["lowercased"]
    assert auto["as written"] == as_written["as written"] > 50
    assert restore["first words"] == auto["lowercased"] != auto["first words"]  # read as its lowercased self
    table = casing.markdown(results).splitlines()
    assert table[2].startswith(f"| {tiny_model}, capitals auto | {auto['as written']:.2f} |")
    assert f"| {results['plain_sentences']} sentences without a capital past the first word |" in table[-5]


def test_each_model_is_scored_on_the_documents_given_as_text(tiny_model: Path, tiny_corpus: dict[str, Path]) -> None:
    results = casing.run([tiny_model], tiny_corpus["test"])
    auto = results["f1_as_text"][f"{tiny_model}, capitals auto"]
    as_written = results["f1_as_text"][f"{tiny_model}, capitals as_written"]
    assert list(auto) == list(casing.CASINGS)
    assert auto["as written"] == as_written["as written"] > 50
    assert as_written["lowercased"] < auto["lowercased"]
    assert "| model, given as text |" in casing.markdown(results)

    documents = articles.documents(tiny_corpus["test"])
    written = [articles.record(document) for document in documents]
    lowered = [articles.record(casing.CASINGS["lowercased"](document)) for document in documents]
    assert [r["text"] for r in lowered] == [r["text"].lower() for r in written]
    assert [r["spans"] for r in lowered] == [r["spans"] for r in written]
    tagger = Tagger.load(tiny_model)  # scored against its own entities, a text scores 100
    own = [{"text": r["text"], "spans": [e.to_dict() for e in tagger.tag(r["text"])]} for r in written]
    assert casing.text_scores(tagger, {"as written": own}) == {"as written": 100.0}
