"""The delivery log (SPEC §3.10): what each family shows of a target's deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from buzz.delivery import outbox
from buzz.delivery.models import Attempt, Delivery, DeliveryStatus
from buzz.web.errors import NotFound
from buzz.web.routing import CamelModel

__all__ = [
    "AttemptRecord",
    "DeliveryDetail",
    "DeliveryRecord",
    "detail",
    "get",
    "page",
    "record",
    "redeliver",
]


class DeliveryRecord(CamelModel):
    """One event sent (or to be sent) to one subscription or webhook."""

    id: str
    event_id: str
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_response_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime


class AttemptRecord(CamelModel):
    """One POST of a delivery."""

    at: datetime
    response_code: int | None
    duration_ms: int
    error: str | None
    response_body: str | None = Field(description="The first 1 KiB of the response body.")


class DeliveryDetail(DeliveryRecord):
    """A delivery with every attempt, oldest first (`attempts` stays the count)."""

    attempt_log: list[AttemptRecord]


def record(delivery: Delivery) -> DeliveryRecord:
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


def page(session: Session, *, target_id: str, limit: int, offset: int) -> Sequence[Delivery]:
    """A target's deliveries, newest first."""
    query = (
        select(Delivery)
        .where(Delivery.target_id == target_id)
        .order_by(Delivery.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return session.scalars(query).all()


def get(session: Session, *, target_id: str, delivery_id: str) -> Delivery:
    """One of the target's deliveries by its public id; 404 otherwise."""
    delivery = session.scalar(
        select(Delivery).where(Delivery.public_id == delivery_id, Delivery.target_id == target_id)
    )
    if delivery is None:
        raise NotFound(f"Delivery {delivery_id} not found")
    return delivery


def detail(session: Session, delivery: Delivery) -> DeliveryDetail:
    """The delivery and its attempts, oldest first."""
    attempts = session.scalars(
        select(Attempt).where(Attempt.delivery_id == delivery.id).order_by(Attempt.id)
    ).all()
    return DeliveryDetail(
        **record(delivery).model_dump(),
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


def redeliver(session: Session, *, delivery: Delivery, now: datetime) -> DeliveryRecord:
    """Queue the delivery again, due now."""
    outbox.redeliver(session, delivery=delivery, now=now)
    return record(delivery)
