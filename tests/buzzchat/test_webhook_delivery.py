"""BuzzChat webhooks as a real HTTPS receiver gets them (SPEC §3.9, §3.10, §4.3): payload, headers,
signatures (standardwebhooks and the seed's own JavaScript check), routing by event, retries, 410,
secret rotation, `/test`, and the delivery log."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from buzz.clock import ManualClock
from buzz.testing import SeededSubscriber, deliver_due
from tests.buzzchat.helpers import API, chat, enter, make_hook, ok, said, start_bot
from tests.serving import free_port
from tests.support.delivery_log import ATTEMPT_FIELDS, RECORD_FIELDS
from tests.support.https_receiver import HttpsReceiver, ReceivedRequest

SEED = Path(__file__).parent / "seed"
NOW = "2026-03-02T09:30:00Z"  # the `clock` fixture's time
needs_node = pytest.mark.skipif(
    shutil.which("node") is None,
    reason="`node` is not on PATH: the seed's verifyWebhookSignature is JavaScript",
)


@pytest.fixture
def app(live_app: FastAPI) -> FastAPI:
    """Every app of this module delivers to the local receiver."""
    return live_app


# --- steps ----------------------------------------------------------------------------------


def bodies(receiver: HttpsReceiver) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.requests]


def only_request(receiver: HttpsReceiver) -> ReceivedRequest:
    requests = receiver.requests
    assert len(requests) == 1, requests
    return requests[0]


def log_of(
    client: TestClient, shop: SeededSubscriber, hook_id: str, **params: int
) -> list[dict[str, Any]]:
    shown = ok(
        client.get(f"{API}/webhooks/{hook_id}/deliveries", params=params, headers=shop.headers)
    )
    deliveries: list[dict[str, Any]] = shown["deliveries"]
    return deliveries


def delivery_detail(
    client: TestClient, shop: SeededSubscriber, hook_id: str, delivery_id: str
) -> dict[str, Any]:
    shown: dict[str, Any] = ok(
        client.get(f"{API}/webhooks/{hook_id}/deliveries/{delivery_id}", headers=shop.headers)
    )
    return shown


def hook_state(client: TestClient, shop: SeededSubscriber, hook_id: str) -> dict[str, Any]:
    shown: dict[str, Any] = ok(client.get(f"{API}/webhooks/{hook_id}", headers=shop.headers))
    return shown


def test_webhook(client: TestClient, shop: SeededSubscriber, hook_id: str) -> dict[str, Any]:
    shown: dict[str, Any] = ok(client.post(f"{API}/webhooks/{hook_id}/test", headers=shop.headers))
    return shown


test_webhook.__test__ = False  # type: ignore[attr-defined]  # a step, not a test


def standard_verify(secret: str, request: ReceivedRequest, body: bytes | None = None) -> None:
    """standardwebhooks' own check of the request (raises WebhookVerificationError)."""
    Webhook(secret).verify(request.body if body is None else body, request.headers)


