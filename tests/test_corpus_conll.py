"""Tests for ner.corpus.conll: CoNLL column files in their dialects, their errors, and the conlleval writer."""

from __future__ import annotations

import logging
import time

import pytest

from ner.corpus import (
    UNNAMED,
    CorpusError,
    Sentence,
    Span,
    as_words,
    read_conll,
    read_corpus,
    write_conll_predictions,
)

from .conftest import shared_data
from .corpus_files import (
    CONLL_IOB1,
    write,
)


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
    # A long one is refused, with no other column to suggest.
    names = write(tmp_path, "Olga PER\nKowalski PER\n\n" * 120)
    with pytest.raises(CorpusError) as info:
        read_conll(names)
    assert "cannot teach where entities end" in info.value.reason and "--tag-column" not in info.value.reason


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


def test_a_few_nested_entities_outside_the_outer_ones_keep_the_outer_column(tmp_path, caplog):
    """One annotator's slip in GermEval's nested column (an entity outside every outer one) switched the
    whole file to the nested column, most entities lost; up to MAX_STRAYS of them are warned of instead."""
    sentence = "1\tSchartau\tB-PER\tO\n2\tsah\tO\tO\n3\tdie\tO\tO\n4\tUni\tB-ORG\tO\n5\tBerlin\tI-ORG\tB-LOC\n\n"
    slip = "1\tKöln\tO\tB-LOC\n2\tKöln\tB-LOC\tO\n\n"
    with caplog.at_level("INFO", logger="ner.corpus"):
        sentences, _ = read_conll(write(tmp_path, sentence * 19 + slip))
    assert sum(len(s.spans()) for s in sentences) == 2 * 19 + 1  # the outer column's PER, ORG and LOC
    assert "1 of them lie outside any" in caplog.text
    sentences, _ = read_conll(write(tmp_path, sentence * 5 + slip * 2))  # 2 of 7: not nested entities
    assert [span.label for span in sentences[0].spans()] == ["LOC"]


def test_a_small_conll2003_file_reads_its_entity_column_not_its_chunk_column(tmp_path):
    """Chunks hold every entity and a short file's chunk column may be O often enough to pass for
    GermEval's outer entities; phrase labels (NP, PP, VP) are not entity types."""
    text = "In IN B-PP O\nthe DT B-NP O\nGerman JJ I-NP B-MISC\nmarket NN I-NP O\n, , O O\nprices NNS B-NP O\n"
    text += "fell VBD B-VP O\n. . O O\n"
    [sentence], _ = read_conll(write(tmp_path, text))
    assert sentence.spans() == [Span(2, 3, "MISC")]
    [sentence], _ = read_conll(write(tmp_path, text.replace("B-MISC", "O")))  # no entity at all: none read
    assert sentence.spans() == []


def test_read_conll_conllu_multiword_tokens_and_empty_nodes_passed_over(tmp_path, caplog):
    """CoNLL-U gives a contraction's surface form on a range line (2-3 del) before its words (de, el),
    and empty nodes as 1.1: the words are read, as their numbers count."""
    text = "# text = Vive del Madrid\n1\tVive\t_\tname=O\n2-3\tdel\t_\t_\n2\tde\t_\tname=O\n3\tel\t_\tname=O\n"
    text += "3.1\tes\t_\t_\n4\tMadrid\t_\tname=B-LOC\n"
    with caplog.at_level("INFO", logger="ner.corpus"):
        [sentence], _ = read_conll(write(tmp_path, text))
    assert sentence.tokens == ["Vive", "de", "el", "Madrid"] and sentence.tags == ["O", "O", "O", "S-LOC"]
    assert sentence.lines == [2, 4, 5, 7] and "passed over, 2 of them" in caplog.text
    # a score such as 2-1 in a CoNLL-2003 file stays a token
    assert read_conll(write(tmp_path, "won NN O\n2-1 CD O\n"))[0][0].tokens == ["won", "2-1"]


