"""Text as documents give it: entity F1 of a model on eng.testb's articles written out as a PDF's text, an
e-mail, a web page or a Markdown file gives them, against the same articles as plain text.

Each article of eng.testb (as :mod:`benchmarks.articles` writes it: a sentence a line, tokens joined by
spaces) is rewritten, its entities' character spans carried along, each line a paragraph:

- ``lines``: as it is;
- ``wrapped 72`` and ``wrapped 40``: each line wrapped at 72 or 40 characters (a PDF's text, an e-mail);
- ``hyphenated``: wrapped at 72, a word of 7 letters or more that would cross a line's end cut there by a
  hyphen (``Euro-`` / ``pean``), as typeset text hyphenates;
- ``quoted``: wrapped at 72, each line after ``> `` (a reply that quotes an e-mail);
- ``html``: the headline an ``<h1>``, each other line a ``<p>``, every fifth word in ``<b>``, ``&`` as
  ``&amp;``, tagged with ``markup="html"`` (and, with ``--markup-as-text``, as plain text);
- ``markdown``: the headline after ``# ``, each other line a paragraph, every fifth word in ``**``, Markdown's
  marks in words escaped, tagged with ``markup="markdown"`` (or as plain text).

Scores are strict entity-level F1 over ``(start, end, label)`` in each text as written.

    python -m benchmarks.documents [--model models/en-conll03] [--markup-as-text] [--json out.json]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from benchmarks import CONLL, ROOT, report
from benchmarks.articles import documents, record
from benchmarks.defaults import strict_scores
from ner.tagger import Tagger

Spans = list[tuple[int, int, str]]
Edit = tuple[int, int, str]  # text[start:end] replaced by the string


def edited(text: str, spans: Spans, edits: list[Edit]) -> tuple[str, Spans]:
    """``text`` with ``edits`` made (sorted, disjoint) and ``spans`` moved with it: a string inserted where an
    entity starts goes before it, where one ends after it; a character replaced at an entity's edge is its
    replacement whole (``*`` as ``\\*``)."""
    pieces: list[str] = []
    starts, ends = [0] * len(text), [0] * len(text)  # where each character of ``text`` goes
    at = length = 0
    for start, end, string in [*edits, (len(text), len(text), "")]:
        for position in range(at, start):
            starts[position], ends[position] = length + position - at, length + position - at + 1
        length += start - at
        for position in range(start, end):
            starts[position], ends[position] = length, length + len(string)
        pieces += [text[at:start], string]
        length += len(string)
        at = end
    return "".join(pieces), [(starts[s], ends[e - 1], label) for s, e, label in spans]


def wrapped(text: str, width: int, hyphenate: bool = False, prefix: str = "") -> list[Edit]:
    """Edits that wrap each line of ``text`` at ``width`` (spaces become line breaks, each line after
    ``prefix``), with ``hyphenate`` a long word that would cross a line's end cut by a hyphen."""
    edits: list[Edit] = [(0, 0, prefix)] if prefix else []
    offset = 0
    for line in text.split("\n"):
        column = 0
        for match in re.finditer(r"\S+", line):
            word, start = match.group(), offset + match.start()
            if column and column + 1 + len(word) > width:
                room = width - column - 2  # a space and the hyphen
                if hyphenate and word.isalpha() and len(word) >= 7 and room >= 3 and len(word) - room >= 3:
                    edits.append((start + room, start + room, "-\n" + prefix))
                    column = len(prefix) + len(word) - room
                    continue
                edits.append((start - 1, start, "\n" + prefix))
                column = len(prefix) + len(word)
            else:
                column += (1 if column else 0) + len(word)
        offset += len(line) + 1
        if prefix and offset < len(text):
            edits.append((offset, offset, prefix))
    return sorted(edits)


def marked(text: str, opening: str, closing: str, escapes: dict[str, str]) -> list[Edit]:
    """Edits that put every fifth word between ``opening`` and ``closing`` and write each character of
    ``escapes`` as it says."""
    edits: list[Edit] = []
    for i, match in enumerate(re.finditer(r"\S+", text)):
        if i % 5 == 4:
            edits.append((match.start(), match.start(), opening))
        edits += [(j, j + 1, escapes[text[j]]) for j in range(match.start(), match.end()) if text[j] in escapes]
        if i % 5 == 4:
            edits.append((match.end(), match.end(), closing))
    return edits


def as_page(text: str, spans: Spans) -> tuple[str, Spans]:
    """An article as HTML: a heading, paragraphs, bold words, references."""
    text, spans = edited(text, spans, marked(text, "<b>", "</b>", {"&": "&amp;", "<": "&lt;", ">": "&gt;"}))
    lines = text.split("\n")
    edits, offset = [], 0
    for i, line in enumerate(lines):
        tag = "h1" if i == 0 else "p"
        edits += [(offset, offset, f"<{tag}>"), (offset + len(line), offset + len(line), f"</{tag}>")]
        offset += len(line) + 1
    return edited(text, spans, edits)


def as_markdown(text: str, spans: Spans) -> tuple[str, Spans]:
    """An article as Markdown: a heading, paragraphs, strong words, marks escaped."""
    text, spans = edited(text, spans, marked(text, "**", "**", {c: "\\" + c for c in "\\`*_[]#|<>"}))
    edits = [(0, 0, "# ")] + [(m.start(), m.end(), "\n\n") for m in re.finditer("\n", text)]
    return edited(text, spans, edits)


def variants(text: str, spans: Spans) -> dict[str, tuple[str, Spans, str]]:
    """Each way of writing an article: its text, its entities there and its markup."""
    return {
        "lines": (text, spans, "text"),
        "wrapped 72": (*edited(text, spans, wrapped(text, 72)), "text"),
        "wrapped 40": (*edited(text, spans, wrapped(text, 40)), "text"),
        "hyphenated": (*edited(text, spans, wrapped(text, 72, hyphenate=True)), "text"),
        "quoted": (*edited(text, spans, wrapped(text, 72, prefix="> ")), "text"),
        "html": (*as_page(text, spans), "html"),
        "markdown": (*as_markdown(text, spans), "markdown"),
    }


def tagged(tagger: Tagger, text: str, markup: str, markup_as_text: bool) -> Spans:
    """``text``'s entities as ``tagger`` finds them, markup read (unless ``markup_as_text``)."""
    if markup == "text" or markup_as_text:
        return [(e.start, e.end, e.label) for e in tagger.tag(text)]
    from ner.markup import read_markup  # here: the code before it can run the rest

    plain = read_markup(text, markup)  # type: ignore[arg-type]
    return [(e.start, e.end, e.label) for e in plain.source_entities(tagger.tag(plain.text))]


def run(model: Path, markup_as_text: bool) -> dict:
    tagger = Tagger.load(model, threads=2)
    articles = [record(document) for document in documents(CONLL / "eng.testb")]
    gold: dict[str, list[Spans]] = {}
    found: dict[str, list[Spans]] = {}
    for article in articles:
        spans = [(s["start"], s["end"], s["label"]) for s in article["spans"]]
        for name, (text, moved, markup) in variants(article["text"], spans).items():
            gold.setdefault(name, []).append(moved)
            found.setdefault(name, []).append(tagged(tagger, text, markup, markup_as_text))
    return {
        "model": str(model),
        "articles": len(articles),
        "markup_as_text": markup_as_text,
        "f1": {name: strict_scores(gold[name], found[name])["f1"] for name in gold},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "en-conll03")
    parser.add_argument("--markup-as-text", action="store_true", help="tag the HTML and Markdown as plain text")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report(run(args.model, args.markup_as_text), args.json)


if __name__ == "__main__":
    main()
