"""Target guard (SPEC §4.4): deliveries go only to ``https://`` hosts on public addresses.

Two checks, because aiohttp resolves names but never IP literals:

- `check_url` runs before a request is sent: the scheme, the host, and the address itself when the
  host is an IP literal. Legacy numeric hosts (``127.1``, ``2130706433``, ``0x7f.0.0.1``) are
  refused outright, as aiohttp does.
- `GuardedResolver` is the resolver of the delivery connector: it resolves a name once and refuses
  the connection if **any** address is forbidden. aiohttp connects to exactly the addresses the
  resolver returned, so the address vetted is the address used: no second lookup, no DNS rebinding.

With ``allow_private=True`` (``BUZZ_ALLOW_PRIVATE_TARGETS``) addresses are not judged; https and a
well-formed host are still required.

Exceptions::

    TargetRefused(Exception)               a URL or address the guard will not deliver to
    └── ResolvedTargetRefused(OSError)     raised by GuardedResolver; aiohttp surfaces it as a
                                           connection error (ClientConnectorDNSError) chained to it
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import unquote

import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

__all__ = [
    "GuardedResolver",
    "IPAddress",
    "ResolvedTargetRefused",
    "TargetRefused",
    "check_url",
    "forbidden_reason",
    "is_forbidden_address",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_REFUSED = "refused (BUZZ_ALLOW_PRIVATE_TARGETS is off)"

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# First match wins, so narrower or better-named ranges come first.
_V4_RANGES: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("0.0.0.0/8"), "a 'this network' (0.0.0.0/8) address"),
    (_V4("127.0.0.0/8"), "a loopback address"),
    (_V4("10.0.0.0/8"), "a private address"),
    (_V4("172.16.0.0/12"), "a private address"),
    (_V4("192.168.0.0/16"), "a private address"),
    (_V4("169.254.0.0/16"), "a link-local address"),
    (_V4("100.64.0.0/10"), "a carrier-grade NAT (100.64.0.0/10) address"),
    (_V4("224.0.0.0/4"), "a multicast address"),
    (_V4("255.255.255.255/32"), "a broadcast address"),
    (_V4("240.0.0.0/4"), "a reserved address"),
    (_V4("192.0.0.0/24"), "an IETF protocol-assignment address"),
    (_V4("192.0.2.0/24"), "a documentation address"),
    (_V4("198.51.100.0/24"), "a documentation address"),
    (_V4("203.0.113.0/24"), "a documentation address"),
    (_V4("198.18.0.0/15"), "a benchmarking address"),
)

_V6_RANGES: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("fc00::/7"), "a private (unique local) address"),
    (_V6("fe80::/10"), "a link-local address"),
    (_V6("fec0::/10"), "a site-local address"),
    (_V6("ff00::/8"), "a multicast address"),
    (_V6("64:ff9b:1::/48"), "a local-use NAT64 address"),
    (_V6("100::/64"), "a discard-only address"),
    (_V6("2001::/32"), "a Teredo address"),
    (_V6("2001:db8::/32"), "a documentation address"),
)

_NAT64 = _V6("64:ff9b::/96")
_IPV4_COMPATIBLE = _V6("::/96")
_LEGACY_NUMERIC_HOST = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}", re.I)


class TargetRefused(Exception):
    """The guard will not deliver to this URL or address; ``str()`` is a one-line reason."""

    def __init__(self, message: str, *, target: str = "", address: IPAddress | None = None):
        super().__init__(message)
        self.target = target
        self.address = address


class ResolvedTargetRefused(TargetRefused, OSError):
    """A name resolved to a forbidden address; an OSError so aiohttp reports a connection error."""

    def __init__(self, message: str, *, target: str = "", address: IPAddress | None = None):
        super().__init__(message, target=target, address=address)
        # aiohttp's ClientConnectorError shows the strerror of the OSError it wraps.
        self.strerror = message


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why deliveries may not go to `ip` (e.g. "a loopback address"), or None when it is public."""
    if isinstance(ip, ipaddress.IPv4Address):
        return _v4_reason(ip)
    return _v6_reason(ip)


def is_forbidden_address(ip: IPAddress) -> bool:
    """True when `ip` is loopback, private, link-local, CGNAT, multicast, reserved or otherwise
    not globally routable, judging IPv4 embedded in IPv6 (mapped, NAT64, 6to4, Teredo) as IPv4."""
    return forbidden_reason(ip) is not None


