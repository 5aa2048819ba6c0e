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
