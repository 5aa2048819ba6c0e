"""Distillation: the CRF cross-entropy against soft tags (brute force over every tag path), the soft
targets, the teachers' probabilities, and ``ner train --teachers`` end to end."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torchcrf import CRF

from ner import Tagger
from ner.cli import main
from ner.config import TrainConfig
from ner.corpus import read_corpus
from ner.distillation import soft_targets, teacher_probabilities
from ner.model import crf_cross_entropy
from ner.train import Job, prepare

from .conftest import train_tiny

torch.set_num_threads(1)


def random_crf(k: int, seed: int) -> CRF:
    torch.manual_seed(seed)
    model = CRF(k, batch_first=True).double()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_()
    return model


def random_inputs(batch: int, steps: int, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Emissions ``(B, T, K)``, targets ``(B, T, K)`` (rows summing to one, zero on padding), mask."""
    generator = torch.Generator().manual_seed(seed)
    emissions = torch.randn(batch, steps, k, generator=generator, dtype=torch.float64)
    lengths = torch.randint(1, steps + 1, (batch,), generator=generator)
    lengths[0] = steps
    mask = torch.arange(steps)[None, :] < lengths[:, None]
    targets = torch.rand(batch, steps, k, generator=generator, dtype=torch.float64) ** 3
    targets = targets / targets.sum(dim=2, keepdim=True) * mask[:, :, None]
    return emissions, targets, mask


@pytest.mark.parametrize("seed", range(4))
def test_cross_entropy_against_every_tag_path(seed: int) -> None:
    k, steps = 3, 4
    model = random_crf(k, seed)
    emissions, targets, mask = random_inputs(3, steps, k, seed)
    computed = crf_cross_entropy(model, emissions, targets, mask)
    for row in range(len(emissions)):
        length = int(mask[row].sum())
        expected = 0.0
        for path in itertools.product(range(k), repeat=length):
            tags = torch.tensor([path])
            log_p = model(emissions[row : row + 1, :length], tags, tags >= 0, reduction="sum").item()
            q = float(np.prod([targets[row, t, tag].item() for t, tag in enumerate(path)]))
            expected -= q * log_p
        assert computed[row].item() == pytest.approx(expected, rel=1e-9)


def test_cross_entropy_against_one_hot_targets_is_the_negative_log_likelihood() -> None:
    k, steps = 5, 7
    model = random_crf(k, 9)
    emissions, _, mask = random_inputs(6, steps, k, 9)
    tags = torch.randint(0, k, (6, steps), generator=torch.Generator().manual_seed(1)) * mask
    one_hot = torch.nn.functional.one_hot(tags, k).double() * mask[:, :, None]
    expected = -model(emissions, tags, mask=mask, reduction="none")
    assert torch.allclose(crf_cross_entropy(model, emissions, one_hot, mask), expected, atol=1e-9)


def test_soft_targets_mix_gold_and_teachers_and_stay_zero_on_padding() -> None:
    gold = np.array([[1, 0, 2], [2, 1, 0]])
    mask = np.array([[True, True, True], [True, True, False]])
    taught = [np.full((3, 3), 1 / 3, dtype=np.float32), np.array([[0, 0, 1], [1, 0, 0]], dtype=np.float32)]
    targets = soft_targets(gold, taught, mask, 0.25)
    assert targets.shape == (2, 3, 3)
    assert np.allclose(targets[mask].sum(axis=1), 1.0) and not targets[1, 2].any()
    assert np.allclose(targets[0, 0], [0.25 / 3, 0.75 + 0.25 / 3, 0.25 / 3])
    assert np.allclose(targets[1, 0], [0, 0, 1]) and np.allclose(targets[1, 1], [0.25, 0.75, 0])


def test_teacher_probabilities_are_the_mean_of_each_teachers_marginals(
    tiny_model: Path, tiny_corpus: dict[str, Path], tmp_path: Path
) -> None:
    sentences = read_corpus(tiny_corpus["dev"])[0][:20]
    other = train_tiny(tmp_path / "other", tiny_corpus["train"], tiny_corpus["dev"], "--seed", "2")
    tags = Tagger.load(tiny_model).tags
    reordered = [*tags[::-1], "S-EXTRA"]  # the student's columns: another order, and a tag no teacher has
    one, two = (teacher_probabilities([m], sentences, reordered, 1, progress=False) for m in (tiny_model, other))
    both = teacher_probabilities([tiny_model, other], sentences, reordered, 1, progress=False)
    for sentence, a, b, mean in zip(sentences, one, two, both):
        assert mean.shape == (len(sentence.tokens), len(reordered))
        assert np.allclose(mean, (a + b) / 2) and np.allclose(mean.sum(axis=1), 1.0, atol=1e-5)
        assert not mean[:, -1].any()
    best = [[reordered[i] for i in p.argmax(axis=1)] for p in one]  # max-marginal tags agree with Viterbi mostly
    viterbi = Tagger.load(tiny_model).predict_tags([s.tokens for s in sentences])
    agree = np.mean([a == b for x, y in zip(best, viterbi) for a, b in zip(x, y)])
    assert agree > 0.95
    with pytest.raises(ValueError, match="tags the training data lacks"):
        teacher_probabilities([tiny_model], sentences, tags[:-1], 1, progress=False)
    with pytest.raises(ValueError, match="word-level model; the student is char-level"):
        teacher_probabilities([tiny_model], sentences, tags, 1, progress=False, level="char")


def test_training_with_teachers_learns_their_soft_tags(
    tiny_model: Path, tiny_corpus: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    job = Job(
        str(tiny_corpus["train"]),
        Path("unused"),
        dev=str(tiny_corpus["dev"]),
        train_settings={"pretrained": "none", "teachers": str(tiny_model), "teacher_weight": 0.5},
    )
    run = prepare(job)
    _, batch = run.encode(list(range(8)), 1)
    assert batch.tag_probs is not None and batch.tag_probs.shape == (*batch.tags.shape, len(run.vocab.tags.itos))
    gold = np.take_along_axis(batch.tag_probs, batch.tags[:, :, None], axis=2)[:, :, 0]
    assert (gold[batch.mask] >= 0.5 - 1e-6).all() and (gold[batch.mask] < 1.0).any()
    assert prepare(replace(job, train_settings={"pretrained": "none"})).encode([0], 1)[1].tag_probs is None

    out = train_tiny(tmp_path / "student", tiny_corpus["train"], tiny_corpus["dev"], "--teachers", str(tiny_model))
    capsys.readouterr()
    assert main(["evaluate", str(out), str(tiny_corpus["dev"]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["f1"] > 50
    assert json.loads((out / "config.json").read_text())["training"]["config"]["teachers"] == str(tiny_model)


def test_teachers_and_mention_replacement_do_not_mix() -> None:
    with pytest.raises(ValueError, match="teachers"):
        TrainConfig(teachers="a", mention_replacement=0.2)
    with pytest.raises(ValueError, match="teacher_weight"):
        TrainConfig(teachers="a", teacher_weight=0.0)
