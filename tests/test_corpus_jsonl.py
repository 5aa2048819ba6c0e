"""Tests for ner.corpus.jsonl: JSONL and JSON arrays of texts with spans, as our own and other tools write them."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from ner.corpus import (
    CorpusError,
    read_corpus,
    read_corpus_noted,
    read_jsonl,
    tags_to_spans,
)

from .corpus_files import check_alignment, entity_texts, write, write_jsonl


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
    assert "1 documents with no text to tag passed over" in read_corpus_noted(path)[2]  # said nowhere before


def test_read_jsonl_of_tokens_and_tags_as_hugging_face_datasets_write_them(tmp_path):
    rows = [
        {"id": "0", "tokens": ["EU", "rejects", "German", "call"], "ner_tags": ["B-ORG", "O", "B-MISC", "O"]},
        {"id": "1", "tokens": ["Peter", "Blackburn"], "ner_tags": ["B-PER", "I-PER"]},
    ]
    for path in (write_jsonl(tmp_path, *rows), write(tmp_path, json.dumps(rows, indent=2), "rows.json")):
        sentences, scheme = read_corpus(path)
        assert scheme == "IOB2" and [s.tokens for s in sentences] == [rows[0]["tokens"], rows[1]["tokens"]]
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


def test_read_jsonl_trims_an_emails_quote_marks_around_entities(tmp_path):
    """A span that starts on > (no token since quote marks are none) refused the whole corpus."""
    text = "> Angela Merkel met.\n>  > Tony Blair"
    sentences = read_jsonl(write_jsonl(tmp_path, {"text": text, "entities": [[0, 15, "PER"], [21, 36, "PER"]]}))
    for sentence in sentences:
        check_alignment(text, sentence)
    assert [e for s in sentences for e in entity_texts(text, s)] == [("Angela Merkel", "PER"), ("Tony Blair", "PER")]


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
    # one document (Unicode's line separator ends the short line "Paris" as a sentence, as in tagging)
    first, second = read_jsonl(write_jsonl(tmp_path, {"text": "Paris\u2028Rome", "entities": [[6, 10, "LOC"]]}))
    assert (first.tokens, second.tokens, second.tags) == (["Paris"], ["Rome"], ["S-LOC"])
    assert first.document == second.document


def test_a_row_with_a_text_tokens_and_tags_but_no_spans_is_read_by_its_tags(tmp_path):
    row = {
        "text": "John lives in Paris",
        "tokens": ["John", "lives", "in", "Paris"],
        "ner_tags": ["B-PER", *"OO", "B-LOC"],
    }
    sentences, scheme = read_corpus(write_jsonl(tmp_path, row))
    assert sentences[0].spans() == tags_to_spans(["S-PER", "O", "O", "S-LOC"]) and scheme == "IOB2"


def test_prodigys_rejected_and_ignored_examples_are_passed_over(tmp_path, caplog):
    span = {"start": 0, "end": 5, "label": "ORG"}
    documents = [{"text": "Paris is nice.", "spans": [span], "answer": answer} for answer in ("reject", "ignore")]
    documents.append({"text": "Paris is big.", "spans": [{**span, "label": "LOC"}], "answer": "accept"})
    with caplog.at_level("INFO", logger="ner.corpus"):
        [sentence] = read_jsonl(write_jsonl(tmp_path, *documents))
    assert sentence.tokens[0] == "Paris" and sentence.tags[0] == "S-LOC"
    assert "2 examples answered reject or ignore" in caplog.text


def test_label_studios_offsets_counted_in_utf16_are_read_by_the_mention_they_quote(tmp_path, caplog):
    """Label Studio counts offsets as the browser does, in UTF-16 code units: an emoji counts two."""
    value = {"start": 9, "end": 17, "text": "Tim Cook", "labels": ["PER"]}
    task = {"data": {"text": "I 😀 met Tim Cook."}, "annotations": [{"result": [{"value": value}]}]}
    with caplog.at_level("INFO", logger="ner.corpus"):
        [sentence] = read_jsonl(write(tmp_path, json.dumps([task]), "export.json"))
    assert entity_texts("I 😀 met Tim Cook.", sentence) == [("Tim Cook", "PER")] and "UTF-16" in caplog.text
    value["text"] = "Tom Cook"  # a mention the span misses however it is counted: refused
    with pytest.raises(CorpusError) as info:
        read_jsonl(write(tmp_path, json.dumps([task]), "export.json"))
    assert "not the 'Tom Cook' it quotes" in info.value.reason and info.value.line == 1


def test_spans_a_javascript_client_counted_in_utf16_are_read_by_the_words_they_fall_on(tmp_path, caplog):
    """Offsets from JavaScript's indexOf, two units per emoji, were read as code points without a word:
    `A[ngela Merkel]PER visited P[aris .]LOC` trained."""
    text = "😀 Angela Merkel visited Paris."
    utf16 = {"text": text, "entities": [[3, 16, "PER"], [25, 30, "LOC"]]}
    code_points = {"text": text, "entities": [[2, 15, "PER"], [24, 29, "LOC"]]}
    inside_a_word = {"text": "😀 MerkelCorp", "entities": [[2, 8, "ORG"]]}  # cuts a word however counted
    with caplog.at_level("INFO", logger="ner.corpus"):
        read = read_jsonl(write_jsonl(tmp_path, utf16, code_points, inside_a_word))
    expected = [("Angela Merkel", "PER"), ("Paris", "LOC")]
    assert entity_texts(text, read[0]) == entity_texts(text, read[1]) == expected
    assert entity_texts("😀 MerkelCorp", read[2]) == [("Merkel", "ORG")]
    assert "spans of 1 documents counted in UTF-16 code units" in caplog.text
    quoted = {"text": "😀 Pre-Merkel era", "entities": [{"start": 6, "end": 12, "label": "PER", "text": "Merkel"}]}
    (sentence,) = read_jsonl(write_jsonl(tmp_path, quoted))  # inside a word, as the quote says: not moved
    assert entity_texts(quoted["text"], sentence) == [("Merkel", "PER")]
    decomposed = {"text": "Zoë met Ann.", "entities": [{"start": 0, "end": 3, "label": "PER", "text": "Zoe\u0308"}]}
    (sentence,) = read_jsonl(write_jsonl(tmp_path, decomposed))  # the quote decomposed, the text not: alike
    assert entity_texts(decomposed["text"], sentence) == [("Zoë", "PER")]


def test_many_spans_in_one_long_document_align(tmp_path):
    words = ["Paris" if i % 10 == 0 else "word" for i in range(4000)]
    text = " ".join(words)
    starts = [sum(len(w) + 1 for w in words[:i]) for i in range(0, 4000, 10)]
    sentences = read_jsonl(write_jsonl(tmp_path, {"text": text, "entities": [[s, s + 5, "LOC"] for s in starts]}))
    assert sum(len(s.spans()) for s in sentences) == 400 and sum(len(s.tokens) for s in sentences) == 4000


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"text":"a","entities":' + b"[" * 5000 + b"]" * 5000 + b"}\n", "unreadable JSON: nested too deeply"),
        (b'[{"text":"a","entities":' + b"[" * 5000 + b"]" * 5000 + b"}]", "unreadable JSON: nested too deeply"),
        (b'{"text":"abc","entities":[[0,' + b"1" * 4301 + b',"X"]]}\n', "unreadable JSON: Exceeds the limit"),
    ],
)
def test_json_past_the_parsers_limits_is_a_corpus_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_bytes(content)
    with pytest.raises(CorpusError, match=message):
        read_corpus(path)


def test_an_invisible_character_cut_off_an_entity_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "zw.jsonl"
    documents = [
        {"text": "Bob\u200b", "entities": [[0, 3, "PER"]]},
        {"text": "a\ufeffb", "entities": [[0, 1, "X"], [2, 3, "Y"]]},
    ]
    path.write_text("".join(json.dumps(d) + "\n" for d in documents))
    first, second = read_corpus(path)[0]
    assert first.tokens == ["Bob"] and first.tags == ["S-PER"]
    assert second.tokens == ["a", "b"] and second.tags == ["S-X", "S-Y"]
