"""Tests for ner.tagger: raw text in, entities with exact offsets and probabilities out; every batching and
cutting path agrees with the plain one; decoding agrees with pytorch-crf; n-best and document memory."""

from __future__ import annotations

import itertools
import math
import random
import time
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from torchcrf import CRF

from ner import Entity, Tagger, TagOptions, crf
from ner.corpus import tags_to_spans
from ner.tagger import MAX_NBEST, DeadlineExceeded, Document, _group_means, best_combinations
from ner.text import Token, cut_points

from .conftest import synthetic_chinese, synthetic_sentences

TEXTS = [" ".join(t for t, _ in s) for s in synthetic_sentences(120, 41)]


def spans(tagger: Tagger, texts: list[str]) -> list[list[tuple[int, int, str]]]:
    return [[(e.start, e.end, e.label) for e in entities] for entities in tagger.tag_batch(texts, scores=False)]


def test_tagger_finds_entities_with_exact_offsets(tiny_model: Path) -> None:
    tagger = Tagger.load(tiny_model)
    text = "John Smith visited Berlin on Monday.  Maria Garcia works for Siemens in Oslo."
    entities = tagger.tag(text)
    found = {(e.text, e.label) for e in entities}
    assert {("John Smith", "PER"), ("Berlin", "LOC"), ("Siemens", "ORG")} <= found
    for entity in entities:
        assert text[entity.start : entity.end] == entity.text
        assert 0.0 <= entity.score <= 1.0
    assert tagger.tag_batch([text, "", "Nothing happened today."])[1:] == [[], []]


def test_no_entity_holds_a_lone_hash_at_sign_or_emoji_but_a_dictionarys_phrase(tiny_model: Path) -> None:
    """No corpus's entity holds one, yet a model that had never seen 😂 read 王芳😂 as a person."""
    tagger = Tagger.load(tiny_model)
    text = "John 😂 Smith # visited @ Berlin 👨‍👩‍👧 ＃ Siemens"
    symbols = {i for i, token in enumerate(tagger.tokenize(text)) if token.text in ("😂", "#", "@", "👨‍👩‍👧", "＃")}
    assert len(symbols) == 5
    (analysis,) = tagger.analyze([text], TagOptions(tokens=True, nbest=10))
    assert all(analysis.tokens[i].tag == "O" for i in symbols)
    alternatives = [e.text for a in analysis.alternatives for e in a.entities]
    assert len(analysis.alternatives) == 10 and not any(set(e) & set("😂#@👨＃") for e in alternatives)
    forced = tagger.dictionary({"Smith # visited": "ORG"})
    (analysis,) = tagger.analyze([text], TagOptions(dictionary=forced))
    assert ("Smith # visited", "ORG") in {(e.text, e.label) for e in analysis.entities}


def test_a_sentences_end_marks_start_or_end_no_entity_but_may_stand_inside_one(tiny_model: Path) -> None:
    """Chat ends its sentences with ! and ?, which CoNLL-2003 all but never has: Angela Merkel! was a person."""
    from ner.corpus import Sentence, symbol_entities

    tagger = Tagger.load(tiny_model)
    (allowed,) = tagger._outside([["Peter", "Brown", "!", "?!", "..."]], 5)
    inside = [tag == "O" or tag.startswith("I-") for tag in tagger.tags]
    assert allowed[0].all() and all(list(allowed[i]) == inside for i in (2, 3, 4))
    (analysis,) = tagger.analyze(["Peter Brown ! visited Tokyo ?"], TagOptions(tokens=True))
    assert [t.tag for t in analysis.tokens if t.text in "!?"] == ["O", "O"]
    edge = Sentence(["Jeopardy", "!", "aired"], ["B-MISC", "E-MISC", "O"])
    assert symbol_entities([edge]) == 1 and not symbol_entities(
        [Sentence(["Yahoo", "!", "Japan"], ["B-ORG", "I-ORG", "E-ORG"])]
    )


def test_tag_batch_equals_tag_one_by_one(tiny_model: Path) -> None:
    tagger = Tagger.load(tiny_model)
    texts = [" ".join(t for t, _ in s) for s in synthetic_sentences(40, 9)]
    batched = tagger.tag_batch(texts)
    assert any(batched)
    for text, entities in zip(texts, batched):
        single = tagger.tag(text)
        assert [(e.start, e.end, e.label) for e in single] == [(e.start, e.end, e.label) for e in entities]
        for a, b in zip(single, entities):
            assert a.score == pytest.approx(b.score, abs=1e-5)


