"""Fixtures for tests whose events must really arrive: a local HTTPS receiver and an app that
delivers to it (private targets allowed, the receiver's CA trusted)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from buzz.clock import ManualClock
from buzz.delivery.models import Delivery
from buzz.settings import Settings
from buzz.testing import SeededUser
from tests.conftest import app_for
from tests.integrations.helpers import CHANNELS, make_subscription
from tests.support.https_receiver import HttpsReceiver, ReceivedRequest

CALLBACK = "/api/buzz/v1/bots/message"


@pytest.fixture
def receiver() -> Iterator[HttpsReceiver]:
    """A running HTTPS receiver (trustme CA) that records every request."""
    with HttpsReceiver() as receiver:
        yield receiver


@pytest.fixture
def live_settings(settings: Settings, receiver: HttpsReceiver) -> Settings:
    """The suite's settings, plus what it takes to deliver to the local receiver."""
    return settings.model_copy(
        update={"allow_private_targets": True, "dispatch_ca_bundle": receiver.ca_pem_path}
    )


@pytest.fixture
def live_app(live_settings: Settings, clock: ManualClock) -> Iterator[FastAPI]:
    """The suite's `app` (same clock, same cleanup), delivering to `receiver`."""
    with app_for(live_settings, clock) as app:
        yield app


@pytest.fixture
def live_client(live_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(live_app) as client:
        yield client


# --- steps the live tests share ----------------------------------------------------------------


def received(receiver: HttpsReceiver, path: str | None = None) -> list[ReceivedRequest]:
    """The requests the receiver got (on `path`, if given), oldest first."""
    return [r for r in receiver.requests if path is None or r.path == path]


def received_events(receiver: HttpsReceiver, path: str | None = None) -> list[dict[str, Any]]:
    """The JSON bodies of the events the receiver got (on `path`, if given), oldest first."""
    return [json.loads(r.body) for r in received(receiver, path)]


def subscribe(
    client: TestClient,
    owner: SeededUser,
    integration_id: str,
    receiver: HttpsReceiver,
    event_type: str,
    *,
    slash_command: str | None = None,
    path: str | None = None,
) -> dict[str, Any]:
    """A subscription POSTing to the receiver, on `/<event type or command>` unless `path`."""
    path = path or f"/{(slash_command or event_type).lower()}"
    return make_subscription(
        client,
        owner,
        integration_id,
        eventType=event_type,
        url=receiver.url(path),
        slashCommand=slash_command,
    )


def post(client: TestClient, user: SeededUser, channel_id: str, text: str) -> dict[str, Any]:
    """A message posted by `user`, as the route answered it."""
    response = client.post(
        f"{CHANNELS}/{channel_id}/messages", json={"text": text}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    message: dict[str, Any] = response.json()
    return message


def history(client: TestClient, user: SeededUser, channel_id: str) -> list[dict[str, Any]]:
    """The channel's history as `user` reads it, newest first."""
    response = client.get(f"{CHANNELS}/{channel_id}/messages", headers=user.headers)
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def bot_token(event: dict[str, Any]) -> str:
    """The callback token an event carries."""
    token: str = event["callback"]["headers"]["x-buzz-bot-token"]
    return token


def post_as_bot(
    client: TestClient, channel_id: str, token: str | None, body: dict[str, Any]
) -> httpx.Response:
    """POST `body` to the callback URL of `channel_id` with `token` (none if None)."""
    headers = {} if token is None else {"x-buzz-bot-token": token}
    response: httpx.Response = client.post(f"{CALLBACK}/{channel_id}", json=body, headers=headers)
    return response


def delivery_count(app: FastAPI) -> int:
    """How many deliveries the outbox holds, whatever their state."""
    with app.state.database.session() as session:
        return int(session.scalar(select(func.count()).select_from(Delivery)) or 0)
