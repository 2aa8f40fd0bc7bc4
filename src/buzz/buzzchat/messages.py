"""Messages sent through the API (SPEC §3.6) and the list connectors read (SPEC §3.5)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from buzz.buzzchat import bot
from buzz.buzzchat.errors import BOT_INACTIVE
from buzz.buzzchat.models import Account, BotMessage, BotSettings, MessageKind, MessageStatus
from buzz.errors import BadRequest

__all__ = ["list_messages", "send"]


def send(
    session: Session,
    *,
    account: Account,
    settings: BotSettings,
    text: str,
    delay_ms: int,
    now: datetime,
) -> BotMessage:
    """An API message, sent now or after `delay_ms`; the bot must be active."""
    if not settings.bot_active:
        raise BadRequest(
            "The bot must be active to send messages; start it with PATCH /api/v1/settings",
            code=BOT_INACTIVE,
        )
    return bot.plan_message(
        session,
        account=account,
        kind=MessageKind.API,
        text=text,
        send_at=now + timedelta(milliseconds=delay_ms),
        now=now,
    )


def list_messages(
    session: Session,
    *,
    account_id: str,
    status: MessageStatus | None,
    since: datetime | None,
    limit: int,
    offset: int,
) -> Sequence[BotMessage]:
    """Scheduled and/or sent messages, in the order they go out (oldest first).

    `since` keeps messages sent (or, when scheduled, due) after that moment.
    """
    query = select(BotMessage).where(BotMessage.account_id == account_id)
    if status is None:
        query = query.where(BotMessage.status != MessageStatus.CANCELLED.value)
    else:
        query = query.where(BotMessage.status == status.value)
    if since is not None:
        query = query.where(
            or_(
                BotMessage.sent_at > since,
                (BotMessage.status == MessageStatus.SCHEDULED.value) & (BotMessage.send_at > since),
            )
        )
    query = query.order_by(BotMessage.send_at, BotMessage.seq)
    return session.scalars(query.limit(limit).offset(offset)).all()
