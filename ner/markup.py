"""Markup to plain text: an HTML page or a Markdown document read as the text a reader sees, and each
entity found in that text taken back to where it stands in the source.

    plain = read_markup(page, "html")                      # plain.text: what the tagger reads
    entities = plain.source_entities(tagger.tag(plain.text))  # start, end: offsets into ``page``

A model trained on prose has never seen ``<b>`` or ``**``: read as words, they cost it the names around
them (``<p>Barack Obama met <b>Angela</b> <i>Merkel</i> in Berlin.</p>`` gave no person). Markup is read
the way a browser shows it:

- HTML: a tag that starts or ends a block (``<p>``, ``<li>``, ``<h2>``, ``</div>``) is a paragraph break,
  ``<br>`` a line break, a table's cell (``<td>``, ``<th>``) a tab (:func:`ner.text.split_sentences` ends a
  sentence at each, so no entity runs from one cell into the next), an inline tag (``<b>``, ``<a href>``)
  nothing; ``<script>``, ``<style>``, ``<svg>``, ``<template>`` and comments are left out whole; a
  character reference (``&amp;``, ``&#233;``) is the character it stands for; the source's line breaks and
  tabs are spaces.
- Markdown: a heading's, list item's or table row's start is a paragraph break, a table's inner pipe a tab;
  a quote's ``>`` is a space, so a quoted paragraph reads as one; emphasis marks (``**``, ``_``, ``~~``),
  inline code's backticks, a link's or image's target (``[text](url)`` is ``text``), a reference
  definition and a fenced code block are left out; a backslash escape is the character escaped; HTML in it
  is read as above, but inside code, which is text as written (```<script>```).

Each character of :attr:`PlainText.text` remembers the stretch of the source it came from (a reference's
``&amp;`` whole for its ``&``), so an entity's ``start`` and ``end`` are offsets into the source and its
``text`` is what was read there (``AT&T`` for ``AT&amp;T``).
"""

from __future__ import annotations

import bisect
import html
import html.entities
import re
from collections.abc import Iterable, Sequence
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
_TAG_READS = {"br": LINE, "td": CELL, "th": CELL, **dict.fromkeys(_BLOCKS, PARAGRAPH)}
_UNSEEN = r"script|style|noscript|template|svg|math"

# A tag's attributes: quoted values (> inside them), else any character but < and > (a stray quote too, as
# browsers read alt=Paul's), each taken whole once.
_ATTRIBUTES = r"(?:(?>\"[^\"]*\"|'[^']*'|[^<>]))*"
# A comment (closed as browsers close one: <!-->, --!>), a declaration (<!DOCTYPE>, <![CDATA[...]]>), a
# processing instruction; an element never shown, with its content; a start or end tag (its name as HTML
# reads one: <svg-icon>, Word's <o:p>); each runs to the text's end where it is not closed.
_HTML = re.compile(
    rf"<!--(?:-?>|.*?--!?>|.*\Z)|<![^>]*(?:>|\Z)|<\?[^>]*(?:>|\Z)"
    rf"|<(?P<unseen>{_UNSEEN})(?=[\s/>]){_ATTRIBUTES}>.*?(?:</(?P=unseen)\s*>|\Z)"
    rf"|</?(?P<name>[A-Za-z][^\s/<>]*)(?:\s{_ATTRIBUTES})?/?>",
    re.DOTALL | re.IGNORECASE,
)
# A character reference: numeric, named with its ;, or one of the names HTML reads without it (&nbsp, &amp).
_LEGACY = "|".join(sorted((name for name in html.entities.html5 if not name.endswith(";")), key=len, reverse=True))
_REFERENCE = re.compile(rf"&(?:#[0-9]{{1,7}};?|#[xX][0-9A-Fa-f]{{1,6}};?|[A-Za-z][A-Za-z0-9]{{1,31}};|(?:{_LEGACY}))")
_HTML_SPACES = str.maketrans(dict.fromkeys("\t\n\r\f\v\u2028\u2029", " "))

