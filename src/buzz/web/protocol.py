"""uvicorn's HTTP protocol with a deadline for the request head (SPEC §1.6).

uvicorn bounds the idle time between requests, but not a client that opens a connection and
trickles (or never sends) its request line and headers: each such connection is held forever.
Here the head of every request must be complete within `BUZZ_REQUEST_TIMEOUT_S`; otherwise the
client gets a 408 and the connection is closed. The body's deadline is kept by
`RequestTimeoutMiddleware`, which works under any ASGI server.
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from buzz.settings import load_settings

__all__ = ["TimedHttpToolsProtocol"]


@functools.cache
def _timeout_s() -> float:
    return load_settings().request_timeout_s


class TimedHttpToolsProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` whose request heads have a deadline."""

    _head_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(_timeout_s(), self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being served; its body has its own deadline
        body = json.dumps(_timeout_body(_timeout_s())).encode()
        self.transport.write(
            b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
            b"connection: close\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        self.transport.close()


def _timeout_body(timeout_s: float) -> dict[str, Any]:
    # The path is not known yet, so Domo's envelope, the service's default.
    return {
        "status": 408,
        "statusReason": "Request Timeout",
        "message": f"The request was not received within {timeout_s:g} s",
        "path": "",
    }
