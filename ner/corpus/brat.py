"""brat standoff folders: each ``NAME.ann`` with the text of its ``NAME.txt``."""

from __future__ import annotations

import bisect
import codecs
import logging
from pathlib import Path

from ner.corpus.encoding import read_text
from ner.corpus.jsonl import text_to_sentences
from ner.corpus.notes import note
from ner.corpus.schemes import flattened
from ner.corpus.sentence import CorpusError, Sentence


def annotation_files(folder: Path) -> list[Path]:
    """The ``.ann`` files under ``folder``, in the order of their paths relative to it, part by part, case
    counted: documents come in the same order on Windows, whose paths compare ignoring case."""
    found = [path for path in folder.rglob("*.ann") if path.name.endswith(".ann")]  # Windows' glob ignores case
    return sorted(found, key=lambda path: path.relative_to(folder).parts)


def read_brat(folder: str | Path, nested: str = "refuse") -> list[Sentence]:
    """Read a folder of brat standoff annotations: each ``NAME.ann`` with the text of its ``NAME.txt``.

    Each file is a document, each non-blank line of its text split into sentences as tagging splits a
    text (never inside an entity). The entities are the ``T`` lines (``T1<TAB>LABEL START
    END<TAB>mention``: character offsets into the text, end exclusive), each checked against the
    mention it quotes; an entity in fragments is read as one span when only whitespace lies between
    them. Relations, events, attributes, normalisations and notes carry no span and are passed over.
    Errors name the ``.ann`` file and line (or the ``.txt`` line where an entity does not fall on
    token boundaries). A text's byte-order mark counts as its first character and ``\\r\\n`` as two, as brat
    counts them, unless the mentions quoted show offsets counted without the mark or with ``\\n`` line ends.
    Entities inside or across others are refused, or with ``nested`` ``outer`` or ``inner`` the outer or
    inner ones kept (:func:`ner.corpus.schemes.flattened`).
    """
    folder = Path(folder)
    annotations = annotation_files(folder)
    if not annotations:
        raise CorpusError(folder, None, "a folder is read as brat standoff annotations, and it holds no .ann file")
    sentences: list[Sentence] = []
    dropped = 0
    for document, ann in enumerate(annotations):
        txt = ann.with_suffix(".txt")
        if not txt.is_file():
            raise CorpusError(ann, None, f"no text beside it: {txt.name} is missing")
        text = read_text(txt, keep_line_ends=True)  # brat counts "\r\n" as two characters
        text, entities = _text_and_entities(txt, text, read_text(ann).split("\n"), ann)
        if nested == "refuse":
            _refuse_overlaps(entities, ann)
        else:
            kept = flattened([entity for _, entity in entities], nested)
            dropped += len(entities) - len(kept)
            entities = [entities[i] for i in kept]
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
                sentences += text_to_sentences(text[start:end], shifted, txt, line_number, document)
        for number, entity in entities:
            if number not in placed:
                raise CorpusError(ann, number, f"entity {list(entity)} starts on a line break")
    if not sentences:
        raise CorpusError(folder, None, "no sentences found: every .txt file is empty")
    if dropped:
        note(logging.INFO, folder, "%d entities inside or across others left out: the %s ones kept", dropped, nested)
    return sentences


def _refuse_overlaps(entities: list[tuple[int, tuple[int, int, str]]], ann: Path) -> None:
    for (number_a, (_, end_a, _)), (number, (start_b, _, _)) in zip(entities, entities[1:]):
        if start_b < end_a:
            raise CorpusError(
                ann, number, f"entity overlaps the one on line {number_a} (nested: --nested outer or inner keeps one)"
            )


def _text_and_entities(
    txt: Path, text: str, ann_lines: list[str], ann: Path
) -> tuple[str, list[tuple[int, tuple[int, int, str]]]]:
    """The text (its byte-order mark, if any, as a space, where brat counts it) and its entities; where the
    mentions quoted show offsets counted otherwise, the reading that fits them: without the mark, or with
    the text's ``\\r\\n`` as ``\\n`` (line ends converted after annotation, as git does on Windows)."""
    with open(txt, "rb") as handle:
        marked = handle.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8
    # Each reading, and where a quoted mention must fit from for it to be taken when the first does not fit:
    # a reading is changed only where what was annotated shows it.
    readings = [(" " + text, 0), (text, 0)] if marked else [(text, 0)]
    if "\r\n" in text:
        readings += [(reading.replace("\r\n", "\n"), reading.index("\r\n")) for reading, _ in readings]
    quoted = _quoted(ann_lines)
    first: CorpusError | None = None
    for number, (reading, shown_from) in enumerate(readings):
        try:
            entities = _brat_entities(ann_lines, reading, ann)
        except CorpusError as error:
            first = first or error
            continue
        if number == 0 or any(line in quoted and start >= shown_from for line, (start, _, _) in entities):
            return reading, entities
    assert first is not None
    raise first


def _quoted(lines: list[str]) -> set[int]:
    """The numbers of the ``T`` lines whose mention is checked against the text: one fragment, a mention."""
    quoted = set()
    for number, line in enumerate(lines, start=1):
        fields = line.rstrip("\r").split("\t")
        if line.startswith("T") and len(fields) > 2 and fields[2] and ";" not in fields[1]:
            quoted.add(number)
    return quoted


def _brat_entities(lines: list[str], text: str, ann: Path) -> list[tuple[int, tuple[int, int, str]]]:
    """The ``T`` lines of a brat ``.ann`` file as ``(line number, (start, end, label))``, in text order,
    each checked against the mention it quotes."""
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
    entities.sort(key=lambda item: (*item[1][:2], item[0]))  # of spans alike, the one on the first line first
    return entities
