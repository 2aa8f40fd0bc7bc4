"""The outbox: the delivery engine's interface to the API families (SPEC §4.1).

A family makes a target for each subscription or webhook (`create_target`), keeps it current
(`update_target`, `rotate_secrets`, `delete_target`) and reads what the engine decided of it
(`targets`, `is_active`); it calls `enqueue` inside the transaction of the change that caused an
event, and `one_off`/`record_one_off` for a test event sent from a request. It never imports the
engine's models or writes its tables. The dispatcher's side is `delivery.claims`; the delivery
log (`delivery.log`) reads. Nothing here knows which family a target belongs to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, event, exists, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from buzz.db import new_uuid
from buzz.delivery import signing
from buzz.delivery.attempts import AttemptResult
from buzz.delivery.models import DeliveryStatus
from buzz.delivery.tables import ATTEMPTS, DELIVERIES, TARGETS, attempt_row, live_secrets
from buzz.state import StateKey

__all__ = [
    "NOTIFY_CHANNEL",
    "SECRET_OVERLAP",
    "WAKERS",
    "OneOff",
    "Pending",
    "TargetView",
    "Wakers",
    "create_target",
    "delete_target",
    "enqueue",
    "is_active",
    "one_off",
    "record_one_off",
    "rotate_secrets",
    "targets",
    "update_target",
    "wake_on_commit",
]

NOTIFY_CHANNEL = "buzz_outbox"
_ENQUEUED = "buzz.outbox.enqueued"  # session.info flag: this transaction wrote deliveries


@dataclass(frozen=True)
class Pending:
    """One delivery to write: `payload` is the exact JSON body that will be POSTed."""

    target_id: str
    event_id: str
    event_type: str
    payload: bytes


@dataclass(frozen=True)
class TargetView:
    """What a family may show of a target: where it sends, and whether the engine disabled it."""

    id: str
    url: str
    active: bool
    disabled_reason: str | None


_VIEW = (TARGETS.c.id, TARGETS.c.url, TARGETS.c.active, TARGETS.c.disabled_reason)


def create_target(
    session: Session,
    *,
    url: str,
    secrets: Sequence[str],
    headers: Sequence[dict[str, Any]] = (),
    style: str = "standard",
    now: datetime,
) -> TargetView:
    """A new active delivery target, signing with `secrets` (newest first)."""
    target_id = new_uuid()
    session.execute(
        insert(TARGETS).values(
            id=target_id,
            url=url,
            secrets=[{"secret": s, "expiresAt": None} for s in secrets],
            headers=list(headers),
            style=style,
            active=True,
            created_at=now,
        )
    )
    return TargetView(id=target_id, url=url, active=True, disabled_reason=None)


def targets(session: Session, target_ids: Iterable[str]) -> dict[str, TargetView]:
    """The targets of `target_ids` that exist, by id."""
    wanted = set(target_ids)
    if not wanted:
        return {}
    rows = session.execute(select(*_VIEW).where(TARGETS.c.id.in_(wanted)))
    return {row.id: TargetView(*row) for row in rows}


def is_active(target_id: ColumnElement[str] | Any) -> ColumnElement[bool]:
    """SQL for a family's query: the target in column `target_id` is active (not disabled)."""
    return (
        exists()
        .where(TARGETS.c.id == target_id, TARGETS.c.active.is_(True))
        .correlate_except(TARGETS)
    )


def update_target(
    session: Session,
    target_id: str,
    *,
    url: str | None = None,
    active: bool | None = None,
    disabled_reason: str | None = None,
) -> TargetView:
    """Change the URL, or switch the target on (which clears its failure record) or off (with
    `disabled_reason` shown to its owner); returns it as it now is."""
    values: dict[str, Any] = {}
    if url is not None:
        values["url"] = url
    if active is True:
        values.update(active=True, disabled_reason=None, failing_since=None)
    elif active is False:
        values.update(active=False, disabled_reason=disabled_reason)
    if values:
        session.execute(update(TARGETS).where(TARGETS.c.id == target_id).values(**values))
    return targets(session, [target_id])[target_id]


# How long a rotated-out secret goes on signing beside the new one (SPEC §2.3, §3.9).
SECRET_OVERLAP = timedelta(hours=24)


