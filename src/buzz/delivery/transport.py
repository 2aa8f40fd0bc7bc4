"""The delivery HTTP client: one shared httpx client on aiohttp, guarded, capped (SPEC §4.2, §4.4).

`build_http_client` makes the one ``httpx.AsyncClient`` a process delivers with. It runs on the
``httpx_aiohttp`` transport (plain httpx's pool slows down badly with many requests in flight) over
an aiohttp ``TCPConnector`` that pools keep-alive connections, caps connections in total and per
host, verifies TLS, and resolves names through `GuardedResolver`. A `GuardedTransport` in front
runs `check_url` on every request, so no request from this client skips the guard.

`post_capped` makes one delivery attempt. It returns the status, headers and at most 64 KiB of the
body for any HTTP response (3xx included, redirects are never followed) and turns every failure to
get one into a `DeliveryError` whose ``str()`` is a one-line reason for the delivery log::

    DeliveryError(Exception)        no HTTP status was obtained; the cause is chained
    ├── PayloadTooLarge             the body is over 256 KiB; refused before sending
    ├── DeliveryRefused             the target guard refused the URL or a resolved address
    ├── DeliveryTimeout             no complete response within the attempt's timeout
    ├── DeliveryTLSError            certificate not trusted, wrong host, or handshake failure
    └── DeliveryConnectionError     DNS failure, connection refused or reset, broken response
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import ssl
from collections.abc import AsyncGenerator, Iterator, Mapping
from typing import NamedTuple, TypeVar, cast

import aiohttp
import certifi
import httpx
from httpx_aiohttp import AiohttpTransport

from buzz import __version__
from buzz.delivery.guard import GuardedResolver, TargetRefused, check_url

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "MAX_RESPONSE_BYTES",
    "USER_AGENT",
    "CappedResponse",
    "DeliveryConnectionError",
    "DeliveryError",
    "DeliveryRefused",
    "DeliveryTLSError",
    "DeliveryTimeout",
    "GuardedTransport",
    "PayloadTooLarge",
    "Poster",
    "build_http_client",
    "build_ssl_context",
    "guarded_session",
    "post_capped",
]

MAX_PAYLOAD_BYTES = 256 * 1024
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = f"buzz-server/{__version__} (webhooks)"

_E = TypeVar("_E", bound=BaseException)


class DeliveryError(Exception):
    """A delivery attempt that got no HTTP status; ``str()`` is one line for the delivery log."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class PayloadTooLarge(DeliveryError):
    """The payload is over `MAX_PAYLOAD_BYTES`; nothing was sent."""


class DeliveryRefused(DeliveryError):
    """The target guard refused the URL or an address its host resolves to."""


class DeliveryTimeout(DeliveryError):
    """No complete response arrived within the attempt's timeout."""


class DeliveryTLSError(DeliveryError):
    """The TLS handshake failed: untrusted or mismatched certificate, or a protocol error."""


class DeliveryConnectionError(DeliveryError):
    """The name did not resolve, or the connection was refused, reset or broke mid-response."""


class CappedResponse(NamedTuple):
    """What one attempt got back: status, headers and at most the first 64 KiB of the body."""

    status_code: int
    headers: Mapping[str, str]
    body: bytes


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that runs `check_url` on each request before handing it to `inner`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, allow_private: bool) -> None:
        self.inner = inner
        self.allow_private = allow_private

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Refuse (TargetRefused) or send."""
        check_url(request.url, allow_private=self.allow_private)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the inner transport and its connections."""
        await self.inner.aclose()


def build_ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    """A verifying client context trusting certifi's and the system's CAs, plus `ca_bundle` (a PEM
    file or a directory of hashed certificates) when given."""
    context = ssl.create_default_context(cafile=certifi.where())
    context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if ca_bundle:
        if os.path.isdir(ca_bundle):
            context.load_verify_locations(capath=ca_bundle)
        else:
            context.load_verify_locations(cafile=ca_bundle)
    return context


