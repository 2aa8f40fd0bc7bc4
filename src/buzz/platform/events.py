"""Chat events, published inside the transaction of the change that caused them.

The platform publishes on the app's `EventBus`; listeners (the integrations fan-out) write
whatever they need with the same session, so an event and its change commit or roll back
together.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from buzz.platform.models import Channel, Message, User
from buzz.state import StateKey

__all__ = [
    "EVENT_BUS",
    "BusDep",
    "ChannelEvent",
    "CommandRouter",
    "EventBus",
    "Listener",
    "command_of",
]

_SLASH_COMMAND = re.compile(r"/([A-Za-z0-9_-]{1,32})(?:\s+(.*))?", re.DOTALL)


@dataclass(frozen=True)
class ChannelEvent:
    """Something that happened on `channel` (for THREAD_CREATED, the parent channel)."""

    type: str
    channel: Channel
    occurred_at: datetime
    author: User | None = None
    message: Message | None = None
    thread: Channel | None = None
    users: tuple[User, ...] = ()


Listener = Callable[[Session, ChannelEvent], None]
CommandRouter = Callable[[Session, Channel, str], bool]


class EventBus:
    """Where the platform publishes its events; made by the app, handed to what publishes.

    Listeners run in the publishing transaction, so an event and its change commit together.
    """

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._command_router: CommandRouter | None = None

    def listen(self, listener: Listener) -> None:
        """Call `listener` for every event published from now on, in the publishing transaction."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    @contextmanager
    def listening(self, listener: Listener) -> Iterator[None]:
        """Listen for the duration of a `with` block."""
        self.listen(listener)
        try:
            yield
        finally:
            self._listeners.remove(listener)

    def publish(self, session: Session, event: ChannelEvent) -> None:
        """Hand `event` to every listener, with the session of the change that caused it."""
        for listener in list(self._listeners):
            listener(session, event)

    def route_commands(self, router: CommandRouter) -> None:
        """Install what decides whether a `/command` on a channel has someone to handle it."""
        self._command_router = router

    def is_routed_command(self, session: Session, channel: Channel, text: str) -> bool:
        """Whether `text` is a slash command that something on `channel` handles (SPEC §2.5)."""
        command = command_of(text)
        if command is None or self._command_router is None:
            return False
        return self._command_router(session, channel, command[0])


EVENT_BUS: StateKey[EventBus] = StateKey("event_bus")


async def bus_of(request: Request) -> EventBus:  # async: no thread hop
    """The app's event bus, for a route."""
    return EVENT_BUS.of(request.app)


BusDep = Annotated[EventBus, Depends(bus_of)]


def command_of(text: str) -> tuple[str, str] | None:
    """`("close", "deal 73964")` for "/close deal 73964"; None when the text is no command."""
    match = _SLASH_COMMAND.fullmatch(text.strip())
    if match is None:
        return None
    return match.group(1).lower(), (match.group(2) or "").strip()
