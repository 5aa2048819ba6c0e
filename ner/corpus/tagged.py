"""Sentences from a corpus's tokens and tags in any scheme, checked to be entity tags.

The column readers (:mod:`ner.corpus.conll`) and JSONL rows of tokens and tags
(:mod:`ner.corpus.jsonl`) end here: untyped ``B``/``I``/``O`` tags get a type,
bare labels are read as the IO scheme, a column of part-of-speech or chunk
tags is refused or warned about, and every sentence leaves in BIOES.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

from ner.corpus.notes import note
from ner.corpus.schemes import TAG_PATTERN, detect_scheme, first_invalid, spans_to_tags, tags_to_spans
from ner.corpus.sentence import CorpusError, Sentence
from ner.text import model_form

# Entity tags leave many tokens O (83% of CoNLL-2003's, 89% of MSRA's, 36% of dense résumés'); part-of-speech
# tags leave none and chunk tags few (14% of CoNLL-2003's chunk column).
MIN_OUTSIDE, MIN_TOKENS_TO_CHECK = 0.2, 200
_PREFIXES = frozenset("BIEMSLU")
UNNAMED = "ENTITY"  # the type of entities tagged B, I, ... without one
_LOWER_PREFIX = re.compile(r"[biemslu][-_].")


def tagged_sentences(
    tagged: list[tuple[list[str], list[str], list[int]]],
    documents: list[int],
    path: str | Path,
    tag_column: int | None,
) -> tuple[list[Sentence], str]:
    """Sentences with BIOES tags from ``(tokens, tags, lines)`` in any scheme (detected, and returned); the
    tokens as a model reads them (:func:`ner.text.model_form`: without invisible characters, as tagging
    reads text)."""
    tagged = [([model_form(t) or t for t in tokens], tags, lines) for tokens, tags, lines in tagged]
    every_tag = {t for _, tags, _ in tagged for t in tags}
    entity_tags = every_tag - {"O", "o"}
    prefixed = bool(entity_tags) and all(map(_LOWER_PREFIX.match, entity_tags))  # b-per, i-per, ...
    if ("o" in every_tag and "O" not in every_tag) or prefixed:
        tagged, every_tag = _upper_case_lower_tags(tagged, every_tag, prefixed, path)
    labels = every_tag - {"O"}
    if labels and labels <= _PREFIXES:  # B, I, O: one type of entity, unnamed (biomedical corpora)
        note(
            logging.INFO,
            path,
            "the tags have no type (%s): their entities are read as %s",
            ", ".join(sorted(labels)),
            UNNAMED,
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
    _note_invalid(tagged, scheme, path)
    sentences = [
        Sentence(tokens, spans_to_tags(tags_to_spans(tags), len(tags)), lines=lines, document=document)
        for (tokens, tags, lines), document in zip(tagged, documents)
    ]
    return sentences, scheme


def _note_invalid(tagged: Sequence[tuple[list[str], list[str], list[int]]], scheme: str, path: str | Path) -> None:
    """Warn of the sentences whose tags ``scheme`` would not write, naming the first: they are read as
    conlleval reads them (an ``I-`` after ``O`` opens an entity), which may not be what was meant."""
    if scheme == "IO":  # bare labels, read as IOB1's: any run of them is valid
        return
    invalid = [(tags, lines, at) for _, tags, lines in tagged if (at := first_invalid(tags, scheme)) is not None]
    if invalid:
        tags, lines, at = invalid[0]
        before = f" after {tags[at - 1]}" if at else ""
        note(
            logging.WARNING,
            path,
            "%d sentence(s) with tags that are not valid %s, read as conlleval reads them; the first on line %d: %s%s",
            len(invalid),
            scheme,
            lines[at],
            tags[at],
            before,
        )


def _upper_case_lower_tags(
    tagged: list[tuple[list[str], list[str], list[int]]], tags: set[str], prefixed: bool, path: str | Path
) -> tuple[list[tuple[list[str], list[str], list[int]]], set[str]]:
    """The sentences of a file that writes ``o`` and no ``O``, or prefixes in lower case (``prefixed``:
    ``b-per``), with ``o`` and those prefixes upper-cased, the types kept as written, and their tags
    (``tags``: the file's). Read as they came, every token would be an entity of type ``o``, and ``b-per``
    a type of its own."""
    said = ["o read as O"] if "o" in tags else []
    said += ["b-, i-, ... as B-, I-, ..."] if prefixed else []
    note(logging.INFO, path, "tags in lower case: %s", ", ".join(said))

    def upper(tag: str) -> str:
        return "O" if tag == "o" else tag[0].upper() + tag[1:] if prefixed else tag

    return [(tokens, [upper(t) for t in ts], lines) for tokens, ts, lines in tagged], {upper(t) for t in tags}


def _bare_labels(raw: Sequence[tuple[list[str], list[str], list[int]]], labels: set[str], path: str | Path) -> bool:
    """Whether a file's entity tags (``labels``: every tag but O) are bare labels (``PER``: the IO scheme,
    where a run of one label is one entity) rather than prefixed (``B-PER``: IOB, BIOES, BMES, BILOU); a
    file mixing them is refused."""
    kinds = {TAG_PATTERN.match(tag) is not None for tag in labels}
    if len(kinds) > 1:
        entity_tags = ((tag, line) for _, tags, lines in raw for tag, line in zip(tags, lines) if tag != "O")
        first_tag, first_line = next(entity_tags)
        prefixed = TAG_PATTERN.match(first_tag) is not None
        tag, line = next((t, n) for t, n in entity_tags if (TAG_PATTERN.match(t) is not None) != prefixed)
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
    there are enough tokens to tell. ``tag_column``: of a CoNLL file of several columns to choose from,
    else ``None``."""
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
        if tag_column is None:
            message += "; a list of entities alone, no text around them, cannot teach where entities end"
        raise CorpusError(path, None, message)
    note(logging.WARNING, path, message)
