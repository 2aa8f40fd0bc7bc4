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


def random_base62(length: int) -> str:
    """`length` random characters of [0-9A-Za-z]."""
    return "".join(secrets.choice(_BASE62) for _ in range(length))


def hash_secret(secret: str) -> str:
    """SHA-256 hex digest: enough for high-entropy machine secrets, which need no slow hash."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Whether `secret` hashes to `stored_hash`, compared in constant time."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)
