"""Integrations and subscriptions: who may see, change and receive what (SPEC §2.3, §2.4)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from buzz.delivery import outbox, signing
from buzz.delivery.outbox import TargetView
from buzz.errors import BadRequest, Conflict, Forbidden, NotFound
from buzz.integrations.models import EventType, Integration, IntegrationChannel, Scope, Subscription
from buzz.integrations.schemas import IntegrationCreate, SubscriptionCreate
from buzz.platform.models import Channel, User, Visibility
from buzz.platform.service import accessible

__all__ = [
    "create_integration",
    "create_subscription",
    "delete_integration",
    "delete_subscription",
    "get_owned_integration",
    "get_owned_subscription",
    "get_subscription",
    "get_visible_integration",
    "list_subscriptions",
    "list_visible_integrations",
    "visible_to",
]

MAX_SUBSCRIPTIONS = 1000


def visible_to(user_id: int) -> ColumnElement[bool]:
    """SQL: the integration is `user_id`'s, or active on a channel `user_id` can access."""
    channel = aliased(Channel)
    listed = aliased(Channel)
    return or_(
        Integration.owner_id == user_id,
        and_(
            Integration.scope == Scope.PUBLIC_CHANNELS.value,
            exists().where(channel.visibility == Visibility.PUBLIC.value),
        ),
        and_(
            Integration.scope == Scope.OWNER_ACCESS.value,
            exists().where(
                channel.id == channel.parent_id,
                accessible(channel, user_id),
                accessible(channel, Integration.owner_id),
            ),
        ),
        and_(
            Integration.scope == Scope.CHANNEL_LIST.value,
            exists().where(
                IntegrationChannel.integration_id == Integration.id,
                listed.id == IntegrationChannel.channel_id,
                accessible(listed, user_id),
                accessible(listed, Integration.owner_id),
            ),
        ),
    )


def create_integration(
    session: Session, *, owner: User, data: IntegrationCreate, now: datetime
) -> Integration:
    """A new integration of `owner`; CHANNEL_LIST channels must be ones the owner can access."""
    channel_ids = _checked_channel_ids(session, owner=owner, data=data)
    integration = Integration(
        owner_id=owner.id,
        name=data.name,
        description=data.description,
        scope=data.scope.value,
        headers=[{"name": h.name, "value": h.value} for h in data.headers],
        signing_secret=signing.new_signing_secret(),
        created_at=now,
        channels=[
            IntegrationChannel(channel_id=channel_id, position=position)
            for position, channel_id in enumerate(channel_ids)
        ],
    )
    integration.owner = owner
    session.add(integration)
    session.flush()
    return integration


def _checked_channel_ids(session: Session, *, owner: User, data: IntegrationCreate) -> list[str]:
    if data.scope is not Scope.CHANNEL_LIST:
        if data.channel_ids is not None:
            raise BadRequest.on(
                "channelIds", "channelIds is only allowed when scope is CHANNEL_LIST"
            )
        return []
    if not data.channel_ids:
        raise BadRequest.on(
            "channelIds", "channelIds is required and cannot be empty for CHANNEL_LIST"
        )
    wanted = list(dict.fromkeys(data.channel_ids))
    reachable = set(
        session.scalars(
            select(Channel.id).where(Channel.id.in_(wanted), accessible(Channel, owner.id))
        )
    )
    unknown = [channel_id for channel_id in wanted if channel_id not in reachable]
    if unknown:
        raise BadRequest.on(
            "channelIds",
            f"Channel {unknown[0]} does not exist or is not accessible to you"
            + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""),
        )
    return wanted


def get_visible_integration(session: Session, *, user: User, integration_id: str) -> Integration:
    """The integration, if `user` can see it; 404 otherwise."""
    integration = session.scalar(
        select(Integration).where(Integration.id == integration_id, visible_to(user.id))
    )
    if integration is None:
        raise NotFound(f"Integration {integration_id} not found")
    return integration


def get_owned_subscription(
    session: Session, *, user: User, integration_id: str, subscription_id: str
) -> Subscription:
    """A subscription of an integration `user` owns (404 / 403 as for the integration)."""
    integration = get_owned_integration(session, user=user, integration_id=integration_id)
    return get_subscription(session, integration=integration, subscription_id=subscription_id)


def get_subscription(
    session: Session, *, integration: Integration, subscription_id: str
) -> Subscription:
    """One of the integration's subscriptions; 404 otherwise."""
    subscription = session.scalar(
        select(Subscription).where(
            Subscription.id == subscription_id, Subscription.integration_id == integration.id
        )
    )
    if subscription is None:
        raise NotFound(f"Subscription {subscription_id} not found")
    return subscription


