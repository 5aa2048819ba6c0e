"""Tests for ner.metrics.entity_scores: hand-computed values and agreement with conlleval (seqeval's default mode)."""

from __future__ import annotations

import random

import pytest

from ner.corpus import Sentence, Span, spans_to_tags, tags_to_spans, written_out
from ner.corpus.jsonl import text_to_sentences
from ner.metrics import corpus_problems, entity_scores, evaluate_as_text

GOLD = [
    ["B-PER", "E-PER", "O", "S-LOC"],
    ["S-ORG", "O", "B-LOC", "I-LOC", "E-LOC"],
]
PREDICTED = [
    ["B-PER", "E-PER", "O", "S-ORG"],  # PER right, LOC missed, ORG spurious
    ["S-ORG", "O", "S-LOC", "O", "O"],  # ORG right, LOC boundary wrong
]


def test_entity_scores_hand_computed():
    # gold: PER, LOC, ORG, LOC (4); predicted: PER, ORG, ORG, LOC (4); correct: PER, ORG (2)
    scores = entity_scores(GOLD, PREDICTED)
    assert scores["precision"] == pytest.approx(50.0)
    assert scores["recall"] == pytest.approx(50.0)
    assert scores["f1"] == pytest.approx(50.0)
    assert (scores["support"], scores["predicted"], scores["correct"]) == (4, 4, 2)
    assert scores["per_type"] == {
        "LOC": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2, "predicted": 1, "correct": 0},
        "ORG": {"precision": 50.0, "recall": 100.0, "f1": 66.67, "support": 1, "predicted": 2, "correct": 1},
        "PER": {"precision": 100.0, "recall": 100.0, "f1": 100.0, "support": 1, "predicted": 1, "correct": 1},
    }
    # the means of the types' scores: each type alike, and weighted by its support (2, 1, 1)
    assert scores["macro"] == {"precision": 50.0, "recall": 66.67, "f1": 55.56}
    assert scores["weighted"] == {"precision": 37.5, "recall": 50.0, "f1": 41.67}
    for value in (scores["precision"], scores["recall"], scores["f1"]):
        assert isinstance(value, float)
    # the LOC read as an ORG: its type; the LOC cut to one token of three: its boundary
    assert scores["errors"] == {"type": 1, "boundary": 1, "type_and_boundary": 0, "spurious": 0, "missed": 0}


def test_each_mistake_is_counted_once_by_its_kind():
    gold = [["B-PER", "E-PER", "O", "S-LOC", "O", "O", "B-ORG", "E-ORG", "O", "S-MISC"]]
    predicted = [["B-PER", "I-PER", "E-PER", "S-ORG", "O", "S-LOC", "S-LOC", "O", "O", "O"]]
    # PER widened: boundary; LOC as ORG: type; the LOC alone: spurious; LOC over the ORG's first token: type
    # and boundary; the MISC: missed (the gold PER and ORG have wrong predictions over them: not missed)
    errors = entity_scores(gold, predicted)["errors"]
    assert errors == {"type": 1, "boundary": 1, "type_and_boundary": 1, "spurious": 1, "missed": 1}
    assert entity_scores(gold, gold)["errors"] == dict.fromkeys(errors, 0)


