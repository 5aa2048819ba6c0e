"""Tokens to tensors: the vocabularies of a model and the batches they encode.

A :class:`Batch` of ``B`` sentences padded to ``T`` tokens holds

- ``words``   ``(B, T)``  word ids (lower-cased words; characters at the char level)
- ``casing``  ``(B, T)``  casing class ids (:data:`ner.vocab.CASINGS`)
- ``chars``   ``(B, T, L)`` character ids of each word, word level only
- ``bigrams`` ``(B, T, 2)`` ids of the bigrams ending and starting at each character, char level only
- ``mask``    ``(B, T)``  True on real tokens
- ``tags``    ``(B, T)``  gold tag ids, when known
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ner.vocab import Vocab, bigrams, casing


@dataclass
class Batch:
    words: torch.Tensor
    casing: torch.Tensor
    mask: torch.Tensor
    chars: torch.Tensor | None = None
    bigrams: torch.Tensor | None = None
    tags: torch.Tensor | None = None

    def to(self, device: torch.device | str) -> Batch:
        move = lambda t: None if t is None else t.to(device, non_blocking=True)  # noqa: E731
        return Batch(*(move(getattr(self, f)) for f in ("words", "casing", "mask", "chars", "bigrams", "tags")))

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
        """Pad and encode sentences of tokens (and their BIOES tags) into a :class:`Batch`."""
        size = len(sentences)
        width = max((len(s) for s in sentences), default=0) or 1
        words = torch.zeros(size, width, dtype=torch.long)
        case = torch.zeros(size, width, dtype=torch.long)
        mask = torch.zeros(size, width, dtype=torch.bool)
        chars = bigram_ids = tag_ids = None
        if self.level == "word":
            longest = min(max((len(w) for s in sentences for w in s), default=1), self.max_word_chars)
            chars = torch.zeros(size, width, max(longest, 1), dtype=torch.long)
        else:
            bigram_ids = torch.zeros(size, width, 2, dtype=torch.long)
        if tags is not None:
            tag_ids = torch.zeros(size, width, dtype=torch.long)
        for i, sentence in enumerate(sentences):
            n = len(sentence)
            mask[i, :n] = True
            case[i, :n] = torch.tensor([casing(w) for w in sentence])
            if self.level == "word":
                words[i, :n] = torch.tensor(self.words.encode(w.lower() for w in sentence))
                for j, word in enumerate(sentence):
                    ids = self.chars.encode(word[: self.max_word_chars])
                    chars[i, j, : len(ids)] = torch.tensor(ids)
            else:
                words[i, :n] = torch.tensor(self.words.encode(sentence))
                pairs = _both_bigrams(sentence)
                bigram_ids[i, :n] = torch.tensor(self.bigrams.encode(pairs)).view(2, n).t()
            if tag_ids is not None:
                tag_ids[i, :n] = torch.tensor(self.tags.encode(tags[i]))
        return Batch(words, case, mask, chars, bigram_ids, tag_ids)


def _tag_vocab(tags: Sequence[Sequence[str]]) -> Vocab:
    types = sorted({t[2:] for seq in tags for t in seq if t != "O"})
    return Vocab([f"{p}-{kind}" for kind in types for p in "BIES"], specials=("O",))


def _both_bigrams(chars: Sequence[str]) -> list[str]:
    """The bigrams ending at each character, then those starting at each character."""
    right = bigrams(chars)
    left = ["<s>" + chars[0], *right[:-1]] if chars else []
    return left + right
