"""Chat events to integrations: who receives what, with which payload (SPEC §2.5).

`FanOut` listens to the platform's event bus and, in the same transaction, writes one delivery
per matching subscription of every integration active on the event's channel.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from buzz.db import new_uuid
from buzz.delivery import outbox
from buzz.integrations.active import ACTIVE_ON_BOUND, active_params, handles_command
from buzz.integrations.callback import service as callback
from buzz.integrations.models import EventType, Integration, Subscription
from buzz.platform import events
from buzz.platform.models import Channel, User
from buzz.settings import Settings

__all__ = ["FanOut", "channel_json", "install", "iso", "user_json"]


@dataclass(frozen=True, slots=True)
class _Match:
    """What the fan-out needs of one matching subscription: its target and its integration's
    owner, read as columns (no ORM objects, no relationship loads)."""

    target_id: str
    integration_id: str
    owner: dict[str, Any]


def _matching_statement(*, with_command: bool) -> Select[*tuple[Any, ...]]:
    query = (
        select(
            Subscription.target_id,
            Integration.id,
            User.id,
            User.display_name,
            User.email,
        )
        .join(Integration, Integration.id == Subscription.integration_id)
        .join(User, User.id == Integration.owner_id)
        .where(Subscription.event_type == bindparam("event_type"), ACTIVE_ON_BOUND)
        .order_by(Subscription.created_at, Subscription.id)
    )
    if with_command:
        query = query.where(Subscription.slash_command == bindparam("command"))
    return query


# Built once: a statement object keeps its cache key, so each event only binds its values.
_MATCHING = _matching_statement(with_command=False)
_MATCHING_COMMAND = _matching_statement(with_command=True)


def _matching(
    session: Session, channel: Channel, event_type: str, command: str | None
) -> list[_Match]:
    params: dict[str, object] = {"event_type": event_type, **active_params(channel)}
    if command is not None:
        params["command"] = command
    rows = session.execute(_MATCHING if command is None else _MATCHING_COMMAND, params)
    return [
        _Match(
            target_id=target_id,
            integration_id=integration_id,
            owner={"id": owner_id, "displayName": name, "email": email},
        )
        for target_id, integration_id, owner_id, name, email in rows
    ]


def user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "displayName": user.display_name, "email": user.email}


def channel_json(channel: Channel) -> dict[str, Any]:
    return {"id": channel.id, "parentId": channel.parent_id, "title": channel.title}


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FanOut:
    """The listener that turns platform events into deliveries, with the settings it needs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __call__(self, session: Session, event: events.ChannelEvent) -> None:
        _fan_out(session, event, settings=self.settings)


def _fan_out(session: Session, event: events.ChannelEvent, *, settings: Settings) -> None:
    """Queue the event for each matching subscription of each integration active on its channel."""
    command: tuple[str, str] | None = None
    event_type = event.type
    message = event.message
    if message is not None and message.kind == EventType.SLASH_COMMAND.value:
        command = events.command_of(message.text)
        event_type = EventType.SLASH_COMMAND.value
    matches = _matching(session, event.channel, event_type, command[0] if command else None)
    if not matches:
        return
    by_integration: dict[str, list[_Match]] = defaultdict(list)
    for match in matches:
        by_integration[match.integration_id].append(match)

    event_id = f"evt_{new_uuid().replace('-', '')}"
    common: dict[str, Any] = {}
    if event.author is not None and event.message is not None:
        common["author"] = user_json(event.author)
        common["message"] = {"id": event.message.id, "text": event.message.text}
    if event.thread is not None:
        common["thread"] = channel_json(event.thread)
    if event.users:
        common["users"] = [user_json(u) for u in event.users]
    common["event"] = {"type": event_type, "id": event_id, "timestamp": iso(event.occurred_at)}
    tokens = callback.issue_tokens(
        session,
        integration_ids=list(by_integration),
        channel_id=event.channel.id,
        now=event.occurred_at,
    )
    organization = {"domain": settings.organization_domain}
    channel = channel_json(event.channel)
    callback_url = f"{settings.public_url}/api/buzz/v1/bots/message/{event.channel.id}"
    pending: list[outbox.Pending] = []
    for token, subscriptions in zip(tokens, by_integration.values(), strict=True):
        payload = {
            **common,
            "owner": subscriptions[0].owner,
            "organization": organization,
            "channel": channel,
            "callback": {"url": callback_url, "headers": {callback.TOKEN_HEADER: token}},
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


def install(bus: events.EventBus, settings: Settings) -> None:
    """Route the bus's events to integrations, and its slash commands to their subscriptions."""
    bus.listen(FanOut(settings))
    bus.route_commands(handles_command)