def test_entity_scores_without_entities_are_zeros_not_nan():
    """Sentences of O only: seqeval's means over no type were NaN, which is no JSON."""
    scores = entity_scores([["O", "O"], ["O"]], [["O", "O"], ["O"]])
    assert scores["macro"] == scores["weighted"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert (scores["support"], scores["predicted"], scores["correct"], scores["per_type"]) == (0, 0, 0, {})


def test_entity_scores_read_any_scheme_and_refuse_what_is_no_tag():
    """IOB2 tags scored 0 with one correct entity counted, and PER was read as an entity of type R."""
    iob2 = entity_scores([["B-PER", "I-PER", "O"], ["I-LOC"]], [["B-PER", "I-PER", "O"], ["B-LOC"]])
    assert (iob2["f1"], iob2["support"], iob2["predicted"], iob2["correct"]) == (100.0, 2, 2, 2)
    mixed = entity_scores([["B-PER", "I-PER", "O"]], [["B-PER", "E-PER", "O"]])  # IOB2 against BIOES
    assert mixed["f1"] == 100.0 and mixed["macro"]["f1"] == 100.0
    for gold, said in ((["B-PER"], "is one string"), ([["PER"]], "'PER' is no tag")):
        with pytest.raises(ValueError, match=said):
            entity_scores(gold, [["O"] * len(gold[0])])


def test_entity_scores_precision_and_recall_not_swapped():
    gold = [["S-PER", "O", "S-LOC", "O"]]
    predicted = [["S-PER", "S-ORG", "S-LOC", "S-LOC"]]  # 4 predicted, 2 correct, 2 gold
    scores = entity_scores(gold, predicted)
    assert scores["precision"] == pytest.approx(50.0)
    assert scores["recall"] == pytest.approx(100.0)
    assert scores["f1"] == pytest.approx(66.67)
    assert scores["support"] == 2
    assert scores["per_type"]["ORG"]["support"] == 0
    assert scores["per_type"]["ORG"]["precision"] == 0.0
    assert scores["per_type"]["LOC"]["precision"] == pytest.approx(50.0)


def test_entity_scores_perfect_and_exact_match_only():
    assert entity_scores(GOLD, GOLD)["f1"] == pytest.approx(100.0)
    # A boundary off by one token earns nothing: strict exact match.
    scores = entity_scores([["B-PER", "I-PER", "E-PER"]], [["B-PER", "E-PER", "O"]])
    assert (scores["precision"], scores["recall"], scores["f1"]) == (0.0, 0.0, 0.0)
    # A right span with the wrong type earns nothing either.
    scores = entity_scores([["B-PER", "E-PER"]], [["B-LOC", "E-LOC"]])
    assert scores["f1"] == 0.0
    assert scores["per_type"]["PER"]["recall"] == 0.0


def test_entity_scores_accepts_tuples():
    scores = entity_scores([tuple(s) for s in GOLD], tuple(tuple(s) for s in PREDICTED))
    assert scores["f1"] == pytest.approx(50.0)


# --------------------------------------------------------------------------- conlleval agreement

TYPES = ("PER", "LOC", "ORG", "MISC")


def random_tag_soup(rng: random.Random, length: int) -> list[str]:
    """Any mix of O, B-X and I-X, including ill-formed sequences conlleval reads leniently."""
    tags = ["O"] * 5 + [f"{prefix}-{kind}" for prefix in "BI" for kind in TYPES]
    return [rng.choice(tags) for _ in range(length)]


def random_spans(rng: random.Random, length: int) -> list[Span]:
    spans, position = [], 0
    while position < length:
        if rng.random() < 0.5:
            position += 1
            continue
        size = rng.randint(1, min(4, length - position))
        spans.append(Span(position, position + size, rng.choice(TYPES)))
        position += size
    return spans


def iob1(spans: list[Span], length: int) -> list[str]:
    """Well-formed IOB1, written independently of ner.corpus: B- only where an entity touches one of its type."""
    tags = ["O"] * length
    previous_end, previous_label = -1, None
    for span in spans:
        tags[span.start : span.end] = [f"I-{span.label}"] * (span.end - span.start)
        if span.start == previous_end and span.label == previous_label:
            tags[span.start] = f"B-{span.label}"
        previous_end, previous_label = span.end, span.label
    return tags


def iob2(spans: list[Span], length: int) -> list[str]:
    tags = ["O"] * length
    for span in spans:
        tags[span.start : span.end] = [f"B-{span.label}"] + [f"I-{span.label}"] * (span.end - span.start - 1)
    return tags


def perturb(rng: random.Random, tags: list[str]) -> list[str]:
    choices = ["O"] + [f"{prefix}-{kind}" for prefix in "BI" for kind in TYPES]
    return [tag if rng.random() < 0.75 else rng.choice(choices) for tag in tags]


def make_corpus(style: str, seed: int, sentences: int = 250) -> tuple[list[list[str]], list[list[str]]]:
    rng = random.Random(seed)
    gold, predicted = [], []
    for _ in range(sentences):
        length = rng.randint(1, 25)
        if style == "soup":
            g = random_tag_soup(rng, length)
            p = random_tag_soup(rng, length) if rng.random() < 0.2 else perturb(rng, g)
        else:
            write = iob1 if style == "IOB1" else iob2
            g = write(random_spans(rng, length), length)
            p = write(random_spans(rng, length), length) if rng.random() < 0.2 else g[:]
            if rng.random() < 0.5:
                p = perturb(rng, p)
        gold.append(g)
        predicted.append(p)
    return gold, predicted


def to_bioes(sequences: list[list[str]]) -> list[list[str]]:
    return [spans_to_tags(tags_to_spans(tags), len(tags)) for tags in sequences]


@pytest.mark.parametrize(("style", "seed"), [("IOB1", 1), ("IOB1", 2), ("IOB2", 3), ("IOB2", 4), ("soup", 5)])
def test_entity_scores_equal_conlleval(style, seed):
    from seqeval.metrics import f1_score, precision_score, recall_score

    gold, predicted = make_corpus(style, seed)
    ours = entity_scores(to_bioes(gold), to_bioes(predicted))
    expected = {
        "precision": 100 * precision_score(gold, predicted),
        "recall": 100 * recall_score(gold, predicted),
        "f1": 100 * f1_score(gold, predicted),
    }
    assert 0 < expected["f1"] < 100  # the random corpus is neither trivial nor perfect
    for key, value in expected.items():
        assert ours[key] == pytest.approx(value, abs=0.01), key


def test_entity_scores_per_type_equal_conlleval():
    from seqeval.metrics import classification_report

    gold, predicted = make_corpus("IOB1", 11)
    ours = entity_scores(to_bioes(gold), to_bioes(predicted))["per_type"]
    report = classification_report(gold, predicted, output_dict=True, zero_division=0)
    assert set(ours) == set(TYPES)
    for kind in TYPES:
        assert ours[kind]["support"] == report[kind]["support"]
        assert ours[kind]["precision"] == pytest.approx(100 * report[kind]["precision"], abs=0.01)
        assert ours[kind]["recall"] == pytest.approx(100 * report[kind]["recall"], abs=0.01)
        assert ours[kind]["f1"] == pytest.approx(100 * report[kind]["f1-score"], abs=0.01)


# --------------------------------------------------------------------------- edge cases


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(
    ("gold", "predicted"),
    [
        ([["O", "O"], ["O"]], [["O", "O"], ["O"]]),
        ([[]], [[]]),
        ([], []),
    ],
)
def test_entity_scores_no_entities(gold, predicted):
    scores = entity_scores(gold, predicted)
    assert (scores["precision"], scores["recall"], scores["f1"]) == (0.0, 0.0, 0.0)
    assert scores["support"] == 0
    assert scores["per_type"] == {}


def test_entity_scores_no_gold_entities():
    scores = entity_scores([["O", "O"]], [["S-PER", "O"]])
    assert (scores["precision"], scores["recall"], scores["f1"]) == (0.0, 0.0, 0.0)
    assert scores["support"] == 0
    assert scores["per_type"]["PER"]["support"] == 0


def test_entity_scores_no_predicted_entities():
    scores = entity_scores([["S-PER", "O"]], [["O", "O"]])
    assert (scores["precision"], scores["recall"], scores["f1"]) == (0.0, 0.0, 0.0)
    assert scores["support"] == 1


@pytest.mark.parametrize(
    ("gold", "predicted"),
    [
        ([["O", "S-PER"]], [["O"]]),
        ([["O"]], [["O", "S-PER"]]),
        ([["O"], ["O"]], [["O"]]),
        ([["O"]], [["O"], ["O"]]),
        ([["O"], ["S-PER", "O"]], [["O"], ["S-PER"]]),
    ],
)
def test_entity_scores_shape_mismatch(gold, predicted):
    with pytest.raises(ValueError, match="shape"):
        entity_scores(gold, predicted)


def test_documents_are_written_out_with_their_entities_where_they_are() -> None:
    """Each gold entity's span in the written text holds its tokens: joined by spaces in a word corpus, by
    nothing in a character corpus and between two Chinese words, at their offsets where the reader had them."""
    words = Sentence(["Bob", "met", "Ann", "Lee", "."], ["S-PER", "O", "B-PER", "E-PER", "O"])
    chinese_words = Sentence(["在", "中国", "人民", "银行"], ["O", "B-ORG", "I-ORG", "E-ORG"])
    characters = Sentence(list("用iPhone在北京"), ["O", "B-MISC", *["I-MISC"] * 4, "E-MISC", "O", "B-LOC", "E-LOC"])
    text, spans = written_out([words, chinese_words, characters])
    assert text == "Bob met Ann Lee .\n在中国人民银行\n用iPhone在北京"
    assert [(text[start:end], label) for start, end, label in spans] == [
        ("Bob", "PER"),
        ("Ann Lee", "PER"),
        ("中国人民银行", "ORG"),
        ("iPhone", "MISC"),
        ("北京", "LOC"),
    ]
    # From a JSONL record: the record's own text (its tab, its paragraph break), an entity inside a word kept.
    record = "Cocaine-induced  seizures.\tThen Bob left.\n\nNext day."
    text, spans = written_out(read_jsonl_text(record, [[0, 7, "CHEM"], [32, 35, "PER"]]))
    assert text == record
    assert [(text[start:end], label) for start, end, label in spans] == [("Cocaine", "CHEM"), ("Bob", "PER")]


def test_a_corpus_scored_as_text_counts_what_its_tokens_hide(tiny_model, tmp_path) -> None:
    """Scored as text, an entity inside a word (Cocaine of Cocaine-induced, which reading the JSONL cut into
    a token of its own) is one the model cannot find; the scores equal exact-span scores counted by hand."""
    from ner.tagger import Tagger

    tagger = Tagger.load(tiny_model)
    texts = ["Bob Smith flew to Paris-based Acme Corp on Monday.", "Mary Jones visited London.\nShe met Acme Corp."]
    entities = [[[0, 9, "PER"], [18, 23, "LOC"], [30, 39, "ORG"]], [[0, 10, "PER"], [19, 25, "LOC"], [35, 44, "ORG"]]]
    sentences = [s for number, (t, e) in enumerate(zip(texts, entities)) for s in read_jsonl_text(t, e, number)]
    scores = evaluate_as_text(tagger, sentences)
    found = [{(e.start, e.end, e.label) for e in tagger.tag(text, scores=False)} for text in texts]
    gold = [{tuple(entity) for entity in these} for these in entities]
    correct = sum(len(f & g) for f, g in zip(found, gold))
    predicted, support = sum(map(len, found)), sum(map(len, gold))
    assert (scores["correct"], scores["predicted"], scores["support"]) == (correct, predicted, support)
    assert not any(start == 18 and end == 23 for start, end, _ in found[0])  # Paris inside Paris-based: never found
    assert scores["recall"] < 100
    # ner evaluate warns of them, scoring as text or not
    (warning,) = corpus_problems(tagger, sentences, "test.jsonl")
    assert warning.startswith("test.jsonl: 2 of its 6 entities start or end inside a word of its text ('Paris' in")


def test_lines_that_are_the_same_string_are_written_out_apart() -> None:
    """Python shares one-letter strings: two brat lines "A" are one object, each line's offsets from 0."""
    line = "A"
    first, second = (Sentence(["A"], ["S-ORG"], [(0, 1)], source=line) for _ in range(2))
    assert written_out([first, second]) == ("A\nA", [(0, 1, "ORG"), (2, 3, "ORG")])


def read_jsonl_text(text: str, entities: list, document: int = 0) -> list[Sentence]:
    """The sentences of one JSONL record, as the reader gives them."""
    return text_to_sentences(text, entities, "test.jsonl", document + 1, document)
