"""The model directory: weights, config, vocabularies, metrics, model card and a checksum manifest.

::

    weights.safetensors   tensors only: loading runs no pickled code (embedding tables
                          optionally in float16, or int8 with a float32 scale per row,
                          widened to float32 when loaded, or kept so for the ONNX backend)
    encoder.onnx          the network up to the emission scores, for ONNX Runtime (optional;
                          its embedding tables and recurrent weights are read from
                          weights.safetensors, format 2; format 1 held a copy of the latter)
    config.json           format version, network sizes, language, labels, temperature
    vocab.json            words, characters, bigrams, tags; a word model's usual capitals (ner.truecasing)
                          and its corpus's words kept whole (ner.kept_words)
    lexicon.safetensors   character-level models with a lexicon: its words in a trie (ner.lexicon)
    metrics.json          dev and test scores, training history
    README.md             the model card
    manifest.json         sha256 and size of every other file

Saving writes a complete directory beside the target and renames it into
place, so a crash never leaves a half-written model. Loading reads each file
once, checks those bytes against the manifest and parses the same bytes, so
what is used is what was checked; it names the file that is missing,
truncated, altered, or a link that leaves the directory. Nothing here needs
torch: the weights are NumPy arrays.
"""

from __future__ import annotations

import glob
import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_arrays
from safetensors.numpy import save as save_arrays

from ner.config import ModelConfig
from ner.features import Vocabularies
from ner.lexicon import Lexicon
from ner.signals import HeldSignals
from ner.vocab import CASINGS

# 2: the ONNX encoder reads the recurrent weights from weights.safetensors (1: it holds a copy).
FORMAT_VERSION = 2
SWAP_RETRIES = 5  # reads of a model directory that another process is replacing, at most
MODEL_FILES = (  # a save writes these afresh; any other file in the directory is kept
    "weights.safetensors",
    "encoder.onnx",
    "config.json",
    "vocab.json",
    "lexicon.safetensors",
    "metrics.json",
    "README.md",
    "manifest.json",
)
WEIGHTS, ENCODER, CONFIG, VOCAB, LEXICON, METRICS, CARD, MANIFEST = MODEL_FILES
EMBEDDING_SUFFIX = "embed.weight"  # the embedding tables: word (or character), bigram, character, casing, lexicon
SCALE_SUFFIX = ".scale"  # beside an int8 table: its rows' scales


def stored_tables(weights: dict[str, np.ndarray], dtype: str) -> dict[str, np.ndarray]:
    """``weights`` (widened or as stored) as stored: the embedding tables in ``dtype`` (float32, float16,
    or int8 with a float32 scale per row, named ``<table>.scale``), every other array as it is."""
    out = {}
    for name, array in loaded_tables(weights).items():
        if not name.endswith(EMBEDDING_SUFFIX) or dtype == "float32":
            out[name] = array
        elif dtype == "float16":
            out[name] = array.astype(np.float16)
        else:
            scale = np.abs(array).max(axis=1, initial=0.0) / 127.0  # initial: a table of width 0
            scale[scale == 0] = 1.0
            out[name] = np.round(array / scale[:, None]).clip(-127, 127).astype(np.int8)
            out[name + SCALE_SUFFIX] = scale.astype(np.float32)
    return out


def as_stored(weights: dict[str, np.ndarray], dtype: str) -> dict[str, np.ndarray]:
    """``weights`` with the embedding tables rounded to what storing them in ``dtype`` keeps, in float32."""
    return loaded_tables(stored_tables(weights, dtype))


