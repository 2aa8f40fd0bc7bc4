"""Wire formats of BuzzChat webhooks (SPEC §3.9)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)

from buzz.buzzchat.events import WebhookEvent
from buzz.buzzchat.models import Webhook
from buzz.buzzchat.schemas import Strict
from buzz.delivery.outbox import TargetView
from buzz.delivery.schemas import RecoveryWindow
from buzz.delivery.urls import HttpsUrl
from buzz.wire import CamelModel, refuses_nulls_schema

__all__ = [
    "TestOut",
    "WebhookCreate",
    "WebhookCreated",
    "WebhookList",
    "WebhookOut",
    "WebhookPatch",
    "WebhookRecoverRequest",
    "WebhookSecretRotated",
    "webhook_out",
]

Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


def _distinct(value: list[WebhookEvent] | None) -> list[WebhookEvent] | None:
    if value is not None and len(set(value)) != len(value):
        raise ValueError("events must be distinct")
    return value


class WebhookCreate(Strict):
    url: HttpsUrl
    events: Annotated[list[WebhookEvent], Field(min_length=1, max_length=6)]
    description: Description | None = None

    _events = field_validator("events")(_distinct)


class WebhookPatch(Strict):
    url: HttpsUrl | None = None
    events: Annotated[list[WebhookEvent], Field(min_length=1, max_length=6)] | None = None
    active: StrictBool | None = None
    description: Description | None = None

    _events = field_validator("events")(_distinct)


class WebhookRecoverRequest(RecoveryWindow, Strict):
    """The window of failed deliveries to queue again (SPEC §3.10); nulls refused."""


class WebhookOut(CamelModel):
    id: str
    url: str
    events: list[str]
    description: str | None
    active: bool
    disabled_reason: str | None
    created_at: datetime
    last_triggered_at: datetime | None


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret: shown this once, store it now.")


class WebhookList(CamelModel):
    webhooks: list[WebhookOut]


class WebhookSecretRotated(CamelModel):
    id: str
    secret: str = Field(description="The new signing secret: shown this once.")
    previous_secret_expires_at: str = Field(
        description="Until then the previous secret signs too (a second signature)."
    )


class TestOut(CamelModel):
    """What the receiver did with a test event. The published contract types `responseCode` as
    an integer, never null: with no HTTP answer (refused, DNS, TLS, timeout) it is left out, as
    `error` is when there is nothing to say (the route drops None fields)."""

    model_config = ConfigDict(json_schema_extra=refuses_nulls_schema)

    delivered: bool
    response_code: int | None = Field(
        default=None, description="The receiver's status; absent when it gave none."
    )
    response_time: int = Field(description="Milliseconds.")
    error: str | None = Field(default=None, description="Why it was not delivered.")


def webhook_out(webhook: Webhook, target: TargetView) -> WebhookOut:
    return WebhookOut(
        id=webhook.id,
        url=target.url,
        events=list(webhook.events),
        description=webhook.description,
        active=target.active,
        disabled_reason=target.disabled_reason,
        created_at=webhook.created_at,
        last_triggered_at=webhook.last_triggered_at,
    )
