"""The delivery log's wire schemas (SPEC §3.10), the same in both API families."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from buzz.wire import CamelModel, IsoDateTime

__all__ = [
    "AttemptRecord",
    "DeliveryDetail",
    "DeliveryList",
    "DeliveryRecord",
    "Recovered",
    "RecoveryWindow",
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


class DeliveryList(CamelModel):
    """A page of a target's deliveries, newest first."""

    deliveries: list[DeliveryRecord]
    next: str | None = Field(
        default=None,
        description="Pass it as `?cursor=` (with the same filters) for the next page; null on "
        "the last page.",
    )


class Recovered(CamelModel):
    """How many failed deliveries were queued again."""

    queued: int


class RecoveryWindow(CamelModel):
    """The window of failed deliveries to queue again (SPEC §3.10). Each family's body adds its
    rule for nulls (Buzz: null is absent; BuzzChat: refused)."""

    since: IsoDateTime = Field(description="Deliveries created at or after this time.")
    until: IsoDateTime | None = Field(
        default=None, description="Deliveries created before this time; now when absent."
    )

    @field_validator("until")
    @classmethod
    def _after_since(cls, until: datetime | None, info: ValidationInfo) -> datetime | None:
        since = info.data.get("since")  # absent when since itself was refused
        if until is not None and since is not None and until <= since:
            raise ValueError("until must be later than since")
        return until
