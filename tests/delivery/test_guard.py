"""The target guard: https only, no private addresses, judged at connect time (SPEC §4.4)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from buzz.delivery.guard import (
    GuardedResolver,
    ResolvedTargetRefused,
    TargetRefused,
    check_url,
    forbidden_reason,
    is_forbidden_address,
)
from tests.support.https_receiver import HttpsReceiver

FORBIDDEN = [
    "127.0.0.1",
    "127.255.0.9",
    "::1",
    "169.254.169.254",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",
    "100.127.255.254",
    "0.0.0.0",  # noqa: S104 (an address under test, not a bind)
    "0.1.2.3",
    "224.0.0.1",
    "239.255.255.250",
    "255.255.255.255",
    "240.0.0.1",
    "192.0.0.8",
    "192.0.2.1",
    "198.51.100.7",
    "203.0.113.9",
    "198.18.0.1",
    "::",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",
    "::8.8.8.8",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "fe80::1%eth0",
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
    "100::1",
    "64:ff9b::a00:1",
    "64:ff9b::7f00:1",
    "64:ff9b:1::1",
    "2002:a00:1::1",
    "2002:7f00:1::",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "100.128.0.1",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]

SPEC_EXAMPLES = [
    ("https://127.0.0.1/hook", "127.0.0.1", "loopback"),
    ("https://[::1]:8443/hook", "::1", "loopback"),
    ("https://169.254.169.254/latest/meta-data/", "169.254.169.254", "link-local"),
    ("https://10.0.0.1/hook", "10.0.0.1", "private"),
    ("https://100.64.0.1/hook", "100.64.0.1", "carrier-grade NAT"),
    ("https://[::ffff:127.0.0.1]/hook", "::ffff:127.0.0.1", "loopback"),
]


def resolved(host: str, *addresses: str, port: int = 443) -> list[ResolveResult]:
    return [
        ResolveResult(
            hostname=host,
            host=address,
            port=port,
            family=socket.AF_INET6 if ":" in address else socket.AF_INET,
            proto=socket.IPPROTO_TCP,
            flags=socket.AI_NUMERICHOST,
        )
        for address in addresses
    ]


class FakeResolver(AbstractResolver):
    """Answers from a table and counts lookups."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.lookups: list[str] = []
        self.closed = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append(host)
        return resolved(host, *self.table[host], port=port)

    async def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("address", FORBIDDEN)
def test_non_public_addresses_are_forbidden(address: str) -> None:
    assert is_forbidden_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert not is_forbidden_address(ipaddress.ip_address(address))
    assert forbidden_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("127.0.0.1", "a loopback address"),
        ("10.0.0.1", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("224.0.0.1", "a multicast address"),
        ("0.0.0.0", "an unspecified address"),  # noqa: S104
        ("255.255.255.255", "a broadcast address"),
        ("::ffff:127.0.0.1", "a loopback address (embeds 127.0.0.1)"),
        ("64:ff9b::a00:1", "a private address (embeds 10.0.0.1)"),
        ("2002:a00:1::1", "a private address (embeds 10.0.0.1)"),
        ("fec0::1", "a site-local address"),
    ],
)
def test_forbidden_reason_names_the_kind_of_address(address: str, words: str) -> None:
    reason = forbidden_reason(ipaddress.ip_address(address))
    assert reason is not None
    assert words in reason


@pytest.mark.parametrize(("url", "host", "kind"), SPEC_EXAMPLES)
def test_check_url_refuses_forbidden_ip_literals(url: str, host: str, kind: str) -> None:
    with pytest.raises(TargetRefused) as refused:
        check_url(url, allow_private=False)
    message = str(refused.value)
    assert message.startswith(f"target {host} is ")
    assert kind in message
    assert message.endswith("refused (BUZZ_ALLOW_PRIVATE_TARGETS is off)")
    assert refused.value.address == ipaddress.ip_address(host)


def test_check_url_message_is_one_clear_line() -> None:
    with pytest.raises(TargetRefused) as refused:
        check_url("https://10.0.0.1/hook", allow_private=False)
    assert str(refused.value) == (
        "target 10.0.0.1 is a private address; refused (BUZZ_ALLOW_PRIVATE_TARGETS is off)"
    )


@pytest.mark.parametrize(("url", "host", "kind"), SPEC_EXAMPLES)
def test_check_url_allows_private_literals_when_allowed(url: str, host: str, kind: str) -> None:
    check_url(url, allow_private=True)


@pytest.mark.parametrize(
    "url",
    ["https://10.0.0.1./hook", "https://[fe80::1%25eth0]/hook", "https://[::]/hook"],
)
def test_check_url_sees_through_literal_spellings(url: str) -> None:
    with pytest.raises(TargetRefused):
        check_url(url, allow_private=False)


