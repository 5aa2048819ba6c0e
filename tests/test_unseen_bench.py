"""benchmarks.unseen: which held-out entities training never tagged, and recall on each kind."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from benchmarks import unseen
from ner.corpus import Sentence, hold_out

from .conftest import write_conll

TRAIN = [
    Sentence(["Ann", "met", "Bob"], ["S-PER", "O", "S-PER"]),
    Sentence(["in", "New", "York"], ["O", "B-LOC", "E-LOC"]),
]
HELD = [
    Sentence(["Ann", "saw", "Cy"], ["S-PER", "O", "S-PER"]),  # Ann seen, Cy unseen
    Sentence(["New", "York", "and", "Rome"], ["B-LOC", "E-LOC", "O", "S-LOC"]),  # NewYork seen, Rome unseen
]


class ReplayTagger:
    """Stands in for a model: answers with tags fixed by the test, so recall has a known value."""

    char_level = False

    def __init__(self, answers: Sequence[list[str]]) -> None:
        self.answers = answers
        self.documents: Sequence[int] | None = None

    def predict_tags(
        self, sentences: Sequence[Sequence[str]], documents: Sequence[int] | None = None
    ) -> list[list[str]]:
        assert [len(s) for s in sentences] == [len(a) for a in self.answers]
        self.documents = documents
        return list(self.answers)


def test_unseen_share_counts_entity_strings_never_tagged_in_training() -> None:
    assert unseen.measure(TRAIN, HELD, None) == {"entities": 4, "unseen_share": 0.5}


def test_recall_is_split_by_seen_and_unseen_entities() -> None:
    # Finds Ann (seen) and Rome (unseen); Cy is missed, New York gets the wrong label.
    answers = [["S-PER", "O", "O"], ["B-PER", "E-PER", "O", "S-LOC"]]
    result = unseen.measure(TRAIN, HELD, ReplayTagger(answers))
    assert result["recall_seen"] == 0.5 and result["recall_unseen"] == 0.5
    assert result["errors"] == {"missed": 1, "boundary": 0, "type": 1, "spurious": 0}


def test_sentences_are_tagged_with_their_documents_as_ner_evaluate_tags_them() -> None:
    # A model with a document memory reads each sentence with the others of its document.
    held = [Sentence(s.tokens, s.tags, document=i + 7) for i, s in enumerate(HELD)]
    tagger = ReplayTagger([s.tags for s in held])
    unseen.measure(TRAIN, held, tagger)
    assert list(tagger.documents) == [7, 8]


def test_errors_tell_missed_boundary_type_and_spurious_apart() -> None:
    # Ann found; Cy missed; "New" alone (boundary); "and" tagged (spurious); Rome as PER (type).
    answers = [["S-PER", "O", "O"], ["S-LOC", "O", "S-ORG", "S-PER"]]
    result = unseen.measure(TRAIN, HELD, ReplayTagger(answers))
    assert result["errors"] == {"missed": 1, "boundary": 1, "type": 1, "spurious": 1}
    perfect = unseen.measure(TRAIN, HELD, ReplayTagger([s.tags for s in HELD]))
    assert perfect["recall_seen"] == perfect["recall_unseen"] == 1.0


def test_hold_out_takes_every_nth_block() -> None:
    sentences = [Sentence([str(i)], ["O"]) for i in range(12)]
    kept, held = hold_out(sentences, every=3, block=2)
    assert [s.tokens[0] for s in held] == ["4", "5", "10", "11"]
    assert len(kept) + len(held) == 12


def test_run_holds_out_dev_as_training_does(tmp_path: Path, tiny_model: Path, tiny_corpus: dict[str, Path]) -> None:
    train = write_conll(
        tmp_path / "train.conll", [list(zip(s.tokens, s.tags)) for s in (TRAIN[0], HELD[0], TRAIN[1], HELD[1])]
    )
    results = unseen.run(train, [tiny_corpus["test"]], dev_every=2, blocks=[1], model=None)
    # Every 2nd sentence held out: HELD, whose unseen entities are Cy and Rome.
    assert results["dev: every 2th block of 1"] == {"entities": 4, "unseen_share": 0.5}
    with_model = unseen.run(tiny_corpus["train"], [tiny_corpus["test"]], 20, [1], tiny_model)
    scores = with_model[str(tiny_corpus["test"])]
    assert 0 <= scores["recall_unseen"] <= 1 and scores["recall_seen"] > 0.5


def test_new_words_split_the_unseen_entities() -> None:
    """With --new-words, unseen entities split by whether jieba's HMM forms their span outside its dictionary."""
    pytest.importorskip("jieba")
    train = [Sentence(list("他在上海"), ["O", "O", "B-LOC", "E-LOC"])]
    # 上海 is seen; 张晓燕 is unseen and a new word; 赵四 is unseen and no new word (the HMM forms 赵四在).
    tags = ["B-PER", "I-PER", "E-PER", "O", "B-PER", "E-PER", "O", "B-LOC", "E-LOC", "O", "O"]
    held = [Sentence(list("张晓燕和赵四在上海见面"), tags)]
    assert unseen.jieba_new_words(held[0].tokens) == {(0, 3), (4, 7)}
    only_the_new_word = ["B-PER", "I-PER", "E-PER"] + ["O"] * 8
    result = unseen.measure(train, held, ReplayTagger([only_the_new_word]), new_words=True)
    assert result["unseen_share"] == pytest.approx(2 / 3, abs=1e-4) and result["unseen_new_word_share"] == 0.5
    assert result["recall_unseen_new_word"] == 1.0 and result["recall_unseen_other"] == 0.0
    assert result["recall_unseen"] == 0.5 and result["recall_seen"] == 0.0
    # A token of two code points (a combining accent) shifts code points and tokens differently.
    assert unseen.jieba_new_words(["e\u0301", *held[0].tokens]) == {(1, 4), (5, 8)}


