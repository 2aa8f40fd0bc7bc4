"""Administrative actions shared by `buzz admin` and `buzz.testing`; secrets are shown once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from buzz.platform import auth
from buzz.platform import service as platform
from buzz.platform.models import User
from buzz.web.errors import NotFound

__all__ = ["CreatedClient", "create_client", "create_user"]


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
