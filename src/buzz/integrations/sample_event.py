"""A subscription's test event (SPEC §2.4): the seed's payload of its type, with sample data,
`event.test: true` and a callback that works, POSTed once from the request.

The sample happens on the oldest channel the integration is active on now, so its callback
token posts there as a real event's would; with no such channel there is no callback to give,
and the test is refused (409) saying why.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from buzz.db import new_uuid
from buzz.delivery import outbox
from buzz.errors import Conflict
from buzz.integrations import service
from buzz.integrations.active import first_active_channel
from buzz.integrations.callback import service as callback
from buzz.integrations.events import channel_json, iso, user_json
from buzz.integrations.models import EventType
from buzz.platform.models import User
from buzz.settings import Settings

__all__ = ["SAMPLE_TEXT", "test_event"]

SAMPLE_TEXT = "This is a test event from Buzz"


def test_event(
    session: Session,
    *,
    user: User,
    integration_id: str,
    subscription_id: str,
    settings: Settings,
    now: datetime,
    timestamp: int,
) -> outbox.OneOff:
    """The signed test event of one of `user`'s subscriptions, ready to send once."""
    integration = service.get_owned_integration(session, user=user, integration_id=integration_id)
    subscription = service.get_subscription(
        session, integration=integration, subscription_id=subscription_id
    )
    channel = first_active_channel(session, integration)
    if channel is None:
        raise Conflict(
            f"Integration {integration.id} is active on no channel yet, so a test event would "
            "have no callback to give: create or join a channel it covers, then test again"
        )
    event_type = EventType(subscription.event_type)
    event_id = f"evt_{new_uuid().replace('-', '')}"
    owner = user_json(integration.owner)
    payload: dict[str, Any] = {}
    if event_type in (EventType.MESSAGE_POSTED, EventType.SLASH_COMMAND):
        text = SAMPLE_TEXT
        if event_type is EventType.SLASH_COMMAND:
            text = f"/{subscription.slash_command} test"
        payload["author"] = owner
        payload["message"] = {"id": f"test-{new_uuid()}", "text": text}
    elif event_type is EventType.THREAD_CREATED:
        payload["thread"] = {"id": f"test-{new_uuid()}", "parentId": channel.id, "title": "Test"}
    else:
        payload["users"] = [owner]
    payload["event"] = {
        "type": event_type.value,
        "id": event_id,
        "timestamp": iso(now),
        "test": True,
    }
    token = callback.issue_token(
        session, integration_id=integration.id, channel_id=channel.id, now=now
    )
    payload |= {
        "owner": owner,
        "organization": {"domain": settings.organization_domain},
        "channel": channel_json(channel),
        "callback": {
            "url": f"{settings.public_url}/api/buzz/v1/bots/message/{channel.id}",
            "headers": {callback.TOKEN_HEADER: token},
        },
    }
    if event_type is EventType.SLASH_COMMAND:
        payload["command"] = {"name": subscription.slash_command, "arguments": "test"}
    return outbox.one_off(
        session,
        target_id=subscription.target_id,
        event_id=event_id,
        event_type=event_type.value,
        payload=json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode(),
        now=now,
        timestamp=timestamp,
    )
