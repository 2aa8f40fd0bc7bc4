"""Integrations and subscriptions to wire formats; header values only for the owner."""

from __future__ import annotations

from buzz.delivery.outbox import TargetView
from buzz.integrations import models, schemas
from buzz.integrations.models import Scope
from buzz.platform.models import User

__all__ = ["integration_out", "subscription_out"]


def integration_out(integration: models.Integration, *, viewer: User) -> schemas.Integration:
    is_owner = integration.owner_id == viewer.id
    return schemas.Integration(
        id=integration.id,
        owner_id=integration.owner_id,
        name=integration.name,
        description=integration.description,
        scope=Scope(integration.scope),
        channel_ids=integration.channel_ids if integration.scope == Scope.CHANNEL_LIST else None,
        headers=[
            schemas.Header.model_construct(
                name=h["name"], value=h["value"] if is_owner else schemas.MASKED
            )
            for h in integration.headers
        ],
    )


def subscription_out(subscription: models.Subscription, target: TargetView) -> schemas.Subscription:
    return schemas.Subscription(
        id=subscription.id,
        event_type=models.EventType(subscription.event_type),
        url=subscription.url,
        slash_command=subscription.slash_command or None,
        active=target.active,
        disabled_reason=target.disabled_reason,
    )
