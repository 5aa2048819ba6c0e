"""CoNLL column files in their many dialects, and the same files with a column of predictions added.

:func:`read_conll` reads the token and tag columns of CoNLL-2003-style files,
CoNLL-U and Universal NER (numbered tokens, comments, a ``name=`` attribute),
GermEval's nested column, Weibo NER's numbered characters, OntoNotes'
CoNLL-2012, WikiNER's ``word|POS|tag`` fields and CSV or TSV tables with a
header; :func:`write_conll_predictions` writes a file back with the model's tags.
"""

from __future__ import annotations

import bisect
import csv
import logging
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ner.collector import collector_paused
from ner.corpus.encoding import read_text
from ner.corpus.notes import note
from ner.corpus.schemes import TAG_PATTERN, Span, spans_to_tags, tags_to_spans
from ner.corpus.sentence import CorpusError, Sentence
from ner.corpus.tagged import MIN_OUTSIDE, tagged_sentences
from ner.text import model_form

# The share of a file's tokens that must be characters numbered by their position in their word.
MIN_NUMBERED_CHARACTERS = 0.95
_EMPTY_FIELDS = frozenset({"_", "-"})
_ASCII_SPACE = " \t\n\r\f\v"
_ASCII_SPACES = re.compile(r"[ \t\n\r\f\v]+")
_OTHER_SPACE = re.compile(r"[^\S \t\n\r\f\v]")  # NBSP, U+202F, U+3000, ...: inside a token, not between columns
_CONLLU_EXTRA_LINE = re.compile(r"\d+(?:-\d+|\.\d+)")  # CoNLL-U's multiword tokens (2-3), empty nodes (1.1)
_CHUNK_TYPES = frozenset({"NP", "VP", "PP", "ADJP", "ADVP", "SBAR", "PRT", "CONJP", "INTJ", "LST", "UCP"})  # CoNLL-2000
# The share of a nested column's entities that may lie outside the outer column's (annotators' slips).
MAX_STRAYS = 0.05
_BARE_LABEL = re.compile(r"[A-Z][A-Z_]*|[a-z]+-[A-Za-z_/-]+")  # an IO tag (PER, Few-NERD's person-actor)


