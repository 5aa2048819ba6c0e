"""Words a training corpus writes as one token that the tokenizer cuts, kept whole when a word model tags text.

A column corpus comes with its own tokens: German ones write ordinals and some abbreviations with their
point (``am 3. Oktober``, ``1. FC Köln``, ``z. B.``), Finnish ones a case ending after a colon (``EU:n``),
Spanish ones ``EE.UU.``. :func:`ner.text.tokenize` cuts these (``3`` ``.``), so the model, trained on
``3.``, never sees them in text, and a sentence ends after ``1.`` in the middle of a name.
:meth:`KeptWords.learn` finds them in the training corpus (each seen inside a sentence at least twice, any
digits read as any other digits: ``3.`` and ``7.`` are one form, ``10.`` another); :meth:`KeptWords.joined`
puts the tokens of each back together where text writes them so.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ner.text import Token, tokenize, unspaced_script

if TYPE_CHECKING:
    from ner.corpus import Sentence

log = logging.getLogger("ner")

_DIGIT = re.compile(r"\d")
MIN_COUNT = 2  # times a form is seen inside a sentence to be kept
MOST = 2000  # forms kept at most, the most frequent


def form(word: str) -> str:
    """``word`` with each digit read as ``0``: the form of every number of its length."""
    return _DIGIT.sub("0", word)


class KeptWords:
    """The forms (:func:`form`) of words a corpus writes whole and the tokenizer cuts."""

    def __init__(self, forms: Iterable[str]) -> None:
        self.forms = frozenset(forms)
        # the most tokens the tokenizer cuts a kept word into: how far a run of tokens is looked at
        self.pieces = max((len(tokenize(word)) for word in self.forms), default=1)

    @classmethod
    def learn(cls, sentences: Sequence[Sentence]) -> KeptWords | None:
        """The words of ``sentences`` read from columns (not those cut from text, which carry offsets) seen
        at least :data:`MIN_COUNT` times neither first nor last in their sentence (not a list's number, not
        a sentence's end), that the tokenizer cuts between two words (``W.`` of ``George W. Bush``, an
        initial there, it does not), written in a script with spaces; None if there is none."""
        seen = Counter(
            form(token)
            for sentence in sentences
            if sentence.offsets is None
            for token in sentence.tokens[1:-1]
            if not token.isalnum() and not any(c.isspace() for c in token)
        )
        kept = [
            word
            for word, count in seen.most_common()
            if count >= MIN_COUNT and len(tokenize(f"x {word} Xx")) > 3 and unspaced_script(word) is None
        ][:MOST]
        if not kept:
            return None
        log.info(
            "%d words the corpus writes whole are kept whole in text, which the tokenizer would cut: %s",
            len(kept),
            " ".join(kept[:10]) + (" ..." if len(kept) > 10 else ""),
        )
        return cls(kept)

    def joined(self, tokens: Sequence[Token]) -> list[Token]:
        """``tokens`` with each run of them written together that makes a kept word as one token (the longest
        such run); a word that ends with a point only where a token follows it, as the last point of a text
        ends it."""
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

    def to_json(self) -> list[str]:
        return sorted(self.forms)

    @classmethod
    def from_json(cls, forms: list[str]) -> KeptWords:
        return cls(forms)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KeptWords) and self.forms == other.forms

    def __hash__(self) -> int:
        return hash(self.forms)
