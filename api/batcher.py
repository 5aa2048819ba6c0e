"""Micro-batching in two lanes, with bounded queues and deadlines.

Each request's documents go to a lane by their work (tokens x (1 + nbest)):
``interactive`` for small requests, ``bulk`` for large ones. A lane is a
queue and one model thread of its own, so that a short request never waits
behind a long one (the two threads share the cores; the model's NumPy and
ONNX Runtime parts release the GIL).

In a lane, the thread takes the first waiting job and, under load, keeps
collecting for at most ``wait_s`` or until ``max_texts`` documents are
gathered (a lone request is not delayed), then runs the model once per group
of jobs with the same model and options and hands each job its share of the
results.

A lane holds at most ``bound`` work, waiting or running, and the interactive
lane at most ``max_wait_s`` of it, at the rate of its recent model calls (so
that the bound follows the machine's speed): a job that does not fit is
refused at once (:class:`Overloaded`, answered 503 with ``Retry-After``),
unless the lane is empty, so that any request within the per-request limit
can run. Each call gets the latest deadline of its jobs:
once every request in it has timed out, the model stops at the next batch.
"""

from __future__ import annotations

import asyncio
import math
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge, Histogram

from ner.tagger import Analysis, Document, Tagger, TagOptions

BATCH_TEXTS = Histogram(
    "ner_batch_texts", "Texts per model call", ["model"], buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
)
QUEUED = Gauge("ner_queue_work", "Work (tokens x (1 + nbest)) waiting or running", ["lane"])
SHED = Counter("ner_shed_total", "Requests refused with 503 because their lane was full", ["lane"])
SATURATION_HOLD_S = 1.0  # a lane that refused work this recently counts as saturated


def work(documents: Sequence[Document], options: TagOptions) -> int:
    """The cost of tagging ``documents``: their tokens, times ``1 + nbest``."""
    return sum(len(sentence) for document in documents for sentence in document.sentences) * (1 + options.nbest)


class Overloaded(Exception):
    """A lane is full; ``retry_after`` is about the seconds it needs to drain."""

    def __init__(self, lane: str, retry_after: int) -> None:
        super().__init__(f"the {lane} queue is full")
        self.lane = lane
        self.retry_after = retry_after


@dataclass
class _Job:
    tagger: Tagger
    documents: Sequence[Document]
    options: TagOptions
    work: int
    deadline: float | None  # time.monotonic() after which nobody waits for the answer
    future: asyncio.Future = field(repr=False)


