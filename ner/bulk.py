"""Bulk tagging of any number of lines: bounded memory, optional worker processes, output in input order.

Lines are read lazily in chunks; with ``workers > 1`` each worker process
loads the model once and at most ``2 x workers`` chunks are in flight, so
memory stays flat however long the input is.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator

from ner.tagger import Analysis, Tagger, TagOptions

_worker_tagger: Tagger | None = None
_worker_options: dict = {}


def record(text: str, analysis: Analysis, nbest: int) -> str:
    """One output line: the text and its entities (and n-best analyses) as JSON."""
    out: dict = {"text": text, "entities": [e.to_dict() for e in analysis.entities]}
    if nbest:
        out["nbest"] = [
            {"probability": round(a.probability, 6), "entities": [e.to_dict() for e in a.entities]}
            for a in analysis.alternatives
        ]
    return json.dumps(out, ensure_ascii=False)


def _start_worker(model: str, threads: int, options: dict) -> None:
    global _worker_tagger, _worker_options
    _worker_tagger = Tagger.load(model, backend=options["backend"], bfloat16=options["bfloat16"], threads=threads)
    _worker_options = options


def _tag_chunk(chunk: list[str]) -> list[str]:
    assert _worker_tagger is not None
    nbest = _worker_options["nbest"]
    analyses = _worker_tagger.analyze(chunk, TagOptions(scores=_worker_options["scores"], nbest=nbest))
    return [record(text, analysis, nbest) for text, analysis in zip(chunk, analyses)]


def _chunks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(lines)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def tag_lines(
    model: str,
    lines: Iterable[str],
    workers: int = 1,
    threads: int = 2,
    chunk_lines: int = 512,
    scores: bool = True,
    nbest: int = 0,
    bfloat16: bool = False,
    backend: str = "auto",
) -> Iterator[list[str]]:
    """JSON output lines for ``lines``, one list per input chunk, in input order."""
    options = {"scores": scores, "nbest": nbest, "bfloat16": bfloat16, "backend": backend}
    if workers <= 1:
        _start_worker(model, threads, options)
        yield from map(_tag_chunk, _chunks(lines, chunk_lines))
        return
    context = multiprocessing.get_context("spawn")  # no forked copies of torch's thread pools
    per_worker = max(1, threads // workers)
    with context.Pool(workers, initializer=_start_worker, initargs=(model, per_worker, options)) as pool:
        pending: deque = deque()
        for chunk in _chunks(lines, chunk_lines):
            pending.append(pool.apply_async(_tag_chunk, (chunk,)))
            if len(pending) >= 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
