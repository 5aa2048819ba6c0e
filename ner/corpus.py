"""Annotated corpora in and out: CoNLL column files, JSONL with character spans, brat standoff, tag schemes.

Every reader returns :class:`Sentence` objects whose tags are BIOES, the scheme
the model trains in. Input schemes IOB1, IOB2 (BIO), BIOES, BMES, BILOU and IO
(bare labels) are detected from the tags and converted through entity spans.
Column files come in many dialects (CoNLL-U, Universal NER, GermEval, OntoNotes'
CoNLL-2012, WikiNER, CSV tables: :func:`read_conll`), JSONL in many tools'
(:func:`read_jsonl`). Malformed input raises :class:`CorpusError` naming the
file, the line and the reason. :func:`as_model_tokens` gives the tokens a model
sees when it tags text: characters, or words cut apart where a corpus joins them.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import itertools
import json
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ner.collector import collector_paused
from ner.text import Token, split_sentences, tokenize, tokenize_chars

log = logging.getLogger("ner.corpus")
# Entity tags leave many tokens O (83% of CoNLL-2003's, 89% of MSRA's, 36% of dense résumés'); part-of-speech
# tags leave none and chunk tags few (14% of CoNLL-2003's chunk column).
MIN_OUTSIDE, MIN_TOKENS_TO_CHECK = 0.2, 200
# The share of a file's tokens that must be characters numbered by their position in their word.
MIN_NUMBERED_CHARACTERS = 0.95
_TAG = re.compile(r"^(?:O|([BIEMSLU])[-_](.+))$")  # B-PER, or B_PER as some corpora write it
_PREFIXES = frozenset("BIEMSLU")
UNNAMED = "ENTITY"  # the type of entities tagged B, I, ... without one
_SPACE = re.compile(r"\s*")
_EMPTY_FIELDS = frozenset({"_", "-"})
_JOINING_UNDERSCORE = re.compile(r"(?<=[^\s_])_(?=[^\s_])")  # Hà_Nội, not __init__
SCHEMES = ("IOB1", "IOB2", "BIOES", "BMES", "BILOU", "IO")


class CorpusError(ValueError):
    """Malformed corpus input, located by file and line."""

    def __init__(self, path: str | Path, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = str(path), line, reason
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True, slots=True)
class Span:
    """An entity over tokens ``[start, end)`` with a label."""

    start: int
    end: int
    label: str


@dataclass
class Sentence:
    """Tokens with BIOES tags; ``offsets`` are character offsets where the source had text."""

    tokens: list[str]
    tags: list[str]
    offsets: list[tuple[int, int]] | None = None
    lines: list[int] = field(default_factory=list)  # source line of each token (CoNLL only)
    document: int = 0  # sentences of one document share it (CoNLL -DOCSTART-; a JSONL line is one)

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


def as_characters(sentences: Sequence[Sentence]) -> list[Sentence]:
    """``sentences`` with every token of several characters cut into its characters (marks kept with
    their letter) and each entity spread over them: what a character-level model trains on and is
    scored against when a corpus comes in words (a word-segmented Chinese corpus, say)."""
    return _cut_tokens(sentences, _characters, lambda token: len(token) > 1)


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
                (start + piece.start, start + piece.end)
                for (start, _), token_pieces in zip(sentence.offsets, pieces)
                for piece in token_pieces
            ]
        lines = [line for line, token_pieces in zip(sentence.lines, pieces) for _ in token_pieces]
        out.append(Sentence(tokens, spans_to_tags(spans, len(tokens)), offsets, lines, sentence.document))
    return out


def token_tags(sentence: Sentence, piece_tags: Sequence[str], char_level: bool) -> list[str]:
    """BIOES tags over ``sentence``'s own tokens from tags over the pieces :func:`as_model_tokens` cut
    them into: an entity covers every token it touches, unless an earlier one has one."""
    cut = _characters if char_level else _words
    owner = [index for index, token in enumerate(sentence.tokens) for _ in cut(token)]
    spans: list[Span] = []
    for span in tags_to_spans(piece_tags):
        first, last = owner[span.start], owner[span.end - 1]
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
    any ``E-``/``S-``, else IOB1 if some ``I-X`` opens an entity, else IOB2."""
    prefixes: set[str] = set()
    opens_with_inside = False
    for tags in tag_sequences:
        previous = "O"
        for tag in tags:
            prefixes.add(tag[0])
            if tag[0] == "I" and (previous == "O" or previous[2:] != tag[2:]):
                opens_with_inside = True
            previous = tag
    if "M" in prefixes:
        return "BMES"
    if prefixes & {"L", "U"}:
        return "BILOU"
    if prefixes & {"E", "S"}:
        return "BIOES"
    return "IOB1" if opens_with_inside else "IOB2"


def _bare_labels(raw: Sequence[tuple[list[str], list[str], list[int]]], labels: set[str], path: str | Path) -> bool:
    """Whether a file's entity tags (``labels``: every tag but O) are bare labels (``PER``: the IO scheme,
    where a run of one label is one entity) rather than prefixed (``B-PER``: IOB, BIOES, BMES, BILOU); a
    file mixing them is refused."""
    kinds = {_TAG.match(tag) is not None for tag in labels}
    if len(kinds) > 1:
        entity_tags = ((tag, line) for _, tags, lines in raw for tag, line in zip(tags, lines) if tag != "O")
        first_tag, first_line = next(entity_tags)
        tag, line = next((t, n) for t, n in entity_tags if (_TAG.match(t) is None) != (_TAG.match(first_tag) is None))
        raise CorpusError(
            path,
            line,
            f"tag {tag!r} and line {first_line}'s {first_tag!r}: a file's tags are all O or a prefix "
            "(B-/I-/E-/S-/M-/L-/U-) and a type, or all O or a bare label (the IO scheme)",
        )
    return kinds == {False}


