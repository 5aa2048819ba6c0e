"""Tokens to tensors: the vocabularies of a model and the batches they encode.

A :class:`Batch` of ``B`` sentences padded to ``T`` tokens holds

- ``words``   ``(B, T)``  word ids (lower-cased words; characters at the char level)
- ``casing``  ``(B, T)``  casing class ids (:data:`ner.vocab.CASINGS`)
- ``chars``   ``(U, L)``  character ids of the ``U`` distinct words of the batch (row 0: padding), word level only
- ``char_index`` ``(B, T)`` the row of ``chars`` that spells each token
- ``char_keys`` the token strings of rows 1.. of ``chars`` (lets a model reuse what it computed before)
- ``bigrams`` ``(B, T, 2)`` ids of the bigrams ending and starting at each character, char level only
- ``mask``    ``(B, T)``  True on real tokens
- ``tags``    ``(B, T)``  gold tag ids, when known
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import torch

from ner.vocab import Vocab, bigrams, casing


@dataclass
class Batch:
    words: torch.Tensor
    casing: torch.Tensor
    mask: torch.Tensor
    chars: torch.Tensor | None = None
    char_index: torch.Tensor | None = None
    bigrams: torch.Tensor | None = None
    tags: torch.Tensor | None = None
    char_keys: list[str] | None = None

    def to(self, device: torch.device | str) -> Batch:
        def move(value: object) -> object:
            return value.to(device, non_blocking=True) if isinstance(value, torch.Tensor) else value

        return Batch(*(move(getattr(self, f.name)) for f in fields(self)))

    @property
    def lengths(self) -> torch.Tensor:
        return self.mask.sum(1)


class Vocabularies:
    """Everything that turns tokens into ids for one model."""

    def __init__(
        self,
        level: str,
        words: Vocab,
        tags: Vocab,
        chars: Vocab | None = None,
        bigrams: Vocab | None = None,
        max_word_chars: int = 20,
    ) -> None:
        if level not in ("word", "char"):
            raise ValueError(f"level must be 'word' or 'char', not {level!r}")
        self.level, self.words, self.tags = level, words, tags
        self.chars, self.bigrams = chars, bigrams
        self.max_word_chars = max_word_chars
        self._cache: dict[str, tuple[int, int, tuple[int, ...]]] = {}

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
            bigram_counts = Counter(b for s in sentences for b in _both_bigrams(s))
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
        return out

    @classmethod
    def from_json(cls, data: dict) -> Vocabularies:
        def vocab(key: str) -> Vocab | None:
            return Vocab(data[key], specials=()) if key in data else None

        return cls(
            data["level"],
            Vocab(data["words"], specials=()),
            Vocab(data["tags"], specials=()),
            chars=vocab("chars"),
            bigrams=vocab("bigrams"),
            max_word_chars=data.get("max_word_chars", 20),
        )

    def encode(self, sentences: Sequence[Sequence[str]], tags: Sequence[Sequence[str]] | None = None) -> Batch:
        """Pad and encode sentences of tokens (and their BIOES tags) into a :class:`Batch`.

        Built from flat lists of all tokens and scattered into the padded
        tensors in one step each; features of a token string are cached.
        """
        lengths = torch.tensor([len(s) for s in sentences], dtype=torch.long)
        width = max(int(lengths.max()) if len(sentences) else 0, 1)
        mask = torch.arange(width).unsqueeze(0) < lengths.unsqueeze(1)
        tokens = [token for sentence in sentences for token in sentence]

        def padded(values: Sequence[int]) -> torch.Tensor:
            if len(sentences) == 1 and len(values) == width:  # nothing to pad
                return torch.tensor([values], dtype=torch.long).view(1, width)
            out = torch.zeros(len(sentences), width, dtype=torch.long)
            if values:
                out[mask] = torch.as_tensor(values, dtype=torch.long)
            return out

        features = [self._features(token) for token in tokens]
        words = padded([f[0] for f in features])
        case = padded([f[1] for f in features])
        chars = char_index = bigram_ids = tag_ids = None
        if self.level == "word":
            # Each distinct token is spelled once: frequent words cost the character encoder nothing more.
            rows_of: dict[str, int] = {}
            spellings: list[tuple[int, ...]] = []
            index = []
            for token, feature in zip(tokens, features):
                row = rows_of.get(token)
                if row is None:
                    row = rows_of[token] = len(spellings) + 1
                    spellings.append(feature[2])
                index.append(row)
            char_index = padded(index)
            longest = max((len(s) for s in spellings), default=1) or 1
            chars = torch.zeros(len(spellings) + 1, longest, dtype=torch.long)
            if spellings:
                counts = np.fromiter((len(s) for s in spellings), dtype=np.int64, count=len(spellings))
                rows = np.repeat(np.arange(1, len(spellings) + 1), counts)
                cols = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
                chars[torch.from_numpy(rows), torch.from_numpy(cols)] = torch.as_tensor(
                    list(itertools.chain.from_iterable(spellings)), dtype=torch.long
                )
        else:
            pairs = [_both_bigrams(sentence) for sentence in sentences]
            left = self.bigrams.encode(b for p, s in zip(pairs, sentences) for b in p[: len(s)])
            right = self.bigrams.encode(b for p, s in zip(pairs, sentences) for b in p[len(s) :])
            bigram_ids = torch.stack([padded(left), padded(right)], dim=2)
        if tags is not None:
            tag_ids = padded(self.tags.encode(t for sentence_tags in tags for t in sentence_tags))
        keys = list(rows_of) if self.level == "word" else None
        return Batch(words, case, mask, chars, char_index, bigram_ids, tag_ids, keys)

    def _features(self, token: str) -> tuple[int, int, tuple[int, ...]]:
        """``(word id, casing id, character ids)`` of a token string, cached."""
        cached = self._cache.get(token)
        if cached is None:
            if len(self._cache) > 500_000:
                self._cache.clear()
            if self.level == "word":
                word = self.words.stoi.get(token.lower(), self.words.unk)
                spelling = tuple(self.chars.encode(token[: self.max_word_chars]))
            else:
                word, spelling = self.words.stoi.get(token, self.words.unk), ()
            cached = self._cache[token] = (word, casing(token), spelling)
        return cached


def _tag_vocab(tags: Sequence[Sequence[str]]) -> Vocab:
    types = sorted({t[2:] for seq in tags for t in seq if t != "O"})
    return Vocab([f"{p}-{kind}" for kind in types for p in "BIES"], specials=("O",))


def _both_bigrams(chars: Sequence[str]) -> list[str]:
    """The bigrams ending at each character, then those starting at each character."""
    right = bigrams(chars)
    left = ["<s>" + chars[0], *right[:-1]] if chars else []
    return left + right
