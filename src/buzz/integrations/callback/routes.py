"""`POST /api/buzz/v1/bots/message/{channelId}`: a bot posts with an event's token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Security
from fastapi.security import APIKeyHeader

from buzz.db import SessionDep
from buzz.integrations.callback import service
from buzz.integrations.callback.schemas import BotMessage
from buzz.platform.errors_schema import buzz_errors
from buzz.platform.presenters import message_out
from buzz.platform.schemas import Message as MessageSchema
from buzz.ratelimit import RATE_LIMITER
from buzz.web.routing import ClockDep, JSONRoute

__all__ = ["router"]

router = APIRouter(route_class=JSONRoute, tags=["Callback"])


# The event's callback token, read from its header (SPEC §2.6); declared as the route's security.
_CALLBACK_TOKEN = APIKeyHeader(
    name=service.TOKEN_HEADER,
    scheme_name="callbackToken",
    auto_error=False,
    description="The token in the callback headers of an event delivered in the last hour.",
)


@router.post(
    "/api/buzz/v1/bots/message/{channel_id}",
    status_code=201,
    response_model=MessageSchema,
    responses=buzz_errors(400, 401, 403, 404, 429),
)
def post_bot_message(
    channel_id: str,
    request: Request,
    body: Annotated[BotMessage, Body()],
    session: SessionDep,
    now: ClockDep,
    token: Annotated[str | None, Security(_CALLBACK_TOKEN)] = None,
) -> Any:
    """Post into a channel as the integration, with the token of an event of the last hour."""
    message = service.post(
        session,
        channel_id=channel_id,
        token=token,
        text=body.message_text,
        limiter=RATE_LIMITER.of(request.app),
        now=now,
    )
    session.commit()
    return message_out(message)
