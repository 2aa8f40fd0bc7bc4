"""Buzz authentication: OAuth client credentials and bearer access tokens (SPEC §2.1)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from buzz.db import DATABASE, SessionDep
from buzz.errors import Unauthorized
from buzz.platform.models import AccessToken, OAuthClient, User
from buzz.security import hash_secret, random_token, secret_matches
from buzz.web.routing import ClockDep

__all__ = [
    "TOKEN_TTL",
    "BriefUserDep",
    "CurrentUser",
    "authenticate_client",
    "basic_credentials",
    "create_client",
    "current_user",
    "issue_token",
]

TOKEN_TTL = timedelta(hours=1)
_DUMMY_HASH = hash_secret("no such client")


def create_client(session: Session, *, user_id: int, now: datetime) -> tuple[OAuthClient, str]:
    """A new OAuth client acting as `user_id`, and its secret (shown once, stored hashed)."""
    secret = random_token(32)
    client = OAuthClient(
        client_id=random_token(18), secret_hash=hash_secret(secret), user_id=user_id, created_at=now
    )
    session.add(client)
    session.flush()
    return client, secret


def authenticate_client(session: Session, *, client_id: str, secret: str) -> OAuthClient | None:
    """The client whose id and secret these are, or None; timing does not tell which was wrong."""
    client = session.get(OAuthClient, client_id)
    matches = secret_matches(secret, client.secret_hash if client else _DUMMY_HASH)
    return client if client is not None and matches else None


def issue_token(session: Session, *, client: OAuthClient, now: datetime) -> str:
    """A new bearer token for `client`'s user, valid for one hour; its expired ones are purged."""
    session.execute(
        delete(AccessToken).where(
            AccessToken.client_id == client.client_id, AccessToken.expires_at <= now
        )
    )
    token = random_token(32)
    session.add(
        AccessToken(
            token_hash=hash_secret(token),
            client_id=client.client_id,
            user_id=client.user_id,
            expires_at=now + TOKEN_TTL,
        )
    )
    return token


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """`(client_id, secret)` from an HTTP Basic header, or None."""
    if not authorization:
        return None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, secret = decoded.partition(":")
    return (client_id, secret) if colon else None


def _unauthorized(message: str, error: str = "invalid_token") -> Unauthorized:
    return Unauthorized(
        message, headers={"WWW-Authenticate": f'Bearer realm="buzz", error="{error}"'}
    )


# For the OpenAPI document ("Authorize" in /docs, generated clients); current_user reads the
# header itself, with its own errors.
BUZZ_OAUTH = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl="/oauth/token", scopes={"buzz": "The Buzz API"}
        )
    ),
    scheme_name="buzzOAuth",
    description="Client credentials (HTTP Basic) exchanged at /oauth/token for a one-hour "
    "bearer token, sent as `Authorization: bearer <token>`.",
    auto_error=False,
)


def current_user(
    request: Request,
    session: SessionDep,
    now: ClockDep,
    _token: Annotated[str | None, Security(BUZZ_OAUTH, scopes=["buzz"])] = None,
) -> User:
    """The user whose bearer token authorizes this request (401 otherwise)."""
    return authenticate_user(request, session, now)


async def current_user_briefly(
    request: Request,
    now: ClockDep,
    _token: Annotated[str | None, Security(BUZZ_OAUTH, scopes=["buzz"])] = None,
) -> User:
    """`current_user` for a route that must not hold a database session while it waits (the
    user comes back detached, its columns loaded)."""
    return await DATABASE.of(request.app).read(
        lambda session: authenticate_user(request, session, now)
    )


def authenticate_user(request: Request, session: Session, now: datetime) -> User:
    """The user of the request's bearer token, looked up in `session` (401 otherwise)."""
    header = request.headers.get("authorization")
    if not header:
        raise Unauthorized(
            "Missing Authorization header: send 'Authorization: bearer <token>'",
            headers={"WWW-Authenticate": 'Bearer realm="buzz"'},
        )
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("Authorization must use the bearer scheme", "invalid_request")
    row = session.scalar(select(AccessToken).where(AccessToken.token_hash == hash_secret(token)))
    if row is None:
        raise _unauthorized("Unknown access token")
    if row.expires_at <= now:
        raise _unauthorized("Access token expired")
    return row.user


CurrentUser = Annotated[User, Depends(current_user)]
BriefUserDep = Annotated[User, Depends(current_user_briefly)]


def purge_expired_tokens(session: Session, *, now: datetime) -> int:
    """Forget access tokens past their hour; returns how many."""
    result = session.execute(delete(AccessToken).where(AccessToken.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
