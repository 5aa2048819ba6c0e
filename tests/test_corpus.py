"""Tests for ner.corpus: tag schemes, CoNLL, JSONL and brat readers, errors, and the conlleval writer."""

from __future__ import annotations

import codecs
import json
import random
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ner.corpus import SCHEMES as ALL_SCHEMES
from ner.corpus import (
    UNNAMED,
    CorpusError,
    Sentence,
    Span,
    as_characters,
    as_model_tokens,
    as_words,
    detect_scheme,
    mentions_by_label,
    read_brat,
    read_conll,
    read_corpus,
    read_jsonl,
    replace_mentions,
    spans_to_tags,
    tags_to_spans,
    token_tags,
    write_conll_predictions,
)
from ner.text import tokenize

from .conftest import shared_data

SCHEMES = ("IOB1", "IOB2", "BIOES", "BMES")


def write(tmp_path: Path, text: str, name: str = "corpus.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- tag schemes

SPAN_SETS = {
    "none": ([], 3),
    "single-token sentence": ([Span(0, 1, "PER")], 1),
    "whole sentence": ([Span(0, 5, "ORG")], 5),
    "start and end": ([Span(0, 2, "PER"), Span(4, 6, "LOC")], 6),
    "adjacent same type": ([Span(0, 2, "PER"), Span(2, 3, "PER")], 4),
    "adjacent single tokens": ([Span(1, 2, "LOC"), Span(2, 3, "LOC")], 3),
    "adjacent other type": ([Span(0, 1, "PER"), Span(1, 3, "LOC"), Span(3, 4, "PER")], 4),
    "gap of one O": ([Span(0, 1, "MISC"), Span(2, 3, "MISC")], 3),
    "long entity": ([Span(1, 7, "MISC")], 8),
    "label with dash": ([Span(0, 2, "B-ORG"), Span(3, 4, "GPE-X")], 4),
    "three touching": ([Span(0, 1, "LOC"), Span(1, 2, "LOC"), Span(2, 3, "LOC")], 3),
    "touching chain then long": ([Span(0, 2, "PER"), Span(2, 3, "PER"), Span(3, 6, "PER")], 6),
}


def _round_trip_cases():
    for name, (spans, length) in SPAN_SETS.items():
        for scheme in SCHEMES:
            yield pytest.param(spans, length, scheme, id=f"{scheme}-{name}")


@pytest.mark.parametrize(("spans", "length", "scheme"), list(_round_trip_cases()))
def test_spans_tags_round_trip(spans, length, scheme):
    tags = spans_to_tags(spans, length, scheme)
    assert len(tags) == length
    assert tags_to_spans(tags) == spans
    assert detect_scheme([tags]) in SCHEMES


@pytest.mark.parametrize(
    ("spans", "length", "scheme", "expected"),
    [
        ([Span(0, 2, "PER"), Span(3, 4, "LOC")], 4, "IOB2", ["B-PER", "I-PER", "O", "B-LOC"]),
        ([Span(0, 2, "PER"), Span(3, 4, "LOC")], 4, "IOB1", ["I-PER", "I-PER", "O", "I-LOC"]),
        ([Span(0, 2, "PER"), Span(2, 3, "PER")], 3, "IOB1", ["I-PER", "I-PER", "B-PER"]),
        ([Span(0, 1, "PER"), Span(1, 2, "LOC")], 2, "IOB1", ["I-PER", "I-LOC"]),
        ([Span(0, 3, "PER"), Span(3, 4, "LOC")], 4, "BIOES", ["B-PER", "I-PER", "E-PER", "S-LOC"]),
        ([Span(0, 3, "PER"), Span(3, 4, "LOC")], 4, "BMES", ["B-PER", "M-PER", "E-PER", "S-LOC"]),
        ([Span(1, 3, "X")], 4, "BMES", ["O", "B-X", "E-X", "O"]),
    ],
)
def test_spans_to_tags_exact(spans, length, scheme, expected):
    assert spans_to_tags(spans, length, scheme) == expected


def test_spans_to_tags_default_scheme_is_bioes():
    assert spans_to_tags([Span(0, 1, "A"), Span(1, 3, "A")], 3) == ["S-A", "B-A", "E-A"]


def test_spans_to_tags_unsorted_input():
    spans = [Span(3, 4, "LOC"), Span(0, 2, "PER")]
    assert spans_to_tags(spans, 4, "IOB2") == ["B-PER", "I-PER", "O", "B-LOC"]


def test_spans_to_tags_iob1_three_touching_entities():
    spans = [Span(0, 1, "LOC"), Span(1, 2, "LOC"), Span(2, 3, "LOC")]
    assert spans_to_tags(spans, 3, "IOB1") == ["I-LOC", "B-LOC", "B-LOC"]


def test_spans_to_tags_unknown_scheme_raises():
    with pytest.raises(ValueError, match="scheme"):
        spans_to_tags([Span(0, 1, "A")], 2, "IOB3")


def test_spans_to_tags_unknown_scheme_raises_without_spans():
    with pytest.raises(ValueError, match="scheme"):
        spans_to_tags([], 2, "IOB3")


def _tagged(*parts: tuple[str, str]) -> Sentence:
    """A sentence from (words, label) parts; label "" for words outside entities."""
    tokens: list[str] = []
    spans = []
    for words, label in parts:
        if label:
            spans.append(Span(len(tokens), len(tokens) + len(words.split()), label))
        tokens += words.split()
    return Sentence(tokens, spans_to_tags(spans, len(tokens)), document=7)


def test_mentions_by_label_are_distinct_and_ordered():
    sentences = [_tagged(("Ann Lee", "PER"), ("met", ""), ("Bo", "PER")), _tagged(("Bo", "PER"), ("in Oslo", ""))]
    assert mentions_by_label(sentences) == {"PER": [("Ann", "Lee"), ("Bo",)]}


def test_replace_mentions_swaps_every_entity_at_rate_one_and_keeps_the_context():
    mentions = {"PER": [("Zed", "Xu", "Yi")], "LOC": [("Rome",)]}
    sentence = _tagged(("Ann", "PER"), ("flew to", ""), ("New York", "LOC"), ("today", ""))
    swapped = replace_mentions(sentence, mentions, 1.0, np.random.default_rng(0))
    assert swapped.tokens == ["Zed", "Xu", "Yi", "flew", "to", "Rome", "today"]
    assert swapped.tags == ["B-PER", "I-PER", "E-PER", "O", "O", "S-LOC", "O"]
    assert swapped.document == 7
    assert replace_mentions(sentence, mentions, 0.0, np.random.default_rng(0)) == sentence
    unknown_label = _tagged(("Acme", "ORG"), ("rose", ""))
    assert replace_mentions(unknown_label, mentions, 1.0, np.random.default_rng(0)) == unknown_label


def test_replace_mentions_swaps_about_the_rate_with_mentions_of_the_same_label():
    mentions = {"PER": [("P1",), ("P2", "P2")], "LOC": [("L1", "L1", "L1")]}
    sentence = _tagged(("Ann", "PER"), ("in", ""), ("Oslo", "LOC"))
    rng = np.random.default_rng(1)
    swapped = 0
    for _ in range(2000):
        out = replace_mentions(sentence, mentions, 0.3, rng)
        for span in out.spans():
            words = tuple(out.tokens[span.start : span.end])
            assert words in {*mentions[span.label], ("Ann",), ("Oslo",)}
            assert (span.label == "PER") == (words in {("Ann",), *mentions["PER"]})
            swapped += words not in {("Ann",), ("Oslo",)}
    assert 0.27 < swapped / 4000 < 0.33


@pytest.mark.parametrize(
    "scheme",
    [
        "IOB1",
        "IOB2",
        "BIOES",
        "BMES",
    ],
)
def test_spans_tags_round_trip_random(scheme):
    rng = random.Random(1234)
    for _ in range(300):
        length = rng.randint(1, 15)
        spans, position = [], 0
        while position < length:
            if rng.random() < 0.5:
                position += rng.randint(0, 2)
                continue
            size = rng.randint(1, min(3, length - position))
            spans.append(Span(position, position + size, rng.choice(["PER", "LOC"])))
            position += size
        tags = spans_to_tags(spans, length, scheme)
        assert len(tags) == length
        assert tags_to_spans(tags) == spans, tags


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (["O", "O"], []),
        (["I-PER", "I-PER", "O", "I-LOC"], [Span(0, 2, "PER"), Span(3, 4, "LOC")]),  # IOB1
        (["I-PER", "B-PER", "I-PER"], [Span(0, 1, "PER"), Span(1, 3, "PER")]),  # IOB1 adjacent
        (["B-PER", "I-PER", "B-PER"], [Span(0, 2, "PER"), Span(2, 3, "PER")]),  # IOB2
        (["I-PER", "I-LOC"], [Span(0, 1, "PER"), Span(1, 2, "LOC")]),  # change of type
        (["B-PER", "I-LOC"], [Span(0, 1, "PER"), Span(1, 2, "LOC")]),
        (["O", "I-PER"], [Span(1, 2, "PER")]),  # ill-formed IOB2 read leniently
        (["B-PER", "E-PER", "S-PER", "S-LOC"], [Span(0, 2, "PER"), Span(2, 3, "PER"), Span(3, 4, "LOC")]),
        (["B-X", "M-X", "M-X", "E-X", "O"], [Span(0, 4, "X")]),  # BMES
        (["S-X", "B-X", "E-X"], [Span(0, 1, "X"), Span(1, 3, "X")]),
        (["E-X", "E-X"], [Span(0, 1, "X"), Span(1, 2, "X")]),  # lenient: E closes
        (["B-PER", "I-PER"], [Span(0, 2, "PER")]),  # entity runs to the end
    ],
)
def test_tags_to_spans(tags, expected):
    assert tags_to_spans(tags) == expected


