"""Markup to plain text: an HTML page or a Markdown document read as the text a reader sees, and each
entity found in that text taken back to where it stands in the source.

    plain = read_markup(page, "html")                      # plain.text: what the tagger reads
    entities = plain.source_entities(tagger.tag(plain.text))  # start, end: offsets into ``page``

A model trained on prose has never seen ``<b>`` or ``**``: read as words, they cost it the names around
them (``<p>Barack Obama met`` gave no person). Markup is read the way a browser shows it:

- HTML: a tag that starts or ends a block (``<p>``, ``<li>``, ``<h2>``, ``</div>``) is a paragraph break,
  ``<br>`` a line break, a table's cell (``<td>``, ``<th>``) a tab (:func:`ner.text.split_sentences` ends a
  sentence at each, so no entity runs from one cell into the next), an inline tag (``<b>``, ``<a href>``)
  nothing; ``<script>``, ``<style>`` and comments are left out whole; a character reference (``&amp;``,
  ``&#233;``) is the character it stands for; the source's line breaks and tabs are spaces.
- Markdown: a heading's, list item's or table row's start is a paragraph break, a table's inner pipe a tab;
  a quote's ``>`` is a space, so a quoted paragraph reads as one; emphasis marks (``**``, ``_``, ``~~``),
  inline code's backticks, a link's or image's target (``[text](url)`` is ``text``), a reference
  definition and a fenced code block are left out; a backslash escape is the character escaped; HTML in it
  is read as above.

Each character of :attr:`PlainText.text` remembers the stretch of the source it came from (a reference's
``&amp;`` whole for its ``&``), so an entity's ``start`` and ``end`` are offsets into the source and its
``text`` is what was read there (``AT&T`` for ``AT&amp;T``).
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Literal, get_args

from ner.tagger import Alternative, Analysis, Entity, TaggedToken

Markup = Literal["text", "html", "markdown"]
MARKUPS: tuple[str, ...] = get_args(Markup)

PARAGRAPH, LINE, CELL = "\n\n", "\n", "\t"
# Elements whose start and end are a paragraph break (what a browser lays out as a block), and those left
# out with all they hold.
_BLOCKS = frozenset(
    """address article aside blockquote body caption center dd details dialog dir div dl dt fieldset figcaption
    figure footer form frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html legend li main menu nav noframes ol
    optgroup option p pre section summary table tbody tfoot thead title tr ul""".split()  # noqa: SIM905
)
_CELLS = frozenset({"td", "th"})
_UNSEEN = r"script|style|noscript|template|svg|math"

# A comment, a declaration (<!DOCTYPE>, <![CDATA[...]]>), a processing instruction; an element never shown,
# with its content; a start or end tag, attributes quoted with > inside them; each runs to the text's end
# where it is not closed.
_HTML = re.compile(
    rf"<!--.*?(?:-->|\Z)|<![^>]*(?:>|\Z)|<\?[^>]*(?:>|\Z)"
    rf"|<(?P<unseen>{_UNSEEN})\b(?:[^<>\"']|\"[^\"]*\"|'[^']*')*>.*?(?:</(?P=unseen)\s*>|\Z)"
    r"|</?(?P<name>[A-Za-z][A-Za-z0-9-]*)(?:\s(?:[^<>\"']|\"[^\"]*\"|'[^']*')*)?/?>",
    re.DOTALL | re.IGNORECASE,
)
_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_HTML_SPACE = re.compile(r"[\t\n\r\f\v\u2028\u2029]")

# Markdown, by lines: a fenced code block; a reference definition; a heading's, list item's or table row's
# start; a quote's marks; a thematic break; a table's delimiter row.
_FENCE = re.compile(
    r"^ {0,3}(?P<fence>`{3,}|~{3,})[^\n]*$.*?(?:^ {0,3}(?P=fence)[`~]*[ \t]*$|\Z)", re.MULTILINE | re.DOTALL
)
_DEFINITION = re.compile(r"^ {0,3}\[[^\]\n]+\]:[ \t]*\S+[^\n]*$", re.MULTILINE)
_BLOCK_START = re.compile(r"^[ \t]*(?:#{1,6}(?=[ \t]|$)|[-*+](?=[ \t])|\d{1,9}[.)](?=[ \t])|\|)", re.MULTILINE)
_QUOTE = re.compile(r"^(?:[ \t]{0,3}>)+", re.MULTILINE)
_RULE = re.compile(
    r"^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,}|={3,}[ \t]*"
    r"|\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*)$",
    re.MULTILINE,
)
_HEADING_END = re.compile(r"[ \t]+#+[ \t]*$", re.MULTILINE)
_CELL_PIPE = re.compile(r"(?<=\S)[ \t]*(?<!\\)\|")  # not a row's last: that one's edit comes first
_ROW_END = re.compile(r"(?<!\\)\|[ \t]*$", re.MULTILINE)
# Inline: a link or image ([text](target "title"), [text][ref]) and its parts; emphasis around something;
# inline code; an autolink; a backslash escape.
_LINK = re.compile(r"(!?\[)[^\[\]\n]{0,500}(\](?:\([^()\n]{0,2000}\)|\[[^\[\]\n]{0,500}\]))")
# What emphasis encloses holds no mark of its own kind, so each mark is looked past once (``*a *a *a``
# scanned ahead to a line's end from every ``*`` took seconds).
_EMPHASIS = re.compile(
    r"(?<![\w*])(\*{1,3})(?=[^\s*])[^\n*]{0,500}(?<=\S)\1(?![\w*])|(?<![\w~])(~~)(?=[^\s~])[^\n~]{0,500}(?<=\S)~~(?!~)"
    r"|(?<!\w)(_{1,3})(?=[^\s_])[^\n_]{0,500}(?<=\S)\3(?!\w)"
)
_CODE = re.compile(r"(?<!`)(`{1,3})(?!`)[^\n`]{1,1000}\1(?!`)")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^\s<>]*|[^\s<>@]+@[^\s<>@]+\.[A-Za-z]{2,})>")
_ESCAPE = re.compile(r"\\[!-/:-@\[-`{-~]")

Edit = tuple[int, int, str]  # source[start:end] is read as the string


@dataclass(frozen=True)
class PlainText:
    """``text`` as read from a source with markup: character ``i`` of it came from
    ``source[starts[i]:ends[i]]`` (``starts``, ``ends``: ``len(text)`` offsets each)."""

    text: str
    starts: Sequence[int]
    ends: Sequence[int]

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """``text[start:end]`` (``start < end``) as offsets into the source."""
        return self.starts[start], self.ends[end - 1]

    def source_entities(self, entities: Iterable[Entity]) -> list[Entity]:
        """``entities`` of :attr:`text` with offsets into the source; each keeps the text read."""
        return [replace(e, start=self.starts[e.start], end=self.ends[e.end - 1]) for e in entities]

    def source_analysis(self, analysis: Analysis) -> Analysis:
        """An analysis of :attr:`text` with its entities', tokens' and alternatives' offsets into the source."""
        tokens = [
            TaggedToken(token.text, self.starts[token.start], self.ends[token.end - 1], token.tag)
            for token in analysis.tokens
        ]
        alternatives = [Alternative(self.source_entities(a.entities), a.log_probability) for a in analysis.alternatives]
        return Analysis(self.source_entities(analysis.entities), tokens, alternatives)


