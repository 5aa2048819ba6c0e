"""The micro-batcher in process: grouping, the two lanes, bounded queues, deadlines (the tiny model tags)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from api.batcher import MicroBatcher, Overloaded, work
from ner.tagger import Analysis, DeadlineExceeded, Document, Tagger, TagOptions

TEXTS = ["John Smith visited Berlin on Monday .", "Ana Silva works for Siemens in Oslo .", "Nothing happened today ."]


class Watched:
    """The tiny tagger, recording each call; while ``gate`` is clear, calls wait for it."""

    def __init__(self, tagger: Tagger) -> None:
        self.tagger = tagger
        self.name = tagger.name
        self.calls: list[tuple[int, TagOptions, float | None]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def analyze(self, documents: Sequence[Document], options: TagOptions, deadline: float | None = None) -> list:
        self.calls.append((len(documents), options, deadline))
        self.entered.set()
        assert self.gate.wait(30)
        return self.tagger.analyze(documents, options, deadline=deadline)


@pytest.fixture(scope="module")
def tagger(tiny_model: Path) -> Tagger:
    return Tagger.load(tiny_model, threads=1)


def documents(tagger: Tagger, *texts: str) -> list[Document]:
    return [tagger.read(t) for t in texts]


def run(scenario, **settings: object) -> object:
    """``await scenario(batcher)`` with a started batcher, stopped afterwards."""

    async def main() -> object:
        batcher = MicroBatcher(**settings)
        await batcher.start()
        try:
            return await scenario(batcher)
        finally:
            await batcher.stop()

    return asyncio.run(main())


def test_concurrent_requests_with_the_same_options_share_one_call(tagger: Tagger) -> None:
    watched = Watched(tagger)
    expected = tagger.analyze(TEXTS)

    async def scenario(batcher: MicroBatcher) -> list[list[Analysis]]:
        watched.gate.clear()  # the first call waits: the others queue up meanwhile
        first = batcher.submit(watched, documents(tagger, TEXTS[0]), TagOptions())
        await asyncio.to_thread(watched.entered.wait, 10)
        rest = [batcher.submit(watched, documents(tagger, t), TagOptions()) for t in TEXTS]
        watched.gate.set()
        return [await first, *[await f for f in rest]]

    results = run(scenario, wait_s=0.05)
    assert [n for n, _, _ in watched.calls] == [1, 3]  # the three that waited went together
    for (analysis,), want in zip(results[1:], expected):
        assert analysis.entities == want.entities


def test_different_options_or_models_are_separate_calls(tagger: Tagger) -> None:
    watched = Watched(tagger)

    async def scenario(batcher: MicroBatcher) -> list[list[Analysis]]:
        watched.gate.clear()
        blocker = batcher.submit(watched, documents(tagger, TEXTS[0]), TagOptions())
        await asyncio.to_thread(watched.entered.wait, 10)
        futures = [
            batcher.submit(watched, documents(tagger, TEXTS[0]), TagOptions()),
            batcher.submit(watched, documents(tagger, TEXTS[1]), TagOptions(nbest=2)),
            batcher.submit(watched, documents(tagger, TEXTS[2]), TagOptions()),
        ]
        watched.gate.set()
        await blocker
        return [await f for f in futures]

    results = run(scenario, wait_s=0.05)
    assert sorted((n, o.nbest) for n, o, _ in watched.calls[1:]) == [(1, 2), (2, 0)]
    assert len(results[1][0].alternatives) == 2 and not results[0][0].alternatives


def test_a_large_request_does_not_hold_up_small_ones(tagger: Tagger) -> None:
    watched = Watched(tagger)
    big = documents(tagger, " ".join(TEXTS * 20))
    assert work(big, TagOptions()) > 100

    async def scenario(batcher: MicroBatcher) -> list[Analysis]:
        watched.gate.clear()
        slow = batcher.submit(watched, big, TagOptions())
        await asyncio.to_thread(watched.entered.wait, 10)
        small = batcher.submit(tagger, documents(tagger, TEXTS[0]), TagOptions())  # the real tagger: not gated
        result = await asyncio.wait_for(small, 10)  # answered while the bulk lane is stuck
        assert not slow.done() and batcher.bulk.pending == work(big, TagOptions())
        watched.gate.set()
        await slow
        return result

    assert run(scenario, large_work=100)[0].entities == tagger.analyze([TEXTS[0]])[0].entities


def test_a_full_lane_refuses_at_once_and_recovers(tagger: Tagger) -> None:
    watched = Watched(tagger)
    one = documents(tagger, TEXTS[0])
    size = work(one, TagOptions())

    async def scenario(batcher: MicroBatcher) -> None:
        watched.gate.clear()
        admitted = [batcher.submit(watched, one, TagOptions())]
        await asyncio.to_thread(watched.entered.wait, 10)
        admitted.append(batcher.submit(watched, one, TagOptions()))
        assert batcher.interactive.pending == 2 * size and batcher.full
        started = time.perf_counter()
        with pytest.raises(Overloaded) as refused:
            batcher.submit(watched, one, TagOptions())
        assert time.perf_counter() - started < 1  # at once, not when the gate opens
        assert refused.value.lane == "interactive" and 1 <= refused.value.retry_after <= 30
        assert batcher.saturated()
        watched.gate.set()
        await asyncio.gather(*admitted)
        assert batcher.interactive.pending == 0 and not batcher.full
        batcher.interactive.refused_at = -1e9  # a second later, as far as saturation goes
        assert not batcher.saturated()
        await batcher.submit(watched, one, TagOptions())

    run(scenario, queue_work=2 * size)


def test_a_request_larger_than_the_queue_runs_alone(tagger: Tagger) -> None:
    big = documents(tagger, " ".join(TEXTS * 5))

    async def scenario(batcher: MicroBatcher) -> list[Analysis]:
        return await batcher.submit(tagger, big, TagOptions())

    assert run(scenario, large_work=10_000, queue_work=10)[0].entities


def test_the_call_gets_the_latest_deadline_of_its_requests(tagger: Tagger) -> None:
    watched = Watched(tagger)
    soon, later = time.monotonic() + 30, time.monotonic() + 60

    async def scenario(batcher: MicroBatcher) -> None:
        watched.gate.clear()
        first = batcher.submit(watched, documents(tagger, TEXTS[0]), TagOptions(), soon)
        await asyncio.to_thread(watched.entered.wait, 10)
        together = [
            batcher.submit(watched, documents(tagger, TEXTS[1]), TagOptions(), soon),
            batcher.submit(watched, documents(tagger, TEXTS[2]), TagOptions(), later),
        ]
        watched.gate.set()
        await asyncio.gather(first, *together)
        unbounded = [
            batcher.submit(watched, documents(tagger, TEXTS[1]), TagOptions(), soon),
            batcher.submit(watched, documents(tagger, TEXTS[2]), TagOptions(), None),
        ]
        await asyncio.gather(*unbounded)

    run(scenario, wait_s=0.05)
    deadlines = [d for _, _, d in watched.calls]
    assert deadlines[:2] == [soon, later]
    assert None in deadlines[2:]  # a request without a deadline keeps its call unbounded


def test_a_passed_deadline_stops_the_model_and_fails_the_request(tagger: Tagger) -> None:
    async def scenario(batcher: MicroBatcher) -> None:
        await batcher.submit(tagger, documents(tagger, *TEXTS), TagOptions(), time.monotonic() - 1)

    with pytest.raises(DeadlineExceeded):
        run(scenario)


def test_a_cancelled_request_is_not_computed_and_frees_its_place(tagger: Tagger) -> None:
    watched = Watched(tagger)

    async def scenario(batcher: MicroBatcher) -> None:
        watched.gate.clear()
        first = batcher.submit(watched, documents(tagger, TEXTS[0]), TagOptions())
        await asyncio.to_thread(watched.entered.wait, 10)
        dropped = batcher.submit(watched, documents(tagger, TEXTS[1], TEXTS[2]), TagOptions())
        dropped.cancel()  # its client went away (a timeout) before the model got to it
        watched.gate.set()
        await first
        while batcher.interactive.pending:
            await asyncio.sleep(0.01)

    run(scenario)
    assert [n for n, _, _ in watched.calls] == [1]


def test_a_request_cancelled_while_the_model_thread_looks_at_it_still_frees_its_place(tagger: Tagger) -> None:
    """A request cancelled by the event loop (its timeout, its client gone) just as the model thread first
    looks at it: once both are done, none of its work stays counted against the lane."""

    class CancelledAtFirstLook(asyncio.Future):
        looks = 0

        def done(self) -> bool:
            result = super().done()
            if threading.current_thread().name.startswith("ner-"):
                self.looks += 1
                if self.looks == 1:  # the event loop cancels it now, and the model thread looks again
                    self.get_loop().call_soon_threadsafe(self.cancel)
                    while not super().done():
                        time.sleep(0.001)
            return result

    async def scenario(batcher: MicroBatcher) -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        loop.create_future = lambda: CancelledAtFirstLook(loop=loop)  # type: ignore[method-assign]
        future = batcher.submit(tagger, documents(tagger, TEXTS[0]), TagOptions())
        del loop.create_future
        await asyncio.gather(future, return_exceptions=True)
        deadline = time.monotonic() + 5
        while batcher.interactive.pending and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return batcher.interactive.pending, batcher.interactive.jobs

    assert run(scenario) == (0, 0)


def test_without_batching_each_request_is_its_own_call(tagger: Tagger) -> None:
    watched = Watched(tagger)

    async def scenario(batcher: MicroBatcher) -> None:
        await asyncio.gather(*(batcher.submit(watched, documents(tagger, t), TagOptions()) for t in TEXTS))

    run(scenario, enabled=False)
    assert [n for n, _, _ in watched.calls] == [1, 1, 1]


def test_work_counts_tokens_times_one_plus_nbest(tagger: Tagger) -> None:
    docs = documents(tagger, TEXTS[0], TEXTS[2])
    tokens = sum(len(s) for d in docs for s in d.sentences)
    assert work(docs, TagOptions()) == tokens == 11
    assert work(docs, TagOptions(nbest=4)) == 5 * tokens
