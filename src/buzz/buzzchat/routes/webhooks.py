"""`/webhooks` (SPEC §3.9) and their delivery log (SPEC §3.10)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from pydantic import Field, StrictBool, StringConstraints, field_validator

from buzz.buzzchat import webhook_test, webhooks
from buzz.buzzchat.auth import BriefCallerDep, CallerDep
from buzz.buzzchat.events import iso
from buzz.buzzchat.models import Webhook
from buzz.buzzchat.routes.common import new_router
from buzz.buzzchat.schemas import Done, Ok, Strict
from buzz.db import Database, SessionDep
from buzz.delivery import log
from buzz.delivery.models import Target
from buzz.integrations.validation import check_https_url
from buzz.web.routing import CamelModel, ClockDep, PageDep, now_of

router = new_router("Webhooks", 400, 404)

EventName = Literal[
    "giveaway.entry",
    "giveaway.winner",
    "message.sent",
    "message.received",
    "bot.started",
    "bot.stopped",
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


def _distinct(value: list[str] | None) -> list[str] | None:
    if value is not None and len(set(value)) != len(value):
        raise ValueError("events must be distinct")
    return value


def _https(value: str | None) -> str | None:
    return None if value is None else check_https_url(value)


class WebhookCreate(Strict):
    url: str = Field(description="An https:// URL.")
    events: Annotated[list[EventName], Field(min_length=1, max_length=6)]
    description: Description | None = None

    _url = field_validator("url")(_https)
    _events = field_validator("events")(_distinct)


class WebhookPatch(Strict):
    url: str | None = None
    events: Annotated[list[EventName], Field(min_length=1, max_length=6)] | None = None
    active: StrictBool | None = None
    description: Description | None = None

    _url = field_validator("url")(_https)
    _events = field_validator("events")(_distinct)


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


class SecretRotated(CamelModel):
    id: str
    secret: str = Field(description="The new signing secret: shown this once.")
    previous_secret_expires_at: str = Field(
        description="Until then the previous secret signs too (a second signature)."
    )


class TestOut(CamelModel):
    delivered: bool
    response_code: int | None
    response_time: int = Field(description="Milliseconds.")
    error: str | None = None


class DeliveryList(CamelModel):
    deliveries: list[log.DeliveryRecord]


def webhook_out(webhook: Webhook, target: Target) -> WebhookOut:
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


@router.post("/webhooks", status_code=201, response_model=Ok[WebhookCreated])
def create_webhook(
    body: WebhookCreate, caller: CallerDep, session: SessionDep, now: ClockDep
) -> Ok[WebhookCreated]:
    """A new webhook; its secret is in this response only (at most 10 webhooks)."""
    webhook, target, secret = webhooks.create_webhook(
        session,
        subscriber_id=caller.subscriber_id,
        url=body.url,
        event_types=list(body.events),
        description=body.description,
        now=now,
    )
    session.commit()
    return Ok(data=WebhookCreated(**webhook_out(webhook, target).model_dump(), secret=secret))


@router.get("/webhooks", response_model=Ok[WebhookList])
def list_webhooks(caller: CallerDep, session: SessionDep) -> Ok[WebhookList]:
    """The subscriber's webhooks, without their secrets."""
    found = webhooks.list_webhooks(session, subscriber_id=caller.subscriber_id)
    return Ok(data=WebhookList(webhooks=[webhook_out(w, t) for w, t in found]))


@router.get("/webhooks/{webhook_id}", response_model=Ok[WebhookOut])
def get_webhook(webhook_id: str, caller: CallerDep, session: SessionDep) -> Ok[WebhookOut]:
    """One webhook, without its secret."""
    webhook, target = webhooks.get_webhook(
        session, subscriber_id=caller.subscriber_id, webhook_id=webhook_id
    )
    return Ok(data=webhook_out(webhook, target))


