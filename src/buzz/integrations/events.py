"""Chat events to integrations: who receives what, with which payload (SPEC §2.5).

Listens to the platform's events and, in the same transaction, writes one delivery per matching
subscription of every integration active on the event's channel.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.orm import Session

from buzz.db import new_uuid
from buzz.delivery import outbox
from buzz.integrations import callback
from buzz.integrations.models import EventType, Integration, IntegrationChannel, Scope, Subscription
from buzz.platform import events
from buzz.platform.models import Channel, ChannelMember, User, Visibility

__all__ = ["active_on", "handles_command", "install", "on_channel_event"]


def active_on(channel: Channel) -> ColumnElement[bool]:
    """SQL: the integration is active on `channel`, decided now (SPEC §2.3 "Active channels").

    A thread's access is its parent's, and an integration active on a channel is active on its
    threads, so every rule is judged on the top-level channel `channel.parent_id`.
    """
    top_id = channel.parent_id
    top_is_public = channel.visibility == Visibility.PUBLIC.value
    owner_can_access = or_(
        true() if top_is_public else false(),
        exists()
        .where(ChannelMember.channel_id == top_id, ChannelMember.user_id == Integration.owner_id)
        .correlate_except(ChannelMember),
    )
    listed = (
        exists()
        .where(
            IntegrationChannel.integration_id == Integration.id,
            IntegrationChannel.channel_id.in_({channel.id, top_id}),
        )
        .correlate_except(IntegrationChannel)
    )
    return or_(
        and_(
            Integration.scope == Scope.PUBLIC_CHANNELS.value, true() if top_is_public else false()
        ),
        and_(Integration.scope == Scope.OWNER_ACCESS.value, owner_can_access),
        and_(Integration.scope == Scope.CHANNEL_LIST.value, listed, owner_can_access),
    )


def handles_command(session: Session, channel: Channel, command: str) -> bool:
    """Whether an integration active on `channel` subscribed to `/command`."""
    query = (
        select(Subscription.id)
        .join(Integration, Integration.id == Subscription.integration_id)
        .where(
            Subscription.event_type == EventType.SLASH_COMMAND.value,
            Subscription.slash_command == command,
            active_on(channel),
        )
        .limit(1)
    )
    return session.scalar(query) is not None


def _matching(
    session: Session, channel: Channel, event_type: str, command: str | None
) -> Sequence[tuple[Subscription, Integration]]:
    query = (
        select(Subscription, Integration)
        .join(Integration, Integration.id == Subscription.integration_id)
        .where(Subscription.event_type == event_type, active_on(channel))
        .order_by(Subscription.created_at, Subscription.id)
    )
    if command is not None:
        query = query.where(Subscription.slash_command == command)
    return [(row[0], row[1]) for row in session.execute(query).all()]


def _user(user: User) -> dict[str, Any]:
    return {"id": user.id, "displayName": user.display_name, "email": user.email}


def _channel(channel: Channel) -> dict[str, Any]:
    return {"id": channel.id, "parentId": channel.parent_id, "title": channel.title}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def on_channel_event(session: Session, event: events.ChannelEvent) -> None:
    """Queue the event for each matching subscription of each integration active on its channel."""
    settings = session.info["buzz_settings"]
    command: tuple[str, str] | None = None
    event_type = event.type
    message = event.message
    if message is not None and message.kind == EventType.SLASH_COMMAND.value:
        command = events.command_of(message.text)
        event_type = EventType.SLASH_COMMAND.value
    matches = _matching(session, event.channel, event_type, command[0] if command else None)
    if not matches:
        return
    by_integration: dict[str, list[Subscription]] = defaultdict(list)
    integrations: dict[str, Integration] = {}
    for subscription, integration in matches:
        by_integration[integration.id].append(subscription)
        integrations[integration.id] = integration

    event_id = f"evt_{new_uuid().replace('-', '')}"
    common: dict[str, Any] = {}
    if event.author is not None and event.message is not None:
        common["author"] = _user(event.author)
        common["message"] = {"id": event.message.id, "text": event.message.text}
    if event.thread is not None:
        common["thread"] = _channel(event.thread)
    if event.users:
        common["users"] = [_user(u) for u in event.users]
    common["event"] = {"type": event_type, "id": event_id, "timestamp": _iso(event.occurred_at)}
    pending: list[outbox.Pending] = []
    for integration_id, subscriptions in by_integration.items():
        integration = integrations[integration_id]
        token = callback.issue_token(
            session,
            integration_id=integration_id,
            channel_id=event.channel.id,
            now=event.occurred_at,
        )
        payload = {
            **common,
            "owner": _user(integration.owner),
            "organization": {"domain": settings.organization_domain},
            "channel": _channel(event.channel),
            "callback": {
                "url": f"{settings.public_url}/api/buzz/v1/bots/message/{event.channel.id}",
                "headers": {callback.TOKEN_HEADER: token},
            },
        }
        if command is not None:
            payload["command"] = {"name": command[0], "arguments": command[1]}
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        pending.extend(
            outbox.Pending(
                target_id=s.target_id, event_id=event_id, event_type=event_type, payload=body
            )
            for s in subscriptions
        )
    outbox.enqueue(session, pending, now=event.occurred_at)


def install() -> None:
    """Route platform events to integrations (idempotent)."""
    events.listen(on_channel_event)
    events.set_command_router(handles_command)