class Lane:
    """A bounded queue of jobs and the one model thread that runs them.

    The thread collects, groups and runs the jobs itself, so that the model keeps its pace when
    the event loop is busy (answering the requests it turns away); results go back to the loop.
    Admission and the counts of work belong to the event loop.
    """

    def __init__(
        self, name: str, bound: int, wait_s: float, max_texts: int, batching: bool, max_wait_s: float = math.inf
    ) -> None:
        self.name = name
        self.bound = bound
        self.max_wait_s = max_wait_s
        self.wait_s = wait_s
        self.max_texts = max_texts
        self.batching = batching
        self.queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()  # None: stop
        self.thread: threading.Thread | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pending = 0  # work admitted and not yet finished
        self.jobs = 0  # jobs admitted and not yet finished
        self.rate: float | None = None  # work per second of recent model calls
        self.refused_at = -math.inf
        QUEUED.labels(name).set(0)
        SHED.labels(name)

    def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.thread = threading.Thread(target=self._work, name=f"ner-{self.name}", daemon=True)
        self.thread.start()

    async def stop(self) -> None:
        if self.thread is not None:
            self.queue.put(None)
            await asyncio.to_thread(self.thread.join)

    @property
    def full(self) -> bool:
        """No room for more work: ``bound`` reached, or ``max_wait_s`` of work ahead already."""
        return self.pending >= self.bound or self._wait_s(0) >= self.max_wait_s

    def _wait_s(self, work: int) -> float:
        """Seconds the model would take for the work in the lane and ``work``, at its recent rate."""
        return (self.pending + work) / self.rate if self.rate else 0.0

    def retry_after(self) -> int:
        """Seconds until the work now in the lane is probably done (1 to 30)."""
        return 1 if not self.rate else min(30, max(1, math.ceil(self.pending / self.rate)))

    def admit(self, job: _Job) -> None:
        """Queue ``job``, or raise :class:`Overloaded` if it does not fit."""
        too_much = self.pending + job.work > self.bound or self._wait_s(job.work) > self.max_wait_s
        if self.pending and too_much:
            raise self.refuse()
        self._count(job.work, 1)
        self.queue.put(job)

    def refuse(self) -> Overloaded:
        """Count a request turned away for want of room here; the error to answer it with."""
        self.refused_at = time.monotonic()
        SHED.labels(self.name).inc()
        return Overloaded(self.name, self.retry_after())

    def _count(self, work: int, jobs: int) -> None:
        self.pending += work
        self.jobs += jobs
        QUEUED.labels(self.name).set(self.pending)

    def _settle(self, jobs: list[_Job], results: list[Analysis] | None = None, error: Exception | None = None) -> None:
        """On the event loop: hand each job its share of ``results``, or the ``error`` (neither: the jobs
        were dropped), and release their work."""
        position = 0
        for job in jobs:
            share = results[position : position + len(job.documents)] if results is not None else None
            position += len(job.documents)
            if job.future.done():
                continue
            if error is not None:
                job.future.set_exception(error)
            elif share is not None:
                job.future.set_result(share)
        self._count(-sum(j.work for j in jobs), -len(jobs))

    def _work(self) -> None:
        """The model thread: collect jobs, run each group of them in one call, until told to stop."""
        assert self.loop is not None
        last_batch_jobs = 0
        while (first := self.queue.get()) is not None:
            jobs, stop = self._collect(first, busy=self.batching and (self.jobs > 1 or last_batch_jobs > 1))
            last_batch_jobs = len(jobs)
            groups: dict[tuple[str, TagOptions], list[_Job]] = defaultdict(list)
            for job in jobs:
                groups[(job.tagger.name, job.options)].append(job)
            for (_, options), members in groups.items():
                # Each request looked at once: one cancelled between two looks would be settled by neither.
                live, dropped = [], []  # dropped: timed out or hung up meanwhile
                for job in members:
                    (dropped if job.future.done() else live).append(job)
                if dropped:
                    self.loop.call_soon_threadsafe(self._settle, dropped)
                if live:
                    results, error = self._call(live, options)
                    self.loop.call_soon_threadsafe(self._settle, live, results, error)
            if stop:
                return

    def _collect(self, first: _Job, busy: bool) -> tuple[list[_Job], bool]:
        """``first`` and, under load (jobs queued, or the last batch had several), what else comes within
        ``wait_s``, up to ``max_texts`` documents; a lone request is not delayed. Also: whether to stop."""
        jobs, count = [first], len(first.documents)
        until = time.perf_counter() + self.wait_s
        while busy and count < self.max_texts:
            try:
                job = self.queue.get(timeout=max(until - time.perf_counter(), 0.0))
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
            count += len(job.documents)
        return jobs, False

    def _call(self, live: list[_Job], options: TagOptions) -> tuple[list[Analysis] | None, Exception | None]:
        """One model call for ``live``, with their latest deadline; the results, or the error for all."""
        documents = [d for j in live for d in j.documents]
        deadlines = [j.deadline for j in live]
        deadline = None if None in deadlines else max(deadlines)  # type: ignore[type-var]
        started = time.perf_counter()
        BATCH_TEXTS.labels(model=live[0].tagger.name).observe(len(documents))
        try:
            results = live[0].tagger.analyze(documents, options, deadline=deadline)
        except Exception as error:  # handed to every waiting request
            return None, error
        observed = sum(j.work for j in live) / max(time.perf_counter() - started, 1e-6)
        self.rate = observed if self.rate is None else 0.8 * self.rate + 0.2 * observed
        return results, None


class MicroBatcher:
    """Runs ``tagger.analyze(documents, options, deadline)`` for many concurrent requests at once."""

    def __init__(
        self,
        wait_s: float = 0.002,
        max_texts: int = 128,
        enabled: bool = True,
        large_work: int = 1_000,
        queue_work: int = 5_000,
        bulk_queue_work: int = 40_000,
        max_wait_s: float = math.inf,
    ) -> None:
        self.large_work = large_work
        self.interactive = Lane("interactive", queue_work, wait_s, max_texts, enabled, max_wait_s)
        self.bulk = Lane("bulk", bulk_queue_work, wait_s, max_texts, enabled)

    @property
    def lanes(self) -> tuple[Lane, Lane]:
        return self.interactive, self.bulk

    async def start(self) -> None:
        for lane in self.lanes:
            lane.start()

    async def stop(self) -> None:
        for lane in self.lanes:
            await lane.stop()

    def submit(
        self, tagger: Tagger, documents: Sequence[Document], options: TagOptions, deadline: float | None = None
    ) -> asyncio.Future[list[Analysis]]:
        """Queue ``documents``; the future gets their analyses, computed with other requests' where possible.

        Raises :class:`Overloaded` at once when the lane is full; cancelling the future drops the job.
        """
        assert self.interactive.thread is not None, "MicroBatcher.start() was not awaited"
        job = _Job(
            tagger, documents, options, work(documents, options), deadline, asyncio.get_running_loop().create_future()
        )
        (self.bulk if job.work > self.large_work else self.interactive).admit(job)
        return job.future

    @property
    def full(self) -> bool:
        """No room for another small request."""
        return self.interactive.full

    def saturated(self) -> bool:
        """Full, or some lane refused work within the last second."""
        recently = time.monotonic() - SATURATION_HOLD_S
        return self.full or any(lane.refused_at > recently for lane in self.lanes)
