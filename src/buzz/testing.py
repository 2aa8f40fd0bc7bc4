"""Helpers for test suites that run this service in-process with FastAPI's `TestClient`.

app = create_app(Settings(database_url="sqlite://", embedded_worker=False))
alice = seed_user(app, display_name="Alice")
TestClient(app).get("/v1/buzz/users/me", headers=alice.headers)
"""

from __future__ import annotations

import asyncio
import random
import secrets
from dataclasses import dataclass

from fastapi import FastAPI

from buzz import admin
from buzz.buzzchat import scheduler
from buzz.buzzchat.bot import SentMessage
from buzz.buzzchat.models import Tier
from buzz.clock import CLOCK
from buzz.db import DATABASE, Database
from buzz.delivery.claims import AttemptOutcome
from buzz.delivery.dispatcher import Dispatcher
from buzz.delivery.poster import POSTER, HttpxPoster, Poster
from buzz.platform import auth
from buzz.platform.models import OAuthClient
from buzz.settings import SETTINGS

__all__ = [
    "DueRun",
    "HttpxPoster",
    "SeededSubscriber",
    "SeededUser",
    "deliver_due",
    "issue_token",
    "run_due",
    "seed_api_key",
    "seed_subscriber",
    "seed_user",
]


@dataclass(frozen=True)
class SeededUser:
    """A user with an OAuth client and a fresh access token."""

    id: int
    display_name: str
    email: str
    client_id: str
    client_secret: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """`Authorization` headers carrying this user's token."""
        return {"Authorization": f"bearer {self.token}"}


def _database(app: FastAPI) -> Database:
    return DATABASE.of(app)


def seed_user(
    app: FastAPI, *, display_name: str = "Test User", email: str | None = None
) -> SeededUser:
    """Create a user, an OAuth client for them and an access token valid for an hour."""
    now = CLOCK.of(app)()
    email = email or f"user-{secrets.token_hex(4)}@example.com"
    with _database(app).session() as session:
        user = admin.create_user(session, display_name=display_name, email=email, now=now)
        created = admin.create_client(session, user_id=user.id, now=now)
        client = session.get(OAuthClient, created.client_id)
        assert client is not None
        token = auth.issue_token(session, client=client, now=now)
        session.commit()
        return SeededUser(
            id=user.id,
            display_name=user.display_name,
            email=user.email,
            client_id=created.client_id,
            client_secret=created.client_secret,
            token=token,
        )


def issue_token(app: FastAPI, user: SeededUser) -> str:
    """Another access token for a seeded user, as of the app's clock."""
    with _database(app).session() as session:
        client = session.get(OAuthClient, user.client_id)
        assert client is not None
        token = auth.issue_token(session, client=client, now=CLOCK.of(app)())
        session.commit()
        return token


def deliver_due(
    app: FastAPI,
    *,
    rng: random.Random | None = None,
    poster: Poster | None = None,
) -> list[AttemptOutcome]:
    """Send every delivery due now (by the app's clock) once, record it, and return the outcomes.

    Sends through the app's poster (its CA bundle, private targets, timeouts) unless given
    another, e.g. an `HttpxPoster` on an `httpx.MockTransport`.
    """
    dispatcher = Dispatcher(
        database=_database(app),
        settings=SETTINGS.of(app),
        poster=poster or POSTER.of(app),
        clock=CLOCK.of(app),
        rng=rng or random.Random(0),  # noqa: S311 - deterministic jitter for tests
    )
    return asyncio.run(dispatcher.drain())


@dataclass(frozen=True)
class SeededSubscriber:
    """A BuzzChat subscriber with its active account and one API key."""

    id: str
    name: str
    tier: str
    account_id: str
    key_id: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        """`Authorization: Bearer <key>` headers."""
        return {"Authorization": f"Bearer {self.key}"}


def seed_subscriber(
    app: FastAPI, *, name: str = "Test Shop", tier: str = "business"
) -> SeededSubscriber:
    """Create a subscriber (business unless told), its first account and an API key."""
    now = CLOCK.of(app)()
    with _database(app).session() as session:
        created = admin.create_subscriber(session, name=name, tier=Tier(tier), now=now)
        key = admin.create_api_key(session, subscriber_id=created.id, name="test", now=now)
        session.commit()
    return SeededSubscriber(
        id=created.id,
        name=created.name,
        tier=created.tier,
        account_id=created.account_id,
        key_id=key.id,
        key=key.key,
    )


def seed_api_key(app: FastAPI, subscriber: SeededSubscriber, *, name: str = "test") -> str:
    """Another API key for a seeded subscriber."""
    with _database(app).session() as session:
        key = admin.create_api_key(
            session, subscriber_id=subscriber.id, name=name, now=CLOCK.of(app)()
        )
        session.commit()
        return key.key


@dataclass(frozen=True)
class DueRun:
    """What `run_due` did: bot messages sent, then deliveries attempted."""

    messages: list[SentMessage]
    deliveries: list[AttemptOutcome]


def run_due(
    app: FastAPI,
    *,
    rng: random.Random | None = None,
    poster: Poster | None = None,
) -> DueRun:
    """Run every due bot task (messages, timers) and then every due delivery, once, now."""
    sent = scheduler.run_once(_database(app), clock=CLOCK.of(app))
    outcomes = deliver_due(app, rng=rng, poster=poster)
    return DueRun(messages=sent, deliveries=outcomes)