def seed_js_verifies(payload: bytes, signature: str, secret: str) -> bool:
    """The seed's `verifyWebhookSignature`, run by node, says the signature is good."""
    result = subprocess.run(  # noqa: S603
        ["node", str(SEED / "verify.js")],  # noqa: S607
        input=json.dumps(
            {"payload": payload.decode("utf-8"), "signature": signature, "secret": secret}
        ),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode == 0


def signatures(request: ReceivedRequest) -> list[str]:
    return request.headers["webhook-signature"].split(" ")


def tampered(body: bytes) -> bytes:
    return body.replace(b"amy", b"eve")


# --- one delivery ---------------------------------------------------------------------------


def test_event_arrives_as_the_seeds_payload_with_every_header(
    live_client: TestClient, shop: SeededSubscriber, receiver: HttpsReceiver, app: FastAPI
) -> None:
    make_hook(live_client, shop, receiver)
    enter(live_client, shop, "amy")
    assert receiver.requests == []  # nothing is POSTed from the request (§4.1)
    deliver_due(app)
    request = only_request(receiver)
    assert request.method == "POST"
    assert request.path == "/hook"
    event = json.loads(request.body)
    assert set(event) == {"id", "type", "timestamp", "data"}
    assert event["id"].startswith("evt_")
    assert event["type"] == "giveaway.entry"
    assert event["timestamp"] == NOW
    assert event["data"] == {"username": "amy", "entryTime": NOW, "accountId": shop.account_id}
    headers = request.headers
    assert headers["content-type"] == "application/json"
    assert headers["x-buzzchat-event"] == "giveaway.entry"
    assert headers["webhook-id"] == event["id"]
    assert int(headers["webhook-timestamp"]) > 0
    assert headers["webhook-signature"].startswith("v1,")
    assert len(headers["x-buzzchat-signature"]) == 64


def test_delivery_verifies_with_standardwebhooks_and_a_tampered_body_does_not(
    live_client: TestClient, shop: SeededSubscriber, receiver: HttpsReceiver, app: FastAPI
) -> None:
    secret = make_hook(live_client, shop, receiver)["secret"]
    enter(live_client, shop, "amy")
    deliver_due(app)
    request = only_request(receiver)
    standard_verify(secret, request)
    with pytest.raises(WebhookVerificationError):
        standard_verify(secret, request, tampered(request.body))
    other_secret = make_hook(live_client, shop, receiver, path="/other")["secret"]
    with pytest.raises(WebhookVerificationError):
        standard_verify(other_secret, request)


def test_buzzchat_signature_is_hex_hmac_sha256_of_the_body_keyed_with_the_whole_secret(
    live_client: TestClient, shop: SeededSubscriber, receiver: HttpsReceiver, app: FastAPI
) -> None:
    secret = make_hook(live_client, shop, receiver)["secret"]
    enter(live_client, shop, "amy")
    deliver_due(app)
    request = only_request(receiver)
    expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-buzzchat-signature"] == expected


@needs_node
def test_seeds_javascript_check_accepts_a_delivery_and_rejects_a_tampered_body(
    live_client: TestClient, shop: SeededSubscriber, receiver: HttpsReceiver, app: FastAPI
) -> None:
    secret = make_hook(live_client, shop, receiver)["secret"]
    enter(live_client, shop, "amy")
    deliver_due(app)
    request = only_request(receiver)
    signature = request.headers["x-buzzchat-signature"]
    assert seed_js_verifies(request.body, signature, secret)
    assert not seed_js_verifies(tampered(request.body), signature, secret)
    assert not seed_js_verifies(request.body, signature, "whsec_" + "A" * 44)


def test_bot_started_and_stopped_carry_the_account_and_time(
    live_client: TestClient, shop: SeededSubscriber, receiver: HttpsReceiver, app: FastAPI
) -> None:
    make_hook(live_client, shop, receiver, events=["bot.started", "bot.stopped"])
    start_bot(live_client, shop)
    ok(live_client.patch(f"{API}/settings", json={"botActive": False}, headers=shop.headers))
    deliver_due(app)
    events = sorted(bodies(receiver), key=lambda e: e["type"])
    assert [(e["type"], e["data"]) for e in events] == [
        ("bot.started", {"accountId": shop.account_id, "timestamp": NOW}),
        ("bot.stopped", {"accountId": shop.account_id, "timestamp": NOW}),
    ]
    assert len({e["id"] for e in events}) == 2


def test_message_sent_carries_the_message(
    live_client: TestClient, shop: SeededSubscriber, receiver: HttpsReceiver, app: FastAPI
) -> None:
    make_hook(live_client, shop, receiver, events=["message.sent"])
    start_bot(live_client, shop)
    sent = ok(
        live_client.post(
            f"{API}/messages/send", json={"message": "Use code SAVE10"}, headers=shop.headers
        )
    )
    deliver_due(app)
    request = only_request(receiver)
    assert request.headers["x-buzzchat-event"] == "message.sent"
    assert json.loads(request.body)["data"] == {
        "messageId": sent["messageId"],
        "message": "Use code SAVE10",
        "kind": "api",
        "sentAt": NOW,
        "accountId": shop.account_id,
    }


def test_faq_match_and_winner_carry_their_data(
    live_client: TestClient, shop: SeededSubscriber, receiver: HttpsReceiver, app: FastAPI
) -> None:
    make_hook(live_client, shop, receiver, events=["message.received", "giveaway.winner"])
    rule = {"triggers": ["shipping"], "reply": "Free shipping over $50"}
    settings = start_bot(live_client, shop, faqRules=[rule], welcomeEnabled=False)
    chat(live_client, shop, said("amy", "How much is SHIPPING?"))
    enter(live_client, shop, "ben")
    winners = ok(live_client.post(f"{API}/giveaway/pick-winner", headers=shop.headers))
    deliver_due(app)
    by_type = {e["type"]: e for e in bodies(receiver)}
    assert set(by_type) == {"message.received", "giveaway.winner"}
    assert by_type["message.received"]["data"] == {
        "username": "amy",
        "text": "How much is SHIPPING?",
        "keyword": "shipping",
        "ruleId": settings["faqRules"][0]["id"],
        "accountId": shop.account_id,
    }
    assert by_type["giveaway.winner"]["data"] == {
        "winners": ["ben"],
        "timestamp": winners["timestamp"],
        "accountId": shop.account_id,
    }


def test_patched_url_receives_the_following_events(
    live_client: TestClient, shop: SeededSubscriber, receiver: HttpsReceiver, app: FastAPI
) -> None:
    hook = make_hook(live_client, shop, receiver, path="/old")
    moved = {"url": receiver.url("/new")}
    ok(live_client.patch(f"{API}/webhooks/{hook['id']}", json=moved, headers=shop.headers))
    enter(live_client, shop, "amy")
    deliver_due(app)
    assert only_request(receiver).path == "/new"


def test_only_subscribed_events_are_delivered(
    live_client: TestClient, shop: SeededSubscriber, receiver: HttpsReceiver, app: FastAPI
) -> None:
    make_hook(live_client, shop, receiver, events=["giveaway.entry"], path="/entries")
    make_hook(live_client, shop, receiver, events=["bot.started"], path="/bot")
    start_bot(live_client, shop)
    enter(live_client, shop, "amy")
    ok(live_client.post(f"{API}/messages/send", json={"message": "hi"}, headers=shop.headers))
    deliver_due(app)
    got = sorted((r.path, json.loads(r.body)["type"]) for r in receiver.requests)
    assert got == [("/bot", "bot.started"), ("/entries", "giveaway.entry")]


def test_another_subscribers_events_are_not_delivered(
    live_client: TestClient,
    shop: SeededSubscriber,
    other_shop: SeededSubscriber,
    receiver: HttpsReceiver,
    app: FastAPI,
) -> None:
    make_hook(live_client, shop, receiver)
    enter(live_client, other_shop, "amy")
    assert deliver_due(app) == []
    assert receiver.requests == []


def test_event_sets_last_triggered_at(
    live_client: TestClient,
    shop: SeededSubscriber,
    receiver: HttpsReceiver,
    clock: ManualClock,
) -> None:
    hook = make_hook(live_client, shop, receiver)
    clock.advance(minutes=5)
    enter(live_client, shop, "amy")
    assert hook_state(live_client, shop, hook["id"])["lastTriggeredAt"] == "2026-03-02T09:35:00Z"


def test_inactive_webhook_gets_nothing_until_switched_back_on(
    live_client: TestClient, shop: SeededSubscriber, receiver: HttpsReceiver, app: FastAPI
) -> None:
    hook = make_hook(live_client, shop, receiver)
    ok(
        live_client.patch(
            f"{API}/webhooks/{hook['id']}", json={"active": False}, headers=shop.headers
        )
    )
    enter(live_client, shop, "amy")
    deliver_due(app)
    assert receiver.requests == []
    ok(
        live_client.patch(
            f"{API}/webhooks/{hook['id']}", json={"active": True}, headers=shop.headers
        )
    )
    enter(live_client, shop, "ben")
    deliver_due(app)
    assert "ben" in [e["data"]["username"] for e in bodies(receiver)]


# --- failures -------------------------------------------------------------------------------


def test_a_500_is_retried_later_with_the_same_event_id_and_body(
    live_client: TestClient,
    shop: SeededSubscriber,
    receiver: HttpsReceiver,
    app: FastAPI,
    clock: ManualClock,
) -> None:
    hook = make_hook(live_client, shop, receiver)
    receiver.respond_with(500, body=b"oops")
    enter(live_client, shop, "amy")
    deliver_due(app)
    [pending] = log_of(live_client, shop, hook["id"])
    assert pending["status"] == "pending"
    assert pending["attempts"] == 1
    assert pending["lastResponseCode"] == 500
    assert pending["lastError"]
    assert datetime.fromisoformat(pending["nextAttemptAt"]) > clock()
    assert deliver_due(app) == []  # not due yet
    receiver.respond_with(200)
    clock.advance(seconds=10)
    deliver_due(app)
    first, second = receiver.requests
    assert second.body == first.body
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert second.headers["webhook-id"] == json.loads(first.body)["id"]
    [delivered] = log_of(live_client, shop, hook["id"])
    assert delivered["status"] == "delivered"
    assert delivered["attempts"] == 2
    assert delivered["lastResponseCode"] == 200
    assert delivered["nextAttemptAt"] is None


def test_a_410_disables_the_webhook(
    live_client: TestClient,
    shop: SeededSubscriber,
    receiver: HttpsReceiver,
    app: FastAPI,
    clock: ManualClock,
) -> None:
    hook = make_hook(live_client, shop, receiver)
    receiver.respond_with(410)
    enter(live_client, shop, "amy")
    deliver_due(app)
    shown = hook_state(live_client, shop, hook["id"])
    assert shown["active"] is False
    assert shown["disabledReason"]
    [gone] = log_of(live_client, shop, hook["id"])
    assert gone["status"] == "failed"
    assert gone["lastResponseCode"] == 410
    receiver.respond_with(200)
    enter(live_client, shop, "ben")
    clock.advance(hours=1)
    deliver_due(app)
    assert len(receiver.requests) == 1


def test_deleting_a_webhook_drops_its_pending_deliveries(
    live_client: TestClient,
    shop: SeededSubscriber,
    receiver: HttpsReceiver,
    app: FastAPI,
    clock: ManualClock,
) -> None:
    hook = make_hook(live_client, shop, receiver)
    receiver.respond_with(500)
    enter(live_client, shop, "amy")
    deliver_due(app)  # amy's now waits for a retry
    enter(live_client, shop, "ben")  # ben's is due now
    ok(live_client.delete(f"{API}/webhooks/{hook['id']}", headers=shop.headers))
    receiver.respond_with(200)
    clock.advance(hours=1)
    assert deliver_due(app) == []
    assert len(receiver.requests) == 1


# --- secret rotation ------------------------------------------------------------------------


def rotate(client: TestClient, shop: SeededSubscriber, hook_id: str) -> str:
    rotated = ok(client.post(f"{API}/webhooks/{hook_id}/rotate-secret", headers=shop.headers))
    secret: str = rotated["secret"]
    return secret


def test_during_rotation_both_secrets_sign_new_first(
    live_client: TestClient, shop: SeededSubscriber, receiver: HttpsReceiver, app: FastAPI
) -> None:
    hook = make_hook(live_client, shop, receiver)
    old = hook["secret"]
    new = rotate(live_client, shop, hook["id"])
    enter(live_client, shop, "amy")
    deliver_due(app)
    request = only_request(receiver)
    assert len(signatures(request)) == 2
    standard_verify(old, request)
    standard_verify(new, request)
    msg_id = request.headers["webhook-id"]
    when = datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), tz=UTC)
    text = request.body.decode()
    assert signatures(request) == [
        Webhook(new).sign(msg_id, when, text),
        Webhook(old).sign(msg_id, when, text),
    ]
    with pytest.raises(WebhookVerificationError):
        standard_verify(new, request, tampered(request.body))


