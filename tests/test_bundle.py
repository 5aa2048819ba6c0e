"""Model directories are untrusted input: checksums, versions, and no pickled code ever runs."""

from __future__ import annotations

import errno
import json
import os
import pickle
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from ner import bundle as bundles
from ner.bundle import BundleError
from ner.cli import main
from ner.lexicon import Lexicon
from ner.vocab import CompactVocab, Vocab

from .conftest import reseal, tiny_train_args


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


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")  # torch notes the hostile pickle's protocol
def test_pickled_checkpoint_never_runs(tiny_corpus: dict, tmp_path: Path) -> None:
    """--resume loads checkpoints with weights_only=True: a malicious checkpoint is refused, not run."""
    marker = tmp_path / "pwned"
    work = tmp_path / "m.training"
    work.mkdir()
    (work / "checkpoint.pt").write_bytes(pickle.dumps(_CreatesFile(marker)))
    (work / "vocab.json").write_text("{}")
    code = main(tiny_train_args(tmp_path / "m", tiny_corpus["train"], tiny_corpus["dev"], "--resume"))
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


def test_a_link_out_of_the_directory_is_refused(model_copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.json"
    outside.write_bytes((model_copy / "vocab.json").read_bytes())  # the same bytes: only the link is wrong
    (model_copy / "vocab.json").unlink()
    (model_copy / "vocab.json").symlink_to(outside)
    with pytest.raises(BundleError, match="vocab.json.*a link"):
        bundles.load(model_copy)


def test_a_file_name_that_leaves_the_directory_is_refused(model_copy: Path) -> None:
    manifest = json.loads((model_copy / "manifest.json").read_text())
    manifest["files"]["../secret"] = {"sha256": "0" * 64, "bytes": 1}
    (model_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="invalid file name '../secret'"):
        bundles.load(model_copy)


def test_float16_tables_are_stored_half_and_loaded_as_float32(model_copy: Path, tmp_path: Path) -> None:
    loaded = bundles.load(model_copy)
    loaded.info["embedding_dtype"] = "float16"
    target = bundles.save(loaded, tmp_path / "half", card="# half\n")
    assert (target / "weights.safetensors").stat().st_size < (model_copy / "weights.safetensors").stat().st_size
    again = bundles.load(target)
    for name, array in loaded.weights.items():
        assert again.weights[name].dtype == np.float32, name
        if name.endswith("embed.weight"):
            assert np.array_equal(again.weights[name], array.astype(np.float16).astype(np.float32)), name
        else:
            assert np.array_equal(again.weights[name], array), name


def test_int8_tables_are_stored_a_quarter_and_loaded_within_half_a_step(model_copy: Path, tmp_path: Path) -> None:
    loaded = bundles.load(model_copy)
    loaded.info["embedding_dtype"] = "int8"
    target = bundles.save(loaded, tmp_path / "int8", card="# int8\n")
    stored = load_file(target / "weights.safetensors")
    again = bundles.load(target)
    assert set(again.weights) == set(loaded.weights)  # the scales are folded in, not separate weights
    for name, array in loaded.weights.items():
        assert again.weights[name].dtype == np.float32, name
        if name.endswith("embed.weight"):
            assert stored[name].dtype == np.int8 and stored[name + ".scale"].shape == (len(array),), name
            step = np.abs(array).max(axis=1, keepdims=True) / 127
            assert np.all(np.abs(again.weights[name] - array) <= step / 2 + 1e-7), name
        else:
            assert np.array_equal(again.weights[name], array), name
    # Stored again as they loaded, the tables give the same bytes: rounding twice changes nothing.
    again.info["embedding_dtype"] = "int8"
    twice = bundles.save(again, tmp_path / "twice", card="# int8\n")
    assert (twice / "weights.safetensors").read_bytes() == (target / "weights.safetensors").read_bytes()


@pytest.mark.parametrize("dtype", ["float32", "float16", "int8"])
def test_tables_kept_as_stored_read_the_rows_of_the_widened_ones_and_save_the_same_bytes(
    model_copy: Path, tmp_path: Path, dtype: str
) -> None:
    loaded = bundles.load(model_copy)
    loaded.info["embedding_dtype"] = dtype
    target = bundles.save(loaded, tmp_path / dtype, card=f"# {dtype}\n")
    widened, narrow = bundles.load(target), bundles.load(target, for_tagging=True)
    assert narrow.weights["word_embed.weight"].dtype == np.dtype(dtype)
    assert ("word_embed.weight.scale" in narrow.weights) == (dtype == "int8")
    ids = np.array([[0, 3, 3], [len(widened.weights["word_embed.weight"]) - 1, 1, 2]])
    table, whole = bundles.StoredTable.of(narrow.weights, "word_embed.weight"), widened.weights["word_embed.weight"]
    assert np.array_equal(table.rows(ids), whole[ids.ravel()])
    assert np.array_equal(bundles.loaded_tables(narrow.weights)["word_embed.weight"], whole)
    many = np.random.default_rng(0).integers(0, len(whole), (len(whole) // 3, 2, 4))  # a pass over the table
    for some in (ids, many):
        rows, renumbered = table.lookup(some)
        assert np.array_equal(rows[renumbered], whole[some])
    assert len(table.lookup(ids)[0]) == ids.size and len(table.lookup(many)[0]) == len(np.unique(many))
    again = bundles.save(narrow, tmp_path / "again", card=f"# {dtype}\n")  # stored as they are, not rounded twice
    assert (again / "weights.safetensors").read_bytes() == (target / "weights.safetensors").read_bytes()
    # Its words are held in a trie for tagging, under the same ids, and saved as they were.
    assert isinstance(narrow.vocab.words, CompactVocab) and isinstance(widened.vocab.words, Vocab)
    assert narrow.vocab.words.encode(widened.vocab.words.itos) == list(range(len(widened.vocab.words)))
    assert (again / "vocab.json").read_bytes() == (target / "vocab.json").read_bytes()


def test_an_all_zero_row_survives_int8() -> None:
    tables = {"word_embed.weight": np.array([[0.0, 0.0], [0.5, -1.0]], dtype=np.float32)}
    back = bundles.loaded_tables(bundles.stored_tables(tables, "int8"))
    assert np.array_equal(back["word_embed.weight"][0], [0.0, 0.0])
    assert np.allclose(back["word_embed.weight"][1], [0.5, -1.0], atol=1 / 254)


def test_a_table_of_width_zero_is_stored_as_int8() -> None:
    """``casing_dim = 0`` makes one: no row has a largest value to scale by."""
    tables = {"casing_embed.weight": np.zeros((8, 0), dtype=np.float32)}
    back = bundles.loaded_tables(bundles.stored_tables(tables, "int8"))
    assert back["casing_embed.weight"].shape == (8, 0)


def test_the_lexicon_travels_with_the_model(tiny_zh_model: Path, tmp_path: Path) -> None:
    loaded = bundles.load(tiny_zh_model)
    assert (tiny_zh_model / "lexicon.safetensors").is_file() and loaded.vocab.lexicon is not None
    small = Lexicon([("北京", 10, "ns"), ("大学", 5, "n")])
    loaded.vocab.lexicon = small
    dim = loaded.weights["lexicon_embed.weight"].shape[1]  # a table of the new lexicon's classes
    loaded.weights["lexicon_embed.weight"] = np.zeros((len(small.classes), dim), dtype=np.float32)
    again = bundles.load(bundles.save(loaded, tmp_path / "zh", card="# zh\n"))
    assert again.vocab.lexicon.words == small.words


def test_saving_again_keeps_extra_files_and_the_manifest_lists_them(model_copy: Path) -> None:
    loaded = bundles.load(model_copy)
    bundles.save(loaded, model_copy, card="# again\n")
    listed = json.loads((model_copy / "manifest.json").read_text())["files"]
    assert "curves.png" in listed and "encoder.onnx" in listed
    assert set(listed) == {p.name for p in model_copy.iterdir()} - {"manifest.json"}


def test_a_model_saved_without_an_encoder_does_not_inherit_the_old_one(model_copy: Path) -> None:
    loaded = bundles.load(model_copy)
    loaded.encoder = None
    bundles.save(loaded, model_copy, card="# again\n")
    assert not (model_copy / "encoder.onnx").exists()
    assert "encoder.onnx" not in json.loads((model_copy / "manifest.json").read_text())["files"]
    assert bundles.load(model_copy).encoder is None


def _rewrite(model: Path, name: str, change) -> None:
    """Change one JSON file of a model and its manifest entry to match: a consistent but odd directory."""
    path = model / name
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    reseal(model, name)


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        ("config.json", lambda c: c.update(temperature=0), "temperature 0"),
        ("config.json", lambda c: c.update(temperature=float("nan")), "temperature nan"),
        ("config.json", lambda c: c.update(format_version="2"), "format version '2'"),
        ("config.json", lambda c: c["model"].update(level="char"), "of words, the network of chars"),
        ("vocab.json", lambda v: v["words"].pop(5), r"word_embed.weight has shape \(\d+, \d+\) for"),
        ("vocab.json", lambda v: v["tags"].pop(), "project.weight has shape"),
        ("config.json", lambda c: c["model"].update(cell="gru"), "rnn.weight_ih_l0 has shape"),
        ("config.json", lambda c: c["model"].update(layers=2), "no rnn.weight_ih_l1"),
    ],
)
def test_a_consistent_but_odd_model_is_refused_in_one_line(model_copy: Path, name: str, change, message: str) -> None:
    """The manifest guards against damage; these are files written wrong and checksummed anew. Each backend
    would have tagged on (scores of null, every id off by one) or failed in a trace."""
    _rewrite(model_copy, name, change)
    with pytest.raises(BundleError, match=message):
        bundles.load(model_copy, for_tagging=True)


def _rewrite_weights(model: Path, change) -> None:
    """Change the weights of a model and their manifest entry to match."""
    from safetensors.numpy import save_file

    weights = load_file(model / "weights.safetensors")
    change(weights)
    save_file(weights, model / "weights.safetensors")
    reseal(model, "weights.safetensors")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda w: w.pop("rnn.bias_ih_l0_reverse"), "no rnn.bias_ih_l0_reverse"),
        (lambda w: w.update({"rnn.weight_hh_l0": w["rnn.weight_hh_l0"][:, :-1]}), "rnn.weight_hh_l0 has shape"),
        (lambda w: w.update(extra=np.zeros(3, dtype=np.float32)), "extra is no tensor of this network"),
    ],
)
@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_weights_of_another_network_are_refused_alike_by_both_backends(
    model_copy: Path, change, message: str, backend: str
) -> None:
    """Each backend had read these its own way: ONNX Runtime failed in a trace or tagged on, torch refused."""
    from ner import Tagger

    _rewrite_weights(model_copy, change)
    with pytest.raises(BundleError, match=f"weights.safetensors: {message}"):
        Tagger.load(model_copy, backend=backend)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda w: w.pop("word_embed.weight.scale"), "word_embed.weight is int8 without its scales"),
        (lambda w: w.update({"word_embed.weight.scale": w["word_embed.weight.scale"][:10]}), "scale has shape"),
    ],
)
@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_an_int8_table_without_its_scales_is_refused(
    model_copy: Path, tmp_path: Path, change, message: str, backend: str
) -> None:
    from ner import Tagger

    loaded = bundles.load(model_copy)
    loaded.info["embedding_dtype"] = "int8"
    target = bundles.save(loaded, tmp_path / "int8", card="# card\n")
    _rewrite_weights(target, change)
    with pytest.raises(BundleError, match=message):
        Tagger.load(target, backend=backend)


