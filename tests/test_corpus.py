"""Tests for ner.corpus: tag schemes, sentences and their model tokens, read_corpus, any file read."""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ner.corpus import SCHEMES as ALL_SCHEMES
from ner.corpus import (
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
    read_corpus_noted,
    read_jsonl,
    replace_mentions,
    spans_to_tags,
    tags_to_spans,
    token_tags,
    write_conll_predictions,
)
from ner.text import tokenize, tokenize_chars

from .corpus_files import BRAT_TEXT, CONLL_IOB1, write, write_brat, write_jsonl

SCHEMES = ("IOB1", "IOB2", "BIOES", "BMES")


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
        ([["B-PER", "I-PER"], ["B-LOC"], ["O", "I-ORG"]], "IOB2"),  # one stray I- in IOB2
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


def test_read_corpus_noted_gives_each_file_its_own_notes_whatever_else_is_read(tmp_path):
    numbered = write(tmp_path, "1\tBob\tB-PER\t-\n2\tran\tO\t-\n", "numbered.conll")
    plain = write(tmp_path, CONLL_IOB1, "plain.conll")
    found: dict[str, list[list[str]]] = {"numbered": [], "plain": []}

    def read(name: str, path: Path) -> None:
        for _ in range(20):
            found[name].append(read_corpus_noted(path)[2])
            read_conll(numbered)  # read outside: its notes are kept by no one

    threads = [threading.Thread(target=read, args=item) for item in (("numbered", numbered), ("plain", plain))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found["numbered"] == [["tokens read from column 1, tags from column 2 (of 0-3)"]] * 20
    assert found["plain"] == [[]] * 20


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


def test_an_entity_type_named_o_is_refused_in_every_format(tmp_path: Path) -> None:
    """ "O" means no entity, in tags and in dictionaries: as a type, a dictionary could never force it."""
    conll = write(tmp_path, "Olga B-PER\nin O\nCairo S-O\n\n", "o.conll")
    spans = write_jsonl(
        tmp_path,
        {"text": "Olga in Oslo", "entities": [[0, 4, "PER"]]},
        {"text": "Olga in Cairo", "spans": [{"start": 0, "end": 4, "label": "PER"}, [8, 13, "O"]]},
    )
    with pytest.raises(CorpusError, match=r"o\.conll:3: entity type 'O', which means no entity"):
        read_corpus(conll)
    with pytest.raises(CorpusError, match=r"docs\.jsonl:2: entity \[8, 13, 'O'\]: entity type 'O'"):
        read_corpus(spans)  # the line it is on (it named none)
    # A type seqeval would score as another, its hyphen stripped: PER- as PER.
    hyphened = write(tmp_path, "Olga B-PER-\nin O\nCairo B-LOC\n\n", "h.conll")
    with pytest.raises(CorpusError, match=r"h\.conll:1: entity type 'PER-' starting or ending with a hyphen"):
        read_corpus(hyphened)
    # Label Studio's and doccano's labels may hold spaces: ner predict then wrote B-Work of Art, three columns
    spaced = write_jsonl(tmp_path, {"text": "Dune is a film", "entities": [[0, 4, "Work of Art"]]})
    with pytest.raises(CorpusError, match=r"entity type 'Work of Art' holding a space, .*: write it Work_of_Art"):
        read_corpus(spaced)


def test_entity_types_alike_but_for_case_or_a_prefix_are_warned_of(tmp_path: Path, caplog) -> None:
    alike = write(tmp_path, "Olga B-PER\nin O\nCairo B-per\n\nAcme B-I-X\nand O\nAcme B-X\n\n", "alike.conll")
    with caplog.at_level(logging.WARNING):
        read_corpus(alike)
    assert "entity types PER and per, X and I-X are alike, a slip?" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        read_corpus(write(tmp_path, "Olga B-PER\nin O\nCairo B-LOC\n\n", "apart.conll"))
    assert "alike" not in caplog.text


def test_marks_on_lines_of_their_own_are_read_with_their_letter_as_tagging_reads_them() -> None:
    """A Thai corpus of one code point a line trained and scored on vowels and tones alone, which tagging
    never gives a model (100 by `ner evaluate`, 42 on the same sentences as text)."""
    thai = Sentence(["ท", "ร", "\u0e39", "ม", "\u0e39", "ฟ"], ["O", "B-ORG", "I-ORG", "I-ORG", "E-ORG", "O"])
    (read,) = as_characters([thai])
    assert read.tokens == [t.text for t in tokenize_chars("".join(thai.tokens))] == ["ท", "ร\u0e39", "ม\u0e39", "ฟ"]
    assert read.tags == ["O", "B-ORG", "E-ORG", "O"]
    assert token_tags(thai, read.tags, char_level=True) == thai.tags
    assert token_tags(thai, ["S-ORG", "O", "S-LOC", "O"], char_level=True) == ["S-ORG", "O", "O", "B-LOC", "E-LOC", "O"]
    kana = Sentence(["カ", "\u3099", "ス"], ["B-LOC", "E-LOC", "O"], offsets=[(0, 1), (1, 2), (2, 3)], lines=[1, 2, 3])
    (read,) = as_characters([kana])
    assert (read.tokens, read.tags, read.offsets, read.lines) == (
        ["ガ", "ス"],
        ["S-LOC", "O"],
        [(0, 2), (2, 3)],
        [1, 3],
    )


def test_nested_entities_are_flattened_to_the_outer_or_inner_ones_when_asked(tmp_path: Path, caplog) -> None:
    """GENIA's and ACE's nested entities were refused, with no way to train on them but to edit the corpus."""
    from ner.corpus.schemes import flattened

    spans = [(0, 13, "PER"), (7, 13, "PER"), (14, 30, "ORG"), (20, 35, "LOC"), (40, 45, "X"), (40, 45, "Y")]
    assert flattened(spans, "outer") == [0, 2, 4] and flattened(spans, "inner") == [1, 3, 4]
    for _ in range(200):  # against every pair: nothing kept overlaps, and each dropped span overlaps one kept
        rng = random.Random(_)
        spans = sorted((s, s + rng.randint(1, 6), "X") for s in (rng.randrange(20) for _ in range(rng.randint(0, 8))))
        for nested in ("outer", "inner"):
            kept = flattened(spans, nested)
            overlap = lambda a, b: a[0] < b[1] and b[0] < a[1]  # noqa: E731
            assert not any(overlap(spans[a], spans[b]) for a in kept for b in kept if a < b)
            assert all(any(overlap(spans[d], spans[k]) for k in kept) for d in range(len(spans)) if d not in kept)
    text = "Angela Merkel met the University of Tokyo staff"
    jsonl = write_jsonl(tmp_path, {"text": text, "entities": [[0, 13, "PER"], [7, 13, "PER"], [22, 41, "ORG"],
                                                              [36, 41, "LOC"]]})  # fmt: skip
    brat = write_brat(tmp_path / "brat", {"doc": (text, "T1\tPER 0 13\tAngela Merkel\nT2\tPER 7 13\tMerkel\n")})
    with pytest.raises(CorpusError, match=r"overlaps another \(--nested outer or inner keeps one\)"):
        read_corpus(jsonl)
    with pytest.raises(CorpusError, match=r"overlaps the one on line 1 \(nested: --nested outer or inner keeps one"):
        read_corpus(brat)

    def entities(path: Path, nested: str) -> list[str]:
        (sentence,), _ = read_corpus(path, nested=nested)
        return [" ".join(sentence.tokens[s.start : s.end]) + "/" + s.label for s in sentence.spans()]

    with caplog.at_level(logging.INFO):
        assert entities(jsonl, "outer") == ["Angela Merkel/PER", "University of Tokyo/ORG"]
    assert "2 entities inside or across others left out: the outer ones kept" in caplog.text
    assert entities(jsonl, "inner") == ["Merkel/PER", "Tokyo/LOC"]
    assert entities(brat, "outer") == ["Angela Merkel/PER"] and entities(brat, "inner") == ["Merkel/PER"]
    # of two spans alike, the first as the file lists it, in either format
    twice = write_brat(tmp_path / "twice", {"doc": (text, "T1\tPER 0 6\tAngela\nT2\tLOC 0 6\tAngela\n")})
    jsonl = write_jsonl(tmp_path, {"text": text, "entities": [[0, 6, "PER"], [0, 6, "LOC"]]})
    assert entities(twice, "outer") == entities(jsonl, "outer") == entities(jsonl, "inner") == ["Angela/PER"]
