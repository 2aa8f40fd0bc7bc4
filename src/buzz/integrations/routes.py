"""Routes of Buzz integrations and their subscriptions (SPEC §2.3, §2.4)."""

from __future__ import annotations

import time
from datetime import UTC

from fastapi import APIRouter, Request

from buzz.db import DATABASE, SessionDep
from buzz.delivery import log
from buzz.delivery.poster import POSTER
from buzz.delivery.schemas import Recovered
from buzz.delivery.send_once import send_once
from buzz.integrations import sample_event, service
from buzz.integrations.presenters import integration_out, subscription_out
from buzz.integrations.schemas import (
    Integration,
    IntegrationCreate,
    IntegrationList,
    RecoverRequest,
    SecretRotated,
    Subscription,
    SubscriptionCreate,
    SubscriptionList,
    TestResult,
)
from buzz.platform.auth import BriefUserDep, CurrentUser
from buzz.platform.errors_schema import buzz_errors
from buzz.settings import SETTINGS
from buzz.web.routing import ClockDep, JSONRoute, PageDep, now_of

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/buzz/integrations",
    route_class=JSONRoute,
    tags=["Integrations"],
    responses=buzz_errors(400, 401),
)


@router.post(
    "",
    response_model=Integration,
    responses=buzz_errors(413, 415),
    response_model_exclude_none=True,
)
def create_integration(
    body: IntegrationCreate, user: CurrentUser, session: SessionDep, now: ClockDep
) -> Integration:
    """Register an integration (answers 200, as Domo does)."""
    integration = service.create_integration(session, owner=user, data=body, now=now)
    session.commit()
    created = integration_out(integration, viewer=user)
    created.signing_secret = integration.signing_secret
    return created


@router.get("", response_model=IntegrationList, response_model_exclude_none=True)
def list_integrations(user: CurrentUser, session: SessionDep, page: PageDep) -> IntegrationList:
    """Integrations the caller owns or that are active on a channel the caller can access."""
    integrations = service.list_visible_integrations(
        session, user=user, limit=page.limit, offset=page.offset
    )
    return IntegrationList(integrations=[integration_out(i, viewer=user) for i in integrations])


@router.get(
    "/{integration_id}",
    response_model=Integration,
    responses=buzz_errors(404),
    response_model_exclude_none=True,
)
def get_integration(integration_id: str, user: CurrentUser, session: SessionDep) -> Integration:
    """One integration the caller can see."""
    integration = service.get_visible_integration(session, user=user, integration_id=integration_id)
    return integration_out(integration, viewer=user)


@router.delete("/{integration_id}", status_code=204, responses=buzz_errors(403, 404))
def delete_integration(integration_id: str, user: CurrentUser, session: SessionDep) -> None:
    """Permanently delete an integration and its subscriptions (owner only)."""
    service.delete_integration(session, user=user, integration_id=integration_id)
    session.commit()


@router.post(
    "/{integration_id}/rotate-secret",
    response_model=SecretRotated,
    responses=buzz_errors(403, 404),
)
def rotate_integration_secret(
    integration_id: str, user: CurrentUser, session: SessionDep, now: ClockDep
) -> SecretRotated:
    """A new signing secret (owner only); the previous one keeps signing, as a second
    signature, for 24 hours."""
    secret, until = service.rotate_secret(
        session, user=user, integration_id=integration_id, now=now
    )
    session.commit()
    expires = until.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return SecretRotated(signing_secret=secret, previous_secret_expires_at=expires)


@router.post(
    "/{integration_id}/subscriptions",
    response_model=Subscription,
    responses=buzz_errors(403, 404, 409, 413, 415),
    tags=["Subscriptions"],
    response_model_exclude_none=True,
)
def create_subscription(
    integration_id: str,
    body: SubscriptionCreate,
    user: CurrentUser,
    session: SessionDep,
    now: ClockDep,
) -> Subscription:
    """Subscribe the integration to an event type (owner only; answers 200, as Domo does)."""
    integration = service.get_owned_integration(session, user=user, integration_id=integration_id)
    subscription, target = service.create_subscription(
        session, integration=integration, data=body, now=now
    )
    session.commit()
    return subscription_out(subscription, target)


@router.get(
    "/{integration_id}/subscriptions",
    response_model=SubscriptionList,
    responses=buzz_errors(403, 404),
    tags=["Subscriptions"],
    response_model_exclude_none=True,
)
def list_subscriptions(
    integration_id: str, user: CurrentUser, session: SessionDep, page: PageDep
) -> SubscriptionList:
    """The integration's subscriptions (owner only: their URLs may carry secrets)."""
    integration = service.get_owned_integration(session, user=user, integration_id=integration_id)
    subscriptions = service.list_subscriptions(
        session, integration=integration, limit=page.limit, offset=page.offset
    )
    return SubscriptionList(subscriptions=[subscription_out(s, t) for s, t in subscriptions])


@router.delete(
    "/{integration_id}/subscriptions/{subscription_id}",
    status_code=204,
    responses=buzz_errors(403, 404),
    tags=["Subscriptions"],
)
def delete_subscription(
    integration_id: str, subscription_id: str, user: CurrentUser, session: SessionDep
) -> None:
    """Delete a subscription (owner only)."""
    integration = service.get_owned_integration(session, user=user, integration_id=integration_id)
    service.delete_subscription(session, integration=integration, subscription_id=subscription_id)
    session.commit()


@router.post(
    "/{integration_id}/subscriptions/{subscription_id}/test",
    response_model=TestResult,
    responses=buzz_errors(403, 404, 409),
    tags=["Subscriptions"],
)
async def test_subscription(
    integration_id: str, subscription_id: str, request: Request, user: BriefUserDep
) -> TestResult:
    """POST one sample event of the subscription's type now (`event.test: true`, with a
    callback that works) and report what happened (owner only). It is kept in the delivery log
    and never retried."""
    now = now_of(request)
    settings = SETTINGS.of(request.app)
    result = await send_once(
        DATABASE.of(request.app),
        POSTER.of(request.app),
        prepare=lambda session: sample_event.test_event(
            session,
            user=user,
            integration_id=integration_id,
            subscription_id=subscription_id,
            settings=settings,
            now=now,
            timestamp=int(time.time()),  # receivers check it against real time
        ),
        now=now,
    )
    return TestResult(
        delivered=result.delivered,
        response_code=result.response_code,
        response_time=result.duration_ms,
        error=result.error,
    )


@router.post(
    "/{integration_id}/subscriptions/{subscription_id}/recover",
    status_code=202,
    response_model=Recovered,
    responses=buzz_errors(403, 404, 413, 415),
    tags=["Delivery log"],
)
def recover_deliveries(
    integration_id: str,
    subscription_id: str,
    body: RecoverRequest,
    user: CurrentUser,
    session: SessionDep,
    now: ClockDep,
) -> Recovered:
    """Queue again, now, every failed delivery of the subscription created since `since` (and
    before `until`, when given), as Svix's recover (owner only)."""
    subscription = service.get_owned_subscription(
        session, user=user, integration_id=integration_id, subscription_id=subscription_id
    )
    queued = log.recover(
        session, target_id=subscription.target_id, since=body.since, until=body.until, now=now
    )
    session.commit()
    return Recovered(queued=queued)
