"""The API routes that hand out portal links (SPEC §7): one per family, each for its owner."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, FastAPI, Request
from pydantic import Field

from buzz.buzzchat.auth import CallerDep
from buzz.buzzchat.routes import ALIAS_PREFIX, CANONICAL_PREFIX
from buzz.buzzchat.routes.common import new_router
from buzz.buzzchat.schemas import Ok
from buzz.db import SessionDep
from buzz.integrations import service
from buzz.platform.auth import CurrentUser
from buzz.platform.errors_schema import buzz_errors
from buzz.portal.access import issue_link
from buzz.portal.render import PREFIX
from buzz.settings import SETTINGS
from buzz.web.routing import ClockDep, JSONRoute
from buzz.wire import CamelModel

__all__ = ["PortalLink", "include"]


class PortalLink(CamelModel):
    url: str = Field(description="Open it in a browser: once, within the hour.")
    expires_at: datetime


def _url(request: Request, token: str) -> str:
    return f"{SETTINGS.of(request.app).public_url}{PREFIX}/open/{token}"


buzz_router = APIRouter(
    prefix="/v1/buzz/integrations",
    route_class=JSONRoute,
    tags=["Portal"],
    responses=buzz_errors(401, 403, 404),
)


@buzz_router.post("/{integration_id}/portal", status_code=201, response_model=PortalLink)
def open_integration_portal(
    integration_id: str, request: Request, user: CurrentUser, session: SessionDep, now: ClockDep
) -> PortalLink:
    """A link that opens the integration's portal in a browser (owner only): its
    subscriptions, their deliveries, the events. Used once, within the hour, it opens an
    8-hour session; hand it over as you would a password."""
    integration = service.get_owned_integration(session, user=user, integration_id=integration_id)
    token, expires = issue_link(session, integration_id=integration.id, now=now)
    session.commit()
    return PortalLink(url=_url(request, token), expires_at=expires)


buzzchat_router = new_router("Portal")


@buzzchat_router.post("/portal", status_code=201, response_model=Ok[PortalLink])
def open_subscriber_portal(
    request: Request, caller: CallerDep, session: SessionDep, now: ClockDep
) -> Ok[PortalLink]:
    """A link that opens the subscriber's portal in a browser: webhooks and their deliveries,
    analytics, the giveaway and the bot's settings. Used once, within the hour, it opens an
    8-hour session; hand it over as you would a password."""
    token, expires = issue_link(session, subscriber_id=caller.subscriber_id, now=now)
    session.commit()
    return Ok(data=PortalLink(url=_url(request, token), expires_at=expires))


def include(app: FastAPI) -> None:
    """Mount both routes, BuzzChat's at `/api/v1` and its `/v1` alias as the family's others."""
    app.include_router(buzz_router)
    app.include_router(buzzchat_router, prefix=CANONICAL_PREFIX)
    app.include_router(buzzchat_router, prefix=ALIAS_PREFIX, include_in_schema=False)
