"""Administrative actions shared by `buzz admin` and `buzz.testing`; secrets are shown once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from buzz.buzzchat import accounts, keys
from buzz.buzzchat.models import Subscriber, Tier
from buzz.errors import BadRequest, NotFound
from buzz.platform import auth
from buzz.platform import service as platform
from buzz.platform.models import User

__all__ = [
    "CreatedApiKey",
    "CreatedClient",
    "CreatedSubscriber",
    "create_api_key",
    "create_client",
    "create_subscriber",
    "create_user",
]


@dataclass(frozen=True)
class CreatedClient:
    client_id: str
    client_secret: str
    user_id: int


def create_user(session: Session, *, display_name: str, email: str, now: datetime) -> User:
    """A new Buzz user."""
    return platform.create_user(session, display_name=display_name, email=email, now=now)


def create_client(session: Session, *, user_id: int, now: datetime) -> CreatedClient:
    """A new OAuth client for `user_id`, with its secret (shown this once)."""
    if session.get(User, user_id) is None:
        raise NotFound(f"User {user_id} not found")
    client, secret = auth.create_client(session, user_id=user_id, now=now)
    return CreatedClient(client_id=client.client_id, client_secret=secret, user_id=user_id)


@dataclass(frozen=True)
class CreatedSubscriber:
    id: str
    name: str
    tier: str
    account_id: str


@dataclass(frozen=True)
class CreatedApiKey:
    id: str
    key: str
    subscriber_id: str


def create_subscriber(
    session: Session, *, name: str, tier: Tier = Tier.BUSINESS, now: datetime
) -> CreatedSubscriber:
    """A new BuzzChat subscriber and its first account, active."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise BadRequest.on("name", "name must be 1..100 characters")
    subscriber, account = accounts.create_subscriber(session, name=name, tier=tier, now=now)
    return CreatedSubscriber(
        id=subscriber.id, name=subscriber.name, tier=subscriber.tier, account_id=account.id
    )


def create_api_key(
    session: Session, *, subscriber_id: str, name: str = "API key", now: datetime
) -> CreatedApiKey:
    """A new API key for the subscriber, with the key itself (shown this once)."""
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise NotFound(f"Subscriber {subscriber_id} not found")
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise BadRequest.on("name", "name must be 1..100 characters")
    key, plaintext = keys.create_key(session, subscriber=subscriber, name=name, now=now)
    return CreatedApiKey(id=key.id, key=plaintext, subscriber_id=subscriber.id)
