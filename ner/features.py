"""Tokens to tensors: the vocabularies of a model and the batches they encode.

A :class:`Batch` of ``B`` sentences padded to ``T`` tokens holds

- ``words``   ``(B, T)``  word ids (lower-cased words; characters at the char level)
- ``casing``  ``(B, T)``  casing class ids (:data:`ner.vocab.CASINGS`)
- ``chars``   ``(U + 1, L)``  character ids of the ``U`` distinct words of the batch after row 0 (padding), word
  level only
- ``char_index`` ``(B, T)`` the row of ``chars`` that spells each token
- ``char_keys`` the spellings of rows 1.. of ``chars``, tokens cut as ``chars`` cuts them (lets a model reuse
  what it computed before)
- ``bigrams`` ``(B, T, 2)`` ids of the bigrams ending and starting at each character, char level only
- ``lexicon_ids``, ``lexicon_weights`` ``(B, T, 4, M)`` the dictionary words around each character
  (:mod:`ner.lexicon`), char level with a lexicon only
- ``lexicon_words`` ``(B, T, 4, M)`` those words' ids in the vocabulary of lexicon words, when the model has one
- ``word_groups`` ``(B, T)`` one id per word (lower-cased) and document, with a document memory only
- ``mask``    ``(B, T)``  True on real tokens
- ``tags``    ``(B, T)``  gold tag ids, when known
- ``tag_probs`` ``(B, T, K)`` a distribution over tags to learn instead of ``tags`` (distillation), in training
"""

from __future__ import annotations

import itertools
import operator
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields

import numpy as np

from ner.kept_words import KeptWords
from ner.lexicon import Lexicon
from ner.truecasing import Truecaser
from ner.variants import KnownVariants, KnownWidths
from ner.vocab import AnyVocab, CompactVocab, Vocab, bigrams, casing

# The bounds of the cache of each distinct token's features: tokens (about 370 bytes each for a word of 20
# letters and its features: 100,000 hold 37 MB, where 500,000 held 185 MB per model), and the characters of
# their strings (a request of a few 100,000-letter words must not grow it by megabytes each time).
CACHE_TOKENS, CACHE_CHARS = 100_000, 2_000_000


# How min_bigram_count counts, as a model's card records it (a bigram inside a sentence counted twice before).
BIGRAMS_COUNTED = "per occurrence"


@dataclass
class Batch:
    """Encoded sentences as NumPy arrays (int64 ids, bool mask, float32 weights); a torch network
    takes them as tensors (:meth:`ner.model.NERModel.tensors`)."""

    words: np.ndarray
    casing: np.ndarray
    mask: np.ndarray
    chars: np.ndarray | None = None
    char_index: np.ndarray | None = None
    bigrams: np.ndarray | None = None
    tags: np.ndarray | None = None
    char_keys: list[str] | None = None
    lexicon_ids: np.ndarray | None = None
    lexicon_weights: np.ndarray | None = None
    lexicon_words: np.ndarray | None = None
    word_groups: np.ndarray | None = None
    tag_probs: np.ndarray | None = None  # (B, T, K) float32: a distribution over tags to learn instead of ``tags``

    def arrays(self) -> dict[str, np.ndarray]:
        """The batch's arrays by name (those present)."""
        return {f.name: v for f in fields(self) if isinstance(v := getattr(self, f.name), np.ndarray)}


