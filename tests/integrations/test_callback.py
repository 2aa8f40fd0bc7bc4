"""The callback an integration posts back through, with the token of an event (SPEC §2.6)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from buzz.clock import ManualClock
from buzz.integrations.models import CallbackToken
from buzz.security import random_token
from buzz.testing import SeededUser, deliver_due
from tests.integrations.conftest import (
    bot_token,
    history,
    post,
    post_as_bot,
    received_events,
    subscribe,
)
from tests.integrations.helpers import (
    INTEGRATIONS,
    assert_bad_request,
    assert_error,
    leave_channel,
    make_channel,
    make_integration,
    make_thread,
)
from tests.support.https_receiver import HttpsReceiver


@pytest.fixture
def app(live_app: FastAPI) -> FastAPI:
    """Every app of this module delivers to the local receiver."""
    return live_app


@dataclass(frozen=True)
class Grant:
    """What an integration got with one event: where to post back, and the token to post with."""

    integration: dict[str, Any]
    channel_id: str
    token: str


def bot_tokens_of_a_new_message(
    app: FastAPI, client: TestClient, receiver: HttpsReceiver, author: SeededUser, channel_id: str
) -> list[str]:
    """Post a message in the channel, deliver it, and return the bot tokens that arrived."""
    already = len(received_events(receiver))
    post(client, author, channel_id, "hello bots")
    deliver_due(app)
    return [bot_token(event) for event in received_events(receiver)[already:]]


def grant_for(
    app: FastAPI,
    client: TestClient,
    receiver: HttpsReceiver,
    *,
    owner: SeededUser,
    author: SeededUser,
    channel_id: str,
    **integration_fields: Any,
) -> Grant:
    """An integration of `owner` listening to messages, and the token of `author`'s message."""
    integration = make_integration(client, owner, **integration_fields)
    subscribe(client, owner, integration["id"], receiver, "MESSAGE_POSTED")
    [token] = bot_tokens_of_a_new_message(app, client, receiver, author, channel_id)
    return Grant(integration, channel_id, token)


@pytest.fixture
def grant(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
) -> Grant:
    """Alice's "Weather" (PUBLIC_CHANNELS) heard bob in his public channel "General"."""
    channel = make_channel(live_client, bob, title="General")
    return grant_for(
        app, live_client, receiver, owner=alice, author=bob, channel_id=channel, name="Weather"
    )


def say(client: TestClient, grant: Grant, text: str = "Sunny, 21 °C") -> httpx.Response:
    """Post `text` back into the grant's channel with its token."""
    return post_as_bot(client, grant.channel_id, grant.token, {"content": {"text": text}})


# --- posting -------------------------------------------------------------------------------------


def test_bot_message_appears_in_the_channel_with_the_integrations_name(
    live_client: TestClient, bob: SeededUser, grant: Grant
) -> None:
    response = say(live_client, grant, "Sunny, 21 °C")

    assert response.status_code == 201, response.text
    author = {"integrationId": grant.integration["id"], "name": "Weather"}
    created = response.json()
    assert created["text"] == "Sunny, 21 °C"
    assert created["channelId"] == grant.channel_id
    assert created["author"] == author
    newest = history(live_client, bob, grant.channel_id)[0]
    assert newest["id"] == created["id"]
    assert newest["text"] == "Sunny, 21 °C"
    assert newest["author"] == author


def test_plain_text_body_is_accepted_too(
    live_client: TestClient, bob: SeededUser, grant: Grant
) -> None:
    response = post_as_bot(live_client, grant.channel_id, grant.token, {"text": "Rain later"})

    assert response.status_code == 201, response.text
    assert history(live_client, bob, grant.channel_id)[0]["text"] == "Rain later"


def test_text_of_exactly_ten_thousand_characters_is_accepted(
    live_client: TestClient, grant: Grant
) -> None:
    response = say(live_client, grant, "x" * 10_000)

    assert response.status_code == 201, response.text
    assert response.json()["text"] == "x" * 10_000


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content": {"text": ""}}, "content.text"),
        ({"content": {"text": "x" * 10_001}}, "content.text"),
        ({"text": ""}, "text"),
        ({"text": "x" * 10_001}, "text"),
    ],
    ids=["empty", "too-long", "plain-empty", "plain-too-long"],
)
def test_empty_or_too_long_text_is_a_400_in_domos_envelope(
    live_client: TestClient, bob: SeededUser, grant: Grant, body: dict[str, Any], field: str
) -> None:
    before = history(live_client, bob, grant.channel_id)

    assert_bad_request(post_as_bot(live_client, grant.channel_id, grant.token, body), field)
    assert history(live_client, bob, grant.channel_id) == before


