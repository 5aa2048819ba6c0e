"""The network: token features -> embeddings -> BiLSTM (or BiGRU) -> emission scores -> CRF.

Word level (English): a lower-cased word embedding (pretrained where given),
a character CNN or BiLSTM over each word's characters, and a casing embedding.
Character level (Chinese): a character embedding, embeddings of the bigrams
ending and starting at each character, and a casing embedding.

:meth:`NERModel.emissions` maps a :class:`~ner.features.Batch` to emission
scores ``(B, T, K)``; :meth:`NERModel.loss` is the CRF negative log-likelihood
from ``pytorch-crf``. Decoding lives in :mod:`ner.crf`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torchcrf import CRF

from ner.crf import FORBIDDEN, bioes_constraints
from ner.features import Batch
from ner.vocab import CASINGS


@dataclass
class ModelConfig:
    """Sizes of the network. ``hidden`` is per direction."""

    level: str = "word"  # "word" (English-style) or "char" (Chinese-style)
    word_dim: int = 50
    char_dim: int = 30  # word level: character embedding fed to the character encoder
    char_encoder: str = "cnn"  # word level: "cnn" or "lstm"
    char_hidden: int = 50  # CNN filters, or BiLSTM size over both directions
    char_kernel: int = 3
    bigram_dim: int = 50  # char level: each of the two bigram embeddings
    casing_dim: int = 8
    hidden: int = 128
    layers: int = 1
    cell: str = "lstm"  # "lstm" or "gru"
    dropout: float = 0.5
    word_dropout: float = 0.05  # training only: a word id becomes <unk> with this probability

    def __post_init__(self) -> None:
        checks = {
            "level": self.level in ("word", "char"),
            "char_encoder": self.char_encoder in ("cnn", "lstm"),
            "cell": self.cell in ("lstm", "gru"),
            "dropout": 0 <= self.dropout < 1,
            "word_dropout": 0 <= self.word_dropout < 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"invalid model setting {name}={getattr(self, name)!r}")

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_dict(self) -> dict:
        return asdict(self)


class CharCNN(nn.Module):
    """Characters of each word ``(U, L)`` -> max-pooled convolution features ``(U, F)``."""

    def __init__(self, n_chars: int, char_dim: int, filters: int, kernel: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(n_chars, char_dim, padding_idx=0)
        self.conv = nn.Conv1d(char_dim, filters, kernel, padding=kernel // 2)

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        # The convolution as one matrix product over character windows: the same numbers as
        # self.conv, faster for the ever-changing shapes of batches (measured 1.5-2x).
        width = self.conv.kernel_size[0]
        x = nn.functional.pad(self.embed(chars).transpose(1, 2), (width // 2, width // 2))  # (U, C, L + pad)
        windows = x.unfold(2, width, 1).transpose(1, 2).flatten(2)  # (U, L', C * width)
        x = windows @ self.conv.weight.flatten(1).t() + self.conv.bias  # (U, L', F)
        x = x.masked_fill((chars == 0)[:, : x.shape[1]].unsqueeze(2), float("-inf")).max(dim=1).values
        return x.masked_fill(torch.isinf(x), 0.0)  # an empty spelling (padding) gives zeros


class CharLSTM(nn.Module):
    """Characters of each word ``(U, L)`` -> final BiLSTM states ``(U, H)``."""

    def __init__(self, n_chars: int, char_dim: int, hidden: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(n_chars, char_dim, padding_idx=0)
        self.lstm = nn.LSTM(char_dim, hidden // 2, batch_first=True, bidirectional=True)

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        lengths = (chars != 0).sum(1).clamp(min=1).cpu()
        packed = pack_padded_sequence(self.embed(chars), lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)  # h: (2, U, H/2)
        return torch.cat([h[0], h[1]], dim=1)


class NERModel(nn.Module):
    """Embeddings, a bidirectional recurrent encoder, a linear layer to tag scores, and a CRF."""

    def __init__(
        self,
        config: ModelConfig,
        n_words: int,
        n_tags: int,
        tags: list[str],
        n_chars: int = 0,
        n_bigrams: int = 0,
    ) -> None:
        super().__init__()
        self.config = config
        self.word_embed = nn.Embedding(n_words, config.word_dim, padding_idx=0)
        self.casing_embed = nn.Embedding(len(CASINGS), config.casing_dim, padding_idx=0)
        size = config.word_dim + config.casing_dim
        self.char_encoder: nn.Module | None = None
        self.bigram_embed: nn.Embedding | None = None
        if config.level == "word":
            if config.char_encoder == "cnn":
                self.char_encoder = CharCNN(n_chars, config.char_dim, config.char_hidden, config.char_kernel)
            else:
                self.char_encoder = CharLSTM(n_chars, config.char_dim, config.char_hidden)
            size += config.char_hidden
        else:
            self.bigram_embed = nn.Embedding(n_bigrams, config.bigram_dim, padding_idx=0)
            size += 2 * config.bigram_dim
        rnn = nn.LSTM if config.cell == "lstm" else nn.GRU
        self.rnn = rnn(
            size,
            config.hidden,
            num_layers=config.layers,
            batch_first=True,
            bidirectional=True,
            dropout=config.dropout if config.layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.project = nn.Linear(2 * config.hidden, n_tags)
        self.crf = CRF(n_tags, batch_first=True)
        start, moves, end = bioes_constraints(tags)
        # Scores added to the CRF's own so that no invalid BIOES sequence can win.
        self.register_buffer("start_penalty", (~start).float() * FORBIDDEN, persistent=False)
        self.register_buffer("transition_penalty", (~moves).float() * FORBIDDEN, persistent=False)
        self.register_buffer("end_penalty", (~end).float() * FORBIDDEN, persistent=False)

    def embed(self, batch: Batch) -> torch.Tensor:
        """Token features ``(B, T, D)``."""
        words = batch.words
        if self.training and self.config.word_dropout > 0:
            drop = torch.rand(words.shape, device=words.device) < self.config.word_dropout
            words = words.masked_fill(drop & batch.mask, 1)  # 1 is <unk>
        parts = [self.word_embed(words), self.casing_embed(batch.casing)]
        if self.char_encoder is not None:
            parts.append(self._spellings(batch)[batch.char_index])
        if self.bigram_embed is not None:
            parts.append(self.bigram_embed(batch.bigrams).flatten(2))
        return torch.cat(parts, dim=2)

    def _spellings(self, batch: Batch) -> torch.Tensor:
        """Character features of the batch's distinct words ``(U, F)``; at inference each word's are
        computed once and remembered (they depend on the spelling alone)."""
        if self.training or batch.char_keys is None:
            return self.char_encoder(batch.chars)
        memory: dict[str, int] = self.__dict__.setdefault("_spelling_rows", {})
        missing = [row for row, key in enumerate(batch.char_keys, start=1) if key not in memory]
        if missing:
            fresh = self.char_encoder(batch.chars[missing])
            table = self.__dict__.get("_spelling_table")
            needed = len(memory) + len(missing) + 1
            if table is None or table.shape[0] < needed or table.device != fresh.device:
                if needed > 200_000:  # bound the memory: start afresh
                    memory.clear()
                    needed = len(missing) + 1
                grown = fresh.new_zeros(max(2 * needed, 1024), fresh.shape[1])
                if table is not None and memory:
                    grown[: table.shape[0]] = table[: grown.shape[0]]
                table = self.__dict__["_spelling_table"] = grown
            rows = range(len(memory) + 1, len(memory) + 1 + len(missing))
            table[list(rows)] = fresh
            memory.update((batch.char_keys[row - 1], slot) for row, slot in zip(missing, rows))
        table = self.__dict__["_spelling_table"]
        return table[[0, *map(memory.__getitem__, batch.char_keys)]]

    def train(self, mode: bool = True) -> NERModel:
        self.__dict__.pop("_spelling_rows", None)  # weights may change: forget remembered spellings
        self.__dict__.pop("_spelling_table", None)
        return super().train(mode)

    def emissions(self, batch: Batch) -> torch.Tensor:
        """Emission scores ``(B, T, K)``."""
        x = self.dropout(self.embed(batch))
        lengths = batch.lengths
        if bool((lengths == lengths[0]).all()):
            x, _ = self.rnn(x)  # no padding: packing would only cost time
        elif not self.training and type(self.rnn) in (nn.LSTM, nn.GRU):
            x = self._encode_unpacked(x, lengths)
        else:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            x, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=x.shape[1])
        return self.project(self.dropout(x))

    def _encode_unpacked(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The bidirectional RNN on a padded batch ``(B, T, D)`` without packing, which is faster.

        The forward direction reads the right-padded sentences as they are (padding comes
        after every real token); the backward direction reads each sentence reversed within
        its own length, and its output is put back in order. Same result as packing.
        """
        positions = torch.arange(x.shape[1], device=x.device).unsqueeze(0)
        inside = positions < lengths.unsqueeze(1)
        reverse = torch.where(inside, lengths.unsqueeze(1) - 1 - positions, positions)  # (B, T)
        for forward, backward in self._directions():
            ahead, _ = forward(x)
            behind, _ = backward(x.gather(1, reverse.unsqueeze(2).expand_as(x)))
            behind = behind.gather(1, reverse.unsqueeze(2).expand_as(behind))
            x = torch.cat([ahead, behind], dim=2)
        return x

    def _directions(self) -> list[tuple[nn.Module, nn.Module]]:
        """One-directional RNNs per layer that share the weights of ``self.rnn`` (built once)."""
        key = self.rnn.weight_ih_l0.data_ptr()
        if getattr(self, "_directions_key", None) != key:
            pairs = []
            for layer in range(self.rnn.num_layers):
                size = self.rnn.input_size if layer == 0 else 2 * self.rnn.hidden_size
                pair = []
                for suffix in ("", "_reverse"):
                    one_way = type(self.rnn)(size, self.rnn.hidden_size, batch_first=True)
                    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                        setattr(one_way, f"{name}_l0", getattr(self.rnn, f"{name}_l{layer}{suffix}"))
                    pair.append(one_way)
                pairs.append(tuple(pair))
            # Plain attributes, not submodules: the shared weights must not appear twice in state_dict.
            object.__setattr__(self, "_directions_cache", pairs)
            object.__setattr__(self, "_directions_key", key)
        return self._directions_cache

    def forward(self, batch: Batch) -> torch.Tensor:
        """The training loss (so that DistributedDataParallel can wrap the model)."""
        return self.loss(batch)

    def loss(self, batch: Batch) -> torch.Tensor:
        """Mean negative log-likelihood of the gold tags under the CRF (``pytorch-crf``)."""
        return -self.crf(self.emissions(batch), batch.tags, mask=batch.mask, reduction="mean")

    def crf_parameters(self, temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``start (K,)``, ``transitions (K, K)``, ``end (K,)`` with BIOES constraints, divided by temperature."""
        return (
            (self.crf.start_transitions + self.start_penalty) / temperature,
            (self.crf.transitions + self.transition_penalty) / temperature,
            (self.crf.end_transitions + self.end_penalty) / temperature,
        )

    def load_pretrained(self, rows: torch.Tensor, vectors: torch.Tensor) -> None:
        """Copy pretrained ``vectors (N, word_dim)`` into word embedding rows ``rows (N,)``."""
        with torch.no_grad():
            self.word_embed.weight[rows] = vectors