def test_new_words_also_count_unseen_entities_in_jiebas_dictionary_and_of_common_characters() -> None:
    pytest.importorskip("jieba")
    train = [Sentence(list("北京大学在上海"), ["O"] * 5 + ["B-LOC", "E-LOC"])] * 5
    # All three unseen: 北京大学 (a jieba word, every character seen 5 times), 晓燕 (neither), 燕京 (a jieba word of
    # a character never seen).
    tags = ["B-ORG", "I-ORG", "I-ORG", "E-ORG", "O", "B-PER", "E-PER", "O", "B-LOC", "E-LOC"]
    held = [Sentence(list("北京大学和晓燕去燕京"), tags)]
    result = unseen.measure(train, held, None, new_words=True)
    assert result["unseen_share"] == 1.0
    assert result["unseen_in_jieba_share"] == pytest.approx(2 / 3, abs=1e-4)
    assert result["unseen_common_characters_share"] == pytest.approx(1 / 3, abs=1e-4)


def test_new_words_split_unseen_recall_by_what_jieba_makes_of_the_entity() -> None:
    pytest.importorskip("jieba")
    train = [Sentence(list("他在家"), ["O"] * 3)]
    # 上海: a place name of jieba (ns); 大学: a word of another class; 晓燕: no word of it.
    tags = ["B-LOC", "E-LOC", "O", "B-ORG", "E-ORG", "O", "B-PER", "E-PER"]
    held = [Sentence(list("上海和大学和晓燕"), tags)]
    only_the_place = ["B-LOC", "E-LOC"] + ["O"] * 6
    result = unseen.measure(train, held, ReplayTagger([only_the_place]), new_words=True)
    assert result["recall_unseen_jieba_name"] == 1.0
    assert result["recall_unseen_jieba_word"] == 0.0 and result["recall_unseen_not_jieba"] == 0.0
    assert unseen.jieba_kind("上海") == "unseen_jieba_name" and unseen.jieba_kind("晓燕") == "unseen_not_jieba"