@collector_paused
def read_conll(path: str | Path, tag_column: int = -1) -> tuple[list[Sentence], str]:
    """Read a CoNLL column file: token first, tag in ``tag_column`` (counted from 0; default: the last
    column, passing over trailing columns of only ``_`` or ``-``, CoNLL-U's empty fields).

    Columns are separated by tabs where a line has them (a token may then hold spaces), else by spaces
    (ASCII's: a token may hold a no-break space). A first column that numbers each sentence's words from
    1 (CoNLL-U, Universal NER) puts the token second; its multiword tokens' and empty nodes' lines (2-3,
    1.1) are passed over. A line starting with ``#`` before a sentence's first token is a comment (``# text = ...``,
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
        note(logging.INFO, path, "read as CoNLL-2012 (OntoNotes): words in column 3, entities in column 10")
        return _read_conll_2012(text, path), "IOB2"
    first = next((line for line in text.split("\n") if line.strip()), "")
    pipes = _pipes(first)
    if pipes:
        note(logging.INFO, path, "read as word|...|tag fields, a sentence per line (WikiNER)")
        return _read_piped(text, path, pipes)
    header = _table_header(first)
    if header is not None:
        note(logging.INFO, path, "read as a table with a header: %s", first.strip())
        return _read_table(text, path, *header)
    return _read_columns(text, path, tag_column)


def _read_columns(text: str, path: str | Path, tag_column: int) -> tuple[list[Sentence], str]:
    """A file of columns, a token per line (:func:`read_conll`'s main dialect and its variants)."""
    raw: list[tuple[list[list[str]], list[int]]] = []  # per sentence: its values by column, its lines
    starts: list[int] = []  # the index in raw of each document's first sentence
    rows: list[list[str]] = []
    lines: list[int] = []
    width, first_line = 0, 0
    fields = _fields if _OTHER_SPACE.search(text) else str.split
    for number, line in enumerate(text.split("\n"), start=1):
        columns = fields(line)
        if len(columns) != width and "\t" in line:  # a token holding a space, in a tab-separated file
            columns = [c for c in (c.strip(_ASCII_SPACE) for c in line.split("\t")) if c]
        if not columns or _starts_document(columns[0]):
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
    token_column = 0
    if width > 2 and all(_numbers_words(columns[0]) for columns, _ in raw):
        token_column = 1
        raw, extra = _words_only(raw)
        if extra:
            note(
                logging.INFO,
                path,
                "multiword-token and empty-node lines (2-3, 1.1) passed over, %d of them: CoNLL-U's words are read",
                extra,
            )
    tag_column = _tag_column(raw, width, token_column, tag_column, path, first_line)
    if (token_column, tag_column) != (0, width - 1):
        note(
            logging.INFO,
            path,
            "tokens read from column %d, tags from column %d (of 0-%d)",
            token_column,
            tag_column,
            width - 1,
        )
    tagged = [(columns[token_column], columns[tag_column], lines) for columns, lines in raw]
    if escaped := sum(token in _TREEBANK_TOKENS for tokens, _, _ in tagged for token in tokens):
        note(logging.INFO, path, "Treebank escapes (-LRB-, ``, '') read as the characters, %d of them", escaped)
        tagged = [([_TREEBANK_TOKENS.get(t, t) for t in tokens], tags, lines) for tokens, tags, lines in tagged]
    key = _tag_attribute(tagged)
    if key is not None:
        note(
            logging.INFO, path, "tags read from the %s= attribute of column %d (CoNLL-U's MISC column)", key, tag_column
        )
        tagged = [(tokens, [_attributes(v)[key] for v in tags], lines) for tokens, tags, lines in tagged]
    if _numbered_characters(tagged[0][0], 0.5) and _numbered_characters([t for s in tagged for t in s[0]]):
        note(
            logging.INFO,
            path,
            "each token is a character and its position in its word (口0 腔1): the positions are dropped",
        )
        tagged = [([token[0] for token in tokens], tags, lines) for tokens, tags, lines in tagged]
    documents = list(range(len(tagged)))
    if starts:
        documents = [bisect.bisect_right(starts, i) for i in range(len(tagged))]
    return tagged_sentences(tagged, documents, path, tag_column if width > 2 else None)  # else no other column


# Penn Treebank's escapes, as OntoNotes and corpora converted from it write brackets and quotes, against the
# text's characters (the tokenizer never makes a token -LRB- or ``, so no text would read as the corpus);
# CoNLL-2012's files also escape some punctuation.
_TREEBANK_TOKENS = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}"}
_TREEBANK_TOKENS |= {"``": '"', "''": '"'}
_TREEBANK_ESCAPES = _TREEBANK_TOKENS | {f"/{mark}": mark for mark in ".?-"}
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
    return counts.pop() if all(tag == "O" or TAG_PATTERN.match(tag) for tag in tags) else 0


# Header names of a table's columns (lower-cased): the word, its tag, and the sentence a row starts.
_WORD_NAMES = frozenset({"word", "words", "token", "tokens", "form", "text"})
_TAG_NAMES = frozenset({"tag", "tags", "label", "labels", "ner", "ner_tag", "ner_tags", "entity", "iob"})
_SENTENCE_NAMES = frozenset({"sentence #", "sentence", "sentence_id", "sentence id", "sentence_idx", "sent_id"})


def _table_header(line: str) -> tuple[str, int, int, int | None] | None:
    """``(delimiter, word column, tag column, sentence column or None)`` when ``line`` is the header of
    a CSV or TSV table of words and tags, else ``None``."""
    for delimiter in (",", "\t", ";"):
        try:
            names = [name.strip().lower() for name in next(csv.reader([line], delimiter=delimiter))]
        except csv.Error:  # a field past csv's size limit: no header of names
            return None
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
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL  # a TSV's " is a token, not a quote
    rows = csv.reader(lines_of_text[header:], delimiter=delimiter, quoting=quoting)
    width, current = len(next(rows)), ""
    for number, row in enumerate(_checked(rows, path, header), start=header + 2):
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
    return tagged_sentences(tagged, list(range(len(tagged))), path, None)