def guarded_session(
    *,
    ssl_context: ssl.SSLContext,
    allow_private: bool,
    concurrency: int,
    per_host: int,
    timeout_s: float | None = None,
    headers: Mapping[str, str] | None = None,
) -> aiohttp.ClientSession:
    """An aiohttp session whose every connection goes through `GuardedResolver` (SPEC §4.4)."""
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(allow_private=allow_private),
        ssl=ssl_context,
        limit=concurrency,
        limit_per_host=per_host,
    )
    return aiohttp.ClientSession(
        connector=connector,
        trust_env=False,  # an environment proxy would connect past the guard
        cookie_jar=aiohttp.DummyCookieJar(),  # receivers must not see each other's cookies
        auto_decompress=False,
        timeout=aiohttp.ClientTimeout(total=timeout_s),
        headers=headers,
    )


class Poster:
    """The dispatcher's POSTs: the same guarded connector, TLS context and error mapping as
    `build_http_client`, without httpx's per-request objects, which cost more CPU than the POST
    itself (bench/: about 3x the delivery rate; SPEC §4.2 allows a design that reaches §6).

    Create it anywhere; the session is made inside the running loop on first use.
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
        if concurrency < 1 or per_host < 1 or timeout_s <= 0:
            raise ValueError("concurrency, per_host and timeout_s must be positive")
        self.allow_private = allow_private
        self.timeout_s = timeout_s
        self._ssl_context = build_ssl_context(ca_bundle)
        self._concurrency = concurrency
        self._per_host = per_host
        self._session: aiohttp.ClientSession | None = None
        self._vetted: set[str] = set()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = guarded_session(
                ssl_context=self._ssl_context,
                allow_private=self.allow_private,
                concurrency=self._concurrency,
                per_host=self._per_host,
                timeout_s=self.timeout_s,
                headers={"user-agent": USER_AGENT, "accept-encoding": "identity"},
            )
        return self._session

    def _check(self, url: str) -> None:
        # check_url is pure: remember the URLs it passed (a bounded set; targets are few).
        if url not in self._vetted:
            check_url(url, allow_private=self.allow_private)
            if len(self._vetted) > 10_000:
                self._vetted.clear()
            self._vetted.add(url)

    async def post(
        self,
        url: str,
        *,
        content: bytes,
        headers: Mapping[str, str],
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> CappedResponse:
        """POST once, as `post_capped` does: any status returned, failures as `DeliveryError`."""
        _refuse_oversized(content)
        try:
            self._check(url)
            async with self._client().post(
                url, data=content, headers=headers, allow_redirects=False
            ) as response:
                body = await _read_aiohttp_prefix(response, max_response_bytes)
                return CappedResponse(response.status, response.headers, body)
        except (TargetRefused, aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            raise _delivery_error(exc, target=_target_of(url), deadline=self.timeout_s) from exc

    async def aclose(self) -> None:
        """Close the session and its pooled connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def _refuse_oversized(content: bytes) -> None:
    if len(content) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(
            f"payload is {len(content)} bytes, over the {MAX_PAYLOAD_BYTES} byte limit; not sent"
        )


async def _read_aiohttp_prefix(response: aiohttp.ClientResponse, limit: int) -> bytes:
    body = bytearray()
    while len(body) < limit:
        chunk = await response.content.read(limit - len(body))
        if not chunk:
            break
        body += chunk
    return bytes(body)


def build_http_client(
    *,
    allow_private: bool,
    ca_bundle: str | None,
    concurrency: int,
    per_host: int,
    timeout_s: float,
) -> httpx.AsyncClient:
    """The process's delivery client: guarded, pooled, TLS-verified, no redirects, `timeout_s`.

    The aiohttp session is created on first use, inside the running event loop, so this may be
    called anywhere; use the client from one event loop only, and ``aclose()`` it at shutdown.
    """
    if concurrency < 1 or per_host < 1:
        raise ValueError("concurrency and per_host must be at least 1")
    if timeout_s <= 0:
        raise ValueError("timeout_s must be positive")
    ssl_context = build_ssl_context(ca_bundle)

    def make_session() -> aiohttp.ClientSession:
        return guarded_session(
            ssl_context=ssl_context,
            allow_private=allow_private,
            concurrency=concurrency,
            per_host=per_host,
        )

    transport = GuardedTransport(
        AiohttpTransport(verify=ssl_context, client=make_session), allow_private=allow_private
    )
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=False,
        trust_env=False,
        # identity: the capped body we keep is then the body as sent, with no decompression bomb.
        headers={"user-agent": USER_AGENT, "accept-encoding": "identity"},
    )


