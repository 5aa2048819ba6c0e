"""The network: token features -> embeddings -> BiLSTM (or BiGRU) -> emission scores -> CRF.

Word level (English): a lower-cased word embedding (pretrained where given),
a character CNN or BiLSTM over each word's characters, and a casing embedding.
Character level (Chinese): a character embedding, embeddings of the bigrams
ending and starting at each character, a casing embedding and, with a
lexicon, the pooled classes of the dictionary words around each character
(:mod:`ner.lexicon`).

With ``document_memory``, each token's BiLSTM state is joined by the mean
state of every occurrence of the same word (lower-cased) in its document
before the emission layer: a name spelled out in full early in a text helps
to tag its short mentions later.

:meth:`NERModel.emissions` maps a :class:`~ner.features.Batch` to emission
scores ``(B, T, K)``; :meth:`NERModel.loss` is the CRF negative log-likelihood
from ``pytorch-crf`` or, for a batch with tag probabilities (distillation from
teachers), the CRF's cross-entropy against them (:func:`crf_cross_entropy`).
Decoding lives in :mod:`ner.crf`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torchcrf import CRF

from ner.config import ModelConfig
from ner.features import Batch, Vocabularies
from ner.vocab import CASINGS

SPELLING_MEMORY = 200_000  # distinct words whose character features inference remembers


def character_table(n_chars: int, char_dim: int) -> nn.Embedding:
    """The character embedding of a word model's character encoder, its ``<unk>`` row (1) zero: every
    training character has a row of its own, so ``<unk>`` is never trained, and a character new at
    tagging time reads as no character rather than as a random one."""
    table = nn.Embedding(n_chars, char_dim, padding_idx=0)
    with torch.no_grad():
        table.weight[1:2].zero_()
    return table


class CharCNN(nn.Module):
    """Characters of each word ``(U, L)`` -> max-pooled convolution features ``(U, F)``."""

    def __init__(self, n_chars: int, char_dim: int, filters: int, kernel: int) -> None:
        super().__init__()
        self.embed = character_table(n_chars, char_dim)
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
        self.embed = character_table(n_chars, char_dim)
        self.lstm = nn.LSTM(char_dim, hidden // 2, batch_first=True, bidirectional=True)

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        lengths = (chars != 0).sum(1).clamp(min=1).cpu()
        packed = pack_padded_sequence(self.embed(chars), lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)  # h: (2, U, H/2)
        return torch.cat([h[0], h[1]], dim=1)


def reversed_positions(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """``(B, T)``: for each sentence of ``lengths (B,)``, the positions that read it backwards within its
    own length (``n - 1 ... 0``), then the padding where it is."""
    positions = torch.arange(steps, device=lengths.device).unsqueeze(0)
    inside = positions < lengths.unsqueeze(1)
    return torch.where(inside, lengths.unsqueeze(1) - 1 - positions, positions)


def read_both_ways(
    x: torch.Tensor, reverse: torch.Tensor, forward: Callable[..., tuple], backward: Callable[..., tuple]
) -> torch.Tensor:
    """One bidirectional layer over right-padded ``x (B, T, D)`` -> ``(B, T, 2H)``: the forward
    direction reads the sentences as they are (padding comes after every real token), the backward
    one each sentence reversed within its own length (``reverse``, from :func:`reversed_positions`),
    its output put back in order."""
    ahead, _ = forward(x)
    behind, _ = backward(x.gather(1, reverse.unsqueeze(2).expand_as(x)))
    behind = behind.gather(1, reverse.unsqueeze(2).expand_as(behind))
    return torch.cat([ahead, behind], dim=2)


RNN_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # of each layer and direction of a torch RNN


def one_direction(rnn: nn.RNNBase, layer: int, suffix: str) -> nn.RNNBase:
    """A one-layer, one-directional RNN that shares the weights of ``layer`` of the bidirectional ``rnn`` in
    one direction (``suffix`` "" forward, "_reverse" backward)."""
    size = rnn.input_size if layer == 0 else 2 * rnn.hidden_size
    with torch.random.fork_rng(devices=[]):  # its own weights, replaced at once, draw no numbers
        one_way = type(rnn)(size, rnn.hidden_size, batch_first=True)
    for name in RNN_WEIGHTS:
        setattr(one_way, f"{name}_l0", getattr(rnn, f"{name}_l{layer}{suffix}"))
    return one_way


def as_unknown(ids: torch.Tensor | None, rate: float) -> torch.Tensor | None:
    """``ids`` (any shape) with each known symbol (id > 1) replaced by ``<unk>`` (1) with probability
    ``rate``; padding (0) stays."""
    if ids is None or rate <= 0:
        return ids
    drop = torch.rand(ids.shape, device=ids.device) < rate
    return ids.masked_fill(drop & (ids > 1), 1)


class NERModel(nn.Module):
    """Embeddings, a bidirectional recurrent encoder, a linear layer to tag scores, and a CRF."""

    def __init__(
        self,
        config: ModelConfig,
        n_words: int,
        n_tags: int,
        n_chars: int = 0,
        n_bigrams: int = 0,
        n_lexicon_classes: int = 0,
        n_lexicon_words: int = 0,
    ) -> None:
        super().__init__()
        self.config = config
        self.word_embed = nn.Embedding(n_words, config.word_dim, padding_idx=0)
        self.casing_embed = nn.Embedding(len(CASINGS), config.casing_dim, padding_idx=0)
        size = config.word_dim + config.casing_dim
        self.char_encoder: nn.Module | None = None
        self.bigram_embed: nn.Embedding | None = None
        self.lexicon_embed: nn.Embedding | None = None
        self.lexicon_word_embed: nn.Embedding | None = None
        if config.level == "word":
            if config.char_encoder == "cnn":
                self.char_encoder = CharCNN(n_chars, config.char_dim, config.char_hidden, config.char_kernel)
            else:
                self.char_encoder = CharLSTM(n_chars, config.char_dim, config.char_hidden)
            size += config.char_hidden
        else:
            self.bigram_embed = nn.Embedding(n_bigrams, config.bigram_dim, padding_idx=0)
            size += 2 * config.bigram_dim
            if config.lexicon_dim and n_lexicon_classes:
                self.lexicon_embed = nn.Embedding(n_lexicon_classes, config.lexicon_dim, padding_idx=0)
                size += 4 * config.lexicon_dim
                if n_lexicon_words:
                    self.lexicon_word_embed = nn.Embedding(n_lexicon_words, config.lexicon_dim, padding_idx=0)
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
        self.project = nn.Linear((4 if config.document_memory else 2) * config.hidden, n_tags)
        self.crf = CRF(n_tags, batch_first=True)

    @classmethod
    def for_vocabularies(cls, config: ModelConfig, vocab: Vocabularies) -> NERModel:
        """A freshly initialised network sized for ``vocab``."""
        return cls(
            config,
            n_words=len(vocab.words),
            n_tags=len(vocab.tags),
            n_chars=len(vocab.chars) if vocab.chars else 0,
            n_bigrams=len(vocab.bigrams) if vocab.bigrams else 0,
            n_lexicon_classes=len(vocab.lexicon.classes) if vocab.lexicon else 0,
            n_lexicon_words=len(vocab.lexicon_words) if vocab.lexicon and vocab.lexicon_words else 0,
        )

    def tensors(self, batch: Batch) -> dict[str, torch.Tensor]:
        """The batch's arrays as tensors on the model's device, by name."""
        device = self.project.weight.device
        return {name: torch.from_numpy(array).to(device, non_blocking=True) for name, array in batch.arrays().items()}

    def embed(self, x: dict[str, torch.Tensor], spellings: list[str] | None = None) -> torch.Tensor:
        """Token features ``(B, T, D)`` from the batch's tensors ``x``; ``spellings`` (the distinct
        words of the batch) lets inference remember each word's character features."""
        words, bigrams, lexicon_words = x["words"], x.get("bigrams"), x.get("lexicon_words")
        if self.training:
            words = as_unknown(words, self.config.word_dropout)
            # Every training bigram and lexicon word has its own row, so without this the <unk> rows,
            # read for each one new at tagging time, would never be trained.
            bigrams = as_unknown(bigrams, self.config.unknown_dropout)
            lexicon_words = as_unknown(lexicon_words, self.config.unknown_dropout)
        parts = [self.word_embed(words), self.casing_embed(x["casing"])]
        if self.char_encoder is not None:
            parts.append(self._spellings(x["chars"], spellings)[x["char_index"]])
        if self.bigram_embed is not None:
            parts.append(self.bigram_embed(bigrams).flatten(2))
        if self.lexicon_embed is not None:
            matched = self.lexicon_embed(x["lexicon_ids"])  # (B, T, 4, M, lexicon_dim)
            if self.lexicon_word_embed is not None:
                matched = matched + self.lexicon_word_embed(lexicon_words)
            pooled = (matched * x["lexicon_weights"].unsqueeze(4)).sum(3)
            parts.append(pooled.flatten(2))  # (B, T, 4 * lexicon_dim)
        return torch.cat(parts, dim=2)

    def _spellings(self, chars: torch.Tensor, keys: list[str] | None) -> torch.Tensor:
        """Character features of the batch's distinct words ``(U, F)``; at inference each word's are
        computed once and remembered (they depend on the spelling alone)."""
        if self.training or keys is None:
            return self.char_encoder(chars)
        memory: dict[str, int] = self.__dict__.setdefault("_spelling_rows", {})
        # A row for each new spelling: two words cut to one spelling (their first letters alike) take one slot.
        new_rows = {key: row for row, key in enumerate(keys, start=1) if key not in memory}
        if new_rows:
            if len(memory) + len(new_rows) >= SPELLING_MEMORY:  # bound the memory: start afresh with this batch
                memory.clear()
                self.__dict__.pop("_spelling_table", None)
                new_rows = dict(zip(keys, range(1, len(keys) + 1)))
            missing = list(new_rows.values())
            fresh = self.char_encoder(chars[missing])
            table = self.__dict__.get("_spelling_table")
            needed = len(memory) + len(missing) + 1
            if table is None or table.shape[0] < needed or table.device != fresh.device:
                grown = fresh.new_zeros(max(2 * needed, 1024), fresh.shape[1])
                if table is not None and memory:
                    grown[: table.shape[0]] = table[: grown.shape[0]]
                table = self.__dict__["_spelling_table"] = grown
            rows = range(len(memory) + 1, len(memory) + 1 + len(missing))
            table[list(rows)] = fresh
            memory.update(zip(new_rows, rows))
        table = self.__dict__["_spelling_table"]
        return table[[0, *map(memory.__getitem__, keys)]]

    def train(self, mode: bool = True) -> NERModel:
        self.__dict__.pop("_spelling_rows", None)  # weights may change: forget remembered spellings
        self.__dict__.pop("_spelling_table", None)
        return super().train(mode)

    def emissions(self, batch: Batch) -> torch.Tensor:
        """Emission scores ``(B, T, K)``; the document memory pools over the batch's documents."""
        x = self.tensors(batch)
        states = self.encode(x, batch.char_keys)
        memory = None
        if self.config.document_memory:
            mask = x["mask"]
            flat = word_means(states[mask], x["word_groups"][mask])
            memory = states.new_zeros(states.shape).masked_scatter_(mask.unsqueeze(2), flat)
        return self.emit(states, memory)

    def emit(self, states: torch.Tensor, memory: torch.Tensor | None = None) -> torch.Tensor:
        """Emission scores ``(B, T, K)`` from encoder states ``(B, T, 2H)`` (and the document memory,
        the same shape, when the model has one)."""
        if memory is not None:
            states = torch.cat([states, memory], dim=2)
        return self.project(self.dropout(states))

    def encode(self, x: dict[str, torch.Tensor], spellings: list[str] | None = None) -> torch.Tensor:
        """BiLSTM states ``(B, T, 2H)`` of the batch's tensors ``x`` (see :meth:`embed`)."""
        states = self.dropout(self.embed(x, spellings))
        lengths = x["mask"].sum(1)
        if bool((lengths == lengths[0]).all()):
            states, _ = self.rnn(states)  # no padding: packing would only cost time
        elif not self.training and states.device.type == "cpu" and type(self.rnn) in (nn.LSTM, nn.GRU):
            # A CPU speed-up only: cuDNN would copy the shared weights into one block at every call.
            states = self._encode_unpacked(states, lengths)
        else:
            packed = pack_padded_sequence(states, lengths.cpu(), batch_first=True, enforce_sorted=False)
            states, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=states.shape[1])
        return states

    def _encode_unpacked(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The bidirectional RNN on a padded batch ``(B, T, D)`` without packing, which is faster;
        the same result as packing."""
        reverse = reversed_positions(lengths, x.shape[1])
        for forward, backward in self._directions():
            x = read_both_ways(x, reverse, forward, backward)
        return x

    def _directions(self) -> list[tuple[nn.Module, nn.Module]]:
        """One-directional RNNs per layer that share the weights of ``self.rnn`` (built once)."""
        key = self.rnn.weight_ih_l0.data_ptr()
        if getattr(self, "_directions_key", None) != key:
            pairs = [
                (one_direction(self.rnn, layer, ""), one_direction(self.rnn, layer, "_reverse"))
                for layer in range(self.rnn.num_layers)
            ]
            # Plain attributes, not submodules: the shared weights must not appear twice in state_dict.
            object.__setattr__(self, "_directions_cache", pairs)
            object.__setattr__(self, "_directions_key", key)
        return self._directions_cache

    def forward(self, batch: Batch) -> torch.Tensor:
        """The training loss (so that DistributedDataParallel can wrap the model)."""
        return self.loss(batch)

    def loss(self, batch: Batch) -> torch.Tensor:
        """Mean negative log-likelihood of the gold tags under the CRF (``pytorch-crf``), or with
        ``batch.tag_probs`` the mean cross-entropy against those probabilities."""
        device = self.project.weight.device
        mask = torch.from_numpy(batch.mask).to(device)
        if batch.tag_probs is not None:
            targets = torch.from_numpy(batch.tag_probs).to(device)
            return crf_cross_entropy(self.crf, self.emissions(batch), targets, mask).mean()
        tags = torch.from_numpy(batch.tags).to(device)
        return -self.crf(self.emissions(batch), tags, mask=mask, reduction="mean")

    def load_pretrained(self, rows: torch.Tensor, vectors: torch.Tensor) -> None:
        """Copy pretrained ``vectors (N, word_dim)`` into word embedding rows ``rows (N,)``."""
        with torch.no_grad():
            self.word_embed.weight[rows] = vectors

    @torch.no_grad()
    def add_words(self, vectors: torch.Tensor) -> None:
        """Append rows ``vectors (N, word_dim)`` to the word embedding, for words added to the vocabulary."""
        weight = self.word_embed.weight
        table = torch.cat([weight, vectors.to(weight)])
        self.word_embed = nn.Embedding.from_pretrained(table, freeze=not weight.requires_grad, padding_idx=0)


def word_means(states: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """For token states ``(N, D)`` and their groups ``(N,)`` (one per word and document), the mean
    state of each token's group ``(N, D)``."""
    size = int(groups.max()) + 1 if groups.numel() else 0
    sums = states.new_zeros(size, states.shape[1]).index_add_(0, groups, states)
    counts = torch.bincount(groups, minlength=size).clamp(min=1).unsqueeze(1)
    return (sums / counts)[groups]


def crf_cross_entropy(crf: CRF, emissions: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Cross-entropy ``(B,)`` of ``crf`` against tag paths drawn independently per token from
    ``targets (B, T, K)`` (rows summing to one; zero on padding), given ``emissions (B, T, K)`` and
    ``mask (B, T)`` (each sentence's first token unmasked): ``log Z - E[score(path)]``.

    Under such a product distribution a pair of neighbouring tags has the product of their
    probabilities, so the expected path score is exact; with one-hot targets this is the negative
    log-likelihood of those tags.
    """
    weights = mask.to(emissions.dtype)
    last = mask.sum(dim=1) - 1
    rows = torch.arange(len(targets), device=targets.device)
    expected = (
        targets[:, 0] @ crf.start_transitions
        + ((targets * emissions).sum(dim=2) * weights).sum(dim=1)
        + (torch.einsum("bti,ij,btj->bt", targets[:, :-1], crf.transitions, targets[:, 1:]) * weights[:, 1:]).sum(1)
        + targets[rows, last] @ crf.end_transitions
    )
    # log Z by pytorch-crf's own forward algorithm (pinned at 0.7.2; it takes time-major tensors)
    log_z = crf._compute_normalizer(emissions.transpose(0, 1), mask.transpose(0, 1))
    return log_z - expected
