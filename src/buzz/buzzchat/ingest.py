"""Chat in (SPEC §3.5): what a call of up to 100 chat events makes the bot do, in one pass.

The reactions are those of handling the events one by one, in order (a welcome at a viewer's
first event of the stream, the first enabled FAQ rule a message matches, a reply when the rule's
30 s cooldown allows, a giveaway entry at a viewer's first message with a keyword), and so are
the order of the messages and of the webhook events. Only the writes are gathered: new viewers
and new entries in one statement each (ON CONFLICT DO NOTHING, so racing calls cannot both win),
one cooldown claim per rule that matched, the bot messages, the events and the counters in one
bulk write each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, insert, update
from sqlalchemy.orm import Session

from buzz.buzzchat import counts, events
from buzz.buzzchat.giveaway import ENTRIES
from buzz.buzzchat.models import (
    Account,
    BotMessage,
    BotSettings,
    FaqCooldown,
    MessageKind,
    MessageStatus,
    Viewer,
    new_id,
)

__all__ = ["FAQ_COOLDOWN", "ChatEvent", "ingest", "matching_trigger"]

FAQ_COOLDOWN = timedelta(seconds=30)
VIEWERS: Table = Viewer.__table__  # type: ignore[assignment]
COOLDOWNS: Table = FaqCooldown.__table__  # type: ignore[assignment]
MESSAGES: Table = BotMessage.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class ChatEvent:
    type: str  # "message" | "join"
    username: str
    text: str | None
    timestamp: datetime | None


def matching_trigger(rule: dict[str, Any], text: str) -> str | None:
    """The first of the rule's triggers found anywhere in `text`, or None."""
    sensitive = bool(rule.get("caseSensitive"))
    haystack = text if sensitive else text.casefold()
    for trigger in rule["triggers"]:
        needle = trigger if sensitive else trigger.casefold()
        if needle in haystack:
            return str(trigger)
    return None


@dataclass
class _Reactions:
    """What the call makes the bot do, gathered in chat order."""

    account: Account
    now: datetime
    messages: list[dict[str, Any]] = field(default_factory=list)
    raised: list[tuple[events.WebhookEvent, dict[str, Any]]] = field(default_factory=list)

    def send(self, kind: MessageKind, text: str, *, send_at: datetime, **faq: str) -> None:
        """A bot message, sent at once when already due (else `run_due` sends it)."""
        due = send_at <= self.now
        message = {
            "id": new_id("msg", 20),
            "account_id": self.account.id,
            "kind": kind.value,
            "text": text,
            "status": (MessageStatus.SENT if due else MessageStatus.SCHEDULED).value,
            "send_at": send_at,
            "sent_at": self.now if due else None,
            "keyword": faq.get("keyword"),
            "rule_id": faq.get("rule_id"),
            "created_at": self.now,
        }
        self.messages.append(message)
        if due:
            self.raise_event(
                events.WebhookEvent.MESSAGE_SENT,
                {
                    "messageId": message["id"],
                    "message": text,
                    "kind": kind.value,
                    "sentAt": events.iso(self.now),
                    "accountId": self.account.id,
                },
            )

    def raise_event(self, event_type: events.WebhookEvent, data: dict[str, Any]) -> None:
        self.raised.append((event_type, data))

    def write(self, session: Session) -> None:
        if self.messages:
            session.execute(insert(MESSAGES), self.messages)
            counts.add_sent(
                session,
                [
                    (m["account_id"], self.now, m["kind"], m["keyword"])
                    for m in self.messages
                    if m["status"] == MessageStatus.SENT.value
                ],
            )
        events.raise_events(session, account=self.account, raised=self.raised, now=self.now)


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
    first_event: dict[str, int] = {}
    for n, event in enumerate(chat):
        first_event.setdefault(event.username.casefold(), n)
    welcomed = counts.insert_new_many(
        session,
        VIEWERS,
        [
            {
                "account_id": account.id,
                "bot_session": settings.bot_session,
                "username_key": key,
                "first_seen_at": now,
            }
            for key in first_event
        ],
        keys=["account_id", "bot_session", "username_key"],
        returning="username_key",
    )
    answered = _faq_matches(settings, chat)
    replying = _claim_cooldowns(session, account=account, answered=answered, now=now)
    entering, entered = _giveaway_entries(
        session, account=account, settings=settings, chat=chat, now=now
    )

    reactions = _Reactions(account=account, now=now)
    for n, event in enumerate(chat):
        key = event.username.casefold()
        if first_event[key] == n and key in welcomed and settings.welcome_enabled:
            reactions.send(
                MessageKind.WELCOME,
                settings.welcome_message.replace("{username}", event.username),
                send_at=now + timedelta(milliseconds=settings.welcome_delay),
            )
        if n in answered:
            rule, keyword = answered[n]
            reactions.raise_event(
                events.WebhookEvent.MESSAGE_RECEIVED,
                {
                    "username": event.username,
                    "text": event.text,
                    "keyword": keyword,
                    "ruleId": rule["id"],
                    "accountId": account.id,
                },
            )
            if replying.get(rule["id"]) == n:
                reactions.send(
                    MessageKind.FAQ, rule["reply"], send_at=now, keyword=keyword, rule_id=rule["id"]
                )
        if entering.get(key) == n and key in entered:
            reactions.raise_event(
                events.WebhookEvent.GIVEAWAY_ENTRY,
                {
                    "username": event.username,
                    "entryTime": events.iso(event.timestamp or now),
                    "accountId": account.id,
                },
            )
    reactions.write(session)
    session.flush()


