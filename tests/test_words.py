"""Which pretrained words a word model holds, set after training (ner/words.py): by ``ner train`` and by
``ner words``."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from ner import bundle as bundles
from ner.cli import main
from ner.train import Job, prepare

from .conftest import train_tiny, write_conll
from .corpus_files import BRAT_ANN, BRAT_TEXT, write_brat

RANKED = ["frequent", "voted", "usual", "zanzibar"]  # pretrained words no tiny corpus has, most frequent first


def write_vectors(path: Path, train: Path) -> dict[str, np.ndarray]:
    """A 16-d vectors file of :data:`RANKED` and then the words of ``train``; returns the vectors."""
    generator = np.random.default_rng(0)
    data_words = sorted({line.split()[0].lower() for line in train.read_text().splitlines() if line})
    table = {word: generator.normal(size=16).astype(np.float32) for word in [*RANKED, *data_words]}
    path.write_text("".join(f"{w} {' '.join(f'{x:.6f}' for x in v)}\n" for w, v in table.items()))
    return table


def test_training_leaves_test_words_out_and_adds_the_most_frequent_words_after(
    tiny_corpus: dict, tmp_path: Path, capsys
) -> None:
    """A word only the test file has gets no row (new text would not get one either);
    ``--saved-pretrained-top`` adds the most frequent words after training with their vectors as given,
    which is what training would have left them (a row no training word reaches never moves: checked
    on "frequent", which was in the training table)."""
    table = write_vectors(tmp_path / "vectors.txt", tiny_corpus["train"])
    test = tmp_path / "test.conll"
    test.write_text(tiny_corpus["test"].read_text() + "\nZanzibar NN B-LOC\nvoted NN O\n", encoding="utf-8")
    out = train_tiny(
        tmp_path / "m",
        *(tiny_corpus["train"], tiny_corpus["dev"]),
        *("--test", str(test), "--epochs", "2", "--pretrained", str(tmp_path / "vectors.txt")),
        *("--pretrained-top", "1", "--saved-pretrained-top", "3", "--embedding-dtype", "float32"),
    )
    words = bundles.load(out).vocab.words
    assert "zanzibar" not in words and {"frequent", "voted", "usual"} <= set(words.itos)
    weights = load_file(out / "weights.safetensors")["word_embed.weight"]
    for word in ("frequent", "voted", "usual"):
        assert np.allclose(weights[words.stoi[word]], table[word], atol=1e-6), word
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["added_pretrained_words"] == 2
    # The test file, scored every epoch with "voted" unknown, is scored again with its new id.
    capsys.readouterr()
    assert main(["evaluate", str(out), str(test), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["f1"] == metrics["test"]["f1"]


@pytest.fixture
def model_with_vectors(tiny_corpus: dict, tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """A tiny model trained with a vectors file whose four most frequent words all joined its table."""
    table = write_vectors(tmp_path / "vectors.txt", tiny_corpus["train"])
    out = train_tiny(
        tmp_path / "m",
        *(tiny_corpus["train"], tiny_corpus["dev"]),
        *("--epochs", "2", "--pretrained", str(tmp_path / "vectors.txt"), "--pretrained-top", "4"),
        *("--embedding-dtype", "float32"),
    )
    return out, table


def test_words_no_corpus_gives_are_dropped_and_the_most_frequent_added(
    model_with_vectors: tuple[Path, dict[str, np.ndarray]], tiny_corpus: dict, capsys
) -> None:
    model, table = model_with_vectors
    before = bundles.load(model)
    assert set(RANKED) <= set(before.vocab.words.itos)
    corpora = [
        "--train",
        str(tiny_corpus["train"]),
        "--dev",
        str(tiny_corpus["dev"]),
        "--test",
        str(tiny_corpus["test"]),
    ]
    capsys.readouterr()
    assert main(["words", str(model), *corpora, "--pretrained-top", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["dropped"] == 2
    after = bundles.load(model)
    words = after.vocab.words
    assert "usual" not in words and "zanzibar" not in words and {"frequent", "voted"} <= set(words.itos)
    # Every kept word keeps its row; nothing else in the network changed.
    old_rows, new_rows = before.weights["word_embed.weight"], after.weights["word_embed.weight"]
    for word in before.vocab.words.itos:
        if word in words:
            assert np.array_equal(new_rows[words.stoi[word]], old_rows[before.vocab.words.stoi[word]]), word
    assert all(np.array_equal(after.weights[k], v) for k, v in before.weights.items() if k != "word_embed.weight")
    # The card's scores are the model's as it is now, and its command is recorded.
    for split in ("dev", "test"):
        capsys.readouterr()
        assert main(["evaluate", str(model), str(tiny_corpus[split]), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["f1"] == after.metrics[split]["f1"]
    assert "ner words" in (model / "README.md").read_text()
    # The tables changed, so the temperature is fitted again on the dev file given.
    assert after.metrics["calibration"]["fitted_on"] == str(tiny_corpus["dev"])
    assert "before" not in after.metrics["calibration"]
    # The dev file training used, under another path, is known as it (by its bytes).
    dev = tiny_corpus["dev"]
    elsewhere = ["--dev", str(dev.parent / ".." / dev.parent.name / dev.name)]
    assert main(["words", str(model), "--train", str(tiny_corpus["train"]), *elsewhere, "--pretrained-top", "2"]) == 0
    assert "dev_scored" not in bundles.load(model).info["training"]
    capsys.readouterr()

    # Growing again adds the words with their pretrained vectors, stored as asked.
    assert main(["words", str(model), *corpora, "--pretrained-top", "4", "--embedding-dtype", "int8"]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == 2
    grown = bundles.load(model)
    assert load_file(model / "weights.safetensors")["word_embed.weight"].dtype == np.int8
    for word in ("usual", "zanzibar"):
        row = grown.weights["word_embed.weight"][grown.vocab.words.stoi[word]]
        assert np.allclose(row, table[word], atol=np.abs(table[word]).max() / 127), word
    # The card names the files scored, not those training scored: here a test file under another name.
    other_test = model.parent / "other-test.conll"
    other_test.write_bytes(tiny_corpus["test"].read_bytes() + b"\nZanzibar NN B-LOC\n")
    assert main(["words", str(model), *corpora[:4], "--test", str(other_test), "--pretrained-top", "4"]) == 0
    assert f"- Test: `{other_test}` (IOB2 tags)" in (model / "README.md").read_text()
    assert bundles.load(model).info["training"]["test_sha256"] == bundles.corpus_sha256(other_test)
    # A split not given again loses its score rather than keeping the one of the model before; the
    # temperature, not fitted again without dev, is said to be the model's before.
    assert main(["words", str(model), "--train", str(tiny_corpus["train"]), "--pretrained-top", "4"]) == 0
    renewed = bundles.load(model)
    assert {"dev", "test"}.isdisjoint(renewed.metrics) and renewed.metrics["calibration"]["before"] == "ner words"
    card = (model / "README.md").read_text()
    assert "- Dev: dev file " in card and "; no dev file scored since `ner words` changed the model" in card
    assert "- Test: none\n" in card and "(on the model before `ner words`)" in card


def test_a_negative_count_is_refused_and_the_model_left_as_it_was(
    model_with_vectors: tuple[Path, dict[str, np.ndarray]], tiny_corpus: dict, capsys
) -> None:
    model, _ = model_with_vectors
    before = {p.name: p.read_bytes() for p in model.iterdir()}
    assert main(["words", str(model), "--train", str(tiny_corpus["train"]), "--pretrained-top", "-1"]) == 2
    assert "0 or more" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in model.iterdir()} == before


def test_a_dev_or_test_file_of_other_labels_is_refused_and_the_model_left_as_it_was(
    model_with_vectors: tuple[Path, dict[str, np.ndarray]], tiny_corpus: dict, capsys
) -> None:
    """Its score, 0, would go into the card as the model's, and the temperature would be fitted on it."""
    model, _ = model_with_vectors
    before = {p.name: p.read_bytes() for p in model.iterdir()}
    other = model.parent / "other-labels.conll"
    relabelled = (
        f"{line[: line.rindex(' ') + 3]}FOO" if line.endswith(("-PER", "-LOC", "-ORG", "-MISC")) else line
        for line in tiny_corpus["dev"].read_text().splitlines()
    )
    other.write_text("\n".join(relabelled) + "\n")
    for split in ("--dev", "--test"):
        assert main(["words", str(model), "--train", str(tiny_corpus["train"]), split, str(other)]) == 2
        assert "are none of the model's" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in model.iterdir()} == before


