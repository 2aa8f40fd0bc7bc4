"""The delivery log of a Buzz subscription (SPEC §3.10): list, detail, redeliver."""

from __future__ import annotations

from fastapi import APIRouter

from buzz.db import SessionDep
from buzz.delivery import log
from buzz.integrations import service
from buzz.platform.auth import CurrentUser
from buzz.platform.errors_schema import buzz_errors
from buzz.web.routing import CamelModel, ClockDep, JSONRoute, PageDep

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/buzz/integrations/{integration_id}/subscriptions/{subscription_id}/deliveries",
    route_class=JSONRoute,
    tags=["Delivery log"],
    responses=buzz_errors(400, 401, 403, 404),
)


class DeliveryList(CamelModel):
    deliveries: list[log.DeliveryRecord]


@router.get("", response_model=DeliveryList)
def list_deliveries(
    integration_id: str,
    subscription_id: str,
    user: CurrentUser,
    session: SessionDep,
    page: PageDep,
) -> DeliveryList:
    """The subscription's deliveries, newest first (owner only)."""
    subscription = service.get_owned_subscription(
        session, user=user, integration_id=integration_id, subscription_id=subscription_id
    )
    rows = log.page(session, target_id=subscription.target_id, limit=page.limit, offset=page.offset)
    return DeliveryList(deliveries=[log.record(d) for d in rows])


@router.get("/{delivery_id}", response_model=log.DeliveryDetail)
def get_delivery(
    integration_id: str,
    subscription_id: str,
    delivery_id: str,
    user: CurrentUser,
    session: SessionDep,
) -> log.DeliveryDetail:
    """One delivery with each of its attempts."""
    subscription = service.get_owned_subscription(
        session, user=user, integration_id=integration_id, subscription_id=subscription_id
    )
    delivery = log.get(session, target_id=subscription.target_id, delivery_id=delivery_id)
    return log.detail(session, delivery)


@router.post("/{delivery_id}/redeliver", status_code=202, response_model=log.DeliveryRecord)
def redeliver(
    integration_id: str,
    subscription_id: str,
    delivery_id: str,
    user: CurrentUser,
    session: SessionDep,
    now: ClockDep,
) -> log.DeliveryRecord:
    """Queue the delivery again, now (202: it is sent by the dispatcher, not by this request)."""
    subscription = service.get_owned_subscription(
        session, user=user, integration_id=integration_id, subscription_id=subscription_id
    )
    delivery = log.get(session, target_id=subscription.target_id, delivery_id=delivery_id)
    queued = log.redeliver(session, delivery=delivery, now=now)
    session.commit()
    return queued
