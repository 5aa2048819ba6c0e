"""Tests for ner.model: the claims of its comments, each against a plain reference computation.

The unpacked bidirectional run equals the packed one; the matrix-product convolution equals ``conv1d``;
the character BiLSTM gives each word's own final states; the document memory is the mean state of each
(document, lower-cased word); remembered spellings give what computing them afresh gives.
"""

from __future__ import annotations

import random
import string

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ner import model as model_module
from ner.bundle import network_shapes
from ner.config import ModelConfig
from ner.features import Batch, Vocabularies
from ner.lexicon import Lexicon
from ner.model import CharCNN, CharLSTM, NERModel, word_means
from ner.vocab import Vocab

SENTENCES = [
    ["John", "Smith", "visited", "Paris", "on", "Monday", "."],
    ["Smith", "left", "."],
    ["PARIS", "!"],
    ["Paris"],
    ["paris", "and", "John", "."],
]
DOCUMENTS = [0, 0, 1, 1, 0]


def small_model(**settings: object) -> tuple[NERModel, Vocabularies]:
    torch.manual_seed(0)
    vocab = Vocabularies.build("word", SENTENCES, [["O"] * len(s) for s in SENTENCES])
    config = ModelConfig(
        **{
            "word_dim": 6,
            "char_dim": 4,
            "char_hidden": 6,
            "casing_dim": 2,
            "hidden": 5,
            "dropout": 0.0,
            "word_dropout": 0.0,
            **settings,
        }
    )
    return NERModel.for_vocabularies(config, vocab), vocab


RECURRENT = [("lstm", 1), ("gru", 1), ("lstm", 2), ("gru", 2)]
CHINESE = [list("北京大学"), list("在北京")]


def char_lexicon_model(**settings: object) -> tuple[NERModel, Batch]:
    """A tiny character-level model with a three-word lexicon, and the batch of :data:`CHINESE`."""
    vocab = Vocabularies.build("char", CHINESE, [["O"] * len(s) for s in CHINESE])
    vocab.lexicon = Lexicon([("北京", 10, "ns"), ("北京大学", 5, "nt"), ("大学", 3, "n")])
    if settings.get("lexicon_words"):
        vocab.lexicon_words = Vocab(vocab.lexicon.matched_words(CHINESE))
    torch.manual_seed(6)
    config = ModelConfig(
        **{
            "level": "char",
            "word_dim": 4,
            "bigram_dim": 3,
            "casing_dim": 2,
            "hidden": 4,
            "lexicon_dim": 5,
            "dropout": 0.0,
        }
        | settings
    )
    return NERModel.for_vocabularies(config, vocab), vocab.encode(CHINESE)


@pytest.mark.parametrize(("cell", "layers"), RECURRENT)
def test_unpacked_run_equals_the_packed_one(cell: str, layers: int) -> None:
    model, _ = small_model(cell=cell, layers=layers)
    model.eval()
    torch.manual_seed(1)
    lengths = torch.tensor([7, 3, 1, 5, 7, 2])
    x = torch.randn(len(lengths), 7, model.rnn.input_size)
    inside = torch.arange(7)[None, :] < lengths[:, None]
    with torch.no_grad():
        unpacked = model._encode_unpacked(x, lengths)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        reference, _ = pad_packed_sequence(model.rnn(packed)[0], batch_first=True, total_length=7)
        assert unpacked.shape == reference.shape == (6, 7, 2 * model.config.hidden)
        assert torch.allclose(unpacked[inside], reference[inside], atol=1e-6)
        # Padding never leaks into a real token: other values there change nothing.
        noisy = torch.where(inside[:, :, None], x, torch.randn_like(x) * 100)
        assert torch.allclose(model._encode_unpacked(noisy, lengths)[inside], unpacked[inside], atol=1e-6)


