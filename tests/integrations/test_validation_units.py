"""The field rules of `buzz.integrations.validation`, as tables of good and bad inputs."""

from __future__ import annotations

import pytest

from buzz.delivery.urls import check_https_url
from buzz.integrations.validation import (
    check_header_name,
    check_header_value,
    normalize_slash_command,
)

LONGEST_PATH = "x" * (2048 - len("https://example.com/"))

# --- check_https_url ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com",
        "https://example.com/",
        "https://example.com/hooks/buzz",
        "https://example.com:8443/path?q=1",
        "https://example.com:1/",
        "https://example.com:65535/",
        "https://sub.domain.example.co.uk/a/b/c",
        "https://example.com./trailing-dot",
        "https://EXAMPLE.com/Upper",
        "HTTPS://example.com/upper-scheme",
        "https://bücher.example/idn",
        "https://例え.jp/idn",
        "https://xn--bcher-kva.example/punycode",
        "https://203.0.113.7/ipv4",
        "https://[::1]:8443/x",
        "https://[2001:db8::1]/ipv6",
        "https://example.com/path/@handle?who=a@b",
        "https://example.com/a%20b",
        "https://example.com/" + LONGEST_PATH,
    ],
)
def test_check_https_url_accepts_absolute_https_urls_unchanged(url: str) -> None:
    assert check_https_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/",
        "ftp://example.com/",
        "wss://example.com/",
        "http:my.domain.com/buzz-integration/close-deal",
        "https:example.com/x",
        "https:/example.com/x",
        "https://",
        "https:///path",
        "//example.com/x",
        "/relative/path",
        "example.com/x",
        "",
        " https://example.com/",
        "https://example.com/ ",
        "https://exa mple.com/",
        "https://example.com/a b",
        "https://example.com/\tx",
        "https://example.com/x\n",
        "https://example.com/\x00",
        "https://user:pass@example.com/",
        "https://user@example.com/",
        "https://:pass@example.com/",
        "https://example.com:0/",
        "https://example.com:99999/",
        "https://example.com:65536/",
        "https://example.com:abc/",
        "https://example.com:-1/",
        "https://example.com:/x",
        "https://[::1]:0/",
        "https://[::1/x",
        "https://[not-an-ip]/x",
        "https://[]/x",
        "https://exa_mple.com/",
        "https://-example.com/",
        "https://example-.com/",
        "https://a..example.com/",
        "https://" + "a" * 64 + ".com/",
        "https://256.1.1.1/",
        "https://1.2.3.4.5/",
        "https://exa%6dple.com/",
        "https://example.com/x#frag",
        "https://example.com/x#",
        "https://example.com/" + LONGEST_PATH + "x",
    ],
)
def test_check_https_url_refuses_anything_else(url: str) -> None:
    with pytest.raises(ValueError):
        check_https_url(url)


# --- check_header_name -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "x-api-key",
        "Authorization",
        "X-Custom_Header.v2",
        "!#$%&'*+-.^_`|~0aZ",
        "x-buzz",
        "x-buzzword",
        "webhook",
        "webhooks",
        "x-webhook-id",
        "Hostname",
        "Content-Language",
        "Connection-Id",
    ],
)
def test_check_header_name_accepts_tokens_buzz_does_not_set(name: str) -> None:
    assert check_header_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "x api key",
        "x:key",
        "x(key)",
        "x/key",
        "x@key",
        'x"key',
        "x{key}",
        "x\tkey",
        "x-key\n",
        "x-key\r",
        "x-key\r\nX-Injected",
        "x-clé",
        "x-ключ",
        "Host",
        "host",
        "HOST",
        "Content-Length",
        "content-type",
        "Transfer-Encoding",
        "CONNECTION",
        "x-buzz-bot-token",
        "X-Buzz-Signature",
        "webhook-id",
        "WEBHOOK-SIGNATURE",
    ],
)
def test_check_header_name_refuses_non_tokens_and_reserved_names(name: str) -> None:
    with pytest.raises(ValueError):
        check_header_name(name)


# --- check_header_value ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["", "secret", "Bearer abc.def/ghi+jkl=", " padded ", "~!@#$%^&*()_+{}|:<>?", "v" * 4096],
)
def test_check_header_value_accepts_printable_ascii_up_to_4096(value: str) -> None:
    assert check_header_value(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "a\rb",
        "a\nb",
        "a\r\nX-Injected: 1",
        "secret\n",
        "\x00",
        "a\x1bb",
        "a\x7fb",
        "a\x85b",
        "a\u2028b",
        "clé",
        "v" * 4097,
    ],
)
def test_check_header_value_refuses_control_chars_non_ascii_and_overlong(value: str) -> None:
    with pytest.raises(ValueError):
        check_header_value(value)


# --- normalize_slash_command -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "stored"),
    [
        ("close", "close"),
        ("/close", "close"),
        ("/Close", "close"),
        ("CLOSE", "close"),
        ("deal_2-b", "deal_2-b"),
        ("-", "-"),
        ("x" * 32, "x" * 32),
        ("/" + "X" * 32, "x" * 32),
    ],
)
def test_normalize_slash_command_drops_the_slash_and_lowers_the_case(
    command: str, stored: str
) -> None:
    assert normalize_slash_command(command) == stored


@pytest.mark.parametrize(
    "command",
    [
        "",
        "/",
        "//close",
        "x" * 33,
        "/" + "x" * 33,
        "close!",
        "clo se",
        " close",
        "close ",
        "close\n",
        "close\t",
        "clo.se",
        "clöse",
        "close/deal",
    ],
)
def test_normalize_slash_command_refuses_anything_but_1_to_32_of_a_z_0_9_dash_underscore(
    command: str,
) -> None:
    with pytest.raises(ValueError):
        normalize_slash_command(command)