def read_markup(source: str, markup: Markup) -> PlainText:
    """``source`` as read (:data:`MARKUPS`: ``text`` is read as it is)."""
    if markup == "html":
        return _applied(source, _html_edits(source, spaces=True))
    if markup == "markdown":
        return _applied(source, _markdown_edits(source))
    if markup == "text":
        return PlainText(source, range(len(source)), range(1, len(source) + 1))
    raise ValueError(f"markup must be one of {', '.join(MARKUPS)}, not {markup!r}")


def _html_edits(source: str, spaces: bool) -> Iterator[Edit]:
    """How ``source`` is read as HTML: its tags, its references and, with ``spaces``, its line breaks and
    tabs as spaces (in Markdown they mean what they say)."""
    at = 0
    for match in _HTML.finditer(source):
        yield from _html_text_edits(source, at, match.start(), spaces)
        name = (match.group("name") or "").lower()
        if name == "br":
            yield match.start(), match.end(), LINE
        elif name in _CELLS:
            yield match.start(), match.end(), CELL
        elif name in _BLOCKS:
            yield match.start(), match.end(), PARAGRAPH
        else:
            yield match.start(), match.end(), ""
        at = match.end()
    yield from _html_text_edits(source, at, len(source), spaces)


def _html_text_edits(source: str, start: int, end: int, spaces: bool) -> Iterator[Edit]:
    """Text between tags: each reference the character it stands for, with ``spaces`` a line break or
    tab a space."""
    for match in _REFERENCE.finditer(source, start, end):
        if (read := html.unescape(match.group())) != match.group():
            yield match.start(), match.end(), read
    if spaces:
        for match in _HTML_SPACE.finditer(source, start, end):
            yield match.start(), match.end(), " "


