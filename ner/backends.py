"""Backends: what turns an encoded batch into emission scores, chosen once when a model is loaded.

- ``onnx``: the exported encoder (``encoder.onnx``, :mod:`ner.export`) under ONNX Runtime. No
  torch: this is the serving path.
- ``torch``: the :class:`~ner.model.NERModel` itself (:mod:`ner.torch_backend`), for training
  and GPUs.

Both take a :class:`~ner.features.Batch` of NumPy arrays and return NumPy
arrays; both give the CRF scores the NumPy CRF (:mod:`ner.crf`) decodes with.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Literal, Protocol, get_args

import numpy as np
import threadpoolctl

from ner import bundle as bundles
from ner.crf import CRFScores
from ner.features import Batch

if TYPE_CHECKING:
    import onnxruntime

log = logging.getLogger("ner")
# ONNX Runtime's telemetry keeps a device id and a database under HOME, and where HOME cannot be written warns
# in a format of its own on every start (a line of no JSON in the service's log): off, unless turned on.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
# onnx: ONNX Runtime, no torch; auto: onnx where the model has an exported encoder and the CPU is asked for.
BackendName = Literal["auto", "onnx", "torch"]
BACKENDS: tuple[BackendName, ...] = get_args(BackendName)
# The vocabulary-sized embedding tables, inputs of the ONNX encoder, and the ids that index each.
TABLE_IDS = {
    "word_embed.weight": "words",
    "bigram_embed.weight": "bigrams",
    "lexicon_word_embed.weight": "lexicon_words",
}


class Backend(Protocol):
    """What runs a model's network (ONNX Runtime or torch) for the tagger: arrays in, arrays out."""

    name: str

    def emissions(self, batch: Batch) -> np.ndarray:
        """Emission scores ``(B, T, K)``, float32."""
        ...

    def states(self, batch: Batch) -> np.ndarray:
        """Encoder states ``(B, T, 2H)`` of a model with a document memory."""
        ...

    def projection(self) -> tuple[np.ndarray, np.ndarray]:
        """The emission layer of a model with a document memory: weight ``(K, 4H)``, bias ``(K,)``."""
        ...

    def crf_scores(self) -> CRFScores: ...


def onnx_available() -> bool:
    """Whether onnxruntime is installed; one that is but fails to load (no memory to map its library) is a
    RuntimeError saying so, not a reason to fall back to torch."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError as error:
        if isinstance(error, ModuleNotFoundError) and error.name == "onnxruntime":
            return False
        raise RuntimeError(f"onnxruntime is installed but does not load: {error}") from None
    return True


def load_backend(
    bundle: bundles.Bundle,
    backend: BackendName = "auto",
    device: str = "cpu",
    threads: int | None = None,
) -> Backend:
    """The backend for ``bundle``: ``onnx``, ``torch``, or ``auto`` (ONNX Runtime where the model has
    an exported encoder, onnxruntime is installed, and no GPU is asked for).

    Like ``threads`` for torch, this sets a process-wide thread count: NumPy's BLAS runs on one thread
    from here on."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
    if backend == "auto":
        usable = bundle.encoder is not None and device == "cpu" and onnx_available()
        backend = "onnx" if usable else "torch"
    if backend == "onnx":
        if bundle.encoder is None:
            raise bundles.BundleError(bundles.ENCODER, f"model {bundle.name!r} has no exported encoder: run ner export")
        if device != "cpu":
            raise ValueError("the onnx backend runs on the CPU: use --backend torch for a GPU")
        chosen: Backend = OnnxBackend(bundle, threads)
    else:
        try:
            from ner.torch_backend import TorchBackend
        except ImportError as error:
            raise RuntimeError(
                f"model {bundle.name!r} needs torch (no exported encoder, or --backend torch): "
                f"pip install 'ner-service[train]' ({error})"
            ) from None
        if threads:
            import torch

            torch.set_num_threads(threads)
        chosen = TorchBackend.from_bundle(bundle, device)
    # NumPy's matrices here are small, and OpenBLAS's idle threads spin after each product, taking
    # the cores the encoder's threads need: with 2 threads, the emissions of 128 sentences with a
    # document memory took 123 ms with BLAS threads and 74 ms without.
    threadpoolctl.threadpool_limits(1, user_api="blas")
    log.info("model %s: %s backend", bundle.name, chosen.name)
    return chosen


