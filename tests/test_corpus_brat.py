"""Tests for ner.corpus.brat: brat standoff folders."""

from __future__ import annotations

import pytest

from ner.corpus import (
    CorpusError,
    read_brat,
    read_corpus,
    written_out,
)

from .corpus_files import BRAT_ANN, BRAT_TEXT, check_alignment, entity_texts, write_brat


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
    # Written out as text (ner evaluate --as-text): each line's offsets start again, on a line of its own.
    text, spans = written_out([s for s in sentences if s.document == 1])
    assert text == "Angela Merkel visited New  York.\nShe met Macron in Paris."
    assert [text[start:end] for start, end, _ in spans] == ["Angela Merkel", "New  York", "Macron", "Paris"]
    assert written_out([s for s in sentences if s.document == 0])[0] == second[0]


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
    with pytest.raises(CorpusError, match="every .txt file is empty"):
        read_brat(write_brat(tmp_path / "blank", {"doc": ("", ""), "other": ("\n", "")}))


@pytest.mark.parametrize(("ann", "offset"), [("T1\tPER 1 9\tTim Cook\n", 1), ("T1\tPER 0 8\tTim Cook\n", 0)])
def test_a_texts_byte_order_mark_counts_as_brat_counts_it_or_as_the_mentions_show(tmp_path, ann, offset):
    """brat reads a .txt with its byte-order mark as character 0; a tool that drops it counts from the
    text after it: the quoted mentions tell which."""
    folder = write_brat(tmp_path / "bom", {"doc": ("\ufeffTim Cook visited Paris.", ann)})
    [sentence] = read_brat(folder)
    assert sentence.tokens[:2] == ["Tim", "Cook"] and sentence.tags[:2] == ["B-PER", "E-PER"]
    assert sentence.offsets[0] == (offset, offset + 3)
    with pytest.raises(CorpusError, match="covers 'im Cook ', not 'Tim Cook'"):
        read_brat(write_brat(tmp_path / "bad", {"doc": ("\ufeffTim Cook visited Paris.", "T1\tPER 2 10\tTim Cook\n")}))


def test_documents_come_in_the_order_of_their_paths_part_by_part_case_counted(tmp_path):
    """As Linux sorts them, which Windows (paths compared ignoring case) and a sort of whole path strings
    (``sub-x`` before ``sub/c``) would not; the digest names files as Linux does too."""
    from ner.bundle import corpus_sha256
    from ner.corpus.brat import annotation_files

    folder = tmp_path / "brat"
    names = ["B", "a", "sub/c", "sub-x"]
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.txt").write_text("Reuters reported it.\n")
        (folder / f"{name}.ann").write_text("T1\tORG 0 7\tReuters\n")
    (folder / "notes.ANN").write_text("not brat")
    assert [p.relative_to(folder).as_posix() for p in annotation_files(folder)] == [f"{n}.ann" for n in names]
    digest = corpus_sha256(folder)
    (folder / "sub" / "c.ann").rename(folder / "sub" / "d.ann")
    (folder / "sub" / "c.txt").rename(folder / "sub" / "d.txt")
    assert corpus_sha256(folder) != digest  # names count, not only bytes


def test_a_text_whose_line_ends_were_converted_after_annotation_is_read_as_annotated(tmp_path):
    """git on Windows checks text out with \\r\\n: the offsets, counted on \\n, fit the text read that way."""
    annotated = "Reuters reported it.\nBonn denied it.\n"
    ann = "T1\tORG 0 7\tReuters\nT2\tLOC 21 25\tBonn\n"
    folder = write_brat(tmp_path / "brat", {"a": (annotated.replace("\n", "\r\n"), ann)})
    sentences = read_brat(folder)
    assert [entity_texts(s_text, s) for s_text, s in zip(annotated.splitlines(), sentences)] == [
        [("Reuters", "ORG")],
        [("Bonn", "LOC")],
    ]
    (folder / "a.ann").write_text("T1\tORG 0 7\tReuters\nT2\tLOC 22 26\tBonn\n")  # counted on \r\n: as before
    assert [s.tokens[0] for s in read_brat(folder)] == ["Reuters", "Bonn"]
    (folder / "a.ann").write_text("T1\tORG 0 7\tReuters\nT2\tLOC 23 27\tBonn\n")  # fits neither
    with pytest.raises(CorpusError, match="a.ann"):
        read_brat(folder)
    # no quoted mention after a line end shows the offsets counted on \n: the first reading's error stands
    other = write_brat(tmp_path / "other", {"b": ("你好\r\n李明 在北京市\r\n", "T1\tLOC 8 10\nT2\tORG 4 5;6 7\n")})
    with pytest.raises(CorpusError, match="b.ann:2: T2 is in fragments with text between them"):
        read_brat(other)  # fits \n, but no quoted mention shows it
