"""Sentences as every reader returns them, and the corpus-wide steps training takes on them.

A :class:`Sentence` holds tokens with BIOES tags (the scheme the model trains
in), where they came from (character offsets, source lines) and its document.
:func:`as_model_tokens` gives the tokens a model sees when it tags text:
characters, or words cut apart where a corpus joins them; :func:`token_tags`
maps tags over those pieces back onto the corpus's own tokens.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ner.corpus.schemes import Span, spans_to_tags, tags_to_spans
from ner.text import (
    END_MARKS,
    SYMBOL,
    Token,
    composed,
    cut_points,
    only_marks,
    tokenize,
    tokenize_chars,
    unspaced_script,
)

_JOINING_UNDERSCORE = re.compile(r"(?<=[^\s_])_(?=[^\s_])")  # Hà_Nội, not __init__


class CorpusError(ValueError):
    """Malformed corpus input, located by file and line."""

    def __init__(self, path: str | Path, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = str(path), line, reason
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")


@dataclass
class Sentence:
    """Tokens with BIOES tags; ``offsets`` are character offsets where the source had text."""

    tokens: list[str]
    tags: list[str]
    offsets: list[tuple[int, int]] | None = None
    lines: list[int] = field(default_factory=list)  # source line of each token (CoNLL only)
    document: int = 0  # sentences of one document share it (CoNLL -DOCSTART-; a JSONL line is one)
    # the text ``offsets`` count in, where it was read from text (a JSONL record's, a brat file's line)
    source: str | None = field(default=None, compare=False, repr=False)

    def spans(self) -> list[Span]:
        return tags_to_spans(self.tags)


def summary(sentences: Sequence[Sentence]) -> dict:
    """Counts that show how a corpus was read (``ner inspect``): sentences, documents, tokens, the
    longest sentence, entities by type (most first), and the first sentence with its entities bracketed."""
    types = Counter(span.label for sentence in sentences for span in sentence.spans())
    first = sentences[0] if sentences else Sentence([], [])
    shown = list(first.tokens)
    for span in first.spans():
        shown[span.start] = "[" + shown[span.start]
        shown[span.end - 1] += f"]{span.label}"
    return {
        "sentences": len(sentences),
        "documents": len({sentence.document for sentence in sentences}),
        "tokens": sum(len(sentence.tokens) for sentence in sentences),
        "longest_sentence": max((len(sentence.tokens) for sentence in sentences), default=0),
        "entities": sum(types.values()),
        "types": dict(types.most_common()),
        "first_sentence": shown,
    }


def hold_out(sentences: Sequence[Sentence], every: int, block: int = 1) -> tuple[list[Sentence], list[Sentence]]:
    """(kept, held): every ``every``-th block of ``block`` sentences held out (a dev set cut from training)."""
    held = [(i // block) % every == every - 1 for i in range(len(sentences))]
    return [s for s, h in zip(sentences, held) if not h], [s for s, h in zip(sentences, held) if h]


def lowercased_words(*corpora: Iterable[Sentence]) -> set[str]:
    """Every token of ``corpora``, lower-cased, as pretrained vectors and word vocabularies spell them."""
    return {token.lower() for sentences in corpora for sentence in sentences for token in sentence.tokens}


def recased(sentences: Iterable[Sentence], casing: Callable[[str], str] = str.lower) -> list[Sentence]:
    """``sentences`` with ``casing`` applied to every token (lowercased by default), the tags kept: text as
    chat, queries and headlines write it."""
    return [replace(sentence, tokens=list(map(casing, sentence.tokens))) for sentence in sentences]


def as_characters(sentences: Sequence[Sentence]) -> list[Sentence]:
    """``sentences`` with every token of several characters cut into its characters (marks kept with
    their letter, also those a corpus of one code point a line gives a token of their own) and each entity
    spread over them: what a character-level model trains on and is scored against when a corpus comes
    in words (a word-segmented Chinese corpus, say)."""
    return _cut_tokens([_marks_joined(s) for s in sentences], _characters, lambda token: len(token) > 1)


def _mark_groups(tokens: Sequence[str]) -> list[list[int]]:
    """The indices of ``tokens`` in groups: each token with the tokens after it made only of marks
    (:func:`ner.text.only_marks`: Thai's vowels and tones, a kana's sound mark typed apart), which
    tagging reads as one character with it."""
    groups: list[list[int]] = []
    for index, token in enumerate(tokens):
        if groups and only_marks(token):
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def _marks_joined(sentence: Sentence) -> Sentence:
    """``sentence`` with each token made only of marks joined to the token before it (an entity that
    ends on it ends on their join)."""
    groups = _mark_groups(sentence.tokens)
    if len(groups) == len(sentence.tokens):  # the common case
        return sentence
    group_of = [number for number, members in enumerate(groups) for _ in members]
    spans: list[Span] = []
    for span in sentence.spans():
        first, last = group_of[span.start], group_of[span.end - 1]
        if not spans or spans[-1].end <= first:
            spans.append(Span(first, last + 1, span.label))
    offsets = sentence.offsets
    return Sentence(
        [_joined(sentence.tokens, members) for members in groups],
        spans_to_tags(spans, len(groups)),
        None if offsets is None else [(offsets[m[0]][0], offsets[m[-1]][1]) for m in groups],
        [sentence.lines[members[0]] for members in groups] if sentence.lines else [],
        sentence.document,
    )


def _joined(tokens: Sequence[str], members: Sequence[int]) -> str:
    return tokens[members[0]] if len(members) == 1 else composed("".join(tokens[i] for i in members))


def as_words(sentences: Sequence[Sentence]) -> list[Sentence]:
    """``sentences`` with every token holding an underscore or a space cut as tagging cuts text,
    underscores between words read as spaces, and each entity spread over the pieces: what a
    word-level model trains on and is scored against. Vietnamese corpora write a word of several
    syllables, and a name, as one token (``Hà_Nội``, ``Nguyễn_Văn_An``, or with a space in a
    tab-separated file), where the text a user sends has spaces."""
    return _cut_tokens(sentences, _words, _may_hold_words)


def as_model_tokens(sentences: Sequence[Sentence], char_level: bool) -> list[Sentence]:
    """``sentences`` in the tokens a model of that level sees when it tags text."""
    return as_characters(sentences) if char_level else as_words(sentences)


def _cut_tokens(
    sentences: Sequence[Sentence], cut: Callable[[str], list[Token]], may_cut: Callable[[str], bool]
) -> list[Sentence]:
    out = []
    for sentence in sentences:
        if not any(map(may_cut, sentence.tokens)):  # the common case: nothing to cut
            out.append(sentence)
            continue
        pieces = [cut(token) for token in sentence.tokens]
        starts = [0, *itertools.accumulate(map(len, pieces))]
        spans = [Span(starts[s.start], starts[s.end], s.label) for s in sentence.spans()]
        tokens = [piece.text for token_pieces in pieces for piece in token_pieces]
        offsets = None
        if sentence.offsets is not None:
            offsets = [
                offset
                for (start, end), token_pieces in zip(sentence.offsets, pieces)
                for offset in _placed(start, end, token_pieces)
            ]
        lines = [line for line, token_pieces in zip(sentence.lines, pieces) for _ in token_pieces]
        out.append(Sentence(tokens, spans_to_tags(spans, len(tokens)), offsets, lines, sentence.document))
    return out


def _placed(start: int, end: int, pieces: Sequence[Token]) -> list[tuple[int, int]]:
    """The source offsets of the pieces of a token found at ``[start, end)`` of its source: kept within it
    where the token as read is shorter (its letters composed, invisible characters dropped), the last
    piece ending where the token does."""
    placed = [(min(start + piece.start, end), min(start + piece.end, end)) for piece in pieces]
    if placed:
        placed[-1] = (placed[-1][0], end)
    return placed


def token_tags(sentence: Sentence, piece_tags: Sequence[str], char_level: bool) -> list[str]:
    """BIOES tags over ``sentence``'s own tokens from tags over the pieces :func:`as_model_tokens` cut
    them into: an entity covers every token it touches, unless an earlier one has one."""
    if char_level:  # a token of marks alone went with the token before it (_marks_joined)
        groups = _mark_groups(sentence.tokens)
        owner = [(m[0], m[-1]) for m in groups for _ in _characters(_joined(sentence.tokens, m))]
    else:
        owner = [(index, index) for index, token in enumerate(sentence.tokens) for _ in _words(token)]
    spans: list[Span] = []
    for span in tags_to_spans(piece_tags):
        first, last = owner[span.start][0], owner[span.end - 1][1]
        if not spans or spans[-1].end <= first:
            spans.append(Span(first, last + 1, span.label))
    return spans_to_tags(spans, len(sentence.tokens))


def _characters(token: str) -> list[Token]:
    return tokenize_chars(token) or [Token(token, 0, len(token))]


def _may_hold_words(token: str) -> bool:
    return "_" in token or " " in token  # a token with a space: a tab-separated file's (Vietnamese UD: Hà Nội)


def _words(token: str) -> list[Token]:
    whole = [Token(token, 0, len(token))]
    if not _may_hold_words(token) or len(tokenize(token)) == 1:  # kept whole by tagging: #climate_change
        return whole
    return tokenize(_JOINING_UNDERSCORE.sub(" ", token)) or whole


def split_long(sentences: Sequence[Sentence], max_length: int) -> list[Sentence]:
    """Cut sentences longer than ``max_length`` as tagging cuts them (:func:`ner.text.cut_points`: after
    sentence punctuation, else a comma), never inside an entity where another cut can be had."""
    if max_length <= 0:
        return list(sentences)
    out = []
    for sentence in sentences:
        tokens, tags = sentence.tokens, sentence.tags
        inside = {i for i, tag in enumerate(tags) if tag[0] in "IE"} if len(tokens) > max_length else set()
        for start, end in cut_points(tokens, max_length, keep=inside):  # a cut before a token inside parts it
            out.append(Sentence(tokens[start:end], tags[start:end], document=sentence.document))
    return out


def symbol_entities(sentences: Iterable[Sentence]) -> int:
    """How many entities of ``sentences`` hold a lone ``#``, ``@`` or emoji (:data:`ner.text.SYMBOL`), or start
    or end with a sentence's ``!``, ``?`` or ``...`` (:data:`ner.text.END_MARKS`: ``Jeopardy!``)."""
    return sum(
        any(SYMBOL.fullmatch(token) for token in s.tokens[span.start : span.end])
        or any(END_MARKS.fullmatch(s.tokens[edge]) for edge in (span.start, span.end - 1))
        for s in sentences
        for span in s.spans()
    )


