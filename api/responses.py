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
