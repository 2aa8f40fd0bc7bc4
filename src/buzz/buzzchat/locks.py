"""One lock per subscriber, for the rules that span its rows (SPEC §3.1, §3.3, §3.9).

"At most 5 live keys", "at most 10 accounts, exactly one active", "at most 10 webhooks": each is a
read (count, or who is active) followed by a write, so two requests at once could both pass the
read. Taking the subscriber's row `FOR UPDATE` first makes such changes of one subscriber take
turns on PostgreSQL; on SQLite every write transaction already takes the database's one write
lock when it begins. Other subscribers are not held up.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from buzz.buzzchat.models import Subscriber

__all__ = ["lock_subscriber"]


def lock_subscriber(session: Session, subscriber_id: str) -> None:
    """Hold the subscriber's row until this transaction ends."""
    session.execute(select(Subscriber.id).where(Subscriber.id == subscriber_id).with_for_update())
