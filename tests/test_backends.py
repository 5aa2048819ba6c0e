"""Tests for ner.backends and ner.torch_backend: the ONNX Runtime backend tags as the torch one does, on every
kind of tiny model; the choice of backend; and a serving path that never imports torch."""

from __future__ import annotations

import gc
import json
import os
import pickle
import subprocess
import sys
import weakref
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import threadpoolctl

from ner import BundleError, Tagger, TagOptions
from ner import bundle as bundles
from ner.backends import load_backend, recurrent_weights
from ner.cli import main

from .conftest import ROOT, shipped_model, synthetic_chinese, synthetic_sentences

ENGLISH = [" ".join(t for t, _ in s) for s in synthetic_sentences(60, 51)]
# Several sentences per text, so that a document memory pools over them.
ENGLISH_DOCUMENTS = [" ".join(ENGLISH[i : i + 4]) for i in range(0, 60, 4)] + [
    "John Smith visited Berlin. Smith left. Then SMITH came back to berlin!",
    "x",
    "Ana Silva works for Acme Corp in Cairo on Monday and Peter Brown works for Siemens in Oslo .",
]
CHINESE = ["".join(c for c, _ in s) for s in synthetic_chinese(60, 52)] + ["李明在北京工作。王芳是北京大学的教授。"]


def assert_same_analyses(model: Path, texts: list[str]) -> int:
    """Tags ``texts`` with both backends: the same entities, n-best and tags, scores within 1e-4; returns the
    number of entities."""
    onnx, torch_ = Tagger.load(model, backend="onnx"), Tagger.load(model, backend="torch")
    assert (onnx.backend.name, torch_.backend.name) == ("onnx", "torch")
    options = TagOptions(tokens=True, nbest=3)
    found = 0
    for a, b in zip(onnx.analyze(texts, options), torch_.analyze(texts, options), strict=True):
        assert [(e.start, e.end, e.label) for e in a.entities] == [(e.start, e.end, e.label) for e in b.entities]
        assert [e.score for e in a.entities] == pytest.approx([e.score for e in b.entities], abs=1e-4)
        assert [t.tag for t in a.tokens] == [t.tag for t in b.tokens]
        assert [x.probability for x in a.alternatives] == pytest.approx(
            [x.probability for x in b.alternatives], abs=1e-4
        )
        found += len(a.entities)
    return found


def test_onnx_tags_as_torch_english(tiny_model: Path) -> None:
    assert assert_same_analyses(tiny_model, ENGLISH_DOCUMENTS) > 100


def test_onnx_tags_as_torch_chinese_with_a_lexicon(tiny_zh_model: Path) -> None:
    assert bundles.load(tiny_zh_model).vocab.lexicon is not None  # the recipe gave it jieba's dictionary
    assert assert_same_analyses(tiny_zh_model, CHINESE) > 80


@pytest.mark.parametrize("variant", ["memory", "gru", "char-lstm"])
def test_onnx_tags_as_torch_with_the_other_network_options(tiny_variant: Callable[[str], Path], variant: str) -> None:
    model = tiny_variant(variant)
    assert assert_same_analyses(model, ENGLISH_DOCUMENTS) > 100


def test_onnx_emissions_equal_torch_emissions(tiny_model: Path) -> None:
    onnx, torch_ = Tagger.load(tiny_model, backend="onnx"), Tagger.load(tiny_model, backend="torch")
    batch = onnx.vocab.encode([t.split() for t in ENGLISH])
    got, expected = onnx.backend.emissions(batch), torch_.backend.emissions(batch)
    assert got.dtype == expected.dtype == np.float32
    assert np.abs(got - expected)[batch.mask].max() <= 1e-4
    a, b = onnx.backend.crf_scores(), torch_.backend.crf_scores()
    assert np.array_equal(a.transitions, b.transitions) and np.array_equal(a.sources, b.sources)


def test_onnx_runtime_writes_nothing_under_home_and_says_nothing_where_it_cannot(
    tiny_model: Path, tmp_path: Path
) -> None:
    """Its telemetry kept a device id and a database under HOME, and with HOME not writable (a read-only
    container) printed a coloured warning of its own, no JSON line, on every start."""
    home = tmp_path / "home-is-a-file"  # nothing can be created under it, not even by root
    home.write_text("")
    script = f"from ner import Tagger; print(len(Tagger.load({str(tiny_model)!r}, backend='onnx').tag('Ann Lee .')))"
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env={**os.environ, "HOME": str(home)}
    )
    assert run.returncode == 0 and run.stderr == "", run.stderr


