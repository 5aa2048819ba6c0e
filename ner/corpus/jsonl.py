"""JSONL (or a JSON array) of texts with character spans, as our own and other annotation tools write them.

Each document's text is tokenized as tagging tokenizes it, its spans become
token spans (a token that an entity boundary cuts is split there), and it is
split into sentences as tagging splits a text. Rows of tokens and tags
(Hugging Face datasets) are read as tagged tokens instead.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from ner.corpus.encoding import read_text
from ner.corpus.notes import note
from ner.corpus.schemes import Span, flattened, spans_to_tags, type_problem
from ner.corpus.sentence import CorpusError, Sentence
from ner.corpus.tagged import tagged_sentences
from ner.text import Token, composed, model_form, offsets_in, past_quote_marks, split_sentences, tokenize

_SPACE = re.compile(r"\s*")


def align_spans(
    text: str, char_spans: Sequence[tuple[int, int, str]], tokens: list[Token]
) -> tuple[list[Token], list[Span]]:
    """Token spans for character spans; tokens that an entity boundary cuts are split there (a piece that
    shows nothing, an invisible character cut off a word, is dropped, as tokenizing drops it)."""
    cuts = sorted({offset for start, end, _ in char_spans for offset in (start, end)})
    pieces: list[Token] = []
    for token in tokens:
        start = token.start
        for end in [*cuts[bisect.bisect_right(cuts, token.start) : bisect.bisect_left(cuts, token.end)], token.end]:
            if model_form(text[start:end]):
                pieces.append(Token(text[start:end], start, end))
            start = end
    first_at = {token.start: i for i, token in enumerate(pieces)}
    last_at = {token.end: i for i, token in enumerate(pieces)}
    spans = []
    for start, end, label in char_spans:
        if start not in first_at or end not in last_at:
            raise ValueError(f"span [{start}, {end}) {text[start:end]!r} has no tokens")
        spans.append(Span(first_at[start], last_at[end] + 1, label))
    return pieces, spans


def read_jsonl(path: str | Path, nested: str = "refuse") -> list[Sentence]:
    """Read JSONL, one document per line: ``{"text": ..., "entities": [[start, end, label], ...]}``, or
    a JSON array of such documents.

    Offsets are character offsets, end exclusive. The span annotations of other tools are read too:
    entities as objects (``{"start", "end", "label"}``, or doccano's ``start_offset`` and
    ``end_offset``), under ``"spans"`` (Prodigy, spaCy) or ``"label"``/``"labels"`` (doccano), and CLUENER's
    ``"label": {label: {mention: [[start, last], ...]}}``, whose ends are inclusive. doccano 1.x's
    ``"data"`` is read as the text, and so are Label Studio's JSON exports: a task's ``"data": {"text"}``
    with the spans of its first annotation that was not cancelled, or JSON-MIN's ``"labels": [label]``.
    Each document is tokenized with :func:`ner.text.tokenize` and split into sentences as tagging splits
    a text (:func:`ner.text.split_sentences`, never inside an entity), which share the document. A span
    that quotes its mention (Label Studio's ``"text"``) is checked against it, and read in UTF-16 code
    units where that is how its offsets were counted (Label Studio's, in a text with emoji); so are a
    document's spans that cut words counted in code points and fall on word edges counted in UTF-16
    code units (a JavaScript client's). Prodigy's
    examples answered ``reject`` or ``ignore`` are passed over. Errors name the line a document starts
    on. A file whose first document has ``"tokens"`` (or ``"words"``) and tags but no spans is read as
    tagged tokens instead, a sentence per document (:func:`_token_documents`). Entities inside or across
    others are refused, or with ``nested`` ``outer`` or ``inner`` the outer or inner ones kept
    (:func:`ner.corpus.schemes.flattened`).
    """
    return _read_jsonl(path, nested)[0]


def _read_jsonl(path: str | Path, nested: str = "refuse") -> tuple[list[Sentence], str]:
    """:func:`read_jsonl`'s sentences, and the scheme of their tags: ``"spans"`` or, for tagged tokens, the tags'."""
    text = read_text(path)
    documents = _array_elements(text, path) if text.lstrip().startswith("[") else _lines(text, path)
    first = next(documents, None)
    if first is None:
        raise CorpusError(path, None, "no documents found")
    documents = itertools.chain([first], documents)
    token_key = _token_key(first[1])
    if token_key is not None:
        return _token_documents(documents, path, token_key)
    sentences: list[Sentence] = []
    not_accepted = utf16 = blank = dropped = 0
    for index, (number, document) in enumerate(documents):
        if isinstance(document, dict) and document.get("answer") in _NOT_ACCEPTED:
            not_accepted += 1
            continue
        text = _document_text(document)
        if text is None:
            raise CorpusError(path, number, 'expected an object with a string "text"')
        entities, utf16_counted = _entities(document, text, path, number)
        utf16 += utf16_counted
        if nested != "refuse":
            entities, dropped_here = _flat(entities, nested)
            dropped += dropped_here
        read = text_to_sentences(text, entities, path, number, index)
        blank += not read
        sentences += read
    if blank:
        note(logging.INFO, path, "%d documents with no text to tag passed over", blank)
    if dropped:
        note(logging.INFO, path, "%d entities inside or across others left out: the %s ones kept", dropped, nested)
    if not_accepted:
        note(logging.INFO, path, "%d examples answered reject or ignore (Prodigy) passed over", not_accepted)
    if utf16:
        note(
            logging.INFO,
            path,
            "spans of %d documents counted in UTF-16 code units (as Label Studio and JavaScript count them "
            "beside emoji): read as such, as the mentions they quote or the words they fall on show",
            utf16,
        )
    if not sentences:
        raise CorpusError(path, None, "no documents found")
    return sentences, "spans"


_TOKEN_KEYS = ("tokens", "words")
_TOKEN_TAG_KEYS = ("ner_tags", "tags", "labels", "ner")
_NOT_ACCEPTED = ("reject", "ignore")  # Prodigy's answers other than accept


def _token_key(document: object) -> str | None:
    """The key of a document's list of tokens when it gives tokens and their tags rather than spans
    (Prodigy's ``"tokens"`` beside its ``"text"`` are the text's, and its spans are read instead)."""
    if not isinstance(document, dict) or "data" in document:
        return None
    spans = any(key in document for key in (*_ENTITY_KEYS, "annotations"))
    if "text" in document and (spans or not any(key in document for key in _TOKEN_TAG_KEYS)):
        return None
    return next((key for key in _TOKEN_KEYS if isinstance(document.get(key), list)), None)


def _token_documents(
    documents: Iterable[tuple[int, object]], path: str | Path, token_key: str
) -> tuple[list[Sentence], str]:
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
    return tagged_sentences(tagged, list(range(len(tagged))), path, None)


def _lines(text: str, path: str | Path) -> Iterator[tuple[int, object]]:
    """The JSON value on each non-blank line of ``text``, with its line number."""
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines: JSON strings may hold U+2028
        if line.strip():
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                raise CorpusError(path, number, f"invalid JSON: {error.msg}") from None
            except (ValueError, RecursionError) as error:  # an integer of 4,301 digits; nesting past the stack
                raise CorpusError(path, number, f"unreadable JSON: {_reason(error)}") from None
            yield number, value


def _reason(error: Exception) -> str:
    return "nested too deeply" if isinstance(error, RecursionError) else str(error)


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
        except (ValueError, RecursionError) as error:
            raise CorpusError(path, at(start), f"unreadable JSON: {_reason(error)}") from None
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


def text_to_sentences(text: str, entities: list, path: str | Path, number: int, document: int) -> list[Sentence]:
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
        Sentence(whole.tokens[a:b], whole.tags[a:b], offsets[a:b], document=document, source=text)
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
        if problem := type_problem(label):
            raise CorpusError(path, number, f"entity {entity!r}: entity type {problem}")
        if start >= end:
            raise CorpusError(path, number, f"entity {entity!r} is empty or reversed: start must be below end")
        if not 0 <= start < end <= len(text):
            raise CorpusError(path, number, f"entity {entity!r} lies outside the text of {len(text)} characters")
        if not model_form(text[start:end]).strip():
            raise CorpusError(path, number, f"entity {entity!r} covers only whitespace")
        char_spans.append((start, end, label))
    char_spans.sort()
    for (_, end_a, _), (start_b, end_b, label_b) in zip(char_spans, char_spans[1:]):
        if start_b < end_a:
            overlap = f"entity [{start_b}, {end_b}, {label_b!r}] overlaps another"
            raise CorpusError(path, number, f"{overlap} (--nested outer or inner keeps one)")
    # Trim whitespace (and an e-mail quote's marks, no tokens) inside entity boundaries so that they align
    # with tokens.
    trimmed = []
    for start, end, label in char_spans:
        while text[start].isspace() or (text[start] == ">" and past_quote_marks(text, start) > start):
            start = past_quote_marks(text, start) if text[start] == ">" else start + 1
        while text[end - 1].isspace():
            end -= 1
        trimmed.append((start, end, label))
    try:
        tokens, spans = align_spans(text, trimmed, tokenize(text))
    except ValueError as error:
        raise CorpusError(path, number, str(error)) from None
    return Sentence(
        [model_form(t.text) for t in tokens],
        spans_to_tags(spans, len(tokens)),
        offsets=[(t.start, t.end) for t in tokens],
        document=document,
        source=text,
    )


def _flat(entities: list, nested: str) -> tuple[list, int]:
    """``entities`` with those inside or across others left out (:func:`ner.corpus.schemes.flattened`), and
    how many; one that is no ``[start, end, label]`` stays, for :func:`_text_to_sentence` to refuse."""
    spans, others = [], []
    for entity in entities:
        whole = isinstance(entity, list) and len(entity) == 3 and all(type(x) is int for x in entity[:2])
        (spans if whole else others).append(entity)
    kept = [spans[i] for i in flattened(spans, nested)]
    return kept + others, len(spans) - len(kept)


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


def _entities(document: dict, text: str, path: str | Path, number: int) -> tuple[list, bool]:
    """A document's entities as ``[start, end, label]`` lists (end exclusive), from whichever of the
    dialects in :func:`read_jsonl` it is written in, and whether their offsets were counted in UTF-16
    code units (:func:`_quoted_span`); left for the caller to check."""
    if "annotations" in document and not any(k in document for k in _ENTITY_KEYS):
        entities = _label_studio_values(document["annotations"], path, number)
    else:
        key = next((k for k in _ENTITY_KEYS if k in document), "entities")
        entities = document.get(key, [])
        if key == "label" and isinstance(entities, dict):
            return _clue_entities(text, entities, path, number), False
        if not isinstance(entities, list):
            raise CorpusError(path, number, f'"{key}" must be a list of [start, end, label]')
    spans = [_quoted_span(e, text, path, number) if isinstance(e, dict) else (e, False) for e in entities]
    triples, utf16 = [span for span, _ in spans], any(utf16 for _, utf16 in spans)
    quoted = any(isinstance(e, dict) and isinstance(e.get("text"), str) for e in entities)  # the quotes tell
    if not quoted and (read := _read_in_utf16(triples, text)) is not None:
        return read, True
    return triples, utf16


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")  # a character of two UTF-16 code units (emoji, 𝐀, 𠀀)


def _read_in_utf16(entities: list, text: str) -> list | None:
    """``entities`` read in UTF-16 code units, where counted in code points some of them cut words of
    ``text`` and counted in UTF-16 code units, as JavaScript, Java and C# count, none does (an emoji
    before an entity moves it by two units); else None."""
    if not _ASTRAL.search(text) or not entities:
        return None
    if not all(isinstance(e, list) and len(e) == 3 and all(type(x) is int for x in e[:2]) for e in entities):
        return None  # refused by the caller
    tokens = tokenize(text)
    edges = {token.start for token in tokens} | {token.end for token in tokens}
    if all(start in edges and end in edges for start, end, _ in entities):
        return None
    index = _utf16_index(text)
    if not all(index.get(start) in edges and index.get(end) in edges for start, end, _ in entities):
        return None
    return [[index[start], index[end], label] for start, end, label in entities]


def _quoted_span(entity: dict, text: str, path: str | Path, number: int) -> tuple[list | dict, bool]:
    """``entity`` as ``[start, end, label]`` (:func:`_as_triple`), checked against the mention it quotes
    if it does (Label Studio's ``"text"``): offsets that miss it but find it when counted in UTF-16 code
    units, as a browser counts them, are converted, and ``True`` says so."""
    triple, mention = _as_triple(entity), entity.get("text")
    if not isinstance(triple, list) or not isinstance(mention, str) or not all(type(x) is int for x in triple[:2]):
        return triple, False
    start, end, label = triple
    if _alike(text[start:end], mention):
        return triple, False
    index = _utf16_index(text)
    if start in index and end in index and _alike(text[index[start] : index[end]], mention):
        return [index[start], index[end], label], True
    if 0 <= start < end <= len(text):
        raise CorpusError(path, number, f"entity {triple!r} covers {text[start:end]!r}, not the {mention!r} it quotes")
    return triple, False


def _alike(covered: str, mention: str) -> bool:
    """Whether a span covers the mention it quotes, written composed or not (NFC, NFD)."""
    return covered == mention or composed(covered) == composed(mention)


@functools.lru_cache(maxsize=1)
def _utf16_index(text: str) -> dict[int, int]:
    """The index in ``text`` of each offset in UTF-16 code units that falls between two characters."""
    units = offsets_in(text, "utf16") or range(len(text) + 1)
    return {unit: position for position, unit in enumerate(units)}


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


def _label_studio_values(annotations: object, path: str | Path, number: int) -> list[dict]:
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
    return [v for v in values if isinstance(v, dict) and "labels" in v]


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
