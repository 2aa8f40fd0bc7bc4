"""Small steps the integration tests share: channels, integrations, subscriptions, 400 checks."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

from buzz.testing import SeededUser

CHANNELS = "/v1/buzz/channels"
INTEGRATIONS = "/v1/buzz/integrations"


def make_channel(
    client: TestClient,
    user: SeededUser,
    *,
    visibility: str = "PUBLIC",
    title: str = "General",
    members: tuple[SeededUser, ...] = (),
) -> str:
    """A top-level channel created by `user`, with `members` added; its id."""
    response = client.post(
        CHANNELS, json={"title": title, "visibility": visibility}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    channel_id: str = response.json()["id"]
    if members:
        add_members(client, user, channel_id, *members)
    return channel_id


def add_members(
    client: TestClient, actor: SeededUser, channel_id: str, *members: SeededUser
) -> None:
    response = client.post(
        f"{CHANNELS}/{channel_id}/members",
        json={"userIds": [member.id for member in members]},
        headers=actor.headers,
    )
    assert response.status_code == 200, response.text


def leave_channel(client: TestClient, user: SeededUser, channel_id: str) -> None:
    response = client.delete(f"{CHANNELS}/{channel_id}/members/{user.id}", headers=user.headers)
    assert response.status_code == 204, response.text


def make_thread(client: TestClient, user: SeededUser, channel_id: str) -> str:
    response = client.post(
        f"{CHANNELS}/{channel_id}/threads", json={"title": "A thread"}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    thread_id: str = response.json()["id"]
    return thread_id


def integration_body(**overrides: Any) -> dict[str, Any]:
    """A valid PUBLIC_CHANNELS integration, with `overrides` applied (None removes a field)."""
    body: dict[str, Any] = {
        "name": "Weather",
        "description": "Current and forecasted weather report",
        "scope": "PUBLIC_CHANNELS",
        "headers": [{"name": "x-weather-api-key", "value": "e745c28b-3468"}],
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def make_integration(client: TestClient, user: SeededUser, **overrides: Any) -> dict[str, Any]:
    """An integration of `user`, as the create route answered it."""
    response = client.post(INTEGRATIONS, json=integration_body(**overrides), headers=user.headers)
    assert response.status_code == 200, response.text
    integration: dict[str, Any] = response.json()
    return integration


def subscription_body(**overrides: Any) -> dict[str, Any]:
    """A valid MESSAGE_POSTED subscription, with `overrides` applied (None removes a field)."""
    body: dict[str, Any] = {
        "eventType": "MESSAGE_POSTED",
        "url": "https://hooks.example.com/buzz/messages",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def subscriptions_path(integration_id: str) -> str:
    return f"{INTEGRATIONS}/{integration_id}/subscriptions"


def make_subscription(
    client: TestClient, user: SeededUser, integration_id: str, **overrides: Any
) -> dict[str, Any]:
    """A subscription of the integration, as the create route answered it."""
    response = client.post(
        subscriptions_path(integration_id),
        json=subscription_body(**overrides),
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    subscription: dict[str, Any] = response.json()
    return subscription


def visible_ids(client: TestClient, user: SeededUser, **params: Any) -> list[str]:
    """Ids of the integrations `user` gets from the list route."""
    response = client.get(INTEGRATIONS, params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    return [integration["id"] for integration in response.json()["integrations"]]


def assert_bad_request(response: httpx.Response, field: str) -> None:
    """A 400 in Domo's envelope, naming `field` among its errors (never FastAPI's 422)."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == 400
    assert body["statusReason"] == "Bad Request"
    assert body["path"] == response.request.url.path
    assert isinstance(body["message"], str) and body["message"]
    fields = [error["field"] for error in body.get("errors", [])]
    assert field in fields, f"expected an error on {field!r}, got {fields}: {body}"
    assert all(isinstance(error["message"], str) and error["message"] for error in body["errors"])


def assert_error(response: httpx.Response, status: int) -> None:
    """An error `status` in Domo's envelope."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    assert body["path"] == response.request.url.path
    assert isinstance(body["message"], str) and body["message"]
