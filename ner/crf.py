"""CRF inference in NumPy: constrained Viterbi, forward-backward, span probabilities, n-best.

``pytorch-crf``'s :class:`torchcrf.CRF` gives the training loss; everything a
trained model needs at inference is here, batched over sentences (the only
Python loops run over time steps). NumPy, not torch: a step costs about a
microsecond here against several for a tensor operation, the batched
recursions measured as fast as torch's at 128 sentences, and serving needs no
torch at all.

Shapes: ``B`` sentences, ``T`` time steps, ``K`` tags. ``emissions`` is
``(B, T, K)``, ``mask`` is ``(B, T)`` bool and left-aligned (every sentence
has at least one token), ``start`` and ``end`` are ``(K,)`` and
``transitions[i, j]`` ``(K, K)`` scores a move from tag ``i`` to tag ``j``
(the conventions of :class:`torchcrf.CRF`). Forbidden moves score
:data:`FORBIDDEN`; so does a tag that a constraint rules out at a position
(:func:`constrain`): every function here then works on the paths that
satisfy the constraints (:func:`nbest` fills its ``k`` with forbidden paths
where fewer are allowed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Added to the score of a forbidden transition or tag: exp(-1e4) is 0 in float32 and float64, and
# unlike -inf it keeps sums and differences finite.
FORBIDDEN = -1e4


def bioes_constraints(tags: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Allowed BIOES moves as bool masks ``start (K,)``, ``transitions (K, K)``, ``end (K,)``.

    A valid sequence starts with ``O``, ``B`` or ``S``; ``B-X`` and ``I-X`` go on
    to ``I-X`` or ``E-X``; ``O``, ``E`` and ``S`` go on to ``O``, ``B`` or ``S``;
    it ends with ``O``, ``E`` or ``S``.
    """
    prefixes = np.array([t[0] for t in tags])
    types = np.array([t[2:] for t in tags])
    start = np.isin(prefixes, list("OBS"))
    end = np.isin(prefixes, list("OES"))
    inside_next = np.isin(prefixes, list("IE"))[None, :] & (types[:, None] == types[None, :])
    allowed = np.where(np.isin(prefixes, list("BI"))[:, None], inside_next, start[None, :])
    return start, allowed, end


def previous_tags(allowed: np.ndarray) -> np.ndarray:
    """For each tag, the tags that may precede it (``allowed (K, K)`` bool, ``[i, j]`` for a move
    from ``i`` to ``j``), ascending: ``(K, P)``, ``P`` the most that any tag has.

    Shorter rows repeat their last tag: a repeated candidate changes neither a maximum nor, as the
    first maximum wins, which tag is chosen. A tag that nothing may precede keeps every tag.
    """
    allowed = np.asarray(allowed, dtype=bool)
    k = allowed.shape[0]
    rows = [np.flatnonzero(allowed[:, j]) if allowed[:, j].any() else np.arange(k) for j in range(k)]
    width = max(len(row) for row in rows)
    return np.stack([np.pad(row, (0, width - len(row)), mode="edge") for row in rows])


@dataclass(frozen=True)
class CRFScores:
    """A trained CRF's ``start (K,)``, ``transitions (K, K)`` and ``end (K,)`` scores with every move
    that BIOES forbids scored :data:`FORBIDDEN`, and the ``sources (K, P)`` that Viterbi compares."""

    start: np.ndarray
    transitions: np.ndarray
    end: np.ndarray
    sources: np.ndarray

    @classmethod
    def constrained(cls, start: np.ndarray, transitions: np.ndarray, end: np.ndarray, tags: Sequence[str]) -> CRFScores:
        """The scores of ``pytorch-crf``'s ``start_transitions``, ``transitions``, ``end_transitions``
        under the BIOES constraints of ``tags``."""
        allowed_start, allowed, allowed_end = bioes_constraints(tags)

        def penalised(scores: np.ndarray, ok: np.ndarray) -> np.ndarray:
            return (np.asarray(scores, dtype=np.float32) + np.where(ok, 0.0, FORBIDDEN)).astype(np.float32)

        return cls(
            penalised(start, allowed_start),
            penalised(transitions, allowed),
            penalised(end, allowed_end),
            previous_tags(allowed),
        )

    def divided(self, temperature: float) -> CRFScores:
        """The scores divided by ``temperature`` (calibrated probabilities; the best path is the same)."""
        if temperature == 1.0:
            return self
        return CRFScores(self.start / temperature, self.transitions / temperature, self.end / temperature, self.sources)


