"""The bot (SPEC §3.5): plans its messages and sends them when due.

Chat events arrive through the API and are handled by `buzz.buzzchat.ingest`, in the request's
transaction. Messages due later, and timers, are sent by `run_due`, which the worker calls
beside the dispatcher.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from buzz.buzzchat import counts, events
from buzz.buzzchat.models import (
    Account,
    BotMessage,
    BotSettings,
    MessageKind,
    MessageStatus,
    TimerState,
    new_id,
)

__all__ = ["SentMessage", "plan_message", "run_due"]

DUE_BATCH = 500


@dataclass(frozen=True)
class SentMessage:
    """A bot message that went out (what `buzz.testing.run_due` reports)."""

    id: str
    account_id: str
    kind: str
    text: str
    sent_at: datetime


def plan_message(
    session: Session,
    *,
    account: Account,
    kind: MessageKind,
    text: str,
    send_at: datetime,
    now: datetime,
    keyword: str | None = None,
    rule_id: str | None = None,
) -> BotMessage:
    """A bot message due at `send_at`: sent at once when already due, else by `run_due`."""
    message = BotMessage(
        id=new_id("msg", 20),
        account_id=account.id,
        kind=kind.value,
        text=text,
        status=MessageStatus.SCHEDULED.value,
        send_at=send_at,
        keyword=keyword,
        rule_id=rule_id,
        created_at=now,
    )
    session.add(message)
    if send_at <= now:
        _mark_sent(session, [(message, account)], now=now)
    return message


def _mark_sent(
    session: Session, sent: Sequence[tuple[BotMessage, Account]], *, now: datetime
) -> None:
    for message, account in sent:
        message.status = MessageStatus.SENT.value
        message.sent_at = now
        events.raise_event(
            session,
            account=account,
            event_type=events.WebhookEvent.MESSAGE_SENT,
            data={
                "messageId": message.id,
                "message": message.text,
                "kind": message.kind,
                "sentAt": events.iso(now),
                "accountId": account.id,
            },
            now=now,
        )
    counts.add_sent(session, [(m.account_id, now, m.kind, m.keyword) for m, _ in sent])
    session.flush()


# ---- bot out: what is due -----------------------------------------------------------------------


def run_due(session: Session, *, now: datetime, limit: int = DUE_BATCH) -> list[SentMessage]:
    """Post every due timer and send every due message (up to `limit` of each), once."""
    posted = _fire_timers(session, now=now, limit=limit)
    due = session.execute(
        select(BotMessage, Account)
        .join(Account, Account.id == BotMessage.account_id)
        .where(BotMessage.status == MessageStatus.SCHEDULED.value, BotMessage.send_at <= now)
        .order_by(BotMessage.send_at, BotMessage.seq)
        .limit(limit)
        .with_for_update(of=BotMessage, skip_locked=True)
    ).all()
    pairs = [(message, account) for message, account in due]
    if pairs:
        _mark_sent(session, pairs, now=now)
    sent = [*posted, *(message for message, _ in pairs)]
    return [SentMessage(m.id, m.account_id, m.kind, m.text, now) for m in sent]


def _fire_timers(session: Session, *, now: datetime, limit: int) -> list[BotMessage]:
    due = session.execute(
        select(TimerState, BotSettings, Account)
        .join(BotSettings, BotSettings.account_id == TimerState.account_id)
        .join(Account, Account.id == TimerState.account_id)
        .where(TimerState.next_at <= now)
        .order_by(TimerState.next_at)
        .limit(limit)
        .with_for_update(of=TimerState, skip_locked=True)
    ).all()
    posted: list[BotMessage] = []
    for state, settings, account in due:
        timer = next((t for t in settings.timer_messages if t["id"] == state.timer_id), None)
        if timer is None or not (
            timer["enabled"] and settings.bot_active and settings.timer_enabled
        ):
            session.delete(state)
            continue
        interval = timedelta(minutes=int(timer["intervalMinutes"]))
        posted.append(
            plan_message(
                session,
                account=account,
                kind=MessageKind.TIMER,
                text=timer["message"],
                send_at=now,
                now=now,
            )
        )
        # Keep the timer's rhythm; after an outage, post once and start again from now.
        following = state.next_at + interval
        state.next_at = following if following > now else now + interval
    session.flush()
    return posted
