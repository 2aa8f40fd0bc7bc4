"""The delivery log (SPEC §3.10): what each family shows of a target's deliveries.

Each call is scoped to one target, which the family has already checked the caller owns; a
delivery of another target is as unknown as one that does not exist (404).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from buzz.delivery.models import Attempt, Delivery, DeliveryStatus
from buzz.delivery.outbox import wake_after_commit
from buzz.delivery.schemas import AttemptRecord, DeliveryDetail, DeliveryList, DeliveryRecord
from buzz.errors import NotFound

__all__ = ["detail", "page", "redeliver"]


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


def page(session: Session, *, target_id: str, limit: int, offset: int) -> DeliveryList:
    """A page of the target's deliveries, newest first."""
    query = (
        select(Delivery)
        .where(Delivery.target_id == target_id)
        .order_by(Delivery.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return DeliveryList(deliveries=[_record(d) for d in session.scalars(query)])


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
