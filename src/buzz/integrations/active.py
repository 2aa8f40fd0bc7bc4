"""Which integrations are active on a channel, decided at the moment of asking (SPEC §2.3)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.orm import Session

from buzz.integrations.models import EventType, Integration, IntegrationChannel, Scope, Subscription
from buzz.platform.models import Channel, ChannelMember, Visibility

__all__ = ["active_on", "handles_command"]


def active_on(channel: Channel) -> ColumnElement[bool]:
    """SQL: the integration is active on `channel`, decided now (SPEC §2.3 "Active channels").

    A thread's access is its parent's, and an integration active on a channel is active on its
    threads, so every rule is judged on the top-level channel `channel.parent_id`.
    """
    top_id = channel.parent_id
    top_is_public = channel.visibility == Visibility.PUBLIC.value
    owner_can_access = or_(
        true() if top_is_public else false(),
        exists()
        .where(ChannelMember.channel_id == top_id, ChannelMember.user_id == Integration.owner_id)
        .correlate_except(ChannelMember),
    )
    listed = (
        exists()
        .where(
            IntegrationChannel.integration_id == Integration.id,
            IntegrationChannel.channel_id.in_({channel.id, top_id}),
        )
        .correlate_except(IntegrationChannel)
    )
    return or_(
        and_(
            Integration.scope == Scope.PUBLIC_CHANNELS.value, true() if top_is_public else false()
        ),
        and_(Integration.scope == Scope.OWNER_ACCESS.value, owner_can_access),
        and_(Integration.scope == Scope.CHANNEL_LIST.value, listed, owner_can_access),
    )


def handles_command(session: Session, channel: Channel, command: str) -> bool:
    """Whether an integration active on `channel` subscribed to `/command`."""
    query = (
        select(Subscription.id)
        .join(Integration, Integration.id == Subscription.integration_id)
        .where(
            Subscription.event_type == EventType.SLASH_COMMAND.value,
            Subscription.slash_command == command,
            active_on(channel),
        )
        .limit(1)
    )
    return session.scalar(query) is not None