@pytest.mark.parametrize(
    ("sequences", "expected"),
    [
        ([["I-PER", "I-PER", "O"], ["O", "B-LOC"]], "IOB1"),
        ([["O", "O"], ["I-PER", "B-PER"]], "IOB1"),
        ([["B-PER", "I-PER", "O"], ["B-LOC"]], "IOB2"),
        ([["B-PER", "I-LOC"]], "IOB1"),  # I- of another type opens an entity
        ([["O"], ["O", "O"]], "IOB2"),
        ([["B-PER", "E-PER", "O"], ["S-LOC"]], "BIOES"),
        ([["S-LOC"]], "BIOES"),
        ([["B-PER", "I-PER", "E-PER"]], "BIOES"),
        ([["B-NAME", "M-NAME", "E-NAME"], ["S-ORG"]], "BMES"),
        ([["B-NAME", "E-NAME"], ["B-ORG", "M-ORG", "E-ORG"]], "BMES"),
    ],
)
def test_detect_scheme(sequences, expected):
    assert detect_scheme(sequences) == expected
    assert detect_scheme(iter(sequences)) == expected  # any iterable, read once


# --------------------------------------------------------------------------- read_conll

CONLL_IOB1 = """\
-DOCSTART- -X- -X- O

EU NNP I-NP I-ORG
rejects VBZ I-VP O
German JJ I-NP I-MISC
call NN I-NP O
. . O O

Peter NNP I-NP I-PER
Blackburn NNP I-NP I-PER
"""


def test_read_conll_space_separated_iob1(tmp_path):
    sentences, scheme = read_conll(write(tmp_path, CONLL_IOB1))
    assert scheme == "IOB1"
    assert [s.tokens for s in sentences] == [["EU", "rejects", "German", "call", "."], ["Peter", "Blackburn"]]
    assert [s.tags for s in sentences] == [["S-ORG", "O", "S-MISC", "O", "O"], ["B-PER", "E-PER"]]
    assert [s.lines for s in sentences] == [[3, 4, 5, 6, 7], [9, 10]]
    assert all(isinstance(s, Sentence) and s.offsets is None for s in sentences)
    assert sentences[1].spans() == [Span(0, 2, "PER")]


def test_read_conll_tab_separated(tmp_path):
    text = CONLL_IOB1.replace(" ", "\t")
    sentences, scheme = read_conll(write(tmp_path, text))
    assert scheme == "IOB1"
    assert [s.tokens for s in sentences] == [["EU", "rejects", "German", "call", "."], ["Peter", "Blackburn"]]
    assert [s.tags for s in sentences] == [["S-ORG", "O", "S-MISC", "O", "O"], ["B-PER", "E-PER"]]


