"""What the routes work with: the settings, the loaded models behind a router, the micro-batcher."""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import logging
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import replace

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.batcher import MicroBatcher, work
from api.logs import SERVICE_LOGGER
from api.schemas import check_dictionary
from api.settings import Settings
from ner.dictionary import Dictionary, DictionaryFile, EntriesKey, entries_bytes
from ner.markup import Markup, PlainText, read_markup
from ner.recent import RecentValues
from ner.router import Route, Router, merge
from ner.tagger import DICTIONARY_CACHE, Analysis, Tagger, TagOptions
from ner.truecasing import Capitals

log = logging.getLogger(SERVICE_LOGGER)
INLINE_CHARS = 4096  # texts up to this long are routed on the event loop (well under a millisecond)
INLINE_ENTRIES = 256  # dictionaries up to this many entries are built there too (10,000 take 0.15-0.3 s)
# The distinct request dictionaries remembered (their keys as valid, and the parsed objects that come
# again by their ids), as many as a model keeps built, the objects up to this much memory.
CHECKED_DICTIONARIES = DICTIONARY_CACHE
CHECKED_DICTIONARY_BYTES = 4_000_000


def _is_latest(version: int, configured: DictionaryFile) -> bool:
    """Whether ``version`` is still ``configured``'s latest reading."""
    return version == configured.version


