"""SPEC §2.2: posting messages and reading a channel's history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from buzz.clock import ManualClock
from buzz.testing import SeededUser
from tests.platform.helpers import (
    CHANNELS,
    add_members,
    assert_error,
    assert_paginates,
    error_fields,
    is_uuid,
    make_channel,
    make_thread,
    post_message,
)


def history_url(channel_id: str) -> str:
    return f"{CHANNELS}/{channel_id}/messages"


def history(client: TestClient, user: SeededUser, channel_id: str, **params: Any) -> dict[str, Any]:
    response = client.get(history_url(channel_id), params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def post_texts(client: TestClient, user: SeededUser, channel_id: str, count: int) -> list[str]:
    """Post `count` messages and return their ids, oldest first."""
    ids = []
    for i in range(count):
        response = post_message(client, user, channel_id, f"message {i}")
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def test_post_message_returns_201_with_the_message(
    client: TestClient, clock: ManualClock, alice: SeededUser
) -> None:
    channel = make_channel(client, alice)
    response = post_message(client, alice, channel["id"], "Hello, team")
    assert response.status_code == 201
    message = response.json()
    assert set(message) == {"id", "channelId", "text", "author", "createdAt", "kind"}
    assert is_uuid(message["id"])
    assert message["channelId"] == channel["id"]
    assert message["text"] == "Hello, team"
    assert message["author"] == {
        "id": alice.id,
        "displayName": "Alice Archer",
        "email": "alice@acme.com",
    }
    assert datetime.fromisoformat(message["createdAt"]) == clock.now
    assert message["kind"] == "MESSAGE"


def test_posted_message_appears_in_history(client: TestClient, alice: SeededUser) -> None:
    channel = make_channel(client, alice)
    message = post_message(client, alice, channel["id"], "hi").json()
    assert history(client, alice, channel["id"]) == {"messages": [message], "next": None}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"text": ""}, id="empty"),
        pytest.param({"text": "   "}, id="blank"),
        pytest.param({"text": "\n\t \r\n"}, id="whitespace"),
        pytest.param({"text": "x" * 10_001}, id="10001-chars"),
        pytest.param({}, id="missing"),
        pytest.param({"text": None}, id="null"),
        pytest.param({"text": ["hi"]}, id="not-a-string"),
    ],
)
def test_invalid_text_is_400_on_text(
    client: TestClient, alice: SeededUser, body: dict[str, Any]
) -> None:
    channel = make_channel(client, alice)
    response = client.post(history_url(channel["id"]), json=body, headers=alice.headers)
    assert error_fields(response) == ["text"]
    assert history(client, alice, channel["id"])["messages"] == []


@pytest.mark.parametrize(
    "text", [pytest.param("x" * 10_000, id="ascii"), pytest.param("é😀" * 5_000, id="unicode")]
)
def test_message_of_exactly_10000_chars_is_accepted(
    client: TestClient, alice: SeededUser, text: str
) -> None:
    channel = make_channel(client, alice)
    response = post_message(client, alice, channel["id"], text)
    assert response.status_code == 201
    assert response.json()["text"] == text


def test_one_char_message_is_accepted(client: TestClient, alice: SeededUser) -> None:
    channel = make_channel(client, alice)
    assert post_message(client, alice, channel["id"], "k").status_code == 201


def test_anyone_can_post_in_a_public_channel(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    channel = make_channel(client, alice)
    response = post_message(client, bob, channel["id"])
    assert response.status_code == 201
    assert response.json()["author"]["id"] == bob.id


def test_non_member_cannot_post_in_or_read_a_private_channel(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    channel = make_channel(client, alice, visibility="PRIVATE")
    post_message(client, alice, channel["id"])
    assert_error(post_message(client, bob, channel["id"]), 404)
    assert_error(client.get(history_url(channel["id"]), headers=bob.headers), 404)


def test_member_can_post_in_a_private_channel(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    channel = make_channel(client, alice, visibility="PRIVATE")
    add_members(client, alice, channel["id"], bob.id)
    assert post_message(client, bob, channel["id"]).status_code == 201


def test_posting_to_unknown_channel_is_404(client: TestClient, alice: SeededUser) -> None:
    assert_error(post_message(client, alice, "00000000-0000-4000-8000-000000000000"), 404)


def test_history_is_newest_first(client: TestClient, clock: ManualClock, alice: SeededUser) -> None:
    channel = make_channel(client, alice)
    ids = []
    for _ in range(3):
        clock.advance(seconds=1)
        ids.append(post_message(client, alice, channel["id"]).json()["id"])
    page = history(client, alice, channel["id"])
    assert [m["id"] for m in page["messages"]] == ids[::-1]
    assert page["next"] is None


def test_history_of_a_new_channel_is_empty(client: TestClient, alice: SeededUser) -> None:
    channel = make_channel(client, alice)
    assert history(client, alice, channel["id"]) == {"messages": [], "next": None}


@pytest.mark.parametrize(("count", "limit"), [(7, 3), (6, 3), (5, 1), (3, 10)])
def test_next_cursor_walks_every_page_exactly_once(
    client: TestClient, alice: SeededUser, count: int, limit: int
) -> None:
    channel = make_channel(client, alice)
    posted = post_texts(client, alice, channel["id"], count)

    seen: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    for _ in range(count + 1):
        page = history(client, alice, channel["id"], **params)
        assert 0 < len(page["messages"]) <= limit
        seen += [m["id"] for m in page["messages"]]
        if page["next"] is None:
            break
        params = {"limit": limit, "before": page["next"]}
    assert seen == posted[::-1]


def test_history_default_page_is_the_50_newest(client: TestClient, alice: SeededUser) -> None:
    channel = make_channel(client, alice)
    posted = post_texts(client, alice, channel["id"], 51)
    page = history(client, alice, channel["id"])
    assert [m["id"] for m in page["messages"]] == posted[::-1][:50]
    assert page["next"] is not None


def test_history_is_paginated_with_limit_and_offset(client: TestClient, alice: SeededUser) -> None:
    channel = make_channel(client, alice)
    posted = post_texts(client, alice, channel["id"], 51)
    assert_paginates(client, alice, history_url(channel["id"]), "messages", set(posted))


@pytest.mark.parametrize("limit", [0, 501, -1, "all"])
def test_history_limit_out_of_range_is_400(
    client: TestClient, alice: SeededUser, limit: Any
) -> None:
    channel = make_channel(client, alice)
    response = client.get(
        history_url(channel["id"]), params={"limit": limit}, headers=alice.headers
    )
    assert error_fields(response) == ["limit"]


def test_history_accepts_limit_500(client: TestClient, alice: SeededUser) -> None:
    channel = make_channel(client, alice)
    post_texts(client, alice, channel["id"], 2)
    assert len(history(client, alice, channel["id"], limit=500)["messages"]) == 2


def test_unknown_before_cursor_is_400(client: TestClient, alice: SeededUser) -> None:
    channel = make_channel(client, alice)
    post_texts(client, alice, channel["id"], 2)
    response = client.get(
        history_url(channel["id"]), params={"before": "not-a-cursor"}, headers=alice.headers
    )
    assert error_fields(response) == ["before"]


def test_cursor_of_another_channel_is_400(client: TestClient, alice: SeededUser) -> None:
    channel, other = make_channel(client, alice), make_channel(client, alice)
    post_texts(client, alice, channel["id"], 1)
    (foreign,) = post_texts(client, alice, other["id"], 1)
    response = client.get(
        history_url(channel["id"]), params={"before": foreign}, headers=alice.headers
    )
    assert error_fields(response) == ["before"]


def test_thread_messages_stay_out_of_the_parents_history(
    client: TestClient, alice: SeededUser
) -> None:
    parent = make_channel(client, alice)
    thread = make_thread(client, alice, parent["id"])
    in_parent = post_message(client, alice, parent["id"], "top").json()
    in_thread = post_message(client, alice, thread["id"], "reply").json()
    assert history(client, alice, parent["id"])["messages"] == [in_parent]
    assert history(client, alice, thread["id"])["messages"] == [in_thread]
