"""What the routes work with: the settings, the loaded models behind a router, the micro-batcher."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from collections.abc import Sequence

from api.batcher import MicroBatcher
from api.settings import Settings
from ner.router import Route, Router, merge
from ner.tagger import Analysis, Tagger, TagOptions

log = logging.getLogger("ner.api")


class ServiceState:
    """The service's models and batcher; ``ready`` once the models are loaded and requests are accepted."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.router: Router | None = None
        self.load_errors: dict[str, str] = {}
        self.batcher = MicroBatcher(settings.batch_wait_ms / 1000, settings.max_batch_texts, enabled=settings.batching)
        self.accepting = True

    @property
    def ready(self) -> bool:
        return self.router is not None and self.accepting

    def load_models(self) -> None:
        """Load every configured model; one that fails is logged and left out, the others serve."""
        taggers: list[Tagger] = []
        for path in self.settings.models:
            try:
                tagger = Tagger.load(
                    path, backend=self.settings.backend, bfloat16=self.settings.bfloat16, threads=self.settings.threads
                )
                if any(t.name == tagger.name for t in taggers):
                    raise ValueError(f"another model is already named {tagger.name!r}")
                taggers.append(tagger)
                event = {"event": "model_loaded", "path": path, "name": tagger.name, "backend": tagger.backend.name}
                log.info(json.dumps(event))
            except Exception as error:  # a bad model must not take the others down
                self.load_errors[path] = str(error)
                log.error(json.dumps({"event": "model_failed", "path": path, "error": str(error)}))
        # Everything alive now lives as long as the process: keep it out of the cyclic collector's
        # full scans, which otherwise pause the event loop for tens of milliseconds under load.
        gc.collect()
        gc.freeze()
        try:
            self.router = Router(taggers, self.settings.default_model)
        except (ValueError, KeyError) as error:  # no models, or an unknown default
            self.load_errors["router"] = str(error)
            log.critical(json.dumps({"event": "no_service", "error": str(error), "errors": self.load_errors}))

    async def analyze(self, route: Route, options: TagOptions) -> list[Analysis]:
        """Tag every part of ``route`` (each model's parts batched with other requests'), merged per text."""
        results: Sequence[list[Analysis]] = await asyncio.gather(
            *(self.batcher.submit(tagger, [p.document for p in parts], options) for tagger, parts in route.jobs)
        )
        return merge(route, results, options)
