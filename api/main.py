"""Start the service: ``ner serve`` and ``make serve`` end here."""

from __future__ import annotations

import contextlib
import difflib
import importlib.util
import json
import logging
import os
import re
import signal
import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from api.app import create_app
from api.edge import GuardedHttpToolsProtocol
from api.logs import log_config
from api.settings import Settings
from ner.bundle import BundleError, model_language, model_name, read_config, verify
from ner.dictionary import DictionaryError, DictionaryFile
from ner.router import default_names, languages_chosen_twice


def app_from_environment() -> FastAPI:
    """The app as uvicorn workers build it, from ``NER_*`` variables (uvicorn has set up the log:
    :func:`api.logs.log_config`)."""
    logging.captureWarnings(True)  # a library's warning is a JSON line of the log too
    return create_app(Settings())


# Open files a server process needs besides its connections: models, logs, the metrics port, the event loop.
FILES_BESIDE_CONNECTIONS = 32
# Seconds a new worker of a restart (SIGHUP, several workers) may take to load its models before uvicorn's
# supervisor gives up the restart (its default of 5 is shorter than a large dictionary file takes to build);
# also how long the supervisor waits for a worker's answer to its liveness ping before it kills it as hung.
WORKER_START_S = 120
BACKLOG = 2048  # uvicorn's: connections the kernel queues, which one turn of asyncio's accept loop may take at once


