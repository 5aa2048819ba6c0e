"""Tagger: a loaded model; raw texts in, entities with character offsets and probabilities out.

For each text: tokenize (words, or characters for a character-level model),
split into sentences, then tag all sentences of all texts together in
length-sorted batches (so batches carry little padding), decode with the
constrained Viterbi, score each entity with the CRF's span probability, and
map token spans back to character offsets in the original text.
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import itertools
import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torchcrf import CRF

from ner import bundle as bundles
from ner import crf, crf_numpy
from ner.corpus import Span, tags_to_spans
from ner.text import Token, cut_points, split_sentences, tokenize, tokenize_chars

DECODERS = frozenset({"viterbi", "torchcrf"})
SMALL_BATCH = 4  # up to this many sentences, CRF inference runs in NumPy (measured faster)


@contextlib.contextmanager
def _onednn(enabled: bool) -> Iterator[None]:
    """Switch torch's oneDNN kernels on or off for a block (a process-wide setting)."""
    before = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = enabled
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = before


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while tagging.

    Tagging allocates many small objects (tokens, spans, entities) that form no cycles and
    are freed by reference counting; meanwhile the collector would rescan every live object
    again and again, for nothing (measured: about a third of the tagging time).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
class Prediction:
    """The model's reading of one tokenized sentence: BIOES tags, entity spans, their
    probabilities (when asked) and the n best alternatives as ``(log-probability, spans)``."""

    tags: list[str]
    spans: list[Span]
    scores: list[float] | None = None
    alternatives: list[tuple[float, list[Span]]] = field(default_factory=list)


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
        bfloat16: bool = False,
        compiled: bool = True,
    ) -> None:
        """``decoder``: ``viterbi`` (batched tensor ops) or ``torchcrf`` (pytorch-crf's
        ``CRF.decode``, for comparison). ``quantize``: int8 dynamic quantization of the LSTM and
        linear layers (CPU only). ``bfloat16``: emissions of batches computed in bfloat16 (autocast),
        1.6-2x faster for the BiLSTM on a CPU with AMX; F1 is measured in docs/benchmarks.md.
        ``compiled``: the forward-backward pass behind entity scores
        under TorchScript (same results, less overhead)."""
        if decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {sorted(DECODERS)}, not {decoder!r}")
        if quantize and bfloat16:
            raise ValueError("quantize and bfloat16 exclude each other: choose one")
        self.bundle = bundle
        self.model = bundle.model.to(device).eval()
        if quantize:
            with warnings.catch_warnings():  # torch announces a future API change, not a problem today
                warnings.simplefilter("ignore", UserWarning)
                self.model = torch.ao.quantization.quantize_dynamic(
                    self.model, {torch.nn.LSTM, torch.nn.GRU, torch.nn.Linear}, dtype=torch.qint8
                )
        self.decoder = decoder
        self.bfloat16 = bfloat16
        self.forward_backward = crf.compiled_forward_backward() if compiled else crf.forward_backward
        self._crf_cache: dict[str, tuple] = {}
        self.vocab = bundle.vocab
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.char_level = self.vocab.level == "char"
        self.max_sentence_tokens = max_sentence_tokens or (200 if self.char_level else 150)
        self.tags = self.vocab.tags.itos
        self._labels = labels = bundle.labels
        self._label_index = {label: i for i, label in enumerate(labels)}
        self.span_tags = crf.SpanTags.from_tags(self.tags, labels)
        # Per tag: the tags a valid BIOES path may have before it, the only ones Viterbi compares.
        self.viterbi_sources = crf.previous_tags(crf.bioes_constraints(self.tags)[1])
        # Per tag id: does it open an entity, close one, and of which label (index into labels)?
        self._opens = np.array([t[0] in "BS" for t in self.tags])
        self._closes = np.array([t[0] in "ES" for t in self.tags])
        self._label_of = np.array([self._label_index.get(t[2:], 0) for t in self.tags])

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
        return self._labels

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

    @_collector_paused()
    def analyze(
        self, texts: Sequence[str], scores: bool = True, tokens: bool = False, nbest: int = 0
    ) -> list[Analysis]:
        """Entities of each text; optionally tagged tokens and the ``nbest`` best analyses."""
        owners: list[int] = []
        sentences: list[list[Token]] = []
        for index, text in enumerate(texts):
            for piece in split_sentences(text, self.tokenize(text), self.max_sentence_tokens):
                owners.append(index)
                sentences.append(piece)
        predictions = self.predict([[t.text for t in s] for s in sentences], scores=scores, nbest=nbest, tags=tokens)
        analyses = [Analysis([]) for _ in texts]
        alternatives: list[list[list[tuple[float, list[Entity]]]]] = [[] for _ in texts]
        for owner, sentence, prediction in zip(owners, sentences, predictions):
            text = texts[owner]
            analysis = analyses[owner]
            analysis.entities.extend(_entities(text, sentence, prediction.spans, prediction.scores))
            if tokens:
                analysis.tokens.extend(
                    TaggedToken(t.text, t.start, t.end, tag) for t, tag in zip(sentence, prediction.tags)
                )
            if nbest:
                alternatives[owner].append(
                    [(log_p, _entities(text, sentence, spans, None)) for log_p, spans in prediction.alternatives]
                )
        if nbest:
            for analysis, per_sentence in zip(analyses, alternatives):
                analysis.alternatives = combine_nbest(per_sentence, nbest)
        return analyses

    def predict_tags(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """BIOES tags for pre-tokenized sentences (evaluation on a corpus)."""
        return [p.tags for p in self.predict(sentences)]

    @_collector_paused()
    def predict(
        self, sentences: Sequence[Sequence[str]], scores: bool = False, nbest: int = 0, tags: bool = True
    ) -> list[Prediction]:
        """Spans (and tags, span probabilities, n-best) of pre-tokenized sentences, in length-sorted batches.

        A sentence longer than the model's limit is cut into pieces as raw text is
        (:func:`ner.text.cut_points`), and the pieces' predictions are joined again.
        """
        pieces = [
            (i, start, end) for i, s in enumerate(sentences) for start, end in cut_points(s, self.max_sentence_tokens)
        ]
        predicted: list[Prediction | None] = [None] * len(pieces)
        order = sorted(range(len(pieces)), key=lambda p: pieces[p][2] - pieces[p][1])
        for begin in range(0, len(order), self.batch_size):
            indices = order[begin : begin + self.batch_size]
            chunk = [sentences[pieces[p][0]][pieces[p][1] : pieces[p][2]] for p in indices]
            for p, prediction in zip(indices, self._predict_batch(chunk, scores, nbest, tags)):
                predicted[p] = prediction
        if len(pieces) == len(sentences):
            return predicted  # type: ignore[return-value]
        out = [Prediction([], [], [] if scores else None) for _ in sentences]
        alternatives: list[list[list[tuple[float, list[Span]]]]] = [[] for _ in sentences]
        for (i, start, _), part in zip(pieces, predicted):
            whole = out[i]
            whole.tags.extend(part.tags)
            whole.spans.extend(Span(s.start + start, s.end + start, s.label) for s in part.spans)
            if scores:
                whole.scores.extend(part.scores)
            alternatives[i].append(
                [
                    (log_p, [Span(s.start + start, s.end + start, s.label) for s in spans])
                    for log_p, spans in part.alternatives
                ]
            )
        if nbest:
            for whole, per_piece in zip(out, alternatives):
                whole.alternatives = best_combinations(per_piece, nbest)
        return out

    # -- internals -------------------------------------------------------------------

    def crf_scores(self, emissions: torch.Tensor, temperature: float | None = None) -> tuple[torch.Tensor, ...]:
        """Emissions and constrained CRF scores divided by the temperature (calibrated by default)."""
        temperature = self.bundle.temperature if temperature is None else temperature
        return (emissions / temperature, *self.model.crf_parameters(temperature))

    @torch.inference_mode()
    def _predict_batch(
        self, sentences: Sequence[Sequence[str]], scores: bool, nbest: int, tags: bool
    ) -> list[Prediction]:
        batch = self.vocab.encode(sentences).to(self.device)
        # One or a few sentences: oneDNN's LSTM costs more than it saves (it wins on large batches),
        # and NumPy's per-step cost in the CRF is lower than a tensor operation's. Without oneDNN,
        # bfloat16 would be slower, not faster.
        small = len(sentences) <= SMALL_BATCH and self.device.type == "cpu"
        half = self.bfloat16 and not small
        with _onednn(enabled=not small), torch.autocast(self.device.type, torch.bfloat16, enabled=half):
            emissions = self.model.emissions(batch).float()
        mask = batch.mask
        paths = self._decode(emissions, mask, small)
        predictions = [Prediction([], []) for _ in sentences]
        for row, start, end, label in self._spans(paths, mask.cpu().numpy()):
            predictions[row].spans.append(Span(start, end, self._labels[label]))
        if tags:
            for prediction, path, sentence in zip(predictions, paths.tolist(), sentences):
                prediction.tags = [self.tags[t] for t in path[: len(sentence)]]
        log_z = None
        if scores:
            rows = [(i, s.start, s.end, self._label_index[s.label]) for i, p in enumerate(predictions) for s in p.spans]
            span_probabilities, log_z = self._span_probabilities(emissions, mask, rows, small)
            probabilities = iter(span_probabilities)
            for prediction in predictions:
                prediction.scores = [next(probabilities) for _ in prediction.spans]
        if nbest:
            scaled = emissions / self.bundle.temperature
            start, moves, end = self._crf_scores(calibrated=True)
            k_paths, k_scores = crf.nbest(scaled, mask, start, moves, end, nbest)
            if log_z is None:
                log_z = self.forward_backward(scaled, mask, start, moves, end)[2]
            log_probs = (k_scores - log_z.unsqueeze(1)).tolist()
            for prediction, sentence, candidates, candidate_log_probs in zip(
                predictions, sentences, k_paths.tolist(), log_probs
            ):
                for path, log_p in zip(candidates, candidate_log_probs):
                    if math.isfinite(log_p) and math.exp(log_p) > 0:
                        spans = tags_to_spans([self.tags[t] for t in path[: len(sentence)]])
                        prediction.alternatives.append((log_p, spans))
        return predictions

    def _crf_scores(self, calibrated: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The constrained CRF scores (divided by the temperature when ``calibrated``), computed once."""
        key = "calibrated" if calibrated else "raw"
        if key not in self._crf_cache:
            with torch.inference_mode():
                self._crf_cache[key] = self.model.crf_parameters(self.bundle.temperature if calibrated else 1.0)
                self._crf_cache[key + "-numpy"] = tuple(t.cpu().numpy() for t in self._crf_cache[key])
        return self._crf_cache[key]

    def _span_probabilities(
        self, emissions: torch.Tensor, mask: torch.Tensor, rows: list[tuple[int, int, int, int]], small: bool
    ) -> tuple[list[float], torch.Tensor | None]:
        """Probability of each ``(sentence, start, end, label index)`` span, with calibrated scores, and
        the log-partition ``(B,)`` found on the way (None when there are no spans, and no work done)."""
        if not rows:
            return [], None
        scaled = emissions / self.bundle.temperature
        start, moves, end = self._crf_scores(calibrated=True)
        if small:
            start, moves, end = self._crf_cache["calibrated-numpy"]
            arrays = (scaled.numpy(), mask.numpy(), start, moves, end)
            alpha, beta, log_z = crf_numpy.forward_backward(*arrays)
            log_p = crf_numpy.span_log_probs(arrays[0], alpha, beta, log_z, moves, np.array(rows), self.span_tags)
            return np.exp(log_p).clip(0.0, 1.0).tolist(), torch.from_numpy(log_z)
        alpha, beta, log_z = self.forward_backward(scaled, mask, start, moves, end)
        spans = torch.tensor(rows, device=emissions.device)
        log_p = crf.span_log_probs(scaled, alpha, beta, log_z, moves, spans, self.span_tags)
        return log_p.exp().clamp(0.0, 1.0).tolist(), log_z

    def _spans(self, paths: np.ndarray, mask: np.ndarray) -> list[tuple[int, int, int, int]]:
        """``(sentence, start, end, label index)`` of every entity in valid BIOES ``paths`` ``(B, T)``.

        In a valid path entities open at ``B``/``S`` and close at ``E``/``S``, in order, so
        pairing the i-th opening with the i-th closing (row-major) gives the spans without
        a Python loop over tokens.
        """
        rows, starts = np.nonzero(self._opens[paths] & mask)
        _, ends = np.nonzero(self._closes[paths] & mask)
        labels = self._label_of[paths[rows, starts]]
        return list(zip(rows.tolist(), starts.tolist(), (ends + 1).tolist(), labels.tolist()))

    def _decode(self, emissions: torch.Tensor, mask: torch.Tensor, small: bool) -> np.ndarray:
        """Best paths ``(B, T)`` under the constrained CRF, with the chosen decoder."""
        start, moves, end = self._crf_scores(calibrated=False)
        if self.decoder == "torchcrf":
            reference = CRF(moves.shape[0], batch_first=True).to(emissions.device)
            reference.start_transitions.data = start
            reference.transitions.data = moves
            reference.end_transitions.data = end
            paths = np.zeros(mask.shape, dtype=np.int64)
            for i, path in enumerate(reference.decode(emissions, mask)):
                paths[i, : len(path)] = path
            return paths
        if small:
            numpy_scores = self._crf_cache["raw-numpy"]
            return crf_numpy.viterbi(emissions.numpy(), mask.numpy(), *numpy_scores, self.viterbi_sources)
        return crf.viterbi(emissions, mask, start, moves, end, self.viterbi_sources)[0].cpu().numpy()


def _entities(text: str, tokens: list[Token], spans: list[Span], span_scores: list[float] | None) -> list[Entity]:
    """Token spans as entities with character offsets into ``text``."""
    entities = []
    for n, span in enumerate(spans):
        start, end = tokens[span.start].start, tokens[span.end - 1].end
        score = span_scores[n] if span_scores is not None else None
        entities.append(Entity(start, end, span.label, text[start:end], score))
    return entities


def best_combinations(parts: Sequence[Sequence[tuple[float, list]]], k: int) -> list[tuple[float, list]]:
    """The ``k`` best joint choices of one ``(log-probability, items)`` option per independent part.

    Log-probabilities add and item lists concatenate; best first.
    """
    combined: list[tuple[float, list]] = [(0.0, [])]
    for options in parts:
        pairs = ((a + b, ea + eb) for (a, ea), (b, eb) in itertools.product(combined, options))
        combined = heapq.nlargest(k, pairs, key=lambda pair: pair[0])
    return combined


def combine_nbest(per_sentence: Sequence[Sequence[tuple[float, list[Entity]]]], k: int) -> list[Alternative]:
    """The ``k`` best joint analyses of independent sentences from each one's ``k`` best."""
    return [Alternative(entities, math.exp(log_p)) for log_p, entities in best_combinations(per_sentence, k)]