def test_read_conll_crlf_and_trailing_blank_lines(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(CONLL_IOB1.replace("\n", "\r\n").encode() + b"\r\n\r\n")
    sentences, _ = read_conll(path)
    assert [s.tokens for s in sentences] == [["EU", "rejects", "German", "call", "."], ["Peter", "Blackburn"]]
    assert sentences[1].tags == ["B-PER", "E-PER"]


def test_read_conll_without_trailing_newline(tmp_path):
    sentences, _ = read_conll(write(tmp_path, "a B-PER\nb I-PER\n\nc O\nd B-LOC"))
    assert [s.tokens for s in sentences] == [["a", "b"], ["c", "d"]]
    assert [s.tags for s in sentences] == [["B-PER", "E-PER"], ["O", "S-LOC"]]
    assert [s.lines for s in sentences] == [[1, 2], [4, 5]]


def test_read_conll_whitespace_only_line_ends_sentence(tmp_path):
    sentences, _ = read_conll(write(tmp_path, "a B-PER\n \t \nb B-PER\n\n\n\nc O\n"))
    assert [s.tokens for s in sentences] == [["a"], ["b"], ["c"]]
    assert [s.tags for s in sentences] == [["S-PER"], ["S-PER"], ["O"]]
    assert [s.lines for s in sentences] == [[1], [3], [7]]


def test_read_conll_docstart_starts_a_document_everywhere(tmp_path):
    text = "-DOCSTART- O\n\na B-PER\n\na2 O\n\n-DOCSTART- O\n\nb B-LOC\n-DOCSTART- O\nc O\n"
    sentences, _ = read_conll(write(tmp_path, text))
    assert [s.tokens for s in sentences] == [["a"], ["a2"], ["b"], ["c"]]
    documents = [s.document for s in sentences]
    assert documents[0] == documents[1] and len(set(documents)) == 3


def test_without_docstart_each_sentence_is_a_document(tmp_path):
    sentences, _ = read_conll(write(tmp_path, "a B-PER\n\nb O\n\nc O\n"))
    assert len({s.document for s in sentences}) == 3


@pytest.mark.parametrize(
    ("text", "tag_column", "tags"),
    [
        ("EU\tB-ORG\tNNP\nrejects\tO\tVBZ\n", 1, ["S-ORG", "O"]),
        ("EU\tB-ORG\tNNP\nrejects\tO\tVBZ\n", -2, ["S-ORG", "O"]),
        ("EU NNP I-NP B-ORG\nrejects VBZ I-VP O\n", -1, ["S-ORG", "O"]),
        ("EU NNP I-NP B-ORG\nrejects VBZ I-VP O\n", 3, ["S-ORG", "O"]),
    ],
)
def test_read_conll_tag_column(tmp_path, text, tag_column, tags):
    sentences, _ = read_conll(write(tmp_path, text), tag_column=tag_column)
    assert sentences[0].tokens == ["EU", "rejects"]
    assert sentences[0].tags == tags


def test_a_column_of_part_of_speech_or_chunk_tags_is_not_taken_for_entities(tmp_path, caplog):
    """CoNLL-2003's columns are word, part of speech, chunk and entity: with the wrong --tag-column the
    part-of-speech tags would read as IO labels (every token an entity) and the chunk tags as entity types."""
    sentence = (
        "EU NNP B-NP B-ORG\nstrongly RB B-ADVP O\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\ncall NN I-NP O\n. . O O\n"
    )
    path = write(tmp_path, "\n".join([sentence] * 50))
    with pytest.raises(CorpusError) as info:
        read_conll(path, tag_column=1)
    assert "0% of the tokens are O in column 1" in info.value.reason and "--tag-column" in info.value.reason
    sentences, _ = read_conll(path, tag_column=2)  # chunks: read, with a warning
    assert sentences[0].tags[0] == "S-NP" and "17% of the tokens are O in column 2" in caplog.text
    caplog.clear()
    sentences, _ = read_conll(path)
    assert sentences[0].tags[:4] == ["S-ORG", "O", "O", "S-MISC"] and "tokens are O" not in caplog.text
    # A short file of entities only (a list of names, say) is read as it is.
    assert read_conll(write(tmp_path, "New LOC\nYork LOC\n"))[0][0].tags == ["B-LOC", "E-LOC"]


GERMEVAL = (
    "# http://de.wikipedia.org/wiki/Manfred_Korfmann [2009-10-17]\n"
    "1\tSchartau\tB-PER\tO\n2\tsagte\tO\tO\n3\tan\tO\tO\n4\tder\tO\tO\n"
    "5\tUniversität\tB-ORG\tO\n6\tBerlin\tI-ORG\tB-LOC\n"
)
UNIVERSAL_NER = """# global.columns = ID FORM NER MISC1 MISC2
# sent_id = en_ewt-ud-train-0001
# text = Al-Zaman : American forces killed Shaikh Abdullah al-Ani
1\tAl-Zaman\tB-ORG\t-\t-
2\t:\tO\t-\t-
3\tAmerican\tO\t-\t-
4\tforces\tO\t-\t-
5\tkilled\tO\t-\t-
6\tShaikh\tO\t-\t-
7\tAbdullah\tB-PER\t-\t-
8\tal-Ani\tI-PER\t-\t-

# sent_id = en_ewt-ud-train-0002
# text = In Baghdad #
1\tIn\tO\t-\t-
2\tBaghdad\tB-LOC\t-\t-
3\t#\tO\t-\t-
"""

MULTICONER = """# id 7ea9a1c0-7f1b-4cd1-8f4e-0b2c6b0e0c61\tdomain=en
the _ _ O
new _ _ B-Location
york _ _ I-Location
times _ _ O

# id 2a5c9b8e-1d3f-4e6a-9b7c-5f8e2d1a3c4b\tdomain=en
# _ _ O
tokyo _ _ B-Location

#tokyo2020 _ _ B-Event
"""


def test_read_conll_universal_ner_numbers_tokens_and_skips_comments_and_empty_columns(tmp_path):
    """Universal NER's files are CoNLL-U-like: ``#`` comments, the token numbered in column 0, the tag
    in column 2 and two empty columns (``-``) after it."""
    path = write(tmp_path, UNIVERSAL_NER)
    sentences, scheme = read_conll(path)
    assert scheme == "IOB2" and len(sentences) == 2
    assert sentences[0].tokens[:2] == ["Al-Zaman", ":"] and sentences[1].tokens == ["In", "Baghdad", "#"]
    assert sentences[0].spans() == [Span(0, 1, "ORG"), Span(6, 8, "PER")] and sentences[1].tags == ["O", "S-LOC", "O"]
    assert sentences[0].lines[0] == 4 and sentences[1].lines == [15, 16, 17]
    written = list(write_conll_predictions(path, sentences, [s.tags for s in sentences], scheme))
    assert written[:4] == [*UNIVERSAL_NER.splitlines()[:3], "1\tAl-Zaman\tB-ORG\t-\t-\tB-ORG"]


def test_read_conll_multiconer_skips_comment_lines_but_not_a_hash_token(tmp_path):
    sentences, _ = read_conll(write(tmp_path, MULTICONER))
    assert [s.tokens for s in sentences] == [["the", "new", "york", "times"], ["#", "tokyo"], ["#tokyo2020"]]
    assert sentences[0].spans() == [Span(1, 3, "Location")] and sentences[1].tags == ["O", "S-Location"]


def test_read_conll_a_tab_separated_token_may_hold_spaces(tmp_path):
    """Tab-separated files may have tokens with spaces (Vietnamese UD writes Hà Nội as one token); a
    word model trains on its words, as tagging cuts the text."""
    sentences, _ = read_conll(write(tmp_path, "Hà Nội\tB-LOC\nlà\tO\nthủ đô\tO\n\nEU\t\tB-ORG\n"))
    assert sentences[0].tokens == ["Hà Nội", "là", "thủ đô"] and sentences[0].tags == ["S-LOC", "O", "O"]
    assert sentences[1].tokens == ["EU"]  # an empty column between tabs is passed over, as spaces are
    [words] = as_words(sentences[:1])
    assert words.tokens == ["Hà", "Nội", "là", "thủ", "đô"] and words.tags == ["B-LOC", "E-LOC", "O", "O", "O"]


@pytest.mark.parametrize(
    ("text", "tag_column", "tokens", "tags"),
    [
        # GermEval 2014: numbered tokens, outer entities, then those nested in them: the outer ones are read
        (
            GERMEVAL,
            -1,
            ["Schartau", "sagte", "an", "der", "Universität", "Berlin"],
            ["S-PER", *"OOO", "B-ORG", "E-ORG"],
        ),
        (GERMEVAL, 3, ["Schartau", "sagte", "an", "der", "Universität", "Berlin"], [*"OOOOO", "S-LOC"]),
        # a last column of entities that are not nested in an earlier column's is the one read
        ("EU B-ORG B-PER\nrejects O O\nthe O O\nplan O O\n", -1, ["EU", "rejects", "the", "plan"], ["S-PER", *"OOO"]),
        # numbers as tokens in a sentence that does not count from 1 stay tokens
        ("1 CD O\n3 CD O\n", -1, ["1", "3"], ["O", "O"]),
        ("EU\tB-ORG\t_\nrejects\tO\t_\n", -1, ["EU", "rejects"], ["S-ORG", "O"]),
    ],
)
def test_read_conll_token_and_tag_columns_found(tmp_path, text, tag_column, tokens, tags):
    [sentence], _ = read_conll(write(tmp_path, text), tag_column=tag_column)
    assert sentence.tokens == tokens and sentence.tags == tags


def test_read_conll_tags_in_conllu_misc_attributes(tmp_path):
    """NorNE writes its entities as an attribute of CoNLL-U's last column, MISC: name=B-PER."""
    text = (
        "# sent_id = 1\n# text = Jens Stoltenberg besøkte Oslo.\n"
        "1\tJens\tJens\tPROPN\t_\t_\t3\tnsubj\t_\tname=B-PER\n"
        "2\tStoltenberg\tStoltenberg\tPROPN\t_\t_\t1\tflat\t_\tname=I-PER\n"
        "3\tbesøkte\tbesøke\tVERB\t_\t_\t0\troot\t_\tname=O\n"
        "4\tOslo\tOslo\tPROPN\t_\t_\t3\tobj\t_\tSpaceAfter=No|name=B-GPE_LOC\n"
        "5\t.\t.\tPUNCT\t_\t_\t3\tpunct\t_\tname=O\n"
    )
    [sentence], scheme = read_conll(write(tmp_path, text))
    assert sentence.tokens == ["Jens", "Stoltenberg", "besøkte", "Oslo", "."] and scheme == "IOB2"
    assert sentence.spans() == [Span(0, 2, "PER"), Span(3, 4, "GPE_LOC")]


def test_read_conll_tags_with_an_underscore_after_the_prefix(tmp_path):
    [sentence], scheme = read_conll(write(tmp_path, "张\tB_PER\n三\tI_PER\n在\tO\n北\tB_LOC\n京\tI_LOC\n"))
    assert sentence.spans() == [Span(0, 2, "PER"), Span(3, 5, "LOC")] and scheme == "IOB2"


def test_read_conll_tags_without_a_type_are_one_type_of_entity(tmp_path):
    """Biomedical corpora of one entity type (NCBI-disease as BioBERT distributes it) tag B, I and O."""
    text = "the\tO\nadenomatous\tB\npolyposis\tI\ncoli\tI\ngene\tO\nAPC\tB\n"
    [sentence], scheme = read_conll(write(tmp_path, text))
    assert sentence.spans() == [Span(1, 4, UNNAMED), Span(5, 6, UNNAMED)] and scheme == "IOB2"


def test_read_conll_drops_weibo_ners_word_positions(tmp_path, caplog):
    """weiboNER_2nd_conll writes each character with its position in its jieba word; text has none."""
    text = "口0\tO\n腔1\tO\n溃2\tO\n疡3\tO\n张0\tB-PER.NAM\n三1\tI-PER.NAM\n1\tO\n\n大0\tB-ORG.NOM\n学1\tI-ORG.NOM\n"
    text += "".join(f"{c}{i % 2}\tO\n" for i, c in enumerate("同宿舍三年的同学都是好朋友在北京上大学"))
    with caplog.at_level("INFO", logger="ner.corpus"):
        sentences, _ = read_conll(write(tmp_path, text))
    assert [s.tokens for s in sentences] == [list("口腔溃疡张三1"), list("大学同宿舍三年的同学都是好朋友在北京上大学")]
    assert "positions are dropped" in caplog.text  # one token in 28 has none: it stays as it is
    assert sentences[0].spans() == [Span(4, 6, "PER.NAM")]
    # numbers that do not count positions, or too few numbered tokens, stay as they are
    assert read_conll(write(tmp_path, "A1 O\nA3 O\n"))[0][0].tokens == ["A1", "A3"]
    assert read_conll(write(tmp_path, "F16 O\nover O\nIraq B-LOC\n"))[0][0].tokens == ["F16", "over", "Iraq"]


GMB_CSV = """Sentence #,Word,POS,Tag
Sentence: 1,Thousands,NNS,O
,of,IN,O
,"demonstrators",NNS,O
,marched,VBN,O
,in,IN,O
,London,NNP,B-geo
,",",",",O
,New,NNP,B-geo
,York,NNP,I-geo
Sentence: 2,Families,NNS,O
,of,IN,O
,Bush,NNP,B-per
"""


def test_read_conll_a_table_with_a_header_as_kaggles_gmb_corpus_is_written(tmp_path):
    path = tmp_path / "ner_dataset.csv"
    path.write_bytes(("\n" + GMB_CSV.replace("London", "Londön")).encode("latin-1"))  # Latin-1, as it comes
    sentences, scheme = read_corpus(path)
    assert [s.tokens for s in sentences] == [
        ["Thousands", "of", "demonstrators", "marched", "in", "Londön", ",", "New", "York"],
        ["Families", "of", "Bush"],
    ]
    assert sentences[0].spans() == [Span(5, 6, "geo"), Span(7, 9, "geo")] and scheme == "IOB2"
    assert sentences[1].lines == [12, 13, 14]
    written = list(write_conll_predictions(path, sentences, [s.tags for s in sentences], scheme))
    assert written[1] == "Sentence #,Word,POS,Tag,predicted" and written[8] == ',",",",",O,O'
    # a TSV table, sentences between blank rows, its id column repeated on every row
    tsv = "sentence_id\ttoken\tlabel\n0\tEU\tB-ORG\n0\trejects\tO\n1\tBob\tB-PER\n\nAnn\tB-PER\n"
    for bad, reason in (("Ann\tB-PER", "found 2"), ("2\tAnn\t", "an empty tag"), ("2\t \tO", "an empty word")):
        with pytest.raises(CorpusError) as info:
            read_conll(write(tmp_path, tsv.replace("Ann\tB-PER", bad)))
        assert info.value.line == 6 and reason in info.value.reason
    sentences, _ = read_conll(write(tmp_path, tsv.replace("Ann\tB-PER", "2\tAnn\tB-PER")))
    assert [s.tokens for s in sentences] == [["EU", "rejects"], ["Bob"], ["Ann"]]


def test_read_conll_wikiner_fields_a_sentence_per_line(tmp_path):
    text = (
        "Il|PRO:PER|O est|VER:pres|O né|VER:pper|O à|PRP|O New|NAM|I-LOC York|NAM|I-LOC .|PUN|O\n"
        "\n"
        "Jean|NAM|I-PER Dupont|NAM|I-PER|X\n"
    )
    with pytest.raises(CorpusError) as info:
        read_conll(write(tmp_path, text))
    assert info.value.line == 3 and "word|...|tag" in info.value.reason
    sentences, scheme = read_conll(write(tmp_path, text.replace("|X", "")))
    assert scheme == "IOB1" and [s.tokens[:2] for s in sentences] == [["Il", "est"], ["Jean", "Dupont"]]
    assert sentences[0].spans() == [Span(4, 6, "LOC")] and sentences[1].tags == ["B-PER", "E-PER"]
    assert sentences[1].lines == [3, 3] and sentences[0].document != sentences[1].document
    written = list(write_conll_predictions(tmp_path / "corpus.txt", sentences, [s.tags for s in sentences], scheme))
    assert written[2] == "Jean|NAM|I-PER|I-PER Dupont|NAM|I-PER|I-PER" and written[1] == ""
    # a CoNLL line with a pipe in its token is not such a file
    assert read_conll(write(tmp_path, "a|b O\nc B-PER\n"))[0][0].tokens == ["a|b", "c"]


def ontonotes_line(word: str, entity: str, index: int = 0) -> str:
    return f"bc/cctv/00/cctv_0001   0   {index}   {word}   NNP   *   -   -   -   Speaker#1   {entity}   *   -"


ONTONOTES = "\n".join(
    [
        "#begin document (bc/cctv/00/cctv_0001); part 000",
        *(ontonotes_line(w, e) for w, e in [("In", "*"), ("the", "(DATE*"), ("summer", "*)"), ("of", "*")]),
        *(ontonotes_line(w, e) for w, e in [("-LRB-", "*"), ("Hong", "(GPE*"), ("Kong", "*)"), ("-RRB-", "*")]),
        ontonotes_line("/.", "*"),
        "",
        ontonotes_line("Xinhua", "(ORG)"),
        ontonotes_line("reports", "*"),
        "",
        "#end document",
        "#begin document (bc/cctv/00/cctv_0001); part 001",
        ontonotes_line("Beijing", "(GPE*)"),
        "",
        "#end document",
    ]
)


def test_read_conll_2012_ontonotes(tmp_path):
    path = write(tmp_path, ONTONOTES)
    sentences, scheme = read_conll(path)
    assert [s.tokens for s in sentences] == [
        ["In", "the", "summer", "of", "(", "Hong", "Kong", ")", "."],
        ["Xinhua", "reports"],
        ["Beijing"],
    ]
    assert sentences[0].spans() == [Span(1, 3, "DATE"), Span(5, 7, "GPE")]
    assert sentences[1].tags == ["S-ORG", "O"] and sentences[2].tags == ["S-GPE"]
    assert [s.document for s in sentences] == [0, 0, 1] and sentences[1].lines == [12, 13]
    written = list(write_conll_predictions(path, sentences, [s.tags for s in sentences], scheme))
    assert written[0] == ONTONOTES.split("\n")[0] and written[2].endswith("(DATE*   *   - B-DATE")


@pytest.mark.parametrize(
    ("entities", "reason"),
    [
        (["(PERSON*", "(GPE)"], "nested"),
        (["(PERSON*", "*"], "not closed"),
        (["*", "*)"], "closes no entity"),
        (["PERSON", "*"], "expected (LABEL*"),
        (["(*", "*)"], "no label"),
    ],
)
def test_read_conll_2012_errors(tmp_path, entities, reason):
    lines = ["#begin document (x); part 000", *(ontonotes_line(w, e) for w, e in zip("ab", entities)), ""]
    with pytest.raises(CorpusError) as info:
        read_conll(write(tmp_path, "\n".join(lines)))
    assert reason in info.value.reason and info.value.line in (2, 3)


@pytest.mark.parametrize("tag_column", [0, 3, -3, 7])
def test_read_conll_bad_tag_column(tmp_path, tag_column):
    path = write(tmp_path, "\n\nEU B-ORG NNP\n")
    with pytest.raises(CorpusError) as info:
        read_conll(path, tag_column=tag_column)
    assert info.value.path == str(path)
    assert info.value.line == 3
    assert "column" in info.value.reason


def test_read_conll_iob1_adjacent_entities(tmp_path):
    sentences, scheme = read_conll(write(tmp_path, "a I-PER\nb I-PER\nc B-PER\nd O\ne I-LOC\nf I-PER\n"))
    assert scheme == "IOB1"
    assert sentences[0].tags == ["B-PER", "E-PER", "S-PER", "O", "S-LOC", "S-PER"]


def test_read_conll_iob2(tmp_path):
    sentences, scheme = read_conll(write(tmp_path, "a B-PER\nb I-PER\nc B-PER\n\nd B-LOC\ne O\n"))
    assert scheme == "IOB2"
    assert [s.tags for s in sentences] == [["B-PER", "E-PER", "S-PER"], ["S-LOC", "O"]]


def test_read_conll_bioes(tmp_path):
    sentences, scheme = read_conll(write(tmp_path, "a B-PER\nb I-PER\nc E-PER\nd S-LOC\n"))
    assert scheme == "BIOES"
    assert sentences[0].tags == ["B-PER", "I-PER", "E-PER", "S-LOC"]


def test_read_conll_bmes(tmp_path):
    text = "吴 B-NAME\n重 M-NAME\n阳 E-NAME\n， O\n中 S-ORG\n\n高 B-NAME\n勇 E-NAME\n"
    sentences, scheme = read_conll(write(tmp_path, text))
    assert scheme == "BMES"
    assert [s.tokens for s in sentences] == [["吴", "重", "阳", "，", "中"], ["高", "勇"]]
    assert [s.tags for s in sentences] == [["B-NAME", "I-NAME", "E-NAME", "O", "S-ORG"], ["B-NAME", "E-NAME"]]


def test_read_conll_bilou(tmp_path):
    """spaCy's BILUO: L- and U- read as E- and S-; predictions are written back in it."""
    text = "John B-PER\nvan I-PER\nSmith L-PER\nin O\nParis U-LOC\n"
    path = write(tmp_path, text)
    sentences, scheme = read_conll(path)
    assert scheme == "BILOU"
    assert sentences[0].tags == ["B-PER", "I-PER", "E-PER", "O", "S-LOC"]
    assert list(write_conll_predictions(path, sentences, [sentences[0].tags], scheme))[4] == "Paris U-LOC U-LOC"


def test_read_conll_io_labels_without_prefixes(tmp_path):
    """Few-NERD and others tag with bare labels (IO): a run of one label is one entity."""
    text = "John person-actor\nSmith person-actor\nvisited O\nParis location-GPE\nBerlin location-GPE\n. O\n"
    path = write(tmp_path, text, "io.txt")
    sentences, scheme = read_conll(path)
    assert scheme == "IO"
    assert sentences[0].spans() == [Span(0, 2, "person-actor"), Span(3, 5, "location-GPE")]
    written = list(write_conll_predictions(path, sentences, [sentences[0].tags], scheme))
    assert written == [f"{line} {line.split()[1]}" for line in text.splitlines()]


@pytest.mark.parametrize(
    ("text", "line"), [("a PER\nb O\nc B-LOC\n", 3), ("a B-PER\n\nb LOC\n", 3), ("a U-PER\nb PER\n", 2)]
)
def test_read_conll_refuses_bare_labels_beside_prefixed_tags(tmp_path, text, line):
    with pytest.raises(CorpusError) as info:
        read_conll(write(tmp_path, text))
    assert info.value.line == line and "IO scheme" in info.value.reason


def test_bmes_resume_corpus_reads_as_bioes() -> None:
    sentences, scheme = read_conll(shared_data("resume_ner", "dev.char.bmes"))
    assert scheme == "BMES"
    assert len(sentences) == 463
    assert all(t[0] in "OBIES" for s in sentences for t in s.tags)


def test_read_conll_scheme_is_detected_over_the_whole_file(tmp_path):
    # The first sentence alone looks like IOB2; a later I- that opens an entity makes the file IOB1.
    sentences, scheme = read_conll(write(tmp_path, "a B-PER\nb I-PER\n\nc O\nd I-LOC\n"))
    assert scheme == "IOB1"
    assert [s.tags for s in sentences] == [["B-PER", "E-PER"], ["O", "S-LOC"]]


def test_read_conll_ragged_columns(tmp_path):
    path = write(tmp_path, "-DOCSTART- -X- O\n\nEU NNP B-ORG\nrejects VBZ O\n\ncall O\n")
    with pytest.raises(CorpusError) as info:
        read_conll(path)
    error = info.value
    assert error.path == str(path)
    assert error.line == 6
    assert "columns" in error.reason
    assert f"{path}:6" in str(error)


def test_read_conll_single_column(tmp_path):
    path = write(tmp_path, "\nEU\n")
    with pytest.raises(CorpusError) as info:
        read_conll(path)
    assert info.value.line == 2
    assert "columns" in info.value.reason


@pytest.mark.parametrize("tag", ["X-PER", "b-PER", "B-", "PER", "o", "O-PER", "BI-PER"])
def test_read_conll_unknown_tag(tmp_path, tag):
    path = write(tmp_path, f"a O\nb B-PER\n\nc {tag}\n")
    with pytest.raises(CorpusError) as info:
        read_conll(path)
    error = info.value
    assert error.path == str(path)
    assert error.line == 4
    assert "tag" in error.reason
    assert repr(tag) in error.reason


def test_read_conll_missing_file(tmp_path):
    path = tmp_path / "missing.txt"
    with pytest.raises(CorpusError) as info:
        read_conll(path)
    assert info.value.path == str(path)
    assert info.value.line is None
    assert "open" in info.value.reason


@pytest.mark.parametrize("text", ["", "\n\n  \n", "-DOCSTART- -X- O\n\n"])
def test_read_conll_empty(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(CorpusError) as info:
        read_conll(path)
    assert info.value.path == str(path)
    assert info.value.line is None
    assert "no sentences" in info.value.reason


SPANISH = "-DOCSTART- O\n\nEl O\npresidente O\nJosé B-PER\nMaría I-PER\nAznar I-PER\nvisitó O\nMálaga B-LOC\n. O\n"
CHINESE = "中 B-LOC\n国 I-LOC\n人 O\n民 O\n银 B-ORG\n行 I-ORG\n在 O\n北 B-LOC\n京 I-LOC\n。 O\n"


def conll_of(sentence: str) -> str:
    """A CoNLL file of ``sentence``'s words, the first tagged B-LOC and the rest O."""
    words = sentence.split()
    return "".join(f"{word} {'B-LOC' if i == 0 else 'O'}\n" for i, word in enumerate(words))


RUSSIAN = conll_of("Москва : президент России заявил , что экономика растёт быстрее , чем ожидалось .")
GREEK = conll_of("Αθήνα : ο πρωθυπουργός της Ελλάδας δήλωσε ότι η οικονομία αναπτύσσεται ταχύτερα .")
HEBREW = conll_of("ירושלים : ראש הממשלה אמר כי הכלכלה צומחת מהר מהצפוי .")
ARABIC = conll_of("القاهرة : قال رئيس الوزراء إن الاقتصاد ينمو أسرع من المتوقع .")
THAI = conll_of("กรุงเทพ นายกรัฐมนตรี กล่าว ว่า เศรษฐกิจ เติบโต เร็ว กว่า ที่ คาด")


@pytest.mark.parametrize(
    ("text", "encoding", "read_as"),
    [
        (SPANISH, "latin-1", "cp1252"),
        (SPANISH, "cp1252", "cp1252"),
        (CHINESE, "gbk", "gb18030"),
        (CHINESE, "big5", "big5"),
        (RUSSIAN, "cp1251", "cp1251"),
        (GREEK, "cp1253", "cp1253"),
        (HEBREW, "cp1255", "cp1255"),
        (ARABIC, "cp1256", "cp1256"),
        (THAI, "cp874", "cp874"),
    ],
)
def test_read_conll_reads_a_legacy_encoding_and_says_so(tmp_path, caplog, text, encoding, read_as):
    """CoNLL-2002's Spanish and Dutch files are Latin-1, older Chinese corpora GBK or Big5, and Russian,
    Greek, Hebrew, Arabic and Thai ones in Windows' code page for their script."""
    if encoding == "big5":
        text = "臺 B-LOC\n灣 I-LOC\n人 O\n"
    expected = read_conll(write(tmp_path, text, "utf8.txt"))
    path = tmp_path / f"{encoding}.txt"
    path.write_bytes(text.encode(encoding))
    with caplog.at_level("WARNING", logger="ner.corpus"):
        assert read_conll(path) == expected
    assert f"read as {read_as}" in caplog.text
    sentences, scheme = read_conll(path)  # ner predict writes the file back, in UTF-8
    written = write_conll_predictions(path, sentences, [s.tags for s in sentences], scheme)
    assert "\n".join(written) == "\n".join(
        f"{line} {line.split()[-1]}" if line else line for line in text.split("\n")[:-1]
    )


POLISH = conll_of("Łódź : prezydent powiedział , że gospodarka rośnie szybciej niż oczekiwano .")
CZECH = conll_of("Příbram : prezident řekl , že ekonomika roste rychleji , než se čekalo . Ťululum")
RUSSIAN_KOI8 = conll_of("Москва : президент России заявил , что экономика растёт быстрее , чем ожидалось .")


@pytest.mark.parametrize(("text", "encoding"), [(POLISH, "cp1250"), (CZECH, "cp1250"), (RUSSIAN_KOI8, "koi8_r")])
def test_a_file_no_common_encoding_reads_is_read_in_a_fallback_one(tmp_path, caplog, text, encoding):
    """Polish and Czech in Windows-1250 and Russian in KOI8-R: tried only when no encoding of
    LEGACY_ENCODINGS reads the file (the reading charset-normalizer prefers for Polish among them,
    Arabic, mixes alphabets in a word)."""
    path = tmp_path / f"{encoding}.txt"
    path.write_bytes(text.encode(encoding))
    with caplog.at_level("WARNING", logger="ner.corpus"):
        assert read_conll(path) == read_conll(write(tmp_path, text, "utf8.txt"))
    assert f"read as {encoding}" in caplog.text


CZECH_WITHOUT_T_CARON = conll_of("Praha : předseda vlády řekl , že Česká republika podpoří Ukrajinu .")
TURKISH = conll_of("İstanbul'da yaşayan Ahmet Yılmaz , Türkiye Büyük Millet Meclisi'nde konuştu .")
LITHUANIAN = conll_of("Vilnius : Lietuvos Respublikos Seimas priėmė įstatymą dėl švietimo .")
HUNGARIAN = conll_of("Budapest : a miniszterelnök előbb érkezett , mint a tűzoltók .")
FRENCH = conll_of("Genève : le président a rencontré des élèves à côté du château où ça coûte très cher .")
PORTUGUESE = conll_of("Lisboa : as informações sobre a reunião não foram divulgadas à imprensa .")


@pytest.mark.parametrize(
    ("text", "encoding", "read_as"),
    [
        (CZECH_WITHOUT_T_CARON, "cp1250", "cp1250"),
        (HUNGARIAN, "cp1250", "cp1250"),
        (TURKISH, "cp1254", "cp1254"),
        (LITHUANIAN, "cp1257", "cp1257"),
        (SPANISH, "cp1252", "cp1252"),
        (FRENCH, "cp1252", "cp1252"),
        (PORTUGUESE, "latin-1", "cp1252"),
    ],
)
def test_a_latin_file_is_read_in_the_code_page_of_its_language(tmp_path, caplog, text, encoding, read_as):
    """Czech without ť, Hungarian, Turkish and Lithuanian bytes read as Western European text too
    (Předseda as Pøedseda, yaşayan as yaþayan), which charset-normalizer prefers; their language, which
    py3langid knows from the letters both readings share, gives the code page. French, Spanish and
    Portuguese stay Western European."""
    path = tmp_path / f"{encoding}.txt"
    path.write_bytes(text.encode(encoding))
    with caplog.at_level("WARNING", logger="ner.corpus"):
        assert read_conll(path) == read_conll(write(tmp_path, text, "utf8.txt"))
    assert f"read as {read_as}" in caplog.text


def test_read_conll_not_utf8_location(tmp_path):
    path = tmp_path / "late.txt"
    # Bytes that only Windows-1256 decodes, as a word mixing Arabic and Latin letters; offset 20000
    path.write_bytes(b"a O\n" * 5000 + b"\x81\x98\xe0\xc7\xff O\n")
    with pytest.raises(CorpusError) as info:
        read_conll(path)
    error = info.value
    offsets = [int(n) for n in re.findall(r"byte (\d+)", error.reason)]
    assert error.line == 5001 or offsets == [20000], str(error)
    assert offsets in ([], [20000]), str(error)


# --------------------------------------------------------------------------- read_jsonl


def write_jsonl(tmp_path: Path, *documents, name: str = "docs.jsonl") -> Path:
    lines = [d if isinstance(d, str) else json.dumps(d, ensure_ascii=False) for d in documents]
    return write(tmp_path, "\n".join(lines) + "\n", name)


def check_alignment(text: str, sentence: Sentence) -> None:
    assert sentence.offsets is not None
    assert len(sentence.offsets) == len(sentence.tokens) == len(sentence.tags)
    for token, (start, end) in zip(sentence.tokens, sentence.offsets, strict=True):
        assert text[start:end] == token


def entity_texts(text: str, sentence: Sentence) -> list[tuple[str, str]]:
    return [(text[sentence.offsets[s.start][0] : sentence.offsets[s.end - 1][1]], s.label) for s in sentence.spans()]


def test_read_jsonl_offsets_and_tags(tmp_path):
    text = "Barack Obama visited Paris."
    path = write_jsonl(tmp_path, {"text": text, "entities": [[0, 12, "PER"], [21, 26, "LOC"]]})
    [sentence] = read_jsonl(path)
    check_alignment(text, sentence)
    assert sentence.tokens == ["Barack", "Obama", "visited", "Paris", "."]
    assert sentence.tags == ["B-PER", "E-PER", "O", "S-LOC", "O"]
    assert sentence.offsets == [(0, 6), (7, 12), (13, 20), (21, 26), (26, 27)]
    assert entity_texts(text, sentence) == [("Barack Obama", "PER"), ("Paris", "LOC")]


def test_a_blank_jsonl_text_gives_no_sentence(tmp_path):
    """An empty sentence stopped training (the recurrent layer refuses a length of 0)."""
    path = write_jsonl(tmp_path, {"text": "Bob", "entities": [[0, 3, "PER"]]}, {"text": "  ", "entities": []})
    assert [s.tokens for s in read_jsonl(path)] == [["Bob"]]


def test_read_jsonl_of_tokens_and_tags_as_hugging_face_datasets_write_them(tmp_path):
    rows = [
        {"id": "0", "tokens": ["EU", "rejects", "German", "call"], "ner_tags": ["B-ORG", "O", "B-MISC", "O"]},
        {"id": "1", "tokens": ["Peter", "Blackburn"], "ner_tags": ["B-PER", "I-PER"]},
    ]
    for path in (write_jsonl(tmp_path, *rows), write(tmp_path, json.dumps(rows, indent=2), "rows.json")):
        sentences, scheme = read_corpus(path)
        assert scheme == "spans" and [s.tokens for s in sentences] == [rows[0]["tokens"], rows[1]["tokens"]]
        assert [s.tags for s in sentences] == [["S-ORG", "O", "S-MISC", "O"], ["B-PER", "E-PER"]]
        assert sentences[0].offsets is None and sentences[0].document != sentences[1].document
    tags_as_io = write_jsonl(tmp_path, {"tokens": ["New", "York"], "tags": ["LOC", "LOC"]}, name="io.jsonl")
    assert read_jsonl(tags_as_io)[0].tags == ["B-LOC", "E-LOC"]
    phoner = write_jsonl(tmp_path, {"words": ["Bệnh_viện", "Bạch_Mai"], "tags": ["B-ORG", "I-ORG"]}, name="vi.jsonl")
    assert read_jsonl(phoner)[0].tokens == ["Bệnh_viện", "Bạch_Mai"]
    # Prodigy's tokens beside its text are the text's: its spans are read
    prodigy = {"text": "Bob", "tokens": [{"text": "Bob", "start": 0, "end": 3, "id": 0}], "spans": [[0, 3, "PER"]]}
    assert read_jsonl(write_jsonl(tmp_path, prodigy, name="prodigy.jsonl"))[0].tags == ["S-PER"]


@pytest.mark.parametrize(
    ("second", "line", "reason"),
    [
        ({"tokens": ["a", "b"], "ner_tags": [3, 0]}, 2, "int2str"),  # numbers: the names are not in the file
        ({"tokens": ["a", "b"], "ner_tags": ["O"]}, 2, "one tag per token"),
        ({"tokens": ["a", " "], "ner_tags": ["O", "O"]}, 2, "non-blank strings"),
        ({"tokens": ["a"]}, 2, "no tags"),
        ({"text": "a b", "entities": []}, 2, '"tokens"'),
    ],
)
def test_read_jsonl_of_tokens_errors(tmp_path, second, line, reason):
    path = write_jsonl(tmp_path, {"tokens": ["EU"], "ner_tags": ["B-ORG"]}, second)
    with pytest.raises(CorpusError) as info:
        read_jsonl(path)
    assert info.value.line == line and reason in info.value.reason


def test_read_jsonl_several_documents_and_blank_lines(tmp_path):
    path = write(
        tmp_path,
        '{"text": "Angela Merkel", "entities": [[0, 13, "PER"]]}\n\n{"text": "no entities here"}\n'
        '{"text": "我在Google工作", "entities": [[2, 8, "ORG"]]}\n',
        "docs.jsonl",
    )
    sentences = read_jsonl(path)
    assert [s.tags for s in sentences] == [["B-PER", "E-PER"], ["O", "O", "O"], ["O", "O", "S-ORG", "O", "O"]]
    assert sentences[2].tokens == ["我", "在", "Google", "工", "作"]


@pytest.mark.parametrize(
    ("text", "entity", "tokens", "entity_text"),
    [
        ("Obama-led coalition", [0, 5, "PER"], ["Obama", "-led", "coalition"], "Obama"),
        ("ObamaCare is law", [0, 5, "PER"], ["Obama", "Care", "is", "law"], "Obama"),
        ("anti-Obama protest", [5, 10, "PER"], ["anti-", "Obama", "protest"], "Obama"),
        ("the USA-based firm", [4, 7, "LOC"], ["the", "USA", "-based", "firm"], "USA"),
        ("北京大学", [0, 2, "LOC"], ["北", "京", "大", "学"], "北京"),
    ],
)
def test_read_jsonl_entity_cutting_a_token(tmp_path, text, entity, tokens, entity_text):
    [sentence] = read_jsonl(write_jsonl(tmp_path, {"text": text, "entities": [entity]}))
    check_alignment(text, sentence)
    assert sentence.tokens == tokens
    assert entity_texts(text, sentence) == [(entity_text, entity[2])]


def test_read_jsonl_trims_whitespace_around_entities(tmp_path):
    text = "Hi  Barack Obama\n. Bye"
    sentence, after = read_jsonl(write_jsonl(tmp_path, {"text": text, "entities": [[2, 17, "PER"]]}))
    check_alignment(text, sentence)
    assert sentence.tags == ["O", "B-PER", "E-PER", "O"] and after.tokens == ["Bye"]
    assert entity_texts(text, sentence) == [("Barack Obama", "PER")]


def test_a_jsonl_document_is_split_into_sentences_as_tagging_splits_it_never_inside_an_entity(tmp_path):
    first = "Talks opened in Seoul on Monday. Prices rose."
    second = "She joined Yahoo! Inc. in May! Then she left."
    documents = [
        {"text": first, "entities": [[16, 21, "LOC"]]},
        {"text": second, "entities": [[11, 22, "ORG"]]},  # "Yahoo! Inc." holds a sentence end
        {"text": "One sentence, no end", "entities": []},
    ]
    sentences = read_jsonl(write_jsonl(tmp_path, *documents))
    assert [" ".join(s.tokens) for s in sentences] == [
        "Talks opened in Seoul on Monday .",
        "Prices rose .",
        "She joined Yahoo ! Inc. in May !",
        "Then she left .",
        "One sentence , no end",
    ]
    assert [s.document for s in sentences] == [0, 0, 1, 1, 2]
    for sentence, text in zip(sentences, [first, first, second, second, documents[2]["text"]]):
        check_alignment(text, sentence)
    assert entity_texts(first, sentences[0]) == [("Seoul", "LOC")]
    assert entity_texts(second, sentences[2]) == [("Yahoo! Inc.", "ORG")]
    assert tags_to_spans(sentences[1].tags) == tags_to_spans(sentences[3].tags) == []


def test_read_jsonl_adjacent_entities(tmp_path):
    text = "NewYorkTimes"
    [sentence] = read_jsonl(write_jsonl(tmp_path, {"text": text, "entities": [[0, 7, "LOC"], [7, 12, "ORG"]]}))
    assert sentence.tokens == ["NewYork", "Times"]
    assert sentence.tags == ["S-LOC", "S-ORG"]


CLUE_TEXT = "浙商银行企业信贷部叶老桂博士则从另一个角度解读。"
OURS = {"text": CLUE_TEXT, "entities": [[0, 4, "company"], [9, 12, "name"]]}


@pytest.mark.parametrize(
    "document",
    [
        {"text": CLUE_TEXT, "label": {"name": {"叶老桂": [[9, 11]]}, "company": {"浙商银行": [[0, 3]]}}},  # CLUENER
        {"text": CLUE_TEXT, "label": [[0, 4, "company"], [9, 12, "name"]]},  # doccano, older exports
        {"text": CLUE_TEXT, "labels": [[9, 12, "name"], [0, 4, "company"]]},  # and some versions
        {  # doccano
            "id": 7,
            "text": CLUE_TEXT,
            "entities": [
                {"id": 1, "label": "name", "start_offset": 9, "end_offset": 12},
                {"id": 2, "label": "company", "start_offset": 0, "end_offset": 4},
            ],
        },
        {  # Prodigy, spaCy
            "text": CLUE_TEXT,
            "spans": [
                {"start": 0, "end": 4, "label": "company", "token_start": 0},
                {"start": 9, "end": 12, "label": "name"},
            ],
        },
        {"id": 3, "data": CLUE_TEXT, "label": [[0, 4, "company"], [9, 12, "name"]]},  # doccano 1.x
        {  # Label Studio, JSON: the first annotation not cancelled; results without a span passed over
            "id": 1,
            "data": {"text": CLUE_TEXT},
            "annotations": [
                {
                    "was_cancelled": True,
                    "result": [{"type": "labels", "value": {"start": 0, "end": 2, "labels": ["x"]}}],
                },
                {
                    "was_cancelled": False,
                    "result": [
                        {"type": "labels", "value": {"start": 0, "end": 4, "text": "浙商银行", "labels": ["company"]}},
                        {"type": "choices", "value": {"choices": ["finance"]}},
                        {"type": "relation", "from_id": "a", "to_id": "b"},
                        {"type": "labels", "value": {"start": 9, "end": 12, "text": "叶老桂", "labels": ["name"]}},
                    ],
                },
                {"result": [{"type": "labels", "value": {"start": 4, "end": 6, "labels": ["y"]}}]},
            ],
            "predictions": [{"result": [{"type": "labels", "value": {"start": 4, "end": 8, "labels": ["z"]}}]}],
        },
        {  # Label Studio, JSON-MIN
            "text": CLUE_TEXT,
            "label": [
                {"start": 0, "end": 4, "text": "浙商银行", "labels": ["company"]},
                {"start": 9, "end": 12, "text": "叶老桂", "labels": ["name"]},
            ],
        },
    ],
)
def test_read_jsonl_reads_other_tools_span_annotations_as_ours(tmp_path, document):
    [expected] = read_jsonl(write_jsonl(tmp_path, OURS, name="ours.jsonl"))
    [sentence] = read_jsonl(write_jsonl(tmp_path, document))
    assert (sentence.tokens, sentence.tags, sentence.offsets) == (expected.tokens, expected.tags, expected.offsets)
    assert entity_texts(CLUE_TEXT, sentence) == [("浙商银行", "company"), ("叶老桂", "name")]


@pytest.mark.parametrize(
    ("document", "word"),
    [
        ({"text": "abc", "entities": [[0, 4, "X"]]}, "outside"),
        ({"text": "abc", "entities": [[-1, 2, "X"]]}, "outside"),
        ({"text": "abc", "entities": [[2, 2, "X"]]}, "[2, 2, 'X']"),
        ({"text": "abc", "entities": [[2, 1, "X"]]}, "[2, 1, 'X']"),
        ({"text": "abc def", "entities": [[0, 3, "X"], [2, 5, "Y"]]}, "overlaps"),
        ({"text": "abc def", "entities": [[4, 7, "X"], [0, 7, "Y"]]}, "overlaps"),
        ({"text": "abc def", "entities": [[0, 3, "X"], [0, 3, "X"]]}, "overlaps"),
        ({"text": "a  b", "entities": [[1, 3, "X"]]}, "whitespace"),
        ({"text": "abc", "entities": [[0, 3, 5]]}, "[start, end, label]"),
        ({"text": "abc", "entities": [[0, 3, ""]]}, "[start, end, label]"),
        ({"text": "abc", "entities": [[True, 3, "X"]]}, "[start, end, label]"),
        ({"text": "abc", "entities": [[0, False, "X"]]}, "[start, end, label]"),
        ({"text": "abc", "entities": [[0.0, 3, "X"]]}, "[start, end, label]"),
        ({"text": "abc", "entities": [["0", 3, "X"]]}, "[start, end, label]"),
        ({"text": "abc", "entities": [[0, 3]]}, "[start, end, label]"),
        ({"text": "abc", "entities": [{"begin": 0, "end": 3, "label": "X"}]}, "[start, end, label]"),
        ({"text": "abc", "spans": [{"start": 0, "end": 3}]}, "[start, end, label]"),
        ({"text": "abc", "label": "positive"}, '"label" must be a list'),
        ({"text": "abc", "label": {"X": [[0, 2]]}}, "must map each mention"),
        ({"text": "abc", "label": {"X": {"ab": [[0, 2]]}}}, "covers 'abc'"),
        ({"text": "abc", "label": {"X": {"ab": [0, 1, 2]}}}, "is not [start, last]"),
        ({"text": "abc", "label": {"X": {"bc": [[5, 6]]}}}, "covers ''"),
        ({"text": "abc", "entities": {"0": [0, 3, "X"]}}, "list"),
        ({"text": "abc", "entities": None}, "list"),
        ({"text": "abc", "label": [{"start": 0, "end": 3, "labels": ["X", "Y"]}]}, "[start, end, label]"),
        ({"data": {"text": "abc"}, "annotations": {"result": []}}, "Label Studio"),
        ({"data": {"text": "abc"}, "annotations": [{"result": {"value": {}}}]}, '"result"'),
        (
            {
                "data": {"text": "abc"},
                "annotations": [{"result": [{"value": {"start": 0, "end": 5, "labels": ["X"]}}]}],
            },
            "outside",
        ),
        ({"data": {"sentence": "abc"}}, "text"),
        ({"data": 5}, "text"),
        ({"entities": []}, "text"),
        ({"text": 5}, "text"),
        ({"text": None}, "text"),
        ([1, 2], "text"),
        (json.dumps("just a string"), "text"),
        ("null", "text"),
    ],
)
def test_read_jsonl_invalid_documents(tmp_path, document, word):
    path = write_jsonl(tmp_path, {"text": "fine"}, "", document)
    with pytest.raises(CorpusError) as info:
        read_jsonl(path)
    error = info.value
    assert error.path == str(path)
    assert error.line == 3
    assert word in error.reason


@pytest.mark.parametrize("bad", ['{"text": oops}', '{"text": "a"', "{'text': 'a'}", '{"text": "a"} x'])
def test_read_jsonl_invalid_json(tmp_path, bad):
    path = write(tmp_path, '{"text": "a"}\n\n' + bad + '\n{"text": "b"}\n', "docs.jsonl")
    with pytest.raises(CorpusError) as info:
        read_jsonl(path)
    assert info.value.path == str(path)
    assert info.value.line == 3
    assert "JSON" in info.value.reason


def test_read_jsonl_missing_and_empty(tmp_path):
    with pytest.raises(CorpusError) as info:
        read_jsonl(tmp_path / "missing.jsonl")
    assert info.value.line is None
    assert "open" in info.value.reason
    with pytest.raises(CorpusError) as info:
        read_jsonl(write(tmp_path, "\n  \n", "empty.jsonl"))
    assert info.value.line is None
    assert "no documents" in info.value.reason


def test_read_jsonl_not_utf8(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"text": "Müller in Köln", "entities": [[0, 6, "PER"]]}\n'.encode("latin-1"))
    assert read_jsonl(path)[0].tokens == ["Müller", "in", "Köln"]
    path.write_bytes(b'{"text": "a\x81\x8d\x90\xff\xfe"}\n')  # no encoding reads it
    with pytest.raises(CorpusError) as info:
        read_jsonl(path)
    assert info.value.path == str(path)
    assert "UTF-8" in info.value.reason and "iconv -f latin1 -t utf-8" in info.value.reason
    bom = tmp_path / "bom"  # no extension: sniffed by its first character, after the byte-order mark
    bom.write_bytes(codecs.BOM_UTF8 + b'{"text": "Paris"}\n')
    assert read_corpus(bom)[0][0].tokens == ["Paris"]


DOCUMENTS = [
    {"text": "Barack Obama visited Paris.", "entities": [[0, 12, "PER"], [21, 26, "LOC"]]},
    {"text": "no entities here"},
    {"text": "我在Google工作", "entities": [[2, 8, "ORG"]]},
]


def test_read_jsonl_reads_a_json_array_of_documents_as_the_same_lines(tmp_path):
    expected = read_jsonl(write_jsonl(tmp_path, *DOCUMENTS, name="lines.jsonl"))
    for text in (json.dumps(DOCUMENTS, indent=2, ensure_ascii=False), json.dumps(DOCUMENTS)):
        got = read_jsonl(write(tmp_path, text, "array.json"))
        assert [(s.tokens, s.tags, s.offsets, s.document) for s in got] == [
            (s.tokens, s.tags, s.offsets, s.document) for s in expected
        ]
    sentences, scheme = read_corpus(write(tmp_path, json.dumps(DOCUMENTS), "data.txt"))  # sniffed by its "["
    assert scheme == "spans" and len(sentences) == 3
    with pytest.raises(CorpusError, match="no documents"):
        read_jsonl(write(tmp_path, " [\n]\n", "empty.json"))


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ('[\n {"text": "a"},\n\n {"text": "abc", "entities": [[0, 9, "X"]]}\n]', 4, "outside"),
        ('[\n {"text": "a"}\n {"text": "b"}\n]', 3, "expected ',' or ']'"),
        ('[\n {"text": "a"},\n {"text": }\n]', 3, "invalid JSON"),
        ('[{"text": "a"}]\n\n[]', 1, "text after the array"),
    ],
)
def test_read_jsonl_names_the_line_of_a_bad_document_in_an_array(tmp_path, text, line, reason):
    with pytest.raises(CorpusError) as info:
        read_jsonl(write(tmp_path, text, "array.json"))
    assert info.value.line == line and reason in info.value.reason, str(info.value)