def get_owned_integration(session: Session, *, user: User, integration_id: str) -> Integration:
    """The integration, if `user` owns it; 404 when they cannot see it, 403 when not theirs."""
    integration = get_visible_integration(session, user=user, integration_id=integration_id)
    if integration.owner_id != user.id:
        raise Forbidden("Only the integration's owner can do this")
    return integration


def list_visible_integrations(
    session: Session, *, user: User, limit: int, offset: int
) -> Sequence[Integration]:
    """Integrations `user` owns or that are active on a channel they can access, oldest first."""
    query = (
        select(Integration)
        .where(visible_to(user.id))
        .order_by(Integration.created_at, Integration.id)
        .limit(limit)
        .offset(offset)
    )
    return session.scalars(query).all()


def delete_integration(session: Session, *, user: User, integration_id: str) -> None:
    """Delete an integration, its subscriptions, their pending deliveries and its bot tokens."""
    integration = get_owned_integration(session, user=user, integration_id=integration_id)
    target_ids = session.scalars(
        select(Subscription.target_id).where(Subscription.integration_id == integration.id)
    ).all()
    for target_id in target_ids:
        outbox.delete_target(session, target_id=target_id)
    session.delete(integration)
    session.flush()


def rotate_secret(
    session: Session, *, user: User, integration_id: str, now: datetime
) -> tuple[str, datetime]:
    """A new signing secret for the owner's integration, signing first on every subscription
    from now on; the previous one goes on signing beside it until the returned time."""
    integration = get_owned_integration(session, user=user, integration_id=integration_id)
    # Racing rotations take turns (PostgreSQL), so every target ends with the same newest one.
    session.execute(
        select(Integration.id).where(Integration.id == integration.id).with_for_update()
    )
    secret = signing.new_signing_secret()
    integration.signing_secret = secret  # new subscriptions sign with it alone
    until = now + outbox.SECRET_OVERLAP
    target_ids = session.scalars(
        select(Subscription.target_id).where(Subscription.integration_id == integration.id)
    ).all()
    for target_id in target_ids:
        until = outbox.rotate_secrets(
            session, target_id, new_secret=secret, overlap=outbox.SECRET_OVERLAP, now=now
        )
    session.flush()
    return secret, until


def create_subscription(
    session: Session, *, integration: Integration, data: SubscriptionCreate, now: datetime
) -> tuple[Subscription, TargetView]:
    """A new subscription; the same event type, URL and slash command twice is a conflict."""
    is_slash = data.event_type is EventType.SLASH_COMMAND
    if is_slash and data.slash_command is None:
        raise BadRequest.on(
            "slashCommand", "slashCommand is required when eventType is SLASH_COMMAND"
        )
    if not is_slash and data.slash_command is not None:
        raise BadRequest.on(
            "slashCommand", "slashCommand is only allowed when eventType is SLASH_COMMAND"
        )
    slash_command = data.slash_command or ""
    duplicate = session.scalar(
        select(Subscription.id).where(
            Subscription.integration_id == integration.id,
            Subscription.event_type == data.event_type.value,
            Subscription.url == data.url,
            Subscription.slash_command == slash_command,
        )
    )
    if duplicate is not None:
        raise Conflict(f"This integration already has that subscription ({duplicate})")
    count = session.scalar(
        select(func.count()).where(Subscription.integration_id == integration.id)
    )
    if (count or 0) >= MAX_SUBSCRIPTIONS:
        raise BadRequest(f"An integration can have at most {MAX_SUBSCRIPTIONS} subscriptions")
    target = outbox.create_target(
        session,
        url=data.url,
        secrets=[integration.signing_secret],
        headers=integration.headers,
        now=now,
    )
    subscription = Subscription(
        target_id=target.id,
        integration_id=integration.id,
        event_type=data.event_type.value,
        url=data.url,
        slash_command=slash_command,
        created_at=now,
    )
    session.add(subscription)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict("This integration already has that subscription") from None
    return subscription, target


def list_subscriptions(
    session: Session, *, integration: Integration, limit: int, offset: int
) -> Sequence[tuple[Subscription, TargetView]]:
    """The integration's subscriptions, oldest first, each with its target."""
    query = (
        select(Subscription)
        .where(Subscription.integration_id == integration.id)
        .order_by(Subscription.created_at, Subscription.id)
        .limit(limit)
        .offset(offset)
    )
    subscriptions = session.scalars(query).all()
    found = outbox.targets(session, [s.target_id for s in subscriptions])
    return [(s, found[s.target_id]) for s in subscriptions]


def delete_subscription(
    session: Session, *, integration: Integration, subscription_id: str
) -> None:
    """Delete one of the integration's subscriptions."""
    subscription = get_subscription(
        session, integration=integration, subscription_id=subscription_id
    )
    outbox.delete_target(session, target_id=subscription.target_id)  # takes the subscription too
    session.flush()
