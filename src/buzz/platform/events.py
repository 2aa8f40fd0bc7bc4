"""Chat events, published inside the transaction of the change that caused them.

The platform publishes; listeners (the integrations fan-out) write whatever they need with the
same session, so an event and its change commit or roll back together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from buzz.platform.models import Channel, Message, User

__all__ = ["ChannelEvent", "Listener", "listen", "listening", "publish"]


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
