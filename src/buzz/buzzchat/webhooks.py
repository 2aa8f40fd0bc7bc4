"""Webhooks (SPEC §3.9): at most 10 per subscriber, each on a delivery target of style buzzchat."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from buzz.buzzchat import events
from buzz.buzzchat.locks import lock_subscriber
from buzz.buzzchat.models import Webhook, new_id
from buzz.delivery import outbox, signing
from buzz.delivery.outbox import TargetView
from buzz.errors import BadRequest, NotFound

__all__ = [
    "MAX_WEBHOOKS",
    "ROTATION_OVERLAP",
    "create_webhook",
    "delete_webhook",
    "get_webhook",
    "list_webhooks",
    "rotate_secret",
    "update_webhook",
]

MAX_WEBHOOKS = 10
ROTATION_OVERLAP = outbox.SECRET_OVERLAP


def create_webhook(
    session: Session,
    *,
    subscriber_id: str,
    url: str,
    event_types: list[str],
    description: str | None,
    now: datetime,
) -> tuple[Webhook, TargetView, str]:
    """A new webhook, its target, and its secret (shown this once)."""
    lock_subscriber(session, subscriber_id)
    count = session.scalar(
        select(func.count()).select_from(Webhook).where(Webhook.subscriber_id == subscriber_id)
    )
    if (count or 0) >= MAX_WEBHOOKS:
        raise BadRequest.on("url", f"A subscriber has at most {MAX_WEBHOOKS} webhooks")
    secret = signing.new_signing_secret()
    target = outbox.create_target(session, url=url, secrets=[secret], style="buzzchat", now=now)
    webhook = Webhook(
        id=new_id("wh", 20),
        subscriber_id=subscriber_id,
        target_id=target.id,
        events=event_types,
        description=description,
        created_at=now,
    )
    session.add(webhook)
    session.flush()
    return webhook, target, secret


def list_webhooks(session: Session, *, subscriber_id: str) -> Sequence[tuple[Webhook, TargetView]]:
    """The subscriber's webhooks in creation order, each with its target."""
    hooks = session.scalars(
        select(Webhook).where(Webhook.subscriber_id == subscriber_id).order_by(Webhook.seq)
    ).all()
    found = outbox.targets(session, [w.target_id for w in hooks])
    return [(w, found[w.target_id]) for w in hooks]


def _owned(session: Session, *, subscriber_id: str, webhook_id: str) -> Webhook:
    webhook = session.scalar(select(Webhook).where(Webhook.id == webhook_id))
    if webhook is None or webhook.subscriber_id != subscriber_id:
        raise NotFound("Webhook not found")
    return webhook


def get_webhook(
    session: Session, *, subscriber_id: str, webhook_id: str
) -> tuple[Webhook, TargetView]:
    """One of the subscriber's webhooks, with its target; 404 otherwise."""
    webhook = _owned(session, subscriber_id=subscriber_id, webhook_id=webhook_id)
    return webhook, outbox.targets(session, [webhook.target_id])[webhook.target_id]


def update_webhook(
    session: Session,
    *,
    subscriber_id: str,
    webhook_id: str,
    changes: dict[str, Any],
    now: datetime,
) -> tuple[Webhook, TargetView]:
    """Change url, events, description or active; re-activating clears the failure record."""
    webhook = _owned(session, subscriber_id=subscriber_id, webhook_id=webhook_id)
    if "events" in changes:
        webhook.events = changes["events"]
    if "description" in changes:
        webhook.description = changes["description"]
    target = outbox.update_target(
        session,
        webhook.target_id,
        url=changes.get("url"),
        active=changes.get("active"),
        disabled_reason="Deactivated through the API",
    )
    session.flush()
    return webhook, target


def delete_webhook(session: Session, *, subscriber_id: str, webhook_id: str) -> None:
    """Delete the webhook; deliveries not yet made are dropped with it."""
    webhook = _owned(session, subscriber_id=subscriber_id, webhook_id=webhook_id)
    session.delete(webhook)
    session.flush()
    outbox.delete_target(session, target_id=webhook.target_id)


def rotate_secret(
    session: Session, *, subscriber_id: str, webhook_id: str, now: datetime
) -> tuple[Webhook, str, datetime]:
    """A new secret, signing first; the previous one goes on signing until the returned time."""
    webhook = _owned(session, subscriber_id=subscriber_id, webhook_id=webhook_id)
    secret = signing.new_signing_secret()
    until = outbox.rotate_secrets(
        session, webhook.target_id, new_secret=secret, overlap=ROTATION_OVERLAP, now=now
    )
    return webhook, secret, until


def test_event(
    session: Session, *, subscriber_id: str, webhook_id: str, now: datetime, timestamp: int
) -> outbox.OneOff:
    """The `webhook.test` event of one of the subscriber's webhooks, ready to send once."""
    webhook = _owned(session, subscriber_id=subscriber_id, webhook_id=webhook_id)
    event_id = new_id("evt", 24)
    payload = events.payload_of(
        event_id=event_id,
        event_type=events.TEST_EVENT,
        data={"webhookId": webhook.id, "message": "This is a test event from BuzzChat"},
        now=now,
    )
    return outbox.one_off(
        session,
        target_id=webhook.target_id,
        event_id=event_id,
        event_type=events.TEST_EVENT,
        payload=payload,
        now=now,
        timestamp=timestamp,
    )
