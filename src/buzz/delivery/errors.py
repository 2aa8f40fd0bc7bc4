"""Why a delivery attempt got no HTTP status: one exception tree, one line for the log.

    DeliveryError(Exception)        no HTTP status was obtained; the cause is chained
    ├── PayloadTooLarge             the body is over 256 KiB; refused before sending
    ├── DeliveryRefused             the target guard refused the URL or a resolved address
    ├── DeliveryTimeout             no complete response within the attempt's timeout
    ├── DeliveryTLSError            certificate not trusted, wrong host, or handshake failure
    └── DeliveryConnectionError     DNS failure, connection refused or reset, broken response

`delivery_error` turns whatever a poster's client raised (aiohttp's, httpx's or the OS's errors)
into one of these, so the delivery log reads the same whichever poster sent.
"""

from __future__ import annotations

import errno
import ssl
from collections.abc import Iterator
from typing import TypeVar

import aiohttp
import httpx

from buzz.delivery.guard import TargetRefused

__all__ = [
    "DeliveryConnectionError",
    "DeliveryError",
    "DeliveryRefused",
    "DeliveryTLSError",
    "DeliveryTimeout",
    "PayloadTooLarge",
    "delivery_error",
    "target_of",
]

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


def target_of(url: str) -> str:
    """`host:port` of `url` for a log line; "the target" when it does not parse."""
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


def delivery_error(exc: BaseException, *, target: str, deadline: float | None) -> DeliveryError:
    """The `DeliveryError` that says why `exc` (and what it was raised from) got no status."""
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
