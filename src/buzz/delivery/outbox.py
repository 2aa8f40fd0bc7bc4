"""The outbox: the delivery engine's whole interface to the API families (SPEC §4.1).

A family creates a `Target` for each subscription or webhook, then calls `enqueue` inside the
transaction of the change that caused the event. The dispatcher claims what is due, POSTs it and
records the outcome. Nothing here knows which family a target belongs to.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Table, bindparam, delete, event, func, insert, select, text, update
from sqlalchemy.orm import Session

from buzz.db import new_uuid
from buzz.delivery import retry
from buzz.delivery.models import Attempt, Delivery, DeliveryStatus, Target

__all__ = [
    "Claimed",
    "Outcome",
    "Pending",
    "add_waker",
    "claim_due",
    "create_target",
    "delete_target",
    "enqueue",
    "live_secrets",
    "record_outcomes",
    "redeliver",
    "release",
    "remove_waker",
]

NOTIFY_CHANNEL = "buzz_outbox"
DELIVERIES: Table = Delivery.__table__  # type: ignore[assignment]
TARGETS: Table = Target.__table__  # type: ignore[assignment]
ATTEMPTS: Table = Attempt.__table__  # type: ignore[assignment]
_RECORD_OUTCOME = (
    update(DELIVERIES)
    .where(DELIVERIES.c.id == bindparam("delivery"))
    .values(
        status=bindparam("status"),
        attempts=bindparam("attempts"),
        first_attempt_at=bindparam("first_attempt_at"),
        next_attempt_at=bindparam("next_attempt_at"),
        last_response_code=bindparam("last_response_code"),
        last_error=bindparam("last_error"),
    )
)
FAILING_DISABLE_AFTER = timedelta(days=5)
MAX_LOGGED_BODY = 1024


@dataclass(frozen=True)
class Pending:
    """One delivery to write: `payload` is the exact JSON body that will be POSTed."""

    target_id: str
    event_id: str
    event_type: str
    payload: bytes


def create_target(
    session: Session,
    *,
    url: str,
    secrets: Sequence[str],
    headers: Sequence[dict[str, Any]] = (),
    style: str = "standard",
    now: datetime,
) -> Target:
    """A new delivery target, signing with `secrets` (newest first)."""
    target = Target(
        url=url,
        secrets=[{"secret": s, "expiresAt": None} for s in secrets],
        headers=list(headers),
        style=style,
        active=True,
        created_at=now,
    )
    session.add(target)
    session.flush()
    return target


def delete_target(session: Session, *, target_id: str) -> None:
    """Delete a target; its pending deliveries go with it and are never sent."""
    session.execute(delete(Target).where(Target.id == target_id))


def enqueue(session: Session, deliveries: Sequence[Pending], *, now: datetime) -> None:
    """Write deliveries, due now, in the caller's transaction; workers are woken on commit."""
    if not deliveries:
        return
    session.execute(
        insert(Delivery),
        [
            {
                "target_id": d.target_id,
                "event_id": d.event_id,
                "event_type": d.event_type,
                "payload": d.payload,
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "public_id": new_uuid(),
            }
            for d in deliveries
        ],
    )
    _wake_after_commit(session)


# ---- waking workers ---------------------------------------------------------------------------

_wakers: set[Callable[[], None]] = set()


def add_waker(waker: Callable[[], None]) -> None:
    """Call `waker` (thread-safe, non-blocking) whenever a transaction that enqueued commits."""
    _wakers.add(waker)


def remove_waker(waker: Callable[[], None]) -> None:
    _wakers.discard(waker)


def _wake_after_commit(session: Session) -> None:
    if session.bind is not None and session.get_bind().dialect.name == "postgresql":
        # Transactional: PostgreSQL delivers it to listening workers only if we commit.
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
    if not session.info.get("buzz_wake_on_commit"):
        session.info["buzz_wake_on_commit"] = True
        event.listen(session, "after_commit", _wake_all, once=True)


def _wake_all(session: Session) -> None:
    session.info.pop("buzz_wake_on_commit", None)
    for waker in list(_wakers):
        waker()


