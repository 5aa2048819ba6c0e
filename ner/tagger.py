"""Tagger: a loaded model; raw texts in, entities with character offsets and probabilities out.

For each text: tokenize (words, or characters for a character-level model),
split into sentences, then tag all sentences of all texts together in
length-sorted batches (so batches carry little padding), decode with the
constrained Viterbi, score each entity with the CRF's span probability, and
map token spans back to character offsets in the original text.
"""

from __future__ import annotations

import heapq
import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torchcrf import CRF

from ner import bundle as bundles
from ner import crf
from ner.corpus import Span, tags_to_spans
from ner.text import Token, split_sentences, tokenize, tokenize_chars

DECODERS = frozenset({"viterbi", "scripted", "torchcrf"})


@dataclass(frozen=True, slots=True)
class Entity:
    """An entity in a text: ``text == source[start:end]``; ``score`` is its probability under the model."""

    start: int
    end: int
    label: str
    text: str
    score: float | None = None

    def to_dict(self) -> dict:
        out = {"start": self.start, "end": self.end, "label": self.label, "text": self.text}
        if self.score is not None:
            out["score"] = round(self.score, 4)
        return out


@dataclass(frozen=True, slots=True)
class TaggedToken:
    """A token with its offsets and predicted BIOES tag."""

    text: str
    start: int
    end: int
    tag: str


@dataclass
class Alternative:
    """One analysis of a whole text among the n best, with its probability."""

    entities: list[Entity]
    probability: float


@dataclass
class Analysis:
    """Everything the tagger says about one text."""

    entities: list[Entity]
    tokens: list[TaggedToken] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)


@dataclass
class _Sentence:
    text_index: int
    tokens: list[Token]


