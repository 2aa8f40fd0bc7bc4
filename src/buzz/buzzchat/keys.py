"""API keys (SPEC §3.1): `bz_live_` + 48 base62, shown once, stored as SHA-256, at most 5 live."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from buzz.buzzchat.locks import lock_subscriber
from buzz.buzzchat.models import ApiKey, Subscriber, new_id
from buzz.errors import BadRequest, NotFound
from buzz.security import hash_secret, random_base62

__all__ = [
    "KEY_PREFIX",
    "MAX_KEYS",
    "authenticate",
    "create_key",
    "list_keys",
    "note_use",
    "revoke_key",
]

KEY_PREFIX = "bz_live_"
KEY_RANDOM_CHARS = 48
MAX_KEYS = 5
SHOWN_PREFIX_CHARS = len(KEY_PREFIX) + 4
# last_used_at is written at most this often per key, not on every request.
LAST_USED_GRANULARITY = timedelta(minutes=1)
_DUMMY_HASH = hash_secret("no such key")


def create_key(
    session: Session, *, subscriber: Subscriber, name: str, now: datetime
) -> tuple[ApiKey, str]:
    """A new key and its plaintext (shown this once)."""
    lock_subscriber(session, subscriber.id)
    live = session.scalar(
        select(func.count())
        .select_from(ApiKey)
        .where(ApiKey.subscriber_id == subscriber.id, ApiKey.revoked_at.is_(None))
    )
    if (live or 0) >= MAX_KEYS:
        raise BadRequest.on("name", f"At most {MAX_KEYS} API keys; delete one first")
    plaintext = KEY_PREFIX + random_base62(KEY_RANDOM_CHARS)
    key = ApiKey(
        id=new_id("key", 16),
        subscriber_id=subscriber.id,
        name=name,
        prefix=plaintext[:SHOWN_PREFIX_CHARS],
        key_hash=hash_secret(plaintext),
        created_at=now,
    )
    session.add(key)
    session.flush()
    return key, plaintext


def list_keys(session: Session, *, subscriber_id: str) -> Sequence[ApiKey]:
    """The subscriber's live keys, oldest first."""
    query = (
        select(ApiKey)
        .where(ApiKey.subscriber_id == subscriber_id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.seq)
    )
    return session.scalars(query).all()


def revoke_key(session: Session, *, subscriber_id: str, key_id: str, now: datetime) -> None:
    """Revoke one of the subscriber's live keys; it is refused from now on."""
    key = session.scalar(select(ApiKey).where(ApiKey.id == key_id))
    if key is None or key.subscriber_id != subscriber_id or key.revoked_at is not None:
        raise NotFound("API key not found")
    key.revoked_at = now
    session.flush()


def authenticate(
    session: Session, *, presented: str, now: datetime
) -> tuple[Subscriber, str | None] | None:
    """The subscriber whose live key this is, or None; with the key's id when its
    `last_used_at` is due to be written (see `note_use`), else None. Reads only."""
    digest = hash_secret(presented)
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    # Looked up by digest, then compared in constant time, so timing tells nothing of the key.
    matches = hmac.compare_digest(digest, key.key_hash if key else _DUMMY_HASH)
    if key is None or not matches or key.revoked_at is not None:
        return None
    subscriber = session.get(Subscriber, key.subscriber_id)
    if subscriber is None:
        return None
    due = key.last_used_at is None or now - key.last_used_at >= LAST_USED_GRANULARITY
    return subscriber, key.id if due else None


def note_use(session: Session, *, key_id: str, now: datetime) -> None:
    """Write a key's `last_used_at` (at most once per LAST_USED_GRANULARITY, by whoever wins)."""
    session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id)
        .where(
            (ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at <= now - LAST_USED_GRANULARITY)
        )
        .values(last_used_at=now)
    )