# ---- claiming and recording -------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A due delivery leased to one worker, with what it needs to send it."""

    id: int
    event_id: str
    event_type: str
    payload: bytes
    attempts: int
    first_attempt_at: datetime | None
    target_id: str
    created_at: datetime
    url: str
    host: str
    secrets: tuple[str, ...]
    headers: tuple[tuple[str, str], ...]
    style: str


def claim_due(
    session: Session,
    *,
    now: datetime,
    limit: int,
    lease: timedelta,
    skip_targets: Collection[str] = (),
) -> list[Claimed]:
    """Lease up to `limit` due deliveries of active targets (but `skip_targets`), oldest first.

    The lease is the row's `next_attempt_at` moved to `now + lease`: if this worker dies, the
    delivery simply becomes due again. On PostgreSQL concurrent workers skip each other's rows.
    """
    d, t = DELIVERIES.c, TARGETS.c
    due = (
        select(d.id)
        .join(TARGETS, t.id == d.target_id)
        .where(
            d.status == DeliveryStatus.PENDING.value,
            d.next_attempt_at <= now,
            t.active.is_(True),
            *([d.target_id.not_in(skip_targets)] if skip_targets else []),
        )
        .order_by(d.next_attempt_at, d.id)
        .limit(limit)
        .with_for_update(of=DELIVERIES, skip_locked=True)
    )
    # Core, not ORM, statements on the hot path: the same SQL for a fraction of the Python.
    rows = session.execute(
        update(DELIVERIES)
        .where(DELIVERIES.c.id.in_(due.scalar_subquery()))
        .values(next_attempt_at=now + lease)
        .returning(
            DELIVERIES.c.id,
            DELIVERIES.c.event_id,
            DELIVERIES.c.event_type,
            DELIVERIES.c.payload,
            DELIVERIES.c.attempts,
            DELIVERIES.c.first_attempt_at,
            DELIVERIES.c.target_id,
            DELIVERIES.c.created_at,
        )
    ).all()
    if not rows:
        return []
    targets = {
        target.id: target
        for target in session.scalars(
            select(Target).where(Target.id.in_({r.target_id for r in rows}))
        )
    }
    claimed = []
    hosts = {t.id: urlsplit(t.url).netloc.lower() for t in targets.values()}
    live = {t.id: live_secrets(t, now) for t in targets.values()}
    fixed = {t.id: tuple((h["name"], h["value"]) for h in t.headers) for t in targets.values()}
    for row in sorted(rows, key=lambda r: r.id):
        target = targets[row.target_id]
        claimed.append(
            Claimed(
                id=row.id,
                event_id=row.event_id,
                event_type=row.event_type,
                payload=row.payload,
                attempts=row.attempts,
                first_attempt_at=row.first_attempt_at,
                target_id=row.target_id,
                created_at=row.created_at,
                url=target.url,
                host=hosts[target.id],
                secrets=live[target.id],
                headers=fixed[target.id],
                style=target.style,
            )
        )
    return claimed


def live_secrets(target: Target, now: datetime) -> tuple[str, ...]:
    """The secrets that sign now, newest first (a rotated-out one until it expires)."""
    live = []
    for entry in target.secrets:
        expires = entry.get("expiresAt")
        if expires is None or datetime.fromisoformat(expires) > now:
            live.append(str(entry["secret"]))
    return tuple(live)


@dataclass(frozen=True)
class Outcome:
    """What one attempt of a claimed delivery came to."""

    delivery: Claimed
    at: datetime
    duration_ms: int
    response_code: int | None = None
    error: str | None = None
    response_body: bytes = b""
    retry_after_s: float | None = None

    @property
    def verdict(self) -> retry.Outcome:
        if self.response_code is None:
            return "retry"
        return retry.classify(self.response_code)


