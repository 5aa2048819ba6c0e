"""CRF inference (NumPy) against brute force: enumerate every tag sequence of tiny random CRFs;
decoding also against pytorch-crf's ``CRF.decode``."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from torchcrf import CRF

from ner import crf
from ner.corpus import tags_to_spans

torch.set_num_threads(1)
TAGS = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]
SOURCES = crf.previous_tags(crf.bioes_constraints(TAGS)[1])  # the tags allowed before each tag


def random_crf(k: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal(shape) for shape in [(k,), (k, k), (k,)])


def random_batch(batch: int, steps: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    emissions = rng.standard_normal((batch, steps, k))
    lengths = rng.integers(1, steps + 1, batch)
    lengths[0] = steps
    mask = np.arange(steps)[None, :] < lengths[:, None]
    return emissions, mask


def reference_crf(start: np.ndarray, moves: np.ndarray, end: np.ndarray) -> CRF:
    """pytorch-crf's CRF with these scores."""
    model = CRF(len(start), batch_first=True).double()
    with torch.no_grad():
        model.start_transitions.copy_(torch.from_numpy(start))
        model.transitions.copy_(torch.from_numpy(moves))
        model.end_transitions.copy_(torch.from_numpy(end))
    return model


def constrained(k_tags: list[str], start, moves, end):
    allowed_start, allowed, allowed_end = crf.bioes_constraints(k_tags)
    return (
        start + (~allowed_start) * crf.FORBIDDEN,
        moves + (~allowed) * crf.FORBIDDEN,
        end + (~allowed_end) * crf.FORBIDDEN,
    )


def path_score(emission, path, start, moves, end) -> float:
    score = start[path[0]] + emission[0, path[0]]
    for t in range(1, len(path)):
        score = score + moves[path[t - 1], path[t]] + emission[t, path[t]]
    return float(score + end[path[-1]])


def enumerate_paths(emission, length, start, moves, end):
    """Every tag path of one sentence with its score, best first."""
    k = emission.shape[1]
    scored = [(path_score(emission, p, start, moves, end), p) for p in itertools.product(range(k), repeat=length)]
    scored.sort(key=lambda item: -item[0])
    return scored


def log_partition(scored) -> float:
    scores = np.array([s for s, _ in scored])
    return float(np.log(np.exp(scores - scores.max()).sum()) + scores.max())


def is_valid_bioes(tags: list[str]) -> bool:
    previous = "O"
    for tag in [*tags, "O"]:
        inside_before = previous[0] in "BI"
        continues = tag[0] in "IE"
        if inside_before != continues or (continues and tag[2:] != previous[2:]):
            return False
        previous = tag
    return True


@pytest.mark.parametrize("seed", range(5))
def test_viterbi_equals_pytorch_crf_decode(seed: int) -> None:
    k = 5
    emissions, mask = random_batch(7, 6, k, seed)
    start, moves, end = random_crf(k, seed + 100)
    expected = reference_crf(start, moves, end).decode(torch.from_numpy(emissions), torch.from_numpy(mask))
    paths, _ = crf.viterbi(emissions, mask, start, moves, end)
    for i, reference in enumerate(expected):
        assert paths[i, : len(reference)].tolist() == reference
        assert (paths[i, len(reference) :] == 0).all()


def test_viterbi_equals_pytorch_crf_decode_with_constraints() -> None:
    """With the BIOES penalties folded into pytorch-crf's parameters, both decoders agree."""
    k = len(TAGS)
    emissions, mask = random_batch(16, 8, k, 7)
    start, moves, end = constrained(TAGS, *random_crf(k, 8))
    every_move, _ = crf.viterbi(emissions, mask, start, moves, end)
    allowed_moves, _ = crf.viterbi(emissions, mask, start, moves, end, SOURCES)
    expected = reference_crf(start, moves, end).decode(torch.from_numpy(emissions), torch.from_numpy(mask))
    for i, reference in enumerate(expected):
        assert every_move[i, : len(reference)].tolist() == reference
        assert allowed_moves[i, : len(reference)].tolist() == reference