def loaded_tables(stored: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Stored weights (:func:`stored_tables`) widened back to float32 arrays, the scales folded in
    (weights already widened are returned as they are)."""
    return {
        name: StoredTable.of(stored, name).widened() if name.endswith(EMBEDDING_SUFFIX) else array
        for name, array in stored.items()
        if not name.endswith(SCALE_SUFFIX)
    }


@dataclass(frozen=True)
class StoredTable:
    """An embedding table ``(V, D)`` as stored: float32, float16, or int8 with a float32 scale per row
    ``(V,)``; rows are widened to float32 as they are read."""

    values: np.ndarray
    scale: np.ndarray | None = None

    @classmethod
    def of(cls, weights: dict[str, np.ndarray], name: str) -> StoredTable:
        return cls(weights[name], weights.get(name + SCALE_SUFFIX))

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """The float32 rows ``(N, D)`` of ``ids``, an array of any shape holding ``N`` ids."""
        flat = ids.ravel()
        if self.scale is None:
            return self.values[flat].astype(np.float32, copy=False)
        return np.multiply(self.values[flat], self.scale[flat, None], dtype=np.float32)

    def lookup(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The float32 rows ``(U, D)`` that ``ids`` (any shape) ask for, and ``ids`` renumbered
        ``0 .. U - 1`` to index them: a row per id where they are few next to the table, else a row
        per distinct id (a pass over the table costs less than copying the same rows many times)."""
        if ids.size * 8 < len(self.values):
            return self.rows(ids), np.arange(ids.size).reshape(ids.shape)
        used = np.zeros(len(self.values), dtype=bool)
        used[ids] = True
        return self.rows(np.flatnonzero(used)), (np.cumsum(used) - 1)[ids]

    def widened(self) -> np.ndarray:
        """The whole table in float32 ``(V, D)``."""
        if self.scale is None:
            return self.values.astype(np.float32, copy=False)
        return self.values.astype(np.float32) * self.scale[:, None]


class BundleError(ValueError):
    """A model directory that cannot be loaded, naming the file at fault."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        super().__init__(f"{path}: {reason}")


@dataclass
class Bundle:
    """A trained model with everything needed to use and describe it; the network as NumPy arrays."""

    vocab: Vocabularies
    config: ModelConfig
    weights: dict[str, np.ndarray]  # float32; the embedding tables as stored if loaded for_tagging
    name: str
    language: str
    temperature: float = 1.0
    metrics: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)  # anything else for config.json (version, training)
    encoder: bytes | None = None  # the exported ONNX encoder, when the directory has one
    format_version: int = FORMAT_VERSION  # of the directory it was loaded from, kept when saved again

    @property
    def labels(self) -> list[str]:
        return sorted({t[2:] for t in self.vocab.tags.itos if t != "O"})

    @property
    def scores(self) -> dict[str, dict[str, float]]:
        """Entity-level precision, recall and F1 on dev and test, of the splits it was scored on."""
        return {
            split: {k: self.metrics[split][k] for k in ("precision", "recall", "f1")}
            for split in ("dev", "test")
            if self.metrics.get(split)
        }


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def corpus_sha256(path: str | Path) -> str | None:
    """The sha256 of a corpus as its reader reads it, to know it again under another path: a file's bytes,
    or a brat folder's ``.ann`` files and the ``.txt`` beside each, with their names and sizes, in order
    of name; None when it cannot be read (it is a record, never a reason to fail)."""
    from ner.corpus.brat import annotation_files

    path = Path(path)
    try:
        files = [path]
        if path.is_dir():
            files = [f for ann in annotation_files(path) for f in (ann, ann.with_suffix(".txt")) if f.is_file()]
        digest = hashlib.sha256()
        for file in files:
            data = file.read_bytes()
            name = file.relative_to(path).as_posix() if file != path else ""
            digest.update(f"{name}\0{len(data)}\0".encode("utf-8", "surrogateescape") + data)
        return digest.hexdigest()
    except OSError:
        return None


def check_destination(directory: str | Path) -> None:
    """Refuse a place :func:`save` must not write a model to, before any work for it: a file, a path under
    a file, or a folder that is not a model directory and holds anything (saving replaces the folder,
    keeping only the plain files of a model directory) or that holds folders or links."""
    directory = Path(directory)
    if directory.name in ("", ".", ".."):
        raise BundleError(directory, "a model is saved as a directory of its own: name one, such as models/my-model")
    if directory.exists() and not directory.is_dir():
        raise BundleError(directory, "is a file; a model is saved as a directory")
    above = next((path for path in directory.parents if path.exists()), None)
    if above is not None and not above.is_dir():
        raise BundleError(above, "is a file, not a folder to save a model in")
    if above is not None and not os.access(above, os.W_OK | os.X_OK):  # found now, not after hours of training
        raise BundleError(above, "is not writable: a model cannot be saved in it")
    if not directory.is_dir():
        return
    if not os.access(directory, os.W_OK | os.X_OK):  # replacing it would take its protection and leave it whole
        raise BundleError(directory, "is read-only: a model cannot be written over it")
    inside = list(directory.iterdir())
    folders = sorted(path.name for path in inside if path.is_dir() or path.is_symlink())
    if folders:
        raise BundleError(
            directory,
            f"holds folders or links ({', '.join(folders[:3])}), which saving would not keep: "
            "move them out, or give a new or empty directory",
        )
    if inside and not (directory / MANIFEST).is_file():
        raise BundleError(directory, "holds files and is not a model directory: give a new or empty directory")


def save(bundle: Bundle, directory: str | Path, card: str, extra_files: dict[str, Path] | None = None) -> Path:
    """Write ``bundle`` to ``directory`` atomically; ``extra_files`` are copied in (e.g. plots).

    Replacing a model directory keeps its other files (such as the learning curves), never an older
    model's encoder or lexicon.
    """
    directory = Path(directory).resolve()  # a link's target is replaced, not the link; "." has a name
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    except OSError as error:  # said of the directory asked for, not of the staging folder beside it
        raise BundleError(directory, f"cannot write a model there: {error.strerror}") from None
    retired, swapped = None, False
    try:
        stored = stored_tables(bundle.weights, bundle.info.get("embedding_dtype", "float32"))
        weights = {name: np.ascontiguousarray(array) for name, array in stored.items()}
        (staging / WEIGHTS).write_bytes(save_arrays(weights))
        config = {
            "format_version": bundle.format_version,
            "name": bundle.name,
            "language": bundle.language,
            "labels": bundle.labels,
            "temperature": bundle.temperature,
            "model": bundle.config.to_dict(),
            **bundle.info,
        }
        _write_json(staging / CONFIG, config)
        _write_json(staging / VOCAB, bundle.vocab.to_json())
        _write_json(staging / METRICS, bundle.metrics)
        (staging / CARD).write_text(card, encoding="utf-8", newline="\n")  # the same bytes on Windows
        if bundle.vocab.lexicon is not None:
            (staging / LEXICON).write_bytes(bundle.vocab.lexicon.to_bytes())
        if bundle.encoder is not None:
            (staging / ENCODER).write_bytes(bundle.encoder)
        for name, source in (extra_files or {}).items():
            shutil.copyfile(source, staging / name)
        if directory.is_dir():
            for old in directory.iterdir():
                if (
                    old.is_file()
                    and not old.is_symlink()
                    and old.name not in MODEL_FILES
                    and not (staging / old.name).exists()
                ):
                    shutil.copyfile(old, staging / old.name)
        files = sorted(p.name for p in staging.iterdir())
        manifest = {
            "format_version": bundle.format_version,
            "files": {name: _entry((staging / name).read_bytes()) for name in files},
        }
        _write_json(staging / MANIFEST, manifest)
        staging.chmod(0o755)
        for path in staging.iterdir():
            path.chmod(0o644)
            _flush_to_disk(path)
        _flush_to_disk(staging)  # every file on disk before the swap: a power cut leaves no empty file behind
        with HeldSignals().held():  # Ctrl-C or a kill waits until the new model is in and the old one gone
            if directory.exists():
                retired = directory.with_name(f".{directory.name}.old-{os.getpid()}")
                directory.rename(retired)
            staging.rename(directory)
            swapped = True
            if retired is not None:
                shutil.rmtree(retired, ignore_errors=True)
            _flush_to_disk(directory.parent)  # the swap itself
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        if retired is not None and not directory.exists():  # failed between the two renames
            retired.rename(directory)
        if isinstance(error, OSError):  # a full disk, say: named for the directory asked for
            reason = error.strerror or str(error)
            outcome = (
                f"saved, but not flushed to disk ({reason})"
                if swapped
                else f"not saved ({reason}); what was there is as it was"
            )
            raise BundleError(directory, outcome) from None
        raise
    return directory


def _flush_to_disk(path: Path) -> None:
    """``fsync`` a file or a directory (its entries). Windows flushes a file only through a handle open for
    writing, and opens no directory (there its entries are written through)."""
    if os.name == "nt" and path.is_dir():
        return
    descriptor = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _entry(data: bytes) -> dict:
    return {"sha256": sha256(data), "bytes": len(data)}


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8", newline="\n")


def _parse_json(path: Path, data: bytes) -> dict:
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(path, f"unreadable JSON ({error})") from None
    except RecursionError:
        raise BundleError(path, "unreadable JSON (nested too deep)") from None
    if not isinstance(parsed, dict):
        raise BundleError(path, "expected a JSON object")
    return parsed


def _read_inside(directory: Path, name: str, expected: int | None = None) -> bytes:
    """The bytes of ``directory/name``, refusing a link or a path that leads out of the directory, and one
    not of the ``expected`` size before reading it (a file of gigabytes listed as a few bytes)."""
    path = directory / name
    if Path(name).name != name or name in ("", ".", ".."):
        raise BundleError(directory / MANIFEST, f"invalid file name {name!r}")
    if path.is_symlink() or (path.exists() and path.resolve().parent != directory.resolve()):
        raise BundleError(path, "a link: model files must be plain files inside the model directory")
    if not path.is_file():
        raise BundleError(path, "missing")
    if expected is not None and (size := path.stat().st_size) != expected:
        raise BundleError(path, f"size {size} bytes, expected {expected} (truncated?)")
    try:
        return path.read_bytes()
    except OSError as error:
        raise BundleError(path, f"unreadable ({error.strerror})") from None


def read_files(directory: str | Path) -> dict[str, bytes]:
    """Every file the manifest lists, read once and checked against its size and checksum.

    The manifest is the list of what belongs to the model; a change to any listed file is
    caught here. (The manifest guards against damage, not against someone who can rewrite
    it too: that takes a signature, or a read-only model volume.) A directory that :func:`save`
    replaced while it was read (``ner calibrate --apply`` beside a service starting) is read again.
    """
    directory, attempts = Path(directory), 0
    while True:
        before = _identity(directory)
        try:
            return _read_listed(directory)
        except OSError as error:  # a folder the user may not read (mode 000): named, as a file is
            raise BundleError(Path(error.filename or directory), f"unreadable ({error.strerror or error})") from None
        except BundleError:
            attempts += 1
            if attempts == SWAP_RETRIES or not _replaced(directory, before):
                raise
            time.sleep(0.01 * attempts)


def _identity(directory: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(directory)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _replaced(directory: Path, before: tuple[int, int] | None) -> bool:
    """Whether :func:`save` replaced ``directory`` since it was ``before`` (:func:`_identity`), or is
    doing so: the old one set aside and the new one not yet in its place."""
    now = _identity(directory)
    if now != before:
        return True
    resolved = directory.resolve()  # missing both times: between the two renames, or no model at all
    return now is None and any(resolved.parent.glob(f".{glob.escape(resolved.name)}.old-*"))


def _read_listed(directory: Path) -> dict[str, bytes]:
    if not directory.is_dir():
        raise BundleError(directory, "not a model directory")
    manifest_path = directory / MANIFEST
    if not manifest_path.exists() and not manifest_path.is_symlink():
        raise BundleError(manifest_path, "missing: not a model directory, or an incomplete one")
    manifest = _parse_json(manifest_path, _read_inside(directory, MANIFEST))
    version = manifest.get("format_version")
    if not isinstance(version, int):
        raise BundleError(manifest_path, f"format version {version!r}: not a version number")
    if version > FORMAT_VERSION:
        raise BundleError(
            manifest_path, f"format version {version!r} is newer than this library reads ({FORMAT_VERSION})"
        )
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        raise BundleError(manifest_path, "no file list")
    for required in (WEIGHTS, CONFIG, VOCAB):
        if required not in listed:
            raise BundleError(directory / required, "not listed in manifest.json")
    files = {}
    for name, entry in listed.items():
        expected = entry.get("bytes") if isinstance(entry, dict) else None
        if not isinstance(expected, int):
            raise BundleError(manifest_path, f"no size in bytes for {name}")
        data = _read_inside(directory, name, expected)
        if len(data) != expected:
            raise BundleError(directory / name, f"size {len(data)} bytes, expected {expected} (truncated?)")
        if sha256(data) != entry.get("sha256"):
            raise BundleError(directory / name, "checksum mismatch: the file was altered or corrupted")
        files[name] = data
    return files


def verify(directory: str | Path) -> None:
    """Check the manifest's checksums and the format version (:func:`read_files`)."""
    read_files(directory)


def read_config(directory: str | Path) -> dict:
    """A model directory's config.json (name, labels, what trained it), without loading the model."""
    path = Path(directory) / CONFIG
    return _parse_json(path, _read_inside(Path(directory), CONFIG))


def model_name(directory: str | Path) -> str:
    """The name a model directory is served and picked by, without loading the model."""
    return _name(read_config(directory), Path(directory))


def model_language(directory: str | Path) -> str:
    """The language a model directory is for, without loading the model."""
    return _language(read_config(directory))


def _language(config: dict) -> str:
    return config.get("language", "en")


def _name(config: dict, directory: Path) -> str:
    return config.get("name", directory.name)


def load(directory: str | Path, for_tagging: bool = False) -> Bundle:
    """Load and check a model directory written by :func:`save`.

    ``for_tagging`` keeps the embedding tables as stored (:class:`StoredTable`: int8 tables take a
    quarter of float32's memory), for the ONNX backend, which reads only the rows a batch uses
    (:func:`save` and the torch backend widen them), and the word vocabulary read-only in a trie
    (:class:`ner.vocab.CompactVocab`)."""
    directory = Path(directory)
    files = read_files(directory)
    config = _parse_json(directory / CONFIG, files[CONFIG])
    version, temperature = config.get("format_version", 1), config.get("temperature", 1.0)
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise BundleError(directory / CONFIG, f"format version {version!r}: this library reads 1 to {FORMAT_VERSION}")
    if not isinstance(temperature, int | float) or not math.isfinite(temperature) or temperature <= 0:
        raise BundleError(directory / CONFIG, f"temperature {temperature!r}: must be a positive number")
    vocab_json = _parse_json(directory / VOCAB, files[VOCAB])
    try:
        vocab = Vocabularies.from_json(vocab_json, compact=for_tagging)
        model_config = ModelConfig.from_dict(config["model"])
        if vocab.level != model_config.level:
            raise ValueError(f"the vocabulary is of {vocab.level}s, the network of {model_config.level}s")
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise BundleError(directory, f"inconsistent config or vocabulary: {error}") from None
    if LEXICON in files:
        vocab.lexicon = _lexicon(directory / LEXICON, files[LEXICON])
    try:
        weights = load_arrays(files[WEIGHTS])
        if not for_tagging:
            weights = loaded_tables(weights)
    except (SafetensorError, ValueError) as error:
        raise BundleError(directory / WEIGHTS, f"unreadable weights ({error})") from None
    if problem := _weights_problem(weights, model_config, vocab):
        raise BundleError(directory / WEIGHTS, f"{problem}: not the weights of this vocabulary and config")
    metrics = _parse_json(directory / METRICS, files[METRICS]) if METRICS in files else {}
    info = {
        k: v
        for k, v in config.items()
        if k not in ("format_version", "name", "language", "labels", "temperature", "model")
    }
    return Bundle(
        vocab,
        model_config,
        weights,
        _name(config, directory),
        _language(config),
        float(temperature),
        metrics,
        info,
        files.get(ENCODER),
        version,
    )


def network_shapes(config: ModelConfig, vocab: Vocabularies) -> dict[str, tuple[int, ...]]:
    """Every tensor of the network that ``config`` and ``vocab`` make, by name, with its shape: the
    state of :class:`ner.model.NERModel`, worked out without torch (a test holds the two together)."""
    tags = len(vocab.tags)
    shapes: dict[str, tuple[int, ...]] = {
        "word_embed.weight": (len(vocab.words), config.word_dim),
        "casing_embed.weight": (len(CASINGS), config.casing_dim),
    }
    features = config.word_dim + config.casing_dim
    if config.level == "word":
        shapes["char_encoder.embed.weight"] = (len(vocab.chars) if vocab.chars else 0, config.char_dim)
        if config.char_encoder == "cnn":
            shapes["char_encoder.conv.weight"] = (config.char_hidden, config.char_dim, config.char_kernel)
            shapes["char_encoder.conv.bias"] = (config.char_hidden,)
        else:
            shapes |= _recurrent_shapes("char_encoder.lstm", 4, config.char_dim, config.char_hidden // 2, 1)
        features += config.char_hidden
    else:
        shapes["bigram_embed.weight"] = (len(vocab.bigrams) if vocab.bigrams else 0, config.bigram_dim)
        features += 2 * config.bigram_dim
        if config.lexicon_dim and vocab.lexicon and len(vocab.lexicon.classes):
            shapes["lexicon_embed.weight"] = (len(vocab.lexicon.classes), config.lexicon_dim)
            features += 4 * config.lexicon_dim
            if vocab.lexicon_words:
                shapes["lexicon_word_embed.weight"] = (len(vocab.lexicon_words), config.lexicon_dim)
    gates = 4 if config.cell == "lstm" else 3
    shapes |= _recurrent_shapes("rnn", gates, features, config.hidden, config.layers)
    shapes["project.weight"] = (tags, (4 if config.document_memory else 2) * config.hidden)
    shapes["project.bias"] = (tags,)
    shapes |= {"crf.start_transitions": (tags,), "crf.end_transitions": (tags,), "crf.transitions": (tags, tags)}
    return shapes


def _recurrent_shapes(prefix: str, gates: int, inputs: int, hidden: int, layers: int) -> dict[str, tuple[int, ...]]:
    """A bidirectional LSTM's (4 gates) or GRU's (3) tensors, as torch names them."""
    shapes: dict[str, tuple[int, ...]] = {}
    for layer in range(layers):
        for direction in ("", "_reverse"):
            shapes[f"{prefix}.weight_ih_l{layer}{direction}"] = (gates * hidden, inputs if layer == 0 else 2 * hidden)
            shapes[f"{prefix}.weight_hh_l{layer}{direction}"] = (gates * hidden, hidden)
            shapes[f"{prefix}.bias_ih_l{layer}{direction}"] = (gates * hidden,)
            shapes[f"{prefix}.bias_hh_l{layer}{direction}"] = (gates * hidden,)
    return shapes


def _weights_problem(weights: dict[str, np.ndarray], config: ModelConfig, vocab: Vocabularies) -> str | None:
    """What in ``weights`` cannot be the network of ``config`` and ``vocab``, found without building it:
    an array that is no float (but an int8 table with its scales), a tensor missing, of another shape,
    or of no such network. None when nothing is found; both backends then read the same tensors."""
    for name, array in weights.items():
        table = name.removesuffix(SCALE_SUFFIX)
        if name.endswith(SCALE_SUFFIX):
            if not (table in weights and weights[table].dtype == np.int8):
                return f"{name} scales no int8 table"
            if array.shape != (len(weights[table]),) or array.dtype != np.float32:
                return f"{name} has shape {array.shape} ({array.dtype}) for ({len(weights[table])},) (float32)"
        if array.dtype == np.int8 and not (name.endswith(EMBEDDING_SUFFIX) and name + SCALE_SUFFIX in weights):
            return f"{name} is int8 without its scales"
        if array.dtype != np.int8 and array.dtype.kind != "f":
            return f"{name} holds {array.dtype}, not floats"
    expected = network_shapes(config, vocab)
    for name, shape in expected.items():
        if name not in weights:
            return f"no {name}"
        if weights[name].shape != shape:
            return f"{name} has shape {weights[name].shape} for {shape}"
    if unknown := sorted(name for name in weights if name not in expected and not name.endswith(SCALE_SUFFIX)):
        return f"{unknown[0]} is no tensor of this network"
    return None


_lexicons: dict[str, Lexicon] = {}


def _lexicon(path: Path, data: bytes) -> Lexicon:
    """The lexicon in ``data``, parsed once per process however many models share it (by checksum)."""
    digest = sha256(data)
    if digest not in _lexicons:
        try:
            _lexicons[digest] = Lexicon.from_bytes(data)
        except (SafetensorError, KeyError, ValueError) as error:
            raise BundleError(path, f"unreadable lexicon ({error})") from None
    return _lexicons[digest]
