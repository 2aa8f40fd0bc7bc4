"""Field rules of integrations and subscriptions that pydantic's constraints do not express."""

from __future__ import annotations

import re

__all__ = [
    "FORBIDDEN_HEADER_NAMES",
    "MAX_HEADER_VALUE_CHARS",
    "check_header_name",
    "check_header_value",
    "normalize_slash_command",
]

MAX_HEADER_VALUE_CHARS = 4096

# RFC 9110 §5.6.2: token = 1*tchar. Always `fullmatch`: `$` would let a trailing newline in.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_PRINTABLE = re.compile(r"[\x20-\x7e]*")
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


def normalize_slash_command(command: str) -> str:
    """A slash command as stored: without its leading `/`, lower-case, 1..32 of [a-z0-9_-]."""
    name = command.removeprefix("/").lower()
    if not _SLASH_COMMAND.fullmatch(name):
        raise ValueError("slashCommand must be 1 to 32 of a-z, 0-9, _ and -, after an optional /")
    return name