def test_previous_tags_lists_allowed_sources_in_order() -> None:
    closed = [TAGS.index(t) for t in ["O", "E-PER", "S-PER", "E-LOC", "S-LOC"]]
    assert SOURCES.shape == (len(TAGS), len(closed))
    assert SOURCES[TAGS.index("B-LOC")].tolist() == sorted(closed)
    # I-PER may follow B-PER or I-PER only: the row repeats its last source.
    assert SOURCES[TAGS.index("I-PER")].tolist() == [1, 2, 2, 2, 2]
    lonely = np.array([[True, False], [True, False]])  # nothing may precede tag 1: it keeps every tag
    assert crf.previous_tags(lonely).tolist() == [[0, 1], [0, 1]]


@pytest.mark.parametrize("seed", range(3))
def test_viterbi_over_allowed_moves_against_brute_force(seed: int) -> None:
    """Comparing only allowed sources finds the best of all paths under the penalized scores."""
    k = len(TAGS)
    emissions, mask = random_batch(4, 4, k, seed + 30)
    emissions = emissions * 4
    start, moves, end = constrained(TAGS, *random_crf(k, seed + 40))
    paths, scores = crf.viterbi(emissions, mask, start, moves, end, SOURCES)
    for i in range(4):
        length = int(mask[i].sum())
        best_score, best_path = enumerate_paths(emissions[i], length, start, moves, end)[0]
        assert paths[i, :length].tolist() == list(best_path)
        assert float(scores[i]) == pytest.approx(best_score, abs=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_viterbi_and_partition_against_brute_force(seed: int) -> None:
    k = 4
    emissions, mask = random_batch(5, 5, k, seed)
    start, moves, end = random_crf(k, seed + 50)
    paths, scores = crf.viterbi(emissions, mask, start, moves, end)
    _, _, log_z = crf.forward_backward(emissions, mask, start, moves, end)
    for i in range(5):
        length = int(mask[i].sum())
        scored = enumerate_paths(emissions[i], length, start, moves, end)
        assert paths[i, :length].tolist() == list(scored[0][1])
        assert float(scores[i]) == pytest.approx(scored[0][0], abs=1e-9)
        assert float(log_z[i]) == pytest.approx(log_partition(scored), abs=1e-9)


def test_constrained_viterbi_never_outputs_invalid_bioes() -> None:
    k = len(TAGS)
    rng = np.random.default_rng(3)
    # Emissions that strongly prefer invalid sequences such as O I-PER.
    emissions = (rng.standard_normal((64, 12, k)) * 5).astype(np.float32)
    emissions[:, :, 2] += 6  # I-PER everywhere
    mask = np.ones((64, 12), dtype=bool)
    mask[32:, 7:] = False
    start, moves, end = (x.astype(np.float32) for x in constrained(TAGS, *random_crf(k, 4)))
    paths, _ = crf.viterbi(emissions, mask, start, moves, end)
    for i in range(64):
        length = int(mask[i].sum())
        assert is_valid_bioes([TAGS[t] for t in paths[i, :length].tolist()])


@pytest.fixture(params=["unscaled", "rescaled"])
def scaling(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The forward-backward recursions as they run first, and as they run again when rescaled."""
    if request.param == "rescaled":
        monkeypatch.setattr(crf, "UNSCALED_RANGE", (math.inf, -math.inf))  # no position's total is within
    return request.param


@pytest.mark.parametrize("seed", range(3))
def test_marginals_against_brute_force(seed: int, scaling: str) -> None:
    k = 4
    emissions, mask = random_batch(4, 5, k, seed)
    start, moves, end = random_crf(k, seed + 10)
    probabilities = crf.marginals(emissions, mask, start, moves, end)
    for i in range(4):
        length = int(mask[i].sum())
        scored = enumerate_paths(emissions[i], length, start, moves, end)
        log_z = log_partition(scored)
        expected = np.zeros((5, k))
        for score, path in scored:
            for t, tag in enumerate(path):
                expected[t, tag] += math.exp(score - log_z)
        assert np.allclose(probabilities[i], expected, atol=1e-5)
        assert np.allclose(probabilities[i, :length].sum(1), 1.0)


@pytest.mark.parametrize("seed", range(3))
def test_span_probabilities_against_brute_force(seed: int, scaling: str) -> None:
    """P(exactly this span carries exactly this label) = the mass of paths with that entity."""
    tags = TAGS  # O and the BIOES tags of two labels: 9^4 paths to enumerate
    labels = ["PER", "LOC"]
    k = len(tags)
    steps = 4
    emissions, mask = random_batch(3, steps, k, seed)
    start, moves, end = constrained(tags, *random_crf(k, seed + 20))
    alpha, beta, log_z = crf.forward_backward(emissions, mask, start, moves, end)
    span_tags = crf.SpanTags.from_tags(tags, labels)
    for i in range(3):
        length = int(mask[i].sum())
        scored = enumerate_paths(emissions[i], length, start, moves, end)
        partition = log_partition(scored)
        runs = []  # each path's probability and the entities it tags as exact runs
        for score, path in scored:
            path_tags = [tags[t] for t in path]
            entities = {
                (s.start, s.end, s.label) for s in tags_to_spans(path_tags) if _exact_run(path_tags, s.start, s.end)
            }
            runs.append((math.exp(score - partition), entities))
        candidates = [(a, b, label) for a in range(length) for b in range(a + 1, length + 1) for label in range(2)]
        rows = np.array([(i, a, b, label) for a, b, label in candidates])
        got = np.exp(crf.span_log_probs(emissions, alpha, beta, log_z, moves, rows, span_tags))
        for (a, b, label), probability in zip(candidates, got.tolist()):
            expected = sum(mass for mass, entities in runs if (a, b, labels[label]) in entities)
            assert probability == pytest.approx(expected, abs=1e-5), (a, b, labels[label])


def _exact_run(path_tags: list[str], a: int, b: int) -> bool:
    """The path tags tokens a..b-1 as exactly one BIOES entity."""
    if b - a == 1:
        return path_tags[a].startswith("S-")
    return (
        path_tags[a].startswith("B-")
        and all(t.startswith("I-") for t in path_tags[a + 1 : b - 1])
        and path_tags[b - 1].startswith("E-")
    )


@pytest.mark.parametrize("seed", range(3))
def test_nbest_against_brute_force(seed: int) -> None:
    k = 3
    n = 7
    emissions, mask = random_batch(4, 4, k, seed)
    start, moves, end = random_crf(k, seed + 30)
    paths, scores = crf.nbest(emissions, mask, start, moves, end, n)
    _, _, log_z = crf.forward_backward(emissions, mask, start, moves, end)
    for i in range(4):
        length = int(mask[i].sum())
        scored = enumerate_paths(emissions[i], length, start, moves, end)
        expected = scored[:n]
        got_scores = scores[i].tolist()
        for rank, (score, _) in enumerate(expected):
            assert got_scores[rank] == pytest.approx(score, abs=1e-9)
            assert math.exp(got_scores[rank] - float(log_z[i])) == pytest.approx(
                math.exp(score - log_partition(scored)), abs=1e-5
            )
            # Equal scores may come in either order; the path must score what it claims.
            assert path_score(emissions[i], paths[i, rank, :length].tolist(), start, moves, end) == pytest.approx(
                got_scores[rank], abs=1e-9
            )
        if len(scored) < n:  # fewer paths than asked: the rest are -inf
            assert all(math.isinf(s) for s in got_scores[len(scored) :])
        distinct = {tuple(paths[i, r, :length].tolist()) for r in range(min(n, len(scored)))}
        assert len(distinct) == min(n, len(scored))


@pytest.mark.parametrize("seed", range(3))
def test_nbest_over_allowed_moves_against_brute_force(seed: int) -> None:
    """With ``sources`` each step weighs only the moves BIOES allows (a model of 66 types took 72 s for
    five analyses of 3,586 tokens): the allowed paths, best first, each once, then forbidden ones or none."""
    k, n = len(TAGS), 40
    emissions, mask = random_batch(3, 3, k, seed + 50)
    start, moves, end = constrained(TAGS, *random_crf(k, seed + 60))
    paths, scores = crf.nbest(emissions, mask, start, moves, end, n, SOURCES)
    every, _ = crf.nbest(emissions, mask, start, moves, end, n)
    allowed_start, allowed, allowed_end = crf.bioes_constraints(TAGS)
    for i in range(3):
        length = int(mask[i].sum())
        expected = [
            (score, p)
            for score, p in enumerate_paths(emissions[i], length, start, moves, end)
            if allowed_start[p[0]] and allowed_end[p[-1]] and all(allowed[a, b] for a, b in zip(p, p[1:]))
        ][:n]
        assert scores[i, : len(expected)].tolist() == pytest.approx([score for score, _ in expected], abs=1e-9)
        assert [tuple(p[:length]) for p in paths[i, : len(expected)].tolist()] == [p for _, p in expected]
        assert (scores[i, len(expected) :] < crf.FORBIDDEN / 2).all()  # forbidden at its start or end, or none
        assert np.array_equal(paths[i, : len(expected)], every[i, : len(expected)])  # as without sources


def test_nbest_first_equals_viterbi() -> None:
    k = len(TAGS)
    emissions, mask = random_batch(32, 10, k, 11)
    start, moves, end = constrained(TAGS, *random_crf(k, 12))
    best, best_scores = crf.viterbi(emissions, mask, start, moves, end)
    paths, scores = crf.nbest(emissions, mask, start, moves, end, 4)
    assert np.array_equal(paths[:, 0], best)
    assert np.allclose(scores[:, 0], best_scores)
    assert (scores[:, :-1] >= scores[:, 1:]).all()


def test_bioes_constraints_shape_and_examples() -> None:
    start, moves, end = crf.bioes_constraints(TAGS)
    index = {t: i for i, t in enumerate(TAGS)}
    assert start[index["B-PER"]] and not start[index["I-PER"]] and not start[index["E-PER"]]
    assert end[index["E-PER"]] and end[index["S-PER"]] and not end[index["B-PER"]]
    assert moves[index["B-PER"], index["I-PER"]] and not moves[index["B-PER"], index["I-LOC"]]
    assert not moves[index["O"], index["I-PER"]] and moves[index["E-PER"], index["B-LOC"]]


def test_marginals_stay_finite_when_forbidden_tags_score_far_higher() -> None:
    """Allowed tags 300 below a forbidden one at every step: the unscaled products underflow, the
    rescaled ones do not."""
    k = len(TAGS)
    emissions = np.zeros((2, 6, k), dtype=np.float32)
    emissions[:, :, 2] = 300.0  # I-PER, forbidden after the start and after O, scores 300 everywhere
    mask = np.ones((2, 6), dtype=bool)
    mask[1, 3:] = False
    start, moves, end = (x.astype(np.float32) for x in constrained(TAGS, *random_crf(k, 5)))
    probabilities = crf.marginals(emissions, mask, start, moves, end)
    assert np.isfinite(probabilities).all()
    assert np.allclose(probabilities[0].sum(1), 1.0, atol=1e-5)
    assert np.allclose(probabilities[1, :3].sum(1), 1.0, atol=1e-5)


def test_long_sentences_rescale_and_agree_with_log_space(monkeypatch: pytest.MonkeyPatch) -> None:
    """300 steps of scores spread over 40 nats leave the unscaled range; the result still matches a
    plain log-sum-exp recursion."""
    rescaled = []
    recursions = crf._recursions

    def spy(*args, **kwargs):
        rescaled.append(kwargs.get("rescale", False))
        return recursions(*args, **kwargs)

    monkeypatch.setattr(crf, "_recursions", spy)
    k = len(TAGS)
    rng = np.random.default_rng(3)
    emissions = 10 * rng.standard_normal((2, 300, k))
    mask = np.ones((2, 300), dtype=bool)
    mask[1, 170:] = False
    start, moves, end = constrained(TAGS, *random_crf(k, 8))
    alpha, beta, log_z = crf.forward_backward(emissions, mask, start, moves, end)
    for i, length in enumerate([300, 170]):
        forward = start + emissions[i, 0]
        for t in range(1, length):
            reachable = forward > crf.FORBIDDEN / 2  # the reference keeps FORBIDDEN finite; ours is -inf
            assert np.allclose(alpha[i, t - 1, reachable], forward[reachable], rtol=1e-9)
            assert np.isneginf(alpha[i, t - 1, ~reachable]).all()
            forward = np.logaddexp.reduce(forward[:, None] + moves, axis=0) + emissions[i, t]
        assert log_z[i] == pytest.approx(np.logaddexp.reduce(forward + end), rel=1e-9)
        allowed_end = end > crf.FORBIDDEN / 2
        assert np.allclose(beta[i, length - 1, allowed_end], end[allowed_end])
    assert rescaled == [False, True]


@pytest.mark.parametrize("seed", range(4))
def test_float32_scores_decode_like_float64(seed: int) -> None:
    """The network's float32 emissions give the paths and probabilities of the same scores in float64."""
    k = len(TAGS)
    emissions, mask = random_batch(6, 9, k, seed)
    scores = constrained(TAGS, *random_crf(k, seed + 60))
    low = [x.astype(np.float32) for x in (emissions, *scores)]
    assert np.array_equal(crf.viterbi(low[0], mask, *low[1:], SOURCES)[0], crf.viterbi(emissions, mask, *scores)[0])
    assert np.allclose(crf.marginals(low[0], mask, *low[1:]), crf.marginals(emissions, mask, *scores), atol=1e-5)


def test_constrained_scores_penalise_exactly_the_forbidden_moves() -> None:
    k = len(TAGS)
    start, moves, end = random_crf(k, 70)
    scores = crf.CRFScores.constrained(start, moves, end, TAGS)
    expected = constrained(TAGS, start, moves, end)
    for got, want in zip((scores.start, scores.transitions, scores.end), expected):
        assert got.dtype == np.float32 and np.allclose(got, want, atol=1e-3)
    assert np.array_equal(scores.sources, SOURCES)
    assert scores.divided(1.0) is scores
    halved = scores.divided(2.0)
    assert np.allclose(halved.transitions, scores.transitions / 2) and np.allclose(halved.end, scores.end / 2)
    assert np.array_equal(halved.sources, scores.sources)


@pytest.mark.parametrize("seed", range(3))
def test_a_higher_temperature_keeps_the_best_path_and_lowers_its_probability(seed: int) -> None:
    k = len(TAGS)
    emissions, mask = random_batch(4, 6, k, seed + 80)
    scores = crf.CRFScores.constrained(*random_crf(k, seed + 90), TAGS)
    probabilities, paths = [], []
    for temperature in (1.0, 3.0):
        t = scores.divided(temperature)
        path, best = crf.viterbi(emissions / temperature, mask, t.start, t.transitions, t.end, t.sources)
        log_z = crf.forward_backward(emissions / temperature, mask, t.start, t.transitions, t.end)[2]
        paths.append(path)
        probabilities.append(np.exp(best - log_z))
    assert np.array_equal(paths[0], paths[1])
    assert (probabilities[1] < probabilities[0]).all()


def test_constrain_rules_tags_out_at_positions() -> None:
    """Forbidding tags per position: Viterbi finds the best path among those that keep to the rest."""
    k = 4
    emissions, mask = random_batch(3, 4, k, 100)
    start, moves, end = random_crf(k, 101)
    allowed = np.random.default_rng(102).random((3, 4, k)) > 0.4
    allowed[..., 0] = True  # at least one tag everywhere
    paths, _ = crf.viterbi(crf.constrain(emissions, allowed), mask, start, moves, end)
    assert crf.constrain(emissions, None) is emissions
    for i in range(3):
        length = int(mask[i].sum())
        best = max(
            (path_score(emissions[i], p, start, moves, end), p)
            for p in itertools.product(range(k), repeat=length)
            if all(allowed[i, t, tag] for t, tag in enumerate(p))
        )
        assert tuple(paths[i, :length].tolist()) == best[1]


def test_nbest_probabilities_of_float32_scores_never_sum_past_one() -> None:
    """All paths of one-token sentences: their probabilities sum to 1, computed in float64 from float32 inputs."""
    k = len(TAGS)
    rng = np.random.default_rng(5)
    emissions = (rng.normal(size=(64, 1, k)) * 8).astype(np.float32)
    mask = np.ones((64, 1), dtype=bool)
    start, moves, end = (x.astype(np.float32) for x in random_crf(k, 6))
    _, scores = crf.nbest(emissions, mask, start, moves, end, k)
    _, _, log_z = crf.forward_backward(emissions, mask, start, moves, end)
    totals = np.exp(scores - log_z[:, None]).sum(axis=1)
    assert np.all(totals <= 1 + 1e-12) and np.allclose(totals, 1, atol=1e-12)