def _markdown_edits(source: str) -> list[Edit]:
    """How ``source`` is read as Markdown: block structure first, then what lies inside lines."""
    edits: list[Edit] = []
    for pattern, read in ((_FENCE, PARAGRAPH), (_DEFINITION, ""), (_RULE, PARAGRAPH)):
        edits += [(m.start(), m.end(), read) for m in pattern.finditer(source)]
    for match in _BLOCK_START.finditer(source):
        edits.append((match.start(), match.end(), PARAGRAPH))
    edits += [(m.start(), m.end(), " " * (m.end() - m.start())) for m in _QUOTE.finditer(source)]
    edits += [(m.start(), m.end(), "") for m in _HEADING_END.finditer(source)]
    edits += [(m.start(), m.end(), "") for m in _ROW_END.finditer(source)]
    for row in re.finditer(r"^[ \t]*\|[^\n]*", source, re.MULTILINE):  # cells only in a table's rows
        edits += [(m.start(), m.end(), CELL) for m in _CELL_PIPE.finditer(source, row.start(), row.end())]
    edits += [(m.start(), m.end(), m.group()[1]) for m in _ESCAPE.finditer(source)]
    for match in _CODE.finditer(source):
        ticks = len(match.group(1))
        edits += [(match.start(), match.start() + ticks, ""), (match.end() - ticks, match.end(), "")]
    for match in _LINK.finditer(source):
        edits += [(match.start(1), match.end(1), ""), (match.start(2), match.end(2), "")]
    for match in _AUTOLINK.finditer(source):
        edits += [(match.start(), match.start() + 1, ""), (match.end() - 1, match.end(), "")]
    for match in _EMPHASIS.finditer(source):
        marks = len(match.group(1) or match.group(2) or match.group(3))
        edits += [(match.start(), match.start() + marks, ""), (match.end() - marks, match.end(), "")]
    edits += _html_edits(source, spaces=False)
    return edits


def _applied(source: str, edits: Iterable[Edit]) -> PlainText:
    """``source`` with ``edits`` made, the first of any that overlap kept (block structure before what
    lies inside it), and the source span of each character of the result."""
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    at = 0
    for start, end, read in sorted(_first_of_overlaps(edits)):
        pieces.append(source[at:start])
        starts += range(at, start)
        ends += range(at + 1, start + 1)
        pieces.append(read)
        if len(read) == end - start and read.isspace():  # a space for a space: each keeps its own place
            starts += range(start, end)
            ends += range(start + 1, end + 1)
        else:
            starts += [start] * len(read)
            ends += [end] * len(read)
        at = end
    pieces.append(source[at:])
    starts += range(at, len(source))
    ends += range(at + 1, len(source) + 1)
    return PlainText("".join(pieces), starts, ends)


def _first_of_overlaps(edits: Iterable[Edit]) -> list[Edit]:
    """``edits`` less each that overlaps one given before it."""
    kept: list[Edit] = []
    starts: list[int] = []  # of those kept, in order, with their ends: disjoint
    ends: list[int] = []
    for edit in edits:
        start, end, _ = edit
        i = bisect.bisect_right(starts, start)
        if (i and ends[i - 1] > start) or (i < len(starts) and starts[i] < end):
            continue
        starts.insert(i, start)
        ends.insert(i, end)
        kept.append(edit)
    return kept