def mentions_by_label(sentences: Iterable[Sentence]) -> dict[str, list[tuple[str, ...]]]:
    """The distinct entity mentions of ``sentences`` (their tokens) by label, in a fixed order."""
    found: dict[str, set[tuple[str, ...]]] = {}
    for sentence in sentences:
        for span in sentence.spans():
            found.setdefault(span.label, set()).add(tuple(sentence.tokens[span.start : span.end]))
    return {label: sorted(mentions) for label, mentions in sorted(found.items())}


def replace_mentions(
    sentence: Sentence, mentions: Mapping[str, Sequence[tuple[str, ...]]], rate: float, rng: np.random.Generator
) -> Sentence:
    """``sentence`` with each entity mention swapped, with probability ``rate``, for a mention of the same
    label drawn from ``mentions``: known contexts around other names (training-time augmentation, so a
    model reads a name from its context rather than memorising it). Tags are rebuilt in BIOES."""
    found = sentence.spans()
    if not found:
        return sentence
    tokens: list[str] = []
    spans: list[Span] = []
    last = 0
    for span in found:
        tokens += sentence.tokens[last : span.start]
        mention = sentence.tokens[span.start : span.end]
        pool = mentions.get(span.label)
        if pool and rng.random() < rate:
            mention = list(pool[rng.integers(len(pool))])
        spans.append(Span(len(tokens), len(tokens) + len(mention), span.label))
        tokens += mention
        last = span.end
    tokens += sentence.tokens[last:]
    return Sentence(tokens, spans_to_tags(spans, len(tokens)), document=sentence.document)


