"""`POST .../subscriptions/{sid}/test` (SPEC §2.4): one sample event of the subscription's type,
sent now, signed, with a callback that works; kept in the log, never retried."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from buzz.clock import ManualClock
from buzz.testing import SeededUser, deliver_due
from tests.integrations.conftest import bot_token, history, post_as_bot, subscribe
from tests.integrations.helpers import (
    assert_error,
    make_channel,
    make_integration,
    make_subscription,
    subscriptions_path,
)
from tests.serving import free_port
from tests.support.https_receiver import HttpsReceiver, ReceivedRequest


@pytest.fixture
def app(live_app: FastAPI) -> FastAPI:
    """Every app of this module delivers to the local receiver."""
    return live_app


def run_test(client: TestClient, user: SeededUser, subscription: dict[str, Any]) -> Any:
    response = client.post(
        f"{subscriptions_path(subscription['integrationId'])}/{subscription['id']}/test",
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


def the_request(receiver: HttpsReceiver) -> ReceivedRequest:
    [request] = receiver.requests
    return request


def subscribed(
    client: TestClient,
    user: SeededUser,
    receiver: HttpsReceiver,
    event_type: str = "MESSAGE_POSTED",
    **integration: Any,
) -> dict[str, Any]:
    """A new integration of `user` and one subscription of it to the receiver."""
    created = make_integration(client, user, **integration)
    command = "deal" if event_type == "SLASH_COMMAND" else None
    subscription = subscribe(
        client, user, created["id"], receiver, event_type, slash_command=command
    )
    return {**subscription, "integrationId": created["id"], "secret": created["signingSecret"]}


def test_the_sample_message_arrives_signed_marked_as_a_test_with_the_integrations_headers(
    live_client: TestClient, alice: SeededUser, receiver: HttpsReceiver
) -> None:
    channel = make_channel(live_client, alice, title="Sales")
    subscription = subscribed(live_client, alice, receiver)

    result = run_test(live_client, alice, subscription)

    assert result == {
        "delivered": True,
        "responseCode": 200,
        "responseTime": result["responseTime"],
        "error": None,
    }
    assert isinstance(result["responseTime"], int) and result["responseTime"] >= 0
    request = the_request(receiver)
    Webhook(subscription["secret"]).verify(request.body, dict(request.headers))
    event = json.loads(request.body)
    assert event["event"]["type"] == "MESSAGE_POSTED"
    assert event["event"]["test"] is True
    assert request.headers["webhook-id"] == event["event"]["id"]
    assert set(event) == {
        "author",
        "message",
        "event",
        "owner",
        "organization",
        "channel",
        "callback",
    }
    assert (
        event["author"]
        == event["owner"]
        == {
            "id": alice.id,
            "displayName": event["owner"]["displayName"],
            "email": event["owner"]["email"],
        }
    )
    assert event["channel"] == {"id": channel, "parentId": channel, "title": "Sales"}
    assert event["message"]["text"]
    assert request.headers["x-weather-api-key"] == "e745c28b-3468"  # the integration's header


def test_the_callback_of_a_test_event_posts_into_the_channel(
    live_client: TestClient, alice: SeededUser, receiver: HttpsReceiver
) -> None:
    channel = make_channel(live_client, alice, title="Sales")
    subscription = subscribed(live_client, alice, receiver, name="Echo")
    run_test(live_client, alice, subscription)
    event = json.loads(the_request(receiver).body)
    assert event["callback"]["url"].endswith(f"/api/buzz/v1/bots/message/{channel}")

    answer = post_as_bot(live_client, channel, bot_token(event), {"content": {"text": "pong"}})

    assert answer.status_code == 201, answer.text
    assert history(live_client, alice, channel)[0]["text"] == "pong"


@pytest.mark.parametrize(
    ("event_type", "fields"),
    [
        ("SLASH_COMMAND", {"author", "message", "command"}),
        ("THREAD_CREATED", {"thread"}),
        ("USERS_JOINED_CHANNEL", {"users"}),
        ("USERS_LEFT_CHANNEL", {"users"}),
    ],
)
def test_each_event_type_gets_the_seeds_payload_of_its_type(
    live_client: TestClient,
    alice: SeededUser,
    receiver: HttpsReceiver,
    event_type: str,
    fields: set[str],
) -> None:
    channel = make_channel(live_client, alice)
    subscription = subscribed(live_client, alice, receiver, event_type)

    assert run_test(live_client, alice, subscription)["delivered"] is True

    event = json.loads(the_request(receiver).body)
    common = {"event", "owner", "organization", "channel", "callback"}
    assert set(event) == common | fields
    assert (event["event"]["type"], event["event"]["test"]) == (event_type, True)
    if event_type == "SLASH_COMMAND":
        assert event["command"] == {"name": "deal", "arguments": "test"}
        assert event["message"]["text"] == "/deal test"
    if event_type == "THREAD_CREATED":
        assert event["thread"]["parentId"] == channel
    if "users" in fields:
        assert [u["id"] for u in event["users"]] == [alice.id]


def test_a_failed_test_is_logged_once_and_never_retried(
    live_app: FastAPI,
    live_client: TestClient,
    alice: SeededUser,
    receiver: HttpsReceiver,
    clock: ManualClock,
) -> None:
    make_channel(live_client, alice)
    subscription = subscribed(live_client, alice, receiver)
    receiver.respond_with(503, body=b"maintenance")

    result = run_test(live_client, alice, subscription)

    assert (result["delivered"], result["responseCode"]) == (False, 503)
    assert "503" in result["error"]
    path = f"{subscriptions_path(subscription['integrationId'])}/{subscription['id']}/deliveries"
    [logged] = live_client.get(path, headers=alice.headers).json()["deliveries"]
    assert (logged["status"], logged["attempts"], logged["nextAttemptAt"]) == ("failed", 1, None)
    assert logged["eventId"] == json.loads(the_request(receiver).body)["event"]["id"]
    detail = live_client.get(f"{path}/{logged['id']}", headers=alice.headers).json()
    assert detail["attemptLog"][0]["responseBody"] == "maintenance"
    # recover does not queue it again (a test is sent from its request only), nor do retries
    recover = path.removesuffix("/deliveries") + "/recover"
    recovered = live_client.post(
        recover, json={"since": logged["createdAt"]}, headers=alice.headers
    )
    assert (recovered.status_code, recovered.json()) == (202, {"queued": 0})
    receiver.respond_with(200)
    clock.advance(hours=11)
    assert deliver_due(live_app) == []
    assert len(receiver.requests) == 1


def test_an_unreachable_receiver_is_reported_not_raised(
    live_client: TestClient, alice: SeededUser
) -> None:
    make_channel(live_client, alice)
    integration = make_integration(live_client, alice)
    url = f"https://127.0.0.1:{free_port()}/nobody"
    subscription = make_subscription(live_client, alice, integration["id"], url=url)

    result = run_test(live_client, alice, {**subscription, "integrationId": integration["id"]})

    assert (result["delivered"], result["responseCode"]) == (False, None)
    assert result["error"]


def test_an_integration_active_on_no_channel_is_told_why_it_cannot_be_tested(
    live_client: TestClient, alice: SeededUser, receiver: HttpsReceiver
) -> None:
    subscription = subscribed(live_client, alice, receiver)  # no channel exists yet

    response = live_client.post(
        f"{subscriptions_path(subscription['integrationId'])}/{subscription['id']}/test",
        headers=alice.headers,
    )

    assert_error(response, 409)
    assert "active on no channel" in response.json()["message"]
    assert receiver.requests == []


def test_a_channel_list_integration_is_tested_on_a_listed_channel(
    live_client: TestClient, alice: SeededUser, receiver: HttpsReceiver
) -> None:
    make_channel(live_client, alice, title="Not listed")
    listed = make_channel(live_client, alice, visibility="PRIVATE", title="Listed")
    subscription = subscribed(
        live_client, alice, receiver, scope="CHANNEL_LIST", channelIds=[listed]
    )

    run_test(live_client, alice, subscription)

    assert json.loads(the_request(receiver).body)["channel"]["id"] == listed


def test_only_the_owner_may_test_and_an_unknown_subscription_is_404(
    live_client: TestClient, alice: SeededUser, bob: SeededUser, receiver: HttpsReceiver
) -> None:
    make_channel(live_client, alice)
    subscription = subscribed(live_client, alice, receiver)  # PUBLIC_CHANNELS: bob sees it
    path = f"{subscriptions_path(subscription['integrationId'])}/{subscription['id']}/test"
    nobody = "00000000-0000-4000-8000-000000000000"
    unknown = f"{subscriptions_path(subscription['integrationId'])}/{nobody}/test"

    assert_error(live_client.post(path, headers=bob.headers), 403)
    assert_error(live_client.post(unknown, headers=alice.headers), 404)
    assert_error(live_client.post(path), 401)
    assert receiver.requests == []
