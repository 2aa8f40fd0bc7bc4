"""SPEC §2.2: creating, listing and reading channels, and who can see them."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from buzz.testing import SeededUser
from tests.platform.helpers import (
    CHANNELS,
    add_members,
    assert_error,
    assert_paginates,
    error_fields,
    is_uuid,
    listed_ids,
    make_channel,
    member_ids,
)


def visible_channel_ids(client: TestClient, user: SeededUser) -> set[str]:
    return set(listed_ids(client, user, CHANNELS, "channels", limit=500))


@pytest.mark.parametrize("visibility", ["PUBLIC", "PRIVATE"])
def test_create_channel_returns_201_with_uuid_that_is_its_own_parent(
    client: TestClient, alice: SeededUser, visibility: str
) -> None:
    response = client.post(
        CHANNELS, json={"title": "Launch", "visibility": visibility}, headers=alice.headers
    )
    assert response.status_code == 201
    channel = response.json()
    assert set(channel) == {"id", "title", "visibility", "parentId"}
    assert is_uuid(channel["id"])
    assert channel["parentId"] == channel["id"]
    assert channel["title"] == "Launch"
    assert channel["visibility"] == visibility


def test_new_channels_get_distinct_ids(client: TestClient, alice: SeededUser) -> None:
    ids = {make_channel(client, alice, title=f"c{i}")["id"] for i in range(3)}
    assert len(ids) == 3


def test_visibility_defaults_to_public(client: TestClient, alice: SeededUser) -> None:
    response = client.post(CHANNELS, json={"title": "general"}, headers=alice.headers)
    assert response.status_code == 201
    assert response.json()["visibility"] == "PUBLIC"


def test_creator_is_the_first_member(client: TestClient, alice: SeededUser) -> None:
    channel = make_channel(client, alice, visibility="PRIVATE")
    assert member_ids(client, alice, channel["id"]) == {alice.id}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="missing"),
        pytest.param({"title": ""}, id="empty"),
        pytest.param({"title": "   \t "}, id="blank"),
        pytest.param({"title": None}, id="null"),
        pytest.param({"title": 42}, id="not-a-string"),
    ],
)
def test_channel_without_a_title_is_400_on_title(
    client: TestClient, alice: SeededUser, body: dict[str, Any]
) -> None:
    response = client.post(CHANNELS, json=body, headers=alice.headers)
    assert error_fields(response) == ["title"]


@pytest.mark.parametrize("visibility", ["SECRET", "", 1])
def test_unknown_visibility_is_400_on_visibility(
    client: TestClient, alice: SeededUser, visibility: Any
) -> None:
    response = client.post(
        CHANNELS, json={"title": "general", "visibility": visibility}, headers=alice.headers
    )
    assert error_fields(response) == ["visibility"]


def test_a_null_visibility_means_absent_public(client: TestClient, alice: SeededUser) -> None:
    # SPEC §2.3: null for an optional field means absent, in every Buzz body.
    response = client.post(
        CHANNELS, json={"title": "general", "visibility": None}, headers=alice.headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["visibility"] == "PUBLIC"


def test_invalid_channel_is_not_created(client: TestClient, alice: SeededUser) -> None:
    client.post(CHANNELS, json={"title": " ", "visibility": "PUBLIC"}, headers=alice.headers)
    assert visible_channel_ids(client, alice) == set()


def test_channel_list_shows_public_channels_and_own_private_ones(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    public = make_channel(client, alice, title="public")
    alices_private = make_channel(client, alice, title="alice only", visibility="PRIVATE")
    bobs_private = make_channel(client, bob, title="bob only", visibility="PRIVATE")

    assert visible_channel_ids(client, alice) == {public["id"], alices_private["id"]}
    assert visible_channel_ids(client, bob) == {public["id"], bobs_private["id"]}


def test_channel_list_shows_private_channel_once_added(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    private = make_channel(client, alice, visibility="PRIVATE")
    assert add_members(client, alice, private["id"], bob.id).status_code == 200
    assert private["id"] in visible_channel_ids(client, bob)


def test_channel_list_items_are_channels(client: TestClient, alice: SeededUser) -> None:
    channel = make_channel(client, alice, title="general")
    response = client.get(CHANNELS, headers=alice.headers)
    assert response.status_code == 200
    assert response.json() == {"channels": [channel]}


def test_get_channel_returns_it(client: TestClient, alice: SeededUser, bob: SeededUser) -> None:
    channel = make_channel(client, alice)
    response = client.get(f"{CHANNELS}/{channel['id']}", headers=bob.headers)
    assert response.status_code == 200
    assert response.json() == channel


def test_member_can_get_private_channel(client: TestClient, alice: SeededUser) -> None:
    channel = make_channel(client, alice, visibility="PRIVATE")
    response = client.get(f"{CHANNELS}/{channel['id']}", headers=alice.headers)
    assert response.status_code == 200
    assert response.json() == channel


def test_non_member_cannot_see_private_channel(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    channel = make_channel(client, alice, visibility="PRIVATE")
    response = client.get(f"{CHANNELS}/{channel['id']}", headers=bob.headers)
    body = assert_error(response, 404)
    assert body["statusReason"] == "Not Found"


def test_private_channel_looks_like_an_unknown_one_to_non_members(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    channel = make_channel(client, alice, visibility="PRIVATE")
    hidden = client.get(f"{CHANNELS}/{channel['id']}", headers=bob.headers)
    unknown = client.get(f"{CHANNELS}/00000000-0000-4000-8000-000000000000", headers=bob.headers)
    assert hidden.status_code == unknown.status_code == 404


def test_channel_list_is_paginated_with_limit_and_offset(
    client: TestClient, alice: SeededUser
) -> None:
    created = {make_channel(client, alice, title=f"channel {i}")["id"] for i in range(52)}
    assert_paginates(client, alice, CHANNELS, "channels", created)
