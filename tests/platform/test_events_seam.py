"""The platform publishes chat events inside the transaction of the change (SPEC §2.2, §2.5)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from buzz.clock import ManualClock
from buzz.platform import events
from buzz.platform.models import Message
from buzz.testing import SeededUser
from tests.platform.helpers import (
    CHANNELS,
    add_members,
    assert_error,
    make_channel,
    make_thread,
    member_ids,
    post_message,
    remove_member,
)


def snapshot(event: events.ChannelEvent) -> dict[str, Any]:
    """Every field of an event, as plain values taken while the transaction is open."""
    return {
        "type": event.type,
        "channel": event.channel.id,
        "occurred_at": event.occurred_at,
        "author": event.author.id if event.author else None,
        "message": (event.message.id, event.message.text) if event.message else None,
        "thread": (
            (event.thread.id, event.thread.parent_id, event.thread.title) if event.thread else None
        ),
        "users": [user.id for user in event.users],
    }


@pytest.fixture
def published(app: FastAPI) -> Iterator[list[dict[str, Any]]]:
    """Snapshots of the events published while the test runs."""
    seen: list[dict[str, Any]] = []

    def record(_session: Session, event: events.ChannelEvent) -> None:
        seen.append(snapshot(event))

    with events.EVENT_BUS.of(app).listening(record):
        yield seen


def test_message_publishes_message_posted_with_author_and_message(
    client: TestClient, clock: ManualClock, alice: SeededUser, published: list[dict[str, Any]]
) -> None:
    channel = make_channel(client, alice)
    message = post_message(client, alice, channel["id"], "ship it").json()
    assert published == [
        {
            "type": "MESSAGE_POSTED",
            "channel": channel["id"],
            "occurred_at": clock.now,
            "author": alice.id,
            "message": (message["id"], "ship it"),
            "thread": None,
            "users": [],
        }
    ]


def test_message_in_a_thread_is_posted_on_the_thread(
    client: TestClient, alice: SeededUser, published: list[dict[str, Any]]
) -> None:
    thread = make_thread(client, alice, make_channel(client, alice)["id"])
    published.clear()
    post_message(client, alice, thread["id"])
    assert [(e["type"], e["channel"]) for e in published] == [("MESSAGE_POSTED", thread["id"])]


def test_thread_publishes_thread_created_on_the_parent(
    client: TestClient, clock: ManualClock, bob: SeededUser, published: list[dict[str, Any]]
) -> None:
    parent = make_channel(client, bob)
    thread = make_thread(client, bob, parent["id"], title="Q3 plans")
    assert published == [
        {
            "type": "THREAD_CREATED",
            "channel": parent["id"],
            "occurred_at": clock.now,
            "author": bob.id,
            "message": None,
            "thread": (thread["id"], parent["id"], "Q3 plans"),
            "users": [],
        }
    ]


def test_creating_a_channel_publishes_nothing(
    client: TestClient, alice: SeededUser, published: list[dict[str, Any]]
) -> None:
    make_channel(client, alice)
    assert published == []


def test_joining_publishes_users_joined_channel_with_the_new_users_only(
    client: TestClient,
    clock: ManualClock,
    alice: SeededUser,
    bob: SeededUser,
    carol: SeededUser,
    published: list[dict[str, Any]],
) -> None:
    channel = make_channel(client, alice, visibility="PRIVATE")
    add_members(client, alice, channel["id"], bob.id)
    add_members(client, alice, channel["id"], alice.id, bob.id, carol.id)
    joined = {
        "type": "USERS_JOINED_CHANNEL",
        "channel": channel["id"],
        "occurred_at": clock.now,
        "author": alice.id,
        "message": None,
        "thread": None,
    }
    assert published == [{**joined, "users": [bob.id]}, {**joined, "users": [carol.id]}]


def test_joining_a_public_channel_yourself_publishes_users_joined_channel(
    client: TestClient, alice: SeededUser, bob: SeededUser, published: list[dict[str, Any]]
) -> None:
    channel = make_channel(client, alice)
    add_members(client, bob, channel["id"], bob.id)
    assert [(e["type"], e["author"], e["users"]) for e in published] == [
        ("USERS_JOINED_CHANNEL", bob.id, [bob.id])
    ]


def test_adding_only_existing_members_publishes_nothing(
    client: TestClient, alice: SeededUser, bob: SeededUser, published: list[dict[str, Any]]
) -> None:
    channel = make_channel(client, alice)
    add_members(client, alice, channel["id"], bob.id)
    published.clear()
    response = add_members(client, alice, channel["id"], alice.id, bob.id)
    assert response.status_code == 200
    assert published == []


def test_refused_changes_publish_nothing(
    client: TestClient,
    alice: SeededUser,
    bob: SeededUser,
    carol: SeededUser,
    published: list[dict[str, Any]],
) -> None:
    channel = make_channel(client, alice, visibility="PRIVATE")
    add_members(client, alice, channel["id"], bob.id, carol.id)
    published.clear()
    assert_error(add_members(client, alice, channel["id"], 987_654), 400)
    assert_error(remove_member(client, bob, channel["id"], carol.id), 403)
    assert_error(post_message(client, alice, channel["id"], " "), 400)
    assert published == []


@pytest.mark.parametrize("remover", ["self", "creator"])
def test_leaving_publishes_users_left_channel(
    client: TestClient,
    clock: ManualClock,
    alice: SeededUser,
    bob: SeededUser,
    published: list[dict[str, Any]],
    remover: str,
) -> None:
    actor = bob if remover == "self" else alice
    channel = make_channel(client, alice)
    add_members(client, alice, channel["id"], bob.id)
    published.clear()
    assert remove_member(client, actor, channel["id"], bob.id).status_code == 204
    assert published == [
        {
            "type": "USERS_LEFT_CHANNEL",
            "channel": channel["id"],
            "occurred_at": clock.now,
            "author": actor.id,
            "message": None,
            "thread": None,
            "users": [bob.id],
        }
    ]


def test_listener_sees_the_change_in_its_session(client: TestClient, alice: SeededUser) -> None:
    found: list[str] = []

    def look_up(session: Session, event: events.ChannelEvent) -> None:
        assert event.message is not None
        row = session.scalar(select(Message).where(Message.id == event.message.id))
        found.append(row.text if row else "<missing>")

    channel = make_channel(client, alice)
    with events.EVENT_BUS.of(client.app).listening(look_up):
        post_message(client, alice, channel["id"], "visible already")
    assert found == ["visible already"]


def _history(client: TestClient, user: SeededUser, channel_id: str) -> list[str]:
    response = client.get(f"{CHANNELS}/{channel_id}/messages", headers=user.headers)
    return [m["text"] for m in response.json()["messages"]]


def _threads(client: TestClient, user: SeededUser, channel_id: str) -> list[str]:
    response = client.get(f"{CHANNELS}/{channel_id}/threads", headers=user.headers)
    return [t["title"] for t in response.json()["channels"]]


# Each case: the change (run while a listener raises), and what the channel looks like after it.
Change = Callable[[TestClient, SeededUser, SeededUser, str], httpx.Response]
Observe = Callable[[TestClient, SeededUser, SeededUser, str], Any]
ROLLBACK_CASES: dict[str, tuple[Change, Observe]] = {
    "message": (
        lambda c, a, b, ch: post_message(c, a, ch, "doomed"),
        lambda c, a, b, ch: _history(c, a, ch),
    ),
    "thread": (
        lambda c, a, b, ch: c.post(
            f"{CHANNELS}/{ch}/threads", json={"title": "doomed"}, headers=a.headers
        ),
        lambda c, a, b, ch: _threads(c, a, ch),
    ),
    "join": (
        lambda c, a, b, ch: add_members(c, a, ch, b.id),
        lambda c, a, b, ch: member_ids(c, a, ch),
    ),
    "leave": (
        lambda c, a, b, ch: remove_member(c, a, ch, a.id),
        lambda c, a, b, ch: member_ids(c, a, ch),
    ),
}


@pytest.mark.parametrize("case", ROLLBACK_CASES)
def test_change_is_rolled_back_when_a_listener_fails(
    app: FastAPI, alice: SeededUser, bob: SeededUser, case: str
) -> None:
    change, observe = ROLLBACK_CASES[case]

    def explode(_session: Session, _event: events.ChannelEvent) -> None:
        raise RuntimeError("listener failed")

    with TestClient(app, raise_server_exceptions=False) as client:
        channel = make_channel(client, alice)["id"]
        before = observe(client, alice, bob, channel)
        with events.EVENT_BUS.of(app).listening(explode):
            response = change(client, alice, bob, channel)
        assert_error(response, 500)
        assert observe(client, alice, bob, channel) == before


def test_listener_is_not_called_after_its_block(client: TestClient, alice: SeededUser) -> None:
    calls: list[datetime] = []
    with events.EVENT_BUS.of(client.app).listening(lambda _s, e: calls.append(e.occurred_at)):
        pass
    post_message(client, alice, make_channel(client, alice)["id"])
    assert calls == []
