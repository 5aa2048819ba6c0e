"""FastAPI dependencies: the service state, typed, the API key check and the JSON body check.

All ``async``, though none waits: FastAPI runs a plain function dependency in a thread, and the
hop would cost more than the check.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from api.service import ServiceState


async def get_service(request: Request) -> ServiceState:
    return request.app.state.service


ServiceDep = Annotated[ServiceState, Depends(get_service)]


async def require_api_key(request: Request, service: ServiceDep) -> None:
    """With API keys set (``NER_API_KEYS``, ``NER_API_KEY``), the request must carry ``Authorization: Bearer KEY``.

    Every key is compared, in constant time, whichever matches; the request records the key's id.
    """
    if not service.keys:
        return
    matched = key_id_of(request.headers.get("authorization", ""), service.keys)
    if matched is None:
        raise HTTPException(
            401,
            {"type": "unauthorized", "message": "missing or wrong API key (Authorization: Bearer KEY)"},
            headers={"www-authenticate": "Bearer"},
        )
    request.state.key_id = matched


Authorized = Depends(require_api_key)


def key_id_of(authorization: str, keys: Mapping[str, bytes]) -> str | None:
    """The id of the key that an ``Authorization`` header's value (``Bearer KEY``, as Starlette decodes it,
    in Latin-1) carries, None if none; every key is compared, in constant time, whichever matches."""
    scheme, _, token = authorization.partition(" ")
    given = token.strip().encode("latin-1")
    matched = None
    for key_id, key in keys.items():
        if hmac.compare_digest(given, key):
            matched = key_id
    return matched if scheme.lower() == "bearer" else None


async def require_json(request: Request) -> None:
    """A body labelled as JSON: a cross-site form (text/plain, urlencoded) cannot post to the API."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/json" and not (kind.startswith("application/") and kind.endswith("+json")):
        raise HTTPException(
            415,
            {"type": "unsupported_media_type", "message": "send the body as JSON (Content-Type: application/json)"},
        )


JSONBody = Depends(require_json)
