"""The callback an integration uses to post back into a channel (SPEC §2.6).

Each event carries a token bound to one integration and one channel, valid for an hour: 256
random bits, stored hashed. Posting through it shows the message as the integration's and raises
no event, so bots cannot loop.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request
from pydantic import Field, model_validator
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from buzz.db import SessionDep
from buzz.integrations.models import CallbackToken, Integration
from buzz.platform.errors_schema import buzz_errors
from buzz.platform.models import Channel, Message, MessageKind
from buzz.platform.presenters import message_out
from buzz.platform.schemas import Message as MessageSchema
from buzz.ratelimit import RateLimiter
from buzz.security import hash_secret, new_secret
from buzz.web.errors import Forbidden, NotFound, TooManyRequests, Unauthorized
from buzz.web.routing import CamelModel, ClockDep, JSONRoute

__all__ = ["TOKEN_HEADER", "TOKEN_TTL", "issue_token", "router"]

TOKEN_HEADER = "x-buzz-bot-token"  # noqa: S105 - a header name
TOKEN_TTL = timedelta(hours=1)
POSTS_PER_MINUTE = 60


def issue_token(session: Session, *, integration_id: str, channel_id: str, now: datetime) -> str:
    """A callback token for this integration on this channel, valid for an hour after `now`."""
    token = new_secret(32)
    session.add(
        CallbackToken(
            token_hash=hash_secret(token),
            integration_id=integration_id,
            channel_id=channel_id,
            expires_at=now + TOKEN_TTL,
        )
    )
    return token


def purge_expired(session: Session, *, now: datetime) -> int:
    """Forget tokens that can no longer be used; returns how many."""
    result = session.execute(delete(CallbackToken).where(CallbackToken.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


class BotText(CamelModel):
    text: str = Field(min_length=1, max_length=10_000)


class BotMessage(CamelModel):
    """Domo's SDK sends `{"content": {"text": …}}`; `{"text": …}` is accepted too."""

    content: BotText | None = None
    text: str | None = Field(default=None, min_length=1, max_length=10_000)

    @model_validator(mode="after")
    def _one_text(self) -> BotMessage:
        if self.content is None and self.text is None:
            raise ValueError('Send the message as {"content": {"text": "..."}}')
        return self

    @property
    def message_text(self) -> str:
        return self.content.text if self.content is not None else str(self.text)


router = APIRouter(route_class=JSONRoute, tags=["Callback"])


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
    token: Annotated[str | None, Header(alias=TOKEN_HEADER, include_in_schema=True)] = None,
) -> Any:
    """Post into a channel as the integration, with the token of an event of the last hour."""
    from buzz.integrations.events import active_on

    if not token:
        raise Unauthorized(f"Missing {TOKEN_HEADER} header")
    grant = session.scalar(
        select(CallbackToken).where(CallbackToken.token_hash == hash_secret(token))
    )
    if grant is None or grant.expires_at <= now:
        raise Unauthorized("Unknown or expired bot token")
    if grant.channel_id != channel_id:
        raise Forbidden("This token is for another channel")
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise NotFound(f"Channel {channel_id} not found")
    integration = session.scalar(
        select(Integration).where(Integration.id == grant.integration_id, active_on(channel))
    )
    if integration is None:
        raise Forbidden("The integration is no longer active on this channel")
    limiter: RateLimiter = request.app.state.rate_limiter
    allowed, reset_in = limiter.hit(f"callback:{grant.token_hash}", per_minute=POSTS_PER_MINUTE)
    if not allowed:
        raise TooManyRequests(
            f"At most {POSTS_PER_MINUTE} posts a minute per token",
            headers={"Retry-After": str(reset_in)},
        )
    message = Message(
        channel_id=channel.id,
        text=body.message_text,
        kind=MessageKind.MESSAGE.value,
        author_integration_id=integration.id,
        author_integration_name=integration.name,
        created_at=now,
    )
    session.add(message)
    session.commit()
    return message_out(message)
