"""`/webhooks` (SPEC §3.9) and their delivery log (SPEC §3.10)."""

from __future__ import annotations

import time

from fastapi import Request
from sqlalchemy.orm import Session

from buzz.buzzchat import webhooks
from buzz.buzzchat.auth import BriefCallerDep, Caller, CallerDep
from buzz.buzzchat.events import iso
from buzz.buzzchat.routes.common import new_router
from buzz.buzzchat.schemas import Done, Ok
from buzz.buzzchat.webhook_schemas import (
    TestOut,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookOut,
    WebhookPatch,
    WebhookRecoverRequest,
    WebhookSecretRotated,
    webhook_out,
)
from buzz.db import DATABASE, SessionDep
from buzz.delivery import log
from buzz.delivery.poster import POSTER
from buzz.delivery.schemas import DeliveryDetail, DeliveryList, DeliveryRecord, Recovered
from buzz.delivery.send_once import send_once
from buzz.web.log_query import LogQueryDep
from buzz.web.routing import ClockDep, PageDep, now_of

router = new_router("Webhooks", 400, 404)


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


@router.post("/webhooks/{webhook_id}/rotate-secret", response_model=Ok[WebhookSecretRotated])
def rotate_secret(
    webhook_id: str, caller: CallerDep, session: SessionDep, now: ClockDep
) -> Ok[WebhookSecretRotated]:
    """A new secret; the previous one keeps signing, as a second signature, for 24 hours."""
    webhook, secret, until = webhooks.rotate_secret(
        session, subscriber_id=caller.subscriber_id, webhook_id=webhook_id, now=now
    )
    session.commit()
    return Ok(
        data=WebhookSecretRotated(
            id=webhook.id, secret=secret, previous_secret_expires_at=iso(until)
        )
    )


@router.post(
    "/webhooks/{webhook_id}/test", response_model=Ok[TestOut], response_model_exclude_none=True
)
async def test_webhook(webhook_id: str, request: Request, caller: BriefCallerDep) -> Ok[TestOut]:
    """POST one `webhook.test` event now and report what happened; it is never retried."""
    now = now_of(request)
    result = await send_once(
        DATABASE.of(request.app),
        POSTER.of(request.app),
        prepare=lambda session: webhooks.test_event(
            session,
            subscriber_id=caller.subscriber_id,
            webhook_id=webhook_id,
            now=now,
            timestamp=int(time.time()),  # receivers check it against real time
        ),
        now=now,
    )
    return Ok(
        data=TestOut(
            delivered=result.delivered,
            response_code=result.response_code,
            response_time=result.duration_ms,
            error=result.error,
        )
    )


@router.get("/webhooks/{webhook_id}/deliveries", response_model=Ok[DeliveryList])
def list_webhook_deliveries(
    webhook_id: str, caller: CallerDep, session: SessionDep, page: PageDep, query: LogQueryDep
) -> Ok[DeliveryList]:
    """The webhook's deliveries, newest first, filtered by the query; follow `next` with
    `?cursor=` for the next page."""
    target_id = _target_of(session, caller, webhook_id)
    listed = log.page(
        session, target_id=target_id, limit=page.limit, offset=page.offset, where=query
    )
    return Ok(data=listed)


@router.get("/webhooks/{webhook_id}/deliveries/{delivery_id}", response_model=Ok[DeliveryDetail])
def get_webhook_delivery(
    webhook_id: str, delivery_id: str, caller: CallerDep, session: SessionDep
) -> Ok[DeliveryDetail]:
    """One delivery with each of its attempts."""
    target_id = _target_of(session, caller, webhook_id)
    return Ok(data=log.detail(session, target_id=target_id, delivery_id=delivery_id))


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=Ok[DeliveryRecord],
)
def redeliver_webhook_delivery(
    webhook_id: str, delivery_id: str, caller: CallerDep, session: SessionDep, now: ClockDep
) -> Ok[DeliveryRecord]:
    """Queue the delivery again, now."""
    target_id = _target_of(session, caller, webhook_id)
    queued = log.redeliver(session, target_id=target_id, delivery_id=delivery_id, now=now)
    session.commit()
    return Ok(data=queued)


@router.post("/webhooks/{webhook_id}/recover", status_code=202, response_model=Ok[Recovered])
def recover_webhook_deliveries(
    webhook_id: str,
    body: WebhookRecoverRequest,
    caller: CallerDep,
    session: SessionDep,
    now: ClockDep,
) -> Ok[Recovered]:
    """Queue again, now, every failed delivery of the webhook created since `since` (and before
    `until`, when given), as Svix's recover."""
    target_id = _target_of(session, caller, webhook_id)
    queued = log.recover(session, target_id=target_id, since=body.since, until=body.until, now=now)
    session.commit()
    return Ok(data=Recovered(queued=queued))


def _target_of(session: Session, caller: Caller, webhook_id: str) -> str:
    webhook, _ = webhooks.get_webhook(
        session, subscriber_id=caller.subscriber_id, webhook_id=webhook_id
    )
    return webhook.target_id
