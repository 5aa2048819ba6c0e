"""Annotated corpora in and out: CoNLL column files, JSONL with character spans, brat standoff, tag schemes.

Every reader returns :class:`Sentence` objects whose tags are BIOES, the scheme
the model trains in. Input schemes IOB1, IOB2 (BIO), BIOES, BMES, BILOU and IO
(bare labels) are detected from the tags and converted through entity spans
(:mod:`ner.corpus.schemes`, :mod:`ner.corpus.tagged`). Column files come in many
dialects (CoNLL-U, Universal NER, GermEval, OntoNotes' CoNLL-2012, WikiNER, CSV
tables: :mod:`ner.corpus.conll`), JSONL in many tools' (:mod:`ner.corpus.jsonl`),
brat standoff as folders (:mod:`ner.corpus.brat`), any of them in UTF-8 or a
legacy encoding (:mod:`ner.corpus.encoding`). Malformed input raises
:class:`CorpusError` naming the file, the line and the reason. :func:`read_corpus`
picks the reader for a path; the readers log how they read a file (its dialect,
columns, encoding), which :func:`read_corpus_noted` returns too, for the model
card and ``ner inspect``.
"""

from __future__ import annotations

import codecs
import gzip
import logging
import re
import zlib
from pathlib import Path

from ner.corpus.brat import read_brat
from ner.corpus.conll import read_conll, write_conll_predictions
from ner.corpus.encoding import GZIP_MAGIC, read_text
from ner.corpus.jsonl import _read_jsonl, read_jsonl
from ner.corpus.notes import kept_notes, note
from ner.corpus.schemes import SCHEMES, Span, detect_scheme, spans_to_tags, tags_to_spans, type_problem
from ner.corpus.sentence import (
    CorpusError,
    Sentence,
    as_characters,
    as_model_tokens,
    as_words,
    hold_out,
    lowercased_words,
    mentions_by_label,
    recased,
    replace_mentions,
    split_long,
    summary,
    symbol_entities,
    token_tags,
    written_out,
)
from ner.corpus.tagged import UNNAMED

__all__ = [
    "SCHEMES",
    "UNNAMED",
    "CorpusError",
    "Sentence",
    "Span",
    "as_characters",
    "as_model_tokens",
    "as_words",
    "corpus_format",
    "detect_scheme",
    "hold_out",
    "lowercased_words",
    "mentions_by_label",
    "read_brat",
    "read_conll",
    "read_corpus",
    "read_corpus_noted",
    "read_jsonl",
    "read_text",
    "reading_record",
    "recased",
    "replace_mentions",
    "spans_to_tags",
    "split_long",
    "summary",
    "symbol_entities",
    "tags_to_spans",
    "token_tags",
    "write_conll_predictions",
    "written_out",
]


def corpus_format(path: str | Path) -> str:
    """``brat`` for a folder (standoff), ``jsonl`` by extension or first character, else ``conll``."""
    path = Path(path)
    if path.is_dir():
        return "brat"
    if not path.is_file():
        raise CorpusError(path, None, "no such file")
    if path.name.removesuffix(".gz").endswith((".jsonl", ".json")):
        return "jsonl"
    with open(path, "rb") as raw:
        compressed = raw.read(2) == GZIP_MAGIC
    with gzip.open(path, "rb") if compressed else open(path, "rb") as handle:
        try:
            first = handle.read(64)
        except (OSError, EOFError, zlib.error):  # a damaged gzip file: said so when it is read
            first = b""
        first = first.removeprefix(codecs.BOM_UTF8).replace(b"\0", b"").lstrip()  # UTF-16's zeros too
        first = first.removeprefix(codecs.BOM_UTF16_LE).removeprefix(codecs.BOM_UTF16_BE)
    return "jsonl" if first.startswith((b"{", b"[")) else "conll"


def read_corpus(path: str | Path, tag_column: int = -1, nested: str = "refuse") -> tuple[list[Sentence], str]:
    """Read a corpus of any format (:func:`corpus_format`); ``tag_column``: of a CoNLL file; ``nested``: what a
    corpus of spans (JSONL, brat) does with entities inside or across others (refuse them, keep the outer
    or the inner ones: :func:`ner.corpus.schemes.flattened`)."""
    kind = corpus_format(path)
    if kind == "brat":
        sentences, scheme = read_brat(Path(path), nested), "spans"
    elif kind == "jsonl":
        sentences, scheme = _read_jsonl(Path(path), nested)
    else:
        sentences, scheme = read_conll(path, tag_column)
    _refuse_unnamed_types(path, sentences)
    _note_types_alike(path, sentences)
    return sentences, scheme


def _note_types_alike(path: str | Path, sentences: list[Sentence]) -> None:
    """Warn of entity types that a slip may have made two: alike but for case (``PER``, ``per``) or a tag's
    prefix (``X``, ``I-X`` of ``B-I-X``); the model learns each apart (fine-tuning refuses such a label)."""
    types = sorted({tag[2:] for sentence in sentences for tag in sentence.tags if tag != "O"})
    alike = [(kind, other) for kind in types for other in types if kind < other and kind.casefold() == other.casefold()]
    alike += [(kind[2:], kind) for kind in types if re.fullmatch("[BIESLUM]-.+", kind) and kind[2:] in types]
    if alike:
        pairs = [f"{kind} and {other}" for kind, other in sorted(alike)]
        more = f" and {len(pairs) - 5} more pairs" if len(pairs) > 5 else ""
        note(
            logging.WARNING,
            path,
            "entity types %s are alike, a slip? Each is learnt as a type",
            ", ".join(pairs[:5]) + more,
        )


def _refuse_unnamed_types(path: str | Path, sentences: list[Sentence]) -> None:
    """An entity type must be named, and not ``O``: that means "no entity" in tags and in dictionaries; nor
    start or end with a hyphen, which the scorer (seqeval) strips, so that ``PER-`` would score as ``PER``; nor
    hold a space, which no column file can (:func:`ner.corpus.schemes.type_problem`)."""
    for sentence in sentences:
        for position, tag in enumerate(sentence.tags):
            if tag != "O" and (problem := type_problem(tag[2:])):
                line = sentence.lines[position] if sentence.lines else None
                raise CorpusError(path, line, f"entity type {problem}: {sentence.tokens[position]!r} tagged {tag!r}")


def reading_record(scheme: str, notes: list[str]) -> list[str]:
    """How a file was read, as a model card lists it: its tags' scheme (or character spans), then the notes
    of :func:`read_corpus_noted`."""
    return ["character spans" if scheme == "spans" else f"{scheme} tags", *notes]


def read_corpus_noted(
    path: str | Path, tag_column: int = -1, nested: str = "refuse"
) -> tuple[list[Sentence], str, list[str]]:
    """:func:`read_corpus`'s sentences and scheme, and the notes its reader logged on how it read the file
    (:mod:`ner.corpus.notes`: the dialect, the columns taken, an encoding guessed, tags in doubt)."""
    with kept_notes() as notes:
        sentences, scheme = read_corpus(path, tag_column, nested)
    return sentences, scheme, notes
