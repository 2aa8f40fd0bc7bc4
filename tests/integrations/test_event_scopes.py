"""Who receives what: the active channels of each scope, decided when the event happens (SPEC §2.3,
§2.5), and what deleting a subscription or an integration does to later and pending events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from buzz.testing import SeededUser, deliver_due
from tests.integrations.conftest import (
    bot_token,
    history,
    post,
    received,
    received_events,
    subscribe,
)
from tests.integrations.helpers import (
    CHANNELS,
    INTEGRATIONS,
    add_members,
    leave_channel,
    make_channel,
    make_integration,
    make_thread,
    subscriptions_path,
)
from tests.support.https_receiver import HttpsReceiver


@pytest.fixture
def app(live_app: FastAPI) -> FastAPI:
    """Every app of this module delivers to the local receiver."""
    return live_app


def listening_integration(
    client: TestClient, owner: SeededUser, receiver: HttpsReceiver, **fields: Any
) -> dict[str, Any]:
    """An integration of `owner` subscribed to MESSAGE_POSTED (on /message_posted)."""
    integration = make_integration(client, owner, **fields)
    subscribe(client, owner, integration["id"], receiver, "MESSAGE_POSTED")
    return integration


def heard(app: FastAPI, receiver: HttpsReceiver, path: str | None = None) -> set[str]:
    """Deliver what is due; the texts of every message event that has reached the receiver."""
    deliver_due(app)
    return {event["message"]["text"] for event in received_events(receiver, path)}


def remove_member(client: TestClient, actor: SeededUser, channel_id: str, user_id: int) -> None:
    response = client.delete(f"{CHANNELS}/{channel_id}/members/{user_id}", headers=actor.headers)
    assert response.status_code == 204, response.text


# --- PUBLIC_CHANNELS -----------------------------------------------------------------------------


def test_public_channels_hears_public_channels_and_their_threads_only(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
) -> None:
    listening_integration(live_client, alice, receiver, scope="PUBLIC_CHANNELS")
    lobby = make_channel(live_client, bob, title="Lobby")
    # Private, even though the owner is a member: not a public channel.
    secret = make_channel(live_client, bob, visibility="PRIVATE", title="Secret", members=(alice,))
    post(live_client, bob, lobby, "lobby")
    post(live_client, bob, make_thread(live_client, bob, lobby), "lobby thread")
    post(live_client, bob, secret, "secret")
    post(live_client, bob, make_thread(live_client, bob, secret), "secret thread")

    assert heard(app, receiver) == {"lobby", "lobby thread"}


# --- OWNER_ACCESS --------------------------------------------------------------------------------


def test_owner_access_hears_what_its_owner_can_access(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
) -> None:
    listening_integration(live_client, alice, receiver, scope="OWNER_ACCESS")
    shared = make_channel(live_client, bob, visibility="PRIVATE", members=(alice,))
    bobs_own = make_channel(live_client, bob, visibility="PRIVATE")
    post(live_client, bob, make_channel(live_client, bob), "public")
    post(live_client, bob, shared, "shared")
    post(live_client, bob, make_thread(live_client, bob, shared), "shared thread")
    post(live_client, bob, bobs_own, "bob's own")
    post(live_client, bob, make_thread(live_client, bob, bobs_own), "bob's own thread")

    assert heard(app, receiver) == {"public", "shared", "shared thread"}


def test_owner_access_stops_once_the_owner_left_but_delivers_what_came_before(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
) -> None:
    listening_integration(live_client, alice, receiver, scope="OWNER_ACCESS")
    shared = make_channel(live_client, bob, visibility="PRIVATE", members=(alice,))
    post(live_client, bob, shared, "before")
    leave_channel(live_client, alice, shared)
    post(live_client, bob, shared, "after")

    assert heard(app, receiver) == {"before"}


def test_owner_access_starts_once_the_owner_is_added(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
) -> None:
    listening_integration(live_client, alice, receiver, scope="OWNER_ACCESS")
    room = make_channel(live_client, bob, visibility="PRIVATE")
    post(live_client, bob, room, "before")
    add_members(live_client, bob, room, alice)
    post(live_client, bob, room, "after")

    assert heard(app, receiver) == {"after"}


# --- CHANNEL_LIST --------------------------------------------------------------------------------


def test_channel_list_hears_its_channels_and_their_threads_only(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
) -> None:
    listed = make_channel(live_client, bob, title="Listed")
    private = make_channel(live_client, bob, visibility="PRIVATE", members=(alice,))
    other = make_channel(live_client, bob, title="Other")
    integration = listening_integration(
        live_client, alice, receiver, scope="CHANNEL_LIST", channelIds=[listed, private]
    )
    subscribe(live_client, alice, integration["id"], receiver, "THREAD_CREATED")
    post(live_client, bob, listed, "listed")
    post(live_client, bob, make_thread(live_client, bob, listed), "listed thread")
    post(live_client, bob, private, "private")
    post(live_client, bob, other, "other")
    post(live_client, bob, make_thread(live_client, bob, other), "other thread")

    assert heard(app, receiver, "/message_posted") == {"listed", "listed thread", "private"}
    threads_created_on = [e["channel"]["id"] for e in received_events(receiver, "/thread_created")]
    assert threads_created_on == [listed]


@pytest.mark.parametrize("how", ["owner left", "owner removed"])
def test_channel_list_hears_nothing_once_its_owner_lost_access_to_a_listed_channel(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
    how: str,
) -> None:
    deal_room = make_channel(live_client, bob, visibility="PRIVATE", members=(alice,))
    thread = make_thread(live_client, bob, deal_room)
    listening_integration(
        live_client, alice, receiver, scope="CHANNEL_LIST", channelIds=[deal_room]
    )
    post(live_client, bob, deal_room, "before")
    if how == "owner left":
        leave_channel(live_client, alice, deal_room)
    else:
        remove_member(live_client, bob, deal_room, alice.id)
    post(live_client, bob, deal_room, "after")
    post(live_client, bob, thread, "after, in the thread")

    assert heard(app, receiver) == {"before"}


def test_listed_thread_hears_its_own_events_but_not_its_parents(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
) -> None:
    parent = make_channel(live_client, bob)
    thread = make_thread(live_client, bob, parent)
    sibling = make_thread(live_client, bob, parent)
    integration = listening_integration(
        live_client, alice, receiver, scope="CHANNEL_LIST", channelIds=[thread]
    )
    subscribe(live_client, alice, integration["id"], receiver, "THREAD_CREATED")
    post(live_client, bob, thread, "in the thread")
    post(live_client, bob, parent, "in the parent")
    post(live_client, bob, sibling, "in a sibling thread")
    make_thread(live_client, bob, parent)

    assert heard(app, receiver, "/message_posted") == {"in the thread"}
    assert received(receiver, "/thread_created") == []


def test_slash_command_of_an_integration_not_active_here_is_an_ordinary_message(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
) -> None:
    elsewhere = make_channel(live_client, bob, title="Elsewhere")
    here = make_channel(live_client, bob, title="Here")
    closer = make_integration(live_client, alice, scope="CHANNEL_LIST", channelIds=[elsewhere])
    subscribe(live_client, alice, closer["id"], receiver, "SLASH_COMMAND", slash_command="close")
    listening_integration(live_client, alice, receiver, scope="PUBLIC_CHANNELS")

    message = post(live_client, bob, here, "/close deal")

    assert message["kind"] == "MESSAGE"
    assert [m["text"] for m in history(live_client, bob, here)] == ["/close deal"]
    assert heard(app, receiver, "/message_posted") == {"/close deal"}
    assert received(receiver, "/close") == []


# --- several integrations ------------------------------------------------------------------------


def test_two_integrations_on_one_channel_each_get_their_own_copy(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
    carol: SeededUser,
) -> None:
    weather = make_integration(live_client, alice, name="Weather")
    subscribe(live_client, alice, weather["id"], receiver, "MESSAGE_POSTED", path="/weather")
    sentiment = make_integration(live_client, carol, name="Sentiment")
    subscribe(live_client, carol, sentiment["id"], receiver, "MESSAGE_POSTED", path="/sentiment")
    post(live_client, bob, make_channel(live_client, bob), "hello")
    deliver_due(app)

    [to_weather] = received(receiver, "/weather")
    [to_sentiment] = received(receiver, "/sentiment")
    weather_event = Webhook(weather["signingSecret"]).verify(to_weather.body, to_weather.headers)
    sentiment_event = Webhook(sentiment["signingSecret"]).verify(
        to_sentiment.body, to_sentiment.headers
    )
    assert weather_event["owner"]["id"] == alice.id
    assert sentiment_event["owner"]["id"] == carol.id
    assert bot_token(weather_event) != bot_token(sentiment_event)
    with pytest.raises(WebhookVerificationError):
        Webhook(weather["signingSecret"]).verify(to_sentiment.body, to_sentiment.headers)


# --- deleting ------------------------------------------------------------------------------------


def delete_subscription(
    client: TestClient, owner: SeededUser, integration: dict[str, Any], subscription_id: str
) -> None:
    response = client.delete(
        f"{subscriptions_path(integration['id'])}/{subscription_id}", headers=owner.headers
    )
    assert response.status_code == 204, response.text


def delete_integration(
    client: TestClient, owner: SeededUser, integration: dict[str, Any], _subscription_id: str
) -> None:
    response = client.delete(f"{INTEGRATIONS}/{integration['id']}", headers=owner.headers)
    assert response.status_code == 204, response.text


Delete = Callable[[TestClient, SeededUser, dict[str, Any], str], None]


@pytest.mark.parametrize("delete", [delete_subscription, delete_integration])
def test_deleting_cancels_pending_events_and_sends_no_later_ones(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
    delete: Delete,
) -> None:
    integration = make_integration(live_client, alice)
    subscription = subscribe(live_client, alice, integration["id"], receiver, "MESSAGE_POSTED")
    channel = make_channel(live_client, bob)
    post(live_client, bob, channel, "pending")

    delete(live_client, alice, integration, subscription["id"])
    post(live_client, bob, channel, "later")

    assert deliver_due(app) == []
    assert received(receiver) == []


def test_deleting_one_subscription_leaves_the_others_delivering(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
) -> None:
    integration = make_integration(live_client, alice)
    gone = subscribe(live_client, alice, integration["id"], receiver, "MESSAGE_POSTED", path="/a")
    subscribe(live_client, alice, integration["id"], receiver, "MESSAGE_POSTED", path="/b")
    channel = make_channel(live_client, bob)
    post(live_client, bob, channel, "pending")

    delete_subscription(live_client, alice, integration, gone["id"])
    post(live_client, bob, channel, "later")

    assert heard(app, receiver) == {"pending", "later"}
    assert {r.path for r in received(receiver)} == {"/b"}
