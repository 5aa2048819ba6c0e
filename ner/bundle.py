"""The model directory: weights, config, vocabularies, metrics, model card and a checksum manifest.

::

    weights.safetensors   tensors only: loading runs no pickled code (embedding tables
                          optionally in float16, widened to float32 when loaded)
    config.json           format version, network sizes, language, labels, temperature
    vocab.json            words, characters, bigrams, tags
    metrics.json          dev and test scores, training history
    README.md             the model card
    manifest.json         sha256 and size of every other file

Saving writes a complete directory beside the target and renames it into
place, so a crash never leaves a half-written model. Loading checks every
checksum first and names the file that is missing, truncated or altered.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ner.features import Vocabularies
from ner.model import ModelConfig, NERModel

FORMAT_VERSION = 1
WEIGHTS, CONFIG, VOCAB, METRICS, CARD, MANIFEST = (
    "weights.safetensors",
    "config.json",
    "vocab.json",
    "metrics.json",
    "README.md",
    "manifest.json",
)

EMBEDDING_SUFFIX = "embed.weight"  # the embedding tables: word (or character), bigram, character, casing


class BundleError(ValueError):
    """A model directory that cannot be loaded, naming the file at fault."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        super().__init__(f"{path}: {reason}")


@dataclass
class Bundle:
    """A trained model with everything needed to use and describe it."""

    model: NERModel
    vocab: Vocabularies
    name: str
    language: str
    temperature: float = 1.0
    metrics: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)  # anything else for config.json (version, training)

    @property
    def labels(self) -> list[str]:
        return sorted({t[2:] for t in self.vocab.tags.itos if t != "O"})


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save(bundle: Bundle, directory: str | Path, card: str, extra_files: dict[str, Path] | None = None) -> Path:
    """Write ``bundle`` to ``directory`` atomically; ``extra_files`` are copied in (e.g. plots).

    Replacing a model directory keeps its other files (such as the learning curves).
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        state = {k: v.detach().cpu().contiguous() for k, v in bundle.model.state_dict().items()}
        if bundle.info.get("embedding_dtype") == "float16":
            state = {k: v.half() if k.endswith(EMBEDDING_SUFFIX) else v for k, v in state.items()}
        save_file(state, staging / WEIGHTS)
        config = {
            "format_version": FORMAT_VERSION,
            "name": bundle.name,
            "language": bundle.language,
            "labels": bundle.labels,
            "temperature": bundle.temperature,
            "model": bundle.model.config.to_dict(),
            **bundle.info,
        }
        _write_json(staging / CONFIG, config)
        _write_json(staging / VOCAB, bundle.vocab.to_json())
        _write_json(staging / METRICS, bundle.metrics)
        (staging / CARD).write_text(card, encoding="utf-8")
        for name, source in (extra_files or {}).items():
            shutil.copyfile(source, staging / name)
        if directory.is_dir():
            for old in directory.iterdir():
                if old.is_file() and old.name != MANIFEST and not (staging / old.name).exists():
                    shutil.copyfile(old, staging / old.name)
        files = sorted(p.name for p in staging.iterdir())
        manifest = {
            "format_version": FORMAT_VERSION,
            "files": {
                name: {"sha256": sha256(staging / name), "bytes": (staging / name).stat().st_size} for name in files
            },
        }
        _write_json(staging / MANIFEST, manifest)
        staging.chmod(0o755)
        for path in staging.iterdir():
            path.chmod(0o644)
        retired = None
        if directory.exists():
            retired = directory.with_name(f".{directory.name}.old-{os.getpid()}")
            directory.rename(retired)
        staging.rename(directory)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(path, f"unreadable JSON ({error})") from None
    if not isinstance(data, dict):
        raise BundleError(path, "expected a JSON object")
    return data


def verify(directory: str | Path) -> dict:
    """Check the manifest's checksums and the format version; return the manifest."""
    directory = Path(directory)
    if not directory.is_dir():
        raise BundleError(directory, "not a model directory")
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise BundleError(manifest_path, "missing: not a model directory, or an incomplete one")
    manifest = _read_json(manifest_path)
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BundleError(
            manifest_path, f"format version {version!r} is newer than this library reads ({FORMAT_VERSION})"
        )
    files = manifest.get("files", {})
    for required in (WEIGHTS, CONFIG, VOCAB):
        if required not in files:
            raise BundleError(directory / required, "not listed in manifest.json")
    for name, entry in files.items():
        path = directory / name
        if Path(name).name != name:
            raise BundleError(manifest_path, f"invalid file name {name!r}")
        if not path.is_file():
            raise BundleError(path, "missing")
        if path.stat().st_size != entry.get("bytes"):
            raise BundleError(path, f"size {path.stat().st_size} bytes, expected {entry.get('bytes')} (truncated?)")
        if sha256(path) != entry.get("sha256"):
            raise BundleError(path, "checksum mismatch: the file was altered or corrupted")
    return manifest


def load(directory: str | Path, device: str | torch.device = "cpu") -> Bundle:
    """Load and check a model directory written by :func:`save`."""
    directory = Path(directory)
    verify(directory)
    config = _read_json(directory / CONFIG)
    if config.get("format_version", 0) > FORMAT_VERSION:
        raise BundleError(directory / CONFIG, f"format version {config.get('format_version')} is too new")
    try:
        vocab = Vocabularies.from_json(_read_json(directory / VOCAB))
        model_config = ModelConfig.from_dict(config["model"])
        model = NERModel(
            model_config,
            n_words=len(vocab.words),
            n_tags=len(vocab.tags),
            tags=vocab.tags.itos,
            n_chars=len(vocab.chars) if vocab.chars else 0,
            n_bigrams=len(vocab.bigrams) if vocab.bigrams else 0,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise BundleError(directory, f"inconsistent config or vocabulary: {error}") from None
    try:
        state = load_file(directory / WEIGHTS)
        model.load_state_dict(state)  # copies into the model's float32 parameters, widening float16 tables
    except Exception as error:  # safetensors raises its own error types
        raise BundleError(directory / WEIGHTS, f"weights do not fit the config: {error}") from None
    model.to(device).eval()
    metrics = _read_json(directory / METRICS) if (directory / METRICS).is_file() else {}
    info = {
        k: v
        for k, v in config.items()
        if k not in ("format_version", "name", "language", "labels", "temperature", "model")
    }
    return Bundle(
        model,
        vocab,
        config.get("name", directory.name),
        config.get("language", "en"),
        float(config.get("temperature", 1.0)),
        metrics,
        info,
    )
