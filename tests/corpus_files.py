"""Corpus files the corpus tests share: writers for each format and checks on what was read."""

from __future__ import annotations

import json
from pathlib import Path

from ner.corpus import Sentence


def write(tmp_path: Path, text: str, name: str = "corpus.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


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
