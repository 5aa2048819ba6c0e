"""Micro-batching: concurrent requests are gathered into one model call.

Each request puts its documents on a queue and awaits a future. One worker
task takes the first waiting request and, under load, keeps collecting for
at most ``wait_s`` or until ``max_texts`` documents are gathered (a lone
request is not delayed), then runs the model once, in a worker thread so
that the event loop stays responsive, and hands each request its share of
the results. Requests for different models or with different options are
grouped so that each group is one call.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from prometheus_client import Histogram

from ner.tagger import Analysis, Document, Tagger, TagOptions

BATCH_TEXTS = Histogram(
    "ner_batch_texts", "Texts per model call", ["model"], buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
)


@dataclass
class _Job:
    tagger: Tagger
    documents: Sequence[Document]
    options: TagOptions
    future: asyncio.Future = field(repr=False)


class MicroBatcher:
    """Runs ``tagger.analyze(documents, options)`` for many concurrent requests at once."""

    def __init__(self, wait_s: float = 0.002, max_texts: int = 128, enabled: bool = True) -> None:
        self.wait_s = wait_s
        self.max_texts = max_texts
        self.enabled = enabled
        # One thread: each model call uses the cores itself, and calls must not compete.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ner-model")
        self.queue: asyncio.Queue[_Job] | None = None
        self.in_flight = 0  # requests submitted and not yet answered
        self.last_batch_jobs = 0
        self.worker: asyncio.Task | None = None

    async def start(self) -> None:
        self.queue = asyncio.Queue()
        self.worker = asyncio.create_task(self._run(), name="micro-batcher")

    async def stop(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.worker
        self.executor.shutdown(wait=True)

    async def submit(self, tagger: Tagger, documents: Sequence[Document], options: TagOptions) -> list[Analysis]:
        """The analyses of ``documents``, computed with other requests' documents where possible."""
        loop = asyncio.get_running_loop()
        if not self.enabled:
            return await loop.run_in_executor(self.executor, _call, tagger, documents, options)
        job = _Job(tagger, documents, options, loop.create_future())
        assert self.queue is not None, "MicroBatcher.start() was not awaited"
        self.in_flight += 1
        try:
            await self.queue.put(job)
            return await job.future
        finally:
            self.in_flight -= 1

    async def _run(self) -> None:
        assert self.queue is not None
        loop = asyncio.get_running_loop()
        while True:
            jobs = [await self.queue.get()]
            count = len(jobs[0].documents)
            deadline = time.perf_counter() + self.wait_s
            # Under load (requests queued, or the last batch had several), wait a
            # little for more; a lone request is not delayed.
            busy = self.in_flight > 1 or self.last_batch_jobs > 1
            while busy and count < self.max_texts:
                remaining = deadline - time.perf_counter()
                try:
                    job = (
                        self.queue.get_nowait()
                        if remaining <= 0
                        else await asyncio.wait_for(self.queue.get(), remaining)
                    )
                except (asyncio.QueueEmpty, TimeoutError):
                    break
                jobs.append(job)
                count += len(job.documents)
            self.last_batch_jobs = len(jobs)
            groups: dict[tuple[str, TagOptions], list[_Job]] = defaultdict(list)
            for job in jobs:
                groups[(job.tagger.name, job.options)].append(job)
            for (_, options), members in groups.items():
                live = [j for j in members if not j.future.done()]  # skip requests that timed out
                if not live:
                    continue
                documents = [d for j in live for d in j.documents]
                try:
                    results = await loop.run_in_executor(self.executor, _call, live[0].tagger, documents, options)
                except Exception as error:  # hand the failure to every waiting request
                    for job in live:
                        if not job.future.done():
                            job.future.set_exception(error)
                    continue
                position = 0
                for job in live:
                    share = results[position : position + len(job.documents)]
                    position += len(job.documents)
                    if not job.future.done():
                        job.future.set_result(share)


def _call(tagger: Tagger, documents: Sequence[Document], options: TagOptions) -> list[Analysis]:
    BATCH_TEXTS.labels(model=tagger.name).observe(len(documents))
    return tagger.analyze(documents, options)
