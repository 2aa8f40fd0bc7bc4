"""Which integrations are active on a channel, decided at the moment of asking (SPEC §2.3)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    ColumnElement,
    String,
    and_,
    bindparam,
    exists,
    or_,
    select,
)
from sqlalchemy.orm import Session

from buzz.integrations.models import EventType, Integration, IntegrationChannel, Scope, Subscription
from buzz.platform.models import Channel, ChannelMember, Visibility

__all__ = ["ACTIVE_ON_BOUND", "active_params", "first_active_channel", "handles_command"]


def active_params(channel: Channel) -> dict[str, object]:
    """The parameters of ACTIVE_ON_BOUND for `channel`."""
    return {
        "active_top_id": channel.parent_id,
        "active_channel_id": channel.id,
        "active_top_is_public": channel.visibility == Visibility.PUBLIC.value,
    }


def _active_on_bound() -> ColumnElement[bool]:
    top_id = bindparam("active_top_id", type_=String())
    channel_id = bindparam("active_channel_id", type_=String())
    top_is_public = bindparam("active_top_is_public", type_=Boolean())
    owner_can_access = or_(
        top_is_public,
        exists()
        .where(ChannelMember.channel_id == top_id, ChannelMember.user_id == Integration.owner_id)
        .correlate_except(ChannelMember),
    )
    listed = (
        exists()
        .where(
            IntegrationChannel.integration_id == Integration.id,
            or_(
                IntegrationChannel.channel_id == channel_id, IntegrationChannel.channel_id == top_id
            ),
        )
        .correlate_except(IntegrationChannel)
    )
    return or_(
        and_(Integration.scope == Scope.PUBLIC_CHANNELS.value, top_is_public),
        and_(Integration.scope == Scope.OWNER_ACCESS.value, owner_can_access),
        and_(Integration.scope == Scope.CHANNEL_LIST.value, listed, owner_can_access),
    )


# SQL: the integration is active on the channel of `active_params`, decided now (SPEC §2.3
# "Active channels"). A thread's access is its parent's, and an integration active on a channel
# is active on its threads, so every rule is judged on the top-level channel. Statements that
# use it are built once (their cache key is kept), and each call binds only the channel.
ACTIVE_ON_BOUND = _active_on_bound()


_HANDLES_COMMAND = (
    select(Subscription.id)
    .join(Integration, Integration.id == Subscription.integration_id)
    .where(
        Subscription.event_type == EventType.SLASH_COMMAND.value,
        Subscription.slash_command == bindparam("command"),
        ACTIVE_ON_BOUND,
    )
    .limit(1)
)


def handles_command(session: Session, channel: Channel, command: str) -> bool:
    """Whether an integration active on `channel` subscribed to `/command`."""
    found = session.scalar(_HANDLES_COMMAND, {"command": command, **active_params(channel)})
    return found is not None


def first_active_channel(session: Session, integration: Integration) -> Channel | None:
    """The oldest top-level channel the integration is active on now, if any (for a test
    event, whose callback must work)."""
    owner_can_access = or_(
        Channel.visibility == Visibility.PUBLIC.value,
        exists().where(
            ChannelMember.channel_id == Channel.id, ChannelMember.user_id == integration.owner_id
        ),
    )
    rule: ColumnElement[bool]
    if integration.scope == Scope.PUBLIC_CHANNELS.value:
        rule = Channel.visibility == Visibility.PUBLIC.value
    elif integration.scope == Scope.OWNER_ACCESS.value:
        rule = owner_can_access
    else:
        listed = exists().where(
            IntegrationChannel.integration_id == integration.id,
            IntegrationChannel.channel_id == Channel.id,
        )
        rule = and_(listed, owner_can_access)
    return session.scalar(
        select(Channel)
        .where(Channel.id == Channel.parent_id, rule)
        .order_by(Channel.created_at, Channel.id)
        .limit(1)
    )
