"""The torch backend: emission scores from a :class:`~ner.model.NERModel` (training, GPUs)."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator

import numpy as np
import torch

from ner import bundle as bundles
from ner.crf import CRFScores
from ner.features import Batch
from ner.model import NERModel

SMALL_BATCH = 4  # up to this many sentences, oneDNN's LSTM costs more than it saves (it wins on large batches)


# One network call at a time in the process: each network remembers character features between
# calls, the service may call from two threads (its interactive and bulk lanes), and the oneDNN
# switch below is process-wide, so two models' calls must not interleave either.
_ONE_CALL_AT_A_TIME = threading.Lock()
log = logging.getLogger("ner")


@contextlib.contextmanager
def _onednn(enabled: bool) -> Iterator[None]:
    """Switch torch's oneDNN kernels on or off for a block (a process-wide setting)."""
    before = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = enabled
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = before


class TorchBackend:
    """Runs a torch network; arrays in, arrays out."""

    name = "torch"

    def __init__(self, model: NERModel, tags: list[str]) -> None:
        self.model = model.eval()
        self.device = model.project.weight.device
        self._process = os.getpid()
        crf = model.crf
        self._crf_scores = CRFScores.constrained(
            *(p.detach().cpu().numpy() for p in (crf.start_transitions, crf.transitions, crf.end_transitions)), tags
        )

    @classmethod
    def from_bundle(cls, bundle: bundles.Bundle, device: str = "cpu") -> TorchBackend:
        model = NERModel.for_vocabularies(bundle.config, bundle.vocab)
        weights = bundles.loaded_tables(bundle.weights)  # tables widened, where a bundle holds them as stored
        try:
            model.load_state_dict({name: torch.from_numpy(array) for name, array in weights.items()})
        except RuntimeError as error:
            raise bundles.BundleError(bundles.WEIGHTS, f"weights do not fit the config: {error}") from None
        return cls(model.to(device), bundle.vocab.tags.itos)

    def emissions(self, batch: Batch) -> np.ndarray:
        """Emission scores ``(B, T, K)``."""
        return self._run(len(batch.mask), lambda: self.model.emissions(batch))

    def states(self, batch: Batch) -> np.ndarray:
        """Encoder states ``(B, T, 2H)`` (for a document memory)."""
        return self._run(len(batch.mask), lambda: self.model.encode(self.model.tensors(batch), batch.char_keys))

    def projection(self) -> tuple[np.ndarray, np.ndarray]:
        """The emission layer: weight ``(K, 4H)`` and bias ``(K,)`` (views of the model's own weights)."""
        return self.model.project.weight.detach().cpu().numpy(), self.model.project.bias.detach().cpu().numpy()

    def crf_scores(self) -> CRFScores:
        return self._crf_scores

    @torch.inference_mode()
    def _run(self, size: int, compute: Callable[[], torch.Tensor]) -> np.ndarray:
        """``compute()`` as a float32 array, with oneDNN off for a batch of only a few sentences."""
        if os.getpid() != self._process:
            self._forked()
        small = size <= SMALL_BATCH and self.device.type == "cpu"
        with _ONE_CALL_AT_A_TIME, _onednn(enabled=not small):
            return compute().float().cpu().numpy()

    def _forked(self) -> None:
        """In a process forked after the model was loaded (a prefork server), go on in one thread: torch's
        OpenMP threads stay in the parent, and a call that asks for them waits for ever."""
        self._process = os.getpid()
        if self.device.type == "cpu" and torch.get_num_threads() > 1:
            log.warning(
                "torch runs on one thread in a process forked after its model was loaded: load the model after "
                "the fork for more"
            )
            torch.set_num_threads(1)