@pytest.mark.parametrize(
    "url", ["https://example.com/hook", "https://localhost:8443/hook", "https://8.8.8.8/"]
)
def test_check_url_leaves_names_to_the_resolver(url: str) -> None:
    check_url(url, allow_private=False)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://example.com/hook", "uses http://"),
        ("http:my.domain.com", "uses http://"),
        ("ftp://example.com/hook", "uses ftp://"),
        ("example.com/hook", "no scheme"),
        ("https:///hook", "no host"),
        ("https:my.domain.com", "no host"),
    ],
)
@pytest.mark.parametrize("allow_private", [False, True])
def test_only_https_urls_with_a_host_pass(url: str, words: str, allow_private: bool) -> None:
    with pytest.raises(TargetRefused) as refused:
        check_url(url, allow_private=allow_private)
    assert words in str(refused.value)


@pytest.mark.parametrize(
    "url", ["https://127.1/hook", "https://2130706433/hook", "https://0x7f000001/hook"]
)
@pytest.mark.parametrize("allow_private", [False, True])
def test_legacy_numeric_hosts_are_refused(url: str, allow_private: bool) -> None:
    with pytest.raises(TargetRefused) as refused:
        check_url(url, allow_private=allow_private)
    assert "non-canonical IPv4 address (means 127.0.0.1)" in str(refused.value)


def test_resolver_refuses_a_name_that_resolves_to_loopback() -> None:
    async def resolve() -> list[ResolveResult]:
        return await GuardedResolver(allow_private=False).resolve("localhost", 443)

    with pytest.raises(ResolvedTargetRefused) as refused:
        asyncio.run(resolve())
    error = refused.value
    assert isinstance(error, TargetRefused)
    assert isinstance(error, OSError)
    assert error.strerror == str(error)
    assert str(error).startswith("target localhost resolves to ")
    assert "a loopback address" in str(error)


def test_resolver_allows_loopback_when_private_targets_are_allowed() -> None:
    async def resolve() -> list[ResolveResult]:
        return await GuardedResolver(allow_private=True).resolve("localhost", 443, socket.AF_INET)

    results = asyncio.run(resolve())
    assert [r["host"] for r in results] == ["127.0.0.1"]


def test_resolver_refuses_when_any_address_is_forbidden() -> None:
    inner = FakeResolver({"mixed.example": ["93.184.215.14", "10.1.2.3"]})

    async def resolve() -> list[ResolveResult]:
        return await GuardedResolver(allow_private=False, resolver=inner).resolve(
            "mixed.example", 443
        )

    with pytest.raises(ResolvedTargetRefused, match=r"mixed\.example resolves to 10\.1\.2\.3"):
        asyncio.run(resolve())


def test_resolver_returns_public_addresses_unchanged() -> None:
    inner = FakeResolver({"hooks.example": ["93.184.215.14", "2606:4700:4700::1111"]})

    async def resolve() -> list[ResolveResult]:
        guard = GuardedResolver(allow_private=False, resolver=inner)
        results = await guard.resolve("hooks.example", 443)
        await guard.close()
        return results

    assert asyncio.run(resolve()) == resolved(
        "hooks.example", "93.184.215.14", "2606:4700:4700::1111"
    )
    assert inner.lookups == ["hooks.example"]
    assert inner.closed


def test_aiohttp_surfaces_a_resolver_refusal_as_a_connection_error() -> None:
    async def fetch() -> None:
        connector = aiohttp.TCPConnector(resolver=GuardedResolver(allow_private=False))
        async with aiohttp.ClientSession(connector=connector) as session:
            await session.get("https://localhost:9/hook")

    with pytest.raises(aiohttp.ClientConnectorDNSError) as failed:
        asyncio.run(fetch())
    assert isinstance(failed.value.os_error, ResolvedTargetRefused)
    assert "localhost resolves to" in str(failed.value)


def test_aiohttp_connects_to_the_vetted_address_after_one_lookup(
    https_receiver: HttpsReceiver,
) -> None:
    # The name exists only in our resolver, so reaching the receiver proves aiohttp connected to
    # the address the guard returned, without a lookup of its own.
    inner = FakeResolver({"hooks.buzz-test.invalid": ["127.0.0.1"]})
    context = ssl.create_default_context(cafile=https_receiver.ca_pem_path)

    async def fetch() -> int:
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(allow_private=True, resolver=inner), ssl=context
        )
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.post(
                f"https://hooks.buzz-test.invalid:{https_receiver.port}/hook",
                data=b"{}",
                server_hostname="localhost",
            ) as response,
        ):
            return response.status

    assert asyncio.run(fetch()) == 200
    assert inner.lookups == ["hooks.buzz-test.invalid"]
    assert [r.path for r in https_receiver.requests] == ["/hook"]