def test_single_sentences_run_on_a_single_threaded_session_with_the_same_result(tiny_model: Path) -> None:
    two = Tagger.load(tiny_model, backend="onnx", threads=2).backend
    one = Tagger.load(tiny_model, backend="onnx", threads=1).backend
    assert two.single_session is not two.session and one.single_session is one.session
    assert two.single_session.get_session_options().intra_op_num_threads == 1
    assert two.session.get_session_options().intra_op_num_threads == 2
    for sentence in ENGLISH:
        batch = one.bundle.vocab.encode([sentence.split()])
        assert np.array_equal(two.emissions(batch), one.emissions(batch))


@pytest.fixture
def format_1(tiny_model: Path, tmp_path: Path) -> Path:
    """``tiny_model`` as a format 1 directory: its encoder holds its own copy of the recurrent weights."""
    import onnx
    from onnx import numpy_helper

    bundle = bundles.load(tiny_model)
    proto, recurrent = onnx.load_from_string(bundle.encoder), recurrent_weights(bundle.weights)
    for initializer in proto.graph.initializer:
        if initializer.data_location == onnx.TensorProto.EXTERNAL:
            initializer.CopyFrom(numpy_helper.from_array(recurrent[initializer.name], initializer.name))
    bundle.encoder, bundle.format_version = proto.SerializeToString(), 1
    return bundles.save(bundle, tmp_path / "format-1", card="# format 1\n")


def test_a_format_1_model_tags_as_before(tiny_model: Path, format_1: Path) -> None:
    assert bundles.load(format_1).format_version == 1 and bundles.load(tiny_model).format_version == 2
    assert len(bundles.load(format_1).encoder) > len(bundles.load(tiny_model).encoder) + 10_000
    old, new = Tagger.load(format_1, backend="onnx"), Tagger.load(tiny_model, backend="onnx")
    batch = new.vocab.encode([t.split() for t in ENGLISH])
    assert np.array_equal(old.backend.emissions(batch), new.backend.emissions(batch))
    assert assert_same_analyses(format_1, ENGLISH_DOCUMENTS[:5]) > 5
    # `ner export` rewrites it as format 2.
    assert main(["export", str(format_1)]) == 0
    rewritten = bundles.load(format_1)
    assert rewritten.format_version == 2 and len(rewritten.encoder) == len(bundles.load(tiny_model).encoder)
    assert np.array_equal(Tagger.load(format_1, backend="onnx").backend.emissions(batch), new.backend.emissions(batch))


@pytest.fixture
def int8_tables(tiny_model: Path, tmp_path: Path) -> Path:
    """``tiny_model`` with its embedding tables stored as int8, exported again from them."""
    bundle = bundles.load(tiny_model)
    bundle.info["embedding_dtype"] = "int8"
    path = bundles.save(bundle, tmp_path / "int8", card="# int8\n")
    assert main(["export", str(path)]) == 0  # the small tables are constants of the graph
    return path


def test_the_onnx_backend_keeps_int8_tables_as_stored_and_tags_as_with_them_widened(int8_tables: Path) -> None:
    tagger = Tagger.load(int8_tables, backend="onnx")
    table = tagger.backend.tables["word_embed.weight"]
    assert table.values.dtype == np.int8 and table.scale is not None and not tagger.backend.whole_tables
    widened = load_backend(bundles.load(int8_tables), "onnx")  # the whole float32 table given to the graph
    assert not widened.tables and widened.whole_tables["word_embed.weight"].dtype == np.float32
    for texts in (ENGLISH, ENGLISH[:1]):
        batch = tagger.vocab.encode([t.split() for t in texts])
        assert np.array_equal(tagger.backend.emissions(batch), widened.emissions(batch))
    assert assert_same_analyses(int8_tables, ENGLISH_DOCUMENTS[:5]) > 5  # torch widens the tables it is given


def test_an_encoder_exported_with_tables_of_fixed_size_is_given_them_whole(int8_tables: Path, tmp_path: Path) -> None:
    import onnx

    bundle = bundles.load(int8_tables, for_tagging=True)
    proto = onnx.load_from_string(bundle.encoder)
    (table,) = [i for i in proto.graph.input if i.name == "word_embed.weight"]
    table.type.tensor_type.shape.dim[0].dim_value = len(bundle.weights["word_embed.weight"])  # as exported before
    bundle.encoder = proto.SerializeToString()
    old = Tagger.load(bundles.save(bundle, tmp_path / "fixed", card="# fixed rows\n"), backend="onnx")
    assert not old.backend.tables and old.backend.whole_tables["word_embed.weight"].dtype == np.float32
    new = Tagger.load(int8_tables, backend="onnx")
    batch = new.vocab.encode([t.split() for t in ENGLISH])
    assert np.array_equal(old.backend.emissions(batch), new.backend.emissions(batch))