@pytest.mark.parametrize(("cell", "layers"), RECURRENT)
def test_unpacked_run_follows_new_weights(cell: str, layers: int) -> None:
    """The one-directional RNNs share the weights of the bidirectional one: loading others changes both."""
    model, _ = small_model(cell=cell, layers=layers)
    other, _ = small_model(cell=cell, layers=layers)
    with torch.no_grad():
        for parameter in other.rnn.parameters():
            parameter.add_(torch.randn_like(parameter))
    model.eval()
    lengths = torch.tensor([4, 2])
    x = torch.randn(2, 4, model.rnn.input_size)
    with torch.no_grad():
        model._encode_unpacked(x, lengths)  # builds the one-directional RNNs
        model.load_state_dict(other.state_dict())
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        reference, _ = pad_packed_sequence(model.rnn(packed)[0], batch_first=True, total_length=4)
        inside = torch.arange(4)[None, :] < lengths[:, None]
        assert torch.allclose(model._encode_unpacked(x, lengths)[inside], reference[inside], atol=1e-6)
    assert len(model.state_dict()) == len(other.state_dict())  # the shared weights are not stored twice


@pytest.mark.parametrize(("cell", "layers"), RECURRENT)
def test_inference_encodes_a_batch_as_training_does(cell: str, layers: int) -> None:
    """Training packs; inference runs unpacked and remembers spellings: the same states (no dropout)."""
    model, vocab = small_model(cell=cell, layers=layers)
    batch = vocab.encode(SENTENCES)
    x = model.tensors(batch)
    mask = x["mask"]
    with torch.no_grad():
        model.train()
        packed = model.encode(x)
        model.eval()
        unpacked = model.encode(x, batch.char_keys)
        again = model.encode(x, batch.char_keys)  # spellings now remembered
    assert torch.allclose(unpacked[mask], packed[mask], atol=1e-6)
    assert torch.equal(again, unpacked)


@pytest.mark.parametrize("kernel", [1, 3, 5])
def test_char_cnn_equals_conv1d_and_a_max_over_each_words_characters(kernel: int) -> None:
    torch.manual_seed(2)
    cnn = CharCNN(n_chars=12, char_dim=4, filters=6, kernel=kernel)
    chars = torch.tensor([[0, 0, 0, 0, 0], [3, 0, 0, 0, 0], [1, 2, 3, 4, 5], [5, 11, 7, 0, 0], [2, 2, 0, 0, 0]])
    with torch.no_grad():
        got = cnn(chars)
        embedded = cnn.embed(chars).transpose(1, 2)
        convolved = torch.nn.functional.conv1d(embedded, cnn.conv.weight, cnn.conv.bias, padding=kernel // 2)
        assert torch.allclose(convolved, cnn.conv(embedded))
    assert got.shape == (5, 6)
    for word, spelling in enumerate(chars.tolist()):
        length = sum(c != 0 for c in spelling)
        expected = convolved[word, :, :length].max(dim=1).values if length else torch.zeros(6)
        assert torch.allclose(got[word], expected, atol=1e-6), word


def test_an_even_char_kernel_is_refused() -> None:
    """An even window has no centre: the convolution would give one feature more than there are characters."""
    with pytest.raises(ValueError, match="char_kernel"):
        ModelConfig(char_kernel=4)
    ModelConfig(char_kernel=5)


def test_char_lstm_gives_each_words_own_final_states() -> None:
    torch.manual_seed(3)
    encoder = CharLSTM(n_chars=12, char_dim=4, hidden=6)
    chars = torch.tensor([[1, 2, 3, 4, 5], [5, 11, 7, 0, 0], [3, 0, 0, 0, 0], [2, 2, 0, 0, 0]])
    with torch.no_grad():
        got = encoder(chars)
        for word, spelling in enumerate(chars.tolist()):
            alone = torch.tensor([[c for c in spelling if c != 0]])
            _, (h, _) = encoder.lstm(encoder.embed(alone))  # this word alone, no padding at all
            assert torch.allclose(got[word], torch.cat([h[0, 0], h[1, 0]]), atol=1e-6), word


def test_word_means_equal_a_brute_force_mean_per_group() -> None:
    torch.manual_seed(4)
    states = torch.randn(40, 3)
    groups = torch.randint(0, 9, (40,))
    got = word_means(states, groups)
    for i in range(40):
        members = [states[j] for j in range(40) if groups[j] == groups[i]]
        assert torch.allclose(got[i], torch.stack(members).mean(0), atol=1e-6)
    assert word_means(states[:0], groups[:0]).shape == (0, 3)


def test_document_memory_is_the_mean_state_of_each_document_and_lower_cased_word() -> None:
    model, vocab = small_model(document_memory=True)
    model.eval()
    batch = vocab.encode(SENTENCES, documents=DOCUMENTS)
    with torch.no_grad():
        emissions = model.emissions(batch)
        states = model.encode(model.tensors(batch), batch.char_keys)
        memory = torch.zeros_like(states)
        for b, (sentence, document) in enumerate(zip(SENTENCES, DOCUMENTS)):
            for t, token in enumerate(sentence):
                same = [
                    states[c, u]
                    for c, (other, other_document) in enumerate(zip(SENTENCES, DOCUMENTS))
                    for u, word in enumerate(other)
                    if other_document == document and word.lower() == token.lower()
                ]
                memory[b, t] = torch.stack(same).mean(0)
        expected = model.emit(states, memory)
    mask = torch.from_numpy(batch.mask)
    assert torch.allclose(emissions[mask], expected[mask], atol=1e-6)
    # "Paris" of document 1 pools PARIS and Paris, not the paris of document 0.
    assert not torch.allclose(memory[3, 0], memory[0, 3])
    assert torch.allclose(memory[3, 0], (states[2, 0] + states[3, 0]) / 2, atol=1e-6)


def test_remembered_spellings_equal_fresh_ones_across_batches_and_growth() -> None:
    """Past 1,024 distinct words the table of remembered spellings grows; every row stays right."""
    model, vocab = small_model()
    model.eval()
    rng = random.Random(5)
    words = list(dict.fromkeys("".join(rng.choices(string.ascii_letters, k=rng.randint(1, 9))) for _ in range(1500)))
    chunks = [SENTENCES, [words[:700]], [words[500:1400], ["Paris"]], [words[1300:]]]
    with torch.no_grad():
        for sentences in chunks:
            batch = vocab.encode(sentences)
            x = model.tensors(batch)
            remembered = model.embed(x, batch.char_keys)
            fresh = model.embed(x)
            assert torch.equal(remembered, fresh)


def test_words_cut_to_one_spelling_share_one_remembered_row() -> None:
    """Two words alike in their first 20 letters are one spelling: a later batch's new words take free rows."""
    model, vocab = small_model()
    model.eval()
    url = "https://www.reuters.com/"
    batches = [[[url + "a", "and", url + "b"]], [["Kuala", "Lumpur"]], SENTENCES, [[url + "c", "Kuala", "."]]]
    with torch.no_grad():
        for sentences in batches:
            batch = vocab.encode(sentences)
            x = model.tensors(batch)
            assert torch.equal(model.embed(x, batch.char_keys), model.embed(x))


def test_remembered_spellings_start_afresh_at_their_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_module, "SPELLING_MEMORY", 50)
    model, vocab = small_model()
    model.eval()
    words = [f"w{i}" for i in range(120)]
    with torch.no_grad():
        for sentences in ([words[:40]], [words[30:70]], [words[60:]]):  # each batch passes the bound
            batch = vocab.encode(sentences)
            x = model.tensors(batch)
            assert torch.equal(model.embed(x, batch.char_keys), model.embed(x))