def test_a_model_without_pretrained_vectors_is_refused(tiny_model: Path, tiny_corpus: dict, capsys) -> None:
    assert main(["words", str(tiny_model), "--train", str(tiny_corpus["train"])]) == 2
    assert "without pretrained vectors" in capsys.readouterr().err


def test_fine_tuning_starts_new_words_from_the_parents_vectors_and_keeps_them_renewable(
    model_with_vectors: tuple[Path, dict[str, np.ndarray]], tiny_corpus: dict, tmp_path: Path, capsys
) -> None:
    """A word new to a fine-tuned model starts from its pretrained vector (not a random row), and the
    child records its parent's vectors, so ``ner words`` renews it too; a parent whose vectors file is
    gone fine-tunes without them and says so."""
    parent, _ = model_with_vectors
    quokka = np.random.default_rng(1).normal(size=16).astype(np.float32)
    vectors = tmp_path / "vectors.txt"
    vectors.write_text(vectors.read_text() + "quokka " + " ".join(f"{x:.6f}" for x in quokka) + "\n")
    corrections = write_conll(tmp_path / "corrections.conll", [[("Quokka", "B-PER"), ("smiled", "O")]] * 8)
    job = Job(str(corrections), tmp_path / "unused", train_settings={"init_from": str(parent)})
    run = prepare(job)
    assert run.config.pretrained == str(vectors)
    assert "smiled" in run.vocab.words.itos  # new, and not among the vectors: a fresh row
    row = run.model.word_embed.weight[run.vocab.words.stoi["quokka"]].detach().numpy()
    assert np.allclose(row, quokka, atol=1e-6)

    child = tmp_path / "child"
    flags = ["--init-from", str(parent), "--epochs", "1", "--quiet"]
    assert main(["train", "--train", str(corrections), "--out", str(child), *flags]) == 0
    capsys.readouterr()
    assert main(["words", str(child), "--train", str(corrections), "--pretrained-top", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["dropped"] > 0

    unvectored = write_conll(tmp_path / "unvectored.conll", [[("Smiled", "B-PER")]] * 8)
    assert "smiled" in prepare(replace(job, train=str(unvectored))).vocab.words.itos  # no new word has a vector

    vectors.unlink()
    run = prepare(job)
    assert run.config.pretrained == "none" and any("not here" in reason for reason in run.recipe.reasons)


def test_a_fine_tuned_models_card_carries_its_parents_terms_commands_and_test_file(
    tiny_corpus: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The weights of a fine-tuned model derive from its parent's corpus too: the card keeps its terms and
    the commands that made it; the parent's test file is known under another path (by its bytes); a
    vectors file given by a relative path is recorded whole, so that a run in another folder finds it."""
    parent_folder, child_folder = tmp_path / "a", tmp_path / "b"
    parent_folder.mkdir()
    child_folder.mkdir()
    write_vectors(parent_folder / "vectors.txt", tiny_corpus["train"])
    monkeypatch.chdir(parent_folder)
    train_tiny(
        Path("parent"),
        *(tiny_corpus["train"], tiny_corpus["dev"]),
        *("--test", str(tiny_corpus["test"]), "--epochs", "1", "--pretrained", "vectors.txt"),
        *("--data-terms", "research use only"),
    )
    parent = bundles.load("parent")
    assert parent.info["training"]["config"]["pretrained"] == str(parent_folder / "vectors.txt")
    monkeypatch.chdir(child_folder)
    test_here = Path("test.conll")
    test_here.write_bytes(tiny_corpus["test"].read_bytes())
    flags = ["--init-from", str(parent_folder / "parent"), "--epochs", "1", "--test", str(test_here), "--quiet"]
    assert main(["train", "--train", str(tiny_corpus["train"]), "--out", "child", *flags]) == 0
    card = Path("child/README.md").read_text()
    assert "see the training corpus's own licence; from the parent model `parent`: research use only" in card
    assert "# the parent model, parent:\nner train --train" in card and "# this model:\nner train" in card
    assert "On the parent's test file, F1 went from" in card


def test_a_brat_folder_as_the_test_set_is_recorded_by_its_files(tiny_corpus: dict, tmp_path: Path) -> None:
    """A test corpus may be a folder (brat): training and `ner words` know it again by its files' bytes."""
    folder = write_brat(tmp_path / "brat", {"doc": (BRAT_TEXT, BRAT_ANN)})
    out = train_tiny(tmp_path / "m", tiny_corpus["train"], tiny_corpus["dev"], "--test", str(folder), "--epochs", "1")
    digest = bundles.load(out).info["training"]["test_sha256"]
    assert digest == bundles.corpus_sha256(folder)
    (folder / "annotation.conf").write_text("[entities]\nPER\n")  # brat's own file, which no reader reads
    assert bundles.corpus_sha256(folder) == digest and bundles.corpus_sha256(tmp_path / "gone") is None
    (folder / "doc.ann").write_text(BRAT_ANN.replace("PER 43 49", "LOC 43 49"))
    assert bundles.corpus_sha256(folder) != digest
