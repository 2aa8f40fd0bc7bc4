"""SPEC §2.2: threads are channels under a parent, with the parent's visibility and members."""

from __future__ import annotations

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
    make_thread,
    member_ids,
    post_message,
    remove_member,
)


def thread_url(channel_id: str) -> str:
    return f"{CHANNELS}/{channel_id}/threads"


@pytest.mark.parametrize("visibility", ["PUBLIC", "PRIVATE"])
def test_create_thread_returns_201_with_the_parent_as_parent_id(
    client: TestClient, alice: SeededUser, visibility: str
) -> None:
    parent = make_channel(client, alice, visibility=visibility)
    response = client.post(
        thread_url(parent["id"]), json={"title": "Q3 plans"}, headers=alice.headers
    )
    assert response.status_code == 201
    thread = response.json()
    assert set(thread) == {"id", "title", "visibility", "parentId"}
    assert is_uuid(thread["id"])
    assert thread["id"] != parent["id"]
    assert thread["parentId"] == parent["id"]
    assert thread["title"] == "Q3 plans"
    assert thread["visibility"] == visibility


def test_thread_can_be_read_back(client: TestClient, alice: SeededUser) -> None:
    thread = make_thread(client, alice, make_channel(client, alice)["id"])
    response = client.get(f"{CHANNELS}/{thread['id']}", headers=alice.headers)
    assert response.status_code == 200
    assert response.json() == thread


def test_anyone_can_start_a_thread_in_a_public_channel(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    parent = make_channel(client, alice)
    thread = make_thread(client, bob, parent["id"])
    assert thread["parentId"] == parent["id"]


@pytest.mark.parametrize("title", ["", "   ", None])
def test_thread_without_a_title_is_400_on_title(
    client: TestClient, alice: SeededUser, title: str | None
) -> None:
    parent = make_channel(client, alice)
    response = client.post(thread_url(parent["id"]), json={"title": title}, headers=alice.headers)
    assert error_fields(response) == ["title"]


def test_thread_of_a_thread_is_400(client: TestClient, alice: SeededUser) -> None:
    thread = make_thread(client, alice, make_channel(client, alice)["id"])
    response = client.post(
        thread_url(thread["id"]), json={"title": "deeper"}, headers=alice.headers
    )
    assert_error(response, 400)


def test_non_member_cannot_see_a_private_channels_thread(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    parent = make_channel(client, alice, visibility="PRIVATE")
    thread = make_thread(client, alice, parent["id"])
    assert_error(client.get(f"{CHANNELS}/{thread['id']}", headers=bob.headers), 404)
    assert_error(client.get(thread_url(parent["id"]), headers=bob.headers), 404)
    assert_error(client.get(f"{CHANNELS}/{thread['id']}/messages", headers=bob.headers), 404)
    assert_error(post_message(client, bob, thread["id"]), 404)


def test_non_member_cannot_start_a_thread_in_a_private_channel(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    parent = make_channel(client, alice, visibility="PRIVATE")
    response = client.post(thread_url(parent["id"]), json={"title": "x"}, headers=bob.headers)
    assert_error(response, 404)
    assert listed_ids(client, alice, thread_url(parent["id"]), "channels") == []


def test_members_can_post_in_a_private_channels_thread(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    parent = make_channel(client, alice, visibility="PRIVATE")
    thread = make_thread(client, alice, parent["id"])
    add_members(client, alice, parent["id"], bob.id)
    response = post_message(client, bob, thread["id"], "in the thread")
    assert response.status_code == 201
    assert response.json()["channelId"] == thread["id"]


def test_thread_access_follows_parent_membership(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    parent = make_channel(client, alice, visibility="PRIVATE")
    thread = make_thread(client, alice, parent["id"])
    thread_path = f"{CHANNELS}/{thread['id']}"

    add_members(client, alice, parent["id"], bob.id)
    assert client.get(thread_path, headers=bob.headers).status_code == 200

    remove_member(client, alice, parent["id"], bob.id)
    assert client.get(thread_path, headers=bob.headers).status_code == 404


def test_thread_members_are_the_parents(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    parent = make_channel(client, alice, visibility="PRIVATE")
    thread = make_thread(client, alice, parent["id"])
    add_members(client, alice, parent["id"], bob.id)
    assert member_ids(client, alice, thread["id"]) == {alice.id, bob.id}


def test_thread_list_shows_the_channels_threads_only(client: TestClient, alice: SeededUser) -> None:
    parent, other = make_channel(client, alice), make_channel(client, alice)
    mine = {make_thread(client, alice, parent["id"], title=f"t{i}")["id"] for i in range(2)}
    make_thread(client, alice, other["id"])
    assert set(listed_ids(client, alice, thread_url(parent["id"]), "channels")) == mine


def test_thread_list_is_paginated_with_limit_and_offset(
    client: TestClient, alice: SeededUser
) -> None:
    parent = make_channel(client, alice)
    threads = {make_thread(client, alice, parent["id"], title=f"t{i}")["id"] for i in range(51)}
    assert_paginates(client, alice, thread_url(parent["id"]), "channels", threads)