class Tagger:
    """Tags raw text with a trained model. Build it with :meth:`Tagger.load`."""

    def __init__(
        self,
        bundle: bundles.Bundle,
        device: str | torch.device = "cpu",
        batch_size: int = 128,
        max_sentence_tokens: int | None = None,
        decoder: str = "viterbi",
        quantize: bool = False,
    ) -> None:
        """``decoder``: ``viterbi`` (batched tensor ops), ``scripted`` (the same under TorchScript) or
        ``torchcrf`` (pytorch-crf's ``CRF.decode``, for comparison). ``quantize``: int8 dynamic
        quantization of the LSTM and linear layers (CPU only)."""
        if decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {sorted(DECODERS)}, not {decoder!r}")
        self.bundle = bundle
        self.model = bundle.model.to(device).eval()
        if quantize:
            with warnings.catch_warnings():  # torch announces a future API change, not a problem today
                warnings.simplefilter("ignore", UserWarning)
                self.model = torch.ao.quantization.quantize_dynamic(
                    self.model, {torch.nn.LSTM, torch.nn.GRU, torch.nn.Linear}, dtype=torch.qint8
                )
        self.decoder = decoder
        self.vocab = bundle.vocab
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.char_level = self.vocab.level == "char"
        self.max_sentence_tokens = max_sentence_tokens or (200 if self.char_level else 150)
        self.tags = self.vocab.tags.itos
        labels = bundle.labels
        self._label_index = {label: i for i, label in enumerate(labels)}
        self._span_tags = crf.SpanTags.from_tags(self.tags, labels)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu", **options: object) -> Tagger:
        """Load a model directory (checksums verified, no pickled code run)."""
        return cls(bundles.load(path, device), device=device, **options)

    @property
    def name(self) -> str:
        return self.bundle.name

    @property
    def language(self) -> str:
        return self.bundle.language

    @property
    def labels(self) -> list[str]:
        return self.bundle.labels

    # -- public API ---------------------------------------------------------------

    def tag(self, text: str, scores: bool = True) -> list[Entity]:
        """The entities of one text."""
        return self.tag_batch([text], scores=scores)[0]

    def tag_batch(self, texts: Sequence[str], scores: bool = True) -> list[list[Entity]]:
        """The entities of each text, tagged together in batches."""
        return [a.entities for a in self.analyze(texts, scores=scores)]

    def nbest(self, text: str, k: int) -> list[Alternative]:
        """The ``k`` most probable analyses of ``text``, best first."""
        return self.analyze([text], nbest=k)[0].alternatives

    def tokenize(self, text: str) -> list[Token]:
        return tokenize_chars(text) if self.char_level else tokenize(text)

    def analyze(
        self, texts: Sequence[str], scores: bool = True, tokens: bool = False, nbest: int = 0
    ) -> list[Analysis]:
        """Entities of each text; optionally tagged tokens and the ``nbest`` best analyses."""
        sentences: list[_Sentence] = []
        for index, text in enumerate(texts):
            pieces = split_sentences(text, self.tokenize(text), self.max_sentence_tokens)
            sentences.extend(_Sentence(index, piece) for piece in pieces)
        analyses = [Analysis([]) for _ in texts]
        alternatives: list[list[list[tuple[float, list[Entity]]]]] = [[] for _ in texts]
        order = sorted(range(len(sentences)), key=lambda i: len(sentences[i].tokens))
        results: dict[int, tuple[list[str], list[Entity], list[tuple[float, list[Entity]]]]] = {}
        for begin in range(0, len(order), self.batch_size):
            chunk = [sentences[i] for i in order[begin : begin + self.batch_size]]
            decoded = self._tag_sentences(texts, chunk, scores, nbest)
            results.update(zip(order[begin : begin + self.batch_size], decoded))
        for i, sentence in enumerate(sentences):
            tags, entities, best = results[i]
            analysis = analyses[sentence.text_index]
            analysis.entities.extend(entities)
            if tokens:
                analysis.tokens.extend(
                    TaggedToken(t.text, t.start, t.end, tag) for t, tag in zip(sentence.tokens, tags)
                )
            if nbest:
                alternatives[sentence.text_index].append(best)
        if nbest:
            for analysis, per_sentence in zip(analyses, alternatives):
                analysis.alternatives = combine_nbest(per_sentence, nbest)
        return analyses

    def predict_tags(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """BIOES tags for pre-tokenized sentences (evaluation on a corpus)."""
        out: list[list[str]] = [[] for _ in sentences]
        order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
        for begin in range(0, len(order), self.batch_size):
            indices = order[begin : begin + self.batch_size]
            paths, _ = self._decode([sentences[i] for i in indices])
            for i, path in zip(indices, paths.tolist()):
                out[i] = [self.tags[t] for t in path[: len(sentences[i])]]
        return out

    # -- internals -------------------------------------------------------------------

    @torch.inference_mode()
    def _decode(self, sentences: Sequence[Sequence[str]]) -> tuple[torch.Tensor, tuple]:
        batch = self.vocab.encode(sentences).to(self.device)
        emissions = self.model.emissions(batch)
        start, moves, end = self.model.crf_parameters()
        if self.decoder == "torchcrf":
            paths = self._torchcrf_decode(emissions, batch.mask, start, moves, end)
        else:
            decode = crf.scripted_viterbi() if self.decoder == "scripted" else crf.viterbi
            paths, _ = decode(emissions, batch.mask, start, moves, end)
        return paths.cpu(), (emissions, batch.mask)

    def _torchcrf_decode(
        self, emissions: torch.Tensor, mask: torch.Tensor, start: torch.Tensor, moves: torch.Tensor, end: torch.Tensor
    ) -> torch.Tensor:
        """``CRF.decode`` of pytorch-crf with the same constrained scores, padded to ``(B, T)``."""
        reference = CRF(moves.shape[0], batch_first=True).to(emissions.device)
        reference.start_transitions.data, reference.transitions.data, reference.end_transitions.data = (
            start,
            moves,
            end,
        )
        paths = torch.zeros(mask.shape, dtype=torch.long)
        for i, path in enumerate(reference.decode(emissions, mask)):
            paths[i, : len(path)] = torch.tensor(path)
        return paths

    @torch.inference_mode()
    def _tag_sentences(
        self, texts: Sequence[str], sentences: list[_Sentence], scores: bool, nbest: int
    ) -> list[tuple[list[str], list[Entity], list[tuple[float, list[Entity]]]]]:
        paths, (emissions, mask) = self._decode([[t.text for t in s.tokens] for s in sentences])
        tag_lists = [[self.tags[t] for t in path[: len(s.tokens)]] for s, path in zip(sentences, paths.tolist())]
        span_lists = [tags_to_spans(tags) for tags in tag_lists]
        probabilities: list[float] = []
        scaled = None
        if scores or nbest:
            temperature = self.bundle.temperature
            scaled = (emissions / temperature, mask, *self.model.crf_parameters(temperature))
        if scores and any(span_lists):
            rows = torch.tensor(
                [
                    (i, sp.start, sp.end, self._label_index[sp.label])
                    for i, spans in enumerate(span_lists)
                    for sp in spans
                ]
            )
            alpha, beta, log_z = crf.forward_backward(*scaled)
            log_p = crf.span_log_probs(scaled[0], alpha, beta, log_z, scaled[3], rows.to(self.device), self._span_tags)
            probabilities = log_p.exp().clamp(0.0, 1.0).tolist()
        best_lists: list[list[tuple[float, list[Entity]]]] = [[] for _ in sentences]
        if nbest:
            emit, m, start, moves, end = scaled
            k_paths, k_scores = crf.nbest(emit, m, start, moves, end, nbest)
            log_z = crf.forward_backward(emit, m, start, moves, end)[2]
            log_probs = (k_scores - log_z.unsqueeze(1)).tolist()
            for i, sentence in enumerate(sentences):
                for path, log_p in zip(k_paths[i].tolist(), log_probs[i]):
                    if math.isfinite(log_p) and math.exp(log_p) > 0:
                        spans = tags_to_spans([self.tags[t] for t in path[: len(sentence.tokens)]])
                        best_lists[i].append(
                            (log_p, self._entities(texts[sentence.text_index], sentence.tokens, spans, None))
                        )
        out = []
        scores_iter = iter(probabilities)
        for sentence, tags, spans, best in zip(sentences, tag_lists, span_lists, best_lists):
            span_scores = [next(scores_iter) for _ in spans] if probabilities else None
            entities = self._entities(texts[sentence.text_index], sentence.tokens, spans, span_scores)
            out.append((tags, entities, best))
        return out

    @staticmethod
    def _entities(text: str, tokens: list[Token], spans: list[Span], span_scores: list[float] | None) -> list[Entity]:
        entities = []
        for n, span in enumerate(spans):
            start, end = tokens[span.start].start, tokens[span.end - 1].end
            score = span_scores[n] if span_scores is not None else None
            entities.append(Entity(start, end, span.label, text[start:end], score))
        return entities


def combine_nbest(per_sentence: list[list[tuple[float, list[Entity]]]], k: int) -> list[Alternative]:
    """The ``k`` best joint analyses of independent sentences from each one's ``k`` best."""
    combined: list[tuple[float, list[Entity]]] = [(0.0, [])]
    for options in per_sentence:
        pairs = ((a + b, ea + eb) for (a, ea), (b, eb) in itertools.product(combined, options))
        combined = heapq.nlargest(k, pairs, key=lambda pair: pair[0])
    return [Alternative(entities, math.exp(log_p)) for log_p, entities in combined]
