"""Tests for ner.card: what the model card says for each kind of run, and the learning curves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ner import bundle as bundles
from ner.card import model_card, plot_curves, training_commands
from ner.config import ModelConfig
from ner.features import Vocabularies
from ner.lexicon import Lexicon
from ner.vocab import Vocab


def scores(f1: float) -> dict:
    row = {"precision": f1 + 1, "recall": f1 - 1, "f1": f1, "support": 10}
    return {**row, "per_type": {"LOC": row, "PER": {**row, "f1": f1 - 5}}}


def a_bundle(metrics: dict | None = None, training: dict | None = None, **info: object) -> bundles.Bundle:
    vocab = Vocabularies("word", Vocab(["a"]), Vocab(["B-LOC", "S-LOC", "S-PER"], specials=("O",)), chars=Vocab("a"))
    weights = {
        "word_embed.weight": np.zeros((1000, 50), np.float32),
        "project.weight": np.zeros((250, 100), np.float32),
    }
    return bundles.Bundle(
        vocab,
        ModelConfig(cell="gru"),
        weights,
        "my-model",
        "en",
        metrics={"dev": scores(91.0), "best_epoch": 7, "epochs_run": 12, "training_seconds": 3.5, **(metrics or {})},
        info={"training": {"data_terms": "CC BY 4.0", **(training or {})}, **info},
    )


def test_the_card_reports_scores_network_data_and_terms() -> None:
    card = model_card(
        a_bundle({"test": scores(88.5)}, {"train": "train.conll", "commands": ["ner train --a", "ner x"]})
    )
    assert card.startswith("# my-model\n")
    assert "(word level, language `en`)" in card and "Labels: LOC, PER." in card
    assert "| dev | 92.00 | 90.00 | 91.00 |" in card and "| test | 89.50 | 87.50 | 88.50 |" in card
    assert "Per type (test):" in card and "| PER | 89.50 | 87.50 | 83.50 | 10 |" in card
    assert "Best epoch 7 of 12, chosen by dev F1." in card
    assert "curves.png" not in card  # no history: no curves were drawn
    trained = model_card(a_bundle({"test": scores(88.5), "history": [{"epoch": 1}]}, {"train": "train.conll"}))
    assert "chosen by dev F1. Learning curves: [curves.png](curves.png)." in trained
    assert "- Train: `train.conll`" in card
    assert "```\nner train --a\nner x\n```" in card
    assert '"cell": "gru"' in card
    assert "whose terms apply to them: CC BY 4.0" in card
    # 50,000 + 25,000 float32 weights: 0.3 MB.
    assert "Size: 0.3 MB of weights." in card


def test_the_card_says_how_each_file_was_read() -> None:
    reading = {"train": ["IOB2 tags", "tokens read from column 1, tags from column 9 (of 0-9)"], "dev": ["spans"]}
    card = model_card(a_bundle(training={"train": "a.conllu", "dev": "dev file b.jsonl", "reading": reading}))
    assert "- Train: `a.conllu` (IOB2 tags)\n  - tokens read from column 1, tags from column 9 (of 0-9)\n" in card
    assert "- Dev: dev file b.jsonl (spans)\n- Test: none\n" in card
    # A card of a model trained before it recorded this says what it said.
    assert "- Train: `train.conll`\n- Dev: not recorded\n" in model_card(a_bundle(training={"train": "train.conll"}))


def test_the_card_of_a_dev_only_run_lists_dev_per_type() -> None:
    card = model_card(a_bundle())
    assert "Per type (dev):" in card and "| test |" not in card


def test_calibration_half_tables_train_with_dev_and_reasons_are_explained() -> None:
    calibration = {"temperature": 1.35, "fitted_on": "dev.conll", "ece_at_1": 0.08, "ece": 0.02, "entities": 321}
    card = model_card(
        a_bundle(
            {"calibration": calibration, "float32_dev_f1": 91.2, "epochs_run": 4},
            {"config": {"train_with_dev": True}, "choices": ["language: en (langid)", "lexicon: none"]},
            embedding_dtype="float16",
        )
    )
    assert "temperature 1.35 fitted on `dev.conll`" in card and "0.08 before, 0.02 after" in card
    assert "321 predicted entities" in card
    assert "stored in float16" in card and "dev F1 in float32: 91.2" in card
    assert "Size: 0.2 MB" in card  # the word table counts 2 bytes a number
    assert "Trained on train and dev together for 4 epochs" in card and "Best epoch" not in card
    assert "Chosen automatically for this corpus:\n- language: en (langid)\n- lexicon: none\n" in card
    plain = model_card(a_bundle())
    assert "calibrated" not in plain and "float16" not in plain and "Chosen automatically" not in plain
    quarter = model_card(a_bundle(embedding_dtype="int8"))
    assert "as 8-bit integers with a scale per row" in quarter


def test_a_fine_tuned_model_names_its_parent() -> None:
    parent = {"name": "en-base", "test": "eng.testb", "test_f1": 90.13}
    same_test = model_card(a_bundle({"test": scores(89.88)}, {"parent": parent, "test": "eng.testb"}))
    assert "Fine-tuned from `en-base` (test F1 90.13)." in same_test
    assert "On the parent's test file, F1 went from 90.13 to 89.88." in same_test
    other_test = model_card(a_bundle({"test": scores(80.0)}, {"parent": parent, "test": "other.conll"}))
    assert "Pass the parent's test file as --test" in other_test
    # fine-tuned without a dev file: for the epochs asked (5 by default), none of them chosen on dev
    no_dev = model_card(a_bundle({"epochs_run": 5, "dev": {}}, {"parent": parent, "config": {"train_with_dev": True}}))
    assert "Fine-tuned for 5 epochs, the last kept." in no_dev and "chosen on dev" not in no_dev
    assert "No dev or test file was scored." in no_dev and "| split |" not in no_dev  # no empty tables
    grandchild = model_card(a_bundle({"test": scores(80.0)}, {"parent": {"name": "child", "test_f1": None}}))
    assert "Fine-tuned from `child` (no test F1)." in grandchild
    # The same test file under another path is known by its bytes; another file of the same name is not it.
    moved = {"parent": {**parent, "test_sha256": "ab"}, "test": "../data/eng.testb", "test_sha256": "ab"}
    assert "F1 went from 90.13 to 80.00" in model_card(a_bundle({"test": scores(80.0)}, moved))
    renamed = {**moved, "test": "eng.testb", "test_sha256": "cd"}
    assert "Pass the parent's test file" in model_card(a_bundle({"test": scores(80.0)}, renamed))


def test_a_fine_tuned_card_lists_every_ancestors_commands_and_an_inherited_temperature() -> None:
    grandparent = {"name": "base", "commands": ["ner train --train a"]}
    parent = {"name": "child", "commands": ["ner train --train b --init-from base"], "parent": grandparent}
    bundle = a_bundle(training={"parent": parent, "commands": ["ner train --train c --init-from child"]})
    bundle.temperature = 1.4
    card = model_card(bundle)
    assert (
        "```\n# the parent model, base:\nner train --train a\n# the parent model, child:\n"
        "ner train --train b --init-from base\n# this model:\nner train --train c --init-from child\n```"
    ) in card
    assert "Entity scores keep the parent's temperature, 1.4." in card


def test_a_label_with_a_bar_keeps_the_table_whole_and_missing_records_say_so() -> None:
    bundle = a_bundle()
    bundle.metrics["dev"]["per_type"] = {"MI|SC": scores(91.0)}
    row = next(line for line in model_card(bundle).splitlines() if line.startswith("| MI"))
    assert row.startswith("| MI\\|SC |") and row.replace("\\|", "").count("|") == 6
    bare_bundle = a_bundle()
    bare_bundle.metrics, bare_bundle.info = {}, {}
    bare = model_card(bare_bundle)
    assert "None" not in bare and "- Train: not recorded" in bare and "Training took" not in bare


def test_components_name_glove_and_jiebas_terms() -> None:
    glove = model_card(a_bundle(training={"config": {"pretrained": "glove-6b-50d"}}))
    assert "GloVe 6B" in glove and "Public Domain Dedication and License" in glove and "jieba" not in glove
    bundle = a_bundle(training={"config": {"pretrained": "none", "lexicon": "jieba"}})
    bundle.vocab.lexicon = Lexicon([("北京", 10, "ns")])
    card = model_card(bundle)
    assert "Copyright (c) 2013 Sun Junyi" in card and "The above copyright notice" in card and "GloVe" not in card


def test_dev_scores_of_another_file_after_ner_words_are_not_said_to_be_trained_on() -> None:
    training = {"config": {"train_with_dev": True}, "dev": "dev file d.conll, trained on too", "dev_scored": "o.conll"}
    card = model_card(a_bundle({"epochs_run": 3}, training))
    assert "- Dev: dev file d.conll, trained on too; the dev scores above are of `o.conll`, scored by" in card
    assert "data the model was trained on" not in card


def test_a_run_with_every_sentence_trained_on_does_not_claim_a_dev_file() -> None:
    training = {"config": {"train_with_dev": True}, "dev": "no dev file: every training sentence is trained on"}
    card = model_card(a_bundle({"epochs_run": 3, "dev": {}}, training))
    assert "Trained on every training sentence for 3 epochs, the last kept." in card and "dev together" not in card


@pytest.mark.parametrize(
    ("training", "commands"),
    [
        ({"commands": ["a", "b"]}, ["a", "b"]),
        ({"command": "old"}, ["old"]),  # model directories written before commands were a list
        ({}, ["(not recorded)"]),
    ],
)
def test_training_commands(training: dict, commands: list[str]) -> None:
    assert training_commands(training) == commands


@pytest.mark.parametrize("test_f1", [None, 80.0])
def test_plot_curves_writes_a_png(tmp_path: Path, test_f1: float | None) -> None:
    history = [{"epoch": e, "loss": 1 / e, "dev_f1": 80 + e, "test_f1": test_f1} for e in (1, 2, 3)]
    path = tmp_path / "curves.png"
    plot_curves(history, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_curves_are_drawn_without_warnings_where_home_cannot_be_written(tmp_path: Path) -> None:
    """matplotlib warned twice in every training's log where HOME could not hold its caches."""
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    env = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
    env["HOME"] = str(blocked / "home")  # under a file: no folder can be made there
    script = (
        "import logging, pathlib, sys; logging.basicConfig(level=logging.WARNING)\n"
        "from ner.card import plot_curves\n"
        "plot_curves([{'epoch': 1, 'loss': 1.0, 'dev_f1': 50.0, 'test_f1': None}], pathlib.Path(sys.argv[1]))\n"
    )
    out = tmp_path / "curves.png"
    result = subprocess.run([sys.executable, "-c", script, str(out)], env=env, capture_output=True, text=True)
    assert result.returncode == 0 and out.stat().st_size > 1000, result.stderr
    assert "WARNING" not in result.stderr, result.stderr
