"""Secrets: generated from `secrets`, stored as SHA-256, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

__all__ = ["hash_secret", "random_base62", "random_token", "secret_matches"]

_BASE62 = string.digits + string.ascii_letters


def random_token(nbytes: int = 32) -> str:
    """A URL-safe random token (a secret or an id) of `nbytes` bytes of entropy."""
    return secrets.token_urlsafe(nbytes)


# Random bytes below 248 (4 x 62) map to base62 characters without bias; the rest are dropped.
_TO_BASE62 = bytes(ord(_BASE62[b % 62]) for b in range(248)) + bytes(8)
_UNEVEN = bytes(range(248, 256))


def random_base62(length: int) -> str:
    """`length` random characters of [0-9A-Za-z], uniformly and from the OS's CSPRNG.

    Bytes are drawn in bulk and mapped by `bytes.translate` (no Python loop per character:
    ids are made by the hundred on the chat-ingestion path)."""
    out = b""
    while len(out) < length:
        drawn = secrets.token_bytes(length + length // 8 + 8)
        out += drawn.translate(_TO_BASE62, _UNEVEN)
    return out[:length].decode("ascii")


def hash_secret(secret: str) -> str:
    """SHA-256 hex digest: enough for high-entropy machine secrets, which need no slow hash."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Whether `secret` hashes to `stored_hash`, compared in constant time."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)
