"""Export the network up to the emission scores as ONNX (``encoder.onnx``), for serving without torch.

The graph takes a :class:`~ner.features.Batch`'s arrays by name, and the
vocabulary-sized embedding tables (:data:`TABLES`) as inputs too, of any
number of rows: the backend gives just the rows a batch uses
(:func:`ner.backends.table_rows`), so a table stays in memory as it is
stored (int8: a quarter of float32). The
recurrent layers' weights are external initializers, which the backend fills
in ONNX's layout (:func:`ner.backends.recurrent_weights`) when it opens the
session. Both come from ``weights.safetensors``, so the file holds no second
copy of them (it is under 100 kB where the weights take 5-20 MB). It gives the
emission scores ``(B, T, K)``; for a model with a document memory it gives the
encoder states ``(B, T, 2H)`` instead (the memory pools over a whole text,
outside the graph, and the tagger applies the emission layer). Batch, time,
word, character and table-row axes are dynamic. Each recurrent layer is one
bidirectional ONNX node that reads the padded batch as the torch tagger does
at inference, each direction within each sentence's own length, so that
padding never leaks into a real token; the character features are computed
for every distinct word of the batch, as a convolution (one matrix product
over the windows of characters) or a BiLSTM over the characters.
:func:`check` compares the graph with torch at several shapes.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ner import bundle as bundles
from ner.backends import TABLE_IDS, onnx_available, onnx_session, recurrent_weights, table_rows
from ner.features import Batch, Vocabularies
from ner.model import RNN_WEIGHTS, CharCNN, NERModel, one_direction, read_both_ways, reversed_positions

log = logging.getLogger(__name__)

OPSET = 17
TABLES = tuple(TABLE_IDS)  # inputs, not constants
_WORD_INPUTS = ("words", "casing", "mask", "chars", "char_index")
_CHAR_INPUTS = ("words", "casing", "mask", "bigrams")
_LEXICON_INPUTS = ("lexicon_ids", "lexicon_weights")


class _Encoder(nn.Module):
    """The network as one function of named arrays, free of Python branches on the data."""

    def __init__(self, model: NERModel, names: tuple[str, ...]) -> None:
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, *arrays: torch.Tensor) -> torch.Tensor:
        model = self.model
        x = dict(zip(self.names, arrays))
        parts = [nn.functional.embedding(x["words"], x["word_embed.weight"]), model.casing_embed(x["casing"])]
        if model.char_encoder is not None:
            parts.append(_spellings(model.char_encoder, x["chars"])[x["char_index"]])
        if model.bigram_embed is not None:
            parts.append(nn.functional.embedding(x["bigrams"], x["bigram_embed.weight"]).flatten(2))
        if model.lexicon_embed is not None:
            matched = model.lexicon_embed(x["lexicon_ids"])
            if model.lexicon_word_embed is not None:
                matched = matched + nn.functional.embedding(x["lexicon_words"], x["lexicon_word_embed.weight"])
            parts.append((matched * x["lexicon_weights"].unsqueeze(4)).sum(3).flatten(2))
        states, lengths = torch.cat(parts, dim=2), x["mask"].sum(1)
        rnn = model.rnn
        for layer in range(rnn.num_layers):
            torch_weights = [
                getattr(rnn, f"{name}_l{layer}{suffix}") for suffix in ("", "_reverse") for name in RNN_WEIGHTS
            ]
            onnx_weights = [x[f"rnn.{matrix}_l{layer}"] for matrix in "WRB"]
            states = _Bidirectional.apply(
                states, lengths, rnn.hidden_size, isinstance(rnn, nn.GRU), *onnx_weights, *torch_weights
            )
        return states if model.config.document_memory else model.project(states)


class _Bidirectional(torch.autograd.Function):
    """One bidirectional recurrent layer over a padded batch ``(B, T, D)`` -> ``(B, T, 2H)``, each
    direction within each sentence's length: in torch as :func:`ner.model.read_both_ways` reads it
    (from the layer's weights in torch's layout), in the graph as one ONNX ``LSTM``/``GRU`` node with
    ``sequence_lens`` (weights in ONNX's layout, :func:`ner.backends.recurrent_weights`). That node, rather than two
    one-way nodes and the gathers that reverse each sentence, runs a 10-token sentence in 200 instead
    of 310 µs under ONNX Runtime."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: object,
        x: torch.Tensor,
        lengths: torch.Tensor,
        hidden: int,
        gru: bool,
        weight: torch.Tensor,
        recurrent: torch.Tensor,
        bias: torch.Tensor,
        *torch_weights: torch.Tensor,
    ) -> torch.Tensor:
        def one_way(params: list[torch.Tensor]) -> Callable[[torch.Tensor], tuple[torch.Tensor, object]]:
            def run(inputs: torch.Tensor) -> tuple[torch.Tensor, object]:
                start = inputs.new_zeros(1, inputs.shape[0], hidden)
                if gru:
                    return torch.gru(inputs, start, params, True, 1, 0.0, False, False, True)
                out, *state = torch.lstm(inputs, [start, start], params, True, 1, 0.0, False, False, True)
                return out, state

            return run

        forward, backward = one_way(list(torch_weights[:4])), one_way(list(torch_weights[4:]))
        return read_both_ways(x, reversed_positions(lengths, x.shape[1]), forward, backward)

    @staticmethod
    def symbolic(
        g: torch.Graph,
        x: torch.Value,
        lengths: torch.Value,
        hidden: int,
        gru: bool,
        weight: torch.Value,
        recurrent: torch.Value,
        bias: torch.Value,
        *torch_weights: torch.Value,
    ) -> torch.Value:
        op, extra = ("GRU", {"linear_before_reset_i": 1}) if gru else ("LSTM", {})  # torch's GRU resets after
        steps = g.op("Transpose", x, perm_i=[1, 0, 2])  # (T, B, D): time first
        lengths = g.op("Cast", lengths, to_i=6)  # int32
        states, *_ = g.op(
            op,
            steps,
            weight,
            recurrent,
            bias,
            lengths,
            direction_s="bidirectional",
            hidden_size_i=hidden,
            outputs=2 if gru else 3,
            **extra,
        )  # (T, 2, B, H)
        states = g.op("Transpose", states, perm_i=[2, 0, 1, 3])  # (B, T, 2, H)
        return g.op("Reshape", states, g.op("Constant", value_t=torch.tensor([0, 0, -1])))


