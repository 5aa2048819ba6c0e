"""A word lexicon for character-level models: SoftLexicon features (Ma et al. 2020).

For each character of a sentence, the dictionary words found in the text
around it fall into four sets: the words it Begins, those it is in the
Middle of, those it Ends, and the Single-character word it is itself. A
matched word is represented by its *class*: its part of speech in the
dictionary (person name, place name, organisation, noun, verb, ...) and its
length, so that a word never seen in training still says "a four-character
place name starts here". Within each set the classes are pooled with weights
``log(2 + frequency)``, normalised to sum to one; an empty set is the class
``NONE``.

The default lexicon is jieba's dictionary (about 350,000 words with
frequencies and parts of speech). A model keeps its own copy in its directory
(``lexicon.txt.gz``), so it tags the same way wherever it runs.

With ``lexicon_words``, a model also learns an embedding for each dictionary
word seen in its training data, added to its class's (SoftLexicon's word
embeddings, learned here since no pretrained Chinese vectors are at hand).

For ``B`` sentences padded to ``T`` characters, :meth:`Lexicon.features` gives
class ids ``(B, T, 4, M)`` and weights ``(B, T, 4, M)``, ``M`` the largest
number of words in one set (at most ``max_per_set``);
:meth:`Lexicon.features_with_words` also the words' ids.
"""

from __future__ import annotations

import gzip
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ner.vocab import Vocab

SETS = ("B", "M", "E", "S")
NONE = "<none>"
LONGEST_BUCKET = 5  # words of 5 or more characters share a length class


class Lexicon:
    """Dictionary words with frequencies and parts of speech, and their matches in text."""

    def __init__(self, entries: Iterable[tuple[str, int, str]], max_per_set: int = 8) -> None:
        """``entries``: ``(word, frequency, part of speech)``; later duplicates of a word are ignored."""
        self.max_per_set = max_per_set
        words: dict[str, tuple[int, str]] = {}
        for word, frequency, tag in entries:
            if word and not any(c.isspace() for c in word):
                words.setdefault(word, (frequency, tag))
        self.words = words
        self.classes = Vocab(
            sorted({_class_name(tag, len(w)) for w, (_, tag) in words.items()}), specials=("<pad>", NONE)
        )
        # Every word and every prefix of one: a prefix that is no word maps to None (jieba's trick),
        # so that matching stops as soon as the text leaves the dictionary.
        self._table: dict[str, tuple[int, float] | None] = {}
        for word in words:
            for end in range(1, len(word)):
                self._table.setdefault(word[:end], None)
        for word, (frequency, tag) in words.items():
            self._table[word] = (self.classes.stoi[_class_name(tag, len(word))], math.log(2 + frequency))

    def __len__(self) -> int:
        return len(self.words)

    # -- reading and writing ------------------------------------------------------

    @classmethod
    def from_jieba(cls) -> Lexicon:
        """jieba's dictionary, from the installed ``jieba`` package."""
        try:
            import jieba
        except ImportError as error:
            raise RuntimeError("the Chinese lexicon needs jieba: pip install 'ner-service[train]'") from error
        return cls.from_text((Path(jieba.__file__).parent / "dict.txt").read_text(encoding="utf-8"))

    @classmethod
    def from_text(cls, text: str) -> Lexicon:
        """Lines of ``word frequency [part of speech]`` (jieba's format)."""
        entries = []
        for line in text.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                entries.append((parts[0], int(parts[1]), parts[2] if len(parts) > 2 else "x"))
        return cls(entries)

    @classmethod
    def from_bytes(cls, data: bytes) -> Lexicon:
        """A lexicon written by :meth:`to_bytes`."""
        return cls.from_text(gzip.decompress(data).decode("utf-8"))

    def to_bytes(self) -> bytes:
        """The lexicon as gzip-compressed text (deterministic: no time stamp)."""
        text = "".join(f"{w} {f} {t}\n" for w, (f, t) in self.words.items())
        return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)

    # -- matching --------------------------------------------------------------------

    def matches(self, chars: Sequence[str]) -> list[tuple[int, int, int, float]]:
        """``(start, end, class id, weight)`` of every dictionary word in ``chars``."""
        table, found, n = self._table, [], len(chars)
        for start in range(n):
            word, end = chars[start], start + 1
            while True:
                entry = table.get(word, False)
                if entry is False:
                    break
                if entry is not None:
                    found.append((start, end, *entry))
                if end == n:
                    break
                word += chars[end]
                end += 1
        return found

    def features(self, sentences: Sequence[Sequence[str]], width: int) -> tuple[np.ndarray, np.ndarray]:
        """Class ids ``(B, width, 4, M)`` (int64) and weights ``(B, width, 4, M)`` (float32).

        Each character's four sets hold its matches' classes with weights normalised per
        set (the heaviest ``max_per_set`` words of a set are kept); an empty set holds
        ``NONE`` with weight 1; padding positions hold only padding (id 0, weight 0).
        """
        ids, weights, _ = self._fill(sentences, width, None)
        return ids, weights

    def features_with_words(
        self, sentences: Sequence[Sequence[str]], width: int, words: Vocab
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """As :meth:`features`, and the id in ``words`` of each pooled word ``(B, width, 4, M)``
        (``words.unk`` for a word outside it, 0 where there is none)."""
        ids, weights, word_ids = self._fill(sentences, width, words)
        assert word_ids is not None
        return ids, weights, word_ids

    def _fill(
        self, sentences: Sequence[Sequence[str]], width: int, words: Vocab | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        slots: list[list[list[list[tuple[float, int, int]]]]] = [
            [[[] for _ in SETS] for _ in sentence] for sentence in sentences
        ]
        lookup, unknown = (words.stoi.get, words.unk) if words is not None else (None, 0)
        for row, sentence in zip(slots, sentences):
            for start, end, kind, weight in self.matches(sentence):
                member = (weight, kind, lookup("".join(sentence[start:end]), unknown) if lookup else 0)
                if end - start == 1:
                    row[start][3].append(member)
                    continue
                row[start][0].append(member)
                row[end - 1][2].append(member)
                for middle in range(start + 1, end - 1):
                    row[middle][1].append(member)
        most = max((len(s) for row in slots for char in row for s in char), default=1)
        depth = max(1, min(most, self.max_per_set))
        shape = (len(sentences), width, len(SETS), depth)
        ids, weights = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.float32)
        word_ids = np.zeros(shape, dtype=np.int64) if words is not None else None
        none = self.classes.stoi[NONE]
        for b, row in enumerate(slots):
            for t, char in enumerate(row):
                for s, members in enumerate(char):
                    if not members:
                        ids[b, t, s, 0], weights[b, t, s, 0] = none, 1.0
                        continue
                    if len(members) > depth:
                        members = sorted(members, reverse=True)[:depth]
                    total = sum(m[0] for m in members)
                    for m, (weight, kind, word) in enumerate(members):
                        ids[b, t, s, m], weights[b, t, s, m] = kind, weight / total
                        if word_ids is not None:
                            word_ids[b, t, s, m] = word
        return ids, weights, word_ids

    def matched_words(self, sentences: Iterable[Sequence[str]]) -> Counter[str]:
        """How often each dictionary word matches in ``sentences``."""
        return Counter("".join(s[start:end]) for s in sentences for start, end, _, _ in self.matches(s))


def _class_name(tag: str, length: int) -> str:
    return f"{tag}:{min(length, LONGEST_BUCKET)}"