def test_a_line_separator_inside_a_jsonl_string_is_text_not_a_new_document(tmp_path):
    [sentence] = read_jsonl(write_jsonl(tmp_path, {"text": "Paris\u2028Rome", "entities": [[6, 10, "LOC"]]}))
    assert sentence.tokens == ["Paris", "Rome"] and sentence.tags == ["O", "S-LOC"]


# --------------------------------------------------------------------------- read_corpus


def test_read_corpus_jsonl_by_extension(tmp_path):
    for name in ("docs.jsonl", "docs.json"):
        path = write_jsonl(tmp_path, {"text": "Paris", "entities": [[0, 5, "LOC"]]}, name=name)
        sentences, scheme = read_corpus(path)
        assert scheme == "spans"
        assert sentences[0].tags == ["S-LOC"]
        assert sentences[0].offsets == [(0, 5)]


def test_read_corpus_jsonl_by_leading_brace(tmp_path):
    path = write(tmp_path, '\n  {"text": "Paris", "entities": [[0, 5, "LOC"]]}\n', "data.txt")
    sentences, scheme = read_corpus(path)
    assert scheme == "spans"
    assert sentences[0].tags == ["S-LOC"]


def test_read_corpus_conll(tmp_path):
    sentences, scheme = read_corpus(write(tmp_path, CONLL_IOB1, "eng.testb"))
    assert scheme == "IOB1"
    assert len(sentences) == 2
    sentences, scheme = read_corpus(write(tmp_path, "a B-X\nb E-X\n", "c.bioes"), tag_column=1)
    assert scheme == "BIOES"
    assert sentences[0].tags == ["B-X", "E-X"]