# Markdown, by lines: a fenced code block; a reference definition; a heading's, list item's or table row's
# start; a quote's marks; a thematic break; a table's delimiter row.
# (A backtick fence's line holds no other backtick: ```make``` is inline code. A line may end in CR LF.)
_FENCE = re.compile(
    r"^ {0,3}(?P<fence>`{3,}(?=[^`\n]*$)|~{3,})[^\n]*$.*?(?:^ {0,3}(?P=fence)[`~]*[ \t\r]*$|\Z)",
    re.MULTILINE | re.DOTALL,
)
_DEFINITION = re.compile(
    r"^ {0,3}\[[^\]\n]+\]:[ \t]*\S+(?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^)\n]*\)))?[ \t\r]*$", re.MULTILINE
)
_BLOCK_START = re.compile(r"^[ \t]*(?:#{1,6}(?=[ \t]|$)|[-*+](?=[ \t])|\d{1,9}[.)](?=[ \t])|\|)", re.MULTILINE)
_QUOTE = re.compile(r"^(?:[ \t]{0,3}>)+", re.MULTILINE)
_RULE = re.compile(
    r"^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,}|={3,}[ \t]*"
    r"|\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*)\r?$",
    re.MULTILINE,
)
_HEADING = re.compile(r"^[ \t]*#{1,6}(?=[ \t]|\r?$)[^\n]*", re.MULTILINE)
_CELL_PIPE = re.compile(r"(?<=\S)[ \t]*(?<!\\)\|")  # not a row's last: that one's edit comes first
_TABLE_ROW = re.compile(r"^[ \t]*\|[^\n]*", re.MULTILINE)  # a table's cells are only in its rows
_ROW_END = re.compile(r"(?<!\\)\|[ \t\r]*$", re.MULTILINE)
# Inline: a link or image ([text](target "title"), [text][ref]) and its parts; emphasis around something;
# inline code; an autolink; a backslash escape.
_TARGET = r"(\](?:\((?:[^()\n]|\([^()\n]*\)){0,2000}\)|\[[^\[\]\n]{0,500}\]))"
_LINK = re.compile(rf"(!?\[)[^\[\]\n]{{0,500}}{_TARGET}")
_BADGE = re.compile(rf"(\[)(?=!\[)(?:[^\[\]\n]|!\[[^\[\]\n]*\]\([^()\n]*\)){{0,500}}{_TARGET}")  # [![alt](img)](url)
# What emphasis encloses holds no mark of its own kind, so each mark is looked past once (``*a *a *a``
# scanned ahead to a line's end from every ``*`` took seconds): single marks first, then double ones around
# them (**Barack *Obama* met**); a line break but no blank line inside.
_IN = r"(?:[^\n{0}]|\n(?![ \t]*\r?\n))"
_EMPHASIS = re.compile(
    rf"(?<![\w*])(\*)(?=[^\s*]){_IN.format('*')}{{0,500}}(?<=\S)\*(?![\w*])"
    rf"|(?<![\w_])(_)(?=[^\s_]){_IN.format('_')}{{0,500}}(?<=\S)_(?![\w_])"
    rf"|(?<![\w~])(~~)(?=[^\s~]){_IN.format('~')}{{0,500}}(?<=\S)~~(?!~)"
)
_STRONG = re.compile(
    rf"(?<![\w*])(\*\*\*?)(?=[^\s*])(?:{_IN.format('*')}|\*(?!\*)){{0,500}}(?<=\S)\1(?![\w*])"
    rf"|(?<![\w_])(___?)(?=[^\s_])(?:{_IN.format('_')}|_(?!_)){{0,500}}(?<=\S)\2(?![\w_])"
)
_CODE = re.compile(r"(?<!`)(`{1,3})(?!`)[^\n`]{1,1000}\1(?!`)")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^\s<>]*|[^\s<>@]+@[^\s<>@]+\.[A-Za-z]{2,})>")
_ESCAPE = re.compile(r"\\[!-/:-@\[-`{-~]")

Edit = tuple[int, int, str]  # source[start:end] is read as the string


