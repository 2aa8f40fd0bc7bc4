"""SPEC §2.2: joining, adding and removing channel members."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from buzz.testing import SeededUser, seed_user
from tests.platform.helpers import (
    CHANNELS,
    add_members,
    assert_error,
    assert_paginates,
    error_fields,
    make_channel,
    member_ids,
    remove_member,
)


def user_json(user: SeededUser) -> dict[str, Any]:
    return {"id": user.id, "displayName": user.display_name, "email": user.email}


def test_anyone_can_join_a_public_channel_themselves(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    channel = make_channel(client, alice)
    response = add_members(client, bob, channel["id"], bob.id)
    assert response.status_code == 200
    assert response.json() == {"users": [user_json(bob)]}
    assert member_ids(client, alice, channel["id"]) == {alice.id, bob.id}


def test_non_member_cannot_add_someone_else_to_a_public_channel(
    client: TestClient, alice: SeededUser, bob: SeededUser, carol: SeededUser
) -> None:
    channel = make_channel(client, alice)
    assert_error(add_members(client, bob, channel["id"], carol.id), 403)
    assert member_ids(client, alice, channel["id"]) == {alice.id}


def test_non_member_cannot_bring_others_along_when_joining(
    client: TestClient, alice: SeededUser, bob: SeededUser, carol: SeededUser
) -> None:
    channel = make_channel(client, alice)
    assert_error(add_members(client, bob, channel["id"], bob.id, carol.id), 403)
    assert member_ids(client, alice, channel["id"]) == {alice.id}


def test_member_adds_others_to_a_private_channel(
    client: TestClient, alice: SeededUser, bob: SeededUser, carol: SeededUser
) -> None:
    channel = make_channel(client, alice, visibility="PRIVATE")
    response = add_members(client, alice, channel["id"], bob.id, carol.id)
    assert response.status_code == 200
    assert response.json() == {"users": [user_json(bob), user_json(carol)]}
    assert client.get(f"{CHANNELS}/{channel['id']}", headers=bob.headers).status_code == 200


def test_added_member_can_add_others_in_turn(
    client: TestClient, alice: SeededUser, bob: SeededUser, carol: SeededUser
) -> None:
    channel = make_channel(client, alice, visibility="PRIVATE")
    add_members(client, alice, channel["id"], bob.id)
    response = add_members(client, bob, channel["id"], carol.id)
    assert response.status_code == 200
    assert response.json() == {"users": [user_json(carol)]}


def test_adding_existing_members_returns_an_empty_list(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    channel = make_channel(client, alice, visibility="PRIVATE")
    add_members(client, alice, channel["id"], bob.id)
    response = add_members(client, alice, channel["id"], alice.id, bob.id)
    assert response.status_code == 200
    assert response.json() == {"users": []}
    assert member_ids(client, alice, channel["id"]) == {alice.id, bob.id}


def test_answer_lists_only_users_who_were_not_members_yet(
    client: TestClient, alice: SeededUser, bob: SeededUser, carol: SeededUser
) -> None:
    channel = make_channel(client, alice, visibility="PRIVATE")
    add_members(client, alice, channel["id"], bob.id)
    response = add_members(client, alice, channel["id"], bob.id, carol.id, alice.id)
    assert response.json() == {"users": [user_json(carol)]}


def test_a_user_listed_twice_joins_once(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    channel = make_channel(client, alice)
    response = add_members(client, alice, channel["id"], bob.id, bob.id)
    assert response.json() == {"users": [user_json(bob)]}
    assert member_ids(client, alice, channel["id"]) == {alice.id, bob.id}


def test_unknown_user_id_is_400_on_user_ids_and_adds_no_one(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    channel = make_channel(client, alice)
    response = add_members(client, alice, channel["id"], bob.id, 987_654)
    assert error_fields(response) == ["userIds"]
    assert member_ids(client, alice, channel["id"]) == {alice.id}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="missing"),
        pytest.param({"userIds": []}, id="empty"),
        pytest.param({"userIds": "everyone"}, id="not-a-list"),
        pytest.param({"userIds": ["bob"]}, id="not-ids"),
    ],
)
def test_malformed_user_ids_are_400_on_user_ids(
    client: TestClient, alice: SeededUser, body: dict[str, Any]
) -> None:
    channel = make_channel(client, alice)
    response = client.post(f"{CHANNELS}/{channel['id']}/members", json=body, headers=alice.headers)
    fields = error_fields(response)
    assert fields
    assert all(field.startswith("userIds") for field in fields)


def test_non_member_of_private_channel_gets_404_when_adding(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    channel = make_channel(client, alice, visibility="PRIVATE")
    assert_error(add_members(client, bob, channel["id"], bob.id), 404)
    assert member_ids(client, alice, channel["id"]) == {alice.id}


def test_adding_to_unknown_channel_is_404(client: TestClient, alice: SeededUser) -> None:
    response = add_members(client, alice, "00000000-0000-4000-8000-000000000000", alice.id)
    assert_error(response, 404)


def test_member_can_leave_a_channel(client: TestClient, alice: SeededUser, bob: SeededUser) -> None:
    channel = make_channel(client, alice)
    add_members(client, bob, channel["id"], bob.id)
    response = remove_member(client, bob, channel["id"], bob.id)
    assert response.status_code == 204
    assert response.content == b""
    assert member_ids(client, alice, channel["id"]) == {alice.id}


def test_leaving_a_private_channel_loses_access(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    channel = make_channel(client, alice, visibility="PRIVATE")
    add_members(client, alice, channel["id"], bob.id)
    assert remove_member(client, bob, channel["id"], bob.id).status_code == 204
    assert_error(client.get(f"{CHANNELS}/{channel['id']}", headers=bob.headers), 404)


def test_creator_can_remove_another_member(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    channel = make_channel(client, alice, visibility="PRIVATE")
    add_members(client, alice, channel["id"], bob.id)
    assert remove_member(client, alice, channel["id"], bob.id).status_code == 204
    assert member_ids(client, alice, channel["id"]) == {alice.id}


def test_non_creator_cannot_remove_someone_else(
    client: TestClient, alice: SeededUser, bob: SeededUser, carol: SeededUser
) -> None:
    channel = make_channel(client, alice, visibility="PRIVATE")
    add_members(client, alice, channel["id"], bob.id, carol.id)
    assert_error(remove_member(client, bob, channel["id"], carol.id), 403)
    assert_error(remove_member(client, bob, channel["id"], alice.id), 403)
    assert member_ids(client, alice, channel["id"]) == {alice.id, bob.id, carol.id}


def test_removing_a_non_member_is_404(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    channel = make_channel(client, alice)
    assert_error(remove_member(client, alice, channel["id"], bob.id), 404)
    assert_error(remove_member(client, bob, channel["id"], bob.id), 404)


def test_non_member_cannot_remove_from_private_channel(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    channel = make_channel(client, alice, visibility="PRIVATE")
    assert_error(remove_member(client, bob, channel["id"], alice.id), 404)
    assert member_ids(client, alice, channel["id"]) == {alice.id}


def test_member_list_of_private_channel_is_hidden_from_non_members(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    channel = make_channel(client, alice, visibility="PRIVATE")
    response = client.get(f"{CHANNELS}/{channel['id']}/members", headers=bob.headers)
    assert_error(response, 404)


def test_member_list_is_paginated_with_limit_and_offset(
    app: FastAPI, client: TestClient, alice: SeededUser
) -> None:
    channel = make_channel(client, alice)
    others = [seed_user(app, display_name=f"User {i}") for i in range(51)]
    assert add_members(client, alice, channel["id"], *(u.id for u in others)).status_code == 200
    url = f"{CHANNELS}/{channel['id']}/members"
    assert_paginates(client, alice, url, "members", {alice.id, *(u.id for u in others)})
