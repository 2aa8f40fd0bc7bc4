"""Events as a real HTTPS receiver gets them: payloads, headers, signatures, routing (SPEC §2.5,
§4.3), and the outbox row written in the transaction of the change (§4.1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from buzz.delivery.signing import new_signing_secret
from buzz.platform import events
from buzz.platform.models import Message
from buzz.testing import SeededUser, deliver_due
from tests.integrations.conftest import (
    bot_token,
    delivery_count,
    history,
    post,
    post_as_bot,
    received,
    received_events,
    subscribe,
)
from tests.integrations.helpers import (
    CHANNELS,
    add_members,
    leave_channel,
    make_channel,
    make_integration,
    make_thread,
)
from tests.support.https_receiver import HttpsReceiver

PUBLIC_URL = "https://buzz.example.com"
ORGANIZATION = {"domain": "buzz.example.com"}
EVENT_TIMESTAMP = "2026-03-02T09:30:00.000Z"  # the `clock` fixture's time
API_KEY = {"name": "x-weather-api-key", "value": "e745c28b-3468"}

COMMON_KEYS = {"event", "owner", "organization", "channel", "callback"}
TOP_LEVEL_KEYS = {
    "MESSAGE_POSTED": COMMON_KEYS | {"author", "message"},
    "SLASH_COMMAND": COMMON_KEYS | {"author", "message", "command"},
    "THREAD_CREATED": COMMON_KEYS | {"thread"},
    "USERS_JOINED_CHANNEL": COMMON_KEYS | {"users"},
    "USERS_LEFT_CHANNEL": COMMON_KEYS | {"users"},
}


@pytest.fixture
def app(live_app: FastAPI) -> FastAPI:
    """Every app of this module delivers to the local receiver."""
    return live_app


@pytest.fixture
def weather(live_client: TestClient, alice: SeededUser) -> dict[str, Any]:
    """Alice's PUBLIC_CHANNELS integration, as its create response showed it (with the secret)."""
    return make_integration(live_client, alice, headers=[API_KEY])


def user_json(user: SeededUser) -> dict[str, Any]:
    return {"id": user.id, "displayName": user.display_name, "email": user.email}


def channel_json(channel_id: str, title: str, parent_id: str | None = None) -> dict[str, Any]:
    return {"id": channel_id, "parentId": parent_id or channel_id, "title": title}


def expected_payload(
    received_event: dict[str, Any],
    *,
    event_type: str,
    owner: SeededUser,
    channel: dict[str, Any],
    **fields: Any,
) -> dict[str, Any]:
    """The whole payload the seed documents, taking the event id and bot token from what arrived
    (both random) and checking they have the right shape."""
    event_id = received_event["event"]["id"]
    token = bot_token(received_event)
    assert isinstance(event_id, str) and event_id
    assert isinstance(token, str) and len(token) >= 43  # at least 256 random bits
    return {
        **fields,
        "event": {"type": event_type, "id": event_id, "timestamp": EVENT_TIMESTAMP},
        "owner": user_json(owner),
        "organization": ORGANIZATION,
        "channel": channel,
        "callback": {
            "url": f"{PUBLIC_URL}/api/buzz/v1/bots/message/{channel['id']}",
            "headers": {"x-buzz-bot-token": token},
        },
    }


def only_event(app: FastAPI, receiver: HttpsReceiver, path: str) -> dict[str, Any]:
    """Deliver what is due and return the one event that reached `path`."""
    outcomes = deliver_due(app)
    assert [o.response_code for o in outcomes] == [200]
    arrived = received_events(receiver, path)
    assert len(arrived) == 1, arrived
    return arrived[0]


# --- the payload of each event type --------------------------------------------------------------


def test_message_posted_payload_is_the_seeds_field_for_field(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
    weather: dict[str, Any],
) -> None:
    subscribe(live_client, alice, weather["id"], receiver, "MESSAGE_POSTED")
    channel = make_channel(live_client, bob, title="General")
    message = post(live_client, bob, channel, "Good morning")

    event = only_event(app, receiver, "/message_posted")
    assert event == expected_payload(
        event,
        event_type="MESSAGE_POSTED",
        owner=alice,
        channel=channel_json(channel, "General"),
        author=user_json(bob),
        message={"id": message["id"], "text": "Good morning"},
    )