def test_read_conll_a_tsv_tables_quote_mark_is_a_token(tmp_path):
    text = 'word\ttag\nsaid\tO\n"\tO\nParis\tB-LOC\nis\tO\n"\tO\n.\tO\n'
    [sentence], _ = read_conll(write(tmp_path, text))
    assert sentence.tokens == ["said", '"', "Paris", "is", '"', "."] and sentence.spans() == [Span(2, 3, "LOC")]


def test_read_conll_only_ascii_whitespace_separates_columns(tmp_path):
    """French writes 15\u202fmai with a narrow no-break space, and Chinese corpora may tag the ideographic
    space U+3000 as a character: both are tokens, not column breaks; a line of them alone is blank."""
    [sentence], _ = read_conll(write(tmp_path, "Le O\n15\u202fmai O\nà O\nParis B-LOC\n"))
    assert sentence.tokens == ["Le", "15\u202fmai", "à", "Paris"] and sentence.spans() == [Span(3, 4, "LOC")]
    sentences, _ = read_conll(write(tmp_path, "北\tB-LOC\n京\tI-LOC\n\u3000\tO\n好\tO\n\u3000\n上\tB-LOC\n海\tI-LOC\n"))
    assert [s.tokens for s in sentences] == [["北", "京", "\u3000", "好"], ["上", "海"]]


def test_read_conll_a_hashtag_with_an_io_label_is_a_token(tmp_path):
    sentences, scheme = read_conll(write(tmp_path, "#Obama\tPER\nwins\tO\n\n#tokyo2020\tO\n#Tokyo\tLOC\n"))
    assert [s.tokens for s in sentences] == [["#Obama", "wins"], ["#tokyo2020", "#Tokyo"]] and scheme == "IO"
    assert sentences[0].spans() == [Span(0, 1, "PER")]
    few_nerd = "#Obama\tperson-politician\nwins\tO\n"
    assert read_conll(write(tmp_path, few_nerd))[0][0].spans() == [Span(0, 1, "person-politician")]


def test_read_conll_tags_in_lower_case(tmp_path, caplog):
    """Some corpora write o and b-per: read as O and B-per, not as IO labels making every token an entity."""
    with caplog.at_level("INFO", logger="ner.corpus"):
        [sentence], scheme = read_conll(write(tmp_path, "Jan b-per\nSmit i-per\nin o\nGent b-loc\n"))
    assert sentence.spans() == [Span(0, 2, "per"), Span(3, 4, "loc")] and scheme == "IOB2"
    assert "lower case" in caplog.text
    [sentence], scheme = read_conll(write(tmp_path, "Jan person\nSmit person\nin o\nGent location\n"))
    assert sentence.spans() == [Span(0, 2, "person"), Span(3, 4, "location")] and scheme == "IO"
    # Lower-case prefixes beside an upper-case O: B-per, not IO types named b-per and i-per.
    [sentence], scheme = read_conll(write(tmp_path, "Anna b-per\nSmith i-per\nvisited O\nParis b-loc\n"))
    assert sentence.spans() == [Span(0, 2, "per"), Span(3, 4, "loc")] and scheme == "IOB2"
    # A token starting with # first in its sentence, tagged o, is a token, not a comment.
    sentences, _ = read_conll(write(tmp_path, "#travel o\nin o\nParis b-loc\n\n#Obama b-per\nsmiled o\n"))
    assert [s.tokens for s in sentences] == [["#travel", "in", "Paris"], ["#Obama", "smiled"]]
    # ... while a CoNLL-U comment holding the word o (Spanish "or") stays a comment.
    conllu = "# sent_id = 1\n# text = Juan o Pedro\n" + "".join(
        f"{i}\t{word}\t_\t_\t_\t_\t_\t_\t_\t{tag}\n"
        for i, (word, tag) in enumerate([("Juan", "B-PER"), ("o", "O"), ("Pedro", "B-PER")], 1)
    )
    [sentence], _ = read_conll(write(tmp_path, conllu))
    assert sentence.tokens == ["Juan", "o", "Pedro"] and sentence.spans() == [Span(0, 1, "PER"), Span(2, 3, "PER")]
    [sentence], _ = read_conll(write(tmp_path, conllu.replace("Juan o Pedro", "O Brasil venceu")))  # or O
    assert sentence.tokens == ["Juan", "o", "Pedro"]
    [sentence], _ = read_conll(write(tmp_path, "# o\nParis b-loc\nwins o\n"))  # the token # in such a file
    assert sentence.tokens == ["#", "Paris", "wins"]