def test_switching_to_training_forgets_remembered_spellings() -> None:
    model, vocab = small_model()
    batch = vocab.encode(SENTENCES)
    x = model.tensors(batch)
    model.eval()
    with torch.no_grad():
        before = model.embed(x, batch.char_keys)
        model.train()  # a training step would change the weights ...
        model.char_encoder.conv.weight.add_(1.0)
        model.eval()
        after = model.embed(x, batch.char_keys)  # ... so the spellings are computed again
        assert not torch.allclose(before, after)
        assert torch.equal(after, model.embed(x))


def test_a_char_level_model_with_a_lexicon_pools_its_sets() -> None:
    model, batch = char_lexicon_model()
    model.eval()
    x = model.tensors(batch)
    with torch.no_grad():
        features = model.embed(x)
        assert features.shape == (2, 4, 4 + 2 + 2 * 3 + 4 * 5)
        pooled = features[..., -20:].reshape(2, 4, 4, 5)
        table = model.lexicon_embed.weight
        for b in range(2):
            for t in range(len(CHINESE[b])):
                for s in range(4):
                    ids, weights = batch.lexicon_ids[b, t, s], batch.lexicon_weights[b, t, s]
                    expected = sum(float(w) * table[int(i)] for i, w in zip(ids, weights))
                    assert torch.allclose(pooled[b, t, s], expected, atol=1e-6)


