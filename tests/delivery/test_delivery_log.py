"""The delivery log of a Buzz subscription (SPEC §3.10): list, detail with attempts, redeliver."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from buzz.clock import ManualClock
from buzz.testing import SeededUser
from tests.delivery.conftest import Chat, Deliver, FakeReceiver, Subscribed
from tests.integrations.helpers import (
    assert_error,
    make_channel,
    make_integration,
    make_subscription,
)
from tests.support.delivery_log import ATTEMPT_FIELDS, RECORD_FIELDS
from tests.support.https_receiver import HttpsReceiver


def at(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def listed(chat: Chat, hook: Subscribed, **params: int) -> list[dict[str, Any]]:
    response = chat.client.get(hook.deliveries_path, params=params, headers=chat.headers)
    assert response.status_code == 200, response.text
    deliveries: list[dict[str, Any]] = response.json()["deliveries"]
    return deliveries


def detail(chat: Chat, hook: Subscribed, delivery_id: str) -> dict[str, Any]:
    response = chat.client.get(f"{hook.deliveries_path}/{delivery_id}", headers=chat.headers)
    assert response.status_code == 200, response.text
    shown: dict[str, Any] = response.json()
    return shown


def redeliver(chat: Chat, hook: Subscribed, delivery_id: str) -> dict[str, Any]:
    response = chat.client.post(
        f"{hook.deliveries_path}/{delivery_id}/redeliver", headers=chat.headers
    )
    assert response.status_code == 202, response.text
    queued: dict[str, Any] = response.json()
    return queued


def test_the_list_is_newest_first_with_each_deliverys_state(
    chat: Chat, https_receiver: HttpsReceiver, clock: ManualClock
) -> None:
    hook = chat.subscribe(https_receiver.url())
    for text in ("one", "two", "three"):
        chat.post(text)
        clock.advance(minutes=1)

    deliveries = listed(chat, hook)

    assert len(deliveries) == 3
    assert all(set(d) == RECORD_FIELDS for d in deliveries)
    created = [at(d["createdAt"]) for d in deliveries]
    assert created == sorted(created, reverse=True)  # type: ignore[type-var]
    assert len(set(created)) == 3
    for delivery in deliveries:
        assert delivery["eventId"].startswith("evt_")
        assert delivery["eventType"] == "MESSAGE_POSTED"
        assert (delivery["status"], delivery["attempts"]) == ("pending", 0)
        assert (delivery["lastResponseCode"], delivery["lastError"]) == (None, None)
        assert at(delivery["nextAttemptAt"]) == at(delivery["createdAt"])


def test_the_list_pages_with_limit_and_offset(chat: Chat, https_receiver: HttpsReceiver) -> None:
    hook = chat.subscribe(https_receiver.url())
    for n in range(5):
        chat.post(f"message {n}")
    everything = [d["id"] for d in listed(chat, hook)]

    pages = [listed(chat, hook, limit=2, offset=offset) for offset in (0, 2, 4)]

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [d["id"] for page in pages for d in page] == everything
    assert listed(chat, hook, limit=2, offset=5) == []


@pytest.mark.parametrize("https_receiver", [False], indirect=True, ids=["down-at-first"])
def test_the_detail_shows_every_attempt(
    chat: Chat, https_receiver: HttpsReceiver, deliver: Deliver, clock: ManualClock
) -> None:
    hook = chat.subscribe(https_receiver.url())
    chat.post()
    [delivery_id] = [d["id"] for d in listed(chat, hook)]
    attempted: list[datetime] = []

    def attempt() -> None:
        attempted.append(clock())
        assert len(deliver()) == 1
        next_at = at(detail(chat, hook, delivery_id)["nextAttemptAt"])
        if next_at is not None:
            clock.advance(seconds=(next_at - clock()).total_seconds())

    attempt()  # refused: the receiver is not listening yet
    https_receiver.start()
    https_receiver.respond_with(500, body=b"e" * 3000)
    attempt()
    https_receiver.respond_with(200, body=b"thanks")
    attempt()

    shown = detail(chat, hook, delivery_id)
    assert set(shown) == RECORD_FIELDS | {"attemptLog"}
    assert (shown["status"], shown["attempts"], shown["nextAttemptAt"]) == ("delivered", 3, None)
    assert (shown["lastResponseCode"], shown["lastError"]) == (200, None)
    refused, failed, delivered = shown["attemptLog"]
    assert all(set(a) == ATTEMPT_FIELDS for a in shown["attemptLog"])
    assert [at(a["at"]) for a in shown["attemptLog"]] == attempted
    assert all(
        isinstance(a["durationMs"], int) and a["durationMs"] >= 0 for a in shown["attemptLog"]
    )
    assert (refused["responseCode"], refused["responseBody"]) == (None, None)
    assert "refused" in refused["error"]
    assert (failed["responseCode"], failed["responseBody"]) == (500, "e" * 1024)
    assert "500" in failed["error"]
    assert (delivered["responseCode"], delivered["error"]) == (200, None)
    assert delivered["responseBody"] == "thanks"


def test_redeliver_queues_a_delivered_event_again_and_the_next_pass_sends_it(
    chat: Chat, https_receiver: HttpsReceiver, deliver: Deliver, clock: ManualClock
) -> None:
    hook = chat.subscribe(https_receiver.url())
    chat.post()
    deliver()
    [delivery] = listed(chat, hook)
    clock.advance(hours=2)

    queued = redeliver(chat, hook, delivery["id"])

    assert set(queued) == RECORD_FIELDS
    assert (queued["id"], queued["status"], queued["attempts"]) == (delivery["id"], "pending", 1)
    assert at(queued["nextAttemptAt"]) == clock()
    assert len(https_receiver.requests) == 1  # queued, not sent by the request
    assert len(deliver()) == 1
    first, again = https_receiver.requests
    assert again.body == first.body
    assert again.headers["webhook-id"] == first.headers["webhook-id"] == delivery["eventId"]
    shown = detail(chat, hook, delivery["id"])
    assert (shown["status"], shown["attempts"], len(shown["attemptLog"])) == ("delivered", 2, 2)


def test_redeliver_gives_a_failed_delivery_another_attempt(
    chat: Chat,
    fake_receiver: FakeReceiver,
    deliver: Deliver,
    retry_until_settled: Callable[..., object],
) -> None:
    hook = chat.subscribe("https://hooks.example.com/buzz")
    fake_receiver.respond_with(500)
    chat.post()
    retry_until_settled(hook.target_id, fake_receiver.poster())
    [delivery] = listed(chat, hook)
    assert (delivery["status"], delivery["nextAttemptAt"]) == ("failed", None)
    fake_receiver.respond_with(204)

    assert redeliver(chat, hook, delivery["id"])["status"] == "pending"
    assert len(deliver(poster=fake_receiver.poster())) == 1

    [delivery] = listed(chat, hook)
    assert (delivery["status"], delivery["lastResponseCode"]) == ("delivered", 204)


# ---- who may see what ---------------------------------------------------------------------------


def log_routes(deliveries_path: str, delivery_id: str) -> list[tuple[str, str]]:
    """(method, path) of the three delivery-log routes of one delivery."""
    return [
        ("GET", deliveries_path),
        ("GET", f"{deliveries_path}/{delivery_id}"),
        ("POST", f"{deliveries_path}/{delivery_id}/redeliver"),
    ]


def test_another_users_visible_integration_is_403(
    chat: Chat, https_receiver: HttpsReceiver, bob: SeededUser
) -> None:
    hook = chat.subscribe(https_receiver.url())  # PUBLIC_CHANNELS: bob sees it
    chat.post()
    [delivery] = listed(chat, hook)

    for method, path in log_routes(hook.deliveries_path, delivery["id"]):
        assert_error(chat.client.request(method, path, headers=bob.headers), 403)
    assert listed(chat, hook)[0]["status"] == "pending"


def test_another_users_invisible_integration_is_404(
    app: FastAPI, client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    private = make_channel(client, alice, visibility="PRIVATE", title="Alice only")
    integration = make_integration(client, alice, scope="CHANNEL_LIST", channelIds=[private])
    subscription = make_subscription(client, alice, integration["id"])
    path = (
        f"/v1/buzz/integrations/{integration['id']}/subscriptions/{subscription['id']}/deliveries"
    )
    response = client.post(
        f"/v1/buzz/channels/{private}/messages", json={"text": "hi"}, headers=alice.headers
    )
    assert response.status_code == 201
    [delivery] = client.get(path, headers=alice.headers).json()["deliveries"]

    for method, route in log_routes(path, delivery["id"]):
        assert_error(client.request(method, route, headers=bob.headers), 404)


def test_an_unknown_delivery_or_subscription_is_404(
    chat: Chat, https_receiver: HttpsReceiver
) -> None:
    hook = chat.subscribe(https_receiver.url())
    chat.post()
    unknown = "00000000-0000-4000-8000-000000000000"

    for method, path in log_routes(hook.deliveries_path, unknown)[1:]:
        assert_error(chat.client.request(method, path, headers=chat.headers), 404)
    nowhere = f"/v1/buzz/integrations/{hook.integration_id}/subscriptions/{unknown}/deliveries"
    for method, path in log_routes(nowhere, listed(chat, hook)[0]["id"]):
        assert_error(chat.client.request(method, path, headers=chat.headers), 404)


def test_a_delivery_of_another_subscription_is_404_through_this_ones_path(
    chat: Chat, https_receiver: HttpsReceiver, deliver: Deliver
) -> None:
    mine = chat.subscribe(https_receiver.url("/mine"))
    other = chat.subscribe(https_receiver.url("/other"))
    chat.post()
    deliver()
    [theirs] = listed(chat, other)

    for method, path in log_routes(mine.deliveries_path, theirs["id"])[1:]:
        assert_error(chat.client.request(method, path, headers=chat.headers), 404)
    assert theirs["id"] not in [d["id"] for d in listed(chat, mine)]
    assert listed(chat, other)[0]["status"] == "delivered"  # the 404 queued nothing
    assert deliver() == []


def test_the_log_needs_a_token(chat: Chat, https_receiver: HttpsReceiver) -> None:
    hook = chat.subscribe(https_receiver.url())
    assert_error(chat.client.get(hook.deliveries_path), 401)