def test_column_tokens_are_read_as_tagging_reads_text(tmp_path):
    """Invisible characters (a right-to-left mark after each Arabic word, a BOM where files were joined) are
    dropped from tokens as tagging drops them from text: else the model learns words tagging never meets."""
    marked = "\u200f"
    corpus = f"-DOCSTART- O\n\nالقاهرة{marked} B-LOC\nمدينة{marked} O\n\n\ufeff-DOCSTART- O\n\nزار{marked} O\n"
    sentences, _ = read_conll(write(tmp_path, corpus))
    assert [s.tokens for s in sentences] == [["القاهرة", "مدينة"], ["زار"]]
    assert [s.document for s in sentences] == [1, 2]  # the second -DOCSTART- starts a document, not a sentence
    assert [s.tokens for s in read_conll(write(tmp_path, "\u200b B-PER\nx O\n"))[0]] == [["\u200b", "x"]]


def test_fields_past_csvs_size_limit(tmp_path):
    """A token longer than csv's field limit (131,072 characters) is read in a column file; in a CSV table
    it is an error naming its line, not a traceback."""
    long_token = tmp_path / "long.conll"
    long_token.write_text("A" * 140_000 + " B-PER\nran O\n")
    (sentence,) = read_conll(long_token)[0]
    assert len(sentence.tokens[0]) == 140_000 and sentence.tags == ["S-PER", "O"]
    table = tmp_path / "t.csv"
    table.write_text("word,tag\na,O\n" + "B" * 200_000 + ",O\n")
    with pytest.raises(CorpusError, match=r"t\.csv:3: not a row of the table: field larger than field limit"):
        read_conll(table)


def test_odd_column_files_are_corpus_errors_or_read_in_good_time(tmp_path):
    empty_word = tmp_path / "wikiner.txt"
    empty_word.write_text("|O John|B-PER\n")
    with pytest.raises(CorpusError, match="an empty word or tag"):
        read_conll(empty_word)
    long_number = tmp_path / "number.conll"
    long_number.write_text("a" + "1" * 4301 + " O\n")
    assert read_conll(long_number)[0][0].tags == ["O"]
    blank_first = tmp_path / "blank.csv"
    blank_first.write_text("\n" * 150 + "word,tag\na,O\n")
    assert read_conll(blank_first)[0][0].tokens == ["a"]
    nested = tmp_path / "nested.conll"  # one long sentence of nested entities: the columns judged in linear time
    nested.write_text(("w S-X S-X\n" * 4 + "w O O\n") * 8700)
    started = time.perf_counter()
    read_conll(nested)
    assert time.perf_counter() - started < 5  # 11.7 s when each entity searched its container from the start


def test_treebank_brackets_and_quotes_of_a_column_file_read_as_the_text_writes_them(tmp_path, caplog):
    """A BIO file converted from OntoNotes kept -LRB- and `` as words: no text has them, so the model never
    learnt the brackets and quotes text gives it, and its vocabulary held words no tagging makes."""
    path = write(tmp_path, "`` O\nSales O\n-LRB- O\nAcme B-ORG\n-RRB- O\n'' O\n. O\n")
    with caplog.at_level(logging.INFO):
        (sentence,), _ = read_conll(path)
    assert sentence.tokens == ['"', "Sales", "(", "Acme", ")", '"', "."] and sentence.tags == [
        "O",
        "O",
        "O",
        "S-ORG",
        "O",
        "O",
        "O",
    ]
    assert "Treebank escapes (-LRB-, ``, '') read as the characters, 4 of them" in caplog.text
    written = list(write_conll_predictions(path, [sentence], [sentence.tags], "IOB2"))
    assert written[0] == "`` O O" and written[2] == "-LRB- O O"  # predictions keep the file's own lines