def test_as_unknown_replaces_known_ids_at_its_rate_and_keeps_padding_and_unknown() -> None:
    torch.manual_seed(0)
    ids = torch.randint(0, 50, (200, 300))
    assert model_module.as_unknown(ids, 0.0) is ids
    assert model_module.as_unknown(None, 0.5) is None
    dropped = model_module.as_unknown(ids, 0.2)
    changed = dropped != ids
    assert torch.equal(dropped[changed], torch.ones_like(dropped[changed]))  # only ever to <unk>
    assert not changed[ids <= 1].any()  # padding and <unk> stay as they are
    share = changed.sum().item() / (ids > 1).sum().item()
    assert abs(share - 0.2) < 0.01


@pytest.mark.parametrize("rate", [0.0, 0.5])
def test_unknown_dropout_trains_the_unknown_bigram_and_lexicon_word(rate: float) -> None:
    """Every training bigram and lexicon word is in the vocabulary, so without unknown dropout their
    ``<unk>`` rows (read for anything unseen at tagging time) never get a gradient; with it they do."""
    model, batch = char_lexicon_model(lexicon_words=True, word_dropout=0.0, unknown_dropout=rate)
    model.train()
    x = model.tensors(batch)
    torch.manual_seed(2)
    model.embed(x).sum().backward()
    for table in (model.bigram_embed, model.lexicon_word_embed):
        assert bool(table.weight.grad[1].abs().sum() > 0) == (rate > 0)
    model.eval()
    assert torch.equal(model.embed(x), model.embed(x))  # tagging never drops


@pytest.mark.parametrize("encoder", ["cnn", "lstm"])
def test_a_character_new_at_tagging_time_reads_as_none_not_as_a_random_one(
    encoder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every training character has its own row, so the character encoder's ``<unk>`` is never trained: it
    starts at zero, the padding's vector, rather than random, and stays so; every other weight is as drawn."""
    model, vocab = small_model(char_encoder=encoder)
    monkeypatch.setattr(model_module, "character_table", lambda n, d: torch.nn.Embedding(n, d, padding_idx=0))
    drawn, _ = small_model(char_encoder=encoder)
    table = model.char_encoder.embed.weight
    assert not table[:2].any() and bool(drawn.char_encoder.embed.weight[1].abs().sum() > 0)
    different = [n for n, w in model.state_dict().items() if not torch.equal(w, drawn.state_dict()[n])]
    assert different == ["char_encoder.embed.weight"] and torch.equal(table[2:], drawn.char_encoder.embed.weight[2:])
    model.train()
    model.embed(model.tensors(vocab.encode(SENTENCES))).sum().backward()
    assert not table.grad[1].any() and table.grad[2:].any()
    chars = torch.from_numpy(vocab.encode([["Zürich"]]).chars)  # ü is new
    assert chars[1, 1] == 1 and not model.char_encoder.embed(chars)[1, 1].any()


@pytest.mark.parametrize(
    ("level", "settings"),
    [
        ("word", {}),
        ("word", {"cell": "gru", "layers": 3, "hidden": 7, "document_memory": True}),
        ("word", {"char_encoder": "lstm", "char_hidden": 6, "casing_dim": 0}),
        ("word", {"char_hidden": 0, "word_dim": 0}),
        ("char", {}),
        ("char", {"lexicon_words": True, "layers": 2, "cell": "gru"}),
        ("char", {"lexicon_dim": 0, "bigram_dim": 0}),
    ],
)
@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")  # char_hidden 0: no character features
def test_network_shapes_are_the_torch_networks(level: str, settings: dict) -> None:
    """Loading checks weights against shapes worked out without torch: they must be the network's own."""
    sentences = SENTENCES if level == "word" else CHINESE
    vocab = Vocabularies.build(level, sentences, [["O"] * len(s) for s in sentences])
    if level == "char":
        vocab.lexicon = Lexicon([("北京", 10, "ns"), ("北京大学", 5, "nt"), ("大学", 3, "n")])
        if settings.get("lexicon_words"):
            vocab.lexicon_words = Vocab(vocab.lexicon.matched_words(CHINESE))
    config = ModelConfig(**{"level": level, "word_dim": 6, "char_dim": 4, "hidden": 5, "lexicon_dim": 3} | settings)
    model = NERModel.for_vocabularies(config, vocab)
    assert network_shapes(config, vocab) == {name: tuple(t.shape) for name, t in model.state_dict().items()}