def _v4_reason(ip: ipaddress.IPv4Address) -> str | None:
    if ip.is_unspecified:
        return "an unspecified address"
    for network, reason in _V4_RANGES:
        if ip in network:
            return reason
    return _flag_reason(ip)


def _v6_reason(scoped: ipaddress.IPv6Address) -> str | None:
    ip = ipaddress.IPv6Address(scoped.packed)  # drop any %scope
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    # IPv4-mapped and NAT64 addresses reach the embedded IPv4 host: judge that alone.
    if ip.ipv4_mapped is not None:
        return _embedded_reason(ip.ipv4_mapped)
    if ip in _NAT64:
        return _embedded_reason(_low_ipv4(ip))
    # IPv4-compatible ::a.b.c.d is deprecated (RFC 4291) and lies in reserved ::/8: always refused.
    if ip in _IPV4_COMPATIBLE:
        return _embedded_reason(_low_ipv4(ip)) or "a deprecated IPv4-compatible address"
    embedded: list[ipaddress.IPv4Address] = []
    if ip.sixtofour is not None:
        embedded.append(ip.sixtofour)
    if ip.teredo is not None:
        embedded.extend(ip.teredo)
    for v4 in embedded:
        reason = _embedded_reason(v4)
        if reason is not None:
            return reason
    for network, label in _V6_RANGES:
        if ip in network:
            return label
    return _flag_reason(ip)


def _flag_reason(ip: IPAddress) -> str | None:
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "a non-global address"
    return None


def _embedded_reason(v4: ipaddress.IPv4Address) -> str | None:
    reason = _v4_reason(v4)
    return f"{reason} (embeds {v4})" if reason is not None else None


def _low_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)


def _parse_ip(host: str) -> IPAddress | None:
    """The address of an IP-literal host (brackets, ``%25`` zone escapes, a final dot allowed)."""
    literal = unquote(host.strip("[]")).rstrip(".")
    try:
        return ipaddress.ip_address(literal)
    except ValueError:
        return None


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address a legacy numeric host such as ``127.1`` or ``0x7f000001`` stands for."""
    if not _LEGACY_NUMERIC_HOST.fullmatch(host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_url(url: str | httpx.URL, *, allow_private: bool) -> None:
    """Raise TargetRefused unless `url` is https with a host, and (unless `allow_private`) an
    IP-literal host is a public address; names are judged later, by GuardedResolver."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise TargetRefused(f"target URL is not a valid URL ({exc}); refused") from exc
    if parsed.scheme != "https":
        got = f"{parsed.scheme}://" if parsed.scheme else "no scheme"
        raise TargetRefused(f"target URL uses {got}; only https:// targets are allowed")
    host = parsed.host
    if not host:
        raise TargetRefused("target URL has no host; refused")
    legacy = _legacy_ipv4(host) if _parse_ip(host) is None else None
    if legacy is not None:
        raise TargetRefused(
            f"target {host} is a non-canonical IPv4 address (means {legacy}); refused",
            target=host,
            address=legacy,
        )
    if allow_private:
        return
    ip = _parse_ip(host)
    if ip is None:
        return
    reason = forbidden_reason(ip)
    if reason is not None:
        raise TargetRefused(f"target {host} is {reason}; {_REFUSED}", target=host, address=ip)


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that resolves once and refuses the connection if any address is forbidden.

    Wraps `resolver` (default: aiohttp's ThreadedResolver, which needs a running event loop, so
    build this inside one). Raises `ResolvedTargetRefused`, an OSError, which TCPConnector wraps in
    ``ClientConnectorDNSError``. aiohttp never closes a resolver it was given; call `close()` if
    the wrapped resolver holds resources (ThreadedResolver holds none).
    """

    def __init__(self, *, allow_private: bool, resolver: AbstractResolver | None = None) -> None:
        self.allow_private = allow_private
        self._resolver = resolver if resolver is not None else ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve `host` with the wrapped resolver and vet every address it returns."""
        results = await self._resolver.resolve(host, port, family)
        if self.allow_private:
            return results
        for result in results:
            try:
                ip = ipaddress.ip_address(result["host"])
            except ValueError:
                raise ResolvedTargetRefused(
                    f"target {host} resolves to unparsable address {result['host']!r}; refused",
                    target=host,
                ) from None
            reason = forbidden_reason(ip)
            if reason is not None:
                raise ResolvedTargetRefused(
                    f"target {host} resolves to {ip}, {reason}; {_REFUSED}",
                    target=host,
                    address=ip,
                )
        return results

    async def close(self) -> None:
        """Close the wrapped resolver."""
        await self._resolver.close()