def _checked(rows: Any, path: str | Path, header: int) -> Iterator[list[str]]:
    """The rows of a ``csv.reader`` whose first line is line ``header + 1``; its error (a field past its
    size limit) a :class:`CorpusError` naming the line."""
    try:
        yield from rows
    except csv.Error as error:
        raise CorpusError(path, header + rows.line_num, f"not a row of the table: {error}") from None


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
        if any(not p[0] or not p[-1] for p in parts):
            raise CorpusError(path, number, "an empty word or tag in a word|...|tag field")
        tagged.append(([p[0] for p in parts], [p[-1] for p in parts], [number] * len(parts)))
    return tagged_sentences(tagged, list(range(len(tagged))), path, None)


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
            tagging = {key for key, tag in _attributes(value).items() if tag == "O" or TAG_PATTERN.match(tag)}
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
        if digits.isascii() and digits.isdigit() and len(digits) < 10 and int(digits) in (0, position + 1):
            numbered, position = numbered + 1, int(digits)
    return numbered >= share * len(tokens) > 0


def _fields(line: str) -> list[str]:
    """A line's columns, split at ASCII whitespace only: a token may hold a no-break space (French's
    ``15\\u202fmai``) or be an ideographic space, and a line of only such spaces is blank."""
    if not _OTHER_SPACE.search(line) or not line.strip():
        return line.split()
    return _ASCII_SPACES.split(line.strip(_ASCII_SPACE))


def _starts_document(first_field: str) -> bool:
    """Whether a line whose first field is this is CoNLL's ``-DOCSTART-`` (after a BOM too: files joined)."""
    return model_form(first_field) == "-DOCSTART-"


def _is_comment(columns: list[str], width: int) -> bool:
    """Whether a line starting with ``#`` before a sentence's tokens is a comment, not a token (``#``,
    ``#hashtag``) with its tag (or its IO label: ``#Obama PER``)."""
    if len(columns) < 2 or (width and len(columns) != width) or (columns[0] == "#" and columns[2:3] == ["="]):
        return True  # a CoNLL-U comment: # text = ...
    if columns[-1] == "o" and (len(columns) == 2 or columns[0] != "#"):  # tagged with a file's lower-case O
        return False
    if columns[0] != "#" and _BARE_LABEL.fullmatch(columns[-1]):
        return False
    return not any(value == "O" or TAG_PATTERN.match(value) for value in columns[1:])


def _numbers_words(values: Sequence[str]) -> bool:
    """Whether a sentence's first column is 1, 2, 3, ... (CoNLL-U's word numbers), its multiword tokens'
    ranges and empty nodes aside."""
    words = [value for value in values if not _CONLLU_EXTRA_LINE.fullmatch(value)]
    return bool(words) and all(value == str(index) for index, value in enumerate(words, start=1))


def _words_only(
    raw: Sequence[tuple[list[list[str]], list[int]]],
) -> tuple[list[tuple[list[list[str]], list[int]]], int]:
    """Sentences of a CoNLL-U file without their multiword-token and empty-node lines, and how many there were."""
    kept, extra = [], 0
    for columns, lines in raw:
        words = [i for i, value in enumerate(columns[0]) if not _CONLLU_EXTRA_LINE.fullmatch(value)]
        extra += len(lines) - len(words)
        kept.append(([[values[i] for i in words] for values in columns], [lines[i] for i in words]))
    return kept, extra


