"""The engine's tables as Core `Table`s, and the row helpers its two sides share."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table

from buzz.delivery.attempts import AttemptResult
from buzz.delivery.models import Attempt, Delivery, Target

__all__ = ["ATTEMPTS", "DELIVERIES", "MAX_LOGGED_BODY", "TARGETS", "attempt_row", "live_secrets"]

DELIVERIES: Table = Delivery.__table__  # type: ignore[assignment]
TARGETS: Table = Target.__table__  # type: ignore[assignment]
ATTEMPTS: Table = Attempt.__table__  # type: ignore[assignment]
MAX_LOGGED_BODY = 1024


def attempt_row(delivery_id: int, result: AttemptResult) -> dict[str, Any]:
    """The delivery log's row for one attempt: the first 1 KiB of the body, as text."""
    body = result.response_body
    return {
        "delivery_id": delivery_id,
        "at": result.at,
        "response_code": result.response_code,
        "duration_ms": result.duration_ms,
        "error": result.error,
        "response_body": body[:MAX_LOGGED_BODY].decode("utf-8", "replace") if body else None,
    }


def live_secrets(secrets: Sequence[dict[str, Any]], now: datetime) -> tuple[str, ...]:
    """Of a target's stored secrets, those that sign now, newest first (a rotated-out one until it
    expires)."""
    live = []
    for entry in secrets:
        expires = entry.get("expiresAt")
        if expires is None or datetime.fromisoformat(expires) > now:
            live.append(str(entry["secret"]))
    return tuple(live)