def test_message_in_a_thread_names_the_thread_as_channel_with_its_parent(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
    weather: dict[str, Any],
) -> None:
    subscribe(live_client, alice, weather["id"], receiver, "MESSAGE_POSTED")
    channel = make_channel(live_client, bob, title="General")
    thread = make_thread(live_client, bob, channel)
    message = post(live_client, bob, thread, "in the thread")

    event = only_event(app, receiver, "/message_posted")
    assert event == expected_payload(
        event,
        event_type="MESSAGE_POSTED",
        owner=alice,
        channel=channel_json(thread, "A thread", parent_id=channel),
        author=user_json(bob),
        message={"id": message["id"], "text": "in the thread"},
    )


def test_slash_command_payload_adds_the_command_name_and_arguments(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
    weather: dict[str, Any],
) -> None:
    subscribe(live_client, alice, weather["id"], receiver, "SLASH_COMMAND", slash_command="close")
    channel = make_channel(live_client, bob, title="General")
    message = post(live_client, bob, channel, "/close deal 73964")

    event = only_event(app, receiver, "/close")
    assert event == expected_payload(
        event,
        event_type="SLASH_COMMAND",
        owner=alice,
        channel=channel_json(channel, "General"),
        author=user_json(bob),
        message={"id": message["id"], "text": "/close deal 73964"},
        command={"name": "close", "arguments": "deal 73964"},
    )


def test_thread_created_payload_names_the_thread_and_the_parent_as_channel(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
    weather: dict[str, Any],
) -> None:
    subscribe(live_client, alice, weather["id"], receiver, "THREAD_CREATED")
    channel = make_channel(live_client, bob, title="General")
    thread = make_thread(live_client, bob, channel)

    event = only_event(app, receiver, "/thread_created")
    assert event == expected_payload(
        event,
        event_type="THREAD_CREATED",
        owner=alice,
        channel=channel_json(channel, "General"),
        thread={"id": thread, "parentId": channel, "title": "A thread"},
    )


def test_users_joined_payload_lists_only_the_new_members(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
    carol: SeededUser,
    weather: dict[str, Any],
) -> None:
    subscribe(live_client, alice, weather["id"], receiver, "USERS_JOINED_CHANNEL")
    channel = make_channel(live_client, bob, title="General")
    add_members(live_client, bob, channel, bob, carol)  # bob is a member already

    event = only_event(app, receiver, "/users_joined_channel")
    assert event == expected_payload(
        event,
        event_type="USERS_JOINED_CHANNEL",
        owner=alice,
        channel=channel_json(channel, "General"),
        users=[user_json(carol)],
    )


def test_users_left_payload_lists_who_left(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
    carol: SeededUser,
    weather: dict[str, Any],
) -> None:
    subscribe(live_client, alice, weather["id"], receiver, "USERS_LEFT_CHANNEL")
    channel = make_channel(live_client, bob, title="General", members=(carol,))
    leave_channel(live_client, carol, channel)

    event = only_event(app, receiver, "/users_left_channel")
    assert event == expected_payload(
        event,
        event_type="USERS_LEFT_CHANNEL",
        owner=alice,
        channel=channel_json(channel, "General"),
        users=[user_json(carol)],
    )


def test_each_event_type_carries_exactly_its_top_level_fields(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
    carol: SeededUser,
    weather: dict[str, Any],
) -> None:
    for event_type in TOP_LEVEL_KEYS:
        command = "close" if event_type == "SLASH_COMMAND" else None
        subscribe(live_client, alice, weather["id"], receiver, event_type, slash_command=command)
    channel = make_channel(live_client, bob)
    post(live_client, bob, channel, "hello")
    post(live_client, bob, channel, "/close it")
    make_thread(live_client, bob, channel)
    add_members(live_client, bob, channel, carol)
    leave_channel(live_client, carol, channel)
    deliver_due(app)

    keys = {event["event"]["type"]: set(event) for event in received_events(receiver)}
    assert keys == TOP_LEVEL_KEYS


# --- headers and signatures ----------------------------------------------------------------------


def test_delivery_carries_json_content_type_and_the_integrations_headers(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
) -> None:
    integration = make_integration(
        live_client, alice, headers=[API_KEY, {"name": "X-Tenant", "value": "acme"}]
    )
    subscribe(live_client, alice, integration["id"], receiver, "MESSAGE_POSTED")
    post(live_client, bob, make_channel(live_client, bob), "hello")
    deliver_due(app)

    [request] = received(receiver)
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-weather-api-key"] == "e745c28b-3468"
    assert request.headers["x-tenant"] == "acme"


