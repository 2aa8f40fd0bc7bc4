"""BuzzChat events to webhooks (SPEC §3.9): written to the outbox in the caller's transaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from buzz.buzzchat.models import Account, Webhook, new_id
from buzz.delivery import outbox
from buzz.delivery.models import Target

__all__ = ["EVENT_TYPES", "TEST_EVENT", "iso", "payload_of", "raise_event"]

# The seed's six events, in its order.
EVENT_TYPES = (
    "giveaway.entry",
    "giveaway.winner",
    "message.sent",
    "message.received",
    "bot.started",
    "bot.stopped",
)
TEST_EVENT = "webhook.test"


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with a `Z`, as in the seed's examples."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def payload_of(*, event_id: str, event_type: str, data: dict[str, Any], now: datetime) -> bytes:
    """The exact body POSTed: `{id, type, timestamp, data}`."""
    body = {"id": event_id, "type": event_type, "timestamp": iso(now), "data": data}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def raise_event(
    session: Session,
    *,
    account: Account,
    event_type: str,
    data: dict[str, Any],
    now: datetime,
) -> str | None:
    """Queue `event_type` for every active webhook of the account's subscriber that wants it.

    Returns the event id, or None when no webhook wants the event.
    """
    hooks = session.execute(
        select(Webhook.id, Webhook.target_id, Webhook.events)
        .join(Target, Target.id == Webhook.target_id)
        .where(Webhook.subscriber_id == account.subscriber_id, Target.active.is_(True))
    ).all()
    wanted = [(hook_id, target_id) for hook_id, target_id, kinds in hooks if event_type in kinds]
    if not wanted:
        return None
    event_id = new_id("evt", 24)
    payload = payload_of(event_id=event_id, event_type=event_type, data=data, now=now)
    outbox.enqueue(
        session,
        [outbox.Pending(target_id, event_id, event_type, payload) for _, target_id in wanted],
        now=now,
    )
    session.execute(
        update(Webhook)
        .where(Webhook.id.in_([hook_id for hook_id, _ in wanted]))
        .values(last_triggered_at=now)
    )
    return event_id
