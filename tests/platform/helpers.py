"""Small helpers shared by the platform tests: make channels and messages, read errors."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi.testclient import TestClient

from buzz.testing import SeededUser

CHANNELS = "/v1/buzz/channels"


def make_channel(
    client: TestClient, user: SeededUser, *, title: str = "general", visibility: str = "PUBLIC"
) -> dict[str, Any]:
    """Create a top-level channel as `user` and return it."""
    response = client.post(
        CHANNELS, json={"title": title, "visibility": visibility}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    channel: dict[str, Any] = response.json()
    return channel


def make_thread(
    client: TestClient, user: SeededUser, channel_id: str, *, title: str = "a thread"
) -> dict[str, Any]:
    """Start a thread on `channel_id` as `user` and return it."""
    response = client.post(
        f"{CHANNELS}/{channel_id}/threads", json={"title": title}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    thread: dict[str, Any] = response.json()
    return thread


def post_message(
    client: TestClient, user: SeededUser, channel_id: str, text: str = "hello"
) -> httpx.Response:
    """POST a message to `channel_id` as `user`."""
    return client.post(
        f"{CHANNELS}/{channel_id}/messages", json={"text": text}, headers=user.headers
    )


def add_members(
    client: TestClient, actor: SeededUser, channel_id: str, *user_ids: int
) -> httpx.Response:
    """POST `userIds` to the channel's members as `actor`."""
    return client.post(
        f"{CHANNELS}/{channel_id}/members", json={"userIds": list(user_ids)}, headers=actor.headers
    )


def remove_member(
    client: TestClient, actor: SeededUser, channel_id: str, user_id: int
) -> httpx.Response:
    """DELETE a member of the channel as `actor`."""
    return client.delete(f"{CHANNELS}/{channel_id}/members/{user_id}", headers=actor.headers)


def member_ids(client: TestClient, user: SeededUser, channel_id: str) -> set[int]:
    """Ids of the channel's members, as `user` sees them."""
    response = client.get(f"{CHANNELS}/{channel_id}/members", headers=user.headers)
    assert response.status_code == 200, response.text
    return {member["id"] for member in response.json()["members"]}


def is_uuid(value: str) -> bool:
    """Whether `value` is a UUID in canonical text form."""
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert a Buzz (Domo-style) error with `status` and return its body."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["path"] == response.request.url.path
    assert isinstance(body["message"], str)
    assert body["message"]
    return body


def error_fields(response: httpx.Response) -> list[str]:
    """The fields named by a 400 validation error."""
    body = assert_error(response, 400)
    return [error["field"] for error in body["errors"]]


def listed_ids(
    client: TestClient, user: SeededUser, url: str, key: str, **params: Any
) -> list[Any]:
    """Ids of the items a list route answers with."""
    response = client.get(url, params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()[key]]


def assert_paginates(
    client: TestClient, user: SeededUser, url: str, key: str, expected: set[Any]
) -> None:
    """The route pages `expected` (more than 50 items) with limit (default 50, ≤ 500) and offset."""
    assert len(expected) > 50
    everything = listed_ids(client, user, url, key, limit=500)
    assert set(everything) == expected
    assert len(everything) == len(expected)
    assert listed_ids(client, user, url, key) == everything[:50], "default limit is 50"
    window = listed_ids(client, user, url, key, limit=2, offset=1)
    assert window == everything[1:3], "limit=2&offset=1 is the 2nd and 3rd items"
    assert listed_ids(client, user, url, key, offset=len(everything)) == [], "offset past the end"
    for params, field in [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"offset": -1}, "offset"),
    ]:
        response = client.get(url, params=params, headers=user.headers)
        assert error_fields(response) == [field], params
