"""Tests for ner.lexicon: dictionary matches and SoftLexicon features against brute force on a tiny lexicon."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest

from ner.lexicon import NONE, SETS, Lexicon
from ner.vocab import Vocab

ENTRIES = [
    ("北京", 100, "ns"),
    ("北京大学", 50, "nt"),
    ("大学", 80, "n"),
    ("大学生", 20, "n"),
    ("学生", 60, "n"),
    ("学", 5, "v"),
    ("京", 1, "ns"),
    ("北京大学生", 3, "n"),  # five characters: the longest length class
    ("大学生活动中心", 1, "n"),  # seven characters: the same class as five
    ("人民银行", 10, "nt"),
    ("人民", 40, "n"),
    ("银行", 30, "n"),
    ("北京", 999, "x"),  # a later duplicate is ignored
    ("a b", 7, "n"),  # words with spaces are ignored
    ("", 7, "n"),
]
SENTENCES = [
    list("北京大学生在人民银行"),
    list("大学生活动中心"),
    list("京"),
    list("你好"),  # no match at all
    list("北京北京"),
]


def brute_matches(lexicon: Lexicon, chars: list[str]) -> list[tuple[int, int, int, float]]:
    """Every ``(start, end)`` whose text is a dictionary word, with its class and weight."""
    found = []
    for start in range(len(chars)):
        for end in range(start + 1, len(chars) + 1):
            word = "".join(chars[start:end])
            if word in lexicon.words:
                frequency, tag = lexicon.words[word]
                kind = lexicon.classes.stoi[f"{tag}:{min(end - start, 5)}"]
                found.append((start, end, kind, float(np.float32(math.log(2 + frequency)))))
    return found


def brute_sets(lexicon: Lexicon, chars: list[str], position: int) -> list[list[tuple[float, int, str]]]:
    """The ``(weight, class, word)`` members of the B, M, E and S sets of the character at ``position``."""
    sets: list[list[tuple[float, int, str]]] = [[], [], [], []]
    for start, end, kind, weight in brute_matches(lexicon, chars):
        if end - start == 1:
            which = 3 if start == position else None
        elif start == position:
            which = 0
        elif start < position < end - 1:
            which = 1
        elif end - 1 == position:
            which = 2
        else:
            which = None
        if which is not None:
            sets[which].append((weight, kind, "".join(chars[start:end])))
    return sets


def test_words_and_classes() -> None:
    lexicon = Lexicon(ENTRIES)
    assert len(lexicon) == 12
    assert lexicon.words["北京"] == (100, "ns") and "a b" not in lexicon.words
    assert lexicon.classes.itos[:2] == ["<pad>", NONE]
    assert lexicon.classes.itos[2:] == sorted(lexicon.classes.itos[2:])
    n5 = lexicon.classes.stoi["n:5"]
    assert [kind for start, end, kind, _ in lexicon.matches(list("大学生活动中心")) if end - start == 7] == [n5]
    assert [kind for start, end, kind, _ in lexicon.matches(list("北京大学生")) if end - start == 5] == [n5]


@pytest.mark.parametrize("sentence", SENTENCES, ids="".join)
def test_matches_equal_brute_force(sentence: list[str]) -> None:
    lexicon = Lexicon(ENTRIES)
    assert sorted(lexicon.matches(sentence)) == sorted(brute_matches(lexicon, sentence))


def test_matches_on_random_strings_equal_brute_force() -> None:
    lexicon = Lexicon(ENTRIES)
    alphabet = sorted({c for word, _, _ in ENTRIES for c in word if not c.isspace()} | {"你"})
    rng = random.Random(5)
    for _ in range(300):
        chars = [rng.choice(alphabet) for _ in range(rng.randint(0, 12))]
        assert sorted(lexicon.matches(chars)) == sorted(brute_matches(lexicon, chars))


def assert_features_equal_brute_force(lexicon: Lexicon, sentences: list[list[str]]) -> None:
    width = max(map(len, sentences)) + 2  # padding beyond the longest sentence too
    ids, weights = lexicon.features(sentences, width)
    assert ids.shape == weights.shape and ids.shape[:3] == (len(sentences), width, len(SETS))
    assert ids.dtype == np.int64 and weights.dtype == np.float32
    largest = max(
        (len(s) for sentence in sentences for t in range(len(sentence)) for s in brute_sets(lexicon, sentence, t)),
        default=0,
    )
    max_per_set = lexicon.max_per_set
    assert ids.shape[3] == max(1, min(largest, max_per_set))
    none = lexicon.classes.stoi[NONE]
    for b, sentence in enumerate(sentences):
        for t in range(width):
            if t >= len(sentence):  # padding: nothing at all
                assert not ids[b, t].any() and not weights[b, t].any()
                continue
            for s, members in enumerate(brute_sets(lexicon, sentence, t)):
                got = sorted((int(i), float(w)) for i, w in zip(ids[b, t, s], weights[b, t, s]) if w > 0)
                if not members:
                    assert got == [(none, 1.0)], (b, t, SETS[s])
                    continue
                kept = sorted(members, reverse=True)[:max_per_set]  # the heaviest words of the set
                total = sum(w for w, _, _ in kept)
                expected = sorted((kind, w / total) for w, kind, _ in kept)
                assert [i for i, _ in got] == [i for i, _ in expected], (b, t, SETS[s])
                assert [w for _, w in got] == pytest.approx([w for _, w in expected], abs=1e-6)
                assert sum(w for _, w in got) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("max_per_set", [1, 2, 8])
def test_features_equal_brute_force(max_per_set: int) -> None:
    assert_features_equal_brute_force(Lexicon(ENTRIES, max_per_set=max_per_set), SENTENCES)


def test_features_on_random_strings_equal_brute_force() -> None:
    """Crowded sets (more words than kept), repeats, empty and unmatched sentences in one batch."""
    alphabet = sorted({c for word, _, _ in ENTRIES for c in word if not c.isspace()} | {"你"})
    rng = random.Random(7)
    for max_per_set in (1, 2, 3):
        lexicon = Lexicon(ENTRIES, max_per_set=max_per_set)
        for _ in range(20):
            sentences = [[rng.choice(alphabet) for _ in range(rng.randint(0, 14))] for _ in range(rng.randint(1, 6))]
            assert_features_equal_brute_force(lexicon, sentences)


def test_features_refuse_a_width_shorter_than_a_sentence() -> None:
    with pytest.raises(ValueError, match="width"):
        Lexicon(ENTRIES).features([list("北京大学")], 3)


def test_features_with_words_give_each_pooled_words_id() -> None:
    lexicon = Lexicon(ENTRIES, max_per_set=2)
    known = Vocab(["北京", "大学", "学生", "人民"])  # the words a model has embeddings for
    ids, weights = lexicon.features(SENTENCES, 11)
    with_ids, with_weights, words = lexicon.features_with_words(SENTENCES, 11, known)
    assert np.array_equal(ids, with_ids) and np.array_equal(weights, with_weights)
    for b, sentence in enumerate(SENTENCES):
        for t in range(11):
            for s in range(len(SETS)):
                members = brute_sets(lexicon, sentence, t)[s] if t < len(sentence) else []
                kept = sorted(members, reverse=True)[:2]
                got = sorted(
                    (int(k), int(w))
                    for k, w, weight in zip(ids[b, t, s], words[b, t, s], weights[b, t, s])
                    if weight > 0 and k != lexicon.classes.stoi[NONE]
                )
                assert got == sorted((kind, known.stoi.get(word, known.unk)) for _, kind, word in kept), (b, t, s)
                if not kept:  # no word: id 0 (padding), as for the padding positions
                    assert not words[b, t, s].any()
    assert (words == known.unk).any() and (words == known.stoi["北京"]).any()


def test_an_example_by_hand() -> None:
    """京 in 北京大学: the end of 北京, the middle of 北京大学, and the single-character word 京."""
    lexicon = Lexicon(ENTRIES)
    ids, weights = lexicon.features([list("北京大学")], 4)
    classes = lexicon.classes.stoi
    b, m, e, s = ((ids[0, 1, k], weights[0, 1, k]) for k in range(4))
    assert b[0][0] == classes[NONE] and b[1][0] == 1.0
    assert m[0][0] == classes["nt:4"] and m[1][0] == pytest.approx(1.0)
    assert e[0][0] == classes["ns:2"] and e[1][0] == pytest.approx(1.0)
    assert s[0][0] == classes["ns:1"] and s[1][0] == pytest.approx(1.0)


def test_bytes_round_trip_and_are_deterministic() -> None:
    lexicon = Lexicon(ENTRIES)
    data = lexicon.to_bytes()
    assert data == Lexicon(ENTRIES).to_bytes()  # no time stamp in the gzip header
    again = Lexicon.from_bytes(data)
    assert again.words == lexicon.words
    assert again.classes.itos == lexicon.classes.itos
    for a, b in zip(lexicon.features(SENTENCES, 11), again.features(SENTENCES, 11)):
        assert np.array_equal(a, b)


def test_from_text_reads_jiebas_format_and_lists_of_words(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="ner.train"):
        lexicon = Lexicon.from_text("北京 100 ns\n大学 80\n词语\n银行 x n\n\n凱特琳 nz\n攻城狮 nz 1 n 2\n")
    assert lexicon.words == {
        **{"北京": (100, "ns"), "大学": (80, "x"), "词语": (1, "x")},  # jieba's, and a list of words
        **{"凱特琳": (1, "nz"), "攻城狮": (3, "nz")},  # a jieba user dictionary's, HanLP's
    }
    assert [r.message for r in caplog.records] == [
        "1 lines of the lexicon are not 'word [frequency] [part of speech]' and are left out (line 4: '银行 x n')"
    ]


def test_a_lone_surrogate_matches_nothing_and_breaks_nothing() -> None:
    lexicon = Lexicon([("北京", 10, "ns"), ("大学", 5, "n")])
    assert [m[:2] for m in lexicon.matches(list("北京\ud800大学"))] == [(0, 2), (3, 5)]


def test_a_lexicon_whose_arrays_do_not_fit_its_words_is_refused_when_read() -> None:
    """A crafted lexicon.safetensors loaded, then failed at the first text with an IndexError."""
    from safetensors.numpy import load as load_arrays
    from safetensors.numpy import save as save_arrays

    from ner.lexicon import _metadata

    data = Lexicon([("北京", 10, "ns"), ("北京大学", 5, "nt"), ("大学", 8, "n")]).to_bytes()
    metadata = _metadata(data)
    for change, said in (
        (lambda a: a.update(frequencies=a["frequencies"][:1]), "arrays of other lengths than its 3 words"),
        (lambda a: a.update(classes=a["classes"] + 60_000), "class or part of speech out of range"),
        (lambda a: a.update(tags=a["tags"] + 200), "class or part of speech out of range"),
        (lambda a: a.update(classes=a["classes"].astype(np.int32) - 5), "arrays of other types than a lexicon's"),
    ):
        arrays = dict(load_arrays(data))
        change(arrays)
        with pytest.raises(ValueError, match=said):
            Lexicon.from_bytes(save_arrays(arrays, metadata=metadata))


def test_a_lexicon_file_without_words_or_not_in_utf8_is_refused_naming_the_flag(tmp_path: Path) -> None:
    from ner.train import load_lexicon

    empty, latin, tagged = tmp_path / "empty.txt", tmp_path / "latin.txt", tmp_path / "tagged.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    latin.write_bytes("北京 10".encode("gb18030"))
    tagged.write_text("".join(f"词{i} 1 t{i}\n" for i in range(256)), encoding="utf-8")
    with pytest.raises(ValueError, match=r"--lexicon .*empty.txt: no word in it"):
        load_lexicon(str(empty))
    with pytest.raises(ValueError, match=r"--lexicon .*latin.txt: 'utf-8' codec can't decode"):
        load_lexicon(str(latin))
    with pytest.raises(ValueError, match=r"--lexicon .*tagged.txt: 256 parts of speech, more than a lexicon holds"):
        load_lexicon(str(tagged))


def test_numbers_are_never_read_as_parts_of_speech(caplog: pytest.LogCaptureFixture) -> None:
    """Decimal frequencies were kept as parts of speech (a class each); a count of 2**32 overflowed."""
    with caplog.at_level("WARNING", logger="ner.train"):
        lexicon = Lexicon.from_text("北京 0.0412\n上海 1.5 ns\n词 ²\n广州 12 3.5\n深圳 99999999999 ns\n")
    assert lexicon.words == {"深圳": (2**32 - 1, "ns")}
    assert caplog.records[0].message.startswith("4 lines of the lexicon are not")


def test_traditional_text_matches_a_simplified_lexicons_words_one_word_a_span() -> None:
    """jieba's dictionary holds few traditional words: 中華人民共和國 matched nothing of 中华人民共和国."""
    lexicon = Lexicon(
        [("中华人民共和国", 10, "ns"), ("中華", 3, "nz"), ("中华", 5, "nz"), ("北京", 5, "ns"), ("干隆", 1, "x")]
    )
    spans = [m[:2] for m in lexicon.matches(list("中華人民共和國在北京"))]
    assert spans == [(0, 2), (0, 7), (8, 10)]  # 中華 once, as written (its own word, not 中华's)
    (written,) = [m for m in lexicon.matches(list("中華")) if m[:2] == (0, 2)]
    assert written[2] == lexicon.classes.stoi["nz:2"] and written[3] == pytest.approx(math.log(2 + 3))
    assert [m[:2] for m in lexicon.matches(list("中华人民共和国"))] == [(0, 2), (0, 7)]
    assert lexicon.matches(list("乾隆")) == []  # a character of both scripts stays itself: no 干隆


def test_simplified_text_with_a_taiwanese_form_matches_as_written() -> None:
    """Taiwan writes 著 for 着 and 么 for 幺, and simplified text 著 in 显著 and 么 in 什么: read so only
    beside a character of traditional Chinese alone."""
    lexicon = Lexicon([("着地", 1, "x"), ("幺", 1, "x"), ("什么", 1, "x")])
    assert [m[:2] for m in lexicon.matches(list("显著地说什么"))] == [(4, 6)]