def _faq_matches(
    settings: BotSettings, chat: Sequence[ChatEvent]
) -> dict[int, tuple[dict[str, Any], str]]:
    """Each message's first enabled rule that matches, with the trigger found, by position."""
    if not settings.faq_enabled:
        return {}
    rules = [rule for rule in settings.faq_rules if rule["enabled"]]
    answered: dict[int, tuple[dict[str, Any], str]] = {}
    for n, event in enumerate(chat):
        if event.type != "message" or not event.text:
            continue
        for rule in rules:
            keyword = matching_trigger(rule, event.text)
            if keyword is not None:
                answered[n] = (rule, keyword)
                break
    return answered


def _claim_cooldowns(
    session: Session,
    *,
    account: Account,
    answered: dict[int, tuple[dict[str, Any], str]],
    now: datetime,
) -> dict[str, int]:
    """The rules that may reply now, each at its first match: one claim per rule, as one by one
    (once a rule has replied, its later matches in the call are within its cooldown)."""
    first_match: dict[str, int] = {}
    for n, (rule, _) in sorted(answered.items()):
        first_match.setdefault(rule["id"], n)
    return {
        rule_id: n
        for rule_id, n in first_match.items()
        if _claim_cooldown(session, account_id=account.id, rule_id=rule_id, now=now)
    }


def _claim_cooldown(session: Session, *, account_id: str, rule_id: str, now: datetime) -> bool:
    """Whether the rule may reply now; if so, its 30 s start now (atomically: one winner)."""
    c = COOLDOWNS.c  # Core: no ORM bookkeeping for a one-row conditional update
    renewed = session.execute(
        update(COOLDOWNS)
        .where(
            c.account_id == account_id,
            c.rule_id == rule_id,
            c.replied_at <= now - FAQ_COOLDOWN,
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


def _giveaway_entries(
    session: Session,
    *,
    account: Account,
    settings: BotSettings,
    chat: Sequence[ChatEvent],
    now: datetime,
) -> tuple[dict[str, int], set[str]]:
    """Each viewer's first message with a giveaway keyword (by position), and the viewers whose
    entry this call made (one per username per round)."""
    if not settings.giveaway_enabled:
        return {}, set()
    keywords = [keyword.casefold() for keyword in settings.giveaway_keywords]
    entering: dict[str, int] = {}
    for n, event in enumerate(chat):
        if event.type != "message" or not event.text:
            continue
        text = event.text.casefold()
        if any(keyword in text for keyword in keywords):
            entering.setdefault(event.username.casefold(), n)
    entered = counts.insert_new_many(
        session,
        ENTRIES,
        [
            {
                "account_id": account.id,
                "round": settings.giveaway_round,
                "username": chat[n].username,
                "username_key": key,
                "entered_at": chat[n].timestamp or now,
            }
            for key, n in entering.items()
        ],
        keys=["account_id", "round", "username_key"],
        returning="username_key",
    )
    return entering, entered
