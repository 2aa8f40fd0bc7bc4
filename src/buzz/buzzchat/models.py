"""Tables of BuzzChat v1: subscribers, keys, accounts, bot settings and state, webhooks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from buzz.db import Base, BigIntPK, JSONType, UTCDateTime
from buzz.security import random_base62

__all__ = [
    "Account",
    "ApiKey",
    "BotMessage",
    "BotSettings",
    "DailyFaqCount",
    "DailyMessageCount",
    "FaqCooldown",
    "GiveawayEntry",
    "HourlyFaqCount",
    "HourlyMessageCount",
    "IdempotencyRecord",
    "MessageKind",
    "MessageStatus",
    "Subscriber",
    "Tier",
    "TimerState",
    "Viewer",
    "Webhook",
    "new_id",
]


def new_id(prefix: str, length: int = 20) -> str:
    """A public id such as `acc_4fG…`: a type prefix and random base62."""
    return f"{prefix}_{random_base62(length)}"


class Tier(StrEnum):
    FREE = "free"
    PRO = "pro"
    BUSINESS = "business"


class MessageKind(StrEnum):
    WELCOME = "welcome"
    FAQ = "faq"
    TIMER = "timer"
    API = "api"


class MessageStatus(StrEnum):
    SCHEDULED = "scheduled"
    SENT = "sent"
    CANCELLED = "cancelled"


class Subscriber(Base):
    """A BuzzChat customer: owns keys, accounts and webhooks."""

    __tablename__ = "bz_subscribers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    tier: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiKey(Base):
    """An API key: only its SHA-256 is kept; revoked keys stay listed nowhere and never match."""

    __tablename__ = "bz_api_keys"

    # Creation order, for listings (ids are random).
    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    subscriber_id: Mapped[str] = mapped_column(
        ForeignKey("bz_subscribers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Account(Base):
    """One of a subscriber's shops or streams; exactly one is active."""

    __tablename__ = "bz_accounts"

    # Creation order, for listings (ids are random).
    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    subscriber_id: Mapped[str] = mapped_column(
        ForeignKey("bz_subscribers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(50))
    is_active: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BotSettings(Base):
    """The bot of one account: its settings (SPEC §3.4) and the counters of its state."""

    __tablename__ = "bz_bot_settings"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("bz_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    bot_active: Mapped[bool] = mapped_column(default=False)
    welcome_enabled: Mapped[bool] = mapped_column(default=True)
    welcome_message: Mapped[str] = mapped_column(Text)
    welcome_delay: Mapped[int] = mapped_column(default=5000)
    timer_enabled: Mapped[bool] = mapped_column(default=True)
    timer_messages: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    faq_enabled: Mapped[bool] = mapped_column(default=True)
    faq_rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    giveaway_enabled: Mapped[bool] = mapped_column(default=False)
    giveaway_keywords: Mapped[list[str]] = mapped_column(JSONType)
    # Bumped each time the bot starts: viewers are welcomed once per session.
    bot_session: Mapped[int] = mapped_column(default=0)
    # Bumped when entries are cleared: entries and winners belong to one round.
    giveaway_round: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Viewer(Base):
    """A username seen in one bot session (so it is welcomed once)."""

    __tablename__ = "bz_viewers"
    __table_args__ = (UniqueConstraint("account_id", "bot_session", "username_key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("bz_accounts.id", ondelete="CASCADE"))
    bot_session: Mapped[int]
    username_key: Mapped[str] = mapped_column(String(100))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BotMessage(Base):
    """A message the bot sends (or will send) into the live chat."""

    __tablename__ = "bz_bot_messages"
    __table_args__ = (
        Index("ix_bz_bot_messages_due", "status", "send_at"),
        Index("ix_bz_bot_messages_account_sent", "account_id", "sent_at"),
        Index("ix_bz_bot_messages_account_created", "account_id", "created_at"),
    )

    # Creation order: messages due at the same moment go out (and are listed) in this order.
    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("bz_accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    send_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # FAQ replies: the trigger that matched and its rule, for the trigger analytics.
    keyword: Mapped[str | None] = mapped_column(String(200))
    rule_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HourlyMessageCount(Base):
    """Sent bot messages per account, hour and kind: analytics reads these, not every row."""

    __tablename__ = "bz_hourly_message_counts"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("bz_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


class HourlyFaqCount(Base):
    """FAQ replies sent per account, hour and trigger keyword."""

    __tablename__ = "bz_hourly_faq_counts"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("bz_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    keyword: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


class DailyMessageCount(Base):
    """Sent bot messages per account, UTC day and kind (long periods read these)."""

    __tablename__ = "bz_daily_message_counts"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("bz_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


class DailyFaqCount(Base):
    """FAQ replies sent per account, UTC day and trigger keyword."""

    __tablename__ = "bz_daily_faq_counts"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("bz_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    keyword: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


class FaqCooldown(Base):
    """When an FAQ rule last replied (one reply per rule per 30 s)."""

    __tablename__ = "bz_faq_cooldowns"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("bz_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    rule_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    replied_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TimerState(Base):
    """When an enabled timer of an active bot posts next."""

    __tablename__ = "bz_timer_states"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("bz_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    timer_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class GiveawayEntry(Base):
    """One username's entry in one giveaway round."""

    __tablename__ = "bz_giveaway_entries"
    __table_args__ = (UniqueConstraint("account_id", "round", "username_key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("bz_accounts.id", ondelete="CASCADE"))
    round: Mapped[int]
    username: Mapped[str] = mapped_column(String(100))
    username_key: Mapped[str] = mapped_column(String(100))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    won_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class IdempotencyRecord(Base):
    """The first result of a call made with an `Idempotency-Key`, replayed for 24 h."""

    __tablename__ = "bz_idempotency"
    __table_args__ = (UniqueConstraint("subscriber_id", "key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    subscriber_id: Mapped[str] = mapped_column(ForeignKey("bz_subscribers.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Webhook(Base):
    """A subscriber's webhook; where and how it is delivered lives on its delivery target."""

    __tablename__ = "bz_webhooks"

    # Creation order, for listings (ids are random).
    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    subscriber_id: Mapped[str] = mapped_column(
        ForeignKey("bz_subscribers.id", ondelete="CASCADE"), index=True
    )
    target_id: Mapped[str] = mapped_column(
        ForeignKey("delivery_targets.id", ondelete="CASCADE"), unique=True
    )
    events: Mapped[list[str]] = mapped_column(JSONType)
    description: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_triggered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