async def post_capped(
    client: httpx.AsyncClient,
    url: str,
    *,
    content: bytes,
    headers: Mapping[str, str],
    max_response_bytes: int = MAX_RESPONSE_BYTES,
    timeout_s: float | None = None,
) -> CappedResponse:
    """POST `content` once and return status, headers and at most `max_response_bytes` of body.

    Any HTTP status is returned, never raised; redirects are not followed. Raises `PayloadTooLarge`
    before sending when `content` is over 256 KiB, and another `DeliveryError` when no status was
    obtained. The guard runs in the client's `GuardedTransport` (see `build_http_client`), before
    any connection is made. `timeout_s` bounds the whole attempt, defaulting to the client's own
    timeout (aiohttp only bounds each phase, so a slow drip could otherwise go on forever).
    """
    _refuse_oversized(content)
    deadline = timeout_s if timeout_s is not None else _client_deadline(client)
    try:
        async with (
            asyncio.timeout(deadline),
            client.stream(
                "POST", url, content=content, headers=headers, follow_redirects=False
            ) as response,
        ):
            body = await _read_prefix(response, max_response_bytes)
            return CappedResponse(response.status_code, response.headers, body)
    except (TargetRefused, httpx.HTTPError, httpx.InvalidURL, aiohttp.ClientError, OSError) as exc:
        raise _delivery_error(exc, target=_target_of(url), deadline=deadline) from exc


async def _read_prefix(response: httpx.Response, limit: int) -> bytes:
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


def _client_deadline(client: httpx.AsyncClient) -> float | None:
    phases = client.timeout
    values = [t for t in (phases.connect, phases.read, phases.write, phases.pool) if t is not None]
    return max(values) if values else None


def _target_of(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "the target"
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    return f"{host}:{parsed.port}" if parsed.port else host or "the target"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and everything it was raised from or while handling, nearest first."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, aiohttp.ClientConnectorCertificateError):
            pending.append(current.certificate_error)
        elif isinstance(current, aiohttp.ClientConnectorError):
            pending.append(current.os_error)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def _delivery_error(exc: BaseException, *, target: str, deadline: float | None) -> DeliveryError:
    chain = list(_causes(exc))

    def first(kind: type[_E]) -> _E | None:
        return next((e for e in chain if isinstance(e, kind)), None)

    def first_ssl(kind: type[_E]) -> _E | None:
        # aiohttp's certificate/SSL errors subclass the ssl ones; we want the ssl module's own.
        return next(
            (e for e in chain if isinstance(e, kind) and not isinstance(e, aiohttp.ClientError)),
            None,
        )

    if (refused := first(TargetRefused)) is not None:
        return DeliveryRefused(str(refused))
    if (invalid := first(httpx.InvalidURL)) is not None:
        return DeliveryRefused(f"target URL is not a valid URL ({invalid})")
    if (cert := first_ssl(ssl.SSLCertVerificationError)) is not None:
        why = cert.verify_message or cert.reason or str(cert)
        return DeliveryTLSError(f"TLS certificate of {target} not accepted: {why}")
    if (tls := first_ssl(ssl.SSLError)) is not None:
        return DeliveryTLSError(f"TLS handshake with {target} failed: {tls.reason or tls}")
    if first(TimeoutError) is not None or (
        first(aiohttp.ClientError) is None and first(httpx.TimeoutException) is not None
    ):
        within = f" within {deadline:g} s" if deadline is not None else ""
        return DeliveryTimeout(f"no complete response from {target}{within}; timed out")
    if (dns := first(aiohttp.ClientConnectorDNSError)) is not None:
        return DeliveryConnectionError(f"could not resolve {target}: {dns.os_error.strerror}")
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or any(
        isinstance(e, OSError) and e.errno == errno.ECONNREFUSED for e in chain
    ):
        return DeliveryConnectionError(f"connection to {target} refused")
    if (connect := first(aiohttp.ClientConnectorError)) is not None:
        why = connect.os_error.strerror or str(connect.os_error)
        return DeliveryConnectionError(f"could not connect to {target}: {why}")
    if first(aiohttp.ServerDisconnectedError) is not None:
        return DeliveryConnectionError(f"{target} closed the connection before a full response")
    return DeliveryConnectionError(f"request to {target} failed: {type(exc).__name__}: {exc}")
