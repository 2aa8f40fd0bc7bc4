"""The one sending seam (SPEC §4.2, §4.4): every delivery attempt is a `Poster.post`.

    Poster (abstract)     post(url, content=, headers=) -> CappedResponse;  aclose()
    ├── AiohttpPoster     production: aiohttp on the guarded connector, TLS verified, keep-alive
    │                     pool capped in total and per host
    └── HttpxPoster       tests: any httpx transport (an httpx.MockTransport) behind the same rules

Both refuse a payload over 256 KiB before sending, run `check_url` before connecting, never
follow redirects, read at most 64 KiB of the response, bound the whole attempt by the timeout,
return any HTTP status, and turn every failure to get one into a `DeliveryError`. One poster is
built per process (the app's lifespan, or `buzz worker`); the dispatcher sends through it and the
webhook test route borrows it (`POSTER.of(app)`).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import functools
import os
import ssl
import weakref
from collections.abc import AsyncGenerator, Mapping
from typing import NamedTuple, cast

import aiohttp
import certifi
import httpx

from buzz import __version__
from buzz.delivery.errors import PayloadTooLarge, delivery_error, target_of
from buzz.delivery.guard import GuardedResolver, TargetRefused, check_url
from buzz.settings import Settings
from buzz.state import StateKey

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "MAX_RESPONSE_BYTES",
    "POSTER",
    "USER_AGENT",
    "AiohttpPoster",
    "CappedResponse",
    "HttpxPoster",
    "Poster",
    "build_ssl_context",
    "poster_for",
]

MAX_PAYLOAD_BYTES = 256 * 1024
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = f"buzz-server/{__version__} (webhooks)"
# identity: the capped body we keep is then the body as sent, with no decompression bomb.
_HEADERS = {"user-agent": USER_AGENT, "accept-encoding": "identity"}


class CappedResponse(NamedTuple):
    """What one attempt got back: status, headers and at most the first 64 KiB of the body."""

    status_code: int
    headers: Mapping[str, str]
    body: bytes


def build_ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    """A verifying client context trusting certifi's and the system's CAs, plus `ca_bundle` (a PEM
    file or a directory of hashed certificates) when given. Made once per bundle as it is on
    disk: loading the system's CAs takes about 50 ms, and a context serves any session."""
    stamp = os.stat(ca_bundle).st_mtime_ns if ca_bundle else 0
    return _ssl_context(ca_bundle, stamp)


@functools.lru_cache(maxsize=32)
def _ssl_context(ca_bundle: str | None, _stamp: int) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certifi.where())
    context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if ca_bundle:
        if os.path.isdir(ca_bundle):
            context.load_verify_locations(capath=ca_bundle)
        else:
            context.load_verify_locations(cafile=ca_bundle)
    return context


def _refuse_oversized(content: bytes) -> None:
    if len(content) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(
            f"payload is {len(content)} bytes, over the {MAX_PAYLOAD_BYTES} byte limit; not sent"
        )


