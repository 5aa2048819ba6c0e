"""FastAPI dependencies: the service state, typed, and the API key check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from api.service import ServiceState


def get_service(request: Request) -> ServiceState:
    return request.app.state.service


ServiceDep = Annotated[ServiceState, Depends(get_service)]


def require_api_key(request: Request, service: ServiceDep) -> None:
    """With ``NER_API_KEY`` set, the request must carry ``Authorization: Bearer KEY``."""
    key = service.settings.api_key
    if key is None:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), key.get_secret_value().encode()):
        raise HTTPException(
            401,
            {"type": "unauthorized", "message": "missing or wrong API key (Authorization: Bearer KEY)"},
            headers={"www-authenticate": "Bearer"},
        )


Authorized = Depends(require_api_key)


def require_json(request: Request) -> None:
    """A body labelled as JSON: a cross-site form (text/plain, urlencoded) cannot post to the API."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/json" and not (kind.startswith("application/") and kind.endswith("+json")):
        raise HTTPException(
            415,
            {"type": "unsupported_media_type", "message": "send the body as JSON (Content-Type: application/json)"},
        )


JSONBody = Depends(require_json)
