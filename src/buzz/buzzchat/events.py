"""BuzzChat events to webhooks (SPEC §3.9): written to the outbox in the caller's transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from buzz.buzzchat.models import Account, Webhook, new_id
from buzz.delivery import outbox

__all__ = ["TEST_EVENT", "WebhookEvent", "iso", "payload_of", "raise_event", "raise_events"]


class WebhookEvent(StrEnum):
    """The events a webhook can subscribe to, in the order BuzzChat lists them."""

    GIVEAWAY_ENTRY = "giveaway.entry"
    GIVEAWAY_WINNER = "giveaway.winner"
    MESSAGE_SENT = "message.sent"
    MESSAGE_RECEIVED = "message.received"
    BOT_STARTED = "bot.started"
    BOT_STOPPED = "bot.stopped"


# Sent only by `POST /webhooks/{id}/test`, to that webhook, whatever it subscribed to.
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
    event_type: WebhookEvent,
    data: dict[str, Any],
    now: datetime,
) -> str | None:
    """Queue `event_type` for every active webhook of the account's subscriber that wants it.

    Returns the event id, or None when no webhook wants the event.
    """
    [event_id] = raise_events(session, account=account, raised=[(event_type, data)], now=now)
    return event_id


def raise_events(
    session: Session,
    *,
    account: Account,
    raised: Sequence[tuple[WebhookEvent, dict[str, Any]]],
    now: datetime,
) -> list[str | None]:
    """`raise_event` for several events, in order: one read of the webhooks, one bulk write."""
    if not raised:
        return []
    hooks = session.execute(
        select(Webhook.id, Webhook.target_id, Webhook.events).where(
            Webhook.subscriber_id == account.subscriber_id, outbox.is_active(Webhook.target_id)
        )
    ).all()
    event_ids: list[str | None] = []
    pending: list[outbox.Pending] = []
    triggered: set[str] = set()
    for event_type, data in raised:
        wanted = [(hook_id, target) for hook_id, target, kinds in hooks if event_type in kinds]
        if not wanted:
            event_ids.append(None)
            continue
        event_id = new_id("evt", 24)
        payload = payload_of(event_id=event_id, event_type=event_type, data=data, now=now)
        pending.extend(
            outbox.Pending(target, event_id, event_type, payload) for _, target in wanted
        )
        triggered.update(hook_id for hook_id, _ in wanted)
        event_ids.append(event_id)
    if pending:
        outbox.enqueue(session, pending, now=now)
        session.execute(
            update(Webhook).where(Webhook.id.in_(sorted(triggered))).values(last_triggered_at=now)
        )
    return event_ids