class _UrlCheck:
    """`check_url` is pure: remember the URLs it passed (a bounded set; targets are few)."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._vetted: set[str] = set()

    def __call__(self, url: str) -> None:
        if url not in self._vetted:
            check_url(url, allow_private=self.allow_private)
            if len(self._vetted) > 10_000:
                self._vetted.clear()
            self._vetted.add(url)


class Poster(abc.ABC):
    """Sends one delivery attempt: the only way this service POSTs to a receiver.

    `post` applies the rules every poster shares (the payload cap and the URL check first, then
    the client's failures turned into `DeliveryError`s); a subclass only sends (`_send`).
    """

    timeout_s: float
    _check: _UrlCheck
    _client_errors: tuple[type[BaseException], ...]

    async def post(
        self,
        url: str,
        *,
        content: bytes,
        headers: Mapping[str, str],
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> CappedResponse:
        """POST once: any HTTP status is returned; no status at all raises `DeliveryError`."""
        _refuse_oversized(content)
        failures: tuple[type[BaseException], ...] = (TargetRefused, OSError, *self._client_errors)
        try:
            self._check(url)
            return await self._send(url, content, headers, max_response_bytes)
        except failures as exc:
            raise delivery_error(exc, target=target_of(url), deadline=self.timeout_s) from exc

    @abc.abstractmethod
    async def _send(
        self, url: str, content: bytes, headers: Mapping[str, str], limit: int
    ) -> CappedResponse:
        """POST and read at most `limit` bytes of the body; the client's own errors propagate."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Close the connections this event loop holds; the poster stays usable."""


POSTER: StateKey[Poster] = StateKey("poster")


class AiohttpPoster(Poster):
    """The production poster: aiohttp, whose per-request cost is a fraction of httpx's (bench/:
    about 3x the delivery rate), on a connector that resolves every name through
    `GuardedResolver`, so no connection skips the guard (SPEC §4.4).

    Build it anywhere: each event loop that posts gets its own session, made on first use.
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        ca_bundle: str | None,
        concurrency: int,
        per_host: int,
        timeout_s: float,
    ) -> None:
        if concurrency < 1 or per_host < 1:
            raise ValueError("concurrency and per_host must be at least 1")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self.allow_private = allow_private
        self.timeout_s = timeout_s
        if ca_bundle and not os.path.exists(ca_bundle):
            raise FileNotFoundError(f"BUZZ_DISPATCH_CA_BUNDLE {ca_bundle} does not exist")
        self._check = _UrlCheck(allow_private=allow_private)
        self._ca_bundle = ca_bundle
        self._concurrency = concurrency
        self._per_host = per_host
        self._sessions: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, aiohttp.ClientSession
        ] = weakref.WeakKeyDictionary()

    def session(self) -> aiohttp.ClientSession:
        """This event loop's session (made now if it has none)."""
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(allow_private=self.allow_private),
                ssl=build_ssl_context(self._ca_bundle),
                limit=self._concurrency,
                limit_per_host=self._per_host,
            )
            session = self._sessions[loop] = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,  # an environment proxy would connect past the guard
                cookie_jar=aiohttp.DummyCookieJar(),  # receivers must not see each other's cookies
                auto_decompress=False,
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                headers=_HEADERS,
            )
        return session

    _client_errors = (aiohttp.ClientError, TimeoutError, ValueError)

    async def _send(
        self, url: str, content: bytes, headers: Mapping[str, str], limit: int
    ) -> CappedResponse:
        async with self.session().post(
            url, data=content, headers=headers, allow_redirects=False
        ) as response:
            return CappedResponse(
                response.status, response.headers, await _read_aiohttp_prefix(response, limit)
            )

    async def aclose(self) -> None:
        """Close this event loop's session and its pooled connections."""
        session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()


async def _read_aiohttp_prefix(response: aiohttp.ClientResponse, limit: int) -> bytes:
    body = bytearray()
    while len(body) < limit:
        chunk = await response.content.read(limit - len(body))
        if not chunk:
            break
        body += chunk
    return bytes(body)


class HttpxPoster(Poster):
    """A poster on any httpx transport: `httpx.MockTransport` in tests, for status codes,
    headers, timeouts and retry schedules without a network. Same rules as `AiohttpPoster`."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport,
        *,
        allow_private: bool = True,
        timeout_s: float = 10.0,
    ) -> None:
        self.transport = transport
        self.timeout_s = timeout_s
        self._check = _UrlCheck(allow_private=allow_private)
        self._client = httpx.AsyncClient(
            transport=transport, follow_redirects=False, trust_env=False, headers=_HEADERS
        )

    _client_errors = (httpx.HTTPError, httpx.InvalidURL)

    async def _send(
        self, url: str, content: bytes, headers: Mapping[str, str], limit: int
    ) -> CappedResponse:
        async with (
            asyncio.timeout(self.timeout_s),
            self._client.stream("POST", url, content=content, headers=headers) as response,
        ):
            return CappedResponse(
                response.status_code, response.headers, await _read_httpx_prefix(response, limit)
            )

    async def aclose(self) -> None:
        """Close the transport's connections (none, for a MockTransport)."""
        await self.transport.aclose()


async def _read_httpx_prefix(response: httpx.Response, limit: int) -> bytes:
    """Read raw body chunks until `limit` bytes are held; the rest is never read."""
    if limit <= 0:
        return b""
    if response.is_stream_consumed:  # a transport that read the body already (MockTransport)
        return response.content[:limit]
    body = bytearray()
    chunks = cast(AsyncGenerator[bytes, None], response.aiter_raw())
    async with contextlib.aclosing(chunks):
        async for chunk in chunks:
            body += chunk[: limit - len(body)]
            if len(body) >= limit:
                break
    return bytes(body)


def poster_for(settings: Settings) -> AiohttpPoster:
    """The process's production poster, from the dispatch settings."""
    return AiohttpPoster(
        allow_private=settings.allow_private_targets,
        ca_bundle=settings.dispatch_ca_bundle,
        concurrency=settings.dispatch_concurrency,
        per_host=settings.dispatch_per_host,
        timeout_s=settings.dispatch_timeout_s,
    )
