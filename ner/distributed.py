"""Data-parallel training across processes: ``torchrun --nproc_per_node=N -m ner train ...``.

torchrun sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; the process group uses
``gloo`` on CPUs and ``nccl`` on GPUs. Every rank walks the same shuffled list
of length-bucketed batches and takes every ``world``-th one (the few left over
cut into ``world`` runs of sentences); DistributedDataParallel averages
the gradients. Rank 0 alone evaluates, writes checkpoints (with every rank's
random state, so that ``--resume`` goes on exactly) and saves the model, and
shares its decisions with the others.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")
# The other ranks wait in a barrier while rank 0 finishes the model (calibration, export, vectors), on a
# large corpus longer than the collectives' default patience (NCCL's 10 minutes, gloo's 30).
COLLECTIVES_TIMEOUT = datetime.timedelta(hours=2)


@dataclass
class Distributed:
    """This process's place among the processes of a training run (one process: rank 0 of 1)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @classmethod
    def start(cls, device: torch.device) -> Distributed:
        """Join the process group when started by torchrun; a single process otherwise."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        if device.type == "cuda":  # each process its own GPU, where NCCL's collectives put their tensors
            torch.cuda.set_device(local_rank)
        if not dist.is_initialized():
            backend = "nccl" if device.type == "cuda" else "gloo"
            dist.init_process_group(backend=backend, timeout=COLLECTIVES_TIMEOUT)
        return cls(rank, world, local_rank)

    def share(self, value: T) -> T:
        """Rank 0's ``value`` on every rank."""
        if self.world == 1:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def total(self, *values: float) -> list[float]:
        """Each value summed over all ranks."""
        if self.world == 1:
            return list(values)
        on_gpu = dist.get_backend() == "nccl"  # which reduces tensors on a GPU only
        tensor = torch.tensor(values, dtype=torch.float64, device="cuda" if on_gpu else "cpu")
        dist.all_reduce(tensor)
        return tensor.tolist()

    def gather(self, value: T) -> list[T]:
        """Every rank's ``value``, in rank order, on every rank."""
        if self.world == 1:
            return [value]
        values: list = [None] * self.world
        dist.all_gather_object(values, value)
        return values

    def my_share(self, batches: list[list[int]]) -> list[list[int]]:
        """This rank's batches of sentence indices: every ``world``-th, the same number on every rank. The
        batches left over when their number is not a multiple of ``world`` are cut into ``world`` runs of
        sentences in order (a document cut in at most ``world - 1`` places), so that every sentence is
        trained on (but for fewer than ``world`` of them, which no rank could share)."""
        whole = len(batches) - len(batches) % self.world
        mine = batches[self.rank : whole : self.world]
        left = [index for batch in batches[whole:] for index in batch]
        if len(left) >= self.world:
            mine.append(left[self.rank * len(left) // self.world : (self.rank + 1) * len(left) // self.world])
        return mine

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def stop(self) -> None:
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()