def constrain(emissions: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    """``emissions (B, T, K)`` with :data:`FORBIDDEN` added wherever ``allowed (B, T, K)`` is False."""
    if allowed is None:
        return emissions
    return emissions + np.where(allowed, 0.0, FORBIDDEN).astype(emissions.dtype)


def viterbi(
    emissions: np.ndarray,
    mask: np.ndarray,
    start: np.ndarray,
    transitions: np.ndarray,
    end: np.ndarray,
    sources: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The best tag path of each sentence: ``(B, T)`` tag ids (0 on padding) and ``(B,)`` scores.

    ``sources (K, P)`` (from :func:`previous_tags`) limits the maximum at each step to the moves
    a path may take; ``None`` considers every move. Under BIOES constraints a tag has at most
    ``2L + 1`` of the ``4L + 1`` tags before it (9 of 17 for four labels), so each step compares
    about half the candidates. A padded step keeps each tag's score and points back to the tag
    itself; the first maximum wins ties, as in :meth:`torchcrf.CRF.decode`.
    """
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
    final = score + end
    last = final.argmax(axis=1)
    return backtrace(pointers, last, choices) * mask, final[np.arange(batch), last]


def sources_and_choices(sources: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``sources (K, P)`` for :func:`viterbi` (every tag when ``None``) and ``choices (K, P + 1)``,
    its rows with the tag itself after them: where the pointer ``P`` of a padded step leads."""
    if sources is None:
        sources = np.tile(np.arange(k), (k, 1))
    return sources, np.concatenate([sources, np.arange(k)[:, None]], axis=1)


def backtrace(pointers: np.ndarray, last: np.ndarray, choices: np.ndarray) -> np.ndarray:
    """Best paths ``(B, T)`` from back-pointers ``(T - 1, B, K)`` and the best last tags ``(B,)``.

    A pointer is the position, in its tag's row of ``choices (K, P + 1)``, of the best previous tag (the last
    column, the tag itself, is where a padded step points).
    """
    steps, batch = pointers.shape[0] + 1, last.shape[0]
    previous = choices[np.arange(choices.shape[0]), pointers]  # (T - 1, B, K): the best previous tag
    path = np.empty((steps, batch), dtype=np.int64)
    path[-1] = last
    rows = np.arange(batch)
    for t in range(steps - 2, -1, -1):
        path[t] = previous[t, rows, path[t + 1]]
    return np.ascontiguousarray(path.T)


# An unscaled recursion is kept while every position's total stays within these bounds; a state
# then underflows only below 1e-200 of its position's total, far under any probability shown.
UNSCALED_RANGE = (1e-100, 1e100)


def forward_backward(
    emissions: np.ndarray, mask: np.ndarray, start: np.ndarray, transitions: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Forward and backward log-scores: ``alpha``, ``beta`` ``(B, T, K)`` and ``log_z`` ``(B,)``, float64.

    ``alpha[b, t, k]`` is the log-sum of scores of all prefixes ending in tag ``k``
    at ``t`` (its emission included); ``beta[b, t, k]`` the log-sum of all
    continuations after tag ``k`` at ``t`` (the end score included); forbidden
    states are ``-inf``. The recursions run on probabilities, a small matrix
    product per step instead of a log-sum-exp over ``(B, K, K)``, with every
    factor shifted to at most 1 and the shifts added back in log space. They
    run unscaled first; where a position's total leaves :data:`UNSCALED_RANGE`
    (long sentences, extreme scores) they run again with every step rescaled,
    so that no reachable state underflows even when a forbidden one scores far
    higher.
    """
    emissions, start, transitions, end = (np.asarray(x, dtype=np.float64) for x in (emissions, start, transitions, end))
    batch, steps, _ = emissions.shape
    top, end_top = transitions.max(), end.max()
    moves = np.exp(transitions - top)  # forbidden moves exactly 0
    shift = emissions.max(axis=2, keepdims=True)
    weights = np.exp(emissions - shift)
    first = start + emissions[:, 0]
    first_scale = first.max(axis=1, keepdims=True)
    first_alpha, last_beta = np.exp(first - first_scale), np.exp(end - end_top)
    alphas, betas, totals = _recursions(first_alpha, last_beta, moves, weights, mask)
    sums = np.concatenate([alphas.sum(axis=2)[mask], betas.sum(axis=2)[mask]])
    if not UNSCALED_RANGE[0] < sums.min() <= sums.max() < UNSCALED_RANGE[1]:
        alphas, betas, totals = _recursions(first_alpha, last_beta, moves, weights, mask, rescale=True)
    forward_steps = backward_steps = shift + top  # (B, T, 1): what each step's product was shifted by
    if totals is not None:  # and what it was divided by
        forward_steps, backward_steps = forward_steps + np.log(totals[0]), backward_steps + np.log(totals[1])
    live = mask[:, :, None]
    alpha_steps = np.where(live, forward_steps, 0.0)
    alpha_steps[:, 0] = first_scale
    beta_steps = np.where(live, backward_steps, 0.0)
    beta_scales = np.full((batch, steps, 1), end_top)  # at t: end_top and every step after t
    beta_scales[:, :-1] += beta_steps[:, :0:-1].cumsum(axis=1)[:, ::-1]
    with np.errstate(divide="ignore"):  # log(0) = -inf marks a forbidden state
        alpha_log = np.log(alphas) + alpha_steps.cumsum(axis=1)
        beta_log = np.log(betas) + beta_scales
        final = alpha_log[np.arange(batch), mask.sum(axis=1) - 1] + end
    peak = final.max(axis=1, keepdims=True)
    log_z = (np.log(np.exp(final - peak).sum(axis=1, keepdims=True)) + peak)[:, 0]
    return alpha_log, beta_log, log_z


def _recursions(
    first_alpha: np.ndarray,
    last_beta: np.ndarray,
    moves: np.ndarray,
    weights: np.ndarray,
    mask: np.ndarray,
    rescale: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The forward and backward recursions of :func:`forward_backward` on probabilities: ``alphas``,
    ``betas`` ``(B, T, K)`` and, with ``rescale``, the totals ``(2, B, T, 1)`` each step of the
    forward and of the backward recursion was divided by (else None).

    ``first_alpha (B, K)``, ``last_beta (K,)``, ``moves (K, K)`` and ``weights (B, T, K)`` are the
    exponentiated, shifted scores. Both recursions advance together, one batched product per step: at
    step i the forward one goes from position i - 1 to i, the backward one from T - i to T - 1 - i.
    The backward one carries beta times the position's weights, so that both are "vector @ matrix,
    times weights".
    """
    batch, steps, k = weights.shape
    both_moves = np.array([moves, moves.T])  # (2, K, K); np.array stacks in a third of np.stack's time
    both_weights = np.array([weights, weights[:, ::-1]])  # (2, B, T, K)
    everyone = mask.all(axis=0)  # per position: no sentence over yet, nothing to mask
    alphas, betas = np.empty((batch, steps, k)), np.empty((batch, steps, k))
    alphas[:, 0], betas[:, -1] = first_alpha, last_beta
    carried = np.array([first_alpha, last_beta * weights[:, -1]])  # (2, B, K)
    totals = np.ones((2, batch, steps, 1)) if rescale else None
    if totals is not None:
        totals[1, :, -1] = carried[1].sum(axis=1, keepdims=True)
        carried[1] /= totals[1, :, -1]
    for i in range(1, steps):
        t = steps - 1 - i  # the backward recursion's position
        step = carried @ both_moves  # alpha (before its weights) at i, beta at t
        if not everyone[t + 1]:  # where t is a sentence's last token, only the end score follows
            step[1] = np.where(mask[:, t + 1, None], step[1], last_beta)
        betas[:, t] = step[1]
        step *= both_weights[:, :, i]
        if totals is not None:
            step_totals = step.sum(axis=2, keepdims=True)
            step /= step_totals
            totals[0, :, i], totals[1, :, t] = step_totals[0], step_totals[1]
        if not everyone[i]:  # past a sentence's end its alpha stays as it was
            step[0] = np.where(mask[:, i, None], step[0], carried[0])
        alphas[:, i] = step[0]
        carried = step
    return alphas, betas, totals


def marginals(
    emissions: np.ndarray, mask: np.ndarray, start: np.ndarray, transitions: np.ndarray, end: np.ndarray
) -> np.ndarray:
    """Per-token tag probabilities ``(B, T, K)`` (zero on padding)."""
    alpha, beta, log_z = forward_backward(emissions, mask, start, transitions, end)
    return np.exp(alpha + beta - log_z[:, None, None]) * mask[:, :, None]


@dataclass(frozen=True)
class SpanTags:
    """Tag ids of each label's ``B``, ``I``, ``E`` and ``S`` tag, as ``(L,)`` arrays."""

    begin: np.ndarray
    inside: np.ndarray
    end: np.ndarray
    single: np.ndarray

    @classmethod
    def from_tags(cls, tags: Sequence[str], labels: Sequence[str]) -> SpanTags:
        index = {t: i for i, t in enumerate(tags)}
        return cls(*(np.array([index[f"{p}-{x}"] for x in labels], dtype=np.int64) for p in "BIES"))


def span_log_probs(
    emissions: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    log_z: np.ndarray,
    transitions: np.ndarray,
    spans: np.ndarray,
    span_tags: SpanTags,
) -> np.ndarray:
    """Log-probability that exactly each span carries exactly its label: ``(N,)``.

    ``spans`` is ``(N, 4)``: sentence index, first token, end token (exclusive)
    and label index. That event is the tag run ``S-X`` for one token, else
    ``B-X I-X ... I-X E-X``; its probability sums every path through the run:
    the forward score into its first tag, the fixed score of the run, and the
    backward score out of its last tag, over the partition function.
    """
    sentence, first, stop, label = np.asarray(spans, dtype=np.int64).reshape(-1, 4).T
    last = stop - 1
    length = stop - first
    b, i, e, s = (t[label] for t in (span_tags.begin, span_tags.inside, span_tags.end, span_tags.single))
    single = alpha[sentence, first, s] + beta[sentence, first, s]
    running = emissions.astype(np.float64).cumsum(axis=1)  # emissions of I-X inside the run, as a difference
    inner = (running[sentence, np.maximum(last - 1, 0), i] - running[sentence, first, i]) * (length > 2)
    inner_moves = transitions[b, i] + transitions[i, e] + np.maximum(length - 3, 0) * transitions[i, i]
    moves = np.where(length > 2, inner_moves, transitions[b, e])
    with np.errstate(invalid="ignore"):
        run = alpha[sentence, first, b] + inner + moves + emissions[sentence, last, e] + beta[sentence, last, e]
    return np.where(length == 1, single, run) - log_z[sentence]


def nbest(
    emissions: np.ndarray,
    mask: np.ndarray,
    start: np.ndarray,
    transitions: np.ndarray,
    end: np.ndarray,
    k: int,
    sources: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best tag paths of each sentence: ``(B, k, T)`` tag ids and ``(B, k)`` scores, best first.

    A k-best Viterbi: each tag keeps its ``k`` best partial paths. Where a sentence has fewer than ``k``
    allowed paths, forbidden ones follow them, with :data:`FORBIDDEN` in their scores (a probability of 0
    once normalised); where it has fewer than ``k`` paths at all, the missing ones score ``-inf``.
    ``sources (K, P)`` (from :func:`previous_tags`) limits each step to the moves a path may take, as in
    :func:`viterbi` (about half the work under BIOES): no path then makes a forbidden move, though one may
    still start or end where it may not.
    """
    # float64 as in forward_backward, so that the n best probabilities never sum past 1
    emissions, start, transitions, end = (np.asarray(x, dtype=np.float64) for x in (emissions, start, transitions, end))
    batch, steps, tags = emissions.shape
    if sources is None:
        sources = np.tile(np.arange(tags), (tags, 1))
    width = sources.shape[1]
    # (K, P): each source's move, -inf for the repeats that pad a row (each path once)
    moves = np.where(_first_of_repeats(sources), transitions[sources, np.arange(tags)[:, None]], -np.inf)
    score = np.full((batch, tags, k), -np.inf)
    score[:, :, 0] = start + emissions[:, 0]
    keep_tag = np.broadcast_to(np.arange(tags)[None, :, None], (batch, tags, k))
    keep_rank = np.broadcast_to(np.arange(k)[None, None, :], (batch, tags, k))
    back_tags, back_ranks = [], []
    rows = np.arange(batch)[:, None, None]
    every_source, every_move = (np.broadcast_to(x, (batch, tags, width)) for x in (sources, moves))
    for t in range(1, steps):
        source, move = every_source, every_move  # (B, K_next, S): the sources weighed, and their moves
        if width > k:  # the k best come from the k sources whose best path reaches the tag best: no other's can
            chosen = _top_k(score[:, sources, 0] + moves, k)
            source, move = (np.take_along_axis(x, chosen, axis=2) for x in (every_source, every_move))
        # (B, K_next, S, k) flattened to (B, K_next, S * k): a next tag's candidates, by source and rank
        candidates = (score[rows, source] + (move + emissions[:, t, :, None])[..., None]).reshape(batch, tags, -1)
        flat = _top_k(candidates, k)  # (B, K_next, k), best first
        live = mask[:, t, None, None]
        score = np.where(live, np.take_along_axis(candidates, flat, axis=2), score)
        back_tags.append(np.where(live, np.take_along_axis(source, flat // k, axis=2), keep_tag))
        back_ranks.append(np.where(live, flat % k, keep_rank))
    final = (score + end[None, :, None]).reshape(batch, tags * k)
    flat = _top_k(final, k)  # (B, k) over (tag, rank) pairs
    best_scores = np.take_along_axis(final, flat, axis=1)
    tag, rank = flat // k, flat % k
    path = [tag]
    for back_tag, back_rank in zip(reversed(back_tags), reversed(back_ranks)):
        index = tag * k + rank  # into the flattened (K_next, k) table
        tag, rank = (
            np.take_along_axis(back_tag.reshape(batch, -1), index, axis=1),
            np.take_along_axis(back_rank.reshape(batch, -1), index, axis=1),
        )
        path.append(tag)
    path.reverse()
    return np.stack(path, axis=2) * mask[:, None, :], best_scores


def _first_of_repeats(sources: np.ndarray) -> np.ndarray:
    """``(K, P)`` bool: where a row of :func:`previous_tags` holds a tag for the first time."""
    return np.concatenate([np.ones((len(sources), 1), dtype=bool), sources[:, 1:] != sources[:, :-1]], axis=1)


def _top_k(values: np.ndarray, k: int) -> np.ndarray:
    """Indices along the last axis of the ``k`` largest of ``values (..., N)``: ``(..., k)``, largest first
    (of equal values, the lower index first; past k = 16, of values equal to the k-th, any may be kept)."""
    if values.shape[-1] <= k:
        return np.argsort(-values, axis=-1, kind="stable")[..., :k]
    if k <= 16:  # k maxima, each taken out in turn: far cheaper than a partition of many short rows
        left = np.maximum(values, np.finfo(values.dtype).min)  # -inf, a missing path, above one taken out
        found = []
        for _ in range(k):
            found.append(left.argmax(axis=-1)[..., None])
            np.put_along_axis(left, found[-1], -np.inf, axis=-1)
        return np.concatenate(found, axis=-1)
    kept = np.sort(np.argpartition(-values, k - 1, axis=-1)[..., :k], axis=-1)  # the k largest, then sorted
    order = np.argsort(-np.take_along_axis(values, kept, axis=-1), axis=-1, kind="stable")
    return np.take_along_axis(kept, order, axis=-1)