def test_read_corpus_missing(tmp_path):
    path = tmp_path / "nope.jsonl"
    with pytest.raises(CorpusError) as info:
        read_corpus(path)
    assert info.value.path == str(path)
    assert info.value.line is None
    assert "no such file" in info.value.reason
    with pytest.raises(CorpusError):
        read_corpus(tmp_path)  # a folder without brat files


# --------------------------------------------------------------------------- words as characters


def test_as_characters_cuts_words_and_spreads_their_entities():
    words = Sentence(
        ["北京市", "是", "中国", "的", "首都", "नरेंद्र"],
        ["S-LOC", "O", "S-LOC", "O", "O", "S-PER"],
        offsets=[(0, 3), (4, 5), (6, 8), (9, 10), (11, 13), (14, 21)],
        lines=[1, 2, 3, 4, 5, 6],
        document=7,
    )
    [chars] = as_characters([words])
    assert chars.tokens == [*"北京市是中国的首都", "न", "रें", "द्", "र"]  # marks stay with their letter
    locations = ["B-LOC", "I-LOC", "E-LOC", "O", "B-LOC", "E-LOC", "O", "O", "O"]
    assert chars.tags == [*locations, "B-PER", "I-PER", "I-PER", "E-PER"]
    assert chars.offsets[:4] == [(0, 1), (1, 2), (2, 3), (4, 5)] and chars.offsets[-1] == (20, 21)
    assert chars.lines == [1, 1, 1, 2, 3, 3, 4, 5, 5, 6, 6, 6, 6] and chars.document == 7
    single = Sentence(["我", "在"], ["O", "O"])
    assert as_characters([single])[0] is single  # a corpus of characters is left as it is