def _check_tag_column(
    tagged: Sequence[tuple[list[str], list[str], list[int]]], path: str | Path, tag_column: int | None, bare: bool
) -> None:
    """Refuse a column of bare labels with no ``O`` (part-of-speech tags, read as the IO scheme, would make
    every token an entity), and warn about any column whose tokens are rarely ``O`` (chunk tags), once
    there are enough tokens to tell. ``tag_column``: of a CoNLL file, ``None`` for tags given otherwise."""
    total = sum(len(tags) for _, tags, _ in tagged)
    if total < MIN_TOKENS_TO_CHECK:
        return
    outside = sum(tags.count("O") for _, tags, _ in tagged) / total
    if outside >= MIN_OUTSIDE:
        return
    where, remedy = ("the tags", "give entity tags")
    if tag_column is not None:
        where, remedy = f"column {tag_column}", "pick the entity column with --tag-column"
    message = (
        f"{outside:.0%} of the tokens are O in {where}: it looks like part-of-speech or chunk tags, "
        f"not entity tags ({remedy})"
    )
    if bare and outside == 0:
        raise CorpusError(path, None, message)
    log.warning("%s: %s", path, message)


@collector_paused
def read_conll(path: str | Path, tag_column: int = -1) -> tuple[list[Sentence], str]:
    """Read a CoNLL column file: token first, tag in ``tag_column`` (counted from 0; default: the last
    column, passing over trailing columns of only ``_`` or ``-``, CoNLL-U's empty fields).

    Columns are separated by tabs where a line has them (a token may then hold spaces), else by spaces.
    A first column that numbers each sentence's tokens from 1 (CoNLL-U, Universal NER) puts the token
    second. A line starting with ``#`` before a sentence's first token is a comment (``# text = ...``,
    MultiCoNER's ``# id ...``) unless it reads as the token ``#`` and a tag. ``-DOCSTART-`` lines
    start a new document (without any, each sentence is a document of its own); a blank or
    whitespace-only line ends a sentence. Tags may also be an attribute of CoNLL-U's last column
    (``name=B-PER``), and tokens characters numbered by their position in their word (``口0``, the
    number dropped). Returns the sentences with BIOES tags and the scheme the file was written in.
    A file in CoNLL-2012's format (OntoNotes) is read by :func:`_read_conll_2012`, one of
    ``word|POS|tag`` fields, a sentence per line (WikiNER), by :func:`_read_piped`, and a CSV or TSV
    table with a header naming its word and tag columns (Kaggle's GMB corpus) by :func:`_read_table`.
    """
    text = read_text(path)
    if text.lstrip().startswith("#begin document"):
        log.info("%s: read as CoNLL-2012 (OntoNotes): words in column 3, entities in column 10", path)
        return _read_conll_2012(text, path), "IOB2"
    first = next((line for line in text.split("\n", 100) if line.strip()), "")
    pipes = _pipes(first)
    if pipes:
        log.info("%s: read as word|...|tag fields, a sentence per line (WikiNER)", path)
        return _read_piped(text, path, pipes)
    header = _table_header(first)
    if header is not None:
        log.info("%s: read as a table with a header: %s", path, first.strip())
        return _read_table(text, path, *header)
    raw: list[tuple[list[list[str]], list[int]]] = []  # per sentence: its values by column, its lines
    starts: list[int] = []  # the index in raw of each document's first sentence
    rows: list[list[str]] = []
    lines: list[int] = []
    width, first_line = 0, 0
    for number, line in enumerate(text.split("\n"), start=1):
        columns = line.split()
        if len(columns) != width and "\t" in line:  # a token holding a space, in a tab-separated file
            columns = [c for c in map(str.strip, line.split("\t")) if c]
        if not columns or columns[0] == "-DOCSTART-":
            if lines:
                raw.append(([list(values) for values in zip(*rows)], lines))
                rows, lines = [], []
            if columns:
                starts.append(len(raw))
            continue
        if not lines and columns[0].startswith("#") and _is_comment(columns, width):
            continue
        if not width:
            width, first_line = len(columns), number
            if width < 2:
                raise CorpusError(path, number, "expected at least 2 columns (token and tag)")
        elif len(columns) != width:
            raise CorpusError(path, number, f"expected {width} columns like the first line, found {len(columns)}")
        rows.append(columns)
        lines.append(number)
    if lines:
        raw.append(([list(values) for values in zip(*rows)], lines))
    if not raw:
        raise CorpusError(path, None, "no sentences found")
    token_column = 1 if width > 2 and all(_numbers_tokens(columns[0]) for columns, _ in raw) else 0
    tag_column = _tag_column(raw, width, token_column, tag_column, path, first_line)
    if (token_column, tag_column) != (0, width - 1):
        log.info(
            "%s: tokens read from column %d, tags from column %d (of 0-%d)", path, token_column, tag_column, width - 1
        )
    tagged = [(columns[token_column], columns[tag_column], lines) for columns, lines in raw]
    key = _tag_attribute(tagged)
    if key is not None:
        log.info("%s: tags read from the %s= attribute of column %d (CoNLL-U's MISC column)", path, key, tag_column)
        tagged = [(tokens, [_attributes(v)[key] for v in tags], lines) for tokens, tags, lines in tagged]
    if _numbered_characters(tagged[0][0], 0.5) and _numbered_characters([t for s in tagged for t in s[0]]):
        log.info(
            "%s: each token is a character and its position in its word (口0 腔1): the positions are dropped", path
        )
        tagged = [([token[0] for token in tokens], tags, lines) for tokens, tags, lines in tagged]
    documents = list(range(len(tagged)))
    if starts:
        documents = [bisect.bisect_right(starts, i) for i in range(len(tagged))]
    return _tagged_sentences(tagged, documents, path, tag_column)


