"""A real local HTTPS webhook receiver for tests: trustme certificates, uvicorn in a thread.

    with HttpsReceiver() as rx:
        rx.respond_with(status=500)
        ... POST to rx.url("/hook"), trusting rx.ca_pem_path ...
        assert rx.requests[0].body == payload

The certificate is valid for ``localhost``, ``127.0.0.1`` and ``::1``; the server listens on
127.0.0.1 only. Every request is recorded (method, path, headers, raw body) before the configured
reply is sent, so a reply that is slow, huge or a redirect still leaves its request on record.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import trustme
import uvicorn

__all__ = ["HttpsReceiver", "ReceivedRequest", "Reply"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_CHUNK = 64 * 1024


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the receiver saw it; header names are lower-case."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    client: tuple[str, int] | None


@dataclass(frozen=True)
class Reply:
    """What the receiver answers: status, headers, a body (or `body_size` filler bytes), after
    `delay` seconds; `location` adds a ``Location`` header for redirects."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    delay: float = 0.0
    body_size: int = 0
    location: str | None = None


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[ReceivedRequest] = field(default_factory=list)
    reply: Reply = field(default_factory=Reply)
    in_flight: int = 0
    max_in_flight: int = 0


class HttpsReceiver:
    """A real HTTPS server on a free port of 127.0.0.1 that records requests and replies as told."""

    def __init__(self) -> None:
        self._state = _State()
        self._closing = threading.Event()
        self._tmp = tempfile.TemporaryDirectory(prefix="buzz-rx-")
        self._ca = trustme.CA()
        self._cert = self._ca.issue_cert("localhost", "127.0.0.1", "::1")
        self.ca_pem_path = str(Path(self._tmp.name) / "ca.pem")
        self._ca.cert_pem.write_to_path(self.ca_pem_path)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            interface="asgi3",
            lifespan="off",
            http="h11",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
            ssl_context_factory=self._server_context,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> HttpsReceiver:
        """Start serving; returns once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("HTTPS receiver did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving (cutting any configured delay short) and remove the certificate files."""
        self._closing.set()
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._sock.close()
        self._tmp.cleanup()

    def __enter__(self) -> HttpsReceiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what tests use ---------------------------------------------------------------------

    def url(self, path: str = "/hook", *, host: str = "127.0.0.1") -> str:
        """The https URL of `path` on this receiver, through `host` (``localhost`` works too)."""
        shown = f"[{host}]" if ":" in host else host
        return f"https://{shown}:{self.port}{path}"

    @property
    def requests(self) -> list[ReceivedRequest]:
        """The requests received so far, oldest first (a copy)."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def max_in_flight(self) -> int:
        """The most requests this receiver was handling at one time."""
        with self._state.lock:
            return self._state.max_in_flight

    def respond_with(
        self,
        status: int = 200,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        delay: float = 0.0,
        body_size: int = 0,
        location: str | None = None,
    ) -> None:
        """Answer every following request like this."""
        pairs = tuple(headers.items()) if isinstance(headers, Mapping) else tuple(headers)
        reply = Reply(status, pairs, body, delay, body_size, location)
        with self._state.lock:
            self._state.reply = reply

    # -- the server side --------------------------------------------------------------------

    def _server_context(
        self, config: uvicorn.Config, default: Callable[[], ssl.SSLContext]
    ) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(context)
        return context

    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        client = scope.get("client")
        recorded = ReceivedRequest(
            method=scope["method"],
            path=scope["path"],
            query=scope["query_string"].decode("latin-1"),
            headers=headers,
            body=bytes(body),
            client=(client[0], client[1]) if client else None,
        )
        state = self._state
        with state.lock:
            state.requests.append(recorded)
            reply = state.reply
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            await self._reply(reply, send)
        finally:
            with state.lock:
                state.in_flight -= 1

    async def _reply(self, reply: Reply, send: Send) -> None:
        waited = 0.0
        while waited < reply.delay and not self._closing.is_set():
            await asyncio.sleep(0.01)
            waited += 0.01
        size = reply.body_size or len(reply.body)
        response_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
        response_headers.append((b"content-length", str(size).encode()))
        if reply.location is not None:
            response_headers.append((b"location", reply.location.encode("latin-1")))
        await send(
            {"type": "http.response.start", "status": reply.status, "headers": response_headers}
        )
        if not reply.body_size:
            await send({"type": "http.response.body", "body": reply.body})
            return
        sent = 0
        while sent < reply.body_size and not self._closing.is_set():
            chunk = b"x" * min(_CHUNK, reply.body_size - sent)
            sent += len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if sent == reply.body_size:
            await send({"type": "http.response.body", "body": b""})
