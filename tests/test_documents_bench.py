"""benchmarks.documents: each way of writing an article keeps its entities where they are written."""

from __future__ import annotations

import re

import pytest

from benchmarks.documents import edited, variants, wrapped
from ner.markup import read_markup

ARTICLE = (
    "EU rejects German call to boycott British lamb & beef .\nPeter Blackburn\nBRUSSELS 1996-08-22\n"
    "The European Commission said on Thursday it disagreed with German advice to consumers to shun British "
    "lamb until scientists determine whether mad cow disease can be transmitted to sheep . *Reuters_Desk* [x]"
)


def spans_of(text: str, names: list[tuple[str, str]]) -> list[tuple[int, int, str]]:
    spans, at = [], 0
    for name, label in names:
        at = text.index(name, at)
        spans.append((at, at + len(name), label))
        at += len(name)
    return spans


NAMES = [("EU", "ORG"), ("German", "MISC"), ("lamb & beef", "MISC"), ("Peter Blackburn", "PER"), ("BRUSSELS", "LOC")]
NAMES += [("European Commission", "ORG"), ("German", "MISC"), ("*Reuters_Desk*", "ORG")]


@pytest.mark.parametrize("name", ["lines", "wrapped 72", "wrapped 40", "hyphenated", "quoted", "html", "markdown"])
def test_every_entity_reads_as_it_did_where_each_way_of_writing_moves_it(name: str) -> None:
    spans = spans_of(ARTICLE, NAMES)
    text, moved, markup = variants(ARTICLE, spans)[name]
    assert len(moved) == len(spans)
    for (start, end, label), (old_start, old_end, old_label) in zip(moved, spans):
        written = text[start:end]
        read = re.sub(r"\*\*|\\(.)", r"\1", written) if markup == "markdown" else written
        read = read_markup(read, markup).text if markup == "html" else read
        read = " ".join(re.sub(r"-\n(?:> )?", "", read).replace("\n> ", " ").split())  # a wrap, a hyphen, a quote
        assert (read, label) == (ARTICLE[old_start:old_end], old_label), name
        assert not written[:1].isspace() and not written[-1:].isspace()
    assert text != ARTICLE or name == "lines"


def test_a_long_word_across_a_lines_end_is_hyphenated_and_its_entity_follows() -> None:
    text = "The meeting was held in the old town of Brussels"
    new, (span,) = edited(text, [(40, 48, "LOC")], wrapped(text, 44, hyphenate=True))
    assert new == "The meeting was held in the old town of Bru-\nssels" and new[slice(*span[:2])] == "Bru-\nssels"