def written_out(document: Sequence[Sentence]) -> tuple[str, list[tuple[int, int, str]]]:
    """The sentences of one document as the text a user would send, with their entities as ``(start, end,
    label)`` character spans in it: the text they were read from (a JSONL record's; a brat file's lines,
    each on a line), else a sentence a line, its tokens joined by a space, or by nothing between two
    characters of a script written without spaces (中国 of the words 中国 人民) and in a sentence of single
    characters (a Chinese corpus's: 中 国 and i P h o n e, 中国 and iPhone)."""
    pieces: list[str] = []
    spans: list[tuple[int, int, str]] = []
    length = base = 0  # the text so far; where the piece the sentence's offsets count in starts
    source, source_end = None, 0  # the text the sentence before was read from, and where it ended in it
    for sentence in document:
        if not sentence.tokens:
            continue
        if sentence.source is None or sentence.offsets is None:
            source = None
            text, starts, ends = _as_line(sentence.tokens)
        else:
            # the same source goes on, unless its offsets start again (Python shares one-letter strings: two
            # brat lines "A" are one object)
            text = "" if sentence.source is source and sentence.offsets[0][0] >= source_end else sentence.source
            source, source_end = sentence.source, sentence.offsets[-1][1]
            starts, ends = [start for start, _ in sentence.offsets], [end for _, end in sentence.offsets]
        if text:
            base = length + bool(pieces)
            pieces += ["\n" if pieces else "", text]
            length = base + len(text)
        spans += [(base + starts[s.start], base + ends[s.end - 1], s.label) for s in sentence.spans()]
    return "".join(pieces), spans


def _as_line(tokens: Sequence[str]) -> tuple[str, list[int], list[int]]:
    """``tokens`` written as a line (:func:`written_out`), with each one's start and end in it."""
    characters = all(len(token) == 1 for token in tokens)
    starts, ends, parts = [], [], []
    for index, token in enumerate(tokens):
        if index:
            together = characters or unspaced_script(tokens[index - 1][-1] + token[0]) is not None
            parts.append("" if together else " ")
        starts.append(sum(map(len, parts)))
        parts.append(token)
        ends.append(starts[-1] + len(token))
    return "".join(parts), starts, ends
