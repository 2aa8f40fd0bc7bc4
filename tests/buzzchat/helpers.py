"""Steps the BuzzChat tests share."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

from buzz.testing import SeededSubscriber
from tests.support.https_receiver import HttpsReceiver

API = "/api/v1"


def ok(response: httpx.Response, status: int = 200) -> Any:
    """The `data` of a success envelope, after checking status and envelope."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is True, body
    return body.get("data", body)


def error(response: httpx.Response, status: int, code: str) -> str:
    """The message of an error envelope, after checking status, code and envelope."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False, body
    assert body["error"]["code"] == code, body
    message: str = body["error"]["message"]
    return message


def settings_patch(
    client: TestClient, shop: SeededSubscriber, account: str | None = None, **fields: Any
) -> dict[str, Any]:
    """PATCH /settings with camelCase `fields`; returns the settings."""
    params = {"account": account} if account else None
    data: dict[str, Any] = ok(
        client.patch(f"{API}/settings", json=fields, headers=shop.headers, params=params)
    )
    return data


def start_bot(client: TestClient, shop: SeededSubscriber, **fields: Any) -> dict[str, Any]:
    """Turn the bot on (with any other settings)."""
    return settings_patch(client, shop, botActive=True, **fields)


def chat(
    client: TestClient, shop: SeededSubscriber, *events: dict[str, Any], account: str | None = None
) -> None:
    """Report chat events: `chat(client, shop, {"type": "join", "username": "amy"})`."""
    params = {"account": account} if account else None
    ok(
        client.post(
            f"{API}/chat/events", json={"events": list(events)}, headers=shop.headers, params=params
        ),
        202,
    )


def said(username: str, text: str) -> dict[str, Any]:
    return {"type": "message", "username": username, "text": text}


def joined(username: str) -> dict[str, Any]:
    return {"type": "join", "username": username}


def make_hook(
    client: TestClient,
    shop: SeededSubscriber,
    receiver: HttpsReceiver,
    events: list[str] | None = None,
    path: str = "/hook",
) -> dict[str, Any]:
    """A webhook POSTing to the receiver, as created (with its secret)."""
    body = {"url": receiver.url(path), "events": events or ["giveaway.entry"]}
    created: dict[str, Any] = ok(
        client.post(f"{API}/webhooks", json=body, headers=shop.headers), 201
    )
    return created


def enter(client: TestClient, shop: SeededSubscriber, username: str) -> None:
    """A manual giveaway entry: raises giveaway.entry."""
    response = client.post(
        f"{API}/giveaway/entries", json={"username": username}, headers=shop.headers
    )
    ok(response, 201)