def test_numpy_blas_runs_on_one_thread_once_a_model_is_loaded(tiny_model: Path) -> None:
    """Idle OpenBLAS threads spin and would take the encoder's cores."""
    Tagger.load(tiny_model, backend="onnx", threads=2)
    blas = [pool for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)


@pytest.fixture
def without_encoder(tiny_model: Path, tmp_path: Path) -> Path:
    bundle = bundles.load(tiny_model)
    bundle.encoder = None
    return bundles.save(bundle, tmp_path / "no-encoder", card="# no encoder\n")


def test_onnx_without_an_encoder_is_a_clear_bundle_error(without_encoder: Path) -> None:
    with pytest.raises(BundleError, match="encoder.onnx.*no exported encoder: run ner export") as error:
        Tagger.load(without_encoder, backend="onnx")
    assert error.value.path == "encoder.onnx"


def test_auto_chooses_onnx_only_where_it_can(tiny_model: Path, without_encoder: Path) -> None:
    assert Tagger.load(tiny_model).backend.name == "onnx"
    assert Tagger.load(without_encoder).backend.name == "torch"
    with pytest.raises(ValueError, match="backend torch"):
        Tagger.load(tiny_model, backend="onnx", device="cuda")
    with pytest.raises(ValueError, match="backend must be one of"):
        Tagger.load(tiny_model, backend="tensorflow")


def test_torch_refuses_weights_that_do_not_fit_the_config(tiny_model: Path) -> None:
    bundle = bundles.load(tiny_model)
    bundle.weights["project.weight"] = bundle.weights["project.weight"][:, :-1]
    with pytest.raises(BundleError, match="weights.safetensors.*do not fit"):
        load_backend(bundle, "torch")


SERVING = """
import sys
import ner, api.app
from ner import Tagger

for name, text, expected in [
    ("en-conll03", "Angela Merkel visited Paris.", {("Angela Merkel", "PER"), ("Paris", "LOC")}),
    ("zh-msra", "李明在北京工作。", {("李明", "PER"), ("北京", "LOC")}),
]:
    tagger = Tagger.load("models/" + name, backend="onnx")
    assert tagger.backend.name == "onnx"
    found = {(e.text, e.label) for e in tagger.tag(text)}
    assert expected <= found, (name, found)
    tagger.analyze([text], ner.TagOptions(tokens=True, nbest=2))
loaded = sorted(m for m in sys.modules if m == "torch" or m.startswith(("torch.", "torchcrf")))
assert not loaded, loaded
print("no torch")
"""