def test_bot_message_in_a_thread_stays_in_the_thread(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
) -> None:
    parent = make_channel(live_client, bob)
    thread = make_thread(live_client, bob, parent)
    grant = grant_for(app, live_client, receiver, owner=alice, author=bob, channel_id=thread)

    assert say(live_client, grant, "in the thread").status_code == 201
    assert history(live_client, bob, thread)[0]["text"] == "in the thread"
    assert "in the thread" not in [m["text"] for m in history(live_client, bob, parent)]
    assert_error(post_as_bot(live_client, parent, grant.token, {"text": "parent"}), 403)


# --- the token -----------------------------------------------------------------------------------


def test_missing_token_is_401(live_client: TestClient, grant: Grant) -> None:
    assert_error(post_as_bot(live_client, grant.channel_id, None, {"text": "hi"}), 401)


def test_forged_token_is_401(live_client: TestClient, grant: Grant) -> None:
    assert_error(post_as_bot(live_client, grant.channel_id, random_token(32), {"text": "hi"}), 401)


def test_token_expires_one_hour_after_the_event(
    live_client: TestClient, clock: ManualClock, grant: Grant
) -> None:
    clock.advance(minutes=59, seconds=59)
    assert say(live_client, grant).status_code == 201

    clock.advance(seconds=2)
    assert_error(say(live_client, grant), 401)


def test_token_an_hour_and_a_minute_old_is_401(
    live_client: TestClient, clock: ManualClock, grant: Grant
) -> None:
    clock.advance(minutes=61)
    assert_error(say(live_client, grant), 401)


def test_token_is_bound_to_its_channel(
    live_client: TestClient, bob: SeededUser, grant: Grant
) -> None:
    other = make_channel(live_client, bob, title="Other")

    assert_error(post_as_bot(live_client, other, grant.token, {"text": "wrong room"}), 403)
    assert history(live_client, bob, other) == []


def test_token_of_a_deleted_integration_is_401(
    live_client: TestClient, alice: SeededUser, grant: Grant
) -> None:
    deleted = live_client.delete(f"{INTEGRATIONS}/{grant.integration['id']}", headers=alice.headers)
    assert deleted.status_code == 204

    assert_error(say(live_client, grant), 401)


@pytest.mark.parametrize("scope", ["OWNER_ACCESS", "CHANNEL_LIST"])
def test_token_of_an_integration_no_longer_active_on_the_channel_is_403(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
    scope: str,
) -> None:
    room = make_channel(live_client, bob, visibility="PRIVATE", members=(alice,))
    listed = {"channelIds": [room]} if scope == "CHANNEL_LIST" else {}
    grant = grant_for(
        app, live_client, receiver, owner=alice, author=bob, channel_id=room, scope=scope, **listed
    )
    leave_channel(live_client, alice, room)

    assert_error(say(live_client, grant), 403)
    assert history(live_client, bob, room)[0]["text"] == "hello bots"


def test_sixty_first_post_in_a_minute_is_429_but_another_token_is_unaffected(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    bob: SeededUser,
    grant: Grant,
) -> None:
    [other_token] = bot_tokens_of_a_new_message(app, live_client, receiver, bob, grant.channel_id)

    started = time.time()
    statuses = [say(live_client, grant, f"post {n}").status_code for n in range(60)]
    assert statuses == [201] * 60
    refused = say(live_client, grant, "one too many")
    elapsed = time.time() - started
    assert_error(refused, 429)
    # The window frees when its first post, made `elapsed` ago at most, is a minute old.
    assert 60 - math.ceil(elapsed) <= int(refused.headers["Retry-After"]) <= 60
    other = post_as_bot(live_client, grant.channel_id, other_token, {"text": "still fine"})
    assert other.status_code == 201, other.text


def test_tokens_are_stored_hashed(app: FastAPI, grant: Grant) -> None:
    with app.state.database.session() as session:
        rows = session.execute(select(CallbackToken.__table__)).all()
    assert rows, "the event issued no token"
    assert all(grant.token not in str(value) for row in rows for value in row)
