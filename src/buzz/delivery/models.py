"""Tables of the delivery engine: targets, the outbox of deliveries, and their attempts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column

from buzz.db import Base, BigIntPK, JSONType, UTCDateTime, new_uuid

__all__ = ["Attempt", "Delivery", "DeliveryStatus", "Target"]


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Target(Base):
    """Where deliveries go and how they are signed: one per Buzz subscription or BuzzChat webhook.

    The API families own their subscriptions and webhooks; the engine only knows targets.
    """

    __tablename__ = "delivery_targets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    url: Mapped[str] = mapped_column(String(2048))
    # [{"secret": "whsec_…", "expiresAt": iso | null}], newest first; all unexpired ones sign.
    secrets: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    # [{"name", "value"}] sent with every delivery.
    headers: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    # Extra per-family signature: "buzzchat" adds X-BuzzChat-Signature.
    style: Mapped[str] = mapped_column(String(16), default="standard")
    active: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Delivery(Base):
    """One event to one target: the outbox row, written in the transaction of the event."""

    __tablename__ = "deliveries"
    __table_args__ = (
        # The claim: due pending rows in (next_attempt_at, id) order, read no further than LIMIT.
        Index(
            "ix_deliveries_due",
            "next_attempt_at",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # Retention: finished rows oldest first; finds nothing at once when nothing is old.
        Index(
            "ix_deliveries_finished",
            "created_at",
            "id",
            postgresql_where=text("status <> 'pending'"),
            sqlite_where=text("status <> 'pending'"),
        ),
        Index("ix_deliveries_target_id_id", "target_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    target_id: Mapped[str] = mapped_column(ForeignKey("delivery_targets.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    # The token of the claim that holds the row (SPEC §4.2): only that claim records its outcome.
    lease: Mapped[str | None] = mapped_column(String(32))
    # Sent once from a request (a `/test`), never queued: recover leaves it as it is.
    one_off: Mapped[bool] = mapped_column(default=False, server_default=false())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_response_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Attempt(Base):
    """One POST of a delivery, as the delivery log shows it."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    response_code: Mapped[int | None]
    duration_ms: Mapped[int]
    error: Mapped[str | None] = mapped_column(Text)
    response_body: Mapped[str | None] = mapped_column(Text)