@dataclass(frozen=True)
class PlainText:
    """``text`` as read from a source with markup, in pieces: from ``offsets[k]`` on (up to the next
    piece's), it came character for character from ``source[sources[k]:]`` where ``ends[k]`` is None,
    else each character from all of ``source[sources[k]:ends[k]]`` (a tag's break, a reference's
    character)."""

    text: str
    offsets: Sequence[int]
    sources: Sequence[int]
    ends: Sequence[int | None]

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """``text[start:end]`` (``start < end``) as offsets into the source."""
        first = bisect.bisect_right(self.offsets, start) - 1
        last = bisect.bisect_right(self.offsets, end - 1) - 1
        source_start = self.sources[first] + (start - self.offsets[first] if self.ends[first] is None else 0)
        source_end = self.ends[last]
        if source_end is None:
            source_end = self.sources[last] + end - self.offsets[last]
        return source_start, source_end

    def source_entities(self, entities: Iterable[Entity]) -> list[Entity]:
        """``entities`` of :attr:`text` with offsets into the source; each keeps the text read."""
        moved = []
        for entity in entities:
            start, end = self.source_span(entity.start, entity.end)
            moved.append(replace(entity, start=start, end=end))
        return moved

    def source_analysis(self, analysis: Analysis) -> Analysis:
        """An analysis of :attr:`text` with its entities', tokens' and alternatives' offsets into the source."""
        tokens = [TaggedToken(t.text, *self.source_span(t.start, t.end), t.tag) for t in analysis.tokens]
        alternatives = [Alternative(self.source_entities(a.entities), a.log_probability) for a in analysis.alternatives]
        return Analysis(self.source_entities(analysis.entities), tokens, alternatives)


def read_markup(source: str, markup: Markup) -> PlainText:
    """``source`` as read (:data:`MARKUPS`: ``text`` is read as it is)."""
    if markup == "html":
        return _applied(source, _html_edits(source), _HTML_SPACES)
    if markup == "markdown":
        return _applied(source, _markdown_edits(source))
    if markup == "text":
        return PlainText(source, [0], [0], [None])
    raise ValueError(f"markup must be one of {', '.join(MARKUPS)}, not {markup!r}")


def _html_edits(source: str) -> list[list[Edit]]:
    """How ``source`` is read as HTML: what is never shown (comments, scripts), its tags, then its
    references (those outside tags)."""
    matches = list(_HTML.finditer(source))
    hidden = [(m.start(), m.end(), "") for m in matches if m.group("name") is None]
    tags = [(m.start(), m.end(), _TAG_READS.get(m.group("name").lower(), "")) for m in matches if m.group("name")]
    references = [(m.start(), m.end(), html.unescape(m.group())) for m in _REFERENCE.finditer(source)]
    return [hidden, tags, [edit for edit in references if edit[2] != source[edit[0] : edit[1]]]]


def _markdown_edits(source: str) -> list[list[Edit]]:
    """How ``source`` is read as Markdown: code first (a fenced block left out, a code span's ticks), then
    what HTML in it never shows, block structure, what lies inside lines, and HTML's tags and references;
    none of those looked for inside code (`<script>` there is text)."""
    fences = [(m.start(), m.end(), PARAGRAPH) for m in _FENCE.finditer(source)]
    spans = list(_CODE.finditer(_blanked(source, fences)))
    code = [edit for match in spans for edit in _marks_around(_CODE, match)]
    text = _blanked(source, fences + [(m.start(), m.end(), "") for m in spans])  # code as spaces
    hidden, tags, references = _html_edits(text)
    rows = [row.span() for row in _TABLE_ROW.finditer(text)]
    edits = [
        fences,
        code,
        hidden,
        [(m.start(), m.end(), "") for m in _DEFINITION.finditer(text)],
        [(m.start(), m.end(), PARAGRAPH) for m in _RULE.finditer(text)],
        [(m.start(), m.end(), PARAGRAPH) for m in _BLOCK_START.finditer(text)],
        [(m.start(), m.end(), " " * (m.end() - m.start())) for m in _QUOTE.finditer(text)],
        [edit for m in _HEADING.finditer(text) for edit in _heading_end(m)],
        [(m.start(), m.end(), "") for m in _ROW_END.finditer(text)],
        [(m.start(), m.end(), CELL) for start, end in rows for m in _CELL_PIPE.finditer(text, start, end)],
        [(m.start(), m.end(), m.group()[1]) for m in _ESCAPE.finditer(text)],
    ]
    for pattern in (_BADGE, _LINK, _AUTOLINK, _EMPHASIS, _STRONG):
        edits.append([edit for match in pattern.finditer(text) for edit in _marks_around(pattern, match)])
    return [*edits, tags, references]