@router.patch("/webhooks/{webhook_id}", response_model=Ok[WebhookOut])
def update_webhook(
    webhook_id: str, body: WebhookPatch, caller: CallerDep, session: SessionDep, now: ClockDep
) -> Ok[WebhookOut]:
    """Change its URL, events, description, or switch it on and off."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    webhook, target = webhooks.update_webhook(
        session, subscriber_id=caller.subscriber_id, webhook_id=webhook_id, changes=changes, now=now
    )
    session.commit()
    return Ok(data=webhook_out(webhook, target))


@router.delete("/webhooks/{webhook_id}", response_model=Done)
def delete_webhook(webhook_id: str, caller: CallerDep, session: SessionDep) -> Done:
    """Delete the webhook; deliveries not yet made are dropped."""
    webhooks.delete_webhook(session, subscriber_id=caller.subscriber_id, webhook_id=webhook_id)
    session.commit()
    return Done(message="Webhook deleted")


@router.post("/webhooks/{webhook_id}/rotate-secret", response_model=Ok[SecretRotated])
def rotate_secret(
    webhook_id: str, caller: CallerDep, session: SessionDep, now: ClockDep
) -> Ok[SecretRotated]:
    """A new secret; the previous one keeps signing, as a second signature, for 24 hours."""
    webhook, _target, secret = webhooks.rotate_secret(
        session, subscriber_id=caller.subscriber_id, webhook_id=webhook_id, now=now
    )
    session.commit()
    return Ok(
        data=SecretRotated(
            id=webhook.id,
            secret=secret,
            previous_secret_expires_at=iso(now + webhooks.ROTATION_OVERLAP),
        )
    )


@router.post("/webhooks/{webhook_id}/test", response_model=Ok[TestOut])
async def test_webhook(webhook_id: str, request: Request, caller: BriefCallerDep) -> Ok[TestOut]:
    """POST one `webhook.test` event now and report what happened; it is never retried."""
    database: Database = request.app.state.database
    now = now_of(request)

    def prepare() -> tuple[Target, webhook_test.PreparedTest]:
        with database.session() as session:
            webhook, target = webhooks.get_webhook(
                session, subscriber_id=caller.subscriber_id, webhook_id=webhook_id
            )
            return target, webhook_test.prepare(target, webhook_id=webhook.id, now=now)

    # No database session is held while the receiver answers (up to the dispatch timeout).
    async with database.request_gate():
        target, prepared = await run_in_threadpool(prepare)
    result, body = await webhook_test.send(prepared, settings=request.app.state.settings)

    def record() -> None:
        with database.session() as session:
            webhooks.record_test(
                session,
                target_id=target.id,
                event_id=prepared.event_id,
                payload=prepared.payload,
                result=result,
                response_body=body,
                now=now,
            )
            session.commit()

    async with database.request_gate():
        await run_in_threadpool(record)
    return Ok(
        data=TestOut(
            delivered=result.delivered,
            response_code=result.response_code,
            response_time=result.response_time,
            error=result.error,
        )
    )


@router.get("/webhooks/{webhook_id}/deliveries", response_model=Ok[DeliveryList])
def list_webhook_deliveries(
    webhook_id: str, caller: CallerDep, session: SessionDep, page: PageDep
) -> Ok[DeliveryList]:
    """The webhook's deliveries, newest first."""
    webhook, _ = webhooks.get_webhook(
        session, subscriber_id=caller.subscriber_id, webhook_id=webhook_id
    )
    rows = log.page(session, target_id=webhook.target_id, limit=page.limit, offset=page.offset)
    return Ok(data=DeliveryList(deliveries=[log.record(d) for d in rows]))


@router.get(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}", response_model=Ok[log.DeliveryDetail]
)
def get_webhook_delivery(
    webhook_id: str, delivery_id: str, caller: CallerDep, session: SessionDep
) -> Ok[log.DeliveryDetail]:
    """One delivery with each of its attempts."""
    webhook, _ = webhooks.get_webhook(
        session, subscriber_id=caller.subscriber_id, webhook_id=webhook_id
    )
    delivery = log.get(session, target_id=webhook.target_id, delivery_id=delivery_id)
    return Ok(data=log.detail(session, delivery))


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=Ok[log.DeliveryRecord],
)
def redeliver_webhook_delivery(
    webhook_id: str, delivery_id: str, caller: CallerDep, session: SessionDep, now: ClockDep
) -> Ok[log.DeliveryRecord]:
    """Queue the delivery again, now."""
    webhook, _ = webhooks.get_webhook(
        session, subscriber_id=caller.subscriber_id, webhook_id=webhook_id
    )
    delivery = log.get(session, target_id=webhook.target_id, delivery_id=delivery_id)
    queued = log.redeliver(session, delivery=delivery, now=now)
    session.commit()
    return Ok(data=queued)