def test_signature_verifies_with_the_integrations_signing_secret(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
    weather: dict[str, Any],
) -> None:
    subscribe(live_client, alice, weather["id"], receiver, "MESSAGE_POSTED")
    post(live_client, bob, make_channel(live_client, bob), "hello")
    deliver_due(app)

    [request] = received(receiver)
    assert weather["signingSecret"].startswith("whsec_")
    verified = Webhook(weather["signingSecret"]).verify(request.body, request.headers)
    assert verified["message"]["text"] == "hello"


def test_signature_fails_with_another_secret(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
    weather: dict[str, Any],
) -> None:
    subscribe(live_client, alice, weather["id"], receiver, "MESSAGE_POSTED")
    post(live_client, bob, make_channel(live_client, bob), "hello")
    deliver_due(app)

    [request] = received(receiver)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_signing_secret()).verify(request.body, request.headers)


def test_signature_fails_when_the_body_is_altered(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
    weather: dict[str, Any],
) -> None:
    subscribe(live_client, alice, weather["id"], receiver, "MESSAGE_POSTED")
    post(live_client, bob, make_channel(live_client, bob), "hello")
    deliver_due(app)

    [request] = received(receiver)
    with pytest.raises(WebhookVerificationError):
        Webhook(weather["signingSecret"]).verify(
            request.body.replace(b"hello", b"jello"), request.headers
        )


def test_webhook_id_is_the_event_id(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
    weather: dict[str, Any],
) -> None:
    subscribe(live_client, alice, weather["id"], receiver, "MESSAGE_POSTED")
    channel = make_channel(live_client, bob)
    post(live_client, bob, channel, "one")
    post(live_client, bob, channel, "two")
    deliver_due(app)

    ids = [r.headers["webhook-id"] for r in received(receiver)]
    assert ids == [event["event"]["id"] for event in received_events(receiver)]
    assert len(set(ids)) == 2  # one id per event


def test_one_event_to_two_subscriptions_of_one_integration_shares_its_id_and_token(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
    weather: dict[str, Any],
) -> None:
    subscribe(live_client, alice, weather["id"], receiver, "MESSAGE_POSTED", path="/a")
    subscribe(live_client, alice, weather["id"], receiver, "MESSAGE_POSTED", path="/b")
    post(live_client, bob, make_channel(live_client, bob), "hello")
    deliver_due(app)

    [first] = received(receiver, "/a")
    [second] = received(receiver, "/b")
    assert first.body == second.body
    assert first.headers["webhook-id"] == second.headers["webhook-id"]


# --- slash commands ------------------------------------------------------------------------------


@pytest.fixture
def command_subscriptions(
    live_client: TestClient, receiver: HttpsReceiver, alice: SeededUser, weather: dict[str, Any]
) -> None:
    """Weather listens to messages (/message_posted), `/close` (/close) and `/deploy` (/deploy)."""
    subscribe(live_client, alice, weather["id"], receiver, "MESSAGE_POSTED")
    subscribe(live_client, alice, weather["id"], receiver, "SLASH_COMMAND", slash_command="close")
    subscribe(live_client, alice, weather["id"], receiver, "SLASH_COMMAND", slash_command="deploy")


def paths_reached(app: FastAPI, receiver: HttpsReceiver) -> list[str]:
    deliver_due(app)
    return [r.path for r in received(receiver)]


@pytest.mark.usefixtures("command_subscriptions")
def test_slash_command_goes_only_to_the_subscription_for_that_command(
    app: FastAPI, live_client: TestClient, receiver: HttpsReceiver, bob: SeededUser
) -> None:
    post(live_client, bob, make_channel(live_client, bob), "/close deal 73964")
    assert paths_reached(app, receiver) == ["/close"]


@pytest.mark.usefixtures("command_subscriptions")
def test_slash_command_is_stored_as_such_and_kept_out_of_the_history(
    app: FastAPI, live_client: TestClient, bob: SeededUser
) -> None:
    channel = make_channel(live_client, bob)
    post(live_client, bob, channel, "before")
    command = post(live_client, bob, channel, "/close deal 73964")

    assert command["kind"] == "SLASH_COMMAND"
    with app.state.database.session() as session:
        stored = session.scalar(select(Message).where(Message.id == command["id"]))
        assert stored is not None and stored.kind == "SLASH_COMMAND"
    assert [m["text"] for m in history(live_client, bob, channel)] == ["before"]


@pytest.mark.usefixtures("command_subscriptions")
def test_slash_command_matches_its_subscription_whatever_the_case(
    app: FastAPI, live_client: TestClient, receiver: HttpsReceiver, bob: SeededUser
) -> None:
    post(live_client, bob, make_channel(live_client, bob), "/Close Deal 73964")

    assert paths_reached(app, receiver) == ["/close"]
    [event] = received_events(receiver)
    assert event["command"] == {"name": "close", "arguments": "Deal 73964"}
    assert event["message"]["text"] == "/Close Deal 73964"