@pytest.mark.parametrize(
    ("character_tags", "expected"),
    [
        (["B-LOC", "I-LOC", "E-LOC", "O", "B-LOC", "E-LOC", "O"], ["S-LOC", "O", "S-LOC"]),  # 中国 of 中国人
        (["O", "B-LOC", "I-LOC", "E-LOC", "O", "O", "O"], ["B-LOC", "E-LOC", "O"]),  # 京市是: across two words
        (["O", "O", "O", "O", "B-LOC", "E-LOC", "S-PER"], ["O", "O", "S-LOC"]),  # 人 is taken: PER dropped
        (["O"] * 7, ["O", "O", "O"]),
    ],
)
def test_token_tags_give_each_word_the_entities_of_its_characters(character_tags, expected):
    words = Sentence(["北京市", "是", "中国人"], ["O", "O", "O"])
    assert len(as_characters([words])[0].tokens) == len(character_tags)
    assert token_tags(words, character_tags, char_level=True) == expected


# --------------------------------------------------------------------------- words joined by underscores


def test_as_words_cuts_words_joined_by_underscores_as_tagging_cuts_text():
    joined = Sentence(
        ["Ông", "Nguyễn_Văn_An", "đến", "Hà_Nội", "#climate_change", "__init__", "U.S._Army"],
        ["O", "S-PER", "O", "S-LOC", "O", "O", "S-ORG"],
        offsets=[(0, 3), (4, 17), (18, 21), (22, 28), (29, 44), (45, 53), (54, 63)],
        lines=[1, 2, 3, 4, 5, 6, 7],
        document=3,
    )
    [words] = as_words([joined])
    text = "Ông Nguyễn Văn An đến Hà Nội #climate_change __init__ U.S. Army"
    assert words.tokens == [token.text for token in tokenize(text)]  # what tagging the text sees
    assert words.tags == ["O", "B-PER", "I-PER", "E-PER", "O", "B-LOC", "E-LOC", "O", *["O"] * 5, "B-ORG", "E-ORG"]
    assert words.offsets == [(token.start, token.end) for token in tokenize(text)]
    assert words.lines == [1, 2, 2, 2, 3, 4, 4, 5, 6, 6, 6, 6, 6, 7, 7] and words.document == 3
    plain = Sentence(["Hà", "Nội"], ["B-LOC", "E-LOC"])
    assert as_words([plain])[0] is plain  # nothing to cut: left as it is
    assert as_model_tokens([joined], char_level=False)[0].tokens == words.tokens


