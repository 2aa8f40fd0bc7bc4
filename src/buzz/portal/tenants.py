"""Whose data a portal session shows, family by family: its targets and what may be done to them.

A `Tenant` is built from the session's viewer on each request; every lookup goes through it, so a
subscription or webhook of anyone else is as unknown (404) as one that does not exist. The work
itself is the family's own service code, the same the REST routes call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from buzz.buzzchat import webhooks
from buzz.buzzchat.events import WebhookEvent
from buzz.buzzchat.models import Subscriber
from buzz.delivery import log, outbox
from buzz.errors import NotFound
from buzz.integrations import sample_event, service
from buzz.integrations.models import EventType, Integration, Subscription
from buzz.platform.models import User
from buzz.portal.access import Viewer
from buzz.settings import Settings

__all__ = ["TargetRow", "Tenant", "tenant_of"]

HEALTH_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class TargetRow:
    """One subscription or webhook as the portal shows it."""

    id: str  # the family's id: a subscription's or a webhook's
    target_id: str  # the engine's
    label: str
    url: str
    events: list[str]
    active: bool
    disabled_reason: str | None
    health: log.Health | None  # read for the targets page only (two queries over its log)


class Tenant(Protocol):
    """One integration's or one subscriber's portal."""

    @property
    def family(self) -> str: ...  # "buzz" or "buzzchat"

    @property
    def name(self) -> str: ...

    @property
    def event_types(self) -> list[str]: ...

    @property
    def rotates_per_target(self) -> bool: ...  # BuzzChat: a webhook's secret; Buzz: all

    def targets(self, session: Session, *, now: datetime) -> list[TargetRow]: ...

    def target(self, session: Session, target: str, *, now: datetime) -> TargetRow: ...

    def set_active(self, session: Session, target: str, *, active: bool, now: datetime) -> None: ...

    def rotate(self, session: Session, target: str, *, now: datetime) -> tuple[str, datetime]: ...

    def test_event(
        self, target: str, *, settings: Settings, now: datetime, timestamp: int
    ) -> Callable[[Session], outbox.OneOff]: ...


def _rows(
    session: Session,
    found: list[tuple[str, str, str, list[str]]],
    *,
    now: datetime,
    with_health: bool = False,
) -> list[TargetRow]:
    """(id, target id, label, events) → rows with each target's state, and its health when
    asked."""
    target_ids = [target_id for _, target_id, _, _ in found]
    views = outbox.targets(session, target_ids)
    health = log.health(session, target_ids, since=now - HEALTH_WINDOW) if with_health else {}
    return [
        TargetRow(
            id=public_id,
            target_id=target_id,
            label=label,
            url=views[target_id].url,
            events=events,
            active=views[target_id].active,
            disabled_reason=views[target_id].disabled_reason,
            health=health.get(target_id),
        )
        for public_id, target_id, label, events in found
    ]


PAUSED = "Paused in the portal"


@dataclass
class BuzzTenant:
    """An integration's portal: its subscriptions are its targets."""

    integration: Integration
    family: str = "buzz"
    rotates_per_target: bool = False

    @property
    def name(self) -> str:
        return self.integration.name

    @property
    def event_types(self) -> list[str]:
        return [e.value for e in EventType]

    def _subscriptions(self, session: Session) -> list[Subscription]:
        return list(
            session.scalars(
                select(Subscription)
                .where(Subscription.integration_id == self.integration.id)
                .order_by(Subscription.created_at, Subscription.id)
            )
        )

    @staticmethod
    def _label(subscription: Subscription) -> str:
        if subscription.slash_command:
            return f"{subscription.event_type} /{subscription.slash_command}"
        return subscription.event_type

    def targets(self, session: Session, *, now: datetime) -> list[TargetRow]:
        found = [
            (s.id, s.target_id, self._label(s), [s.event_type])
            for s in self._subscriptions(session)
        ]
        return _rows(session, found, now=now, with_health=True)

    def target(self, session: Session, target: str, *, now: datetime) -> TargetRow:
        subscription = service.get_subscription(
            session, integration=self.integration, subscription_id=target
        )
        [row] = _rows(
            session,
            [
                (
                    subscription.id,
                    subscription.target_id,
                    self._label(subscription),
                    [subscription.event_type],
                )
            ],
            now=now,
        )
        return row

    def set_active(self, session: Session, target: str, *, active: bool, now: datetime) -> None:
        row = self.target(session, target, now=now)
        outbox.update_target(session, row.target_id, active=active, disabled_reason=PAUSED)
        session.flush()

    def rotate(self, session: Session, target: str, *, now: datetime) -> tuple[str, datetime]:
        self.target(session, target, now=now)  # one of ours
        return service.rotate_secret(
            session, user=self.integration.owner, integration_id=self.integration.id, now=now
        )

    def test_event(
        self, target: str, *, settings: Settings, now: datetime, timestamp: int
    ) -> Callable[[Session], outbox.OneOff]:
        owner_id, integration_id = self.integration.owner_id, self.integration.id
        return lambda session: sample_event.test_event(
            session,
            user=session.get_one(User, owner_id),
            integration_id=integration_id,
            subscription_id=target,
            settings=settings,
            now=now,
            timestamp=timestamp,
        )


