"""Tests for ner.features: vocabularies built from a corpus, and batches checked token by token."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest

from ner import features
from ner.features import Vocabularies, word_groups
from ner.lexicon import Lexicon
from ner.vocab import Vocab, casing

WORD_SENTENCES = [
    ["John", "Smith", "visited", "Paris", "."],
    ["PARIS", "!"],
    ["Smith-Jones", "Unseen-word", "Abcdefghijkl"],
]
WORD_TAGS = [["B-PER", "E-PER", "O", "S-LOC", "O"], ["S-LOC", "O"], ["S-PER", "O", "O"]]
CHAR_SENTENCES = [list("北京大学"), list("你好"), list("北")]
CHAR_TAGS = [["B-ORG", "I-ORG", "I-ORG", "E-ORG"], ["O", "O"], ["S-LOC"]]


@pytest.fixture
def word_vocab() -> Vocabularies:
    vocab = Vocabularies.build("word", WORD_SENTENCES[:2], WORD_TAGS[:2], extra_words=["berlin", "paris"])
    vocab.max_word_chars = 10
    return vocab


def test_build_word_level(word_vocab: Vocabularies) -> None:
    assert word_vocab.words.itos[:2] == ["<pad>", "<unk>"]
    assert "paris" in word_vocab.words and "Paris" not in word_vocab.words  # lower-cased, once
    assert word_vocab.words.itos[2] == "paris"  # the most frequent word first
    assert word_vocab.words.itos[-1] == "berlin"  # extra (pretrained) words last
    assert "A" in word_vocab.chars and "a" in word_vocab.chars  # characters keep their case
    # Every type gets its four BIES tags, O is index 0, whatever the corpus used.
    assert word_vocab.tags.itos == ["O", *(f"{p}-{t}" for t in ("LOC", "PER") for p in "BIES")]


def test_word_batch_equals_lookups_token_by_token(word_vocab: Vocabularies) -> None:
    batch = word_vocab.encode(WORD_SENTENCES, [[t for t in tags] for tags in WORD_TAGS])
    width = max(map(len, WORD_SENTENCES))
    assert batch.words.shape == batch.casing.shape == batch.mask.shape == batch.char_index.shape == (3, width)
    assert batch.bigrams is None and batch.lexicon_ids is None and batch.word_groups is None
    distinct = list(dict.fromkeys(t for s in WORD_SENTENCES for t in s))
    assert batch.char_keys == [token[: word_vocab.max_word_chars] for token in distinct]  # what chars spells
    assert batch.chars.shape == (len(distinct) + 1, word_vocab.max_word_chars)
    assert not batch.chars[0].any()  # row 0 spells padding
    for b, (sentence, tags) in enumerate(zip(WORD_SENTENCES, WORD_TAGS)):
        for t in range(width):
            if t >= len(sentence):
                assert not batch.mask[b, t]
                assert batch.words[b, t] == batch.casing[b, t] == batch.char_index[b, t] == batch.tags[b, t] == 0
                continue
            token = sentence[t]
            assert batch.mask[b, t]
            assert batch.words[b, t] == word_vocab.words.stoi.get(token.lower(), 1)
            assert batch.casing[b, t] == casing(token)
            assert batch.tags[b, t] == word_vocab.tags.stoi[tags[t]]
            row = batch.char_index[b, t]
            assert batch.char_keys[row - 1] == token[: word_vocab.max_word_chars]
            spelled = word_vocab.chars.encode(token[: word_vocab.max_word_chars])
            assert batch.chars[row].tolist() == spelled + [0] * (batch.chars.shape[1] - len(spelled))
    # Unknown words and characters fall back to <unk> (1).
    assert batch.words[2, 1] == 1 and 1 in batch.chars[batch.char_index[2, 1]]


@pytest.mark.parametrize("compact", [False, True])
def test_a_model_trained_on_decomposed_text_finds_its_words_in_composed_tokens(compact: bool) -> None:
    """Tokens are read composed (NFC); a model trained before on decomposed text (NFD) holds its accented
    words and their letters decomposed, and read them all as unknown: F1 57.78 fell to 30.30."""
    trained = Vocabularies.build("word", [["Zoe\u0308", "met", "Zoe"]], [["S-PER", "O", "S-PER"]])
    saved = trained.to_json()  # as such a model's vocab.json holds them
    loaded = Vocabularies.from_json(saved, compact=compact)
    assert (
        loaded.decomposed
        and not Vocabularies.from_json(
            Vocabularies.build("word", [["Zoë"]], [["S-PER"]]).to_json(), compact=compact
        ).decomposed
    )
    batch = loaded.encode([["Zoë", "Zoe"]])  # Zoë as tagging reads it now: composed
    assert batch.words[0].tolist() == [loaded.words.lookup("zoe\u0308"), loaded.words.lookup("zoe")]
    assert batch.chars[batch.char_index[0, 0]].tolist()[:4] == loaded.chars.encode("Zoe\u0308")
    # one decomposed word among composed ones (a pretrained file's): the composed letters spelt as they are
    mixed = Vocabularies.build("word", [["Zoë"]], [["S-PER"]], extra_words=["zoe\u0308"])
    mixed = Vocabularies.from_json(mixed.to_json(), compact=compact)
    assert mixed.decomposed and mixed.encode([["Zoë"]]).chars[1].tolist()[:3] == mixed.chars.encode("Zoë")


def test_a_character_model_trained_on_decomposed_text_finds_its_bigrams_in_composed_tokens() -> None:
    """Kana typed with their sound marks apart (macOS), each a token with its mark: its bigrams were unknown."""
    decomposed = [unicodedata.normalize("NFD", c) for c in "がぎぐ"]
    trained = Vocabularies.build("char", [decomposed], [["B-ORG", "I-ORG", "E-ORG"]])
    loaded = Vocabularies.from_json(trained.to_json())
    batch = loaded.encode([list("がぎぐ")])
    assert loaded.decomposed and batch.words[0].tolist() == loaded.words.encode(decomposed)
    assert (batch.bigrams == trained.encode([decomposed]).bigrams).all() and (batch.bigrams > 1).any()


def test_encoding_again_gives_the_same_batch(word_vocab: Vocabularies) -> None:
    first = word_vocab.encode(WORD_SENTENCES).arrays()
    second = word_vocab.encode(WORD_SENTENCES).arrays()  # now from the cache of token features
    assert first.keys() == second.keys()
    assert all(np.array_equal(first[k], second[k]) for k in first)


def test_char_batch_bigrams_and_lexicon() -> None:
    vocab = Vocabularies.build("char", CHAR_SENTENCES, CHAR_TAGS)
    vocab.lexicon = Lexicon([("北京", 10, "ns"), ("大学", 5, "n")])
    batch = vocab.encode(CHAR_SENTENCES)
    assert batch.chars is None and batch.char_index is None and batch.char_keys is None
    assert batch.bigrams.shape == (3, 4, 2)
    for b, sentence in enumerate(CHAR_SENTENCES):
        for t, char in enumerate(sentence):
            assert batch.words[b, t] == vocab.words.stoi[char]
            ending = ("<s>" if t == 0 else sentence[t - 1]) + char
            starting = char + (sentence[t + 1] if t + 1 < len(sentence) else "</s>")
            assert batch.bigrams[b, t].tolist() == [vocab.bigrams.stoi[ending], vocab.bigrams.stoi[starting]]
        assert not batch.bigrams[b, len(sentence) :].any()
    ids, weights = vocab.lexicon.features(CHAR_SENTENCES, 4)
    assert np.array_equal(batch.lexicon_ids, ids) and np.array_equal(batch.lexicon_weights, weights)


def test_rare_bigrams_share_the_unknown_bigram() -> None:
    vocab = Vocabularies.build("char", [list("abab"), list("ab")], [["O"] * 4, ["O"] * 2], min_bigram_count=2)
    # Each occurrence counts once (a character's ending and starting bigrams are not two sightings): ab three
    # times, <s>a and b</s> twice, ba once.
    assert vocab.bigrams.itos[2:] == ["ab", "<s>a", "b</s>"]
    ab = vocab.bigrams.stoi["ab"]
    assert vocab.encode([list("ba")]).bigrams.tolist() == [[[1, 1], [1, 1]]]  # <s>b, ba, a</s> unknown
    assert vocab.encode([list("cab")]).bigrams.tolist()[0][1:] == [[1, ab], [ab, vocab.bigrams.stoi["b</s>"]]]


def test_json_round_trip_keeps_every_id(word_vocab: Vocabularies) -> None:
    again = Vocabularies.from_json(word_vocab.to_json())
    assert again.words.itos == word_vocab.words.itos and again.chars.itos == word_vocab.chars.itos
    assert again.tags.itos == word_vocab.tags.itos and again.max_word_chars == 10
    first, second = word_vocab.encode(WORD_SENTENCES).arrays(), again.encode(WORD_SENTENCES).arrays()
    assert all(np.array_equal(first[k], second[k]) for k in first)
    char_vocab = Vocabularies.build("char", CHAR_SENTENCES, CHAR_TAGS)
    assert Vocabularies.from_json(char_vocab.to_json()).bigrams.itos == char_vocab.bigrams.itos


def test_added_words_get_new_ids_even_for_tokens_encoded_before(word_vocab: Vocabularies) -> None:
    vocab = Vocabularies.from_json(word_vocab.to_json())
    known = vocab.words.itos[2]
    before = vocab.encode([["Zanzibar", known]]).words[0].tolist()
    assert before[0] == vocab.words.unk
    vocab.replace_words([*vocab.words.itos, "zanzibar"])
    after = vocab.encode([["Zanzibar", known]]).words[0].tolist()
    assert after == [len(word_vocab.words), before[1]] and len(vocab.words) == len(word_vocab.words) + 1


def test_word_groups_are_one_id_per_document_and_lower_cased_word() -> None:
    sentences = [["Paris", "is", "paris"], ["PARIS", "x"], ["Paris"]]
    groups = word_groups(sentences, [0, 0, 1])
    assert groups == [0, 1, 0, 0, 2, 3]
    vocab = Vocabularies.build("word", sentences, [["O"] * len(s) for s in sentences])
    batch = vocab.encode(sentences, documents=[0, 0, 1])
    assert batch.word_groups[batch.mask].tolist() == groups


def test_an_unknown_level_or_a_missing_table_is_refused() -> None:
    with pytest.raises(ValueError, match="level"):
        Vocabularies("subword", None, None)
    # Without them the first text failed with an AttributeError (a vocab.json edited by hand, say).
    words, tags = Vocab(["a"]), Vocab(["S-LOC"], specials=("O",))
    with pytest.raises(ValueError, match="a word-level vocabulary needs its characters"):
        Vocabularies("word", words, tags)
    with pytest.raises(ValueError, match="a char-level vocabulary needs its bigrams"):
        Vocabularies("char", words, tags, chars=Vocab("a"))


def test_the_token_cache_is_bounded_by_its_characters(word_vocab: Vocabularies, monkeypatch) -> None:
    """A request of a few very long words must not grow the cache by their size every time."""
    monkeypatch.setattr(features, "CACHE_CHARS", 50)
    first = word_vocab.encode([["a" * 40, "Paris"]])
    second = word_vocab.encode([["b" * 40, "Paris"]])  # over 50 characters with the first: started afresh
    assert set(word_vocab._cache) == {"b" * 40, "Paris"} and word_vocab._cache_chars == 45
    assert first.words[0, 1] == second.words[0, 1] == word_vocab.words.stoi["paris"]