def rotate_secrets(
    session: Session, target_id: str, *, new_secret: str, overlap: timedelta, now: datetime
) -> datetime:
    """`new_secret` signs first from now on; the newest previous one goes on signing beside it
    until the returned moment (`now + overlap`). Older ones were already expiring and go."""
    stored = session.scalar(select(TARGETS.c.secrets).where(TARGETS.c.id == target_id))
    live = live_secrets(stored or [], now)
    until = now + overlap
    expires = until.astimezone(UTC).isoformat().replace("+00:00", "Z")
    kept = [{"secret": live[0], "expiresAt": expires}] if live else []
    session.execute(
        update(TARGETS)
        .where(TARGETS.c.id == target_id)
        .values(secrets=[{"secret": new_secret, "expiresAt": None}, *kept])
    )
    return until


def delete_target(session: Session, *, target_id: str) -> None:
    """Delete a target; its pending deliveries go with it and are never sent."""
    session.execute(delete(TARGETS).where(TARGETS.c.id == target_id))


def enqueue(session: Session, deliveries: Sequence[Pending], *, now: datetime) -> None:
    """Write deliveries, due now, in the caller's transaction; workers are woken on commit."""
    if not deliveries:
        return
    session.execute(
        insert(DELIVERIES),
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
    wake_after_commit(session)


# ---- one-off attempts, sent from a request ------------------------------------------------------


@dataclass(frozen=True)
class OneOff:
    """An event to POST once, now, from a request (a webhook test): never queued or retried."""

    target_id: str
    event_id: str
    event_type: str
    payload: bytes
    url: str
    headers: dict[str, str]


def one_off(
    session: Session,
    *,
    target_id: str,
    event_id: str,
    event_type: str,
    payload: bytes,
    now: datetime,
    timestamp: int,
) -> OneOff:
    """The event ready to send to the target: its URL and every header, signed at `timestamp`."""
    t = TARGETS.c
    target = session.execute(
        select(t.url, t.secrets, t.headers, t.style).where(t.id == target_id)
    ).one()
    headers = signing.delivery_headers(
        secrets=live_secrets(target.secrets, now),
        fixed=[(h["name"], h["value"]) for h in target.headers],
        style=target.style,
        event_id=event_id,
        event_type=event_type,
        payload=payload,
        timestamp=timestamp,
    )
    return OneOff(target_id, event_id, event_type, payload, target.url, headers)


def record_one_off(session: Session, sent: OneOff, *, result: AttemptResult) -> None:
    """Keep a one-off in the target's delivery log: a delivery of one attempt, never retried."""
    delivery_id = session.execute(
        insert(DELIVERIES)
        .values(
            public_id=new_uuid(),
            target_id=sent.target_id,
            event_id=sent.event_id,
            event_type=sent.event_type,
            payload=sent.payload,
            status=(DeliveryStatus.DELIVERED if result.delivered else DeliveryStatus.FAILED).value,
            attempts=1,
            one_off=True,
            next_attempt_at=None,
            first_attempt_at=result.at,
            last_response_code=result.response_code,
            last_error=result.error,
            created_at=result.at,
        )
        .returning(DELIVERIES.c.id)
    ).scalar_one()
    session.execute(insert(ATTEMPTS).values(**attempt_row(delivery_id, result)))


# ---- waking workers -----------------------------------------------------------------------------


class Wakers:
    """Whom to wake when a transaction that enqueued commits: the dispatchers of this process.

    Made by the app (or `buzz worker`) and tied to its sessions with `wake_on_commit`; other
    processes hear of commits through PostgreSQL NOTIFY.
    """

    def __init__(self) -> None:
        self._wakers: set[Callable[[], None]] = set()

    def add(self, waker: Callable[[], None]) -> None:
        """Call `waker` (thread-safe, non-blocking) after each commit that enqueued."""
        self._wakers.add(waker)

    def remove(self, waker: Callable[[], None]) -> None:
        self._wakers.discard(waker)

    def wake(self) -> None:
        for waker in list(self._wakers):
            waker()


WAKERS: StateKey[Wakers] = StateKey("wakers")


def wake_on_commit(sessions: sessionmaker[Session], wakers: Wakers) -> None:
    """Wake `wakers` whenever a session of `sessions` commits a transaction that enqueued."""

    def after_commit(session: Session) -> None:
        # A flag left by a rolled-back transaction only costs one early wake-up.
        if session.info.pop(_ENQUEUED, False):
            wakers.wake()

    event.listen(sessions, "after_commit", after_commit)


def wake_after_commit(session: Session) -> None:
    """Mark this transaction as one that wrote deliveries (see `wake_on_commit`)."""
    if session.bind is not None and session.get_bind().dialect.name == "postgresql":
        # Transactional: PostgreSQL delivers it to listening workers only if we commit.
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
    session.info[_ENQUEUED] = True
