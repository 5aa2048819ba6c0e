"""Data-parallel training: 2 processes with gloo on this CPU against one process, same effective batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ner import Tagger

from .conftest import synthetic_sentences, write_conll

pytestmark = pytest.mark.slow
CONFIG = """
[model]
word_dim = 16
char_dim = 8
char_hidden = 16
casing_dim = 4
hidden = 24
dropout = 0.0
word_dropout = 0.0

[train]
epochs = 4
optimizer = "adam"
lr = 0.01
lr_decay = 0.0
threads = 1
patience = 10
"""


def train(tmp_path: Path, out: str, processes: int, batch_size: int, *extra: str) -> dict:
    # One-token sentences too: a batch of them gives the CRF transitions no gradient, which DDP must allow.
    one_token = [[("Paris", "B-LOC")], [("Reuters", "B-ORG")], [("Thanks", "O")]] * 8
    train_file = write_conll(tmp_path / "train.conll", synthetic_sentences(320, 11) + one_token)
    dev_file = write_conll(tmp_path / "dev.conll", synthetic_sentences(80, 12))
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    command = [
        "-m",
        "ner",
        "train",
        "--train",
        str(train_file),
        "--dev",
        str(dev_file),
        "--out",
        str(tmp_path / out),
        "--config",
        str(config),
        "--batch-size",
        str(batch_size),
        "--quiet",
        *extra,
    ]
    if processes > 1:
        command = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}", *command]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, *command], capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((tmp_path / out / "metrics.json").read_text())


def test_two_processes_match_one_with_the_same_effective_batch(tmp_path: Path) -> None:
    single = train(tmp_path, "single", 1, 16)
    double = train(tmp_path, "ddp", 2, 8)
    assert double["epochs_run"] == single["epochs_run"] == 4
    # Each epoch sees every batch once across the two ranks: as many sentences as one process, give or take
    # the last batch that does not divide evenly.
    for a, b in zip(single["history"], double["history"]):
        assert b["loss"] == pytest.approx(a["loss"], rel=0.35, abs=0.25), (a, b)
    assert double["dev"]["f1"] >= single["dev"]["f1"] - 5
    assert double["dev"]["f1"] > 90
    tagger = Tagger.load(tmp_path / "ddp")
    assert any(e.text == "Berlin" for e in tagger.tag("John Smith visited Berlin on Monday ."))


def test_resume_after_a_distributed_run(tmp_path: Path) -> None:
    train(tmp_path, "m", 2, 8, "--epochs", "2")
    resumed = train(tmp_path, "m", 2, 8, "--epochs", "3", "--resume")
    assert [h["epoch"] for h in resumed["history"]] == [1, 2, 3]
