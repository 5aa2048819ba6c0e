"""Signal handlers set for the length of a block, in the main thread (the only one Python lets set them)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from types import FrameType

Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers


@contextlib.contextmanager
def handlers_set(handlers: Mapping[int, Handler]) -> Iterator[None]:
    """Set ``handlers`` (by signal number) for the block, then put back those before; outside the main
    thread, nothing is set."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {number: signal.signal(number, handler) for number, handler in handlers.items()}
    try:
        yield
    finally:
        for number, handler in before.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)


class HeldSignals:
    """SIGINT and SIGTERM held while a block runs (:meth:`held`), then met as they would have been; with
    ``second_acts``, a second one acts at once (a write held up for good by a reader that reads no more)
    and ``broke_off`` says so."""

    def __init__(self, second_acts: bool = False) -> None:
        self.second_acts = second_acts
        self.broke_off = False

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
        caught: list[int] = []

        def act(number: int, frame: FrameType | None) -> None:
            handler = before[number]
            if callable(handler):
                handler(number, frame)
            elif handler != signal.SIG_IGN:  # the default action (SIGTERM's: the process ends)
                signal.signal(number, signal.SIG_DFL)
                signal.raise_signal(number)

        def hold(number: int, frame: FrameType | None) -> None:
            if caught and self.second_acts:
                self.broke_off = True
                act(number, frame)
            caught.append(number)

        try:
            with handlers_set(dict.fromkeys(before, hold)):
                yield
        finally:
            if caught and not self.broke_off:
                act(caught[0], None)
