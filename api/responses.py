"""JSON responses of the service, errors included."""

from __future__ import annotations

import json
from collections.abc import Mapping

from fastapi.responses import JSONResponse


class SafeJSONResponse(JSONResponse):
    """JSON that survives lone surrogates in the input: they are written as ``\\uXXXX`` escapes."""

    def render(self, content: object) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def error_response(
    status: int,
    kind: str,
    message: str,
    request_id: str | None = None,
    limit: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {"type": kind, "message": message, "request_id": request_id}
    if limit is not None:
        body["limit"] = limit
    return SafeJSONResponse({"error": body}, status_code=status, headers=headers)


def too_large(limit: int, request_id: str | None) -> JSONResponse:
    """The 413 answer to a body over ``limit`` bytes."""
    return error_response(413, "body_too_large", f"request body over {limit} bytes", request_id, limit="max_body_bytes")


def overloaded(what: str, retry_after: int, request_id: str | None, limit: str) -> JSONResponse:
    """The 503 answer when ``what`` is full: come back in ``retry_after`` seconds (here or elsewhere)."""
    return error_response(
        503, "overloaded", f"{what} is full", request_id, limit=limit, headers={"retry-after": str(retry_after)}
    )


def queue_full(lane: str, retry_after: int, request_id: str | None) -> JSONResponse:
    """The 503 answer when the batcher's ``lane`` (interactive or bulk) has no room."""
    limit = "queue_tokens" if lane == "interactive" else "bulk_queue_tokens"
    return overloaded(f"the {lane} queue", retry_after, request_id, limit)


def timed_out(seconds: float, request_id: str | None, slow_client: bool = False) -> JSONResponse:
    """The answer to a request over its ``seconds``: 503, or 408 (closing the connection) when it was the
    client that had not sent its body in time."""
    what = "the request body" if slow_client else "the request"
    return error_response(
        408 if slow_client else 503,
        "timeout",
        f"{what} took over {seconds} s",
        request_id,
        limit="request_timeout_s",
        headers={"connection": "close"} if slow_client else None,
    )