def _spellings(encoder: nn.Module, chars: torch.Tensor) -> torch.Tensor:
    """Character features ``(U, F)`` of words spelled ``(U, L)``, without packing or ``unfold``."""
    if isinstance(encoder, CharCNN):
        # The convolution as one matrix product over the character windows, in (U, L, C) layout: ONNX
        # Runtime's Conv and the transposes around it took a batch of 54 sentences 4.9 ms, this 1.5 ms.
        weight, width = encoder.conv.weight, encoder.conv.kernel_size[0]  # weight (F, C, width)
        embedded = nn.functional.pad(encoder.embed(chars), (0, 0, width // 2, width // 2))  # (U, L + pad, C)
        letters = chars.shape[1]
        windows = torch.cat([embedded[:, j : j + letters] for j in range(width)], dim=2)  # (U, L, width * C)
        features = windows @ weight.permute(2, 1, 0).flatten(0, 1) + encoder.conv.bias  # (U, L, F)
        features = features.masked_fill((chars == 0).unsqueeze(2), float("-inf")).max(dim=1).values
        return features.masked_fill(torch.isinf(features), 0.0)
    lengths = (chars != 0).sum(1).clamp(min=1)
    reverse = reversed_positions(lengths, chars.shape[1])
    embedded = encoder.embed(chars)
    lstm = encoder.lstm
    forward_lstm, backward_lstm = (one_direction(lstm, 0, suffix) for suffix in ("", "_reverse"))
    ahead, _ = forward_lstm(embedded)
    behind, _ = backward_lstm(embedded.gather(1, reverse.unsqueeze(2).expand_as(embedded)))
    last = (lengths - 1).view(-1, 1, 1).expand(-1, 1, ahead.shape[2])
    return torch.cat([ahead.gather(1, last).squeeze(1), behind.gather(1, last).squeeze(1)], dim=1)


def input_names(model: NERModel) -> tuple[str, ...]:
    """The graph's inputs: arrays of the batch, then embedding tables."""
    if model.config.level == "word":
        return (*_WORD_INPUTS, TABLES[0])
    names = [*_CHAR_INPUTS, TABLES[0], TABLES[1]]
    if model.lexicon_embed is not None:
        names += _LEXICON_INPUTS
    if model.lexicon_word_embed is not None:
        names += ["lexicon_words", TABLES[2]]
    return tuple(names)


def export_if_possible(model: NERModel, vocab: Vocabularies) -> bytes | None:
    """:func:`export`, when ONNX Runtime is here to check the encoder (else None, said in the log)."""
    try:
        available = onnx_available()
    except RuntimeError as error:  # installed, but it does not load: the model is saved all the same
        log.warning("no ONNX encoder written: %s (add it later with ner export)", error)
        return None
    if not available:
        log.info("no ONNX encoder written: onnxruntime is not installed (add it later with ner export)")
        return None
    return export(model, vocab)


def export(model: NERModel, vocab: Vocabularies) -> bytes:
    """The ONNX encoder of ``model``, checked against torch (:func:`check`) before it is returned."""
    model = model.eval().cpu()
    weights = _numpy_weights(model)
    recurrent = recurrent_weights(weights)
    names = (*input_names(model), *recurrent)  # the recurrent weights leave the inputs after tracing
    arrays = {**vocab.encode([["Ab", "c", "d"], ["e"]]).arrays(), **weights, **recurrent}
    inputs = tuple(torch.as_tensor(arrays[name]) for name in names)
    axes = {
        "words": {0: "batch", 1: "time"},
        "casing": {0: "batch", 1: "time"},
        "mask": {0: "batch", 1: "time"},
        "chars": {0: "spellings", 1: "letters"},
        "char_index": {0: "batch", 1: "time"},
        "bigrams": {0: "batch", 1: "time"},
        "lexicon_ids": {0: "batch", 1: "time", 3: "matches"},
        "lexicon_weights": {0: "batch", 1: "time", 3: "matches"},
        "lexicon_words": {0: "batch", 1: "time", 3: "matches"},
        **{table: {0: f"{table} rows"} for table in TABLES},
    }
    output = "states" if model.config.document_memory else "emissions"
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's notes on tracing and deprecations
        torch.onnx.export(
            _Encoder(model, names).eval(),  # a new module is in training mode, which export restores
            inputs,
            buffer,
            input_names=list(names),
            output_names=[output],
            dynamic_axes={**{n: axes[n] for n in names if n in axes}, output: {0: "batch", 1: "time"}},
            opset_version=OPSET,
            dynamo=False,
        )
    encoder = _external(buffer.getvalue(), recurrent)
    _check(model, vocab, encoder, weights, recurrent)
    return encoder


def _external(encoder: bytes, arrays: dict[str, np.ndarray]) -> bytes:
    """``encoder`` with the graph inputs named in ``arrays`` turned into initializers whose data is
    stored outside the file (ONNX Runtime is given it with ``add_external_initializers``)."""
    import onnx

    proto = onnx.load_from_string(encoder)
    kept = [value for value in proto.graph.input if value.name not in arrays]
    del proto.graph.input[:]
    proto.graph.input.extend(kept)
    for name, array in arrays.items():
        tensor = onnx.TensorProto(name=name, dims=array.shape, data_type=onnx.TensorProto.FLOAT)
        tensor.data_location = onnx.TensorProto.EXTERNAL
        tensor.external_data.add(key="location", value="weights.safetensors")
        proto.graph.initializer.append(tensor)
    return proto.SerializeToString()


def check(model: NERModel, vocab: Vocabularies, encoder: bytes, tolerance: float = 1e-4) -> float:
    """The largest difference between ``encoder`` under ONNX Runtime and ``model`` under torch, over
    batches of several sizes and lengths (exported recurrent layers have been seen to break at
    lengths not seen at export); raises ``ValueError`` beyond ``tolerance``."""
    weights = _numpy_weights(model)
    return _check(model, vocab, encoder, weights, recurrent_weights(weights), tolerance)


def _check(
    model: NERModel,
    vocab: Vocabularies,
    encoder: bytes,
    weights: dict[str, np.ndarray],
    recurrent: dict[str, np.ndarray],
    tolerance: float = 1e-4,
) -> float:
    session = onnx_session(encoder, 1, recurrent)
    names = [i.name for i in session.get_inputs()]
    tables = {name: bundles.StoredTable(weights[name]) for name in TABLES if name in weights}
    rng = np.random.default_rng(0)
    symbols = [s for s in vocab.words.itos[2:200]] or ["a"]
    worst = 0.0
    for batch_size, longest in ((1, 1), (1, 7), (3, 12), (17, 40), (64, 3), (5, 130)):
        lengths = rng.integers(1, longest + 1, batch_size)
        sentences = [[str(symbols[i]) for i in rng.integers(0, len(symbols), n)] for n in lengths]
        batch = vocab.encode(sentences)
        arrays = table_rows(batch.arrays(), tables)
        got = session.run(None, {n: arrays[n] for n in names})[0]
        expected = _torch_output(model, batch)
        worst = max(worst, float(np.abs(got - expected)[batch.mask].max()))
    if worst > tolerance:
        raise ValueError(f"the exported encoder differs from torch by {worst:.2e} (> {tolerance:.0e})")
    return worst


@torch.no_grad()
def _torch_output(model: NERModel, batch: Batch) -> np.ndarray:
    x = model.tensors(batch)
    states = model.encode(x)
    return (states if model.config.document_memory else model.project(states)).cpu().numpy()


def _numpy_weights(model: NERModel) -> dict[str, np.ndarray]:
    return {name: tensor.detach().cpu().numpy() for name, tensor in model.state_dict().items()}
