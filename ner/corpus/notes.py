"""Notes on how a corpus file was read: its dialect, the columns taken, an encoding guessed, tags in doubt.

Every reader says what it chose through :func:`note`, which logs it (``ner.corpus``)
and keeps it for a caller inside :func:`kept_notes`, such as the model card's
account of each training file and ``ner inspect``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

log = logging.getLogger("ner.corpus")
_kept: ContextVar[list[str] | None] = ContextVar("ner_corpus_notes", default=None)


def note(level: int, path: str | Path, message: str, *args: object) -> None:
    """Log ``path: message`` (``%``-style ``args``) at ``level``, and keep the message inside :func:`kept_notes`."""
    text = message % args if args else message
    log.log(level, "%s: %s", path, text)
    kept = _kept.get()
    if kept is not None:
        kept.append(text)


@contextmanager
def kept_notes() -> Iterator[list[str]]:
    """The notes, without their files' names, of the files read inside the block (in this thread or task)."""
    notes: list[str] = []
    token = _kept.set(notes)
    try:
        yield notes
    finally:
        _kept.reset(token)