@pytest.mark.usefixtures("command_subscriptions")
def test_unhandled_slash_word_is_an_ordinary_message(
    app: FastAPI, live_client: TestClient, receiver: HttpsReceiver, bob: SeededUser
) -> None:
    channel = make_channel(live_client, bob)
    message = post(live_client, bob, channel, "/shrug whatever")

    assert message["kind"] == "MESSAGE"
    assert paths_reached(app, receiver) == ["/message_posted"]
    [event] = received_events(receiver)
    assert event["event"]["type"] == "MESSAGE_POSTED"
    assert "command" not in event
    assert [m["text"] for m in history(live_client, bob, channel)] == ["/shrug whatever"]


# --- what raises no event ------------------------------------------------------------------------


def test_message_posted_through_the_callback_raises_no_event(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
    weather: dict[str, Any],
) -> None:
    subscribe(live_client, alice, weather["id"], receiver, "MESSAGE_POSTED")
    channel = make_channel(live_client, bob)
    post(live_client, bob, channel, "hello bot")
    token = bot_token(only_event(app, receiver, "/message_posted"))

    response = post_as_bot(live_client, channel, token, {"content": {"text": "hello human"}})
    assert response.status_code == 201, response.text
    assert delivery_count(app) == 1
    assert deliver_due(app) == []


def test_joining_with_no_new_members_raises_no_event(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
    carol: SeededUser,
    weather: dict[str, Any],
) -> None:
    subscribe(live_client, alice, weather["id"], receiver, "USERS_JOINED_CHANNEL")
    channel = make_channel(live_client, bob, members=(carol,))
    assert delivery_count(app) == 1  # carol joining

    add_members(live_client, bob, channel, bob, carol)
    assert delivery_count(app) == 1


def test_event_without_a_matching_subscription_queues_nothing(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
    weather: dict[str, Any],
) -> None:
    subscribe(live_client, alice, weather["id"], receiver, "THREAD_CREATED")
    subscribe(live_client, alice, weather["id"], receiver, "SLASH_COMMAND", slash_command="close")
    channel = make_channel(live_client, bob)
    post(live_client, bob, channel, "no one listens to messages")
    post(live_client, bob, channel, "/deploy now")

    assert delivery_count(app) == 0
    assert deliver_due(app) == []


# --- one transaction -----------------------------------------------------------------------------

# Each change, on a public channel of bob's with carol a member; alice's integration hears it.
Change = Callable[[TestClient, SeededUser, SeededUser, str], Any]
CHANGES: dict[str, Change] = {
    "message": lambda client, bob, carol, channel: client.post(
        f"{CHANNELS}/{channel}/messages", json={"text": "hi"}, headers=bob.headers
    ),
    "thread": lambda client, bob, carol, channel: client.post(
        f"{CHANNELS}/{channel}/threads", json={"title": "t"}, headers=bob.headers
    ),
    "join": lambda client, bob, carol, channel: client.post(
        f"{CHANNELS}/{channel}/members", json={"userIds": [carol.id]}, headers=carol.headers
    ),
    "leave": lambda client, bob, carol, channel: client.delete(
        f"{CHANNELS}/{channel}/members/{bob.id}", headers=bob.headers
    ),
}


@pytest.mark.parametrize("change", CHANGES)
def test_delivery_is_written_in_the_transaction_of_the_change(
    app: FastAPI,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
    carol: SeededUser,
    change: str,
) -> None:
    def explode(_session: Session, _event: events.ChannelEvent) -> None:
        raise RuntimeError("the change fails after the fan-out ran")

    with TestClient(app, raise_server_exceptions=False) as client:
        weather = make_integration(client, alice)
        for event_type in TOP_LEVEL_KEYS.keys() - {"SLASH_COMMAND"}:
            subscribe(client, alice, weather["id"], receiver, event_type)
        channel = make_channel(client, bob)
        queued = delivery_count(app)

        with events.EVENT_BUS.of(app).listening(explode):
            failed = CHANGES[change](client, bob, carol, channel)
        assert failed.status_code == 500
        assert delivery_count(app) == queued

        succeeded = CHANGES[change](client, bob, carol, channel)
        assert succeeded.status_code in (200, 201, 204), succeeded.text
        assert delivery_count(app) == queued + 1
