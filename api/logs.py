"""The service's log once uvicorn starts: every line one JSON object, whoever wrote it (``ner serve``'s
checks before, errors and warnings, are lines of its own, ``ner serve: ...``).

The service's own events (requests, readiness, models loaded) are JSON already; what the library,
uvicorn and Python's warnings log is wrapped as ``{"event": "log", "level", "logger", "message"}``, so
that a log collector parses each line as it comes.
"""

from __future__ import annotations

import json
import logging

SERVICE_LOGGER = "ner.api"  # its messages are JSON records already


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.name == SERVICE_LOGGER:
            return message
        line = {"event": "log", "level": record.levelname.lower(), "logger": record.name, "message": message}
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line)


def log_config(level: str) -> dict:
    """A :func:`logging.config.dictConfig` for the service's processes: the ``ner`` loggers, uvicorn's,
    Python's warnings and every other library's, all to stderr in JSON lines."""
    to_stderr = {"handlers": ["stderr"], "propagate": False}
    quiet = level.upper() if level in ("error", "critical") else "WARNING"  # other libraries' info stays out
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonLines}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "loggers": {
            "ner": {**to_stderr, "level": level.upper()},
            "uvicorn": {**to_stderr, "level": level.upper()},
            "py.warnings": {**to_stderr, "level": quiet},
        },
        "root": {"handlers": ["stderr"], "level": quiet},  # asyncio's, onnxruntime's, ...
    }
