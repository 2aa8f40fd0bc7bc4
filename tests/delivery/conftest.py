"""Fixtures for delivery tests: a real HTTPS receiver, apps that deliver to it, and views of the
outbox, the Buzz API and a fake receiver (`httpx.MockTransport`) that the tests share."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from buzz.clock import ManualClock
from buzz.db import Database
from buzz.delivery import outbox, signing
from buzz.delivery.claims import AttemptOutcome
from buzz.delivery.models import Attempt, Delivery, DeliveryStatus, Target
from buzz.delivery.retry import MAX_ATTEMPTS
from buzz.integrations.models import Subscription
from buzz.settings import Settings
from buzz.testing import HttpxPoster, SeededUser, deliver_due, issue_token
from tests.integrations.helpers import make_channel, make_integration, make_subscription
from tests.support.https_receiver import HttpsReceiver

Deliver = Callable[..., list[AttemptOutcome]]


@pytest.fixture
def https_receiver(request: pytest.FixtureRequest) -> Iterator[HttpsReceiver]:
    """A running HTTPS receiver with its own CA; `ca_pem_path` is the bundle to trust.

    Parametrize it indirectly with False to get one that is not listening yet: connections to
    its port are refused until the test calls `.start()`.
    """
    receiver = HttpsReceiver()
    try:
        if getattr(request, "param", True):
            receiver.start()
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def delivery_overrides() -> dict[str, Any]:
    """Setting changes of one test (parametrize it), applied after those that reach the receiver."""
    return {}


@pytest.fixture
def settings(
    settings: Settings, https_receiver: HttpsReceiver, delivery_overrides: dict[str, Any]
) -> Settings:
    """The suite's settings, with private targets allowed and the receiver's CA trusted."""
    return settings.model_copy(
        update={
            "allow_private_targets": True,
            "dispatch_ca_bundle": https_receiver.ca_pem_path,
            **delivery_overrides,
        }
    )


@pytest.fixture
def rng() -> random.Random:
    """One seeded jitter source per test, so retry schedules are the same on every run."""
    return random.Random(2026)


@pytest.fixture
def deliver(app: FastAPI, rng: random.Random) -> Deliver:
    """`deliver_due` on the test's app and rng; pass `poster=` to send another way."""
    return partial(deliver_due, app, rng=rng)


# ---- the outbox tables ---------------------------------------------------------------------------


class OutboxTables:
    """Writes and reads of the engine's tables, each in its own committed session."""

    def __init__(self, app: FastAPI) -> None:
        self.database: Database = app.state.database
        self.clock: ManualClock = app.state.clock

    def add_target(self, url: str, *, secret: str | None = None) -> str:
        """A new active target signing with `secret` (a fresh one by default); its id."""
        with self.database.session() as session:
            target = outbox.create_target(
                session, url=url, secrets=[secret or signing.new_signing_secret()], now=self.clock()
            )
            session.commit()
            return target.id

    def enqueue(self, target_id: str, count: int = 1, *, payload: bytes | None = None) -> list[str]:
        """`count` deliveries to the target, due now; their event ids, in order."""
        event_ids = [f"evt_{target_id[:8]}_{n}" for n in range(count)]
        pending = [
            outbox.Pending(
                target_id=target_id,
                event_id=event_id,
                event_type="test.event",
                payload=payload or json.dumps({"id": event_id}).encode(),
            )
            for event_id in event_ids
        ]
        with self.database.session() as session:
            outbox.enqueue(session, pending, now=self.clock())
            session.commit()
        return event_ids

    def deactivate(self, target_id: str) -> None:
        with self.database.session() as session:
            session.execute(update(Target).where(Target.id == target_id).values(active=False))
            session.commit()

    def target(self, target_id: str) -> Target:
        with self.database.session() as session:
            target = session.get(Target, target_id)
            assert target is not None
            return target

    def deliveries(self, target_id: str) -> list[Delivery]:
        """The target's deliveries, oldest first."""
        with self.database.session() as session:
            query = select(Delivery).where(Delivery.target_id == target_id).order_by(Delivery.id)
            return list(session.scalars(query))

    def delivery(self, delivery_id: int) -> Delivery:
        with self.database.session() as session:
            delivery = session.get(Delivery, delivery_id)
            assert delivery is not None
            return delivery

    def attempts(self, delivery_id: int) -> list[Attempt]:
        """The delivery's attempts, oldest first."""
        with self.database.session() as session:
            query = select(Attempt).where(Attempt.delivery_id == delivery_id).order_by(Attempt.id)
            return list(session.scalars(query))


