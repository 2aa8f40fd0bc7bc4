"""SPEC §3.6: POST /messages/send — limits, delays, and Idempotency-Key replays."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from buzz.clock import ManualClock
from buzz.testing import SeededSubscriber, run_due
from tests.buzzchat.helpers import API, error, ok, settings_patch, start_bot


def send(
    client: TestClient,
    shop: SeededSubscriber,
    body: Any,
    key: str | None = None,
    account: str | None = None,
) -> Any:
    headers = {**shop.headers, **({"Idempotency-Key": key} if key else {})}
    params = {"account": account} if account else None
    return client.post(f"{API}/messages/send", json=body, headers=headers, params=params)


def bot_messages(client: TestClient, shop: SeededSubscriber, **params: Any) -> list[dict[str, Any]]:
    data = ok(client.get(f"{API}/messages", headers=shop.headers, params=params))
    messages: list[dict[str, Any]] = data["messages"]
    return messages


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def invalid(client: TestClient, shop: SeededSubscriber, body: Any) -> str:
    return error(send(client, shop, body), 400, "VALIDATION_ERROR")


# ---- bot state and text -----------------------------------------------------------------------


def test_bot_inactive_is_400_bot_inactive(client: TestClient, shop: SeededSubscriber) -> None:
    error(send(client, shop, {"message": "Hello"}), 400, "BOT_INACTIVE")
    start_bot(client, shop)
    settings_patch(client, shop, botActive=False)
    error(send(client, shop, {"message": "Hello"}), 400, "BOT_INACTIVE")
    assert bot_messages(client, shop) == []


def test_message_is_sent_now_by_default(
    client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(client, shop)
    sent = ok(send(client, shop, {"message": "Use code SAVE10"}))
    assert sent["messageId"].startswith("msg_")
    assert sent["sentAt"] == "2026-03-02T09:30:00Z"
    [message] = bot_messages(client, shop)
    assert message["id"] == sent["messageId"]
    assert (message["message"], message["kind"], message["status"]) == (
        "Use code SAVE10",
        "api",
        "sent",
    )
    assert at(message["sentAt"]) == clock()


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_message_is_400(client: TestClient, shop: SeededSubscriber, text: str) -> None:
    start_bot(client, shop)
    assert "Message cannot be empty" in invalid(client, shop, {"message": text})
    assert bot_messages(client, shop) == []


def test_message_of_500_chars_is_sent(client: TestClient, shop: SeededSubscriber) -> None:
    start_bot(client, shop)
    ok(send(client, shop, {"message": "m" * 500}))
    assert [m["message"] for m in bot_messages(client, shop)] == ["m" * 500]


def test_message_of_501_chars_is_400(client: TestClient, shop: SeededSubscriber) -> None:
    start_bot(client, shop)
    invalid(client, shop, {"message": "m" * 501})
    assert bot_messages(client, shop) == []


def test_message_is_trimmed_before_its_length_is_checked(
    client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(client, shop)
    ok(send(client, shop, {"message": "  Hello there \n"}))
    clock.advance(seconds=1)
    ok(send(client, shop, {"message": "   " + "m" * 500 + "   "}))
    assert [m["message"] for m in bot_messages(client, shop)] == ["Hello there", "m" * 500]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"message": None},
        {"message": 5},
        {"message": "Hi", "delay": None},
        {"message": "Hi", "priority": "high"},
    ],
    ids=["missing", "null", "number", "null-delay", "unknown-field"],
)
def test_malformed_body_is_400(
    client: TestClient, shop: SeededSubscriber, body: dict[str, Any]
) -> None:
    start_bot(client, shop)
    invalid(client, shop, body)


def test_non_json_body_is_415(client: TestClient, shop: SeededSubscriber) -> None:
    start_bot(client, shop)
    response = client.post(
        f"{API}/messages/send",
        content="message=Hi",
        headers={**shop.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


# ---- delay ----------------------------------------------------------------------------------


@pytest.mark.parametrize("delay", [0, 1, 3_600_000])
def test_sent_at_is_now_plus_delay(
    client: TestClient, shop: SeededSubscriber, clock: ManualClock, delay: int
) -> None:
    start_bot(client, shop)
    sent = ok(send(client, shop, {"message": "Later", "delay": delay}))
    assert at(sent["sentAt"]) == clock() + timedelta(milliseconds=delay)


@pytest.mark.parametrize("delay", [-1, 3_600_001, "5", 5.0, True])
def test_bad_delay_is_400(client: TestClient, shop: SeededSubscriber, delay: Any) -> None:
    start_bot(client, shop)
    invalid(client, shop, {"message": "Later", "delay": delay})
    assert bot_messages(client, shop) == []


def test_delayed_message_is_scheduled_then_sent_when_due(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(client, shop)
    sent = ok(send(client, shop, {"message": "In an hour", "delay": 3_600_000}))
    [scheduled] = bot_messages(client, shop, status="scheduled")
    assert scheduled["id"] == sent["messageId"]
    assert scheduled["sentAt"] is None
    assert at(scheduled["sendAt"]) == at(sent["sentAt"])

    clock.advance(minutes=59, seconds=59)
    run_due(app)
    assert bot_messages(client, shop, status="sent") == []

    clock.advance(seconds=1)
    [out] = run_due(app).messages
    assert (out.id, out.kind, out.text) == (sent["messageId"], "api", "In an hour")
    [message] = bot_messages(client, shop, status="sent")
    assert at(message["sentAt"]) == at(sent["sentAt"]) == clock()
    assert bot_messages(client, shop, status="scheduled") == []


def test_stopping_the_bot_cancels_a_delayed_message(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(client, shop)
    ok(send(client, shop, {"message": "Later", "delay": 60_000}))
    settings_patch(client, shop, botActive=False)
    clock.advance(minutes=2)
    assert run_due(app).messages == []
    assert bot_messages(client, shop) == []


def test_account_parameter_sends_from_that_account(
    client: TestClient, shop: SeededSubscriber
) -> None:
    account = ok(client.post(f"{API}/accounts", json={"name": "Second"}, headers=shop.headers), 201)
    error(send(client, shop, {"message": "Hi"}, account=account["id"]), 400, "BOT_INACTIVE")
    settings_patch(client, shop, account=account["id"], botActive=True)
    ok(send(client, shop, {"message": "From second"}, account=account["id"]))
    assert bot_messages(client, shop) == []
    listed = bot_messages(client, shop, account=account["id"])
    assert [m["message"] for m in listed] == ["From second"]


# ---- Idempotency-Key ------------------------------------------------------------------------


def test_retry_with_the_same_key_returns_the_first_result_and_sends_once(
    client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(client, shop)
    body = {"message": "Flash sale!", "delay": 0}
    first = ok(send(client, shop, body, key="retry-1"))
    clock.advance(seconds=5)
    again = ok(send(client, shop, body, key="retry-1"))
    assert again == first
    assert [m["id"] for m in bot_messages(client, shop)] == [first["messageId"]]


def test_replay_holds_even_after_the_bot_stopped(
    client: TestClient, shop: SeededSubscriber
) -> None:
    start_bot(client, shop)
    first = ok(send(client, shop, {"message": "Once"}, key="retry-2"))
    settings_patch(client, shop, botActive=False)
    assert ok(send(client, shop, {"message": "Once"}, key="retry-2")) == first


def test_same_key_with_another_body_is_400(client: TestClient, shop: SeededSubscriber) -> None:
    start_bot(client, shop)
    ok(send(client, shop, {"message": "First"}, key="reused"))
    error(send(client, shop, {"message": "Second"}, key="reused"), 400, "VALIDATION_ERROR")
    error(
        send(client, shop, {"message": "First", "delay": 10}, key="reused"), 400, "VALIDATION_ERROR"
    )
    assert [m["message"] for m in bot_messages(client, shop)] == ["First"]


def test_key_is_kept_24_hours_then_it_is_a_new_call(
    client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(client, shop)
    body = {"message": "Daily deal"}
    first = ok(send(client, shop, body, key="daily"))
    clock.advance(hours=23, minutes=59, seconds=59)
    assert ok(send(client, shop, body, key="daily")) == first
    clock.advance(seconds=1)
    second = ok(send(client, shop, body, key="daily"))
    assert second["messageId"] != first["messageId"]
    assert at(second["sentAt"]) == clock()
    assert len(bot_messages(client, shop)) == 2
    assert ok(send(client, shop, body, key="daily")) == second


def test_keys_are_per_subscriber(
    client: TestClient, shop: SeededSubscriber, other_shop: SeededSubscriber
) -> None:
    start_bot(client, shop)
    start_bot(client, other_shop)
    body = {"message": "Same words"}
    mine = ok(send(client, shop, body, key="shared-key"))
    theirs = ok(send(client, other_shop, body, key="shared-key"))
    assert theirs["messageId"] != mine["messageId"]
    ok(send(client, other_shop, {"message": "Other words"}, key="mine-only"))
    ok(send(client, shop, {"message": "Different"}, key="mine-only"))
    assert sorted(m["message"] for m in bot_messages(client, shop)) == ["Different", "Same words"]
    assert sorted(m["message"] for m in bot_messages(client, other_shop)) == [
        "Other words",
        "Same words",
    ]


def test_failed_call_does_not_use_up_the_key(client: TestClient, shop: SeededSubscriber) -> None:
    error(send(client, shop, {"message": "Hi"}, key="early"), 400, "BOT_INACTIVE")
    start_bot(client, shop)
    sent = ok(send(client, shop, {"message": "Hi"}, key="early"))
    assert [m["id"] for m in bot_messages(client, shop)] == [sent["messageId"]]


@pytest.mark.parametrize("key", ["x" * 256, "tab\there"])
def test_malformed_idempotency_key_is_400_and_nothing_is_sent(
    client: TestClient, shop: SeededSubscriber, key: str
) -> None:
    start_bot(client, shop)
    message = error(send(client, shop, {"message": "Hi"}, key=key), 400, "VALIDATION_ERROR")
    assert "Idempotency-Key" in message
    assert bot_messages(client, shop) == []


def test_a_key_of_255_characters_is_accepted(client: TestClient, shop: SeededSubscriber) -> None:
    start_bot(client, shop)
    first = ok(send(client, shop, {"message": "Hi"}, key="k" * 255))
    assert ok(send(client, shop, {"message": "Hi"}, key="k" * 255)) == first


def test_same_key_for_another_account_is_400(client: TestClient, shop: SeededSubscriber) -> None:
    start_bot(client, shop)
    other = ok(client.post(f"{API}/accounts", json={"name": "Second"}, headers=shop.headers), 201)
    settings_patch(client, shop, account=other["id"], botActive=True)
    ok(send(client, shop, {"message": "Hi"}, key="per-account"))
    error(
        send(client, shop, {"message": "Hi"}, key="per-account", account=other["id"]),
        400,
        "VALIDATION_ERROR",
    )
    assert bot_messages(client, shop) != []
    data = ok(client.get(f"{API}/messages", headers=shop.headers, params={"account": other["id"]}))
    assert data["messages"] == []
