"""The HTTP edge: uvicorn's httptools protocol, with a deadline and a size cap for every request head.

uvicorn closes a connection that stays idle after a response (``timeout_keep_alive``),
but not one that never sends a request, nor one that sends its request head a few bytes
at a time: each would hold one of the ``limit_concurrency`` places for as long as its
client likes. And httptools, unlike h11, puts no bound on a head that is still arriving.
Here:

- the whole request line and headers must arrive within ``timeout_keep_alive`` seconds
  of the connection opening or of the previous response, else the connection is closed;
- an unfinished head longer than ``h11_max_incomplete_event_size`` (the bound uvicorn
  gives h11, used here for httptools too) is answered 431 and the connection closed;
- a connection with more than :data:`MAX_PIPELINED` requests queued behind the one
  being answered has its queue let go (each held about 2 KB for the 33 bytes of a
  ``GET``), and is closed once that one is answered;
- a request asking to upgrade to WebSocket, which this service does not speak, is
  answered without uvicorn's two warnings (any client could write them to the log with
  every request).

httptools rather than h11: parsing a request and writing its answer costs about 1 us
in C against about 65 us in h11's Python, and under overload the event loop spends its
time there, answering the requests it turns away. A complete head is bounded in count
and size by :class:`api.middleware.HeaderLimit`; the request body by the app
(:class:`api.middleware.BodyLimit`, :class:`api.middleware.Timeout`).
"""

from __future__ import annotations

import asyncio
import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_TOO_LARGE_BODY = json.dumps(
    {
        "error": {
            "type": "headers_too_large",
            "message": "the request line and headers are too large",
            "request_id": None,
            "limit": "max_header_bytes",
        }
    }
).encode()
TOO_LARGE = (  # JSON, as every other error: a generated client parses each error's body as one
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_TOO_LARGE_BODY), _TOO_LARGE_BODY)
)
MAX_PIPELINED = 32


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` that closes a connection whose request head is late or too large."""

    head_timer: asyncio.TimerHandle | None = None
    awaiting_head = True  # no request, or only part of its head, received since the last one ended
    head_bytes = 0  # received while awaiting a head
    cut_off = False  # pipelined past MAX_PIPELINED: the request being answered is its last

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch_head()

    def data_received(self, data: bytes) -> None:
        if self.cut_off:  # what it sends after is dropped unread, until the request under way is answered
            self.flow.pause_reading()
            return
        if self.awaiting_head:
            self.head_bytes += len(data)
        super().data_received(data)
        limit = self.config.h11_max_incomplete_event_size
        if self.awaiting_head and limit is not None and self.head_bytes > limit and not self.transport.is_closing():
            self.transport.write(TOO_LARGE)
            self.transport.close()

    def _unsupported_upgrade_warning(self) -> None:
        pass

    def on_headers_complete(self) -> None:
        self.awaiting_head = False
        self._stop_watching()
        if self.cut_off or self.transport.is_closing():  # the rest of what it sent is parsed, not queued
            return
        super().on_headers_complete()
        if len(self.pipeline) > MAX_PIPELINED:
            self.pipeline.clear()
            self.cut_off = True
            self.flow.pause_reading()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.awaiting_head, self.head_bytes = True, 0  # the next request may begin
        self._watch_head()  # if its answer went out already (an early one): the client owes a head now

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.cut_off:
            self.transport.close()
        self._watch_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_watching()
        super().connection_lost(exc)

    def _watch_head(self) -> None:
        """Start the clock when the client owes a request head: none is under way, none is half-read."""
        answered = self.cycle is None or self.cycle.response_complete
        owed = self.awaiting_head and answered and not self.pipeline and not self.transport.is_closing()
        if owed and self.head_timer is None:
            self.head_timer = self.loop.call_later(self.timeout_keep_alive, self._head_late)

    def _stop_watching(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_late(self) -> None:
        self.head_timer = None
        if self.awaiting_head and not self.transport.is_closing():
            self.transport.close()