def test_predicted_spans_are_those_of_the_predicted_tags(tiny_model: Path) -> None:
    """The spans come from pairing the i-th opening tag with the i-th closing one, without a loop per token."""
    tagger = Tagger.load(tiny_model, batch_size=16)
    sentences = [[t for t, _ in s] for s in synthetic_sentences(80, 12)]
    predictions = tagger.predict(sentences, TagOptions(scores=True))
    assert sum(len(p.spans) for p in predictions) > 80
    for sentence, prediction in zip(sentences, predictions):
        assert len(prediction.tags) == len(sentence)
        assert prediction.spans == tags_to_spans(prediction.tags)
        assert len(prediction.scores) == len(prediction.spans)


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_an_entity_of_one_token_scores_its_tags_marginal_at_the_models_temperature(
    tiny_model: Path, temperature: float
) -> None:
    tagger = Tagger.load(tiny_model)
    tagger.bundle.temperature = temperature
    tokens = ["Peter", "Brown", "visited", "Tokyo", "on", "Monday", "."]
    ((emissions, mask),) = tagger.emissions([[tokens]], [[0]])
    scores = tagger.backend.crf_scores().divided(temperature)
    marginals = crf.marginals(emissions / temperature, mask, scores.start, scores.transitions, scores.end)
    (prediction,) = tagger.predict([tokens], TagOptions(scores=True))
    tokyo = prediction.spans.index(next(s for s in prediction.spans if tokens[s.start] == "Tokyo"))
    assert prediction.tags[3] == "S-LOC"
    assert prediction.scores[tokyo] == pytest.approx(float(marginals[0, 3, tagger.tags.index("S-LOC")]), abs=1e-5)


def test_a_higher_temperature_keeps_the_entities_and_lowers_confident_scores(tiny_model: Path) -> None:
    plain, hot = Tagger.load(tiny_model), Tagger.load(tiny_model)
    plain.bundle.temperature, hot.bundle.temperature = 1.0, 3.0
    a, b = plain.tag_batch(TEXTS[:30]), hot.tag_batch(TEXTS[:30])
    assert [[(e.start, e.end, e.label) for e in x] for x in a] == [[(e.start, e.end, e.label) for e in x] for x in b]
    confident = [(x.score, y.score) for xs, ys in zip(a, b) for x, y in zip(xs, ys) if x.score > 0.9]
    assert confident and all(y < x for x, y in confident)


def test_nbest_probabilities_are_ordered_and_the_first_is_viterbi(tiny_model: Path) -> None:
    tagger = Tagger.load(tiny_model)
    text = "Olga Ivanova said Reuters would grow. It rained in Lima again."
    alternatives = tagger.nbest(text, 5)
    assert 1 <= len(alternatives) <= 5
    probabilities = [a.probability for a in alternatives]
    assert probabilities == sorted(probabilities, reverse=True)
    assert sum(probabilities) <= 1 + 1e-6
    best = [(e.start, e.end, e.label) for e in tagger.tag(text)]
    assert [(e.start, e.end, e.label) for e in alternatives[0].entities] == best


def test_decoding_agrees_with_pytorch_crf(tiny_model: Path) -> None:
    """The tagger's paths are those of pytorch-crf's CRF.decode over the same constrained scores."""
    tagger = Tagger.load(tiny_model, backend="torch")
    sentences = [t.split() for t in TEXTS]
    scores = tagger.backend.crf_scores()
    reference = CRF(len(tagger.tags), batch_first=True)
    with torch.no_grad():
        for parameter, value in zip(
            (reference.start_transitions, reference.transitions, reference.end_transitions),
            (scores.start, scores.transitions, scores.end),
        ):
            parameter.copy_(torch.from_numpy(value))
    (emissions, mask), *_ = tagger.emissions([sentences], [list(range(len(sentences)))])
    expected = reference.decode(torch.from_numpy(emissions), torch.from_numpy(mask))
    assert tagger.predict_tags(sentences) == [[tagger.tags[t] for t in path] for path in expected]


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_bucketed_batches_of_any_size_agree(tiny_model: Path, batch_size: int) -> None:
    plain = spans(Tagger.load(tiny_model, batch_size=128), TEXTS)
    assert any(plain)
    assert spans(Tagger.load(tiny_model, batch_size=batch_size), TEXTS) == plain