def _blanked(source: str, edits: list[Edit]) -> str:
    """``source`` with what ``edits`` cover written as spaces (its line breaks kept): the same offsets."""
    pieces, at = [], 0
    for start, end, _ in sorted(edits):
        pieces += [source[at:start], _NOT_LINE_END.sub(" ", source[start:end])]
        at = end
    return "".join([*pieces, source[at:]])


_NOT_LINE_END = re.compile(r"[^\n]")


def _heading_end(heading: re.Match[str]) -> list[Edit]:
    """The closing marks of an ATX heading's line (``# Title ##``), if it has them."""
    line = heading.group().rstrip(" \t\r")
    text = line.rstrip("#")
    if text == line or not text[-1:].isspace():  # none, or a word's own: # C#
        return []
    return [(heading.start() + len(text.rstrip(" \t")), heading.start() + len(line), "")]


def _marks_around(pattern: re.Pattern[str], match: re.Match[str]) -> list[Edit]:
    """The marks a match of an inline pattern leaves out: a link's ``[`` and ``](target)``, the same
    marks on either side of code, an autolink or emphasis."""
    if pattern is _LINK or pattern is _BADGE:
        return [(match.start(1), match.end(1), ""), (match.start(2), match.end(2), "")]
    marks = 1 if pattern is _AUTOLINK else len(next(mark for mark in match.groups() if mark))
    return [(match.start(), match.start() + marks, ""), (match.end() - marks, match.end(), "")]


def _applied(source: str, edits: list[list[Edit]], spaces: dict[int, str] | None = None) -> PlainText:
    """``source`` with ``edits`` made (each list's in order, disjoint; of those that overlap, the one of an
    earlier list made: block structure before what lies inside it), and, with ``spaces``, the source's
    characters between them translated (HTML's line breaks and tabs: spaces)."""
    kept = source.translate(spaces) if spaces else source  # character for character
    pieces: list[str] = []
    offsets: list[int] = []
    sources: list[int] = []
    ends: list[int | None] = []
    length = at = 0
    for start, end, read in _first_of_overlaps(edits):
        if start > at:
            pieces.append(kept[at:start])
            offsets.append(length)
            sources.append(at)
            ends.append(None)
            length += start - at
        if read:
            pieces.append(read)
            offsets.append(length)
            sources.append(start)
            ends.append(None if len(read) == end - start and read.isspace() else end)
            length += len(read)
        at = end
    if at < len(source) or not pieces:
        pieces.append(kept[at:])
        offsets.append(length)
        sources.append(at)
        ends.append(None)
    return PlainText("".join(pieces), offsets, sources, ends)


def _first_of_overlaps(groups: list[list[Edit]]) -> list[Edit]:
    """The edits of ``groups`` in order, less each that overlaps one kept before it: one of an earlier
    group, or an earlier one of its own."""
    kept: list[Edit] = []
    for group in groups:
        merged: list[Edit] = []
        i = 0
        for edit in sorted(group):
            while i < len(kept) and kept[i][1] <= edit[0]:  # those kept that end before it starts
                merged.append(kept[i])
                i += 1
            if (i < len(kept) and kept[i][0] < edit[1]) or (merged and merged[-1][1] > edit[0]):
                continue
            merged.append(edit)
        kept = merged + kept[i:]
    return kept