@dataclass
class BuzzChatTenant:
    """A subscriber's portal: its webhooks are its targets."""

    subscriber: Subscriber
    family: str = "buzzchat"
    rotates_per_target: bool = True

    @property
    def name(self) -> str:
        return self.subscriber.name

    @property
    def event_types(self) -> list[str]:
        return [e.value for e in WebhookEvent]

    def targets(self, session: Session, *, now: datetime) -> list[TargetRow]:
        found = [
            (w.id, w.target_id, w.description or w.id, list(w.events))
            for w, _ in webhooks.list_webhooks(session, subscriber_id=self.subscriber.id)
        ]
        return _rows(session, found, now=now, with_health=True)

    def target(self, session: Session, target: str, *, now: datetime) -> TargetRow:
        webhook, _ = webhooks.get_webhook(
            session, subscriber_id=self.subscriber.id, webhook_id=target
        )
        [row] = _rows(
            session,
            [
                (
                    webhook.id,
                    webhook.target_id,
                    webhook.description or webhook.id,
                    list(webhook.events),
                )
            ],
            now=now,
        )
        return row

    def set_active(self, session: Session, target: str, *, active: bool, now: datetime) -> None:
        webhook, _ = webhooks.get_webhook(
            session, subscriber_id=self.subscriber.id, webhook_id=target
        )
        outbox.update_target(session, webhook.target_id, active=active, disabled_reason=PAUSED)
        session.flush()

    def rotate(self, session: Session, target: str, *, now: datetime) -> tuple[str, datetime]:
        _, secret, until = webhooks.rotate_secret(
            session, subscriber_id=self.subscriber.id, webhook_id=target, now=now
        )
        return secret, until

    def test_event(
        self, target: str, *, settings: Settings, now: datetime, timestamp: int
    ) -> Callable[[Session], outbox.OneOff]:
        subscriber_id = self.subscriber.id
        return lambda session: webhooks.test_event(
            session, subscriber_id=subscriber_id, webhook_id=target, now=now, timestamp=timestamp
        )


def tenant_of(session: Session, viewer: Viewer) -> BuzzTenant | BuzzChatTenant:
    """The portal the viewer's session opens (404 if its integration or subscriber is gone)."""
    if viewer.integration_id is not None:
        integration = session.get(Integration, viewer.integration_id)
        if integration is None:
            raise NotFound("This integration no longer exists")
        return BuzzTenant(integration)
    subscriber = session.get(Subscriber, viewer.subscriber_id)
    if subscriber is None:
        raise NotFound("This subscriber no longer exists")
    return BuzzChatTenant(subscriber)
