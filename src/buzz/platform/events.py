"""Chat events, published inside the transaction of the change that caused them.

The platform publishes; listeners (the integrations fan-out) write whatever they need with the
same session, so an event and its change commit or roll back together.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from buzz.platform.models import Channel, Message, User

__all__ = [
    "ChannelEvent",
    "CommandRouter",
    "Listener",
    "command_of",
    "is_routed_command",
    "listen",
    "listening",
    "publish",
    "set_command_router",
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
_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    """Call `listener` for every event published from now on, in the publishing transaction."""
    if listener not in _listeners:
        _listeners.append(listener)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Listen for the duration of a `with` block."""
    listen(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def publish(session: Session, event: ChannelEvent) -> None:
    """Hand `event` to every listener, with the session of the change that caused it."""
    for listener in list(_listeners):
        listener(session, event)


def command_of(text: str) -> tuple[str, str] | None:
    """`("close", "deal 73964")` for "/close deal 73964"; None when the text is no command."""
    match = _SLASH_COMMAND.fullmatch(text.strip())
    if match is None:
        return None
    return match.group(1).lower(), (match.group(2) or "").strip()


CommandRouter = Callable[[Session, Channel, str], bool]
_command_router: list[CommandRouter] = []


def set_command_router(router: CommandRouter) -> None:
    """Install what decides whether a `/command` on a channel has someone to handle it."""
    _command_router[:] = [router]


def is_routed_command(session: Session, channel: Channel, text: str) -> bool:
    """Whether `text` is a slash command that something on `channel` handles (SPEC §2.5)."""
    command = command_of(text)
    if command is None or not _command_router:
        return False
    return _command_router[0](session, channel, command[0])