def _tagged_sentences(
    tagged: list[tuple[list[str], list[str], list[int]]],
    documents: list[int],
    path: str | Path,
    tag_column: int | None,
) -> tuple[list[Sentence], str]:
    """Sentences with BIOES tags from ``(tokens, tags, lines)`` in any scheme (detected, and returned)."""
    labels = {t for _, tags, _ in tagged for t in tags} - {"O"}
    if labels and labels <= _PREFIXES:  # B, I, O: one type of entity, unnamed (biomedical corpora)
        log.info(
            "%s: the tags have no type (%s): their entities are read as %s", path, ", ".join(sorted(labels)), UNNAMED
        )
        tagged = [
            (tokens, [t if t == "O" else f"{t}-{UNNAMED}" for t in tags], lines) for tokens, tags, lines in tagged
        ]
        labels = {f"{t}-{UNNAMED}" for t in labels}
    bare = _bare_labels(tagged, labels, path)
    _check_tag_column(tagged, path, tag_column, bare)
    if bare:  # IO: each label read as IOB1's I-label, a run of it one entity
        tagged = [(tokens, [t if t == "O" else f"I-{t}" for t in tags], lines) for tokens, tags, lines in tagged]
    scheme = "IO" if bare else detect_scheme(tags for _, tags, _ in tagged)
    sentences = [
        Sentence(tokens, spans_to_tags(tags_to_spans(tags), len(tags)), lines=lines, document=document)
        for (tokens, tags, lines), document in zip(tagged, documents)
    ]
    return sentences, scheme


# Penn Treebank's escapes, as OntoNotes writes brackets and some punctuation, against the text's characters.
_TREEBANK_ESCAPES = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}"}
_TREEBANK_ESCAPES |= {f"/{mark}": mark for mark in ".?-"}
ONTONOTES_WORD, ONTONOTES_ENTITIES = 3, 10  # columns of CoNLL-2012's *_conll files


def _read_conll_2012(text: str, path: str | Path) -> list[Sentence]:
    """Sentences of a CoNLL-2012 file (OntoNotes 5.0's ``*_conll``): ``#begin document`` and ``#end
    document`` around each document part, the word in column 3 (Treebank escapes such as ``-LRB-``
    read as the characters they stand for) and the entities in column 10 as brackets: ``(PERSON*``
    opens one, ``*)`` closes it, ``(GPE)`` is one word, ``*`` is any other."""
    sentences: list[Sentence] = []
    tokens: list[str] = []
    spans: list[Span] = []
    lines: list[int] = []
    document, label, start = -1, "", 0
    for number, line in enumerate(text.split("\n"), start=1):
        columns = line.split()
        if line.startswith("#"):
            document += line.startswith("#begin document")
            continue
        if not columns:
            if label:
                raise CorpusError(path, lines[-1], f"entity {label} is not closed by the end of its sentence")
            if tokens:
                sentences.append(Sentence(tokens, spans_to_tags(spans, len(tokens)), lines=lines, document=document))
                tokens, spans, lines = [], [], []
            continue
        if len(columns) <= ONTONOTES_ENTITIES:
            raise CorpusError(path, number, f"expected at least {ONTONOTES_ENTITIES + 1} columns (CoNLL-2012)")
        bracket = columns[ONTONOTES_ENTITIES]
        if bracket.startswith("("):
            if label:
                raise CorpusError(path, number, f"entity {bracket} opens inside {label}: nested entities")
            label, start = bracket[1:].rstrip("*)"), len(tokens)
            if not label:
                raise CorpusError(path, number, f"entity column {bracket!r}: no label")
        elif bracket not in ("*", "*)"):
            raise CorpusError(path, number, f"entity column {bracket!r}: expected (LABEL*, *, *) or (LABEL)")
        tokens.append(_TREEBANK_ESCAPES.get(columns[ONTONOTES_WORD], columns[ONTONOTES_WORD]))
        lines.append(number)
        if bracket.endswith(")"):
            if not label:
                raise CorpusError(path, number, "*) closes no entity")
            spans.append(Span(start, len(tokens), label))
            label = ""
    if label:
        raise CorpusError(path, lines[-1], f"entity {label} is not closed by the end of its sentence")
    if tokens:
        sentences.append(Sentence(tokens, spans_to_tags(spans, len(tokens)), lines=lines, document=document))
    if not sentences:
        raise CorpusError(path, None, "no sentences found")
    return sentences


def _pipes(line: str) -> int:
    """The number of ``|`` in each field of a line of ``word|...|tag`` fields (WikiNER), else 0."""
    fields = line.split()
    counts = {field.count("|") for field in fields}
    if len(counts) != 1 or 0 in counts:
        return 0
    tags = [field.rsplit("|", 1)[1] for field in fields]
    return counts.pop() if all(tag == "O" or _TAG.match(tag) for tag in tags) else 0


# Header names of a table's columns (lower-cased): the word, its tag, and the sentence a row starts.
_WORD_NAMES = frozenset({"word", "words", "token", "tokens", "form", "text"})
_TAG_NAMES = frozenset({"tag", "tags", "label", "labels", "ner", "ner_tag", "ner_tags", "entity", "iob"})
_SENTENCE_NAMES = frozenset({"sentence #", "sentence", "sentence_id", "sentence id", "sentence_idx", "sent_id"})


def _table_header(line: str) -> tuple[str, int, int, int | None] | None:
    """``(delimiter, word column, tag column, sentence column or None)`` when ``line`` is the header of
    a CSV or TSV table of words and tags, else ``None``."""
    for delimiter in (",", "\t", ";"):
        names = [name.strip().lower() for name in next(csv.reader([line], delimiter=delimiter))]
        word = next((i for i, name in enumerate(names) if name in _WORD_NAMES), None)
        tag = next((i for i, name in enumerate(names) if name in _TAG_NAMES), None)
        if word is not None and tag is not None:
            sentence = next((i for i, name in enumerate(names) if name in _SENTENCE_NAMES), None)
            return delimiter, word, tag, sentence
    return None