class OnnxBackend:
    """The exported encoder under ONNX Runtime; spinning threads off, so that a torch job in the same
    process is not slowed down (onnxruntime#13808).

    With more than one thread, a second, single-threaded session runs single sentences: at batch 1
    the LSTM's steps are too small to share, and waking a second thread made one text 16-21%
    slower (B=1, T=5..40), where from batch 2 on two threads are faster.
    The sessions share the recurrent layers' weights, which a model directory stores once, in
    ``weights.safetensors``, and the embedding tables, which stay as stored (int8 or float16 when so
    stored; :func:`table_rows`).
    """

    name = "onnx"

    def __init__(self, bundle: bundles.Bundle, threads: int | None = None) -> None:
        threads = threads or min(usable_cpus(), 4)
        # Format 1 encoders hold their own copy of the recurrent weights.
        self.recurrent = recurrent_weights(bundle.weights) if bundle.format_version >= 2 else {}
        self.session = onnx_session(bundle.encoder, threads, self.recurrent)
        self.single_session = onnx_session(bundle.encoder, 1, self.recurrent) if threads > 1 else self.session
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.output = self.session.get_outputs()[0].name
        self.bundle, self._process = bundle, os.getpid()
        w = bundle.weights
        self._crf_scores = CRFScores.constrained(
            w["crf.start_transitions"], w["crf.transitions"], w["crf.end_transitions"], bundle.vocab.tags.itos
        )
        # A table stored narrower than float32 stays so, and the graph gets the rows a batch uses; a
        # float32 one is given whole (no copy), as are all to an encoder exported before the tables'
        # rows were a dynamic axis.
        self.tables, self.whole_tables = {}, {}
        for table in self.session.get_inputs():
            if table.name in TABLE_IDS:
                stored = bundles.StoredTable.of(bundle.weights, table.name)
                if stored.values.dtype == np.float32 or isinstance(table.shape[0], int):
                    self.whole_tables[table.name] = stored.widened()
                else:
                    self.tables[table.name] = stored

    def _run(self, batch: Batch) -> np.ndarray:
        if os.getpid() != self._process:  # in a process forked after the model was loaded (a prefork server)
            self._process = os.getpid()
            log.warning(
                "model %s was loaded before this process was forked: ONNX Runtime runs it on one thread here "
                "and may keep the process from ending (microsoft/onnxruntime#31961); load models after the fork",
                self.bundle.name,
            )
        arrays = {**table_rows(batch.arrays(), self.tables), **self.whole_tables}
        session = self.single_session if len(batch.mask) == 1 else self.session
        try:
            return session.run([self.output], {name: arrays[name] for name in self.inputs})[0]
        except Exception as error:  # onnxruntime's own classes (Fail, RuntimeException, ...)
            first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise RuntimeError(f"model {self.bundle.name}: encoder.onnx failed to run: {first_line}") from None

    def emissions(self, batch: Batch) -> np.ndarray:
        return self._run(batch)

    def states(self, batch: Batch) -> np.ndarray:
        return self._run(batch)

    def projection(self) -> tuple[np.ndarray, np.ndarray]:
        return self.bundle.weights["project.weight"], self.bundle.weights["project.bias"]

    def crf_scores(self) -> CRFScores:
        return self._crf_scores


