"""Words a training corpus writes as one token that the tokenizer cuts, kept whole when a word model tags text.

A column corpus comes with its own tokens: German ones write ordinals and some abbreviations with their
point (``am 3. Oktober``, ``1. FC Köln``, ``z. B.``), Finnish ones a case ending after a colon (``EU:n``),
Spanish ones ``EE.UU.``. :func:`ner.text.tokenize` cuts these (``3`` ``.``), so the model, trained on
``3.``, never sees them in text, and a sentence ends after ``1.`` in the middle of a name.
:meth:`KeptWords.learn` finds them in the training corpus (each seen inside a sentence at least twice, any
digits read as any other digits: ``3.`` and ``7.`` are one form, ``10.`` another); :meth:`KeptWords.joined`
puts the tokens of each back together where text writes them so, and :meth:`KeptWords.cut` ends a sentence
after such a word's point where a word that starts the corpus's sentences follows.

The other way round, OntoNotes and the corpora made from it write a word's inner hyphen as a token of its own
(``US - based``, ``mid - 1990s``), where the tokenizer keeps ``US-based`` whole as CoNLL-2003 does: a model
trained so never finds ``US`` in text. :meth:`KeptWords.learn` sees a corpus that cuts its hyphens (many
``-`` tokens between words, few words hyphenated whole), and :meth:`KeptWords.joined` then cuts text's too.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ner.text import Token, line_start, tokenize, unspaced_script

if TYPE_CHECKING:
    from ner.corpus import Sentence

log = logging.getLogger("ner")

_DIGIT = re.compile(r"\d")
MIN_COUNT = 2  # times a form is seen inside a sentence to be kept
MOST = 2000  # forms kept at most, the most frequent
MAX_PIECES = 8  # tokens a kept word may be cut into: runs of tokens are looked at this far
MIN_STARTS = 3  # times a word is seen first in a sentence, and in half its sentences or more, to start one
MOST_STARTS = 500
# - tokens between a word and a word in lower case or a number (US - based, mid - 1990s; not a title's Galaxy S21 -
# Blue) for a corpus to be read as one that cuts words at hyphens: a small corpus of dashes is not (tweets, lists)
MIN_HYPHENS_APART = 100
# A hyphen inside a word with a letter on one side of it (US-based, mid-1990s, 3,000-strong; not 1996-08-22).
_WORD_HYPHEN = re.compile(r"(?<=[^\W_])-(?=[^\W\d_])|(?<=[^\W\d_])-(?=[^\W_])")
_HOST = re.compile(r"\.[a-z]{2,}(?![^\W_])")  # www.coca-cola.com: an address, kept whole


def form(word: str) -> str:
    """``word`` with each digit read as ``0``: the form of every number of its length."""
    return _DIGIT.sub("0", word)


class KeptWords:
    """The forms (:func:`form`) of words a corpus writes whole and the tokenizer cuts."""

    def __init__(self, forms: Iterable[str], starts: Iterable[str] = (), hyphens_apart: bool = False) -> None:
        pieces = {word: len(tokenize(word)) for word in forms}
        self.forms = frozenset(word for word, count in pieces.items() if count <= MAX_PIECES)
        # the most tokens the tokenizer cuts a kept word into: how far a run of tokens is looked at
        self.pieces = max((pieces[word] for word in self.forms), default=1)
        # words that start the corpus's sentences: after a kept word's point they start one (:meth:`cut`)
        self.starts = frozenset(starts)
        self.hyphens_apart = hyphens_apart  # a word's inner hyphen a token of its own (US - based)

    @classmethod
    def learn(cls, sentences: Sequence[Sentence]) -> KeptWords | None:
        """The words of ``sentences`` read from columns (not those cut from text, which carry offsets) seen
        at least :data:`MIN_COUNT` times neither first nor last in their sentence (not a list's number, not
        a sentence's end), with a letter or digit, not ending with ! or ?, that the tokenizer cuts between
        two words (``W.`` of ``George W. Bush``, an initial there, it does not), written in a script with
        spaces; with the capitalized words that start its sentences (:data:`MIN_STARTS`) and are seen in
        lower case too (not names); whether it cuts words at their hyphens (:func:`_hyphens_apart`); None if
        there is no such word and it does not."""
        columns = [sentence.tokens for sentence in sentences if sentence.offsets is None and sentence.tokens]
        hyphens_apart = _hyphens_apart(columns)
        seen = Counter(
            form(token)
            for tokens in columns
            for token in tokens[1:-1]
            if not token.isalnum() and any(c.isalnum() for c in token) and not any(c.isspace() for c in token)
        )
        kept = [
            word
            for word, count in seen.most_common()
            if count >= MIN_COUNT
            and word[-1] not in "!?"  # Paris!! London: an end, however written
            and len(tokenize(f"x {word} Xx")) > 3
            and unspaced_script(word) is None
        ][:MOST]
        if not kept:
            return cls([], hyphens_apart=True) if hyphens_apart else None
        first = Counter(tokens[0] for tokens in columns)
        everywhere = Counter(token for tokens in columns for token in tokens if token in first)
        lowered = {token for tokens in columns for token in tokens[1:] if token.islower()}
        starts = [
            word
            for word, count in first.most_common()
            if count >= MIN_STARTS
            and 2 * count >= everywhere[word]
            and word[:1].isupper()
            and word.lower() in lowered  # not a name: Die, Ihr, Por, not Bayern
        ][:MOST_STARTS]
        log.info(
            "%d words the corpus writes whole are kept whole in text, which the tokenizer would cut: %s",
            len(kept),
            " ".join(kept[:10]) + (" ..." if len(kept) > 10 else ""),
        )
        return cls(kept, starts, hyphens_apart)

    def joined(self, tokens: Sequence[Token]) -> list[Token]:
        """``tokens`` with each run of them written together that makes a kept word as one token (the longest
        such run); a word that ends with a point only where a token follows it, as the last point of a text
        ends it. Where the corpus cuts words at their hyphens, each such hyphen is first a token of its own."""
        if self.hyphens_apart:
            tokens = [piece for token in tokens for piece in _cut_at_hyphens(token)]
        out: list[Token] = []
        index = 0
        while index < len(tokens):
            last, written = index, tokens[index].text
            for end in range(index + 1, min(index + self.pieces, len(tokens))):
                if tokens[end].start != tokens[end - 1].end:
                    break
                written += tokens[end].text
                if form(written) in self.forms and (end + 1 < len(tokens) or written[-1] != "."):
                    last = end
            if last == index:
                out.append(tokens[index])
            else:
                word = "".join(token.text for token in tokens[index : last + 1])
                out.append(Token(word, tokens[index].start, tokens[last].end))
            index = last + 1
        return out

    def cut(self, text: str, sentences: list[list[Token]]) -> list[list[Token]]:
        """``sentences`` of ``text`` (:meth:`joined` tokens, as :func:`ner.text.split_sentences` groups them
        before it cuts long ones) also cut after a kept word's point before a word that starts the corpus's
        sentences (``Sie ist 34. Ihr Mann``; ``EE.UU. Por su parte``), and a number's point that ends a
        sentence a token of its own again, as the corpus writes a sentence's end (``Hannover 96 .``); not a
        list's number at a line's start (``1. Die Regierung``)."""
        out: list[list[Token]] = []
        for sentence in sentences:
            start = 0
            for index in range(1, len(sentence)):
                if sentence[index].text in self.starts and self._point_kept(text, sentence[index - 1]):
                    out.append(sentence[start:index])
                    start = index
            out.append(sentence[start:])
        return [self._point_apart(text, sentence) for sentence in out]

    def _point_kept(self, text: str, token: Token) -> bool:
        """Whether ``token`` is a kept word that ends with a point, not a number that starts a line."""
        if len(token.text) < 2 or token.text[-1] != "." or form(token.text) not in self.forms:
            return False
        return not token.text[0].isdigit() or bool(
            text[line_start(text, token.start) : token.start].replace(">", " ").strip()
        )

    def _point_apart(self, text: str, sentence: list[Token]) -> list[Token]:
        last = sentence[-1]
        if not (last.text[0].isdigit() and self._point_kept(text, last)):
            return sentence
        return [*sentence[:-1], Token(last.text[:-1], last.start, last.end - 1), Token(".", last.end - 1, last.end)]

    def to_json(self) -> dict:
        out = {"forms": sorted(self.forms), "starts": sorted(self.starts)}
        return {**out, "hyphens_apart": True} if self.hyphens_apart else out

    @classmethod
    def from_json(cls, data: dict) -> KeptWords:
        return cls(data["forms"], data["starts"], data.get("hyphens_apart", False))


def _hyphens_apart(columns: Sequence[Sequence[str]]) -> bool:
    """Whether a corpus writes a word's inner hyphens as tokens of their own: :data:`MIN_HYPHENS_APART` ``-``
    tokens or more between a word and a word in lower case or a number (one with a letter beside the hyphen),
    ten times the words it writes hyphenated whole (CoNLL-2003: under 100 apart, its dashes, against 1,828 whole)."""
    apart = sum(
        1
        for tokens in columns
        for before, token, after in zip(tokens, tokens[1:], tokens[2:])
        if token == "-" and not after[0].isupper() and _WORD_HYPHEN.search(f"{before[-1]}-{after[0]}")
    )
    if apart < MIN_HYPHENS_APART:
        return False
    whole = sum(1 for tokens in columns for token in tokens if _WORD_HYPHEN.search(token))
    if whole * 10 >= apart:
        return False
    log.info("the corpus writes a word's inner hyphens apart (%d times, %d words whole): so are text's", apart, whole)
    return True


def _cut_at_hyphens(token: Token) -> list[Token]:
    """``token`` cut at each :data:`_WORD_HYPHEN` into words and hyphens (not an address's: a@b-c.com)."""
    if "-" not in token.text or "@" in token.text or "://" in token.text or _HOST.search(token.text):
        return [token]
    pieces, at = [], 0
    for hyphen in _WORD_HYPHEN.finditer(token.text):
        pieces += [(at, hyphen.start()), (hyphen.start(), hyphen.end())]
        at = hyphen.end()
    if not pieces:
        return [token]
    pieces.append((at, len(token.text)))
    return [Token(token.text[start:end], token.start + start, token.start + end) for start, end in pieces]