def _read_table(
    text: str, path: str | Path, delimiter: str, word: int, tag: int, sentence: int | None
) -> tuple[list[Sentence], str]:
    """A CSV or TSV table with a header, a row per word. A sentence starts where the sentence column
    (``Sentence #`` in Kaggle's GMB corpus, whose other rows leave it empty) has a new value, or after
    a blank row."""
    tagged: list[tuple[list[str], list[str], list[int]]] = []
    tokens: list[str] = []
    tags: list[str] = []
    lines: list[int] = []
    lines_of_text = text.split("\n")
    header = next(index for index, line in enumerate(lines_of_text) if line.strip())
    rows = csv.reader(lines_of_text[header:], delimiter=delimiter)
    width, current = len(next(rows)), ""
    for number, row in enumerate(rows, start=header + 2):
        blank = not any(field.strip() for field in row)
        key = row[sentence].strip() if sentence is not None and len(row) == width else ""  # a new one starts
        if (blank or key not in ("", current)) and tokens:
            tagged.append((tokens, tags, lines))
            tokens, tags, lines = [], [], []
        if blank:
            continue
        current = key or current
        if len(row) != width:
            raise CorpusError(path, number, f"expected {width} fields like the header, found {len(row)}")
        if not row[word].strip() or not row[tag].strip():
            raise CorpusError(path, number, f"an empty {'word' if not row[word].strip() else 'tag'}")
        tokens.append(row[word].strip())
        tags.append(row[tag].strip())
        lines.append(number)
    if tokens:
        tagged.append((tokens, tags, lines))
    if not tagged:
        raise CorpusError(path, None, "no sentences found")
    return _tagged_sentences(tagged, list(range(len(tagged))), path, None)


