"""Tag schemes: the entity spans a sequence of tags stands for, and back.

A :class:`Span` covers tokens ``[start, end)``. :func:`tags_to_spans` reads the
spans of tags in any supported scheme (IOB1, IOB2, BIOES, BMES, BILOU; IO's bare
labels once prefixed), :func:`spans_to_tags` writes them in one, and
:func:`detect_scheme` tells which scheme a corpus was written in.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SCHEMES = ("IOB1", "IOB2", "BIOES", "BMES", "BILOU", "IO")
TAG_PATTERN = re.compile(r"^(?:O|([BIEMSLU])[-_](.+))$")  # B-PER, or B_PER as some corpora write it


@dataclass(frozen=True, slots=True)
class Span:
    """An entity over tokens ``[start, end)`` with a label."""

    start: int
    end: int
    label: str


def tags_to_spans(tags: Sequence[str]) -> list[Span]:
    """Entity spans of a tag sequence in any supported scheme.

    Lenient like conlleval: a chunk starts at ``B``/``S``, or at ``I``/``M``/``E``
    whose previous tag is not inside a chunk of the same type; it ends before
    ``O``, ``B``, ``S``, a change of type, or after ``E``/``S`` (BILOU's ``L``/``U``
    read as ``E``/``S``). This reads IOB1, IOB2, BIOES, BMES and BILOU alike.
    """
    spans: list[Span] = []
    start, label = -1, ""
    for i, tag in enumerate(tags):
        prefix, kind = (tag[0], tag[2:]) if tag != "O" else ("O", "")
        if label and (prefix in "OBSU" or kind != label):
            spans.append(Span(start, i, label))
            label = ""
        if prefix != "O" and not label:
            start, label = i, kind
        if label and prefix in "ESLU":
            spans.append(Span(start, i + 1, label))
            label = ""
    if label:
        spans.append(Span(start, len(tags), label))
    return spans


def spans_to_tags(spans: Iterable[Span], length: int, scheme: str = "BIOES") -> list[str]:
    """Tags of ``length`` tokens in ``scheme`` for non-overlapping ``spans``."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown tag scheme {scheme!r}; expected one of {SCHEMES}")
    tags = ["O"] * length
    for span in sorted(spans, key=lambda s: s.start):
        size = span.end - span.start
        if scheme in ("BIOES", "BMES", "BILOU"):
            inside = "M" if scheme == "BMES" else "I"
            single, last = ("U", "L") if scheme == "BILOU" else ("S", "E")
            if size == 1:
                tags[span.start] = f"{single}-{span.label}"
            else:
                tags[span.start] = f"B-{span.label}"
                tags[span.start + 1 : span.end - 1] = [f"{inside}-{span.label}"] * (size - 2)
                tags[span.end - 1] = f"{last}-{span.label}"
        elif scheme == "IO":
            tags[span.start : span.end] = [span.label] * size
        elif scheme == "IOB2":
            tags[span.start : span.end] = [f"B-{span.label}"] + [f"I-{span.label}"] * (size - 1)
        elif scheme == "IOB1":
            touches = span.start > 0 and tags[span.start - 1] != "O" and tags[span.start - 1][2:] == span.label
            tags[span.start : span.end] = [f"I-{span.label}"] * size
            if touches:
                tags[span.start] = f"B-{span.label}"
    return tags


def detect_scheme(tag_sequences: Iterable[Sequence[str]]) -> str:
    """The tag scheme of a corpus: BMES if any ``M-``, else BILOU if any ``L-``/``U-``, else BIOES if
    any ``E-``/``S-``, else IOB1 if some ``I-X`` opens an entity (what IOB2 never writes) and at least as
    many do as ``B-X`` opens one after ``O`` or another type (what IOB1 never writes): a stray ``I-`` does
    not make an IOB2 file IOB1, nor its predictions written so. Else IOB2."""
    prefixes: set[str] = set()
    opened_by = {"B": 0, "I": 0}  # entities opened so, where the other scheme would not
    for tags in tag_sequences:
        previous = "O"
        for tag in tags:
            prefixes.add(tag[0])
            if tag[0] in "BI" and (previous == "O" or previous[2:] != tag[2:]):
                opened_by[tag[0]] += 1
            previous = tag
    if "M" in prefixes:
        return "BMES"
    if prefixes & {"L", "U"}:
        return "BILOU"
    if prefixes & {"E", "S"}:
        return "BIOES"
    return "IOB1" if opened_by["I"] and opened_by["I"] >= opened_by["B"] else "IOB2"


def first_invalid(tags: Sequence[str], scheme: str) -> int | None:
    """The position of the first tag that ``scheme`` would not write for the entities read from ``tags``
    (``I-PER`` after ``O`` in IOB2, a ``B-`` without its ``E-`` in BIOES), or None when all are valid."""
    written = spans_to_tags(tags_to_spans(tags), len(tags), scheme)
    as_written = (tag if tag == "O" else f"{tag[0]}-{tag[2:]}" for tag in tags)  # B_PER as B-PER
    return next((i for i, (tag, valid) in enumerate(zip(as_written, written)) if tag != valid), None)


def type_problem(kind: str) -> str | None:
    """What is wrong with an entity type's name, as the error says it; None when nothing is."""
    if not kind:
        return "no name"
    if kind == "O":
        return "'O', which means no entity (in dictionaries too)"
    if kind[0] == "-" or kind[-1] == "-":
        return f"{kind!r} starting or ending with a hyphen"
    if any(character.isspace() for character in kind):
        # ner predict writes a column file, whose columns spaces part: B-Work of Art would read as three
        return f"{kind!r} holding a space, which a column file cannot: write it {'_'.join(kind.split())}"
    return None


NESTED = ("refuse", "outer", "inner")  # what reading does with entities inside or across others


def flattened(spans: Sequence[tuple[int, int, str]], nested: str) -> list[int]:
    """The indices, ascending, of the ``(start, end, label)`` spans kept where some lie inside or across
    others (GENIA, ACE): ``outer`` keeps the longest of those that overlap (of spans alike, the first),
    ``inner`` the shortest; each kept span overlaps no other kept."""
    if nested not in NESTED[1:]:
        raise ValueError(f"nested entities are kept outer or inner, not {nested!r}")
    sign = -1 if nested == "outer" else 1
    order = sorted(range(len(spans)), key=lambda i: (sign * (spans[i][1] - spans[i][0]), spans[i][0]))
    starts: list[int] = []  # the kept spans' starts and ends, in order: they never overlap
    ends: list[int] = []
    kept = []
    for index in order:
        start, end = spans[index][0], spans[index][1]
        at = bisect.bisect_right(starts, start)
        if (at and ends[at - 1] > start) or (at < len(starts) and starts[at] < end):
            continue
        starts.insert(at, start)
        ends.insert(at, end)
        kept.append(index)
    return sorted(kept)