def test_a_save_stopped_between_its_renames_puts_the_old_model_back(
    model_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = bundles.load(model_copy)
    real_rename = Path.rename

    def rename(self: Path, target: Path) -> Path:
        if self.name.startswith(".model.") and ".old-" not in self.name:  # the staging directory's turn: Ctrl-C
            raise KeyboardInterrupt
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        bundles.save(loaded, model_copy, card="# new\n")
    monkeypatch.undo()
    bundles.verify(model_copy)
    assert (model_copy / "README.md").read_text() != "# new\n"
    assert [p.name for p in model_copy.parent.iterdir() if p.name.startswith(".model")] == []


def test_a_signal_between_the_renames_waits_for_the_swap_and_a_full_disk_is_named(
    model_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C (or a kill) as the old model is moved aside is held until the new one is in place and the
    old one removed; a disk error there puts the old model back and names the directory."""
    loaded = bundles.load(model_copy)
    real_rename = Path.rename

    def rename(self: Path, target: Path) -> Path:
        if ".old-" in target.name:
            os.kill(os.getpid(), signal.SIGINT)
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)  # also where the suite ignores SIGINT
    try:
        with pytest.raises(KeyboardInterrupt):
            bundles.save(loaded, model_copy, card="# new\n")
    finally:
        signal.signal(signal.SIGINT, before)
    assert (model_copy / "README.md").read_text() == "# new\n"
    bundles.verify(model_copy)
    assert [p.name for p in model_copy.parent.iterdir() if p.name.startswith(".model")] == []

    def full(self: Path, target: Path) -> Path:
        if self.name.startswith(".model.") and ".old-" not in self.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", full)
    with pytest.raises(BundleError, match=r"model: not saved \(No space left on device\); what was there is as it"):
        bundles.save(loaded, model_copy, card="# newer\n")
    monkeypatch.undo()
    assert (model_copy / "README.md").read_text() == "# new\n"
    bundles.verify(model_copy)


def test_a_save_that_swapped_but_could_not_flush_says_so(model_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = bundles.load(model_copy)
    real_flush = bundles._flush_to_disk

    def flush(path: Path) -> None:
        if path == model_copy.parent.resolve():
            raise OSError(errno.EIO, "Input/output error")
        real_flush(path)

    monkeypatch.setattr(bundles, "_flush_to_disk", flush)
    with pytest.raises(BundleError, match="saved, but not flushed to disk"):
        bundles.save(loaded, model_copy, card="# new\n")
    assert (model_copy / "README.md").read_text() == "# new\n"
    assert [p.name for p in model_copy.parent.iterdir() if p.name.startswith(".model")] == []


def test_saving_through_a_link_or_as_dot_replaces_the_model_it_names(model_copy: Path, tmp_path: Path) -> None:
    loaded = bundles.load(model_copy)
    (tmp_path / "current").symlink_to(model_copy.name)
    bundles.save(loaded, tmp_path / "current", card="# through the link\n")
    assert (tmp_path / "current").is_symlink() and (model_copy / "README.md").read_text() == "# through the link\n"
    here = os.getcwd()
    try:
        os.chdir(model_copy)
        bundles.save(loaded, ".", card="# as dot\n")
    finally:
        os.chdir(here)
    assert (model_copy / "README.md").read_text() == "# as dot\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_the_service_serves_no_hidden_folder(model_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.settings import default_models

    shutil.copytree(model_copy, model_copy.parent / ".model.x1y2")  # a save killed before its rename
    monkeypatch.setenv("NER_MODELS_DIR", str(model_copy.parent))
    assert default_models() == [str(model_copy)]


def test_a_folder_the_service_may_not_enter_is_no_model(model_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ext4's lost+found (root's, mode 0700) on a models volume stopped ``ner serve`` with Errno 13. Root
    enters any folder, so the refusal a service's own user meets there is mocked."""
    from api.settings import default_models

    lost = model_copy.parent / "lost+found"
    lost.mkdir()
    real_stat = os.stat

    def stat(path: str | os.PathLike, *args: object, **kwargs: object) -> os.stat_result:
        if Path(path).parent == lost:
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setenv("NER_MODELS_DIR", str(model_copy.parent))
    assert default_models() == [str(model_copy)]


def test_a_save_is_on_disk_before_the_swap(model_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each file, the new directory and then the folder holding it are flushed to disk (fsync)."""
    flushed: list[str] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (flushed.append(os.readlink(f"/proc/self/fd/{fd}")), real_fsync(fd)))
    target = bundles.save(bundles.load(model_copy), tmp_path / "saved", card="# card\n")
    names = [Path(path).name for path in flushed]
    assert {p.name for p in target.iterdir()} <= set(names)
    assert flushed[-1] == str(tmp_path.resolve())  # the rename, last


def test_windows_flushes_files_open_for_writing_and_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows' fsync needs a handle open for writing and cannot open a folder: os.name and os.open stand in
    for Windows here, which the tests cannot run on."""
    opened: list[tuple[str, int]] = []
    real_open = os.open
    monkeypatch.setattr(
        os, "open", lambda path, flags: (opened.append((os.path.basename(path), flags)), real_open(path, flags))[1]
    )
    (tmp_path / "weights").write_bytes(b"w")
    monkeypatch.setattr(os, "name", "nt")
    bundles._flush_to_disk(tmp_path / "weights")
    bundles._flush_to_disk(tmp_path)
    monkeypatch.setattr(os, "name", "posix")
    bundles._flush_to_disk(tmp_path)
    assert opened == [("weights", os.O_RDWR), (tmp_path.name, os.O_RDONLY)]


def test_a_model_replaced_while_it_is_read_is_read_again_whole(model_copy: Path, monkeypatch) -> None:
    """A service starting beside ``ner calibrate --apply``: the manifest read was the old model's, the
    files after it the new one's, which read as a checksum mismatch (one load in twelve, racing)."""
    bundle, card = bundles.load(model_copy), (model_copy / "README.md").read_text()
    read_inside, replaced = bundles._read_inside, []

    def read_then_replace(directory: Path, name: str, expected: int | None = None) -> bytes:
        data = read_inside(directory, name, expected)
        if name == bundles.MANIFEST and not replaced:
            replaced.append(name)
            bundle.metrics["rewritten"] = True
            bundles.save(bundle, model_copy, card)
        return data

    monkeypatch.setattr(bundles, "_read_inside", read_then_replace)
    assert bundles.load(model_copy).metrics["rewritten"] is True
    # Damage that no save explains is reported at once, as before.
    (model_copy / "metrics.json").write_text("{}\n")
    with pytest.raises(BundleError, match="metrics.json: size"):
        bundles.load(model_copy)


def test_a_read_only_model_directory_is_not_written_over(
    model_copy: Path, tiny_corpus: dict, monkeypatch, capsys
) -> None:
    """``ner calibrate --apply`` on a directory made read-only: the save replaced it all the same, without
    its protection, and left the old model whole in a hidden folder it could not delete. (Read-only is
    mocked: ``os.access``, which root passes anyway.)"""
    before = {p.name: p.read_bytes() for p in model_copy.iterdir()}
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != model_copy and real_access(p, mode))
    assert main(["calibrate", str(model_copy), str(tiny_corpus["dev"]), "--apply"]) == 2
    assert "is read-only: a model cannot be written over it" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in model_copy.iterdir()} == before


def test_a_model_directory_that_cannot_be_read_is_a_bundle_error(model_copy: Path, monkeypatch) -> None:
    """A directory of mode 000 stopped ``ner serve`` with a PermissionError where an unreadable file only
    skipped its model. (The mode is mocked: root reads it anyway.)"""
    real_exists = Path.exists

    def denied(path: Path, *args, **kwargs) -> bool:
        if path.parent == model_copy:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_exists(path, *args, **kwargs)

    monkeypatch.setattr(Path, "exists", denied)
    with pytest.raises(BundleError, match="manifest.json: unreadable \\(Permission denied\\)"):
        bundles.load(model_copy)


def test_damage_is_reported_after_one_reading_beside_a_folder_a_save_left(model_copy: Path, monkeypatch) -> None:
    """A folder set aside by a save that was killed, left beside the model, made every damaged model be
    read five times, as if a save were under way."""
    (model_copy.parent / f".{model_copy.name}.old-12345").mkdir()
    (model_copy / "metrics.json").write_text("{}\n")
    readings = []
    read_listed = bundles._read_listed
    monkeypatch.setattr(bundles, "_read_listed", lambda directory: readings.append(1) or read_listed(directory))
    with pytest.raises(BundleError, match="metrics.json: size"):
        bundles.load(model_copy)
    assert len(readings) == 1
