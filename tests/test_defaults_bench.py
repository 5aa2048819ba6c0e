"""benchmarks.defaults: the samples both systems train on, and the character spans one scorer compares."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from benchmarks import defaults
from ner.corpus import Span, spans_to_tags
from ner.metrics import entity_scores


@pytest.mark.parametrize("separator", ["", " "])
def test_character_spans_cut_the_entity_out_of_the_joined_text(separator: str) -> None:
    tokens = ["In", "New", "York", ",", "Ann", "Lee", "met", "Bob"]
    token_spans = [(1, 3, "LOC"), (4, 6, "PER"), (7, 8, "PER")]
    text = separator.join(tokens)
    spans = defaults.char_spans(tokens, token_spans, separator)
    assert [text[start:end] for start, end, _ in spans] == [separator.join(tokens[s:e]) for s, e, _ in token_spans]
    assert [label for *_, label in spans] == ["LOC", "PER", "PER"]


def test_the_strict_scorer_agrees_with_seqeval_on_random_spans() -> None:
    rng = random.Random(0)
    for _ in range(30):
        lengths = [rng.randint(1, 9) for _ in range(4)]
        gold, predicted = ([random_spans(rng, n) for n in lengths] for _ in range(2))
        tags = [[spans_to_tags(spans, n) for spans, n in zip(side, lengths)] for side in (gold, predicted)]
        as_tuples = [[[(s.start, s.end, s.label) for s in spans] for spans in side] for side in (gold, predicted)]
        assert defaults.strict_scores(*as_tuples)["f1"] == pytest.approx(entity_scores(*tags)["f1"], abs=0.01)


def random_spans(rng: random.Random, length: int) -> list[Span]:
    """Non-overlapping spans of random sizes and labels over ``length`` tokens."""
    spans, position = [], rng.randint(0, 1)
    while position < length:
        end = min(length, position + rng.randint(1, 3))
        spans.append(Span(position, end, rng.choice(["PER", "LOC"])))
        position = end + rng.randint(0, 2)
    return spans


def test_a_sample_keeps_source_sentences_verbatim_and_drops_document_marks(tmp_path: Path) -> None:
    blocks = [[f"w{i}a X X O", f"w{i}b X X I-PER"] for i in range(100)]
    text = "-DOCSTART- -X- -X- O\n\n" + "\n\n".join("\n".join(b) for b in blocks) + "\n"
    (tmp_path / "source").write_text(text, encoding="utf-8")
    defaults.write_sample(tmp_path / "source", tmp_path / "sample", 30, 10)
    written = [
        block.split("\n")
        for name in ("train.bio", "dev.bio")
        for block in (tmp_path / "sample" / name).read_text(encoding="utf-8").strip().split("\n\n")
    ]
    assert len(written) == 40 and len({tuple(b) for b in written}) == 40
    assert all(block in blocks for block in written)
    assert len((tmp_path / "sample" / "train.bio").read_text(encoding="utf-8").strip().split("\n\n")) == 30


def test_a_corpus_in_words_keeps_the_text_and_every_entity_whole(tmp_path: Path) -> None:
    """``msra1500w``'s files: jieba's words, cut again at entity edges; the same text and entities."""
    from ner.corpus import read_conll

    text = "中华人民共和国国务院总理李鹏在北京会见外宾"
    tags = ["B-ORG", *["I-ORG"] * 9, "O", "O", "B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "O", "O", "O"]
    assert len(tags) == len(text)
    lines = [f"{c} {t}" for c, t in zip(text, tags)]
    (tmp_path / "chars.bio").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "words.bio").write_text("\n".join(lines) + "\n", encoding="utf-8")
    defaults.write_in_words(tmp_path / "words.bio")
    [chars], [words] = (read_conll(tmp_path / name)[0] for name in ("chars.bio", "words.bio"))
    assert "".join(words.tokens) == "".join(chars.tokens) and len(words.tokens) < len(chars.tokens)
    assert any(len(token) > 1 for token in words.tokens)

    def entities(sentence):
        starts = [0, *itertools.accumulate(map(len, sentence.tokens))]
        return [(starts[s.start], starts[s.end], s.label) for s in sentence.spans()]

    assert entities(words) == entities(chars) == [(0, 10, "ORG"), (12, 14, "PER"), (15, 17, "LOC")]


def test_a_corpus_of_joined_names_holds_each_name_as_one_token(tmp_path: Path) -> None:
    """``conll1500u``'s files: each entity's words joined by underscores; cut apart again, the source."""
    from ner.corpus import as_words, read_conll

    source = (
        "EU B-ORG\nrejects O\nGerman B-MISC\ncall O\nto O\nNew B-LOC\nYork I-LOC\nBoard B-ORG\n\n"
        "Peter B-PER\nBlackburn I-PER\n"
    )
    (tmp_path / "words.bio").write_text(source, encoding="utf-8")
    (tmp_path / "joined.bio").write_text(source, encoding="utf-8")
    defaults.write_joined(tmp_path / "joined.bio")
    joined, words = (read_conll(tmp_path / name)[0] for name in ("joined.bio", "words.bio"))
    assert joined[0].tokens == ["EU", "rejects", "German", "call", "to", "New_York", "Board"]
    assert joined[0].tags == ["S-ORG", "O", "S-MISC", "O", "O", "S-LOC", "S-ORG"]
    assert joined[1].tokens == ["Peter_Blackburn"] and joined[1].tags == ["S-PER"]
    assert [(s.tokens, s.tags) for s in as_words(joined)] == [(s.tokens, s.tags) for s in words]


def test_a_corpus_of_numbered_characters_reads_back_as_its_characters(tmp_path: Path) -> None:
    """``msra1500n``'s files: each character followed by its position in its jieba word (Weibo NER's way)."""
    from ner.corpus import read_conll

    source = "".join(f"{c} {t}\n" for c, t in zip("我在北京大学", ["O", "O", "B-ORG", "I-ORG", "I-ORG", "I-ORG"]))
    (tmp_path / "chars.bio").write_text(source, encoding="utf-8")
    (tmp_path / "numbered.bio").write_text(source, encoding="utf-8")
    defaults.write_numbered(tmp_path / "numbered.bio")
    lines = (tmp_path / "numbered.bio").read_text(encoding="utf-8").split()
    assert lines[0::2][:2] == ["我0", "在0"] and all(token[1:].isdigit() for token in lines[0::2])
    numbered, chars = (read_conll(tmp_path / name)[0] for name in ("numbered.bio", "chars.bio"))
    assert [(s.tokens, s.tags) for s in numbered] == [(s.tokens, s.tags) for s in chars]