def test_batches_bound_sentences_and_padded_positions(monkeypatch: pytest.MonkeyPatch) -> None:
    from ner import tagger as tagger_module

    monkeypatch.setattr(tagger_module, "BATCH_POSITIONS", 20)
    lengths = [1, 2, 2, 3, 5, 5, 9, 30]
    order = list(range(10, 18))
    batches = tagger_module._batches(order, lengths, 4)
    assert [i for b in batches for i in b] == order  # every sentence once, in order
    for batch in batches:  # 4 at most; one alone may exceed the positions
        assert len(batch) <= 4 and (len(batch) == 1 or len(batch) * max(lengths[i - 10] for i in batch) <= 20)
    assert batches[-1] == [17]
    assert tagger_module._batches([], [], 4) == []


def cheapest_cuts(lengths: list[int], size: int, positions: int) -> int:
    """The cost of the cheapest batches of sorted ``lengths`` within the bounds, every cut tried."""
    from ner.tagger import _batch_cost

    best = [0.0] + [math.inf] * len(lengths)
    for end in range(1, len(lengths) + 1):
        for start in range(end):
            if end - start == 1 or (end - start <= size and (end - start) * lengths[end - 1] <= positions):
                best[end] = min(best[end], best[start] + _batch_cost(end - start, lengths[end - 1]))
    return int(best[-1])


