"""Tests for ner.cli: the commands as a user runs them; input errors are one line and status 2."""

from __future__ import annotations

import bz2
import concurrent.futures
import errno
import gzip
import io
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ner import Tagger
from ner import bundle as bundles
from ner.cli import main
from ner.corpus import read_conll
from ner.metrics import entity_scores

from .conftest import scores_only, tiny_train_args, write_conll


def test_evaluate_json_matches_training_metrics(tiny_model: Path, tiny_corpus: dict, capsys) -> None:
    assert main(["evaluate", str(tiny_model), str(tiny_corpus["test"]), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert set(scores) >= {"precision", "recall", "f1", "per_type"}
    assert set(scores["per_type"]) == {"LOC", "ORG", "PER"}
    trained = json.loads((tiny_model / "metrics.json").read_text())["test"]
    assert scores["f1"] == pytest.approx(trained["f1"])


def test_evaluate_and_predict_restore_capitals_as_asked(
    tiny_model: Path, tiny_corpus: dict, tmp_path: Path, capsys
) -> None:
    """Asked to restore capitals, a corpus that capitalizes only first words is read as its lowercased self."""
    from ner.corpus import read_corpus
    from ner.metrics import evaluate

    sentences = read_corpus(tiny_corpus["test"])[0]
    lowered = [[(token.lower(), tag) for token, tag in zip(s.tokens, s.tags)] for s in sentences]
    chat = [[(token.capitalize() if i == 0 else token, tag) for i, (token, tag) in enumerate(s)] for s in lowered]
    lower_file, chat_file = write_conll(tmp_path / "lower.conll", lowered), write_conll(tmp_path / "chat.conll", chat)
    tagger, f1 = Tagger.load(tiny_model), {}
    for capitals in ("auto", "restore", "as_written"):
        assert main(["evaluate", str(tiny_model), str(chat_file), "--json", "--capitals", capitals]) == 0
        f1[capitals] = json.loads(capsys.readouterr().out)["f1"]
    assert f1["restore"] == pytest.approx(evaluate(tagger, read_corpus(lower_file)[0])["f1"])
    assert f1["auto"] == f1["as_written"] != f1["restore"]
    assert main(["predict", str(tiny_model), str(chat_file), "--capitals", "restore"]) == 0
    restored = [line.split()[-1] for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert main(["predict", str(tiny_model), str(lower_file)]) == 0
    assert restored == [line.split()[-1] for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_tag_column_picks_the_entity_column_for_training_and_scoring(
    tiny_model: Path, tiny_corpus: dict, tmp_path: Path, capsys
) -> None:
    """The entity tags in column 1, part-of-speech tags last."""
    swapped = tmp_path / "swapped.conll"
    lines = tiny_corpus["test"].read_text(encoding="utf-8").splitlines()
    swapped.write_text("\n".join(" ".join(line.split()[i] for i in (0, 2, 1)) if line else "" for line in lines))
    assert main(["evaluate", str(tiny_model), str(tiny_corpus["test"]), "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    assert main(["evaluate", str(tiny_model), str(swapped), "--json", "--tag-column", "1"]) == 0
    assert scores_only(json.loads(capsys.readouterr().out)) == scores_only(expected)
    args = tiny_train_args(tmp_path / "m", swapped, None, "--epochs", "1", "--tag-column", "1")
    assert main(args) == 0 and bundles.load(tmp_path / "m").labels == ["LOC", "ORG", "PER"]


def test_inspect_says_how_a_corpus_reads(tmp_path: Path, capsys) -> None:
    universal = tmp_path / "en_ewt-ud-train.iob2"
    universal.write_text(
        "# sent_id = 1\n1\tBob\tB-PER\t-\t-\n2\tvisited\tO\t-\t-\n3\tNew\tB-LOC\t-\t-\n4\tYork\tI-LOC\t-\t-\n\n"
        "# sent_id = 2\n1\tAnn\tB-PER\t-\t-\n",
        encoding="utf-8",
    )
    assert main(["inspect", str(universal), "--json"]) == 0
    captured = capsys.readouterr()
    found = json.loads(captured.out)
    assert found["sentences"] == 2 and found["tokens"] == 5 and found["scheme"] == "IOB2"
    assert found["types"] == {"PER": 2, "LOC": 1} and found["entities"] == 3
    assert found["first_sentence"] == ["[Bob]PER", "visited", "[New", "York]LOC"]
    assert found["reading"] == ["tokens read from column 1, tags from column 2 (of 0-4)"]  # the dialect, said
    assert main(["inspect", str(universal)]) == 0
    out = capsys.readouterr().out
    assert "2 sentences in 2 documents, 5 tokens" in out and "read: tokens read from column 1" in out
    assert main(["inspect", str(tmp_path / "missing.conll")]) == 2
    huge = tmp_path / "huge.conll"
    huge.write_text("word O\n" * 5000)
    assert main(["inspect", str(huge)]) == 0
    (first,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("first sentence: ")]
    assert len(first) == len("first sentence: ") + 300 + 2 and first.endswith(" …")


def test_inspect_warns_of_tags_the_scheme_would_not_write(tmp_path: Path, capsys) -> None:
    """An I- after O was silently repaired (and one made a whole IOB2 file IOB1, its predictions written in IOB1);
    a BIOES entity without its E- too."""
    iob2 = tmp_path / "stray.conll"
    iob2.write_text("Bob B-PER\nvisited O\n\nNew B-LOC\nYork I-LOC\n\nin O\nParis I-LOC\n\nAnn B-PER\n")
    bioes = tmp_path / "bioes.conll"
    bioes.write_text("John B-PER\nSmith O\n\nBerlin S-LOC\nwas E-LOC\n")
    cases = ((iob2, "IOB2", 1, "line 8: I-LOC after O"), (bioes, "BIOES", 2, "line 1: B-PER"))
    for path, scheme, count, first in cases:
        assert main(["inspect", str(path), "--json"]) == 0
        found = json.loads(capsys.readouterr().out)
        assert found["scheme"] == scheme
        (said,) = found["reading"]
        assert said.startswith(f"{count} sentence(s) with tags that are not valid {scheme}") and said.endswith(first)
    underscores = tmp_path / "underscores.conll"  # B_PER as some corpora write B-PER: valid
    underscores.write_text("Bob B_PER\nSmith I_PER\nvisited O\n\nAnn B_PER\n")
    assert main(["inspect", str(underscores), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["reading"] == []


def test_two_columns_of_entity_tags_are_said_with_the_gold_one(tmp_path: Path, capsys) -> None:
    """A predict output read by default scores the model against itself (100.00): the gold column is named."""
    predicted = tmp_path / "predicted.conll"
    predicted.write_text("John NNP I-NP B-PER B-PER\nvisited VBD I-VP O O\nParis NNP I-NP B-LOC B-LOC\n")
    nested = tmp_path / "germeval.tsv"  # GermEval: outer entities, inner ones, then a prediction of the outer
    nested.write_text("1\tBerlin\tB-LOC\tO\tB-LOC\n2\tund\tO\tO\tO\n3\tSchwarzwälder\tB-ORG\tB-LOC\tB-ORG\n"
                      "4\tBank\tI-ORG\tO\tI-ORG\n")  # fmt: skip
    few_nerd = tmp_path / "few-nerd.io"  # IO's bare labels, as Few-NERD writes them, gold beside predicted
    labels = sorted(["person-actor", "person-artist/author", "location-GPE", "organization-company", "building-hotel",
                     "event-attack/battle/war/militaryconflict", "product-car", "art-film"])  # fmt: skip
    few_nerd.write_text("".join(f"w{n}\t{label}\t{label}\nand\tO\tO\n" for n, label in enumerate(labels)))
    pos = tmp_path / "pos.io"  # a part of speech beside IO tags: no entities
    pos.write_text("John\tNNP\tPER\nvisited\tVBD\tO\n")
    cases = [(predicted, 3, 4, "LOC, PER"), (nested, 2, 4, "LOC, ORG")]
    for path, gold, last, types in [*cases, (few_nerd, 1, 2, ", ".join(labels[:6]) + " and 2 more")]:
        assert main(["inspect", str(path), "--json"]) == 0
        (said,) = [note for note in json.loads(capsys.readouterr().out)["reading"] if note.startswith("columns")]
        assert said.startswith(f"columns {gold} and {last} both hold entities of {types} ")
        assert said.endswith(f"tags read from column {last}, the last; --tag-column {gold} reads the gold")
    assert main(["inspect", str(pos), "--json"]) == 0
    assert not [note for note in json.loads(capsys.readouterr().out)["reading"] if note.startswith("columns")]


def test_evaluate_prints_a_table(tiny_model: Path, tiny_corpus: dict, capsys, caplog, tmp_path: Path) -> None:
    assert main(["evaluate", str(tiny_model), str(tiny_corpus["test"]), "--backend", "torch"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["precision", "recall", "f1", "support", "predicted"]
    assert [line[:12].strip() for line in lines[1:-2]] == ["overall", "LOC", "ORG", "PER", "macro avg", "weighted avg"]
    assert re.fullmatch(r"errors: \d+ type, \d+ boundary, \d+ type and boundary, \d+ spurious, \d+ missed", lines[-2])
    assert lines[-1].startswith(f"tiny-en on {tiny_corpus['test']}: ") and "sentences, in tokens" in lines[-1]
    f1 = json.loads((tiny_model / "metrics.json").read_text())["test"]["f1"]
    assert float(lines[1].split()[3]) == pytest.approx(f1, abs=0.005)
    assert main(["evaluate", str(tiny_model), str(tiny_corpus["test"]), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert (found["model"], found["scored_in"]) == ("tiny-en", "tokens")
    assert found["f1"] == pytest.approx(f1, abs=0.005)
    assert found["correct"] <= found["predicted"] and set(found["macro"]) == {"precision", "recall", "f1"}
    assert sum(found["errors"].values()) - found["errors"]["missed"] == found["predicted"] - found["correct"]
    # As text: the file's documents written out and tagged as the service tags them, the same entities scored.
    assert main(["evaluate", str(tiny_model), str(tiny_corpus["test"]), "--json", "--as-text"]) == 0
    as_text = json.loads(capsys.readouterr().out)
    assert (as_text["scored_in"], as_text["support"]) == ("text", found["support"])
    # Nothing to score: none of the file's types is the model's. Text in another script: warned of.
    other = tmp_path / "other.conll"
    other.write_text("Bob B-PERSON\nran O\n\nto O\nAnn B-PERSON\n")
    assert main(["evaluate", str(tiny_model), str(other)]) == 2
    assert "none of the model's (LOC, ORG, PER): nothing to score" in capsys.readouterr().err
    other.write_text("北 B-LOC\n京 I-LOC\n很 O\n大 O\n")
    assert main(["evaluate", str(tiny_model), str(other)]) == 0
    assert "scoring tiny-en, a word model (en), on a corpus 100% in a script written without spaces" in caplog.text


def test_predict_appends_a_column_in_the_input_scheme(tiny_model: Path, tiny_corpus: dict, tmp_path: Path) -> None:
    out = tmp_path / "predicted.conll"
    test_file = tiny_corpus["test"]
    assert main(["predict", str(tiny_model), str(test_file), "--out", str(out)]) == 0
    source = test_file.read_text().splitlines()
    written = out.read_text().splitlines()
    assert len(source) == len(written)
    for before, after in zip(source, written):
        if before.strip():
            assert after.startswith(before + " ") and len(after.split()) == len(before.split()) + 1
        else:
            assert after == before
    # The predicted column is the model's prediction, in the file's scheme (IOB2 here) ...
    gold, scheme = read_conll(test_file)
    predicted, predicted_scheme = read_conll(out, tag_column=-1)
    assert scheme == "IOB2" and predicted_scheme in ("IOB2", "IOB1")
    assert all(line.split()[-1][0] in "BIO" for line in written if line.split())
    tagger = Tagger.load(tiny_model)
    assert [s.tags for s in predicted] == tagger.predict_tags([s.tokens for s in gold])
    # ... and read back against the gold column it scores what `ner evaluate` (and training) reported.
    f1 = entity_scores([s.tags for s in gold], [s.tags for s in predicted])["f1"]
    assert f1 == pytest.approx(json.loads((tiny_model / "metrics.json").read_text())["test"]["f1"])


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
    assert all(0 <= e["score"] <= 1 for r in records for e in r["entities"])
    assert records[1]["entities"] == []
    assert len(records[2]["nbest"]) == 2


def test_bad_corpus_is_one_clear_line_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.conll"
    bad.write_text("John NN B-PER\nSmith NN\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "ner", *tiny_train_args(tmp_path / "m", bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert f"{bad}:2" in result.stderr and "columns" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--embedding-dtype", "float8"], "embedding_dtype='float8'"),
        (["--cell", "rnn"], "cell='rnn'"),
        (["--pretrained", "no-such-vectors.txt"], "no-such-vectors.txt"),
        (["--clip", "-1"], "clip=-1"),
        (["--patience", "0"], "patience=0"),
        (["--lr-decay", "-1"], "lr_decay=-1"),
        (["--dev-every", "1"], "dev_every=1"),
    ],
)
def test_a_bad_setting_is_one_line_and_status_2(
    tiny_corpus: dict, tmp_path: Path, capsys, flags: list[str], message: str
) -> None:
    assert main(tiny_train_args(tmp_path / "m", tiny_corpus["train"], tiny_corpus["dev"], *flags)) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith("ner train: error:") and message in error[-1]
    assert not (tmp_path / "m").exists()


def test_an_unknown_model_setting_in_the_file_is_status_2(tiny_corpus: dict, tmp_path: Path, capsys) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[model]\nhiden = 3\n")
    args = tiny_train_args(tmp_path / "m", tiny_corpus["train"])
    args[args.index("--config") + 1] = str(config)
    assert main(args) == 2
    assert "hiden" in capsys.readouterr().err


def test_a_setting_of_the_wrong_type_or_missing_in_the_file_is_status_2(
    tiny_corpus: dict, tmp_path: Path, capsys
) -> None:
    cases = (
        ('[train]\nepochs = "2"', [], "expected int"),
        ("[model]\ndocument_memory = 1", [], "bool"),
        ("[train]\nthreads = 1", ["--train-with-dev"], "give --epochs"),  # the number of epochs, or no end
    )
    for setting, flags, expected in cases:
        config = tmp_path / "typed.toml"
        config.write_text(setting + "\n")
        args = tiny_train_args(tmp_path / "m", tiny_corpus["train"], tiny_corpus["dev"], *flags)
        args[args.index("--config") + 1] = str(config)
        assert main(args) == 2
        assert expected in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:.*encountered in:RuntimeWarning")  # the diverged model's overflowing scores
def test_a_run_that_diverges_or_cannot_hold_out_dev_is_one_error_line(
    tiny_corpus: dict, tmp_path: Path, capsys
) -> None:
    """Each was a traceback: --dev-every 0 divided by zero reading the corpus, a learning rate far too high
    trained a model whose scores are not numbers."""
    args = tiny_train_args(tmp_path / "m", tiny_corpus["train"], tiny_corpus["dev"])
    assert main([*args, "--dev-every", "0"]) == 2
    error = capsys.readouterr().err.strip()
    assert error == "ner train: error: invalid train setting dev_every=0: 2 or more (1 would hold out every sentence)"
    assert main([*args, "--lr", "1e4", "--epochs", "2"]) == 2
    assert "lower the learning rate" in capsys.readouterr().err.splitlines()[-1]
    assert not (tmp_path / "m").exists()


def test_out_that_is_not_a_place_for_a_model_is_refused_before_training(
    tiny_corpus: dict, tmp_path: Path, capsys
) -> None:
    """Saving replaces the directory: a user's folder, files or file there would be lost."""
    folder = tmp_path / "mine"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "data.txt").write_text("keep")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep")
    files_only = tmp_path / "files"
    files_only.mkdir()
    (files_only / "notes.txt").write_text("keep")
    for out, reason in (
        (folder, "holds folders or links (sub)"),
        (files_only, "not a model directory"),
        (a_file, "is a file"),
        (a_file / "inner", "is a file, not a folder"),
        (Path("."), "directory of its own"),
    ):
        args = tiny_train_args(tmp_path / "m", tiny_corpus["train"], tiny_corpus["dev"])
        args[args.index("--out") + 1] = str(out)
        assert main(args) == 2
        assert reason in capsys.readouterr().err
    assert (folder / "sub" / "data.txt").read_text() == a_file.read_text() == "keep"
    assert not (tmp_path / "mine.training").exists()  # refused before an epoch ran


def test_a_corpus_too_small_to_hold_out_dev_asks_for_a_dev_file(tmp_path: Path, capsys) -> None:
    small = tmp_path / "small.conll"
    small.write_text("".join(f"John{i} B-PER\nran O\n\n" for i in range(19)), encoding="utf-8")
    assert main(tiny_train_args(tmp_path / "m", small)) == 2
    assert "19 sentences, too few to hold out every 20th as dev: give a dev file with --dev" in capsys.readouterr().err


def test_calibrate_applies_a_temperature_that_changes_scores_not_entities(
    tiny_model: Path, tiny_corpus: dict, tmp_path: Path, capsys
) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    trained = bundles.load(model)
    trained.temperature = 1.0  # as if training had not calibrated it
    bundles.save(trained, model, card="# uncalibrated\n")
    capsys.readouterr()
    assert main(["calibrate", str(model), str(tiny_corpus["dev"])]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert bundles.load(model).temperature == 1.0  # without --apply nothing is written
    assert (model / "README.md").read_text() == "# uncalibrated\n"
    assert main(["calibrate", str(model), str(tiny_corpus["dev"]), "--apply"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result == dry and result["fitted_on"] == str(tiny_corpus["dev"])
    assert result["log_loss"] <= result["log_loss_at_1"] and result["entities"] > 0
    bundles.verify(model)  # the manifest covers the rewritten files
    saved = bundles.load(model)
    assert saved.temperature == result["temperature"] and saved.metrics["calibration"] == result
    assert saved.info["training"]["commands"][-1].startswith("ner calibrate")
    assert f"temperature {result['temperature']}" in (model / "README.md").read_text()
    assert (model / "curves.png").exists()
    # Training fitted the same temperature on the same dev set (torch there, ONNX Runtime here: a grid step apart
    # at most, should a near tie fall the other way).
    assert result["temperature"] == pytest.approx(bundles.load(tiny_model).temperature, abs=0.051)
    text = "Peter Brown visited Tokyo on Monday . Reuters said Siemens would grow ."
    uncalibrated = Tagger.load(tiny_model)
    uncalibrated.bundle.temperature = 1.0
    before, after = uncalibrated.tag(text), Tagger.load(model).tag(text)
    assert [(e.start, e.end, e.label) for e in before] == [(e.start, e.end, e.label) for e in after]
    if result["temperature"] != 1.0:
        assert [e.score for e in before] != [e.score for e in after]


def test_export_writes_an_encoder_that_the_onnx_backend_runs(tiny_model: Path, tmp_path: Path, capsys) -> None:
    saved = bundles.load(tiny_model)
    saved.encoder = None
    model = bundles.save(saved, tmp_path / "model", card="# card\n")
    assert not (model / "encoder.onnx").exists()
    lines = tmp_path / "in.txt"
    lines.write_text("Ana Silva works for Acme Corp in Cairo .\n")
    assert main(["tag", "--model", str(model), "--backend", "onnx", "--quiet", str(lines)]) == 2
    assert "ner export" in capsys.readouterr().err
    assert main(["export", str(model)]) == 0
    assert json.loads(capsys.readouterr().out)["encoder_bytes"] == (model / "encoder.onnx").stat().st_size
    bundles.verify(model)
    text = "Ana Silva works for Acme Corp in Cairo ."
    got = Tagger.load(model, backend="onnx").tag(text)
    expected = Tagger.load(tiny_model, backend="torch").tag(text)
    assert [(e.start, e.end, e.label) for e in got] == [(e.start, e.end, e.label) for e in expected]
    assert [e.score for e in got] == pytest.approx([e.score for e in expected], abs=1e-4)


def test_rewriting_a_model_in_place_refuses_folders_and_links_it_would_not_keep(
    tiny_model: Path, tiny_corpus: dict, tmp_path: Path, capsys
) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    (model / "runs").mkdir()
    (model / "runs" / "notes.txt").write_text("keep")
    dev = str(tiny_corpus["dev"])
    for args in (
        ["calibrate", str(model), dev, "--apply"],
        ["export", str(model)],
        ["words", str(model), "--train", dev],
    ):
        assert main(args) == 2
        assert "holds folders or links (runs)" in capsys.readouterr().err
    shutil.rmtree(model / "runs")
    (model / "notes.txt").symlink_to(tmp_path / "elsewhere.txt")
    assert main(["export", str(model)]) == 2 and "(notes.txt)" in capsys.readouterr().err
    assert (model / "notes.txt").is_symlink()
    bundles.verify(model)


@pytest.mark.parametrize(("stop", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_a_kill_during_training_says_how_to_go_on(
    tiny_corpus: dict, tmp_path: Path, stop: signal.Signals, code: int
) -> None:
    out = tmp_path / "m"
    args = tiny_train_args(out, tiny_corpus["train"], tiny_corpus["dev"], "--epochs", "500", "--patience", "500")
    # Ctrl-C as a terminal sends it, also when the tests run in the background (where SIGINT is ignored
    # and the child would inherit that).
    process = subprocess.Popen(
        [sys.executable, "-m", "ner", *args],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    checkpoint = tmp_path / "m.training" / "checkpoint.pt"
    deadline = time.monotonic() + 120
    try:
        while not checkpoint.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        process.send_signal(stop)
        _, error = process.communicate(timeout=60)
    finally:  # not left training for 500 epochs beside the tests after it
        process.kill()
        process.wait()
    assert process.returncode == code and "Traceback" not in error
    assert f"interrupted; the last finished epoch is in {checkpoint}" in error and "--resume" in error


def test_predict_into_its_own_input_or_from_a_pipe(
    tiny_model: Path, tiny_corpus: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The output is written whole and renamed into place, and the input read once (a pipe is copied)."""
    source = tiny_corpus["test"].read_text()
    own = tmp_path / "own.conll"
    own.write_text(source)
    own.chmod(0o600)
    assert main(["predict", str(tiny_model), str(own), "--out", str(own)]) == 0
    assert own.stat().st_mode & 0o777 == 0o600  # still private
    written = own.read_text().splitlines()
    assert len(written) == len(source.splitlines()) and written[0].startswith(source.splitlines()[0] + " ")
    piped = subprocess.run(
        [sys.executable, "-m", "ner", "predict", str(tiny_model), "/dev/stdin", "--threads", "1"],
        input=source,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert piped.stdout.splitlines() == written
    for out, message in ((tmp_path, "a directory"), (tmp_path / "none" / "x.conll", "no folder")):
        assert main(["predict", str(tiny_model), str(own), "--out", str(out)]) == 2
        assert message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["own.conll"]  # no partial file left
    windows = tmp_path / "windows.conll"
    windows.write_bytes(source.replace("\n", "\r\n").encode())
    assert main(["predict", str(tiny_model), str(windows), "--out", str(windows)]) == 0
    assert windows.read_bytes().decode().split("\r\n")[:-1] == written  # its line ends kept


def test_predict_writes_into_a_pipe_or_through_a_link_and_refuses_jsonl(
    tiny_model: Path, tiny_corpus: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    test = str(tiny_corpus["test"])
    target = tmp_path / "target.conll"
    target.write_text("old")
    link = tmp_path / "link.conll"
    link.symlink_to(target)
    assert main(["predict", str(tiny_model), test, "--out", str(link)]) == 0
    assert link.is_symlink() and target.read_text().startswith(Path(test).read_text().splitlines()[0] + " ")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        reader = pool.submit(lambda: fifo.read_text())  # the other end, as a shell's `| cat` would be
        assert main(["predict", str(tiny_model), test, "--out", str(fifo)]) == 0
        assert reader.result(timeout=60) == target.read_text()
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    piped = subprocess.run(  # /dev/stdout on a pipe resolves to no path: written to as it is
        [sys.executable, "-m", "ner", "predict", str(tiny_model), test, "--out", "/dev/stdout", "--threads", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert piped.returncode == 0 and piped.stdout == target.read_text()
    compressed = tmp_path / "windows.conll.gz"
    compressed.write_bytes(gzip.compress(Path(test).read_text().replace("\n", "\r\n").encode()))
    assert main(["predict", str(tiny_model), str(compressed), "--out", str(tmp_path / "w.conll")]) == 0
    assert (tmp_path / "w.conll").read_bytes().decode() == target.read_text().replace("\n", "\r\n")  # its CRLF kept
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text('{"text": "Ann ran.", "entities": [[0, 3, "PER"]]}\n')
    assert main(["predict", str(tiny_model), str(jsonl)]) == 2
    assert "a.jsonl is jsonl: ner predict adds a column to CoNLL files" in capsys.readouterr().err


def test_predict_keeps_conllus_columns_in_line(tiny_model: Path, tmp_path: Path, capsys) -> None:
    conllu = tmp_path / "u.conllu"
    conllu.write_text("1\tPeter\t_\tname=B-PER\n2-3\tvisited\t_\t_\n2\tvisit\t_\tname=O\n3\ted\t_\tname=O\n")
    assert main(["predict", str(tiny_model), str(conllu)]) == 0
    assert {len(line.split("\t")) for line in capsys.readouterr().out.splitlines()} == {5}


def test_calibrate_refuses_a_file_with_no_predicted_entity(tiny_model: Path, tmp_path: Path, capsys) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    plain = tmp_path / "plain.conll"
    plain.write_text("a O\nb O\n")
    assert main(["calibrate", str(model), str(plain), "--apply"]) == 2
    assert "no entity" in capsys.readouterr().err
    assert json.loads((model / "config.json").read_text())["temperature"] == bundles.load(tiny_model).temperature


def test_output_is_utf8_with_the_line_ends_given_whatever_the_locale(tiny_model: Path, tmp_path: Path) -> None:
    """A redirected stdout on Windows writes its code page (cp1252 has no Chinese, writes é as one byte) and
    adds a \\r before each \\n; PYTHONIOENCODING stands in for the code page here."""
    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    command = [sys.executable, "-m", "ner", "tag", "--model", str(tiny_model), "--threads", "1", "--quiet"]
    tagged = subprocess.run(command, input="José met 李明 .\n".encode(), capture_output=True, env=env, timeout=120)
    assert tagged.returncode == 0, tagged.stderr
    assert json.loads(tagged.stdout.decode("utf-8"))["text"] == "José met 李明 ." and tagged.stdout.endswith(b"}\n")
    conll = tmp_path / "in.conll"
    conll.write_bytes(b"Jos\xc3\xa9 B-PER\r\nmet O\r\n")
    command = [sys.executable, "-m", "ner", "predict", str(tiny_model), str(conll), "--threads", "1"]
    predicted = subprocess.run(command, capture_output=True, env=env, timeout=120)
    assert predicted.returncode == 0 and predicted.stdout.startswith("José".encode()), predicted.stderr
    assert predicted.stdout.count(b"\r\n") == 2 and b"\r\r" not in predicted.stdout


def test_tag_input_problems_are_one_line_and_a_bad_record_is_rejected_alone(tiny_model: Path, tmp_path: Path) -> None:
    def tag(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "ner", "tag", "--model", str(tiny_model), "--threads", "1", *args]
        return subprocess.run(command, input=stdin, capture_output=True, timeout=120)

    records = b'{"text": "Peter Brown visited Tokyo ."}\n{"text": "Ana \\ud83d in Cairo ."}\n{"text": "Cairo ."}\n'
    result = tag("--input-format", "jsonl", stdin=records)
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 2 and b"lone surrogate" in result.stderr
    marked = tag(stdin="\ufeffPeter Brown visited Tokyo .\n".encode())  # a BOM, or UTF-16 as PowerShell writes
    utf16 = tag(stdin="Peter Brown visited Tokyo .\n".encode("utf-16"))
    assert (
        json.loads(marked.stdout)
        == json.loads(utf16.stdout)
        == json.loads(tag(stdin=b"Peter Brown visited Tokyo .\n").stdout)
    )
    mine = tmp_path / "in.txt"
    mine.write_text("Peter Brown visited Tokyo .\n")
    for args, message in (
        (["--errors", str(mine), str(mine)], b"is among the inputs"),
        (["--errors", str(tmp_path / "rejected.jsonl"), str(tmp_path)], b"is among the inputs"),  # grew forever
        ([str(mine), str(tmp_path / "missing.txt")], b"no such file or directory: " + str(tmp_path).encode()),
        (["--engine", "ray", "--workers", "0", str(mine)], b"must be at least 1"),
        (["--batch-lines", "0"], b"must be at least 1"),
        (["--text-field", "body"], b"needs --input-format jsonl or parquet"),
        (["--ignore-case"], b"needs --dictionary"),
    ):
        result = tag(*args)
        assert result.returncode == 2 and message in result.stderr and b"Traceback" not in result.stderr, args
    assert mine.read_text() == "Peter Brown visited Tokyo .\n"
    linked = tmp_path / "linked.jsonl"  # the input under another name: a hard link, or another case on macOS
    os.link(mine, linked)
    refused = tag("--errors", str(linked), str(mine))
    assert (
        refused.returncode == 2 and b"is among the inputs" in refused.stderr and linked.read_text() == mine.read_text()
    )
    linked.unlink()  # the folder is tagged below
    wrong_field = tag("--input-format", "jsonl", "--text-field", "body", stdin=b'{"text": "Peter Brown ."}\n')
    assert wrong_field.returncode == 1 and wrong_field.stderr.endswith(b"every record was rejected\n")
    # a directory is read as Ray reads one: every file under it by path, compressed ones too, but _ and .
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt.gz").write_bytes(gzip.compress(b"Angela Merkel met Peter Brown .\n"))
    (tmp_path / "sub" / "c.txt.bz2").write_bytes(bz2.compress(b"Ann Lee .\n"))
    (tmp_path / "_errors.jsonl").write_text("not a text to tag\n")
    truncated = tmp_path.parent / f"{tmp_path.name}-cut.txt.gz"
    truncated.write_bytes(gzip.compress(b"Ann Lee .\n" * 1000)[:40])
    cut = tag(str(truncated))
    assert cut.returncode == 2 and b"a damaged or truncated compressed file" in cut.stderr, cut.stderr
    truncated.write_bytes(b"no gzip at all\n")  # a bad header: gzip's own error, an OSError
    assert str(truncated).encode() in tag(str(truncated)).stderr
    records = [json.loads(line) for line in tag(str(tmp_path)).stdout.splitlines()]
    assert [r["text"] for r in records] == [
        "Peter Brown visited Tokyo .",
        "Angela Merkel met Peter Brown .",
        "Ann Lee .",
    ]
    with open(tmp_path / "sub" / "out.jsonl", "wb") as inside:  # ner tag DIR > DIR/out.jsonl: read its own output
        command = [sys.executable, "-m", "ner", "tag", "--model", str(tiny_model), str(tmp_path)]
        result = subprocess.run(command, stdout=inside, stderr=subprocess.PIPE, timeout=120)
    assert result.returncode == 2 and b"(stdout) is one of the input files" in result.stderr


def test_a_corpus_of_other_labels_is_refused_for_scoring_and_calibration_and_some_warned_of(
    tiny_model: Path, tiny_corpus: dict, tmp_path: Path, capsys, caplog: pytest.LogCaptureFixture
) -> None:
    source = tiny_corpus["dev"].read_text()
    other = tmp_path / "other.conll"
    other.write_text(source.replace("-PER", "-FOO").replace("-LOC", "-BAR").replace("-ORG", "-BAZ"))
    some = tmp_path / "some.conll"
    some.write_text(source.replace("-PER", "-FOO"))
    assert main(["evaluate", str(tiny_model), str(other), "--json"]) == 2
    assert "other.conll's labels (BAR, BAZ, FOO) are none of the model's" in capsys.readouterr().err
    assert main(["evaluate", str(tiny_model), str(some), "--json"]) == 0
    assert "some.conll's labels FOO are not the model's: their entities count as missed" in caplog.text
    caplog.clear()
    assert main(["calibrate", str(tiny_model), str(other)]) == 2
    assert "no temperature can be fitted on it" in capsys.readouterr().err
    assert main(["calibrate", str(tiny_model), str(some)]) == 0
    assert "some.conll's labels FOO are not the model's: their entities count as missed" in caplog.text


def test_a_reader_that_stops_early_ends_the_command_quietly(
    tiny_model: Path, tiny_corpus: dict, tmp_path: Path
) -> None:
    """``ner tag big.txt | head -1``: the pipe closes; no error message, and the exit status of a pipe's
    writer stopped by it (141)."""
    lines = tmp_path / "lines.txt"
    lines.write_text("Angela Merkel met Emmanuel Macron in Paris .\n" * 4000)
    process = subprocess.Popen(
        [sys.executable, "-m", "ner", "tag", "--model", str(tiny_model), "--threads", "1", "--quiet", str(lines)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stdout.readline().startswith(b"{")
    process.stdout.close()
    _, error = process.communicate(timeout=120)
    assert process.returncode == 141 and error == b""
    # A command whose little output waits in the buffer until it ends, its reader gone before then.
    quick = subprocess.Popen(
        [sys.executable, "-m", "ner", "inspect", str(tiny_corpus["train"])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"},
    )
    assert quick.stdout is not None
    quick.stdout.close()
    _, error = quick.communicate(timeout=120)
    assert quick.returncode == 141 and error == b""


UNINSTALLED = """
import sys


class Uninstalled:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] in {"torch", "seqeval", "pyarrow"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name.partition(".")[0])


sys.meta_path.insert(0, Uninstalled)
"""


def test_an_install_without_the_training_extra_tags_and_says_what_the_rest_needs(
    tiny_model: Path, tiny_corpus: dict, tmp_path: Path
) -> None:
    """`pip install 'ner-service[serve]'` (the image's install) has neither torch, seqeval nor pyarrow: here
    they are made unimportable. Tagging a file works; scoring and training say which package they need."""
    missing = tmp_path / "missing"
    missing.mkdir()
    (missing / "sitecustomize.py").write_text(UNINSTALLED)
    env = {**os.environ, "PYTHONPATH": str(missing)}

    def ner(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "ner", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)

    text = tmp_path / "text.txt"
    text.write_text("Peter Brown visited Tokyo .\n")
    tagged = ner("tag", "--model", str(tiny_model), "--backend", "onnx", str(text))
    assert tagged.returncode == 0 and json.loads(tagged.stdout)["text"] == "Peter Brown visited Tokyo ."
    for args, package in (
        (["evaluate", str(tiny_model), str(tiny_corpus["dev"])], "seqeval"),
        (["train", "--train", str(tiny_corpus["train"]), "--out", str(tmp_path / "m")], "torch"),
    ):
        result = ner(*args)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert f"needs {package}: pip install 'ner-service[train]'" in result.stderr


def test_serve_names_the_service_package_missing(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.delitem(sys.modules, "api.main", raising=False)
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # not installed
    assert main(["serve"]) == 2
    assert "ner serve: error: the service needs uvicorn: pip install 'ner-service[serve]'" in capsys.readouterr().err


@pytest.mark.parametrize("with_main", [False, True])
def test_serve_says_when_another_api_package_hides_the_services(
    monkeypatch: pytest.MonkeyPatch, capsys, tmp_path: Path, with_main: bool
) -> None:
    """``python -m ner`` puts the working folder first: a project's own ``api/`` (a FastAPI project's, with
    its ``main.py``) was blamed on the install, or ended in a traceback."""
    import types

    theirs = types.ModuleType("api")
    theirs.__file__ = str(tmp_path / "api" / "__init__.py")
    theirs.__path__ = [str(tmp_path / "api")]
    monkeypatch.setitem(sys.modules, "api", theirs)
    # Theirs has no main, or one without serve (an editable install would find ours otherwise).
    monkeypatch.setitem(sys.modules, "api.main", types.ModuleType("api.main") if with_main else None)
    assert main(["serve"]) == 2
    error = capsys.readouterr().err
    assert "the package 'api' found is not the service's" in error and str(tmp_path) in error
    assert "pip install" not in error


def test_version(capsys) -> None:
    from ner import __version__

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out == f"ner {__version__}\n"


def test_a_missing_module_of_the_package_itself_is_not_blamed_on_the_install(
    tiny_corpus: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ner import cli

    def gone(args: object) -> int:
        raise ModuleNotFoundError("No module named 'ner.gone'", name="ner.gone")

    monkeypatch.setattr(cli, "run_inspect", gone)
    with pytest.raises(ModuleNotFoundError, match="ner.gone"):
        main(["inspect", str(tiny_corpus["dev"])])


def test_a_command_started_with_its_output_closed_says_so(tiny_model: Path, tiny_corpus: dict) -> None:
    for writing in (["tag", "--model", str(tiny_model)], ["predict", str(tiny_model)], ["inspect"]):
        command = [sys.executable, "-m", "ner", *writing, str(tiny_corpus["dev"])]
        result = subprocess.run(command, stderr=subprocess.PIPE, preexec_fn=lambda: os.close(1))
        assert result.returncode == 2 and b"stdout, which is closed" in result.stderr, writing


class FillingDisk(io.RawIOBase):
    """A file on a disk with ``room`` bytes left: writes are short when they reach it, then refused."""

    def __init__(self, room: int, waits: int = 0) -> None:
        self.room, self.waits, self.data = room, waits, bytearray()

    def fileno(self) -> int:
        return 1

    def writable(self) -> bool:
        return True

    def write(self, chunk: bytes) -> int | None:
        if self.waits:  # a pipe set not to block, full for now
            self.waits -= 1
            return None
        if not self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        taken = bytes(chunk[: self.room])
        self.data += taken
        self.room -= len(taken)
        return len(taken)


def test_an_unbuffered_stdout_on_a_filling_disk_raises_rather_than_cutting_the_output(
    tiny_model: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    """``PYTHONUNBUFFERED`` (the image's) put stdout's text on the file itself, which ignored a short write:
    ``ner tag > out`` on a disk filling up wrote what fit and exited 0."""
    disk = FillingDisk(room=100)
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(disk, encoding="utf-8", write_through=True))
    texts = tmp_path / "texts.txt"
    texts.write_text("John Smith visited Berlin on Monday .\n" * 20)
    assert main(["tag", "--model", str(tiny_model), "--quiet", str(texts)]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert len(disk.data) == 100


def test_running_out_of_memory_is_one_line(tiny_model: Path, monkeypatch, capsys) -> None:
    from ner import bulk

    def exhausted(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(bulk, "tag_stream", exhausted)
    assert main(["tag", "--model", str(tiny_model), "--quiet", os.devnull]) == 2
    assert capsys.readouterr().err == "ner tag: error: out of memory\n"


def test_stdout_set_not_to_block_is_waited_for_not_spun_on(tiny_model: Path, tmp_path: Path, monkeypatch) -> None:
    import select

    disk = FillingDisk(room=10**6, waits=3)
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(disk, encoding="utf-8", write_through=True))
    waited = []
    monkeypatch.setattr(select, "select", lambda *lists: waited.append(lists) or ([], [1], []))
    texts = tmp_path / "texts.txt"
    texts.write_text("John Smith visited Berlin on Monday .\n" * 20)
    assert main(["tag", "--model", str(tiny_model), "--quiet", str(texts)]) == 0
    assert len(waited) == 3 and disk.data.count(b"\n") == 20


def test_a_corpus_flag_given_twice_is_refused(tiny_corpus: dict, tmp_path: Path, capsys) -> None:
    """``--train corpus --train corrections`` trained on the corrections alone, and said nothing."""
    for flag in ("--train", "--dev", "--test"):
        args = ["train", "--train", str(tiny_corpus["train"]), "--out", str(tmp_path / "m")]
        args += [flag, str(tiny_corpus["dev"]), flag, str(tiny_corpus["test"])]
        with pytest.raises(SystemExit) as exit_info:
            main(args)
        assert exit_info.value.code == 2
        assert f"{flag} given twice" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_corpus_commands_read_stdin_as_dash_and_refuse_a_stdout_that_loses_their_result(
    tiny_model: Path, tiny_corpus: dict, tmp_path: Path, monkeypatch, capsys
) -> None:
    """``ner inspect -`` said "-: no such file"; with stdout closed, inspect and evaluate printed nothing and
    exited 0; ``predict --out -`` wrote a file named ``-``; a full disk under stdout named no file."""
    corpus = tiny_corpus["dev"].read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(corpus), encoding="utf-8"))
    assert main(["inspect", "-", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sentences"] == 60
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"John B-O\n"), encoding="utf-8"))
    assert main(["inspect", "-"]) == 2
    assert "error: -:1: entity type 'O'" in capsys.readouterr().err  # not the temporary copy's name
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(corpus), encoding="utf-8"))
    assert main(["predict", str(tiny_model), "-", "--out", "-", "--threads", "1"]) == 0
    assert capsys.readouterr().out.count("\n") >= corpus.count(b"\n") and not (tmp_path / "-").exists()
    for command in (["inspect", str(tiny_corpus["dev"])], ["evaluate", str(tiny_model), str(tiny_corpus["dev"])]):
        monkeypatch.setattr(sys, "stdout", None)
        assert main(command) == 2
        assert "the output is stdout, which is closed" in capsys.readouterr().err
        monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(FillingDisk(room=0), encoding="utf-8", write_through=True))
        assert main([*command, "--json"]) == 2
        assert "error: stdout: No space left on device" in capsys.readouterr().err


def test_lines_from_a_slow_pipe_are_tagged_as_they_come(tiny_model: Path) -> None:
    """``tail -f log | ner tag`` printed nothing until 512 lines had come, or the input ended; a line every
    0.1 s waited for the whole batch; stopped while it waited for input, it aborted (status 134)."""
    import select

    command = [sys.executable, "-m", "ner", "tag", "--model", str(tiny_model), "--quiet", "--threads", "1"]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        process.stdin.write(b"John Smith visited Berlin .\n")
        process.stdin.flush()  # and the pipe stays open
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready, "no line out while the input is open"
        assert json.loads(process.stdout.readline())["text"] == "John Smith visited Berlin ."
        sent = 0
        while not select.select([process.stdout], [], [], 0.1)[0] and sent < 200:  # a steady log
            process.stdin.write(b"Maria Garcia works in Oslo .\n")
            process.stdin.flush()
            sent += 1
        assert sent < 100, "nothing out after 100 lines 0.1 s apart"  # within a second or so of the first
        process.send_signal(signal.SIGTERM)  # while its reader waits for the next line
        _, error = process.communicate(timeout=60)
        assert process.returncode == 143 and b"Fatal Python error" not in error, error[-500:]
    finally:
        process.kill()