def raise_open_files_limit(max_connections: int) -> None:
    """Raise this process's soft limit of open files toward the hard one as far as ``max_connections`` and a
    full accept backlog need (a shell's ``ulimit -n`` of 1024 is no more than the default connections): out of
    files, asyncio's accept loop logs a traceback for every waiting connection and stalls the server. Short of
    what they need, say so on stderr."""
    try:
        import resource
    except ImportError:  # Windows: no such limit
        return
    needed = max_connections + BACKLOG + FILES_BESIDE_CONNECTIONS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    with contextlib.suppress(ValueError, OSError):
        reachable = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (reachable, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < needed:
        most = "unlimited" if hard == resource.RLIM_INFINITY else hard
        print(
            f"ner serve: warning: {soft} open files allowed (ulimit -n; hard limit {most}), {needed} needed for "
            f"NER_MAX_CONNECTIONS {max_connections} and a burst of {BACKLOG:,} new connections: raise the hard "
            "limit (ulimit -Hn, docker run --ulimit nofile=N:N)",
            file=sys.stderr,
        )


KEY_TYPO = 0.85  # NER_API_KY reads as a typo of NER_API_KEY (0.95), NER_API_URL does not (0.73)
CREDENTIAL = re.compile(r"KEY|SECRET|PASSW|AUTH(?!OR)|BEARER|API_TOKEN")  # not TOKEN alone: NER_MAX_TOKEN is a typo


def _likeness(name: str, names: tuple[str, ...]) -> float:
    return max(difflib.SequenceMatcher(None, name, other).ratio() for other in names)


def _check_unknown_variables() -> bool:
    """An ``NER_*`` variable no setting reads (a typo: ``NER_MAX_TOKEN``) is said, with the nearest name;
    with no key set, one that names a credential or reads as a typo of a key's is an error (``NER_API_KEYZ`` or
    ``NER_API_KY`` ignored would serve an open API). False on an error."""
    known = {f"NER_{name.upper()}" for name in Settings.model_fields} | {"NER_MODELS_DIR"}
    keys_set = any(os.environ.get(name) for name in os.environ if name.upper() in ("NER_API_KEY", "NER_API_KEYS"))
    fine = True
    for name in sorted(n for n in os.environ if n.upper().startswith("NER_") and n.upper() not in known):
        near = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {near[0]}?" if near else ""
        upper = name.upper()
        like_key = bool(CREDENTIAL.search(upper)) or _likeness(upper, ("NER_API_KEY", "NER_API_KEYS")) >= KEY_TYPO
        if like_key and not keys_set:
            print(f"ner serve: error: {name} is no setting: it would leave the API open{hint}", file=sys.stderr)
            fine = False
        else:
            print(f"ner serve: warning: {name} is no setting and is ignored{hint}", file=sys.stderr)
    return fine


def _served_problems(settings: Settings, models: list[str], overrides: dict) -> list[str]:
    """What would leave the service started but never ready, or a model of it left out, found before it
    starts: two models of one name, a default model or a dictionary's model not among them, two default
    models of one language, a dictionary file that is none or that its model cannot use, torch asked for
    and not installed."""
    problems = []
    names: dict[str, str] = {}
    for path in models:
        name = model_name(path)
        if name in names:
            problems.append(f"NER_MODELS: {names[name]} and {path} are both named {name!r}: serve one")
        names.setdefault(name, path)
    defaults = default_names(settings.default_model, names)
    for default in defaults:
        if default not in names:
            problems.append(f"NER_DEFAULT_MODEL: no model named {default!r}; loaded: {sorted(names)}")
    chosen = [(default, model_language(names[default])) for default in defaults if default in names]
    problems += [f"NER_DEFAULT_MODEL: {conflict}" for conflict in languages_chosen_twice(chosen)]
    for name, file in settings.dictionaries.items():
        if name not in names:
            problems.append(f"NER_DICTIONARIES: no model named {name!r}; loaded: {sorted(names)}")
        elif not Path(file).is_file():
            problems.append(f"NER_DICTIONARIES: {file} is no file")
        else:  # read as the model will read it, its labels checked: a worker would leave the model out
            try:
                DictionaryFile(file, labels=read_config(names[name]).get("labels"))
            except DictionaryError as error:
                problems.append(f"NER_DICTIONARIES: {error}")
    if settings.backend == "torch" and importlib.util.find_spec("torch") is None:
        flag = "--backend" if overrides.get("backend") else "NER_BACKEND"
        problems.append(f"{flag}: torch is not installed (pip install 'ner-service[train]')")
    return problems


def serve(
    models: list[str] | None = None,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    backend: str | None = None,
) -> int:
    """Check the model directories, then run uvicorn; flags override ``NER_*`` variables."""
    overrides = {
        "models": json.dumps(models) if models else None,  # a list: a path may hold a comma
        "host": host,
        "port": port,
        "workers": workers,
        "backend": backend,
    }
    for key, value in overrides.items():
        if value is not None:
            os.environ[f"NER_{key.upper()}"] = str(value)
    fine = _check_unknown_variables()
    try:
        settings = Settings()
    except ValidationError as error:  # one line per setting, named as the user gave it
        for problem in error.errors():
            message = problem["msg"].removeprefix("Value error, ")
            if not problem["loc"]:  # between settings: its input is all of them, keys included
                print(f"ner serve: error: {message}", file=sys.stderr)
                continue
            field = str(problem["loc"][0])
            name = f"--{field}" if overrides.get(field) is not None else f"NER_{field.upper()}"
            given = "" if "key" in field else f" (given {problem.get('input')!r})"  # a key is never shown
            print(f"ner serve: error: {name}: {message}{given}", file=sys.stderr)
        return 2
    if not fine:
        return 2
    good = []
    for path in settings.models:
        try:
            verify(path)
            good.append(path)
        except BundleError as error:  # as one that fails to load: its failure in the log and in /ready
            print(f"ner serve: warning: {error}: the others are served, /ready answers 503", file=sys.stderr)
    if not good:
        print("ner serve: error: no usable model (give --model DIR; set NER_MODELS or NER_MODELS_DIR)", file=sys.stderr)
        return 2
    if problems := _served_problems(settings, good, overrides):
        for problem in problems:
            print(f"ner serve: error: {problem}", file=sys.stderr)
        return 2
    os.environ["NER_MODELS"] = json.dumps(settings.models)  # a damaged one too, for the service to report
    raise_open_files_limit(settings.max_connections)
    if settings.workers == 1 and hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) == signal.SIG_DFL:
        # A closing terminal or SSH session: stop as SIGTERM stops, finishing the requests in flight (it
        # ended the process at once, dropping them). Ignored (nohup) it stays so; several workers'
        # supervisor restarts them on it instead.
        signal.signal(signal.SIGHUP, lambda *_: signal.raise_signal(signal.SIGTERM))
    uvicorn.run(
        "api.main:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=log_config(settings.log_level),
        log_level=settings.log_level,
        access_log=False,
        timeout_graceful_shutdown=max(30, int(settings.request_timeout_s)),  # in-flight requests may finish
        timeout_worker_healthcheck=WORKER_START_S,
        # The edge: httptools with a deadline and a size cap for each request head.
        http=GuardedHttpToolsProtocol,
        # asyncio's loop, not uvloop: flooded, uvloop left new connections unaccepted for up to 8 s
        # (benchmarks/load.py, hostile section), asyncio's loop accepted them within half a second.
        loop="asyncio",
        h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_keep_alive=settings.idle_timeout_s,  # type: ignore[arg-type]  # a float works
        limit_concurrency=settings.max_connections,
        backlog=BACKLOG,
    )
    return 0