@pytest.mark.parametrize("bound", [False, True])
def test_batches_cost_the_least_of_all_cuts_where_the_bounds_do_not_bind(
    bound: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against every cut tried: the cheapest where no bound binds, and never dearer than filling batches to
    the bounds where they do (the cutting before the cost model)."""
    from ner import tagger as tagger_module

    positions, size = (60, 6) if bound else (10**9, 10**9)
    monkeypatch.setattr(tagger_module, "BATCH_POSITIONS", positions)
    rng = random.Random(0)
    for _ in range(500):
        lengths = sorted(rng.choice([1, 2, 3, 5, 8, 13, 20, 40, 70]) for _ in range(rng.randint(1, 14)))
        batches = tagger_module._batches(list(range(len(lengths))), lengths, size)
        starts = [batch[0] for batch in batches]
        cost = tagger_module._cuts_cost(starts, lengths)
        assert [i for batch in batches for i in batch] == list(range(len(lengths)))
        if bound:
            assert cost <= tagger_module._cuts_cost(tagger_module._filled_starts(lengths, size), lengths)
            assert cost >= cheapest_cuts(lengths, size, positions)
        else:
            assert cost == cheapest_cuts(lengths, size, positions)


def test_read_gives_offsets_into_the_whole_text(tiny_model: Path) -> None:
    tagger = Tagger.load(tiny_model)
    text = "Intro here. John Smith visited Berlin. Tail"
    document = tagger.read(text, 12, 38)
    assert document.text == text
    assert [t.text for s in document.sentences for t in s] == ["John", "Smith", "visited", "Berlin", "."]
    assert all(text[t.start : t.end] == t.text for s in document.sentences for t in s)
    (analysis,) = tagger.analyze([document], TagOptions(tokens=True))
    assert ("Berlin", 31, 37) in {(e.text, e.start, e.end) for e in analysis.entities}
    assert [t.tag for t in analysis.tokens][:2] == ["B-PER", "E-PER"]
    # A document whose tokens are not in its text: an entity "John " of a token "Berlin", or one of no text.
    tagger.analyze([Document(text, [[Token("Berlin", 12, 18)]])])  # in the text: tagged as given
    for tokens, error in (
        ([Token("Berlin", 31, 37), Token("John", 12, 16)], "token 'John' at 12-16 lies out of order"),
        ([Token("Berlin", 40, 46)], "token 'Berlin' at 40-46 lies outside the text"),
        ([Token("Berlin", -6, 0)], "token 'Berlin' at -6-0 lies outside the text"),
    ):
        with pytest.raises(ValueError, match=error):
            tagger.analyze([Document(text, [tokens])])


class SlowBackend:
    """A backend that takes a second per batch, and counts the batches."""

    def __init__(self, inner: object) -> None:
        self.inner, self.calls, self.name = inner, 0, "slow"

    def emissions(self, batch: object) -> np.ndarray:
        self.calls += 1
        time.sleep(1.0)
        return self.inner.emissions(batch)

    def crf_scores(self) -> crf.CRFScores:
        return self.inner.crf_scores()


def test_a_deadline_stops_tagging_at_the_next_batch_boundary(tiny_model: Path) -> None:
    tagger = Tagger.load(tiny_model, batch_size=8)
    expected = tagger.analyze(TEXTS[:40])
    assert tagger.analyze(TEXTS[:40], deadline=time.monotonic() + 600) == expected
    with pytest.raises(DeadlineExceeded):
        tagger.analyze(TEXTS[:40], deadline=time.monotonic() - 1)
    tagger.backend = slow = SlowBackend(tagger.backend)
    with pytest.raises(DeadlineExceeded):
        tagger.analyze(TEXTS[:40], deadline=time.monotonic() + 0.5)
    assert slow.calls == 1  # of 5 batches: the deadline passed during the first


def test_options_are_checked_and_entities_serialise() -> None:
    with pytest.raises(ValueError, match="nbest"):
        TagOptions(nbest=-1)
    entity = Entity(0, 5, "LOC", "Paris", 0.123456)
    assert entity.to_dict() == {"start": 0, "end": 5, "label": "LOC", "text": "Paris", "score": 0.1235}
    assert "score" not in Entity(0, 5, "LOC", "Paris").to_dict()


def test_a_very_long_chinese_text_keeps_exact_offsets(tiny_zh_model: Path) -> None:
    tagger = Tagger.load(tiny_zh_model)
    text = "".join("".join(c for c, _ in s) for s in synthetic_chinese(400, 6))  # about 3,500 characters
    assert len(text) > 2427
    analysis = tagger.analyze([text], TagOptions(tokens=True))[0]
    assert len(analysis.tokens) == len(text)
    assert len(analysis.entities) > 100
    for entity in analysis.entities:
        assert text[entity.start : entity.end] == entity.text
    assert ("北京", "LOC") in {(e.text, e.label) for e in analysis.entities}


def test_predict_cuts_long_pretokenized_sentences_and_joins_the_pieces(tiny_zh_model: Path) -> None:
    tagger = Tagger.load(tiny_zh_model)
    pairs = [p for sentence in synthetic_chinese(150, 8) for p in sentence]
    tokens = [c for c, _ in pairs]
    assert len(tokens) > 3 * tagger.max_sentence_tokens
    (whole,) = tagger.predict([tokens], TagOptions(scores=True, nbest=2))
    assert len(whole.tags) == len(tokens)
    assert len(whole.scores) == len(whole.spans) > 20
    assert whole.spans == tags_to_spans(whole.tags)
    pieces = cut_points(tokens, tagger.max_sentence_tokens)
    assert len(pieces) > 3 and all(tokens[end - 1] == "。" for _, end in pieces)
    one_by_one, scores = [], []
    for start, end in pieces:
        (part,) = tagger.predict([tokens[start:end]], TagOptions(scores=True))
        one_by_one += [(s.start + start, s.end + start, s.label) for s in part.spans]
        scores += part.scores
    assert [(s.start, s.end, s.label) for s in whole.spans] == one_by_one
    assert whole.scores == pytest.approx(scores, abs=1e-6)
    assert whole.alternatives and [(s.start, s.end, s.label) for s in whole.alternatives[0][1]] == [
        (s.start, s.end, s.label) for s in whole.spans
    ]


@pytest.mark.parametrize("bank", ["中国人民银行", "人民銀行"])  # the second in traditional characters
def test_a_long_run_of_chinese_is_cut_between_words_of_the_lexicon(tiny_zh_model: Path, bank: str) -> None:
    """Without a comma in reach, a long run was cut at the limit whatever stood there: 中国 | 人民银行."""
    tagger = Tagger.load(tiny_zh_model)
    limit = tagger.max_sentence_tokens
    for before in range(limit - 5, limit):
        text = "我" * before + bank + "发布公告"
        pieces = [(piece[0].start, piece[-1].end) for piece in tagger.read(text).sentences]
        start = text.index(bank)
        assert len(pieces) == 2 and not any(start < end < start + len(bank) for _, end in pieces), (before, pieces)


def test_document_memory_over_many_batches_equals_the_networks_own_over_one(
    tiny_variant: Callable[[str], Path],
) -> None:
    """The tagger pools each word's states over its document in NumPy, across batches; the network
    pools them in torch within one batch: the same emissions."""
    tagger = Tagger.load(tiny_variant("memory"), backend="torch", batch_size=4)
    sentences = [[t for t, _ in s] for s in synthetic_sentences(30, 17)]
    documents = [i // 6 for i in range(len(sentences))]
    chunks = [sentences[i : i + 4] for i in range(0, len(sentences), 4)]
    chunk_documents = [documents[i : i + 4] for i in range(0, len(sentences), 4)]
    model = tagger.backend.model
    with torch.no_grad():
        whole = model.emissions(tagger.vocab.encode(sentences, documents=documents)).numpy()
    row = 0
    for emissions, mask in tagger.emissions(chunks, chunk_documents):
        for b in range(len(mask)):
            length = int(mask[b].sum())
            assert np.allclose(emissions[b, :length], whole[row, :length], atol=1e-5), row
            row += 1
    assert row == len(sentences)
    # And the memory matters: each sentence as a document of its own gives other emissions.
    alone = next(tagger.emissions([sentences[:4]], [[100, 101, 102, 103]]))[0]
    first = next(tagger.emissions(chunks[:1], chunk_documents[:1]))[0]
    assert not np.allclose(alone, first, atol=1e-4)


def test_group_means_equal_a_brute_force_mean() -> None:
    rng = np.random.default_rng(7)
    values = rng.standard_normal((50, 4)).astype(np.float32)
    drawn = rng.integers(0, 12, 50)
    ids: dict[int, int] = {}
    groups = np.array([ids.setdefault(int(x), len(ids)) for x in drawn])  # numbered by first appearance
    for rows in (groups, np.array([0, 1, 1]), np.array([0, 1, 2])):  # the last: each row alone
        part = values[: len(rows)]
        got = _group_means(part, rows)
        assert got.dtype == np.float32
        for i in range(len(rows)):
            assert np.allclose(got[i], part[rows == rows[i]].mean(axis=0), atol=1e-6)


def test_best_combinations_equal_brute_force() -> None:
    rng = np.random.default_rng(8)
    parts = [
        [(float(np.log(p)), [f"{n}{i}"]) for i, p in enumerate(rng.dirichlet(np.ones(size)))]
        for n, size in enumerate((3, 1, 4, 2))
    ]
    every = sorted(
        (
            (sum(lp for lp, _ in choice), [x for _, items in choice for x in items])
            for choice in itertools.product(*parts)
        ),
        key=lambda pair: -pair[0],
    )
    log_of = {item: lp for part in parts for lp, (item,) in part}
    for k in (1, 5, 24, 30):
        got = best_combinations(parts, k)
        assert len(got) == min(k, len(every))
        assert [lp for lp, _ in got] == pytest.approx([lp for lp, _ in every[:k]])
        assert [items for _, items in got] == [items for _, items in every[:k]]  # no ties among random floats
        for log_p, items in got:  # one item of each part, in order, scoring what is claimed
            assert [item[0] for item in items] == [str(n) for n in range(len(parts))]
            assert log_p == pytest.approx(sum(log_of[item] for item in items))
    assert math.isclose(sum(math.exp(lp) for lp, _ in best_combinations(parts, 24)), 1.0)


def test_what_is_no_text_or_option_is_a_clear_error(tiny_model: Path, tiny_zh_model: Path) -> None:
    tagger = Tagger.load(tiny_model)
    with pytest.raises(TypeError, match="texts must be a list of strings"):
        tagger.tag_batch("John Smith visited Berlin.")  # a string is not a list of its characters
    for text in (None, b"John", ["John"]):
        with pytest.raises(TypeError, match="text must be a string"):
            tagger.tag(text)
    with pytest.raises(TypeError, match="dictionary must be a Dictionary"):
        TagOptions(dictionary={"Acme Corp": "ORG"})
    with pytest.raises(TypeError, match="entries must be a mapping of phrase to label, not list"):
        tagger.dictionary([("Acme Corp", "ORG")])  # was an AttributeError
    with pytest.raises(TypeError, match="options must be a TagOptions, not dict"):
        tagger.analyze(["John"], {"nbest": 2})
    for k in (0, np.int64(0)):
        with pytest.raises(ValueError, match="k must be at least 1, not 0"):
            tagger.nbest("John Smith", k)  # was no analysis at all
    tagger.labels.append("NOT-A-LABEL")  # the caller's copy
    assert "NOT-A-LABEL" not in tagger.labels
    for nbest, error in ((True, TypeError), (2.0, TypeError), (MAX_NBEST + 1, ValueError), (-1, ValueError)):
        with pytest.raises(error, match="nbest"):
            TagOptions(nbest=nbest)
    chinese = Tagger.load(tiny_zh_model)
    foreign = chinese.dictionary({"北京": "LOC"})
    with pytest.raises(ValueError, match="a dictionary made for tiny-zh, not tiny-en"):
        tagger.analyze(["John went to 北京."], TagOptions(dictionary=foreign))
    mapping = types.MappingProxyType({"Acme Corp": "ORG"})  # any Mapping
    assert tagger.dictionary(mapping).entries == {"Acme Corp": "ORG"}
    texts = ["John Smith visited Berlin.", "Ann met Bob."]
    assert tagger.tag_batch(text for text in texts) == tagger.tag_batch(texts)  # a generator, read once
    assert TagOptions(nbest=np.int64(2)).nbest == 2
    # Loading settings: a negative batch size failed at the first text with an IndexError, 0 tokens a
    # sentence meant the default and -1 failed at the first text.
    for setting in ({"batch_size": 0}, {"batch_size": -3}, {"batch_size": 2.5}, {"max_sentence_tokens": 0}):
        with pytest.raises(ValueError, match=f"{next(iter(setting))} must be a whole number of at least 1"):
            Tagger.load(tiny_model, **setting)
    with pytest.raises(TypeError, match="unexpected keyword argument 'batchsize'"):
        Tagger.load(tiny_model, batchsize=8)


def test_the_collector_runs_again_after_the_last_of_overlapping_calls() -> None:
    """Tagging pauses the process's garbage collector: while any thread tags, until the last call ends."""
    import gc
    import threading

    from ner.collector import collector_paused

    inside, release = threading.Event(), threading.Event()

    @collector_paused
    def first() -> None:
        inside.set()
        release.wait(10)

    @collector_paused
    def second() -> bool:  # begins inside first(), which then ends
        release.set()
        thread.join()
        return gc.isenabled()

    thread = threading.Thread(target=first)
    thread.start()
    inside.wait(10)
    assert second() is False and gc.isenabled()


def test_the_collector_still_runs_while_calls_overlap_without_a_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two threads tagging back to back (a loaded service's two lanes) leave no moment with no call running;
    the collector catches up all the same, and the cycles made meanwhile are freed."""
    import gc
    import threading
    import weakref

    from ner import collector

    monkeypatch.setattr(collector, "CATCH_UP_S", 0.05)
    stop = threading.Event()

    @collector.collector_paused
    def call() -> None:
        time.sleep(0.01)

    def lane() -> None:
        while not stop.is_set():
            call()

    class Node:
        pass

    lanes = [threading.Thread(target=lane) for _ in range(2)]
    for thread in lanes:
        thread.start()
    cycle = Node()
    cycle.self = cycle  # type: ignore[attr-defined]
    freed = weakref.ref(cycle)
    del cycle
    deadline = time.monotonic() + 10
    while freed() is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    for thread in lanes:
        thread.join()
    assert freed() is None and gc.isenabled()


def test_a_model_whose_corpus_put_a_symbol_in_an_entity_may_put_one_there(tiny_model: Path) -> None:
    """C# and F# as skills: the decode kept their # out of every entity, whatever the model had learnt."""
    from ner.corpus import Sentence, symbol_entities
    from ner.features import Vocabularies

    skills = [Sentence(["writes", "C", "#", "and", "F", "#"], ["O", "B-SKILL", "E-SKILL", "O", "B-SKILL", "E-SKILL"])]
    assert symbol_entities(skills) == 2 and not symbol_entities([Sentence(["#", "Paris"], ["O", "S-LOC"])])
    tagger = Tagger.load(tiny_model)
    assert not tagger.vocab.symbols_in_entities  # trained on a corpus without one
    assert tagger._outside([["C", "#"]], 2) is not None
    tagger.vocab.symbols_in_entities = True
    assert tagger._outside([["C", "#"]], 2) is None
    assert Vocabularies.from_json(tagger.vocab.to_json()).symbols_in_entities