@pytest.mark.parametrize(
    ("word_tags", "expected"),
    [
        (["O", "B-PER", "E-PER", "O", "B-LOC", "E-LOC"], ["O", "S-PER", "O", "S-LOC"]),
        (["O", "S-PER", "O", "O", "O", "S-LOC"], ["O", "S-PER", "O", "S-LOC"]),  # a word of a name: the token
        (["O", "O", "B-PER", "I-PER", "E-PER", "O"], ["O", "B-PER", "I-PER", "E-PER"]),  # across three tokens
    ],
)
def test_token_tags_give_each_joined_token_the_entities_of_its_words(word_tags, expected):
    joined = Sentence(["Ông", "Văn_An", "đến", "Hà_Nội"], ["O"] * 4)
    assert len(as_words([joined])[0].tokens) == len(word_tags)
    assert token_tags(joined, word_tags, char_level=False) == expected


# --------------------------------------------------------------------------- brat standoff

BRAT_TEXT = "Angela Merkel visited New  York.\r\n\nShe met Macron in Paris.\n"
BRAT_ANN = (
    "T1\tPER 0 13\tAngela Merkel\n"
    "T2\tLOC 22 25;27 31\tNew York\n"  # in fragments around whitespace: one span
    "#1\tAnnotatorNotes T1\tthe chancellor\n"
    "T3\tPER 43 49\tMacron\n"
    "R1\tmet Arg1:T1 Arg2:T3\n"
    "A1\tNegated T3\n"
    "T4\tLOC 53 58\tParis\n"
    "N1\tReference T4 Wikipedia:Paris\tParis\n"
)


def write_brat(folder: Path, documents: dict[str, tuple[str, str]]) -> Path:
    folder.mkdir(exist_ok=True)
    for name, (text, ann) in documents.items():
        (folder / f"{name}.txt").write_bytes(text.encode("utf-8"))
        (folder / f"{name}.ann").write_bytes(ann.encode("utf-8"))
    return folder


def test_read_brat_reads_each_document_line_by_line(tmp_path):
    """Offsets count "\\r\\n" as two characters, as brat does; relations, attributes, notes and
    normalisations are passed over; documents keep their files' (sorted) order."""
    second = ("Reuters reported it. Bonn denied it.", "T1\tORG 0 7\tReuters\nT2\tLOC 21 25\tBonn\n")
    folder = write_brat(tmp_path / "brat", {"b": (BRAT_TEXT, BRAT_ANN), "a": second})
    sentences, scheme = read_corpus(folder)
    assert scheme == "spans" and read_brat(folder) == sentences
    assert [s.document for s in sentences] == [0, 0, 1, 1]  # a line of two sentences is split as tagging splits
    texts = [second[0], second[0], "Angela Merkel visited New  York.", "She met Macron in Paris."]
    assert [entity_texts(text, s) for text, s in zip(texts, sentences)] == [
        [("Reuters", "ORG")],
        [("Bonn", "LOC")],
        [("Angela Merkel", "PER"), ("New  York", "LOC")],
        [("Macron", "PER"), ("Paris", "LOC")],
    ]
    for text, sentence in zip(texts, sentences):
        check_alignment(text, sentence)


