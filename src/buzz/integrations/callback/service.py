"""Callback tokens: issued with each event, checked and rate-limited when a bot posts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.orm import Session

from buzz.errors import Forbidden, NotFound, TooManyRequests, Unauthorized
from buzz.integrations.active import ACTIVE_ON_BOUND, active_params
from buzz.integrations.models import CallbackToken, Integration
from buzz.platform.models import Channel, Message, MessageKind
from buzz.ratelimit import RateLimiter
from buzz.security import hash_secret, random_token

__all__ = [
    "POSTS_PER_MINUTE",
    "TOKEN_HEADER",
    "TOKEN_TTL",
    "issue_token",
    "issue_tokens",
    "post",
    "purge_expired",
]

TOKEN_HEADER = "x-buzz-bot-token"  # noqa: S105 - a header name
TOKEN_TTL = timedelta(hours=1)
POSTS_PER_MINUTE = 60
# Built once (see integrations.active.ACTIVE_ON_BOUND): the token's integration, if still active.
_ACTIVE_INTEGRATION = select(Integration).where(
    Integration.id == bindparam("integration_id"), ACTIVE_ON_BOUND
)


def issue_token(session: Session, *, integration_id: str, channel_id: str, now: datetime) -> str:
    """A callback token for this integration on this channel, valid for an hour after `now`."""
    [token] = issue_tokens(
        session, integration_ids=[integration_id], channel_id=channel_id, now=now
    )
    return token


def issue_tokens(
    session: Session, *, integration_ids: Sequence[str], channel_id: str, now: datetime
) -> list[str]:
    """`issue_token` for several integrations at once: one bulk insert, tokens in order."""
    tokens = [random_token(32) for _ in integration_ids]
    if tokens:
        expires_at = now + TOKEN_TTL
        session.execute(
            insert(CallbackToken),
            [
                {
                    "token_hash": hash_secret(token),
                    "integration_id": integration_id,
                    "channel_id": channel_id,
                    "expires_at": expires_at,
                }
                for token, integration_id in zip(tokens, integration_ids, strict=True)
            ],
        )
    return tokens


def purge_expired(session: Session, *, now: datetime) -> int:
    """Forget tokens that can no longer be used; returns how many."""
    result = session.execute(delete(CallbackToken).where(CallbackToken.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


def post(
    session: Session,
    *,
    channel_id: str,
    token: str | None,
    text: str,
    limiter: RateLimiter,
    now: datetime,
) -> Message:
    """Post `text` into the channel as the integration the token was issued to.

    401 without a live token, 403 for another channel's token or an integration no longer active
    there, 404 for an unknown channel, 429 past 60 posts a minute per token.
    """
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
        _ACTIVE_INTEGRATION, {"integration_id": grant.integration_id, **active_params(channel)}
    )
    if integration is None:
        raise Forbidden("The integration is no longer active on this channel")
    allowed, reset_in = limiter.hit(f"callback:{grant.token_hash}", per_minute=POSTS_PER_MINUTE)
    if not allowed:
        raise TooManyRequests(
            f"At most {POSTS_PER_MINUTE} posts a minute per token",
            headers={"Retry-After": str(reset_in)},
        )
    message = Message(
        channel_id=channel.id,
        text=text,
        kind=MessageKind.MESSAGE.value,
        author_integration_id=integration.id,
        author_integration_name=integration.name,
        created_at=now,
    )
    session.add(message)
    return message