class ServiceState:
    """The service's models and batcher; ``ready`` once every model is loaded and requests are accepted."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.router: Router | None = None
        self.load_errors: dict[str, str] = {}
        self.batcher = MicroBatcher(
            settings.batch_wait_ms / 1000,
            settings.max_batch_texts,
            enabled=settings.batching,
            large_work=settings.large_request_tokens,
            queue_work=settings.queue_tokens,
            max_wait_s=settings.queue_wait_s,
            bulk_queue_work=settings.bulk_queue_tokens,
        )
        self.keys = settings.accepted_keys()
        access = {"mode": "keys", "ids": sorted(self.keys)} if self.keys else {"mode": "open"}
        log.info(json.dumps({"event": "auth"} | access))  # key ids only, never a key
        self.dictionary_files: dict[str, DictionaryFile] = {}  # by model name
        # A file's dictionary served, by model name and ignore_case: its key and the dictionary built; and
        # those being built, by model name and key (one build of a reading however many requests ask).
        self.served_files: dict[tuple[str, bool], tuple[Hashable, Dictionary]] = {}
        self.file_builds: dict[tuple[str, Hashable], asyncio.Future[Dictionary]] = {}
        self.checked_dictionaries = RecentValues(CHECKED_DICTIONARIES, 0)  # the keys of those found valid
        # The keys of request dictionaries that arrive as the same object again (the parser hands back a
        # dictionary it remembers by its bytes), by id; each entry holds its object, so no id is reused.
        self.entries_keys = RecentValues(CHECKED_DICTIONARIES, CHECKED_DICTIONARY_BYTES)
        self.accepting = True
        self.readiness = "loading"  # the last state /ready reported, for the log

    @property
    def ready(self) -> bool:
        return self.router is not None and self.accepting

    def check_ready(self) -> bool:
        """Whether to take traffic: models loaded, none failed, not stopping, not saturated.

        The reason goes to the log when it changes, never to the client.
        """
        if self.load_errors:
            state = "model_failed"
        elif self.router is None:
            state = "loading"
        elif not self.accepting:
            state = "stopping"
        elif self.batcher.saturated():
            state = "saturated"
        else:
            state = "ready"
        if state != self.readiness:
            self.readiness = state
            record = {"event": "readiness", "state": state}
            if self.load_errors:
                record["failed"] = self.load_errors
            (log.info if state == "ready" else log.warning)(json.dumps(record))
        return state == "ready"

    def load_models(self) -> None:
        """Load every configured model; one that fails is logged and left out, the others serve."""
        taggers: list[Tagger] = []
        named: set[str] = set()  # the models read, whether they then failed for their dictionary or not
        for path in self.settings.models:
            try:
                tagger = Tagger.load(path, backend=self.settings.backend, threads=self.settings.threads)
                if any(t.name == tagger.name for t in taggers):
                    raise ValueError(f"another model is already named {tagger.name!r}")
                named.add(tagger.name)
                if (file := self.settings.dictionaries.get(tagger.name)) is not None:  # never served without it
                    self._load_dictionary(tagger, file)
                taggers.append(tagger)
                event = {"event": "model_loaded", "path": path, "name": tagger.name, "backend": tagger.backend.name}
                log.info(json.dumps(event))
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as error:  # a bad model, no memory for it, a safetensors panic: the others serve
                said = str(error) or ("out of memory" if isinstance(error, MemoryError) else type(error).__name__)
                self.load_errors[path] = said
                log.error(json.dumps({"event": "model_failed", "path": path, "error": said}))
        for name, path in self.settings.dictionaries.items():
            if name not in named:
                self.load_errors[f"dictionary {path}"] = error = f"no loaded model is named {name!r}"
                log.error(json.dumps({"event": "dictionary_failed", "path": path, "error": error}))
        # Everything alive now lives as long as the process: keep it out of the cyclic collector's
        # full scans, which otherwise pause the event loop for tens of milliseconds under load.
        gc.collect()
        gc.freeze()
        try:
            self.router = Router(taggers, self.settings.default_model)
        except (ValueError, KeyError) as error:  # no models, an unknown default, two defaults of one language
            self.load_errors["router"] = str(error)
            log.critical(json.dumps({"event": "no_service", "error": str(error), "errors": self.load_errors}))
            return
        for name, taker in self.router.unrouted.items():  # served when named, or by its language
            why = f"{taker} takes the text of its script under lang auto; NER_DEFAULT_MODEL chooses"
            log.info(json.dumps({"event": "model_not_routed", "name": name, "why": why}))

    def _load_dictionary(self, tagger: Tagger, path: str) -> None:
        """Read ``tagger``'s dictionary file and build it (as requests without ``ignore_case`` use it)."""
        configured = DictionaryFile(path, labels=tagger.labels)
        self._serve(tagger, (configured.version, False), configured.latest[1])
        self.dictionary_files[tagger.name] = configured

    def _serve(
        self, tagger: Tagger, key: tuple[int, bool], entries: Mapping[str, str], built: Dictionary | None = None
    ) -> tuple[Hashable, Dictionary]:
        """Serve ``tagger``'s file dictionary of ``key`` (its reading, ignore_case) from now on: ``built``, or
        built here unless kept."""
        if built is None:
            built = tagger.dictionary(entries, key[1], key=key, pin=True)
        self.served_files[(tagger.name, key[1])] = (key, built)
        return key, built

    async def route(self, texts: list[str], model: str | None, lang: str, capitals: Capitals = "auto") -> Route:
        """Which model reads which part of each text. Long texts are tokenized in a thread, off the event
        loop; short ones (most requests) right here, where it costs less than the hop to a thread."""
        assert self.router is not None
        if sum(map(len, texts)) <= INLINE_CHARS:
            return self.router.route(texts, model, lang, capitals)
        return await run_in_threadpool(self.router.route, texts, model, lang, capitals)

    async def read(self, texts: list[str], markup: Markup) -> list[PlainText]:
        """Each text as read (:func:`ner.markup.read_markup`): off the event loop when they are long."""
        if sum(map(len, texts)) <= INLINE_CHARS:
            return [read_markup(text, markup) for text in texts]
        return await run_in_threadpool(lambda: [read_markup(text, markup) for text in texts])

    async def render(self, work: int, build: Callable[[], Response]) -> Response:
        """``build()`` (shaping and encoding an answer): in a thread for a large request, else right here."""
        if work <= self.settings.large_request_tokens:
            return build()
        return await run_in_threadpool(build)

    async def dictionaries(self, route: Route, entries: object, ignore_case: bool) -> dict[str, Dictionary]:
        """Each routed model's dictionary: the request's entries laid over its configured file's, built in
        a thread, off the event loop, when they are many and not built already. A file's dictionary is
        built once per reading of it, in a thread, and kept (:meth:`_file_dictionary`); a request's
        entries are built over it alone.

        ``entries`` come from the request body unchecked; raises
        :class:`fastapi.exceptions.RequestValidationError` if they are not a valid dictionary, and
        :class:`ner.dictionary.DictionaryError` naming labels a model does not have
        (:class:`ner.dictionary.DictionaryTooLarge` for phrases over ``max_dictionary_tokens``).
        """
        request_key = self._checked_key(entries)
        builds = []  # tagger, the file's dictionary (or None), the request's key and preparation
        for tagger, _ in route.jobs:
            configured = self.dictionary_files.get(tagger.name)
            if configured is None and request_key is None:
                continue
            file_key, file_dictionary = None, None
            if configured is not None:
                file_key, file_dictionary = await self._file_dictionary(tagger, configured, ignore_case)
            filtered = route.auto and request_key is not None  # the request's entries, cut to its model's labels
            prepare = None
            if filtered:
                assert self.router is not None
                prepare = functools.partial(self.router.entries_for, tagger=tagger)
            own = (file_key, request_key, ignore_case, filtered) if request_key is not None else None
            builds.append((tagger, file_dictionary, own, prepare))

        max_nodes = self.settings.max_dictionary_tokens  # a request's: a configured file is the operator's

        def build() -> dict[str, Dictionary]:
            built = {}
            for tagger, over, own, prepare in builds:
                if own is None:
                    built[tagger.name] = over
                else:
                    built[tagger.name] = tagger.dictionary(
                        entries, ignore_case, key=own, prepare=prepare, over=over, max_nodes=max_nodes
                    )
            return built

        to_build = sum(len(entries) for tagger, _, own, _ in builds if own and not tagger.built_dictionary(own))  # type: ignore[arg-type]
        if to_build <= INLINE_ENTRIES:
            return build()
        return await run_in_threadpool(build)

    async def _file_dictionary(
        self, tagger: Tagger, configured: DictionaryFile, ignore_case: bool
    ) -> tuple[Hashable, Dictionary]:
        """The key and dictionary of ``tagger``'s file to serve now: its latest reading's once built, the
        reading before while that is built in a thread. The file is checked in a thread too."""
        configured.check_soon()
        version, entries = configured.latest
        key = (version, ignore_case)  # names the reading rather than hashing its (perhaps many) entries again
        served = self.served_files.get((tagger.name, ignore_case))
        if served is not None and served[0] == key:  # the latest reading, served already (most requests)
            return served
        building = self.file_builds.get((tagger.name, key))
        if building is None and not tagger.built_dictionary(key):
            latest = functools.partial(_is_latest, version, configured)  # pinned if still the latest once built
            build = functools.partial(tagger.dictionary, entries, ignore_case, key=key, pin=True, keep=latest)
            building = self.file_builds[(tagger.name, key)] = asyncio.ensure_future(run_in_threadpool(build))
            building.add_done_callback(functools.partial(self._file_built, (tagger.name, key)))
        if building is None or building.done() or served is None:  # built: kept, or awaited here
            served = self._serve(tagger, key, entries, await asyncio.shield(building) if building is not None else None)
        return served

    def _file_built(self, name_and_key: tuple[str, Hashable], building: asyncio.Future[Dictionary]) -> None:
        self.file_builds.pop(name_and_key, None)
        if not building.cancelled() and (error := building.exception()) is not None:
            log.error(json.dumps({"event": "dictionary_failed", "model": name_and_key[0], "error": repr(error)}))

    def _checked_key(self, entries: object) -> EntriesKey | None:
        """The cache key of a request's dictionary (None for none or an empty one), checked once per
        distinct dictionary: equal keys mean equal entries, so an entry seen valid stays valid."""
        if entries is None:
            return None
        if not isinstance(entries, dict):
            check_dictionary(entries)  # raises
        known = self.entries_keys.get(id(entries))
        fresh = known is None or known[0] is not entries
        try:
            key = EntriesKey(entries) if fresh else known[1]
        except RecursionError:  # a value nested deeper than JSON encoders go: no dictionary
            check_dictionary(entries)  # raises
            raise
        if self.checked_dictionaries.get(key) is None:
            check_dictionary(entries)
        self.checked_dictionaries.put(key, True, 0)  # a digest: the count bounds them
        if fresh:  # held from now on: counted as the parsed entries hold memory
            self.entries_keys.put(id(entries), (entries, key), entries_bytes(entries))
        return key if entries else None

    @staticmethod
    def work(route: Route, options: TagOptions) -> int:
        """The cost of a request, as the token limit counts it: tokens x (1 + nbest)."""
        return sum(work([p.document for p in parts], options) for _, parts in route.jobs)

    async def analyze(
        self,
        route: Route,
        options: TagOptions,
        deadline: float | None = None,
        dictionaries: Mapping[str, Dictionary] | None = None,
    ) -> list[Analysis]:
        """Tag every part of ``route`` (each model's parts batched with other requests'), merged per text;
        ``dictionaries`` constrain the models they are given for.

        Raises :class:`api.batcher.Overloaded` at once when a lane is full, cancelling what it queued.
        """
        futures: list[asyncio.Future[list[Analysis]]] = []
        try:
            for tagger, parts in route.jobs:
                own = replace(options, dictionary=dictionaries.get(tagger.name)) if dictionaries else options
                futures.append(self.batcher.submit(tagger, [p.document for p in parts], own, deadline))
        except Exception:
            for future in futures:
                future.cancel()
            raise
        results: Sequence[list[Analysis]] = await asyncio.gather(*futures)
        return merge(route, results, options)