@pytest.fixture
def outbox_tables(app: FastAPI) -> OutboxTables:
    return OutboxTables(app)


# ---- the Buzz API --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscribed:
    """An integration subscribed to MESSAGE_POSTED on the chat's channel, at `url`."""

    integration_id: str
    subscription_id: str
    signing_secret: str
    target_id: str
    url: str

    @property
    def deliveries_path(self) -> str:
        """The subscription's delivery log."""
        return (
            f"/v1/buzz/integrations/{self.integration_id}"
            f"/subscriptions/{self.subscription_id}/deliveries"
        )


class Chat:
    """Alice's public channel: each `subscribe` adds an integration, each `post` makes events."""

    def __init__(self, app: FastAPI, client: TestClient, owner: SeededUser) -> None:
        self.app = app
        self.database: Database = app.state.database
        self.client = client
        self.owner = owner
        self.channel_id = make_channel(client, owner, title="Deliveries")

    @property
    def headers(self) -> dict[str, str]:
        """The owner's authorization, with a token fresh by the app's clock (tests move it)."""
        return {"Authorization": f"bearer {issue_token(self.app, self.owner)}"}

    def subscribe(self, url: str) -> Subscribed:
        """A new integration of the owner with one MESSAGE_POSTED subscription to `url`."""
        integration = make_integration(self.client, self.owner, name=f"Hook {url}"[:100])
        subscription = make_subscription(self.client, self.owner, integration["id"], url=url)
        with self.database.session() as session:
            target_id = session.scalar(
                select(Subscription.target_id).where(Subscription.id == subscription["id"])
            )
        assert target_id is not None
        return Subscribed(
            integration_id=integration["id"],
            subscription_id=subscription["id"],
            signing_secret=integration["signingSecret"],
            target_id=target_id,
            url=url,
        )

    def post(self, text: str = "Is it raining?") -> None:
        """The owner posts `text`: one delivery to each subscription."""
        response = self.client.post(
            f"/v1/buzz/channels/{self.channel_id}/messages",
            json={"text": text},
            headers=self.headers,
        )
        assert response.status_code == 201, response.text


@pytest.fixture
def chat(app: FastAPI, client: TestClient, alice: SeededUser) -> Chat:
    return Chat(app, client, alice)


# ---- a fake receiver, for status codes, headers and schedules ------------------------------------


@dataclass
class FakeReceiver:
    """Answers deliveries through `httpx.MockTransport`, by URL (default: every URL)."""

    replies: dict[str | None, tuple[int, dict[str, str]]] = field(
        default_factory=lambda: {None: (200, {})}
    )
    requests: list[httpx.Request] = field(default_factory=list)

    def respond_with(
        self, status: int, *, headers: dict[str, str] | None = None, url: str | None = None
    ) -> None:
        """Answer `status` from now on, to `url` only when given."""
        self.replies[url] = (status, headers or {})

    def requests_to(self, url: str) -> list[httpx.Request]:
        return [r for r in self.requests if str(r.url) == url]

    def poster(self) -> HttpxPoster:
        """A poster for `deliver(poster=...)`: the production rules on a MockTransport."""
        return HttpxPoster(httpx.MockTransport(self._answer))

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, headers = self.replies.get(str(request.url), self.replies[None])
        return httpx.Response(status, headers=headers, text=f"fake {status}")


@pytest.fixture
def fake_receiver() -> FakeReceiver:
    return FakeReceiver()


@pytest.fixture
def retry_until_settled(
    deliver: Deliver, outbox_tables: OutboxTables, clock: ManualClock
) -> Callable[..., list[tuple[datetime, datetime | None]]]:
    """Deliver, then move the clock to each retry and deliver again, until the target's delivery
    is no longer pending; returns (attempt time, next_attempt_at after it) for each attempt."""

    def settle(
        target_id: str, poster: HttpxPoster | None = None
    ) -> list[tuple[datetime, datetime | None]]:
        steps: list[tuple[datetime, datetime | None]] = []
        for _ in range(MAX_ATTEMPTS + 1):
            attempted_at = clock()
            assert len(deliver(poster=poster)) == 1
            (delivery,) = outbox_tables.deliveries(target_id)
            steps.append((attempted_at, delivery.next_attempt_at))
            if delivery.status != DeliveryStatus.PENDING:
                return steps
            assert delivery.next_attempt_at is not None
            clock.advance(seconds=(delivery.next_attempt_at - clock()).total_seconds())
        raise AssertionError(f"still pending after {len(steps)} attempts")

    return settle
