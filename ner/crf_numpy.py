"""The CRF inference of :mod:`ner.crf` in NumPy, for one or a few sentences.

For a handful of sentences the arrays are tiny and the cost of each step is
the cost of calling an operation: about a microsecond in NumPy, several for a
tensor operation. The tagger uses these functions for small batches (the
latency of a single request) and :mod:`ner.crf` for large ones; the tests hold
both to the same brute-force results.

Shapes as in :mod:`ner.crf`: ``emissions (B, T, K)``, ``mask (B, T)`` bool
(left-aligned), ``start (K,)``, ``transitions (K, K)``, ``end (K,)``; NumPy
arrays in and out.
"""

from __future__ import annotations

import numpy as np

from ner.crf import SpanTags, backtrace, sources_and_choices


def viterbi(
    emissions: np.ndarray,
    mask: np.ndarray,
    start: np.ndarray,
    transitions: np.ndarray,
    end: np.ndarray,
    sources: np.ndarray | None = None,
) -> np.ndarray:
    """The best tag path of each sentence, ``(B, T)`` (0 on padding), as :func:`ner.crf.viterbi`,
    with the same ``sources``, order of additions and first-maximum tie-breaking."""
    batch, steps, k = emissions.shape
    sources, choices = sources_and_choices(sources, k)
    width = sources.shape[1]
    moves = transitions[sources, np.arange(k)[:, None]]  # (K, P): the score of each source's move
    score = start + emissions[:, 0]
    pointers = np.empty((max(steps - 1, 0), batch, k), dtype=np.int64)
    everyone = mask.all(axis=0)  # per step: no sentence over yet, nothing to mask
    for t in range(1, steps):
        candidates = score[:, sources] + moves  # (B, K, P)
        pointer = candidates.argmax(axis=2)
        best = candidates.max(axis=2) + emissions[:, t]
        if everyone[t]:
            score, pointers[t - 1] = best, pointer
        else:
            live = mask[:, t, None]
            score = np.where(live, best, score)
            pointers[t - 1] = np.where(live, pointer, width)
    return backtrace(pointers, (score + end).argmax(axis=1), choices) * mask


def forward_backward(
    emissions: np.ndarray, mask: np.ndarray, start: np.ndarray, transitions: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``alpha``, ``beta`` ``(B, T, K)`` and ``log_z`` ``(B,)`` in float64, as :func:`ner.crf.forward_backward`."""
    emissions, start, transitions, end = (np.asarray(x, dtype=np.float64) for x in (emissions, start, transitions, end))
    batch, steps, k = emissions.shape
    top = transitions.max()
    moves = np.exp(transitions - top)
    shift = emissions.max(axis=2, keepdims=True)
    weights = np.exp(emissions - shift)
    everyone = mask.all(axis=0)  # per step: no sentence over yet, nothing to mask
    # Rescaled probabilities per step, their log scales apart; logs are taken once at the end.
    alphas, alpha_scales = np.empty((batch, steps, k)), np.empty((batch, steps, 1))
    first = start + emissions[:, 0]
    scale = first.max(axis=1, keepdims=True)
    alpha = np.exp(first - scale)
    alphas[:, 0], alpha_scales[:, 0] = alpha, scale
    for t in range(1, steps):
        step = (alpha @ moves) * weights[:, t]
        total = step.sum(axis=1, keepdims=True)
        if everyone[t]:
            alpha, scale = step / total, scale + (shift[:, t] + top + np.log(total))
        else:
            live = mask[:, t, None]
            alpha = np.where(live, step / total, alpha)
            scale = np.where(live, scale + (shift[:, t] + top + np.log(total)), scale)
        alphas[:, t], alpha_scales[:, t] = alpha, scale
    end_top = end.max()
    last_beta = np.broadcast_to(np.exp(end - end_top), (batch, k))
    betas, beta_scales = np.empty((batch, steps, k)), np.empty((batch, steps, 1))
    beta, scale = last_beta, np.full((batch, 1), end_top)
    betas[:, -1], beta_scales[:, -1] = beta, scale
    for t in range(steps - 2, -1, -1):
        step = (beta * weights[:, t + 1]) @ moves.T
        total = step.sum(axis=1, keepdims=True)
        if everyone[t + 1]:
            beta, scale = step / total, scale + (shift[:, t + 1] + top + np.log(total))
        else:
            live = mask[:, t + 1, None]
            beta = np.where(live, step / total, last_beta)
            scale = np.where(live, scale + (shift[:, t + 1] + top + np.log(total)), end_top)
        betas[:, t], beta_scales[:, t] = beta, scale
    with np.errstate(divide="ignore"):  # log(0) = -inf marks a forbidden state
        alpha_log = np.log(alphas) + alpha_scales
        beta_log = np.log(betas) + beta_scales
        final = alpha_log[:, -1] + end
    peak = final.max(axis=1, keepdims=True)
    log_z = (np.log(np.exp(final - peak).sum(axis=1, keepdims=True)) + peak)[:, 0]
    return alpha_log, beta_log, log_z


def span_log_probs(
    emissions: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    log_z: np.ndarray,
    transitions: np.ndarray,
    spans: np.ndarray,
    span_tags: SpanTags,
) -> np.ndarray:
    """Log-probability of each span ``(N, 4)`` exactly with its label, as :func:`ner.crf.span_log_probs`."""
    sentence, first, stop, label = spans.T
    last = stop - 1
    length = stop - first
    b, i, e, s = (t.numpy()[label] for t in (span_tags.begin, span_tags.inside, span_tags.end, span_tags.single))
    single = alpha[sentence, first, s] + beta[sentence, first, s]
    running = emissions.astype(np.float64).cumsum(axis=1)
    inner = (running[sentence, np.maximum(last - 1, 0), i] - running[sentence, first, i]) * (length > 2)
    inner_moves = transitions[b, i] + transitions[i, e] + np.maximum(length - 3, 0) * transitions[i, i]
    moves = np.where(length > 2, inner_moves, transitions[b, e])
    with np.errstate(invalid="ignore"):
        run = alpha[sentence, first, b] + inner + moves + emissions[sentence, last, e] + beta[sentence, last, e]
    return np.where(length == 1, single, run) - log_z[sentence]
