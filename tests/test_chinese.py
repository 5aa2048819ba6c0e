"""Chinese: character-level models, long sentences split without losing offsets, the shipped model's score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ner import Tagger, TagOptions
from ner.corpus import Sentence, read_conll, spans_to_tags, tags_to_spans
from ner.text import cut_points
from ner.train import split_long

from .conftest import shared_data, shipped_model, synthetic_chinese


def test_split_long_cuts_at_punctuation_and_never_inside_an_entity() -> None:
    pairs = [p for sentence in synthetic_chinese(200, 5) for p in sentence]  # one "sentence" of ~1,800 chars
    tokens, tags = [t for t, _ in pairs], [t for _, t in pairs]
    bioes = spans_to_tags(tags_to_spans(tags), len(tags))
    pieces = split_long([Sentence(tokens, bioes)], 100)
    assert len(pieces) > 10
    assert all(len(p.tokens) <= 100 for p in pieces)
    assert [t for p in pieces for t in p.tokens] == tokens
    assert [t for p in pieces for t in p.tags] == bioes
    for piece in pieces:
        assert piece.tags[0][0] in "OBS" and piece.tags[-1][0] in "OES"
    assert sum(p.tokens[-1] == "。" for p in pieces) >= len(pieces) - 1


def test_a_very_long_chinese_text_keeps_exact_offsets(tiny_zh_model: Path) -> None:
    tagger = Tagger.load(tiny_zh_model)
    text = "".join("".join(c for c, _ in s) for s in synthetic_chinese(400, 6))  # about 3,500 characters
    assert len(text) > 2427
    analysis = tagger.analyze([text], TagOptions(tokens=True))[0]
    assert len(analysis.tokens) == len(text)
    assert len(analysis.entities) > 100
    for entity in analysis.entities:
        assert text[entity.start : entity.end] == entity.text
    assert ("北京", "LOC") in {(e.text, e.label) for e in analysis.entities}


def test_bmes_resume_corpus_reads_as_bioes() -> None:
    sentences, scheme = read_conll(shared_data("resume_ner", "dev.char.bmes"))
    assert scheme == "BMES"
    assert len(sentences) == 463
    assert all(t[0] in "OBIES" for s in sentences for t in s.tags)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "test_file", "must_reach", "dev_note"),
    [
        ("zh-msra", ("msra_ner", "msra_test_bio"), 89.0, "every 20th sentence"),
        ("zh-resume", ("resume_ner", "test.char.bmes"), 93.0, "dev.char.bmes"),
    ],
)
def test_shipped_chinese_models_score_what_their_cards_say(
    name: str, test_file: tuple[str, str], must_reach: float, dev_note: str, capsys
) -> None:
    from ner.cli import main

    model = shipped_model(name)
    assert main(["evaluate", str(model), str(shared_data(*test_file)), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["f1"] == pytest.approx(json.loads((model / "metrics.json").read_text())["test"]["f1"], abs=0.01)
    assert scores["f1"] >= must_reach
    card = (model / "README.md").read_text()
    assert dev_note in card
    assert (model / "weights.safetensors").stat().st_size < 25 * 2**20


def test_predict_cuts_long_pretokenized_sentences_and_joins_the_pieces(tiny_zh_model: Path) -> None:
    tagger = Tagger.load(tiny_zh_model)
    pairs = [p for sentence in synthetic_chinese(150, 8) for p in sentence]
    tokens = [c for c, _ in pairs]
    assert len(tokens) > 3 * tagger.max_sentence_tokens
    (whole,) = tagger.predict([tokens], TagOptions(scores=True, nbest=2))
    assert len(whole.tags) == len(tokens)
    assert len(whole.scores) == len(whole.spans) > 20
    assert [s for s in whole.spans] == tags_to_spans(whole.tags)
    pieces = cut_points(tokens, tagger.max_sentence_tokens)
    assert len(pieces) > 3 and all(tokens[end - 1] == "。" for _, end in pieces)
    one_by_one = []
    for start, end in pieces:
        (part,) = tagger.predict([tokens[start:end]])
        one_by_one += [(s.start + start, s.end + start, s.label) for s in part.spans]
    assert [(s.start, s.end, s.label) for s in whole.spans] == one_by_one
    assert whole.alternatives and [(s.start, s.end, s.label) for s in whole.alternatives[0][1]] == [
        (s.start, s.end, s.label) for s in whole.spans
    ]