def _read_piped(text: str, path: str | Path, pipes: int) -> tuple[list[Sentence], str]:
    """A file of ``word|POS|tag`` fields separated by spaces, a sentence per line (WikiNER, as flair
    distributes it): each field's first part is the token and its last the tag."""
    tagged: list[tuple[list[str], list[str], list[int]]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        fields = line.split()
        if not fields:
            continue
        if any(field.count("|") != pipes for field in fields):
            raise CorpusError(path, number, f"expected word{'|...' * (pipes - 1)}|tag fields like the first line")
        parts = [field.split("|") for field in fields]
        tagged.append(([p[0] for p in parts], [p[-1] for p in parts], [number] * len(parts)))
    return _tagged_sentences(tagged, list(range(len(tagged))), path, None)


def _attributes(value: str) -> dict[str, str]:
    pairs = (item.partition("=") for item in value.split("|"))
    return {key: text for key, equals, text in pairs if equals}


def _tag_attribute(tagged: Sequence[tuple[list[str], list[str], list[int]]]) -> str | None:
    """The attribute of a column of ``key=value|key=value`` (CoNLL-U's MISC) that holds an entity tag on
    every token, as NorNE writes ``name=B-PER``; ``None`` when the column is not such a column."""
    if "=" not in tagged[0][1][0]:
        return None
    keys: set[str] | None = None
    for _, tags, _ in tagged:
        for value in tags:
            tagging = {key for key, tag in _attributes(value).items() if tag == "O" or _TAG.match(tag)}
            keys = tagging if keys is None else keys & tagging
            if not keys:
                return None
    return min(keys) if keys else None


def _numbered_characters(tokens: Sequence[str], share: float = MIN_NUMBERED_CHARACTERS) -> bool:
    """Whether ``share`` of the tokens are one character followed by its position in its word, counting
    from 0 (Weibo NER's ``weiboNER_2nd_conll`` files: 口0 腔1 溃2 疡3 加0 上1), which no text has."""
    numbered, position = 0, -1
    for token in tokens:
        digits = token[1:]
        if digits.isascii() and digits.isdigit() and int(digits) in (0, position + 1):
            numbered, position = numbered + 1, int(digits)
    return numbered >= share * len(tokens) > 0


def _is_comment(columns: list[str], width: int) -> bool:
    """Whether a line starting with ``#`` before a sentence's tokens is a comment, not a token (``#``,
    ``#hashtag``) with its tag."""
    if len(columns) < 2 or (width and len(columns) != width):
        return True
    return not any(value == "O" or _TAG.match(value) for value in columns[1:])


def _numbers_tokens(values: Sequence[str]) -> bool:
    """Whether a sentence's first column is 1, 2, 3, ...: CoNLL-U's token numbers."""
    return all(value == str(index) for index, value in enumerate(values, start=1))


def _tag_column(
    raw: Sequence[tuple[list[list[str]], list[int]]],
    width: int,
    token_column: int,
    tag_column: int,
    path: str | Path,
    first_line: int,
) -> int:
    """The index of the tag column, checked: ``tag_column``, or for -1 the last column holding more
    than ``_`` and ``-``, unless an earlier column holds the entities its entities are nested in."""
    if tag_column == -1:
        last = width - 1
        while last > token_column + 1 and all(value in _EMPTY_FIELDS for columns, _ in raw for value in columns[last]):
            last -= 1
        outer = next((c for c in range(token_column + 1, last) if _holds_outer_entities(raw, c, last)), None)
        if outer is None:
            return last
        log.info(
            "%s: tags read from column %d, whose entities hold column %d's (nested entities in a column of their "
            "own, as GermEval 2014 writes them; --tag-column %d reads those)",
            *(path, outer, last, last),
        )
        return outer
    if not -width <= tag_column < width or tag_column % width in (0, token_column):
        raise CorpusError(path, first_line, f"no tag column {tag_column} in {width} columns")
    return tag_column % width


def _holds_outer_entities(raw: Sequence[tuple[list[list[str]], list[int]]], outer: int, inner: int) -> bool:
    """Whether column ``outer`` holds entity tags (O at least :data:`MIN_OUTSIDE` of the time, unlike
    chunk tags) whose entities contain every entity of column ``inner``, most of them strictly, and
    outnumber them: the outer entities of a corpus that writes the nested ones in a column of their own."""
    tags = [tag for columns, _ in raw for tag in columns[outer]]
    if tags.count("O") < MIN_OUTSIDE * len(tags) or not all(tag == "O" or _TAG.match(tag) for tag in tags):
        return False
    outer_count = inner_count = strictly = 0
    for columns, _ in raw:
        containers = tags_to_spans(columns[outer])
        outer_count += len(containers)
        for span in tags_to_spans(columns[inner]):
            container = next((c for c in containers if c.start <= span.start and span.end <= c.end), None)
            if container is None:
                return False
            inner_count += 1
            strictly += container.end - container.start > span.end - span.start
    return outer_count > inner_count and 2 * strictly >= inner_count


# The legacy encodings annotated corpora come in: Western European (a superset of Latin-1), Cyrillic, Greek,
# Hebrew, Arabic, Thai, Simplified and Traditional Chinese, Japanese, Korean. Windows' other Latin code pages
# (Central European, Turkish, Baltic) and KOI8-R are tried only when none of those reads a file: their bytes
# read as plausibly as Western European text's, so that Spanish read as Central European turns ñ into ń.
LEGACY_ENCODINGS = ("cp1252", "cp1251", "cp1253", "cp1255", "cp1256", "cp874", "gb18030", "big5", "shift_jis", "euc_kr")
FALLBACK_ENCODINGS = ("cp1250", "koi8_r", "cp1257", "cp1254")
# A reading in which more of the non-ASCII words than this mix two alphabets (Müller read as Cyrillic: Mьller)
# is the wrong one.
MAX_MIXED_ALPHABET_WORDS = 0.05
# The share of a file's words (tags included) that must be non-ASCII for them to be read on their own.
MIN_FOREIGN_WORDS = 0.1
_SYMBOLS = frozenset({"Sm", "So", "Sk", "No"})
_ALPHABETS = frozenset({"LATIN", "CYRILLIC", "GREEK", "HEBREW", "ARABIC", "THAI"})


def read_text(path: str | Path, keep_line_ends: bool = False) -> str:
    """The text of a corpus file, read once: UTF-8 (a byte-order mark skipped) or, for a file that is
    not, the one of :data:`LEGACY_ENCODINGS` its bytes read best in (``charset-normalizer``), said in the
    log; a file that reads in none of them is refused. Line ends become ``"\\n"`` unless kept."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise CorpusError(path, None, f"cannot open: {error.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = _legacy_text(path, data)
    if keep_line_ends or "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _legacy_text(path: str | Path, data: bytes) -> str:
    """``data`` in the first of ``charset-normalizer``'s readings among :data:`LEGACY_ENCODINGS`, best
    first, whose words keep to one alphabet each, or failing that among :data:`FALLBACK_ENCODINGS`. A
    corpus file's columns of ASCII tags beside each Cyrillic or Greek word read to it as noise, so when
    the whole file finds no reading, its non-ASCII words alone are read, if they are more than a few
    stray bytes."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:
        raise _not_utf8(path, data) from None
    for encodings, symbols_allowed in ((LEGACY_ENCODINGS, 1.0), (FALLBACK_ENCODINGS, MAX_MIXED_ALPHABET_WORDS)):
        matches = list(from_bytes(data, cp_isolation=list(encodings)))
        if not matches:
            words = data.split()
            foreign = [word for word in words if not word.isascii()]
            if len(foreign) >= MIN_FOREIGN_WORDS * len(words):  # not a few stray bytes
                matches = list(from_bytes(b" ".join(foreign), cp_isolation=list(encodings)))
        for match in matches:
            try:
                text = data.decode(match.encoding)
            except UnicodeDecodeError:  # a reading of the words alone that the whole file does not allow
                continue
            if _mixed_alphabet_share(text) <= MAX_MIXED_ALPHABET_WORDS and _symbol_share(text) <= symbols_allowed:
                log.warning("%s is not UTF-8: read as %s, the encoding its bytes read best in", path, match.encoding)
                return text
    raise _not_utf8(path, data)


def _symbol_share(text: str) -> float:
    """The share of non-ASCII words holding a symbol (box drawing, ≤, ¹): KOI8-R reads any bytes, and
    bytes that are not KOI8-R read as such words."""
    words = [word for word in text.split() if not word.isascii()]
    marked = sum(any(unicodedata.category(c) in _SYMBOLS for c in word if not c.isascii()) for word in words)
    return marked / len(words) if words else 0.0


def _mixed_alphabet_share(text: str) -> float:
    """The share of non-ASCII words whose letters come from two or more of :data:`_ALPHABETS`."""
    words = [word for word in text.split() if not word.isascii()]
    mixed = sum(
        len({unicodedata.name(c, "").partition(" ")[0] for c in w if c.isalpha()} & _ALPHABETS) > 1 for w in words
    )
    return mixed / len(words) if words else 0.0


def _not_utf8(path: str | Path, data: bytes) -> CorpusError:
    """The error for a file that is not UTF-8, at the line and byte of the first bad byte."""
    try:
        data.decode("utf-8")
        offset = len(data)
    except UnicodeDecodeError as error:
        offset = error.start
    line = data.count(b"\n", 0, offset) + 1
    return CorpusError(
        path,
        line,
        f"not UTF-8 text (invalid byte at offset {offset}), nor {', '.join(LEGACY_ENCODINGS + FALLBACK_ENCODINGS)}; "
        "convert it, e.g. iconv -f latin1 -t utf-8",
    )


def align_spans(
    text: str, char_spans: Sequence[tuple[int, int, str]], tokens: list[Token]
) -> tuple[list[Token], list[Span]]:
    """Token spans for character spans; tokens that an entity boundary cuts are split there."""
    cuts = sorted({offset for start, end, _ in char_spans for offset in (start, end)})
    pieces: list[Token] = []
    for token in tokens:
        start = token.start
        for cut in cuts:
            if token.start < cut < token.end:
                pieces.append(Token(text[start:cut], start, cut))
                start = cut
        pieces.append(Token(text[start : token.end], start, token.end))
    first_at = {token.start: i for i, token in enumerate(pieces)}
    last_at = {token.end: i for i, token in enumerate(pieces)}
    spans = []
    for start, end, label in char_spans:
        if start not in first_at or end not in last_at:
            raise ValueError(f"span [{start}, {end}) {text[start:end]!r} has no tokens")
        spans.append(Span(first_at[start], last_at[end] + 1, label))
    return pieces, spans


def read_jsonl(path: str | Path) -> list[Sentence]:
    """Read JSONL, one document per line: ``{"text": ..., "entities": [[start, end, label], ...]}``, or
    a JSON array of such documents.

    Offsets are character offsets, end exclusive. The span annotations of other tools are read too:
    entities as objects (``{"start", "end", "label"}``, or doccano's ``start_offset`` and
    ``end_offset``), under ``"spans"`` (Prodigy, spaCy) or ``"label"``/``"labels"`` (doccano), and CLUENER's
    ``"label": {label: {mention: [[start, last], ...]}}``, whose ends are inclusive. doccano 1.x's
    ``"data"`` is read as the text, and so are Label Studio's JSON exports: a task's ``"data": {"text"}``
    with the spans of its first annotation that was not cancelled, or JSON-MIN's ``"labels": [label]``.
    Each document is tokenized with :func:`ner.text.tokenize` and split into sentences as tagging splits
    a text (:func:`ner.text.split_sentences`, never inside an entity), which share the document. Errors
    name the line a document starts on. A file whose first document has ``"tokens"`` (or ``"words"``) and
    no text is read as tagged tokens instead, a sentence per document (:func:`_token_documents`).
    """
    text = read_text(path)
    documents = _array_elements(text, path) if text.lstrip().startswith("[") else _lines(text, path)
    first = next(documents, None)
    if first is None:
        raise CorpusError(path, None, "no documents found")
    documents = itertools.chain([first], documents)
    token_key = _token_key(first[1])
    if token_key is not None:
        return _token_documents(documents, path, token_key)
    sentences = [
        sentence
        for index, (number, document) in enumerate(documents)
        for sentence in _document_to_sentences(document, path, number, index)
    ]
    if not sentences:
        raise CorpusError(path, None, "no documents found")
    return sentences


_TOKEN_KEYS = ("tokens", "words")
_TOKEN_TAG_KEYS = ("ner_tags", "tags", "labels", "ner")


def _token_key(document: object) -> str | None:
    """The key of a document's list of tokens when it gives tokens rather than a text (Prodigy's
    ``"tokens"`` beside its ``"text"`` are the text's, and its spans are read instead)."""
    if not isinstance(document, dict) or "text" in document or "data" in document:
        return None
    return next((key for key in _TOKEN_KEYS if isinstance(document.get(key), list)), None)


def _token_documents(documents: Iterable[tuple[int, object]], path: str | Path, token_key: str) -> list[Sentence]:
    """Sentences given as tokens and their tags, one per document: ``{"tokens": [...], "ner_tags":
    [...]}`` (or ``"tags"``, ``"labels"``, ``"ner"``), as Hugging Face datasets write their rows, or
    ``{"words": [...], "tags": [...]}`` as PhoNER does."""
    tagged: list[tuple[list[str], list[str], list[int]]] = []
    for number, document in documents:
        if not isinstance(document, dict) or not isinstance(document.get(token_key), list):
            raise CorpusError(path, number, f'expected an object with a list of "{token_key}", as the first has')
        key = next((k for k in _TOKEN_TAG_KEYS if k in document), None)
        if key is None:
            raise CorpusError(path, number, f"no tags: expected one of {', '.join(map(repr, _TOKEN_TAG_KEYS))}")
        tokens, tags = document[token_key], document[key]
        if not isinstance(tags, list) or len(tags) != len(tokens):
            raise CorpusError(path, number, f'"{key}" must be a list of one tag per token')
        if not all(isinstance(t, str) and t.strip() for t in tokens):
            raise CorpusError(path, number, f'"{token_key}" must be non-blank strings')
        if not all(isinstance(t, str) for t in tags):
            raise CorpusError(
                path,
                number,
                f'"{key}" must be tag names (B-PER), not numbers: with Hugging Face datasets, '
                f"map them through dataset.features[{key!r}].feature.int2str first",
            )
        if tokens:
            tagged.append(([t.strip() for t in tokens], tags, [number] * len(tokens)))
    if not tagged:
        raise CorpusError(path, None, "no tokens found")
    return _tagged_sentences(tagged, list(range(len(tagged))), path, None)[0]


def _lines(text: str, path: str | Path) -> Iterator[tuple[int, object]]:
    """The JSON value on each non-blank line of ``text``, with its line number."""
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines: JSON strings may hold U+2028
        if line.strip():
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as error:
                raise CorpusError(path, number, f"invalid JSON: {error.msg}") from None


def _array_elements(text: str, path: str | Path) -> Iterator[tuple[int, object]]:
    """The elements of the JSON array ``text``, each with the line it starts on."""
    decoder, position, line, counted = json.JSONDecoder(), text.index("[") + 1, 1, 0

    def at(index: int) -> int:  # the line of text[index], counting on from the last one asked
        nonlocal line, counted
        line += text.count("\n", counted, index)
        counted = index
        return line

    position = _after_space(text, position)
    if text.startswith("]", position):
        return
    while True:
        start = position
        try:
            element, position = decoder.raw_decode(text, start)
        except json.JSONDecodeError as error:
            raise CorpusError(path, error.lineno, f"invalid JSON: {error.msg}") from None
        yield at(start), element
        position = _after_space(text, position)
        if text.startswith("]", position):
            break
        if not text.startswith(",", position):
            raise CorpusError(path, at(position), "invalid JSON: expected ',' or ']' between documents")
        position = _after_space(text, position + 1)
    if text[position + 1 :].strip():
        raise CorpusError(path, at(position), "invalid JSON: text after the array")


def _after_space(text: str, position: int) -> int:
    return _SPACE.match(text, position).end()  # type: ignore[union-attr]  # \s* always matches


def _document_to_sentences(document: object, path: str | Path, number: int, index: int) -> list[Sentence]:
    text = _document_text(document)
    if text is None:
        raise CorpusError(path, number, 'expected an object with a string "text"')
    return _text_to_sentences(text, _entities(document, text, path, number), path, number, index)


def _text_to_sentences(text: str, entities: list, path: str | Path, number: int, document: int) -> list[Sentence]:
    """``text`` tokenized, with ``entities`` as tags, and split into sentences where tagging would split it
    (:func:`ner.text.split_sentences`), except inside an entity."""
    whole = _text_to_sentence(text, entities, path, number, document)
    offsets = whole.offsets or []
    tokens = [Token(token, start, end) for token, (start, end) in zip(whole.tokens, offsets)]
    inside = {i for span in whole.spans() for i in range(span.start + 1, span.end)}  # no cut before these
    bounds, position = [0], 0
    for piece in split_sentences(text, tokens, max_tokens=max(len(tokens), 1)):
        position += len(piece)
        if position not in inside:
            bounds.append(position)
    if not whole.tokens:  # a blank text: no sentence
        return []
    if len(bounds) < 3:  # one sentence
        return [whole]
    return [
        Sentence(whole.tokens[a:b], whole.tags[a:b], offsets[a:b], document=document)
        for a, b in zip(bounds, bounds[1:])
    ]


def _text_to_sentence(text: str, entities: list, path: str | Path, number: int, document: int) -> Sentence:
    """``text`` tokenized, with ``entities`` (``[start, end, label]`` lists, checked here) as tags."""
    char_spans = []
    for entity in entities:
        if not (
            isinstance(entity, list)
            and len(entity) == 3
            and all(isinstance(x, int) and not isinstance(x, bool) for x in entity[:2])
            and isinstance(entity[2], str)
            and entity[2]
        ):
            raise CorpusError(path, number, f"entity {entity!r} is not [start, end, label] (nor an object of them)")
        start, end, label = entity
        if start >= end:
            raise CorpusError(path, number, f"entity {entity!r} is empty or reversed: start must be below end")
        if not 0 <= start < end <= len(text):
            raise CorpusError(path, number, f"entity {entity!r} lies outside the text of {len(text)} characters")
        if not text[start:end].strip():
            raise CorpusError(path, number, f"entity {entity!r} covers only whitespace")
        char_spans.append((start, end, label))
    char_spans.sort()
    for (_, end_a, _), (start_b, end_b, label_b) in zip(char_spans, char_spans[1:]):
        if start_b < end_a:
            raise CorpusError(path, number, f"entity [{start_b}, {end_b}, {label_b!r}] overlaps another")
    # Trim whitespace inside entity boundaries so that they align with tokens.
    trimmed = []
    for start, end, label in char_spans:
        while text[start].isspace():
            start += 1
        while text[end - 1].isspace():
            end -= 1
        trimmed.append((start, end, label))
    try:
        tokens, spans = align_spans(text, trimmed, tokenize(text))
    except ValueError as error:
        raise CorpusError(path, number, str(error)) from None
    return Sentence(
        [t.text for t in tokens],
        spans_to_tags(spans, len(tokens)),
        offsets=[(t.start, t.end) for t in tokens],
        document=document,
    )


def _document_text(document: object) -> str | None:
    """The text of a document: ``"text"``, doccano 1.x's ``"data"`` or a Label Studio task's ``"data": {"text"}``."""
    if not isinstance(document, dict):
        return None
    text = document.get("text", document.get("data"))
    if isinstance(text, dict):
        text = text.get("text")
    return text if isinstance(text, str) else None


_ENTITY_KEYS = ("entities", "spans", "label", "labels")  # ours; Prodigy's, spaCy's; doccano's, CLUENER's; doccano's
_START, _END = ("start", "start_offset"), ("end", "end_offset")


def _entities(document: dict, text: str, path: str | Path, number: int) -> list:
    """A document's entities as ``[start, end, label]`` lists (end exclusive), from whichever of the
    dialects in :func:`read_jsonl` it is written in; left for the caller to check."""
    if "annotations" in document and not any(k in document for k in _ENTITY_KEYS):
        return _label_studio_entities(document["annotations"], path, number)
    key = next((k for k in _ENTITY_KEYS if k in document), "entities")
    entities = document.get(key, [])
    if key == "label" and isinstance(entities, dict):
        return _clue_entities(text, entities, path, number)
    if not isinstance(entities, list):
        raise CorpusError(path, number, f'"{key}" must be a list of [start, end, label]')
    return [_as_triple(e) if isinstance(e, dict) else e for e in entities]


def _as_triple(entity: dict) -> list | dict:
    """``{"start", "end", "label"}`` (or doccano's ``start_offset``/``end_offset``, or Label Studio's
    ``"labels": [label]``) as ``[start, end, label]``; an object without those keys is returned as it is,
    to be refused by the caller."""
    start = next((entity[k] for k in _START if k in entity), None)
    end = next((entity[k] for k in _END if k in entity), None)
    label = entity.get("label", entity.get("labels"))
    if isinstance(label, list) and len(label) == 1:
        label = label[0]
    if start is None or end is None or label is None:
        return entity
    return [start, end, label]


def _label_studio_entities(annotations: object, path: str | Path, number: int) -> list:
    """The labelled spans of a Label Studio task's first annotation that was not cancelled; its other
    results (choices, relations, ...) carry no span and are passed over."""
    if not isinstance(annotations, list) or not all(isinstance(a, dict) for a in annotations):
        raise CorpusError(path, number, '"annotations" must be a list of Label Studio annotations')
    kept = [a for a in annotations if not a.get("was_cancelled")]
    if not kept:
        return []
    results = kept[0].get("result", [])
    if not isinstance(results, list):
        raise CorpusError(path, number, 'an annotation\'s "result" must be a list')
    values = [r.get("value") for r in results if isinstance(r, dict)]
    return [_as_triple(v) for v in values if isinstance(v, dict) and "labels" in v]


def _clue_entities(text: str, labels: dict, path: str | Path, number: int) -> list:
    """CLUENER's ``{label: {mention: [[start, last], ...]}}`` as ``[start, end, label]`` lists, each
    mention checked against the text it claims to cover (its end is inclusive)."""
    entities = []
    for label, mentions in labels.items():
        if not isinstance(mentions, dict):
            raise CorpusError(path, number, f'"label" {label!r} must map each mention to its [start, last] spans')
        for mention, spans in mentions.items():
            for span in spans if isinstance(spans, list) else [spans]:
                if not (isinstance(span, list) and len(span) == 2 and all(type(x) is int for x in span)):
                    raise CorpusError(path, number, f"{label} {mention!r}: span {span!r} is not [start, last]")
                start, last = span
                if text[start : last + 1] != mention:
                    raise CorpusError(
                        path, number, f"{label} {mention!r}: span {span!r} covers {text[start : last + 1]!r}"
                    )
                entities.append([start, last + 1, label])
    return entities


def read_brat(folder: str | Path) -> list[Sentence]:
    """Read a folder of brat standoff annotations: each ``NAME.ann`` with the text of its ``NAME.txt``.

    Each file is a document, each non-blank line of its text split into sentences as tagging splits a
    text (never inside an entity). The entities are the ``T`` lines (``T1<TAB>LABEL START
    END<TAB>mention``: character offsets into the text, end exclusive), each checked against the
    mention it quotes; an entity in fragments is read as one span when only whitespace lies between
    them. Relations, events, attributes, normalisations and notes carry no span and are passed over.
    Errors name the ``.ann`` file and line (or the ``.txt`` line where an entity does not fall on
    token boundaries).
    """
    folder = Path(folder)
    annotations = sorted(folder.rglob("*.ann"))
    if not annotations:
        raise CorpusError(folder, None, "a folder is read as brat standoff annotations, and it holds no .ann file")
    sentences: list[Sentence] = []
    for document, ann in enumerate(annotations):
        txt = ann.with_suffix(".txt")
        if not txt.is_file():
            raise CorpusError(ann, None, f"no text beside it: {txt.name} is missing")
        text = read_text(txt, keep_line_ends=True)  # brat counts "\r\n" as two characters
        entities = _brat_entities(read_text(ann).split("\n"), text, ann)
        starts = [start for _, (start, _, _) in entities]
        position, placed = 0, set()
        for line_number, line in enumerate(text.split("\n"), start=1):
            start, end = position, position + len(line.rstrip("\r"))
            position += len(line) + 1
            inside = entities[bisect.bisect_left(starts, start) : bisect.bisect_left(starts, end)]
            for number, (first, last, label) in inside:
                if last > end:
                    raise CorpusError(ann, number, f"entity [{first}, {last}, {label!r}] crosses a line break")
            placed.update(number for number, _ in inside)
            if line.strip():
                shifted = [[first - start, last - start, label] for _, (first, last, label) in inside]
                sentences += _text_to_sentences(text[start:end], shifted, txt, line_number, document)
        for number, entity in entities:
            if number not in placed:
                raise CorpusError(ann, number, f"entity {list(entity)} starts on a line break")
    return sentences


def _brat_entities(lines: list[str], text: str, ann: Path) -> list[tuple[int, tuple[int, int, str]]]:
    """The ``T`` lines of a brat ``.ann`` file as ``(line number, (start, end, label))``, in text order,
    each checked against the mention it quotes and against the others for overlaps."""
    entities = []
    for number, line in enumerate(lines, start=1):
        if not line.startswith("T"):
            continue
        fields = line.rstrip("\r").split("\t")
        try:
            label, offsets = fields[1].split(" ", 1)
            fragments = [tuple(map(int, fragment.split())) for fragment in offsets.split(";")]
            if not all(len(f) == 2 and 0 <= f[0] < f[1] for f in fragments):
                raise ValueError
        except (IndexError, ValueError):
            raise CorpusError(
                ann, number, f"not a brat entity (T1<TAB>LABEL START END<TAB>mention): {line!r}"
            ) from None
        for (_, end_a), (start_b, _) in zip(fragments, fragments[1:]):
            if text[end_a:start_b].strip():
                raise CorpusError(ann, number, f"{fields[0]} is in fragments with text between them; a span is whole")
        start, end = fragments[0][0], fragments[-1][1]
        covered = text[start:end]
        if end > len(text):
            raise CorpusError(
                ann, number, f"{fields[0]} [{start}, {end}) lies outside the text of {len(text)} characters"
            )
        if len(fields) > 2 and len(fragments) == 1 and covered != fields[2]:
            raise CorpusError(ann, number, f"{fields[0]} [{start}, {end}) covers {covered!r}, not {fields[2]!r}")
        if not covered.strip():
            raise CorpusError(ann, number, f"{fields[0]} covers only whitespace")
        entities.append((number, (start, end, label)))
    entities.sort(key=lambda item: item[1])
    for (number_a, (_, end_a, _)), (number, (start_b, _, _)) in zip(entities, entities[1:]):
        if start_b < end_a:
            raise CorpusError(ann, number, f"entity overlaps the one on line {number_a} (nested: keep one of them)")
    return entities


def read_corpus(path: str | Path, tag_column: int = -1) -> tuple[list[Sentence], str]:
    """Read a corpus of any format: a folder is brat standoff; JSONL is recognised by extension or
    first character; anything else is CoNLL."""
    path = Path(path)
    if path.is_dir():
        return read_brat(path), "spans"
    if not path.is_file():
        raise CorpusError(path, None, "no such file")
    if path.suffix in (".jsonl", ".json"):
        return read_jsonl(path), "spans"
    with open(path, "rb") as handle:
        first = handle.read(64).removeprefix(codecs.BOM_UTF8).lstrip()
    if first.startswith((b"{", b"[")):
        return read_jsonl(path), "spans"
    return read_conll(path, tag_column)


def write_conll_predictions(
    path: str | Path, sentences: Sequence[Sentence], predicted: Sequence[Sequence[str]], scheme: str
) -> Iterator[str]:
    """Yield the lines of ``path`` (read as :func:`read_text` reads it) with a predicted tag column
    appended (conlleval's input; a table's header names it ``predicted``), or in a file of
    ``word|POS|tag`` fields a ``|tag`` on each field.

    ``predicted`` holds BIOES tags per sentence; they are written in ``scheme``.
    ``-DOCSTART-``, comment and blank lines are copied through.
    """
    by_line: dict[int, list[str]] = {}
    for sentence, tags in zip(sentences, predicted):
        for line, tag in zip(sentence.lines, spans_to_tags(tags_to_spans(tags), len(tags), scheme)):
            by_line.setdefault(line, []).append(tag)
    lines = read_text(path).split("\n")
    if lines and not lines[-1]:
        lines.pop()  # the end of the last line
    first = next((line for line in lines if line.strip()), "")
    piped, table = _pipes(first) > 0, _table_header(first)
    for number, line in enumerate(lines, start=1):
        separator = table[0] if table else "\t" if "\t" in line else " "
        if table and line == first:
            yield f"{line}{separator}predicted"
        elif number in by_line and piped:
            yield " ".join(f"{field}|{tag}" for field, tag in zip(line.split(), by_line[number]))
        elif number in by_line:
            yield f"{line}{separator}{by_line[number][0]}"
        elif line.split()[:1] == ["-DOCSTART-"]:
            yield f"{line}{separator}O"
        else:
            yield line
