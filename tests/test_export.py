"""Tests for ner.export: the ONNX encoder equals the torch network, for every documented network option."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from ner.backends import onnx_session, recurrent_weights
from ner.config import ModelConfig
from ner.export import TABLES, _spellings, check, export, export_if_possible, input_names
from ner.features import Vocabularies
from ner.lexicon import Lexicon
from ner.model import CharCNN, CharLSTM, NERModel

WORDS = [["John", "Smith", "visited", "Paris", "."], ["PARIS", "!"], ["Ana", "works", "for", "Acme", "Corp", "."]]
CHARS = [list("李明在北京工作。"), list("北京大学"), list("你好")]
SMALL = {"word_dim": 6, "char_dim": 4, "char_hidden": 6, "casing_dim": 2, "hidden": 5, "bigram_dim": 3}
NETWORKS = {
    "lstm-cnn": {},
    "gru-2-layers-char-lstm": {"cell": "gru", "layers": 2, "char_encoder": "lstm"},
    "document-memory": {"document_memory": True},
    "char-lexicon": {"level": "char", "lexicon_dim": 4},
    "char-gru": {"level": "char", "cell": "gru"},
}


def network(settings: dict) -> tuple[NERModel, Vocabularies]:
    torch.manual_seed(0)
    config = ModelConfig(**{**SMALL, "dropout": 0.0, **settings})
    sentences = CHARS if config.level == "char" else WORDS
    vocab = Vocabularies.build(config.level, sentences, [["O"] * len(s) for s in sentences])
    if config.lexicon_dim:
        vocab.lexicon = Lexicon([("北京", 10, "ns"), ("北京大学", 5, "nt"), ("工作", 8, "v"), ("李明", 3, "nr")])
    return NERModel.for_vocabularies(config, vocab).eval(), vocab


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_the_exported_encoder_equals_torch(name: str) -> None:
    model, vocab = network(NETWORKS[name])
    encoder = export(model, vocab)  # checked against torch at several shapes on the way
    assert check(model, vocab, encoder) <= 1e-4
    # The file holds no recurrent weights: they are external, filled from the model's weights.
    recurrent = recurrent_weights({n: t.numpy() for n, t in model.state_dict().items()})
    external = [
        t for t in onnx.load_from_string(encoder).graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL
    ]
    assert (
        {t.name for t in external}
        == set(recurrent)
        == {f"rnn.{m}_l{k}" for m in "WRB" for k in range(model.rnn.num_layers)}
    )
    assert not any(t.raw_data or t.float_data for t in external)
    with pytest.raises(onnxruntime.capi.onnxruntime_pybind11_state.Fail):
        onnxruntime.InferenceSession(encoder, providers=["CPUExecutionProvider"])
    # And on a batch of this test's own: the real sentences, padded.
    session = onnx_session(encoder, 1, recurrent)
    names = [i.name for i in session.get_inputs()]
    assert names == list(input_names(model))
    sentences = CHARS if model.config.level == "char" else WORDS
    batch = vocab.encode(sentences)
    tables = {n: t.numpy() for n, t in model.state_dict().items() if n in names}
    got = session.run(None, {n: {**batch.arrays(), **tables}[n] for n in names})[0]
    with torch.no_grad():
        states = model.encode(model.tensors(batch))
        expected = (states if model.config.document_memory else model.project(states)).numpy()
    assert got.shape == expected.shape
    assert np.abs(got - expected)[batch.mask].max() <= 1e-4


@pytest.mark.parametrize("name", ["lstm-cnn", "gru-2-layers-char-lstm"])
def test_each_recurrent_layer_is_one_bidirectional_node_reading_each_sentence_length(name: str) -> None:
    """One ONNX LSTM/GRU node per layer with ``sequence_lens``, not two one-way nodes and the gathers
    that reverse each sentence (which cost a 10-token sentence a third more time)."""
    import onnx

    model, vocab = network(NETWORKS[name])
    graph = onnx.load_from_string(export(model, vocab)).graph
    cell = "GRU" if model.config.cell == "gru" else "LSTM"
    words = [n for n in graph.node if n.op_type == cell and len(n.input) >= 5 and n.input[4]]  # with sequence_lens
    assert len(words) == model.config.layers
    for node in words:
        assert {a.name: a.s for a in node.attribute}["direction"] == b"bidirectional"


def test_check_catches_an_encoder_of_other_weights() -> None:
    model, vocab = network({})
    encoder = export(model, vocab)
    with torch.no_grad():
        model.project.weight.add_(0.5)  # held in the graph (the recurrent weights are read from the model)
    with pytest.raises(ValueError, match="differs from torch"):
        check(model, vocab, encoder)


def test_the_graph_takes_the_embedding_tables_as_inputs() -> None:
    """The vocabulary-sized tables come from the weights file, not a second copy inside the graph."""
    for settings in NETWORKS.values():
        model, vocab = network(settings)
        names = input_names(model)
        tables = [name for name in model.state_dict() if name in TABLES]
        assert tables and set(tables) <= set(names)
        batch = vocab.encode(CHARS if model.config.level == "char" else WORDS)
        assert set(names) - set(tables) <= set(batch.arrays())  # every other input is an array of the batch
    big, big_vocab = network({})
    big.word_embed = torch.nn.Embedding(20_000, 6, padding_idx=0)
    encoder = export(big, big_vocab)
    assert len(encoder) < 20_000 * 6 * 4 / 2  # far smaller than the table


@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_exported_spellings_equal_the_character_encoders(kind: str) -> None:
    """conv1d in place of the unfolded matrix product, and a BiLSTM without packing: the same features."""
    torch.manual_seed(1)
    encoder = CharCNN(12, 4, 6, 3) if kind == "cnn" else CharLSTM(12, 4, 6)
    chars = torch.tensor([[0, 0, 0, 0, 0], [3, 0, 0, 0, 0], [1, 2, 3, 4, 5], [5, 11, 7, 0, 0], [2, 2, 0, 0, 0]])
    with torch.no_grad():
        got, expected = _spellings(encoder, chars), encoder(chars)
    assert torch.allclose(got[1:], expected[1:], atol=1e-6)  # row 0 spells padding, which no token uses


def test_without_onnx_runtime_no_encoder_is_written_and_the_log_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Training and ``ner words`` write an encoder only where ONNX Runtime can check it (mocked away here:
    it is installed with the tests)."""
    model, vocab = network({})
    assert export_if_possible(model, vocab) is not None
    monkeypatch.setattr("ner.export.onnx_available", lambda: False)
    with caplog.at_level("INFO", logger="ner"):
        assert export_if_possible(model, vocab) is None
    assert "no ONNX encoder written: onnxruntime is not installed" in caplog.text
