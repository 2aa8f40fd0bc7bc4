"""Webhooks (SPEC §3.9): at most 10 per subscriber, each on a delivery target of style buzzchat."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from buzz.buzzchat import events
from buzz.buzzchat.models import Webhook, new_id
from buzz.db import new_uuid
from buzz.delivery import outbox, signing
from buzz.delivery.models import Attempt, Delivery, DeliveryStatus, Target
from buzz.web.errors import BadRequest, NotFound

__all__ = [
    "MAX_WEBHOOKS",
    "ROTATION_OVERLAP",
    "TestResult",
    "create_webhook",
    "delete_webhook",
    "get_webhook",
    "list_webhooks",
    "rotate_secret",
    "update_webhook",
]

MAX_WEBHOOKS = 10
ROTATION_OVERLAP = timedelta(hours=24)


def create_webhook(
    session: Session,
    *,
    subscriber_id: str,
    url: str,
    event_types: list[str],
    description: str | None,
    now: datetime,
) -> tuple[Webhook, Target, str]:
    """A new webhook, its target, and its secret (shown this once)."""
    count = session.scalar(
        select(func.count()).select_from(Webhook).where(Webhook.subscriber_id == subscriber_id)
    )
    if (count or 0) >= MAX_WEBHOOKS:
        raise BadRequest.on("url", f"A subscriber has at most {MAX_WEBHOOKS} webhooks")
    secret = signing.new_secret()
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


def list_webhooks(session: Session, *, subscriber_id: str) -> Sequence[tuple[Webhook, Target]]:
    query = (
        select(Webhook, Target)
        .join(Target, Target.id == Webhook.target_id)
        .where(Webhook.subscriber_id == subscriber_id)
        .order_by(Webhook.seq)
    )
    return [(w, t) for w, t in session.execute(query).all()]


def get_webhook(session: Session, *, subscriber_id: str, webhook_id: str) -> tuple[Webhook, Target]:
    """One of the subscriber's webhooks; 404 otherwise."""
    webhook = session.scalar(select(Webhook).where(Webhook.id == webhook_id))
    if webhook is None or webhook.subscriber_id != subscriber_id:
        raise NotFound("Webhook not found")
    target = session.get(Target, webhook.target_id)
    assert target is not None
    return webhook, target


def update_webhook(
    session: Session,
    *,
    subscriber_id: str,
    webhook_id: str,
    changes: dict[str, Any],
    now: datetime,
) -> tuple[Webhook, Target]:
    """Change url, events, description or active; re-activating clears the failure record."""
    webhook, target = get_webhook(session, subscriber_id=subscriber_id, webhook_id=webhook_id)
    if "url" in changes:
        target.url = changes["url"]
    if "events" in changes:
        webhook.events = changes["events"]
    if "description" in changes:
        webhook.description = changes["description"]
    if "active" in changes:
        target.active = changes["active"]
        if changes["active"]:
            target.disabled_reason = None
            target.failing_since = None
        else:
            target.disabled_reason = "Deactivated through the API"
    session.flush()
    return webhook, target


def delete_webhook(session: Session, *, subscriber_id: str, webhook_id: str) -> None:
    """Delete the webhook; deliveries not yet made are dropped with it."""
    webhook, target = get_webhook(session, subscriber_id=subscriber_id, webhook_id=webhook_id)
    session.delete(webhook)
    session.flush()
    outbox.delete_target(session, target_id=target.id)


def rotate_secret(
    session: Session, *, subscriber_id: str, webhook_id: str, now: datetime
) -> tuple[Webhook, Target, str]:
    """A new secret, signing first; the previous one goes on signing for 24 h."""
    webhook, target = get_webhook(session, subscriber_id=subscriber_id, webhook_id=webhook_id)
    secret = signing.new_secret()
    expires = events.iso(now + ROTATION_OVERLAP)
    live = outbox.live_secrets(target, now)
    # Only the newest previous secret keeps signing; older ones were already expiring.
    kept = [{"secret": live[0], "expiresAt": expires}] if live else []
    target.secrets = [{"secret": secret, "expiresAt": None}, *kept]
    session.flush()
    return webhook, target, secret


@dataclass(frozen=True)
class TestResult:
    delivered: bool
    response_code: int | None
    response_time: int
    error: str | None


def record_test(
    session: Session,
    *,
    target_id: str,
    event_id: str,
    payload: bytes,
    result: TestResult,
    response_body: str | None,
    now: datetime,
) -> None:
    """Keep the test in the delivery log, as one attempt that is never retried."""
    delivery = Delivery(
        public_id=new_uuid(),
        target_id=target_id,
        event_id=event_id,
        event_type=events.TEST_EVENT,
        payload=payload,
        status=(DeliveryStatus.DELIVERED if result.delivered else DeliveryStatus.FAILED).value,
        attempts=1,
        next_attempt_at=None,
        first_attempt_at=now,
        last_response_code=result.response_code,
        last_error=result.error,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    session.add(
        Attempt(
            delivery_id=delivery.id,
            at=now,
            response_code=result.response_code,
            duration_ms=result.response_time,
            error=result.error,
            response_body=response_body,
        )
    )
    session.flush()
