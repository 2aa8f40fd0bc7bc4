"""The bot (SPEC §3.5): reads the live chat, plans its messages, and sends them when due.

Chat events arrive through the API; what they cause (welcomes, FAQ replies, giveaway entries,
events) is written in the request's transaction. Messages due later, and timers, are sent by
`run_due`, which the worker calls beside the dispatcher.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from buzz.buzzchat import counts, events, giveaway
from buzz.buzzchat.models import (
    Account,
    BotMessage,
    BotSettings,
    FaqCooldown,
    MessageKind,
    MessageStatus,
    TimerState,
    Viewer,
    new_id,
)

__all__ = [
    "FAQ_COOLDOWN",
    "ChatEvent",
    "SentMessage",
    "ingest",
    "plan_message",
    "run_due",
]

FAQ_COOLDOWN = timedelta(seconds=30)
VIEWERS: Table = Viewer.__table__  # type: ignore[assignment]
COOLDOWNS: Table = FaqCooldown.__table__  # type: ignore[assignment]
DUE_BATCH = 500


@dataclass(frozen=True)
class ChatEvent:
    type: str  # "message" | "join"
    username: str
    text: str | None
    timestamp: datetime | None


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


# ---- chat in ----------------------------------------------------------------------------------


def ingest(
    session: Session,
    *,
    account: Account,
    settings: BotSettings,
    chat: Sequence[ChatEvent],
    now: datetime,
) -> None:
    """Let the bot react to reported chat events (nothing happens while it is stopped)."""
    if not settings.bot_active:
        return
    for event in chat:
        _welcome(session, account=account, settings=settings, username=event.username, now=now)
        if event.type == "message" and event.text:
            _answer_faq(session, account=account, settings=settings, event=event, now=now)
            _enter_giveaway(session, account=account, settings=settings, event=event, now=now)


def _welcome(
    session: Session, *, account: Account, settings: BotSettings, username: str, now: datetime
) -> None:
    first_time = counts.insert_new(
        session,
        VIEWERS,
        {
            "account_id": account.id,
            "bot_session": settings.bot_session,
            "username_key": username.casefold(),
            "first_seen_at": now,
        },
        keys=["account_id", "bot_session", "username_key"],
    )
    if not first_time:
        return
    if settings.welcome_enabled:
        plan_message(
            session,
            account=account,
            kind=MessageKind.WELCOME,
            text=settings.welcome_message.replace("{username}", username),
            send_at=now + timedelta(milliseconds=settings.welcome_delay),
            now=now,
        )


def matching_trigger(rule: dict[str, Any], text: str) -> str | None:
    """The first of the rule's triggers found anywhere in `text`, or None."""
    sensitive = bool(rule.get("caseSensitive"))
    haystack = text if sensitive else text.casefold()
    for trigger in rule["triggers"]:
        needle = trigger if sensitive else trigger.casefold()
        if needle in haystack:
            return str(trigger)
    return None


def _answer_faq(
    session: Session, *, account: Account, settings: BotSettings, event: ChatEvent, now: datetime
) -> None:
    if not settings.faq_enabled or event.text is None:
        return
    for rule in settings.faq_rules:
        if not rule["enabled"]:
            continue
        keyword = matching_trigger(rule, event.text)
        if keyword is None:
            continue
        events.raise_event(
            session,
            account=account,
            event_type=events.WebhookEvent.MESSAGE_RECEIVED,
            data={
                "username": event.username,
                "text": event.text,
                "keyword": keyword,
                "ruleId": rule["id"],
                "accountId": account.id,
            },
            now=now,
        )
        if not _claim_cooldown(session, account_id=account.id, rule_id=rule["id"], now=now):
            return
        plan_message(
            session,
            account=account,
            kind=MessageKind.FAQ,
            text=rule["reply"],
            send_at=now,
            now=now,
            keyword=keyword,
            rule_id=rule["id"],
        )
        return


def _claim_cooldown(session: Session, *, account_id: str, rule_id: str, now: datetime) -> bool:
    """Whether the rule may reply now; if so, its 30 s start now (atomically: one winner)."""
    renewed = session.execute(
        update(FaqCooldown)
        .where(
            FaqCooldown.account_id == account_id,
            FaqCooldown.rule_id == rule_id,
            FaqCooldown.replied_at <= now - FAQ_COOLDOWN,
        )
        .values(replied_at=now)
    )
    if getattr(renewed, "rowcount", 0):
        return True
    return counts.insert_new(
        session,
        COOLDOWNS,
        {"account_id": account_id, "rule_id": rule_id, "replied_at": now},
        keys=["account_id", "rule_id"],
    )


def _enter_giveaway(
    session: Session, *, account: Account, settings: BotSettings, event: ChatEvent, now: datetime
) -> None:
    if not settings.giveaway_enabled or event.text is None:
        return
    text = event.text.casefold()
    if any(keyword.casefold() in text for keyword in settings.giveaway_keywords):
        giveaway.enter(
            session,
            account=account,
            settings=settings,
            username=event.username,
            entered_at=event.timestamp or now,
            now=now,
        )


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