def test_the_serving_path_never_imports_torch() -> None:
    shipped_model("en-conll03")
    shipped_model("zh-msra")
    result = subprocess.run([sys.executable, "-c", SERVING], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "no torch"


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_a_tagger_let_go_is_freed_with_its_backend(tiny_model: Path, backend: str) -> None:
    """Nothing process-wide keeps a backend (its sessions, weights and threads) once its tagger is gone."""
    tagger = Tagger.load(tiny_model, backend=backend)
    tagger.nbest("John Smith visited Berlin.", 2)
    gone = weakref.ref(tagger.backend)
    del tagger
    gc.collect()
    assert gone() is None


FORKED = """
import json, logging, multiprocessing, sys
from ner import Tagger
logging.basicConfig()
tagger = Tagger.load(sys.argv[1], backend=sys.argv[2], threads=2)
texts = sys.argv[3:]
def analyses(_):
    return [[(e.start, e.end, e.label) for e in entities] for entities in tagger.tag_batch(texts)]
if __name__ == "__main__":
    parent = analyses(0)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        child = pool.apply_async(analyses, (0,)).get(timeout=60)
    print(json.dumps({"same": child == parent}))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="a fork of a process with threads: Linux")
@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_a_tagger_loaded_before_a_fork_tags_in_the_child(tiny_model: Path, backend: str, tmp_path: Path) -> None:
    """A prefork server (gunicorn --preload, Celery): torch's OpenMP threads stay in the parent, so the
    child waited for ever (now it runs on one thread); ONNX Runtime's too, so it runs on one thread and may
    not end (the pool's workers end by os._exit): both say so."""
    script = tmp_path / "forked.py"
    script.write_text(FORKED)
    done = subprocess.run(
        [sys.executable, str(script), str(tiny_model), backend, *ENGLISH[:40]],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["same"]
    said = {"torch": "torch runs on one thread in a process forked", "onnx": "loaded before this process was forked"}
    assert said[backend] in done.stderr


def test_a_tagger_is_not_pickled_and_says_what_to_do_instead(tiny_model: Path) -> None:
    with pytest.raises(TypeError, match="load the model in each worker"):
        pickle.dumps(Tagger.load(tiny_model))


def test_an_encoder_cannot_read_a_file_of_the_working_directory(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given the encoder as bytes, ONNX Runtime read an initializer kept outside it from the working
    directory: a crafted model (its manifest rewritten) fed a `.env` there into its network."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = onnx.load_from_string(bundles.load(tiny_model).encoder)
    leak = TensorProto(name="leak", data_type=TensorProto.UINT8, dims=[8], data_location=TensorProto.EXTERNAL)
    leak.external_data.add(key="location", value=".env")
    graph.graph.initializer.append(leak)
    graph.graph.node.append(helper.make_node("Identity", ["leak"], ["leaked"]))
    graph.graph.output.append(helper.make_tensor_value_info("leaked", TensorProto.UINT8, [8]))
    crafted = bundles.load(tiny_model)
    crafted.encoder = graph.SerializeToString()
    bundles.save(crafted, tmp_path / "crafted", card="a crafted model\n")
    (tmp_path / "cwd").mkdir()
    (tmp_path / "cwd" / ".env").write_bytes(b"API_KEY=hunter2")
    monkeypatch.chdir(tmp_path / "cwd")
    with pytest.raises(RuntimeError, match="External data path"):
        Tagger.load(tmp_path / "crafted", backend="onnx")


def test_a_config_of_absurd_sizes_is_refused_before_anything_is_built() -> None:
    """A million layers passed, and took 2 GB and 10 s to be found not to fit the weights."""
    from ner.config import ModelConfig

    for sizes in ({"layers": 1_000_000}, {"hidden": 10**9}):
        with pytest.raises(ValueError, match=r"invalid model setting (layers|hidden)=\d+: 1 to"):
            ModelConfig(**sizes)


def test_an_onnxruntime_that_fails_to_load_is_that_error_not_a_fall_back_to_torch(monkeypatch, caplog) -> None:
    """Under a memory cap its library failed to map, and the model was said to need torch; a model trained
    then is saved all the same, without its encoder."""
    from ner import backends, export

    class Unloadable:
        def find_spec(self, name: str, *args: object) -> None:
            if name == "onnxruntime":
                raise ImportError("libonnxruntime.so: failed to map segment from shared object")

    monkeypatch.delitem(sys.modules, "onnxruntime", raising=False)
    monkeypatch.setattr(sys, "meta_path", [Unloadable(), *sys.meta_path])
    with pytest.raises(RuntimeError, match="onnxruntime is installed but does not load: .*failed to map segment"):
        backends.onnx_available()
    with caplog.at_level("WARNING", logger="ner"):
        assert export.export_if_possible(None, None) is None  # type: ignore[arg-type]
    assert "no ONNX encoder written: onnxruntime is installed but does not load" in caplog.text
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # not installed: torch it is
    assert backends.onnx_available() is False


def test_an_onnx_session_without_memory_says_so_without_a_retry_on_stdout(monkeypatch) -> None:
    """ONNX Runtime printed its retry banner into `ner tag`'s output (retrying the same provider), and the
    error read as a broken model."""
    import onnxruntime

    from ner import backends

    def failing(*args: object, enable_fallback: int = 1, **kwargs: object) -> None:
        assert enable_fallback == 0
        raise RuntimeError("pthread_create failed: Cannot allocate memory")

    monkeypatch.setattr(onnxruntime, "InferenceSession", failing)
    with pytest.raises(MemoryError, match=r"out of memory starting ONNX Runtime \(2 threads\)"):
        backends.onnx_session(b"", 2)


def test_default_threads_follow_the_cpus_this_process_may_use(monkeypatch) -> None:
    from ner import backends

    if not hasattr(backends.os, "sched_getaffinity"):
        pytest.skip("no CPU affinity here")
    monkeypatch.setattr(backends.os, "sched_getaffinity", lambda pid: {0})  # taskset -c 0, or a cpuset of one
    assert backends.usable_cpus() == 1