def _entity_types(raw: Sequence[tuple[list[list[str]], list[int]]], column: int) -> set[str]:
    """The entity types of ``column``'s tags: prefixed (``B-PER``: PER), or IO's bare labels beside ``O``
    (Few-NERD's ``person-actor``); none if any value is neither."""
    values = {value for columns, _ in raw for value in columns[column]}
    found = [TAG_PATTERN.match(value) for value in values]
    if all(found):
        return {match[2] for match in found if match and match[2]}
    if "O" in values and all(value == "O" or _BARE_LABEL.fullmatch(value) for value in values):
        return values - {"O"}
    return set()


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
        outside = {c: _entities_outside(raw, c, last) for c in range(token_column + 1, last)}
        outer = next((c for c, count in outside.items() if count is not None), None)
        if outer is None:
            ours = _entity_types(raw, last) if last - 1 > token_column else set()
            before = ours & _entity_types(raw, last - 1) if ours else set()  # both columns' types
            if before:
                # the gold beside them: the column before, or the one holding its entities (GermEval's outer)
                holding = (
                    c for c in range(token_column + 1, last - 1) if _entities_outside(raw, c, last - 1) is not None
                )
                gold = next(holding, last - 1)
                types = before if gold == last - 1 else ours & _entity_types(raw, gold)
                note(
                    logging.WARNING,
                    path,
                    "columns %d and %d both hold entities of %s (gold tags beside predictions, as ner predict writes "
                    "them?): tags read from column %d, the last; --tag-column %d reads the gold",
                    *(gold, last, _some(sorted(types)), last, gold),
                )
            return last
        strays = f"; {outside[outer]} of them lie outside any, an annotation's slip?" if outside[outer] else ""
        note(
            logging.INFO if not strays else logging.WARNING,
            path,
            "tags read from column %d, whose entities hold column %d's (nested entities in a column of their "
            "own, as GermEval 2014 writes them; --tag-column %d reads those%s)",
            *(outer, last, last, strays),
        )
        return outer
    if not -width <= tag_column < width or tag_column % width in (0, token_column):
        raise CorpusError(path, first_line, f"no tag column {tag_column} in {width} columns")
    return tag_column % width


def _some(names: Sequence[str], most: int = 6) -> str:
    """The first ``most`` of ``names``, and how many more."""
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def _entities_outside(raw: Sequence[tuple[list[list[str]], list[int]]], outer: int, inner: int) -> int | None:
    """How many of column ``inner``'s entities lie outside every entity of column ``outer``, where ``outer``
    holds entity tags (O at least :data:`MIN_OUTSIDE` of the time, unlike chunk tags) whose entities contain
    all but :data:`MAX_STRAYS` of ``inner``'s, most of them strictly, outnumber them, and are not phrase
    chunks (a small CoNLL-2003 file's chunk column, NP around PER, passes the rest): the outer entities of
    a corpus that writes the nested ones in a column of their own. None where it does not."""
    tags = [tag for columns, _ in raw for tag in columns[outer]]
    if tags.count("O") < MIN_OUTSIDE * len(tags) or not all(tag == "O" or TAG_PATTERN.match(tag) for tag in tags):
        return None
    outer_count = inner_count = strictly = outside = 0
    outer_types: set[str] = set()
    for columns, _ in raw:
        containers = tags_to_spans(columns[outer])  # in order, not overlapping
        starts = [c.start for c in containers]
        outer_count += len(containers)
        outer_types.update(c.label for c in containers)
        for span in tags_to_spans(columns[inner]):
            inner_count += 1
            at = bisect.bisect_right(starts, span.start) - 1  # the last container starting at or before it
            if at < 0 or span.end > containers[at].end:
                outside += 1
            else:
                strictly += containers[at].end - containers[at].start > span.end - span.start
    held = inner_count - outside
    if outside > MAX_STRAYS * inner_count or outer_count <= inner_count or 2 * strictly < held:
        return None
    return None if outer_types <= _CHUNK_TYPES else outside


def write_conll_predictions(
    path: str | Path, sentences: Sequence[Sentence], predicted: Sequence[Sequence[str]], scheme: str
) -> Iterator[str]:
    """Yield the lines of ``path`` (read as :func:`read_text` reads it) with a predicted tag column
    appended (conlleval's input; a table's header names it ``predicted``), or in a file of
    ``word|POS|tag`` fields a ``|tag`` on each field.

    ``predicted`` holds BIOES tags per sentence; they are written in ``scheme``.
    ``-DOCSTART-``, comment and blank lines are copied through, and CoNLL-U's multiword-token and
    empty-node lines get ``_``.
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
        elif _starts_document(line.split(maxsplit=1)[0] if line.strip() else ""):
            yield f"{line}{separator}O"
        elif _CONLLU_EXTRA_LINE.fullmatch(line.split("\t", 1)[0]):  # a multiword token or empty node: no tag
            yield f"{line}{separator}_"
        else:
            yield line