def table_rows(arrays: dict[str, np.ndarray], tables: dict[str, bundles.StoredTable]) -> dict[str, np.ndarray]:
    """A batch's ``arrays`` with the embedding ``tables`` as the encoder's inputs: each table as just
    the rows its ids ask for, in float32 ``(U, D)``, and the ids ``(B, T, ...)`` renumbered to index
    them (:meth:`~ner.bundle.StoredTable.lookup`). The tables themselves are never widened whole."""
    arrays = dict(arrays)
    for name, table in tables.items():
        arrays[name], arrays[TABLE_IDS[name]] = table.lookup(arrays[TABLE_IDS[name]])
    return arrays


def onnx_session(
    encoder: bytes, threads: int, recurrent: dict[str, np.ndarray] | None = None
) -> onnxruntime.InferenceSession:
    """An ONNX Runtime session of ``threads`` threads on the CPU, spinning off; ``recurrent``
    (:func:`recurrent_weights`) fills the encoder's external initializers. The caller keeps those
    arrays alive as long as the session: ONNX Runtime may read them in place."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if recurrent:
        names = sorted(recurrent)
        options.add_external_initializers(
            names, [onnxruntime.OrtValue.ortvalue_from_numpy(recurrent[name]) for name in names]
        )
    # An initializer the encoder keeps outside itself is read from this folder, which cannot exist (given
    # bytes, ONNX Runtime would look in the working directory: a crafted model could read a file there).
    options.add_session_config_entry("session.model_external_initializers_file_folder_path", os.devnull)
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    try:
        # No fall-back: it would retry the same CPU provider after printing a banner to stdout, which is
        # `ner tag`'s output.
        return onnxruntime.InferenceSession(encoder, options, providers=["CPUExecutionProvider"], enable_fallback=0)
    except Exception as error:  # onnxruntime's own classes: InvalidProtobuf, Fail, InvalidGraph, ...
        first = str(error).splitlines()[0]
        if "Cannot allocate memory" in str(error):
            raise MemoryError(f"out of memory starting ONNX Runtime ({threads} threads): {first}") from None
        raise RuntimeError(f"encoder.onnx does not load in ONNX Runtime: {first}") from None


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, as `taskset` or a container's cpuset sets it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


# The gates of ONNX's LSTM (input, output, forget, cell) and GRU (update, reset, new), as torch's chunks.
_GATES = {4: [0, 3, 1, 2], 3: [1, 0, 2]}


def recurrent_weights(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The BiLSTM's (or BiGRU's) weights in the layout of ONNX's bidirectional ``LSTM``/``GRU`` node,
    from a model's weights in torch's: for each layer ``k``, ``rnn.W_lk (2, G*H, D)``, ``rnn.R_lk
    (2, G*H, H)`` and ``rnn.B_lk (2, 2*G*H)``, forward direction first, ``G`` gates in ONNX's order."""
    out = {}
    layer = 0
    while f"rnn.weight_ih_l{layer}" in weights:
        out[f"rnn.W_l{layer}"] = _both_directions(weights, "weight_ih", layer)
        out[f"rnn.R_l{layer}"] = _both_directions(weights, "weight_hh", layer)
        biases = [_both_directions(weights, name, layer) for name in ("bias_ih", "bias_hh")]
        out[f"rnn.B_l{layer}"] = np.concatenate(biases, axis=1)
        layer += 1
    return {name: np.ascontiguousarray(array, dtype=np.float32) for name, array in out.items()}


def _both_directions(weights: dict[str, np.ndarray], name: str, layer: int) -> np.ndarray:
    """``rnn.<name>_l<layer>`` of the forward and the reverse direction, stacked, gates in ONNX's order."""
    hidden = weights[f"rnn.weight_hh_l{layer}"].shape[1]
    directions = [weights[f"rnn.{name}_l{layer}{suffix}"] for suffix in ("", "_reverse")]
    order = _GATES[len(directions[0]) // hidden]
    return np.stack([np.concatenate([np.split(d, len(order))[i] for i in order]) for d in directions])
