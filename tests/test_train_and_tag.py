"""End to end on a tiny synthetic corpus: train, package, load, tag, evaluate, predict, resume."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ner import Tagger
from ner.cli import main
from ner.corpus import read_conll

from .conftest import synthetic_sentences


def test_model_directory_holds_everything(tiny_model: Path) -> None:
    names = {p.name for p in tiny_model.iterdir()}
    assert {
        "weights.safetensors",
        "config.json",
        "vocab.json",
        "metrics.json",
        "README.md",
        "manifest.json",
        "curves.png",
    } <= names
    card = (tiny_model / "README.md").read_text()
    assert "ner train --train" in card and "Licence" in card
    metrics = json.loads((tiny_model / "metrics.json").read_text())
    assert metrics["dev"]["f1"] > 80, metrics["dev"]
    assert len(metrics["history"]) == metrics["epochs_run"]
    assert (tiny_model / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tagger_finds_entities_with_exact_offsets(tiny_model: Path) -> None:
    tagger = Tagger.load(tiny_model)
    text = "John Smith visited Berlin on Monday.  Maria Garcia works for Siemens in Oslo."
    entities = tagger.tag(text)
    found = {(e.text, e.label) for e in entities}
    assert {("John Smith", "PER"), ("Berlin", "LOC"), ("Siemens", "ORG")} <= found
    for entity in entities:
        assert text[entity.start : entity.end] == entity.text
        assert 0.0 <= entity.score <= 1.0
    assert tagger.tag_batch([text, "", "Nothing happened today."])[1:] == [[], []]


def test_tag_batch_equals_tag_one_by_one(tiny_model: Path) -> None:
    tagger = Tagger.load(tiny_model)
    texts = [" ".join(t for t, _ in s) for s in synthetic_sentences(40, 9)]
    batched = tagger.tag_batch(texts)
    for text, entities in zip(texts, batched):
        single = tagger.tag(text)
        assert [(e.start, e.end, e.label) for e in single] == [(e.start, e.end, e.label) for e in entities]
        for a, b in zip(single, entities):
            assert a.score == pytest.approx(b.score, abs=1e-5)


def test_nbest_probabilities_are_ordered_and_the_first_is_viterbi(tiny_model: Path) -> None:
    tagger = Tagger.load(tiny_model)
    text = "Olga Ivanova said Reuters would grow. It rained in Lima again."
    alternatives = tagger.nbest(text, 5)
    assert 1 <= len(alternatives) <= 5
    probabilities = [a.probability for a in alternatives]
    assert probabilities == sorted(probabilities, reverse=True)
    assert sum(probabilities) <= 1 + 1e-6
    best = [(e.start, e.end, e.label) for e in tagger.tag(text)]
    assert [(e.start, e.end, e.label) for e in alternatives[0].entities] == best


def test_evaluate_json_matches_training_metrics(tiny_model: Path, tiny_corpus: dict, capsys) -> None:
    assert main(["evaluate", str(tiny_model), str(tiny_corpus["test"]), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert set(scores) >= {"precision", "recall", "f1", "per_type"}
    assert set(scores["per_type"]) == {"LOC", "ORG", "PER"}
    trained = json.loads((tiny_model / "metrics.json").read_text())["test"]
    assert scores["f1"] == pytest.approx(trained["f1"])


def test_predict_appends_a_column_in_the_input_scheme(tiny_model: Path, tiny_corpus: dict, tmp_path: Path) -> None:
    out = tmp_path / "predicted.conll"
    assert main(["predict", str(tiny_model), str(tiny_corpus["test"]), "--out", str(out)]) == 0
    source = tiny_corpus["test"].read_text().splitlines()
    written = out.read_text().splitlines()
    assert len(source) == len(written)
    for before, after in zip(source, written):
        if before.strip():
            assert after.startswith(before + " ") and len(after.split()) == len(before.split()) + 1
        else:
            assert after == before
    # The predicted column read back as a corpus scores like `ner evaluate`.
    sentences, _ = read_conll(out, tag_column=-1)
    assert len(sentences) == 60


def test_tag_command_writes_json_lines(tiny_model: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ner", "tag", "--model", str(tiny_model), "--nbest", "2", "--threads", "1"],
        input="Peter Brown visited Tokyo .\n\nAna Silva works for Acme Corp in Cairo .\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in records] == [
        "Peter Brown visited Tokyo .",
        "",
        "Ana Silva works for Acme Corp in Cairo .",
    ]
    assert any(e["text"] == "Tokyo" for e in records[0]["entities"])
    assert records[1]["entities"] == []
    assert len(records[2]["nbest"]) == 2


def test_bad_corpus_is_one_clear_line_not_a_traceback(tmp_path: Path, tiny_config: Path) -> None:
    bad = tmp_path / "bad.conll"
    bad.write_text("John NN B-PER\nSmith NN\n", encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ner",
            "train",
            "--train",
            str(bad),
            "--out",
            str(tmp_path / "m"),
            "--config",
            str(tiny_config),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert f"{bad}:2" in result.stderr and "columns" in result.stderr
    assert "Traceback" not in result.stderr


def _train(corpus: dict, config: Path, out: Path, *extra: str) -> None:
    assert (
        main(
            [
                "train",
                "--train",
                str(corpus["train"]),
                "--dev",
                str(corpus["dev"]),
                "--out",
                str(out),
                "--config",
                str(config),
                "--quiet",
                *extra,
            ]
        )
        == 0
    )


def test_same_seed_same_model_and_resume_continues_exactly(
    tiny_corpus: dict, tiny_config: Path, tmp_path: Path
) -> None:
    _train(tiny_corpus, tiny_config, tmp_path / "straight", "--epochs", "3", "--seed", "5")
    _train(tiny_corpus, tiny_config, tmp_path / "again", "--epochs", "3", "--seed", "5")
    _train(tiny_corpus, tiny_config, tmp_path / "resumed", "--epochs", "2", "--seed", "5")
    _train(tiny_corpus, tiny_config, tmp_path / "resumed", "--epochs", "3", "--seed", "5", "--resume")
    straight = load_file(tmp_path / "straight" / "weights.safetensors")
    for other in ("again", "resumed"):
        weights = load_file(tmp_path / other / "weights.safetensors")
        for name, tensor in straight.items():
            assert torch.equal(tensor, weights[name]), (other, name)


def test_the_readme_example_corpus_trains(tmp_path: Path, tiny_config: Path) -> None:
    """The JSONL files in examples/ are the README's "train on your own corpus" example."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    out = tmp_path / "my-model"
    arguments = ["train", "--train", str(examples / "train.jsonl"), "--dev", str(examples / "dev.jsonl")]
    assert main([*arguments, "--out", str(out), "--config", str(tiny_config), "--quiet", "--epochs", "3"]) == 0
    tagger = Tagger.load(out)
    assert tagger.labels == ["LOC", "ORG", "PER"]
    assert json.loads((out / "metrics.json").read_text())["dev"]["f1"] > 50


