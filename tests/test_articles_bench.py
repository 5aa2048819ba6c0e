"""benchmarks.articles: a CoNLL document written as an article, and a model scored on articles as text and
with each line given as a sentence."""

from __future__ import annotations

from pathlib import Path

from benchmarks.articles import record, score_model
from ner import Tagger
from ner.corpus import Sentence


def test_an_article_is_its_sentences_one_a_line_with_their_entities_as_character_spans() -> None:
    document = [
        Sentence(["John", "Smith", "visited", "Paris", "."], ["B-PER", "E-PER", "O", "S-LOC", "O"]),
        Sentence(["He", "left", "Acme", "Corp"], ["O", "O", "B-ORG", "E-ORG"]),
    ]
    article = record(document)
    assert article["text"] == "John Smith visited Paris .\nHe left Acme Corp"
    assert [(article["text"][s["start"] : s["end"]], s["label"]) for s in article["spans"]] == [
        ("John Smith", "PER"),
        ("Paris", "LOC"),
        ("Acme Corp", "ORG"),
    ]


def test_lines_given_as_sentences_are_tagged_with_offsets_into_the_whole_article(tiny_model: Path) -> None:
    tagger = Tagger.load(tiny_model)
    text = "John Smith visited Paris on Monday .\nMaria Garcia met John Smith in Berlin"
    article = {"text": text, "spans": []}
    found = {(e.start, e.end, e.label) for e in tagger.tag(text)}
    assert found
    scores = score_model(tagger, [article], [sorted(found)])
    assert scores["test_as_text"]["f1"] == 100.0 and scores["articles"] == 1
    lines = scores["test_lines_as_sentences"]  # the same entities: the splitter ends the sentence at the point
    assert lines["f1"] == 100.0 and scores["entities_across_a_line_break"] == []