class Vocabularies:
    """Everything that turns tokens into ids for one model."""

    def __init__(
        self,
        level: str,
        words: AnyVocab,
        tags: Vocab,
        chars: Vocab | None = None,
        bigrams: Vocab | None = None,
        max_word_chars: int = 20,
        lexicon: Lexicon | None = None,
        lexicon_words: Vocab | None = None,
        decomposed: bool = False,
        truecaser: Truecaser | None = None,
        kept_words: KeptWords | None = None,
        symbols_in_entities: bool = False,
    ) -> None:
        if level not in ("word", "char"):
            raise ValueError(f"level must be 'word' or 'char', not {level!r}")
        if (level == "word" and chars is None) or (level == "char" and bigrams is None):
            raise ValueError(f"a {level}-level vocabulary needs its {'characters' if level == 'word' else 'bigrams'}")
        if truecaser is not None and level != "word":
            raise ValueError("only a word model restores capitals (a truecaser with a character vocabulary)")
        if kept_words is not None and level != "word":
            raise ValueError("only a word model keeps its corpus's words whole (kept words with characters)")
        self.level, self.words, self.tags = level, words, tags
        self.chars, self.bigrams = chars, bigrams
        self.lexicon = lexicon  # stored beside vocab.json (ner.bundle), not in it
        self.lexicon_words = lexicon_words  # dictionary words the model has embeddings for
        self.max_word_chars = max_word_chars
        # Symbols of text read decomposed (NFD), as a model trained before tokens were read composed (NFC)
        # holds them: a composed token not among them is looked up decomposed (ner.text.model_form).
        self.decomposed = decomposed
        self.truecaser = truecaser  # a word model's capitals for text without them (ner.truecasing)
        self.kept_words = kept_words  # its corpus's words that the tokenizer cuts (ner.kept_words)
        # Whether its corpus put a lone #, @ or emoji in an entity (C#): else the decode keeps them out
        # (ner.text.SYMBOL; a model trained before this was said did not).
        self.symbols_in_entities = symbols_in_entities
        # A character model's characters it knows in another form, a word model's words in the other width
        # (ner.variants), built here (tens of milliseconds) rather than on a service's first request.
        self.variants: KnownVariants | KnownWidths | None = (  # None: read as written
            KnownVariants(words) if level == "char" else KnownWidths(words)
        )
        self._cache: dict[str, tuple[int, int, tuple[int, ...]]] = {}
        self._cache_chars = 0  # the characters of the cache's keys

    @classmethod
    def build(
        cls,
        level: str,
        sentences: Sequence[Sequence[str]],
        tags: Sequence[Sequence[str]],
        extra_words: Sequence[str] = (),
        min_bigram_count: int = 1,
    ) -> Vocabularies:
        """Vocabularies from training sentences; ``extra_words`` (e.g. pretrained) join the words."""
        tag_vocab = _tag_vocab(tags)
        if level == "char":
            char_counts = Counter(c for s in sentences for c in s)
            bigram_counts = Counter(b for s in sentences for b in _bigram_occurrences(s))
            return cls(
                level,
                Vocab([c for c, _ in char_counts.most_common()]),
                tag_vocab,
                bigrams=Vocab.from_counts(bigram_counts, min_bigram_count),
            )
        word_counts = Counter(w.lower() for s in sentences for w in s)
        char_counts = Counter(c for s in sentences for w in s for c in w)
        return cls(
            level,
            Vocab([*(w for w, _ in word_counts.most_common()), *extra_words]),
            tag_vocab,
            chars=Vocab([c for c, _ in char_counts.most_common()]),
        )

    def grown(
        self, sentences: Sequence[Sequence[str]], tags: Sequence[Sequence[str]], min_bigram_count: int = 1
    ) -> Vocabularies:
        """These vocabularies with the new symbols and labels of ``sentences`` appended (bigrams seen at
        least ``min_bigram_count`` times): every known symbol and tag keeps its id, so a model's weights
        carry over row by row."""
        new = Vocabularies.build(self.level, sentences, tags, min_bigram_count=min_bigram_count)

        def merged(old: AnyVocab | None, added: AnyVocab | None) -> Vocab | None:
            if old is None or added is None:
                return old
            return Vocab([*old.itos, *added.itos], specials=())

        grown = Vocabularies(
            self.level,
            merged(self.words, new.words),
            merged(self.tags, new.tags),
            merged(self.chars, new.chars),
            merged(self.bigrams, new.bigrams),
            self.max_word_chars,
            self.lexicon,
            self.lexicon_words,  # a dictionary word new to the model reads as unknown
            decomposed=self.decomposed,
            truecaser=self.truecaser,
            kept_words=self.kept_words,
            symbols_in_entities=self.symbols_in_entities or new.symbols_in_entities,
        )
        return grown

    def replace_words(self, words: Sequence[str]) -> None:
        """Make ``words`` (padding and unknown first) the word vocabulary, ids in their order."""
        self.words = Vocab(words, specials=())
        self._cache, self._cache_chars = {}, 0  # it holds the ids tokens had before
        self.variants = KnownVariants(self.words) if self.level == "char" else KnownWidths(self.words)

    def to_json(self) -> dict:
        out = {
            "level": self.level,
            "words": self.words.itos,
            "tags": self.tags.itos,
            "max_word_chars": self.max_word_chars,
        }
        if self.chars is not None:
            out["chars"] = self.chars.itos
        if self.bigrams is not None:
            out["bigrams"] = self.bigrams.itos
        if self.lexicon_words is not None:
            out["lexicon_words"] = self.lexicon_words.itos
        if self.truecaser is not None:
            out["truecaser"] = self.truecaser.to_json()
        if self.kept_words is not None:
            out["kept_words"] = self.kept_words.to_json()
        if self.symbols_in_entities:
            out["symbols_in_entities"] = True
        return out

    @classmethod
    def from_json(cls, data: dict, compact: bool = False) -> Vocabularies:
        """Vocabularies from :meth:`to_json`; with ``compact``, the words read-only in a trie
        (:class:`CompactVocab`), for tagging: a word is looked up once per distinct token (the token
        cache), while bigrams and lexicon words, looked up for every character, stay in dictionaries."""

        def vocab(key: str) -> Vocab | None:
            return Vocab(data[key], specials=()) if key in data else None

        return cls(
            data["level"],
            CompactVocab.of(data["words"]) if compact else Vocab(data["words"], specials=()),
            Vocab(data["tags"], specials=()),
            chars=vocab("chars"),
            bigrams=vocab("bigrams"),
            max_word_chars=data.get("max_word_chars", 20),
            lexicon_words=vocab("lexicon_words"),
            decomposed=any(not s.isascii() and not unicodedata.is_normalized("NFC", s) for s in _symbols(data)),
            truecaser=Truecaser.from_json(data["truecaser"]) if "truecaser" in data else None,
            kept_words=KeptWords.from_json(data["kept_words"]) if "kept_words" in data else None,
            symbols_in_entities=data.get("symbols_in_entities", False),
        )

    def encode(
        self,
        sentences: Sequence[Sequence[str]],
        tags: Sequence[Sequence[str]] | None = None,
        documents: Sequence[int] | None = None,
    ) -> Batch:
        """Pad and encode sentences of tokens (and their BIOES tags) into a :class:`Batch`;
        with ``documents`` (one id per sentence), also the word groups of a document memory.

        Built from flat lists of all tokens and scattered into the padded
        tensors in one step each; the features of each token string are computed
        once and looked up with C-level ``map`` calls, not a Python loop per token.
        """
        lengths = np.fromiter(map(len, sentences), dtype=np.int64, count=len(sentences))
        width = max(int(lengths.max()) if len(sentences) else 0, 1)
        inside = np.arange(width) < lengths[:, None]  # (B, T)
        tokens = list(itertools.chain.from_iterable(sentences))

        def padded(values: Sequence[int]) -> np.ndarray:
            out = np.zeros((len(sentences), width), dtype=np.int64)
            out[inside] = values
            return out

        known = self._features_of(tokens)
        features = list(map(known.__getitem__, tokens))
        words = padded(list(map(_FIRST, features)))
        case = padded(list(map(_SECOND, features)))
        chars = char_index = bigram_ids = tag_ids = None
        if self.level == "word":
            # Each distinct token is spelled once: frequent words cost the character encoder nothing more.
            rows_of = dict(zip(dict.fromkeys(tokens), itertools.count(1)))
            spellings = list(map(_THIRD, map(known.__getitem__, rows_of)))
            char_index = padded(list(map(rows_of.__getitem__, tokens)))
            counts = np.fromiter(map(len, spellings), dtype=np.int64, count=len(spellings))
            spelled = np.zeros((len(spellings) + 1, max(int(counts.max(initial=0)), 1)), dtype=np.int64)
            rows = np.repeat(np.arange(1, len(spellings) + 1), counts)
            cols = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
            spelled[rows, cols] = np.fromiter(itertools.chain.from_iterable(spellings), dtype=np.int64, count=len(rows))
            chars = spelled
        else:
            pairs = [_both_bigrams(sentence) for sentence in sentences]
            encode = self.bigrams.encode if not self.decomposed else lambda bs: [self._id(self.bigrams, b) for b in bs]
            left = encode(b for p, s in zip(pairs, sentences) for b in p[: len(s)])
            right = encode(b for p, s in zip(pairs, sentences) for b in p[len(s) :])
            bigram_ids = np.stack([padded(left), padded(right)], axis=2)
        lexicon_ids = lexicon_weights = lexicon_words = None
        if self.lexicon is not None and self.lexicon_words is not None:
            lexicon_ids, lexicon_weights, lexicon_words = self.lexicon.features_with_words(
                sentences, width, self.lexicon_words
            )
        elif self.lexicon is not None:
            lexicon_ids, lexicon_weights = self.lexicon.features(sentences, width)
        if tags is not None:
            tag_ids = padded(self.tags.encode(t for sentence_tags in tags for t in sentence_tags))
        keys = [token[: self.max_word_chars] for token in rows_of] if self.level == "word" else None
        groups = padded(word_groups(sentences, documents)) if documents is not None else None
        return Batch(
            words,
            case,
            inside,
            chars,
            char_index,
            bigram_ids,
            tag_ids,
            keys,
            lexicon_ids,
            lexicon_weights,
            lexicon_words,
            groups,
        )

    def _features_of(self, tokens: Sequence[str]) -> dict[str, tuple[int, int, tuple[int, ...]]]:
        """The cache of ``(word id, casing id, character ids)`` per token string, holding ``tokens``.

        Safe when several threads encode at once: a full cache is replaced, never cleared under a
        reader, and entries are only ever added.
        """
        cache = self._cache
        unseen = set(tokens).difference(cache)
        added = sum(map(len, unseen))
        if len(cache) + len(unseen) > CACHE_TOKENS or self._cache_chars + added > CACHE_CHARS:  # start afresh
            cache = self._cache = {}
            unseen = set(tokens)
            added = sum(map(len, unseen))
            self._cache_chars = 0
        self._cache_chars += added
        for token in unseen:
            if self.level == "word":
                word = self._id(self.words, token.lower())
                spelling = tuple(self.chars.encode(self._spelled(token)[: self.max_word_chars]))
            else:
                word, spelling = self._id(self.words, token), ()
            cache[token] = (word, casing(token), spelling)
        return cache

    def _spelled(self, token: str) -> str:
        """``token`` as the characters the model knows: decomposed where (:attr:`decomposed`) one of its
        composed characters is not among them."""
        if not self.decomposed or token.isascii() or all(char in self.chars for char in token):
            return token
        return unicodedata.normalize("NFD", token)

    def _id(self, vocab: AnyVocab, symbol: str) -> int:
        """The id of ``symbol`` (a word, a bigram) in ``vocab``, or of its decomposed form where only that is
        known (:attr:`decomposed`)."""
        found = vocab.lookup(symbol)
        if found != vocab.unk or not self.decomposed or symbol.isascii():
            return found
        return vocab.lookup(unicodedata.normalize("NFD", symbol))