def record_outcomes(
    session: Session, outcomes: Sequence[Outcome], *, now: datetime, rng: random.Random
) -> None:
    """Store attempts, move each delivery on (delivered, retry later, failed), judge targets."""
    if not outcomes:
        return
    session.execute(
        insert(ATTEMPTS),
        [
            {
                "delivery_id": o.delivery.id,
                "at": o.at,
                "response_code": o.response_code,
                "duration_ms": o.duration_ms,
                "error": o.error,
                "response_body": o.response_body[:MAX_LOGGED_BODY].decode("utf-8", "replace")
                if o.response_body
                else None,
            }
            for o in outcomes
        ],
    )
    updates = []
    delivered_targets: set[str] = set()
    failed_targets: dict[str, datetime] = {}
    gone_targets: set[str] = set()
    for o in outcomes:
        attempts = o.delivery.attempts + 1
        first = o.delivery.first_attempt_at or o.at
        values: dict[str, Any] = {
            "delivery": o.delivery.id,
            "attempts": attempts,
            "first_attempt_at": first,
            "last_response_code": o.response_code,
            "last_error": o.error,
        }
        verdict = o.verdict
        if verdict == "delivered":
            values.update(status=DeliveryStatus.DELIVERED.value, next_attempt_at=None)
            delivered_targets.add(o.delivery.target_id)
        elif verdict == "gone":
            values.update(status=DeliveryStatus.FAILED.value, next_attempt_at=None)
            gone_targets.add(o.delivery.target_id)
        else:
            when = retry.next_attempt_at(
                first_attempt_at=first,
                attempts_made=attempts,
                now=now,
                retry_after=o.retry_after_s,
                rng=rng,
            )
            if when is None:
                values.update(status=DeliveryStatus.FAILED.value, next_attempt_at=None)
            else:
                values.update(status=DeliveryStatus.PENDING.value, next_attempt_at=when)
            failed_targets[o.delivery.target_id] = o.at
        updates.append(values)
    session.execute(_RECORD_OUTCOME, updates)
    _judge_targets(session, delivered_targets, failed_targets, gone_targets, now=now)


def _judge_targets(
    session: Session,
    delivered: set[str],
    failed: dict[str, datetime],
    gone: set[str],
    *,
    now: datetime,
) -> None:
    if delivered:
        session.execute(
            update(Target)
            .where(Target.id.in_(delivered))
            .values(failing_since=None, last_attempt_at=now)
        )
    for target_id in gone:
        session.execute(
            update(Target)
            .where(Target.id == target_id)
            .values(
                active=False,
                disabled_reason="The receiver answered 410 Gone",
                last_attempt_at=now,
            )
        )
    still_failing = {t: at for t, at in failed.items() if t not in delivered and t not in gone}
    for target_id, at in still_failing.items():
        session.execute(
            update(Target)
            .where(Target.id == target_id, Target.failing_since.is_(None))
            .values(failing_since=at)
        )
    if still_failing:
        session.execute(
            update(Target)
            .where(
                Target.id.in_(still_failing),
                Target.active.is_(True),
                Target.failing_since <= now - FAILING_DISABLE_AFTER,
            )
            .values(
                active=False,
                disabled_reason="Every delivery failed for 5 days",
                last_attempt_at=now,
            )
        )


def release(session: Session, delivery_ids: Sequence[int], *, now: datetime) -> None:
    """Hand leased deliveries back, due now, without counting an attempt (worker shutting down)."""
    if delivery_ids:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(delivery_ids), Delivery.status == DeliveryStatus.PENDING.value)
            .values(next_attempt_at=now)
        )


def redeliver(session: Session, *, delivery: Delivery, now: datetime) -> None:
    """Queue a delivery again, due now, whatever became of it; its attempts are kept."""
    delivery.status = DeliveryStatus.PENDING.value
    delivery.next_attempt_at = now
    session.flush()
    _wake_after_commit(session)


def queue_stats(session: Session, *, now: datetime) -> tuple[int, float]:
    """(pending deliveries, seconds the oldest due one has waited) for metrics."""
    count = session.scalar(
        select(func.count()).where(Delivery.status == DeliveryStatus.PENDING.value)
    )
    oldest = session.scalar(
        select(func.min(Delivery.next_attempt_at)).where(
            Delivery.status == DeliveryStatus.PENDING.value, Delivery.next_attempt_at <= now
        )
    )
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return int(count or 0), age
