"""Model directories are untrusted input: checksums, versions, and no pickled code ever runs."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest

from ner import bundle as bundles
from ner.bundle import BundleError
from ner.cli import main


@pytest.fixture
def model_copy(tiny_model: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(tiny_model, copy)
    return copy


def test_load_round_trip(model_copy: Path) -> None:
    loaded = bundles.load(model_copy)
    assert loaded.labels == ["LOC", "ORG", "PER"]
    assert loaded.language == "en"
    assert loaded.config.level == "word" and loaded.weights["word_embed.weight"].dtype.name == "float32"


def test_altered_file_is_named(model_copy: Path) -> None:
    weights = model_copy / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="weights.safetensors.*checksum"):
        bundles.load(model_copy)


def test_truncated_file_is_named(model_copy: Path) -> None:
    vocab = model_copy / "vocab.json"
    vocab.write_bytes(vocab.read_bytes()[:100])
    with pytest.raises(BundleError, match="vocab.json.*truncated"):
        bundles.load(model_copy)


def test_missing_vocabulary_is_named(model_copy: Path) -> None:
    (model_copy / "vocab.json").unlink()
    with pytest.raises(BundleError, match="vocab.json.*missing"):
        bundles.load(model_copy)


def test_newer_format_version_is_refused(model_copy: Path) -> None:
    manifest = json.loads((model_copy / "manifest.json").read_text())
    manifest["format_version"] = bundles.FORMAT_VERSION + 1
    (model_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="format version .* newer"):
        bundles.load(model_copy)


def test_not_a_model_directory(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="manifest.json"):
        bundles.load(tmp_path)


class _CreatesFile:
    """Unpickling this runs os.system: a loader that unpickles would create the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickled_weights_never_run(model_copy: Path, tmp_path: Path) -> None:
    """A crafted pickle in place of the weights, with a matching manifest: loading fails, the code does not run."""
    marker = tmp_path / "pwned"
    weights = model_copy / "weights.safetensors"
    weights.write_bytes(pickle.dumps(_CreatesFile(marker)))
    manifest = json.loads((model_copy / "manifest.json").read_text())
    data = weights.read_bytes()
    manifest["files"]["weights.safetensors"] = {"sha256": bundles.sha256(data), "bytes": len(data)}
    (model_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="weights.safetensors"):
        bundles.load(model_copy)
    assert not marker.exists()


def test_pickled_checkpoint_never_runs(tiny_corpus: dict, tiny_config: Path, tmp_path: Path) -> None:
    """--resume loads checkpoints with weights_only=True: a malicious checkpoint is refused, not run."""
    marker = tmp_path / "pwned"
    work = tmp_path / "m.training"
    work.mkdir()
    (work / "checkpoint.pt").write_bytes(pickle.dumps(_CreatesFile(marker)))
    (work / "vocab.json").write_text("{}")
    code = main(
        [
            "train",
            "--train",
            str(tiny_corpus["train"]),
            "--dev",
            str(tiny_corpus["dev"]),
            "--out",
            str(tmp_path / "m"),
            "--config",
            str(tiny_config),
            "--quiet",
            "--resume",
        ]
    )
    assert code == 2
    assert not marker.exists()


def test_save_replaces_atomically(model_copy: Path, tmp_path: Path) -> None:
    loaded = bundles.load(model_copy)
    target = tmp_path / "saved"
    bundles.save(loaded, target, card="# card\n")
    bundles.save(loaded, target, card="# card v2\n")
    assert (target / "README.md").read_text() == "# card v2\n"
    bundles.verify(target)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".saved")]
    assert leftovers == []
