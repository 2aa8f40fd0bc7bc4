"""The event catalogue: each event type a target can receive, with an example of its body.

The examples have the shape of what the engine sends, key for key (tests/portal checks them
against real deliveries); ids, names and times are made up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["Example", "examples"]


@dataclass(frozen=True)
class Example:
    event_type: str
    summary: str
    body: str  # pretty-printed JSON


_AT = "2026-12-01T09:30:00.000Z"
_ALICE = {"id": 1, "displayName": "Alice", "email": "alice@example.com"}
_CHANNEL = {"id": "c0ffee00-0000-4000-8000-000000000001", "parentId": None, "title": "general"}


def _buzz(event_type: str, **fields: Any) -> dict[str, Any]:
    return {
        **fields,
        "event": {
            "type": event_type,
            "id": "evt_3f1c2b9a8d7e4f60a1b2c3d4e5f60718",
            "timestamp": _AT,
        },
        "owner": _ALICE,
        "organization": {"domain": "buzz.example.com"},
        "channel": _CHANNEL,
        "callback": {
            "url": f"https://buzz.example.com/api/buzz/v1/bots/message/{_CHANNEL['id']}",
            "headers": {"x-buzz-bot-token": "a one-hour token for this channel"},
        },
    }


_MESSAGE = {"id": "3b6f0c1e-5d7a-4e7b-9a51-2f0d6c8e9a10", "text": "Hello, team!"}

BUZZ = [
    (
        "MESSAGE_POSTED",
        "A message was posted in a channel the integration is active on.",
        _buzz("MESSAGE_POSTED", author=_ALICE, message=_MESSAGE),
    ),
    (
        "SLASH_COMMAND",
        "A message began with the subscription's slash command.",
        {
            **_buzz("SLASH_COMMAND", author=_ALICE, message={**_MESSAGE, "text": "/deal 20% off"}),
            "command": {"name": "deal", "arguments": "20% off"},
        },
    ),
    (
        "THREAD_CREATED",
        "A thread was started in the channel.",
        _buzz(
            "THREAD_CREATED",
            thread={
                "id": "7d1e0f2a-4c3b-4a5d-8e6f-9a0b1c2d3e4f",
                "parentId": _CHANNEL["id"],
                "title": "Launch plan",
            },
        ),
    ),
    (
        "USERS_JOINED_CHANNEL",
        "People joined the channel.",
        _buzz("USERS_JOINED_CHANNEL", users=[_ALICE]),
    ),
    ("USERS_LEFT_CHANNEL", "People left the channel.", _buzz("USERS_LEFT_CHANNEL", users=[_ALICE])),
]


def _buzzchat(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "evt_8HkQ2mXw9TzL4pRb7YcN1sVd",
        "type": event_type,
        "timestamp": "2026-12-01T09:30:00Z",
        "data": {**data, "accountId": "acc_5Jf8Kq2Lm9Np3Rs6"},
    }


_SENT = {
    "messageId": "msg_2Wq8Er5Ty1Ui7Op3",
    "message": "Welcome to the stream!",
    "kind": "welcome",
    "sentAt": "2026-12-01T09:30:00Z",
}

BUZZCHAT = [
    (
        "giveaway.entry",
        "Someone entered the giveaway (a keyword in chat, or added by hand).",
        _buzzchat("giveaway.entry", {"username": "amy", "entryTime": "2026-12-01T09:30:00Z"}),
    ),
    (
        "giveaway.winner",
        "Winners were picked.",
        _buzzchat(
            "giveaway.winner", {"winners": ["amy", "ben"], "timestamp": "2026-12-01T09:30:00Z"}
        ),
    ),
    (
        "message.sent",
        "The bot sent a message (welcome, FAQ answer, timer, giveaway, your own).",
        _buzzchat("message.sent", _SENT),
    ),
    (
        "message.received",
        "A chat message matched one of the bot's FAQ rules.",
        _buzzchat(
            "message.received",
            {"username": "amy", "text": "what's the price?", "keyword": "price", "ruleId": "faq_1"},
        ),
    ),
    (
        "bot.started",
        "The bot was turned on.",
        _buzzchat("bot.started", {"timestamp": "2026-12-01T09:30:00Z"}),
    ),
    (
        "bot.stopped",
        "The bot was turned off.",
        _buzzchat("bot.stopped", {"timestamp": "2026-12-01T09:30:00Z"}),
    ),
]


def examples(family: str) -> list[Example]:
    """The family's event types, in the order it lists them, each with its example body."""
    found = BUZZ if family == "buzz" else BUZZCHAT
    return [Example(t, summary, json.dumps(body, indent=2)) for t, summary, body in found]
