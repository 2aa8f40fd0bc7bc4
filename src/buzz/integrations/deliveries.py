"""The delivery log of a Buzz subscription (SPEC §3.10): list, detail, redeliver."""

from __future__ import annotations

from fastapi import APIRouter

from buzz.db import SessionDep
from buzz.delivery import log
from buzz.delivery.schemas import DeliveryDetail, DeliveryList, DeliveryRecord
from buzz.integrations import service
from buzz.platform.auth import CurrentUser
from buzz.platform.errors_schema import buzz_errors
from buzz.web.log_query import LogQueryDep
from buzz.web.routing import ClockDep, JSONRoute, PageDep

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/buzz/integrations/{integration_id}/subscriptions/{subscription_id}/deliveries",
    route_class=JSONRoute,
    tags=["Delivery log"],
    responses=buzz_errors(400, 401, 403, 404),
)


@router.get("", response_model=DeliveryList)
def list_deliveries(
    integration_id: str,
    subscription_id: str,
    user: CurrentUser,
    session: SessionDep,
    page: PageDep,
    query: LogQueryDep,
) -> DeliveryList:
    """The subscription's deliveries, newest first (owner only), filtered by the query; follow
    `next` with `?cursor=` for the next page."""
    subscription = service.get_owned_subscription(
        session, user=user, integration_id=integration_id, subscription_id=subscription_id
    )
    return log.page(
        session,
        target_id=subscription.target_id,
        limit=page.limit,
        offset=page.offset,
        where=query,
    )


@router.get("/{delivery_id}", response_model=DeliveryDetail)
def get_delivery(
    integration_id: str,
    subscription_id: str,
    delivery_id: str,
    user: CurrentUser,
    session: SessionDep,
) -> DeliveryDetail:
    """One delivery with each of its attempts."""
    subscription = service.get_owned_subscription(
        session, user=user, integration_id=integration_id, subscription_id=subscription_id
    )
    return log.detail(session, target_id=subscription.target_id, delivery_id=delivery_id)


@router.post("/{delivery_id}/redeliver", status_code=202, response_model=DeliveryRecord)
def redeliver(
    integration_id: str,
    subscription_id: str,
    delivery_id: str,
    user: CurrentUser,
    session: SessionDep,
    now: ClockDep,
) -> DeliveryRecord:
    """Queue the delivery again, now (202: it is sent by the dispatcher, not by this request)."""
    subscription = service.get_owned_subscription(
        session, user=user, integration_id=integration_id, subscription_id=subscription_id
    )
    queued = log.redeliver(
        session, target_id=subscription.target_id, delivery_id=delivery_id, now=now
    )
    session.commit()
    return queued