def test_bulk_tagging_with_workers_keeps_input_order(tiny_model: Path, tmp_path: Path) -> None:
    lines = [" ".join(t for t, _ in s) for s in synthetic_sentences(150, 21)] + ["", "   "]
    source = tmp_path / "in.txt"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outputs = []
    for workers in ("1", "2"):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "ner",
                "tag",
                "--model",
                str(tiny_model),
                "--workers",
                workers,
                "--threads",
                "2",
                "--batch-lines",
                "16",
                "--quiet",
                str(source),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert [json.loads(line)["text"] for line in outputs[1].splitlines()] == lines


def test_bulk_tagging_in_bfloat16_agrees_with_float32(tiny_model: Path) -> None:
    from ner.bulk import tag_lines

    lines = [" ".join(t for t, _ in s) for s in synthetic_sentences(150, 23)]

    def spans(bfloat16: bool) -> list[list[tuple[int, int, str]]]:
        records = (json.loads(line) for chunk in tag_lines(str(tiny_model), lines, bfloat16=bfloat16) for line in chunk)
        return [[(e["start"], e["end"], e["label"]) for e in record["entities"]] for record in records]

    plain, half = spans(False), spans(True)
    assert any(plain)
    assert sum(a == b for a, b in zip(plain, half)) >= 0.95 * len(lines)


def test_align_unseen_vectors_carries_unseen_words_along_the_fitted_map() -> None:
    from ner.config import ModelConfig
    from ner.features import Vocabularies
    from ner.model import NERModel
    from ner.train import align_unseen_vectors
    from ner.vocab import load_vectors

    words, vectors = load_vectors(
        "glove-6b-50d",
        wanted={
            "the",
            "paris",
            "berlin",
            "city",
            "river",
            "of",
            "and",
            "london",
            "tokyo",
            "germany",
            "france",
            "bank",
            "news",
            "year",
            "said",
            "john",
            "smith",
            "market",
            "team",
            "game",
            "government",
            "first",
            "world",
            "week",
            "new",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "lima",
            "oslo",
            "cairo",
            "day",
            "night",
            "water",
            "fire",
            "earth",
            "air",
            "gold",
            "iron",
            "stone",
            "wood",
            "glass",
            "paper",
            "light",
            "dark",
            "red",
            "blue",
            "green",
            "white",
            "black",
        },
    )
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
    tiny_corpus: dict, tiny_config: Path, tmp_path: Path, capsys
) -> None:
    """A finished run, resumed with --embedding-dtype float16, is stored with half-size tables."""
    out = tmp_path / "m"
    corpus = ["--train", str(tiny_corpus["train"]), "--dev", str(tiny_corpus["dev"])]
    common = ["train", *corpus, "--out", str(out), "--config", str(tiny_config), "--quiet", "--epochs", "2"]
    assert main(common) == 0
    full = load_file(out / "weights.safetensors")
    assert main([*common, "--resume", "--embedding-dtype", "float16"]) == 0
    half = load_file(out / "weights.safetensors")
    for name, tensor in half.items():
        expected = torch.float16 if name.endswith("embed.weight") else torch.float32
        assert tensor.dtype == expected, name
        assert torch.allclose(tensor.float(), full[name], atol=1e-3, rtol=1e-3), name
    assert "stored in float16" in (out / "README.md").read_text()
    capsys.readouterr()
    assert main(["evaluate", str(out), str(tiny_corpus["dev"]), "--json"]) == 0
    stored = json.loads((out / "metrics.json").read_text())
    assert json.loads(capsys.readouterr().out)["f1"] == stored["dev"]["f1"]
    assert Tagger.load(out, backend="torch").backend.model.word_embed.weight.dtype == torch.float32
    assert main([*common, "--embedding-dtype", "float8"]) == 2
