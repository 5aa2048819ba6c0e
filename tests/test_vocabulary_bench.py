"""benchmarks.vocabulary: which words only the test file brought in, and a vocabulary without them."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.vocabulary import without, words_only_in_test
from ner.tagger import Tagger

RANK = {"the": 0, "paris": 1, "zyx": 2}  # pretrained words, most frequent first


def test_only_words_are_in_test_unknown_to_train_and_dev_and_outside_the_top() -> None:
    vocabulary = ["<pad>", "<unk>", "the", "paris", "zyx", "ann", "qux"]
    test = {"the", "paris", "zyx", "qux"}
    known = {"the", "ann"}
    assert words_only_in_test(vocabulary, test, known, RANK, top=1) == ["paris", "zyx", "qux"]
    assert words_only_in_test(vocabulary, test, known, RANK, top=2) == ["zyx", "qux"]
    assert words_only_in_test(vocabulary, test, known, RANK, top=3) == ["qux"]  # not pretrained: ranked last


def test_a_cut_word_reads_as_unknown_and_every_other_id_stays(tiny_model: Path) -> None:
    vocab = Tagger.load(tiny_model).vocab
    first, second = vocab.words.itos[2], vocab.words.itos[3]
    cut = without(vocab, [first])
    assert len(cut.words) == len(vocab.words)
    before = vocab.encode([[first, second]]).words[0].tolist()
    after = cut.encode([[first, second]]).words[0].tolist()
    assert before[0] != vocab.words.unk and after == [vocab.words.unk, before[1]]


def test_a_character_model_is_refused(tiny_zh_model: Path) -> None:
    with pytest.raises(ValueError, match="word-level"):
        without(Tagger.load(tiny_zh_model).vocab, [])