_FIRST, _SECOND, _THIRD = (operator.itemgetter(i) for i in range(3))


def _symbols(data: dict) -> Iterator[str]:
    """The words and characters of a model's ``vocab.json``."""
    return itertools.chain(data["words"], data.get("chars", ()))


def word_groups(sentences: Sequence[Sequence[str]], documents: Sequence[int]) -> list[int]:
    """One id per distinct ``(document, lower-cased token)``, for every token of ``sentences`` in order."""
    ids: dict[tuple[int, str], int] = {}
    return [
        ids.setdefault((document, token.lower()), len(ids))
        for sentence, document in zip(sentences, documents)
        for token in sentence
    ]


def _tag_vocab(tags: Sequence[Sequence[str]]) -> Vocab:
    types = sorted({t[2:] for seq in tags for t in seq if t != "O"})
    return Vocab([f"{p}-{kind}" for kind in types for p in "BIES"], specials=("O",))


def singleton_bigram_share(sentences: Sequence[Sequence[str]]) -> float:
    """The share of the bigram occurrences in ``sentences`` whose bigram occurs only once: Good and
    Turing's estimate of the chance that a bigram met later is one never seen."""
    counts = Counter(b for s in sentences for b in _bigram_occurrences(s))
    total = sum(counts.values())
    return sum(n == 1 for n in counts.values()) / total if total else 0.0


def _bigram_occurrences(chars: Sequence[str]) -> list[str]:
    """Each bigram of ``chars`` once, from ``<s>`` and the first character to the last and ``</s>``."""
    return ["<s>" + chars[0], *bigrams(chars)] if chars else []


def _both_bigrams(chars: Sequence[str]) -> list[str]:
    """The bigrams ending at each character, then those starting at each character."""
    occurrences = _bigram_occurrences(chars)
    return occurrences[:-1] + occurrences[1:]
