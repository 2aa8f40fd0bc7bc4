"""The delivery log (SPEC §3.10): what each family shows of a target's deliveries.

Each call is scoped to one target, which the family has already checked the caller owns; a
delivery of another target is as unknown as one that does not exist (404).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import ColumnElement, case, func, select, update
from sqlalchemy.orm import Session

from buzz.delivery.models import Attempt, Delivery, DeliveryStatus
from buzz.delivery.outbox import wake_after_commit
from buzz.delivery.schemas import AttemptRecord, DeliveryDetail, DeliveryList, DeliveryRecord
from buzz.errors import BadRequest, NotFound

__all__ = [
    "Health",
    "LogFilter",
    "decode_cursor",
    "detail",
    "encode_cursor",
    "health",
    "page",
    "payload",
    "recover",
    "redeliver",
]


class LogFilter(Protocol):
    """What a list asks for (`buzz.web.log_query.LogQuery` on both families' routes)."""

    @property
    def status(self) -> str | None: ...
    @property
    def event_type(self) -> str | None: ...
    @property
    def since(self) -> datetime | None: ...
    @property
    def until(self) -> datetime | None: ...
    @property
    def cursor(self) -> str | None: ...


_CURSOR_PREFIX = b"d:"


def encode_cursor(position: int) -> str:
    """The opaque `next` cursor: the position of the last delivery of a page."""
    return base64.urlsafe_b64encode(_CURSOR_PREFIX + str(position).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The position a cursor stands for; 400 naming `cursor` when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    digits = raw.removeprefix(_CURSOR_PREFIX)
    if not raw.startswith(_CURSOR_PREFIX) or not digits.isdigit() or len(digits) > 18:
        raise BadRequest.on("cursor", "cursor must be the `next` of a previous page, as it was")
    return int(digits)


def _record(delivery: Delivery) -> DeliveryRecord:
    return DeliveryRecord(
        id=delivery.public_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        status=DeliveryStatus(delivery.status).value,
        attempts=delivery.attempts,
        last_response_code=delivery.last_response_code,
        last_error=delivery.last_error,
        next_attempt_at=delivery.next_attempt_at,
        created_at=delivery.created_at,
    )


def _window(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    conditions = []
    if since is not None:
        conditions.append(Delivery.created_at >= since)
    if until is not None:
        conditions.append(Delivery.created_at < until)
    return conditions


def page(
    session: Session, *, target_id: str, limit: int, offset: int, where: LogFilter
) -> DeliveryList:
    """A page of the target's deliveries that match, newest first; `next` when there are more.

    The cursor is a position in that order, so a page continues where the last one stopped
    however many deliveries arrived meanwhile (an offset would show some twice)."""
    conditions = [Delivery.target_id == target_id, *_window(where.since, where.until)]
    if where.status is not None:
        conditions.append(Delivery.status == where.status)
    if where.event_type is not None:
        conditions.append(Delivery.event_type == where.event_type)
    if where.cursor is not None:
        if offset:  # as Stripe refuses two starting points: which one was meant is unknown
            raise BadRequest.on(
                "offset", "offset cannot be combined with cursor: the cursor says where to start"
            )
        conditions.append(Delivery.id < decode_cursor(where.cursor))
    query = (
        select(Delivery)
        .where(*conditions)
        .order_by(Delivery.id.desc())
        .limit(limit + 1)  # one more says whether there is a next page
        .offset(offset)
    )
    found = list(session.scalars(query))
    shown = found[:limit]
    more = len(found) > limit
    return DeliveryList(
        deliveries=[_record(d) for d in shown],
        next=encode_cursor(shown[-1].id) if more else None,
    )


def _get(session: Session, *, target_id: str, delivery_id: str) -> Delivery:
    delivery = session.scalar(
        select(Delivery).where(Delivery.public_id == delivery_id, Delivery.target_id == target_id)
    )
    if delivery is None:
        raise NotFound(f"Delivery {delivery_id} not found")
    return delivery


def detail(session: Session, *, target_id: str, delivery_id: str) -> DeliveryDetail:
    """One of the target's deliveries with its attempts, oldest first; 404 otherwise."""
    delivery = _get(session, target_id=target_id, delivery_id=delivery_id)
    attempts = session.scalars(
        select(Attempt).where(Attempt.delivery_id == delivery.id).order_by(Attempt.id)
    ).all()
    return DeliveryDetail(
        **_record(delivery).model_dump(),
        attempt_log=[
            AttemptRecord(
                at=a.at,
                response_code=a.response_code,
                duration_ms=a.duration_ms,
                error=a.error,
                response_body=a.response_body,
            )
            for a in attempts
        ],
    )


def payload(session: Session, *, target_id: str, delivery_id: str) -> bytes:
    """The exact body one of the target's deliveries POSTs; 404 otherwise."""
    return _get(session, target_id=target_id, delivery_id=delivery_id).payload


def redeliver(
    session: Session, *, target_id: str, delivery_id: str, now: datetime
) -> DeliveryRecord:
    """Queue one of the target's deliveries again, due now, whatever became of it; its attempts
    are kept. 404 when it is not the target's."""
    delivery = _get(session, target_id=target_id, delivery_id=delivery_id)
    delivery.status = DeliveryStatus.PENDING.value
    delivery.next_attempt_at = now
    delivery.lease = None  # a worker still sending it will not record over this
    session.flush()
    wake_after_commit(session)
    return _record(delivery)


def recover(
    session: Session, *, target_id: str, since: datetime, until: datetime | None, now: datetime
) -> int:
    """Queue again, due now, every failed delivery of the target created in [since, until), as
    Svix's recover; how many. Their attempts are kept; delivered and pending ones, and test
    events (sent once from a request, never queued), are left as they are."""
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.target_id == target_id,
            Delivery.status == DeliveryStatus.FAILED.value,
            Delivery.one_off.is_(False),
            *_window(since, until),
        )
        .values(status=DeliveryStatus.PENDING.value, next_attempt_at=now, lease=None)
        .execution_options(synchronize_session=False)
    )
    queued: int = result.rowcount  # type: ignore[attr-defined]
    if queued:
        wake_after_commit(session)
    return queued


@dataclass(frozen=True)
class Health:
    """How a target has fared since a time: its deliveries made since then that were delivered
    and that failed, and the last answer it gave (of any time)."""

    delivered: int = 0
    failed: int = 0
    last_response_code: int | None = None
    last_error: str | None = None
    last_attempt_at: datetime | None = None


def health(session: Session, target_ids: list[str], *, since: datetime) -> dict[str, Health]:
    """The health of each target of `target_ids` (SPEC §7's "delivered and failed in 24 h")."""
    if not target_ids:
        return {}
    d = Delivery
    counts = session.execute(
        select(
            d.target_id,
            func.sum(case((d.status == DeliveryStatus.DELIVERED.value, 1), else_=0)),
            func.sum(case((d.status == DeliveryStatus.FAILED.value, 1), else_=0)),
        )
        .where(d.target_id.in_(target_ids), d.created_at >= since)
        .group_by(d.target_id)
    ).all()
    found = {row[0]: (int(row[1] or 0), int(row[2] or 0)) for row in counts}
    latest = (
        select(func.max(Attempt.id))
        .join(d, d.id == Attempt.delivery_id)
        .where(d.target_id.in_(target_ids))
        .group_by(d.target_id)
    )
    last = session.execute(
        select(d.target_id, Attempt.response_code, Attempt.error, Attempt.at)
        .join(d, d.id == Attempt.delivery_id)
        .where(Attempt.id.in_(latest))
    ).all()
    answers = {row[0]: (row[1], row[2], row[3]) for row in last}
    result = {}
    for target_id in target_ids:
        delivered, failed = found.get(target_id, (0, 0))
        code, error, at = answers.get(target_id, (None, None, None))
        result[target_id] = Health(delivered, failed, code, error, at)
    return result