@pytest.mark.parametrize(
    ("ann", "line", "reason"),
    [
        ("T1\tPER 0 13\tAngela Merkle\n", 1, "not 'Angela Merkle'"),
        ("T1\tPER 0 13\tAngela Merkel\nT2\tPER 7 13\tMerkel\n", 2, "overlaps the one on line 1"),
        ("T1\tPER 0 40\n", 1, "crosses a line break"),
        ("T1\tLOC 0 6;14 21\tAngela visited\n", 1, "text between them"),
        ("T1\tPER 0\tAngela\n", 1, "not a brat entity"),
        ("T1\tPER six 13\tMerkel\n", 1, "not a brat entity"),
        ("T1\tPER 13 7\tMerkel\n", 1, "not a brat entity"),
        ("T1\tPER 50 99\tParis\n", 1, "outside the text"),
        ("T1\tPER 32 34\n", 1, "only whitespace"),  # "\r\n"
        ("T1\tPER 34 38\n", 1, "starts on a line break"),  # on the blank line
    ],
)
def test_read_brat_names_the_ann_line_of_a_bad_entity(tmp_path, ann, line, reason):
    folder = write_brat(tmp_path / "brat", {"doc": (BRAT_TEXT, ann)})
    with pytest.raises(CorpusError) as info:
        read_brat(folder)
    assert (info.value.path, info.value.line) == (str(folder / "doc.ann"), line)
    assert reason in info.value.reason


def test_read_brat_errors_without_annotations_or_text(tmp_path):
    with pytest.raises(CorpusError, match="no .ann file"):
        read_brat(write_brat(tmp_path / "empty", {}))
    folder = write_brat(tmp_path / "lonely", {"doc": (BRAT_TEXT, BRAT_ANN)})
    (folder / "doc.txt").unlink()
    with pytest.raises(CorpusError, match="doc.txt is missing"):
        read_brat(folder)
    folder = write_brat(tmp_path / "undecodable", {})
    (folder / "doc.txt").write_bytes(b"Z\x81\x8d\x90\xff\xferich")
    (folder / "doc.ann").write_text("")
    with pytest.raises(CorpusError, match="iconv"):
        read_brat(folder)


# --------------------------------------------------------------------------- write_conll_predictions


def test_write_conll_predictions_iob1(tmp_path):
    path = write(tmp_path, CONLL_IOB1)
    sentences, scheme = read_conll(path)
    predicted = [["S-ORG", "O", "O", "S-MISC", "O"], ["S-PER", "S-PER"]]
    lines = list(write_conll_predictions(path, sentences, predicted, scheme))
    assert lines == [
        "-DOCSTART- -X- -X- O O",
        "",
        "EU NNP I-NP I-ORG I-ORG",
        "rejects VBZ I-VP O O",
        "German JJ I-NP I-MISC O",
        "call NN I-NP O I-MISC",
        ". . O O O",
        "",
        "Peter NNP I-NP I-PER I-PER",
        "Blackburn NNP I-NP I-PER B-PER",
    ]
    source = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(source)
    for original, written in zip(source, lines, strict=True):
        assert written == original or written.startswith(original + " ")
        assert not original.split() or len(written.split()) == len(original.split()) + 1


def test_write_conll_predictions_iob2_and_blank_lines_kept(tmp_path):
    text = "a B-PER\nb I-PER\n\n\nc O\nd B-LOC\n  \ne B-LOC\n"
    path = write(tmp_path, text)
    sentences, scheme = read_conll(path)
    assert scheme == "IOB2"
    predicted = [["B-LOC", "E-LOC"], ["S-PER", "O"], ["O"]]
    lines = list(write_conll_predictions(path, sentences, predicted, scheme))
    assert lines == ["a B-PER B-LOC", "b I-PER I-LOC", "", "", "c O B-PER", "d B-LOC O", "  ", "e B-LOC O"]


def test_write_conll_predictions_bmes(tmp_path):
    path = write(tmp_path, "吴 B-NAME\n重 M-NAME\n阳 E-NAME\n， O\n")
    sentences, scheme = read_conll(path)
    lines = list(write_conll_predictions(path, sentences, [["B-X", "I-X", "I-X", "E-X"]], scheme))
    assert lines == ["吴 B-NAME B-X", "重 M-NAME M-X", "阳 E-NAME M-X", "， O E-X"]


def test_write_conll_predictions_iob1_touching_chain(tmp_path):
    # eng.testb lines 21863-21868: Buenos Aires / Quequen / Rosario / Bahia Blanca.
    text = "Buenos I-LOC\nAires I-LOC\nQuequen B-LOC\nRosario B-LOC\nBahia B-LOC\nBlanca I-LOC\n"
    path = write(tmp_path, text)
    sentences, scheme = read_conll(path)
    lines = list(write_conll_predictions(path, sentences, [s.tags for s in sentences], scheme))
    assert [line.split()[-1] for line in lines] == [line.split()[-1] for line in text.splitlines()]


def test_write_conll_predictions_gold_reproduces_conll2003_column():
    path = shared_data("conll2003_en", "eng.testb")
    sentences, scheme = read_conll(path)
    assert scheme == "IOB1"
    lines = list(write_conll_predictions(path, sentences, [s.tags for s in sentences], scheme))
    wrong = [line for line in lines if line.split() and line.split()[-1] != line.split()[-2]]
    assert wrong == []


# --------------------------------------------------------------------------- any file: sentences or CorpusError


def read_or_refused(read: Callable[[], list[Sentence]]) -> list[Sentence]:
    """What ``read`` gives, checked well formed (tokens, one valid BIOES tag each), or [] for a CorpusError."""
    try:
        sentences = read()
    except CorpusError:
        return []
    for sentence in sentences:
        assert sentence.tokens and all(token.strip() for token in sentence.tokens)
        assert len(sentence.tags) == len(sentence.tokens)
        assert spans_to_tags(tags_to_spans(sentence.tags), len(sentence.tags)) == sentence.tags
    return sentences


FUZZ_FIELDS = "O B-PER I-PER B_LOC B I PER name=B-PER Bob 口0 1 2 # _ - a|b|O (PER* *) * Word Tag , ;"
FIELDS = st.sampled_from([*FUZZ_FIELDS.split(), "Sentence #", "", " "])
IRREGULAR = st.lists(st.sampled_from([" ", "\t", ","]).flatmap(lambda sep: st.lists(FIELDS, max_size=5).map(sep.join)))
REGULAR = st.tuples(st.sampled_from([" ", "\t", ","]), st.sampled_from([2, 3, 4, 5, 11, 12])).flatmap(
    lambda form: st.lists(
        st.one_of(st.just(""), st.lists(FIELDS, min_size=form[1], max_size=form[1]).map(form[0].join)), max_size=12
    )
)
LINES = st.one_of(REGULAR, IRREGULAR)


@given(st.sampled_from(["", "#begin document (x); part 000\n"]), LINES)
@settings(max_examples=300, deadline=None)
def test_any_column_file_reads_as_sentences_or_a_corpus_error(tmp_path_factory, start: str, lines: list[str]) -> None:
    """Whatever the dialect guesses make of a file (OntoNotes' too), it gives well-formed sentences or a
    CorpusError."""
    path = tmp_path_factory.mktemp("fuzz") / "corpus.txt"
    path.write_text(start + "\n".join(lines), encoding="utf-8")
    sentences = read_or_refused(lambda: read_conll(path)[0])
    if not sentences:
        return
    scheme = read_conll(path)[1]
    assert scheme in ALL_SCHEMES and all(len(s.lines) == len(s.tokens) for s in sentences)
    predicted = [sentence.tags for sentence in sentences]
    assert len(list(write_conll_predictions(path, sentences, predicted, scheme))) >= len(sentences)


JSON_KEYS = [
    *("text", "data", "entities", "spans", "label", "labels", "tokens", "words", "ner_tags", "tags"),
    *("start", "end", "start_offset", "end_offset", "annotations", "result", "value"),
]
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2, 12), st.sampled_from(["", "Bob", "PER", "B-PER", "O", "a b"])),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(JSON_KEYS), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(st.lists(st.dictionaries(st.sampled_from(JSON_KEYS), JSON_VALUES, max_size=5), min_size=1, max_size=4))
@settings(max_examples=300, deadline=None)
def test_any_jsonl_file_reads_as_sentences_or_a_corpus_error(tmp_path_factory, documents: list[dict]) -> None:
    """Whatever the dialect guesses make of JSONL documents, they give well-formed sentences or a CorpusError."""
    path = tmp_path_factory.mktemp("fuzz") / "corpus.jsonl"
    path.write_text("\n".join(json.dumps(document) for document in documents), encoding="utf-8")
    read_or_refused(lambda: read_jsonl(path))


BRAT_LINE = st.one_of(
    st.tuples(st.sampled_from(["T1", "T2", "T9", "R1", "A1", "#1", "X"]), st.sampled_from(["PER", "LOC", ""]))
    .flatmap(
        lambda head: st.lists(st.integers(-1, 60), min_size=1, max_size=4).map(
            lambda numbers: (
                f"{head[0]}\t{head[1]} {' '.join(map(str, numbers[:2]))}"
                + (f";{numbers[2]} {numbers[3]}" if len(numbers) == 4 else "")
            )
        )
    )
    .flatmap(lambda line: st.sampled_from(["", "\tAngela", "\tMerkel", "\t"]).map(lambda mention: line + mention)),
    st.sampled_from(["", "T1", "T1\t", "garbage", "T1\tPER 0 6\tAngela"]),
)


@given(st.lists(BRAT_LINE, max_size=5))
@settings(max_examples=300, deadline=None)
def test_any_brat_annotation_reads_as_sentences_or_a_corpus_error(tmp_path_factory, lines: list[str]) -> None:
    """Whatever an .ann file holds against a text, reading gives well-formed sentences or a CorpusError."""
    folder = write_brat(tmp_path_factory.mktemp("fuzz") / "brat", {"doc": (BRAT_TEXT, "\n".join(lines))})
    read_or_refused(lambda: read_brat(folder))
