"""`Idempotency-Key` (SPEC §3.6): a retried call returns the first call's result for 24 h.

Keys are scoped to the subscriber. The first successful result is stored in the same
transaction as what it did, so a retry racing the first call either finds the stored result or
loses on the unique key and then finds it. Reusing a key with other parameters is a 400, as at
Stripe.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from buzz.buzzchat.models import IdempotencyRecord
from buzz.errors import BadRequest

__all__ = [
    "KEY_TTL",
    "MAX_KEY_CHARS",
    "check_key",
    "fingerprint",
    "idempotent",
    "once",
    "remember",
    "replay",
]

KEY_TTL = timedelta(hours=24)
MAX_KEY_CHARS = 255


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_CHARS or not key.isprintable():
        raise BadRequest.on(
            "Idempotency-Key", f"Idempotency-Key must be 1..{MAX_KEY_CHARS} printable characters"
        )
    return key


def fingerprint(*, method: str, path: str, account_id: str, body: Any) -> str:
    """What makes two calls the same call."""
    canonical = json.dumps([method, path, account_id, body], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def replay(
    session: Session, *, subscriber_id: str, key: str, fingerprint: str, now: datetime
) -> dict[str, Any] | None:
    """The stored result of an earlier call with this key, if any (24 h)."""
    record = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.subscriber_id == subscriber_id, IdempotencyRecord.key == key
        )
    )
    if record is None:
        return None
    if record.created_at <= now - KEY_TTL:
        session.delete(record)
        session.flush()
        return None
    if record.fingerprint != fingerprint:
        raise BadRequest.on(
            "Idempotency-Key",
            "This Idempotency-Key was already used with other parameters; use a new key",
        )
    return record.response


def remember(
    session: Session,
    *,
    subscriber_id: str,
    key: str,
    fingerprint: str,
    response: dict[str, Any],
    now: datetime,
) -> None:
    """Store the result of the first call with this key, in the caller's transaction."""
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at <= now - KEY_TTL))
    session.add(
        IdempotencyRecord(
            subscriber_id=subscriber_id,
            key=key,
            fingerprint=fingerprint,
            status_code=200,
            response=response,
            created_at=now,
        )
    )
    session.flush()


def once(
    session: Session,
    *,
    subscriber_id: str,
    key: str,
    fingerprint: str,
    now: datetime,
    act: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """`act()`'s result, committed with the key; or the result stored under the key already."""
    stored = replay(session, subscriber_id=subscriber_id, key=key, fingerprint=fingerprint, now=now)
    if stored is not None:
        return stored
    result = act()
    try:
        remember(
            session,
            subscriber_id=subscriber_id,
            key=key,
            fingerprint=fingerprint,
            response=result,
            now=now,
        )
        session.commit()
    except IntegrityError:
        # A concurrent call with the same key won: undo what `act` did, return its result.
        session.rollback()
        stored = replay(
            session, subscriber_id=subscriber_id, key=key, fingerprint=fingerprint, now=now
        )
        if stored is None:
            raise BadRequest("Idempotency-Key conflict; retry") from None
        return stored
    return result


def idempotent(
    session: Session,
    *,
    key: str | None,
    subscriber_id: str,
    account_id: str,
    operation: str,
    body: Any,
    now: datetime,
    act: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """Run a POST route's `act` and commit: once per `Idempotency-Key` when one was sent (the
    same `operation`, account and `body` replay the first result), every time otherwise."""
    if key is None:
        result = act()
        session.commit()
        return result
    return once(
        session,
        subscriber_id=subscriber_id,
        key=check_key(key),
        fingerprint=fingerprint(method="POST", path=operation, account_id=account_id, body=body),
        now=now,
        act=act,
    )
