"""What a delivery target's URL may be, checked when it is given (SPEC §2.4, §3.9).

This is the shape of the URL only; where it points is judged by `delivery.guard` when sending.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

__all__ = ["HTTPS_RULE", "MAX_URL_CHARS", "HttpsUrl", "check_https_url"]

MAX_URL_CHARS = 2048
HTTPS_RULE = (
    "An absolute https:// URL with a host, no user-info and no fragment, at most 2,048 "
    "characters. Private, loopback and link-local addresses are refused when delivering "
    "(unless the operator sets BUZZ_ALLOW_PRIVATE_TARGETS)."
)
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


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
    """A target URL: absolute `https://` with a host, no user-info, at most 2,048 chars."""
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


# The rule is `check_https_url`; the schema says the same to generated clients and validators
# (`format: uri`, the length, the scheme as a pattern) without a second check with other words.
HttpsUrl = Annotated[
    str,
    AfterValidator(check_https_url),
    Field(
        description=HTTPS_RULE,
        json_schema_extra={
            "format": "uri",
            "maxLength": MAX_URL_CHARS,
            "pattern": "^[Hh][Tt][Tt][Pp][Ss]://[^/?#@]+",
        },
    ),
]
