"""Field rules of integrations and subscriptions that pydantic's constraints do not express."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = [
    "FORBIDDEN_HEADER_NAMES",
    "check_header_name",
    "check_header_value",
    "check_https_url",
    "normalize_slash_command",
]

MAX_URL_CHARS = 2048
MAX_HEADER_VALUE_CHARS = 4096

# RFC 9110 §5.6.2: token = 1*tchar. Always `fullmatch`: `$` would let a trailing newline in.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_PRINTABLE = re.compile(r"[\x20-\x7e]*")
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_SLASH_COMMAND = re.compile(r"[a-z0-9_-]{1,32}")

FORBIDDEN_HEADER_NAMES = frozenset(
    {"host", "content-length", "content-type", "transfer-encoding", "connection"}
)
FORBIDDEN_HEADER_PREFIXES = ("x-buzz-", "webhook-")


def check_header_name(name: str) -> str:
    """An integration header's name: an HTTP token that the service does not set itself."""
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"Header name {name!r} is not a valid HTTP token")
    lowered = name.lower()
    if lowered in FORBIDDEN_HEADER_NAMES:
        raise ValueError(f"Header {name} is set by Buzz and cannot be configured")
    if lowered.startswith(FORBIDDEN_HEADER_PREFIXES):
        raise ValueError(f"Header names starting with {lowered.split('-')[0]}- are reserved")
    return name


def check_header_value(value: str) -> str:
    """An integration header's value: printable ASCII, no CR or LF, at most 4,096 characters."""
    if len(value) > MAX_HEADER_VALUE_CHARS:
        raise ValueError(f"Header value is longer than {MAX_HEADER_VALUE_CHARS} characters")
    if "\r" in value or "\n" in value:
        raise ValueError("Header value cannot contain CR or LF")
    if not _PRINTABLE.fullmatch(value):
        raise ValueError("Header value must be printable ASCII")
    return value


def _valid_host(host: str) -> bool:
    if host.startswith("["):
        return host.endswith("]") and len(host) > 2
    if host.replace(".", "").isdigit():
        parts = host.split(".")
        return len(parts) == 4 and all(p.isdigit() and int(p) <= 255 for p in parts)
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.rstrip(".").split(".")
    return all(_HOST_LABEL.fullmatch(label) for label in labels) and len(ascii_host) <= 253


def check_https_url(url: str) -> str:
    """A subscription URL: absolute `https://` with a host, no user-info, at most 2,048 chars."""
    if len(url) > MAX_URL_CHARS:
        raise ValueError(f"URL is longer than {MAX_URL_CHARS} characters")
    if url != url.strip() or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise ValueError("URL cannot contain whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"URL is malformed: {exc}") from None
    if parts.scheme.lower() != "https":
        raise ValueError("URL must start with https://")
    if not url.lower().startswith("https://"):
        raise ValueError("URL must be absolute: https://host/path")
    if "@" in parts.netloc:
        raise ValueError("URL cannot contain user credentials")
    host = parts.netloc.rsplit(":", 1)[0] if port is not None else parts.netloc
    if not host or not _valid_host(host):
        raise ValueError("URL must have a valid host")
    if port == 0:
        raise ValueError("URL port must be between 1 and 65535")
    if parts.fragment or url.endswith("#"):
        raise ValueError("URL cannot have a fragment")
    return url


def normalize_slash_command(command: str) -> str:
    """A slash command as stored: without its leading `/`, lower-case, 1..32 of [a-z0-9_-]."""
    name = command.removeprefix("/").lower()
    if not _SLASH_COMMAND.fullmatch(name):
        raise ValueError("slashCommand must be 1 to 32 of a-z, 0-9, _ and -, after an optional /")
    return name
