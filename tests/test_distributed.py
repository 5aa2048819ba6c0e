"""Data-parallel training: 2 processes with gloo on this CPU against one process, same effective batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ner import Tagger
from ner.distributed import Distributed

from .conftest import synthetic_sentences, tiny_train_args, write_conll

# The tiny settings, without dropout or weight averaging, for at most 4 epochs.
FLAGS = ("--dropout", "0", "--ema-decay", "0.999", "--epochs", "4", "--patience", "10")


def train(tmp_path: Path, out: str, processes: int, batch_size: int, *extra: str) -> dict:
    # One-token sentences too: a batch of them gives the CRF transitions no gradient, which DDP must allow.
    one_token = [[("Paris", "B-LOC")], [("Reuters", "B-ORG")], [("Thanks", "O")]] * 8
    train_file = write_conll(tmp_path / "train.conll", synthetic_sentences(320, 11) + one_token)
    dev_file = write_conll(tmp_path / "dev.conll", synthetic_sentences(80, 12))
    arguments = tiny_train_args(tmp_path / out, train_file, dev_file, *FLAGS, "--batch-size", str(batch_size), *extra)
    command = ["-m", "ner", *arguments]
    if processes > 1:
        command = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}", *command]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, *command], capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((tmp_path / out / "metrics.json").read_text())


@pytest.mark.slow
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


@pytest.mark.slow
def test_resume_after_a_distributed_run_goes_on_as_if_never_stopped(tmp_path: Path) -> None:
    """Each rank's random state is kept (their dropout draws part ways within an epoch), and restored."""
    train(tmp_path, "m", 2, 8, "--epochs", "2", "--dropout", "0.5")
    resumed = train(tmp_path, "m", 2, 8, "--epochs", "3", "--resume", "--dropout", "0.5")
    whole = train(tmp_path, "whole", 2, 8, "--epochs", "3", "--dropout", "0.5")
    assert [h["epoch"] for h in resumed["history"]] == [1, 2, 3]
    assert [h["loss"] for h in resumed["history"]] == [h["loss"] for h in whole["history"]]
    assert resumed["dev"]["f1"] == whole["dev"]["f1"]
    card = (tmp_path / "m" / "README.md").read_text()
    assert "torchrun --nproc_per_node=2 -m ner train" in card and "2 processes x" in card


@pytest.mark.parametrize(("world", "batches", "steps"), [(1, 7, 7), (2, 7, 4), (3, 7, 3), (4, 3, 1), (2, 1, 1)])
def test_every_rank_takes_as_many_steps_and_every_sentence_once(world: int, batches: int, steps: int) -> None:
    """The batches left over when their number is not a multiple of the ranks' are split among the ranks."""
    batched = [[4 * b + i for i in range(4)] for b in range(batches)]  # 4 sentences a batch
    shares = [Distributed(rank, world).my_share(batched) for rank in range(world)]
    assert [len(s) for s in shares] == [steps] * world and all(batch for s in shares for batch in s)
    taken = sorted(i for s in shares for batch in s for i in batch)
    assert taken == list(range(4 * batches))
    assert Distributed(0, world).main and not any(Distributed(r, world).main for r in range(1, world))
    # What is left over goes in runs, in order: a batch of whole documents is cut, not dealt out.
    assert [Distributed(r, 2).my_share([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]])[-1] for r in range(2)] == [
        [8, 9],
        [10, 11],
    ]
    # Fewer sentences left over than ranks: those few wait for the next epoch's shuffle.
    assert [Distributed(r, 3).my_share([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10]]) for r in range(3)] == [
        [[0, 1, 2]],
        [[3, 4, 5]],
        [[6, 7, 8]],
    ]


def test_a_single_process_shares_and_totals_without_a_process_group() -> None:
    single = Distributed()
    assert single.share({"f1": 1.0}) == {"f1": 1.0}
    assert single.total(3.0, 4.0) == [3.0, 4.0]
    single.barrier()
    single.stop()