def test_during_rotation_the_buzzchat_signature_uses_the_new_secret(
    live_client: TestClient, shop: SeededSubscriber, receiver: HttpsReceiver, app: FastAPI
) -> None:
    hook = make_hook(live_client, shop, receiver)
    new = rotate(live_client, shop, hook["id"])
    enter(live_client, shop, "amy")
    deliver_due(app)
    request = only_request(receiver)
    expected = hmac.new(new.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-buzzchat-signature"] == expected


def test_the_old_secret_still_signs_at_23_hours_and_not_after_25(
    live_client: TestClient,
    shop: SeededSubscriber,
    receiver: HttpsReceiver,
    app: FastAPI,
    clock: ManualClock,
) -> None:
    hook = make_hook(live_client, shop, receiver)
    old = hook["secret"]
    new = rotate(live_client, shop, hook["id"])
    clock.advance(hours=23)
    enter(live_client, shop, "amy")
    deliver_due(app)
    clock.advance(hours=2)
    enter(live_client, shop, "ben")
    deliver_due(app)
    at_23h, at_25h = receiver.requests
    standard_verify(old, at_23h)
    assert len(signatures(at_25h)) == 1
    standard_verify(new, at_25h)
    with pytest.raises(WebhookVerificationError):
        standard_verify(old, at_25h)


def test_a_retry_after_the_overlap_is_signed_with_the_new_secret_only(
    live_client: TestClient,
    shop: SeededSubscriber,
    receiver: HttpsReceiver,
    app: FastAPI,
    clock: ManualClock,
) -> None:
    hook = make_hook(live_client, shop, receiver)
    old = hook["secret"]
    receiver.respond_with(500)
    enter(live_client, shop, "amy")
    deliver_due(app)  # the first attempt, signed with the only secret then
    new = rotate(live_client, shop, hook["id"])
    receiver.respond_with(200)
    clock.advance(hours=25)
    deliver_due(app)
    first, retried = receiver.requests
    standard_verify(old, first)
    assert retried.headers["webhook-id"] == first.headers["webhook-id"]
    assert len(signatures(retried)) == 1
    standard_verify(new, retried)


# --- /test ----------------------------------------------------------------------------------


def test_test_delivers_a_signed_webhook_test_event_now(
    live_client: TestClient, shop: SeededSubscriber, receiver: HttpsReceiver
) -> None:
    hook = make_hook(live_client, shop, receiver)
    result = test_webhook(live_client, shop, hook["id"])
    assert result["delivered"] is True
    assert result["responseCode"] == 200
    assert isinstance(result["responseTime"], int)
    assert result["responseTime"] >= 0
    assert set(result) == {"delivered", "responseCode", "responseTime"}  # no error: absent
    request = only_request(receiver)
    event = json.loads(request.body)
    assert event["type"] == "webhook.test"
    assert event["id"].startswith("evt_")
    assert request.headers["x-buzzchat-event"] == "webhook.test"
    assert request.headers["webhook-id"] == event["id"]
    standard_verify(hook["secret"], request)
    expected = hmac.new(hook["secret"].encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-buzzchat-signature"] == expected


def test_test_is_sent_even_when_the_webhook_listens_to_other_events(
    live_client: TestClient, shop: SeededSubscriber, receiver: HttpsReceiver
) -> None:
    hook = make_hook(live_client, shop, receiver, events=["bot.stopped"])
    assert test_webhook(live_client, shop, hook["id"])["delivered"] is True


def test_test_is_kept_in_the_delivery_log_and_never_retried(
    live_client: TestClient,
    shop: SeededSubscriber,
    receiver: HttpsReceiver,
    app: FastAPI,
    clock: ManualClock,
) -> None:
    hook = make_hook(live_client, shop, receiver)
    receiver.respond_with(500, body=b"down for maintenance")
    result = test_webhook(live_client, shop, hook["id"])
    assert result["delivered"] is False
    assert result["responseCode"] == 500
    [logged] = log_of(live_client, shop, hook["id"])
    assert logged["eventType"] == "webhook.test"
    assert logged["eventId"] == json.loads(only_request(receiver).body)["id"]
    assert logged["status"] == "failed"
    assert logged["attempts"] == 1
    assert logged["lastResponseCode"] == 500
    assert logged["nextAttemptAt"] is None
    [attempt] = delivery_detail(live_client, shop, hook["id"], logged["id"])["attemptLog"]
    assert attempt["responseCode"] == 500
    assert attempt["responseBody"] == "down for maintenance"
    receiver.respond_with(200)
    clock.advance(hours=11)
    assert deliver_due(app) == []
    assert len(receiver.requests) == 1
    # nor does recover queue it again: a test is sent from its request only
    recovered = live_client.post(
        f"{API}/webhooks/{hook['id']}/recover",
        json={"since": logged["createdAt"]},
        headers=shop.headers,
    )
    assert recovered.status_code == 202, recovered.text
    assert recovered.json()["data"] == {"queued": 0}
    assert deliver_due(app) == []
    assert [d["status"] for d in log_of(live_client, shop, hook["id"])] == ["failed"]


def test_test_against_an_unreachable_target_reports_the_error(
    live_client: TestClient, shop: SeededSubscriber, app: FastAPI, clock: ManualClock
) -> None:
    url = f"https://127.0.0.1:{free_port()}/hook"  # nobody listens there
    body = {"url": url, "events": ["giveaway.entry"]}
    hook = ok(live_client.post(f"{API}/webhooks", json=body, headers=shop.headers), 201)
    result = test_webhook(live_client, shop, hook["id"])
    assert result["delivered"] is False
    assert "responseCode" not in result  # no HTTP answer: absent, never null (the contract)
    assert isinstance(result["error"], str)
    assert result["error"]
    assert isinstance(result["responseTime"], int)
    [logged] = log_of(live_client, shop, hook["id"])
    assert logged["eventType"] == "webhook.test"
    assert logged["status"] == "failed"
    assert logged["lastResponseCode"] is None
    assert logged["lastError"]
    clock.advance(hours=11)
    assert deliver_due(app) == []


def test_test_during_rotation_carries_both_signatures(
    live_client: TestClient, shop: SeededSubscriber, receiver: HttpsReceiver
) -> None:
    hook = make_hook(live_client, shop, receiver)
    new = rotate(live_client, shop, hook["id"])
    test_webhook(live_client, shop, hook["id"])
    request = only_request(receiver)
    assert len(signatures(request)) == 2
    standard_verify(hook["secret"], request)
    standard_verify(new, request)


# --- delivery log ---------------------------------------------------------------------------


def test_log_lists_deliveries_newest_first_with_the_spec_fields(
    live_client: TestClient,
    shop: SeededSubscriber,
    receiver: HttpsReceiver,
    app: FastAPI,
    clock: ManualClock,
) -> None:
    hook = make_hook(live_client, shop, receiver)
    for username in ("amy", "ben", "cat"):
        enter(live_client, shop, username)
        clock.advance(seconds=1)
    deliver_due(app)
    who = {e["id"]: e["data"]["username"] for e in bodies(receiver)}
    logged = log_of(live_client, shop, hook["id"])
    assert [who[d["eventId"]] for d in logged] == ["cat", "ben", "amy"]
    for delivery in logged:
        assert set(delivery) == RECORD_FIELDS
        assert delivery["eventType"] == "giveaway.entry"
        assert delivery["status"] == "delivered"
        assert delivery["attempts"] == 1
        assert delivery["lastResponseCode"] == 200
        assert delivery["lastError"] is None
        assert delivery["nextAttemptAt"] is None
    assert [d["createdAt"] for d in logged] == [
        "2026-03-02T09:30:02Z",
        "2026-03-02T09:30:01Z",
        NOW,
    ]


def test_log_is_paginated_with_limit_and_offset(
    live_client: TestClient, shop: SeededSubscriber, receiver: HttpsReceiver
) -> None:
    hook = make_hook(live_client, shop, receiver)
    for username in ("amy", "ben", "cat", "dan", "eve"):
        enter(live_client, shop, username)
    everything = log_of(live_client, shop, hook["id"])
    assert len(everything) == 5
    assert log_of(live_client, shop, hook["id"], limit=2) == everything[:2]
    assert log_of(live_client, shop, hook["id"], limit=2, offset=2) == everything[2:4]
    assert log_of(live_client, shop, hook["id"], limit=2, offset=4) == everything[4:]
    assert log_of(live_client, shop, hook["id"], offset=5) == []


def test_pending_delivery_shows_in_the_log_before_it_is_sent(
    live_client: TestClient, shop: SeededSubscriber, receiver: HttpsReceiver
) -> None:
    hook = make_hook(live_client, shop, receiver)
    enter(live_client, shop, "amy")
    [pending] = log_of(live_client, shop, hook["id"])
    assert pending["status"] == "pending"
    assert pending["attempts"] == 0
    assert pending["lastResponseCode"] is None
    assert pending["nextAttemptAt"] == NOW
    assert pending["createdAt"] == NOW
    assert delivery_detail(live_client, shop, hook["id"], pending["id"])["attemptLog"] == []


def test_detail_lists_attempts_with_the_first_kib_of_each_response(
    live_client: TestClient,
    shop: SeededSubscriber,
    receiver: HttpsReceiver,
    app: FastAPI,
    clock: ManualClock,
) -> None:
    hook = make_hook(live_client, shop, receiver)
    receiver.respond_with(503, body=b"b" * 3000)
    enter(live_client, shop, "amy")
    deliver_due(app)
    receiver.respond_with(200, body=b"thanks")
    clock.advance(seconds=10)
    deliver_due(app)
    [logged] = log_of(live_client, shop, hook["id"])
    shown = delivery_detail(live_client, shop, hook["id"], logged["id"])
    assert {k: v for k, v in shown.items() if k != "attemptLog"} == logged
    failed, delivered = shown["attemptLog"]
    for attempt in (failed, delivered):
        assert set(attempt) == ATTEMPT_FIELDS
        assert isinstance(attempt["durationMs"], int)
        assert attempt["durationMs"] >= 0
    assert failed["at"] == NOW
    assert failed["responseCode"] == 503
    assert failed["error"]
    assert failed["responseBody"] == "b" * 1024
    assert delivered["at"] == "2026-03-02T09:30:10Z"
    assert delivered["responseCode"] == 200
    assert delivered["error"] is None
    assert delivered["responseBody"] == "thanks"


def test_redeliver_queues_it_again_with_the_same_event(
    live_client: TestClient, shop: SeededSubscriber, receiver: HttpsReceiver, app: FastAPI
) -> None:
    hook = make_hook(live_client, shop, receiver)
    enter(live_client, shop, "amy")
    deliver_due(app)
    [logged] = log_of(live_client, shop, hook["id"])
    response = live_client.post(
        f"{API}/webhooks/{hook['id']}/deliveries/{logged['id']}/redeliver", headers=shop.headers
    )
    queued = ok(response, 202)
    assert queued["id"] == logged["id"]
    assert queued["status"] == "pending"
    deliver_due(app)
    first, again = receiver.requests
    assert again.body == first.body
    assert again.headers["webhook-id"] == first.headers["webhook-id"] == logged["eventId"]
    standard_verify(hook["secret"], again)
    [redelivered] = log_of(live_client, shop, hook["id"])
    assert redelivered["status"] == "delivered"
    assert redelivered["attempts"] == 2
    detail = delivery_detail(live_client, shop, hook["id"], logged["id"])
    assert len(detail["attemptLog"]) == 2


def test_a_delivery_of_another_webhook_is_404(
    live_client: TestClient, shop: SeededSubscriber, receiver: HttpsReceiver
) -> None:
    entries = make_hook(live_client, shop, receiver)
    bot = make_hook(live_client, shop, receiver, events=["bot.started"], path="/bot")
    enter(live_client, shop, "amy")
    [logged] = log_of(live_client, shop, entries["id"])
    assert log_of(live_client, shop, bot["id"]) == []
    path = f"{API}/webhooks/{bot['id']}/deliveries/{logged['id']}"
    response = live_client.get(path, headers=shop.headers)
    assert response.status_code == 404, response.text
    response = live_client.post(f"{path}/redeliver", headers=shop.headers)
    assert response.status_code == 404, response.text
