"""Tables of Buzz integrations and their event subscriptions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from buzz.db import Base, JSONType, UTCDateTime, new_uuid
from buzz.platform.models import User

__all__ = [
    "CallbackToken",
    "EventType",
    "Integration",
    "IntegrationChannel",
    "Scope",
    "Subscription",
]


class Scope(StrEnum):
    PUBLIC_CHANNELS = "PUBLIC_CHANNELS"
    OWNER_ACCESS = "OWNER_ACCESS"
    CHANNEL_LIST = "CHANNEL_LIST"


class EventType(StrEnum):
    MESSAGE_POSTED = "MESSAGE_POSTED"
    SLASH_COMMAND = "SLASH_COMMAND"
    THREAD_CREATED = "THREAD_CREATED"
    USERS_JOINED_CHANNEL = "USERS_JOINED_CHANNEL"
    USERS_LEFT_CHANNEL = "USERS_LEFT_CHANNEL"


class Integration(Base):
    __tablename__ = "integrations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(32), index=True)
    # [{"name": ..., "value": ...}] in the order given.
    headers: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    # Standard Webhooks secret (whsec_…): kept as is, since deliveries are signed with it.
    signing_secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    owner: Mapped[User] = relationship(lazy="joined")
    channels: Mapped[list[IntegrationChannel]] = relationship(
        order_by="IntegrationChannel.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )

    @property
    def channel_ids(self) -> list[str]:
        return [link.channel_id for link in self.channels]


class IntegrationChannel(Base):
    """A channel of a `CHANNEL_LIST` integration."""

    __tablename__ = "integration_channels"

    integration_id: Mapped[str] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE"), primary_key=True
    )
    channel_id: Mapped[str] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int]


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("integration_id", "event_type", "url", "slash_command"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    integration_id: Mapped[str] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE"), index=True
    )
    event_type: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(2048))
    # "" rather than NULL for every other event type, so the unique constraint holds.
    slash_command: Mapped[str] = mapped_column(String(32), default="")
    # Where the delivery engine sends this subscription's events; deleting it deletes both.
    target_id: Mapped[str] = mapped_column(
        ForeignKey("delivery_targets.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CallbackToken(Base):
    """A bot token of one event: one integration may post to one channel until it expires."""

    __tablename__ = "callback_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    integration_id: Mapped[str] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
