"""The dispatcher end to end (SPEC §4.2, §4.4): events posted through the Buzz API, delivered over
real HTTPS to a local receiver; `httpx.MockTransport` for status codes and retry schedules."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from buzz.clock import ManualClock
from buzz.delivery import log, signing
from buzz.delivery.models import Delivery, DeliveryStatus
from buzz.delivery.retry import JITTER, MAX_ATTEMPTS, RETRY_GAPS
from tests.delivery.conftest import Chat, Deliver, FakeReceiver, OutboxTables, Subscribed
from tests.support.https_receiver import HttpsReceiver

Settle = Callable[..., list[tuple[datetime, datetime | None]]]

PUBLIC_ONLY = pytest.mark.parametrize(
    "delivery_overrides", [{"allow_private_targets": False}], ids=["public-only"]
)
RECEIVER_DOWN = pytest.mark.parametrize("https_receiver", [False], indirect=True, ids=["down"])
HOOK = "https://hooks.example.com/buzz"


def only_delivery(outbox_tables: OutboxTables, target_id: str) -> Delivery:
    (delivery,) = outbox_tables.deliveries(target_id)
    return delivery


def advance_to(clock: ManualClock, moment: datetime | None) -> None:
    assert moment is not None
    clock.advance(seconds=(moment - clock()).total_seconds())


# ---- outcomes over real HTTPS --------------------------------------------------------------------


def test_2xx_is_delivered_with_one_attempt_logged(
    chat: Chat,
    https_receiver: HttpsReceiver,
    outbox_tables: OutboxTables,
    deliver: Deliver,
    clock: ManualClock,
) -> None:
    hook = chat.subscribe(https_receiver.url("/hook"))
    https_receiver.respond_with(200, body=b"k" * 3000)
    chat.post("Sunny?")

    assert len(deliver()) == 1

    delivery = only_delivery(outbox_tables, hook.target_id)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)
    assert (delivery.last_response_code, delivery.last_error) == (200, None)
    assert delivery.next_attempt_at is None
    [attempt] = outbox_tables.attempts(delivery.id)
    assert (attempt.at, attempt.response_code, attempt.error) == (clock(), 200, None)
    assert isinstance(attempt.duration_ms, int) and attempt.duration_ms >= 0
    assert attempt.response_body == "k" * 1024
    [received] = https_receiver.requests
    assert (received.method, received.path) == ("POST", "/hook")
    assert received.body == delivery.payload
    assert received.headers["content-type"] == "application/json"
    assert received.headers["x-weather-api-key"] == "e745c28b-3468"
    event = Webhook(hook.signing_secret).verify(received.body, received.headers)
    assert event["message"]["text"] == "Sunny?"
    assert received.headers["webhook-id"] == event["event"]["id"] == delivery.event_id
    assert deliver() == []  # delivered once, never again
    assert len(https_receiver.requests) == 1


@RECEIVER_DOWN
def test_a_receiver_that_is_down_is_retried_and_delivered_once_it_is_up(
    chat: Chat,
    https_receiver: HttpsReceiver,
    outbox_tables: OutboxTables,
    deliver: Deliver,
    clock: ManualClock,
) -> None:
    hook = chat.subscribe(https_receiver.url())
    chat.post()

    assert len(deliver()) == 1

    delivery = only_delivery(outbox_tables, hook.target_id)
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_response_code is None
    error = delivery.last_error or ""
    assert "connection" in error and "refused" in error and str(https_receiver.port) in error
    assert "\n" not in error
    [attempt] = outbox_tables.attempts(delivery.id)
    assert (attempt.response_code, attempt.error) == (None, error)
    assert deliver() == []  # not due again before the retry
    https_receiver.start()
    advance_to(clock, delivery.next_attempt_at)

    assert len(deliver()) == 1

    delivery = only_delivery(outbox_tables, hook.target_id)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 2, None)
    assert [a.response_code for a in outbox_tables.attempts(delivery.id)] == [None, 200]
    [received] = https_receiver.requests
    assert received.body == delivery.payload


def test_3xx_is_a_failure_and_is_not_followed(
    chat: Chat, https_receiver: HttpsReceiver, outbox_tables: OutboxTables, deliver: Deliver
) -> None:
    hook = chat.subscribe(https_receiver.url("/hook"))
    https_receiver.respond_with(302, location=https_receiver.url("/moved"))
    chat.post()

    deliver()

    delivery = only_delivery(outbox_tables, hook.target_id)
    assert delivery.status == DeliveryStatus.PENDING
    assert (delivery.attempts, delivery.last_response_code) == (1, 302)
    assert delivery.next_attempt_at is not None
    assert "302" in (delivery.last_error or "")
    assert [r.path for r in https_receiver.requests] == ["/hook"]


def test_the_payload_is_sent_byte_for_byte_as_stored(
    https_receiver: HttpsReceiver, outbox_tables: OutboxTables, deliver: Deliver
) -> None:
    secret = signing.new_signing_secret()
    target_id = outbox_tables.add_target(https_receiver.url(), secret=secret)
    payload = '{ "z": 1,\n  "a": "café ☕ \\u00e9",\t"n": 1.50e2 }'.encode()
    outbox_tables.enqueue(target_id, payload=payload)

    deliver()

    [received] = https_receiver.requests
    assert received.body == payload
    assert received.headers["content-length"] == str(len(payload))
    assert Webhook(secret).verify(received.body, received.headers)["a"] == "café ☕ é"


# ---- status codes and schedules ------------------------------------------------------------------


def test_a_500_is_retried_on_the_schedule_then_failed_with_every_attempt_logged(
    chat: Chat,
    client: TestClient,
    fake_receiver: FakeReceiver,
    outbox_tables: OutboxTables,
    retry_until_settled: Settle,
    deliver: Deliver,
    clock: ManualClock,
) -> None:
    hook = chat.subscribe(HOOK)
    fake_receiver.respond_with(500)
    chat.post()
    first = clock()

    steps = retry_until_settled(hook.target_id, fake_receiver.poster())

    assert len(steps) == MAX_ATTEMPTS == 8
    for made, ((attempted_at, next_at), gap) in enumerate(
        zip(steps[:-1], RETRY_GAPS, strict=True), start=1
    ):
        assert next_at is not None, f"attempt {made} was not retried"
        slot = first + sum(RETRY_GAPS[: made - 1], timedelta())
        waited = next_at - max(slot, attempted_at)
        assert gap * (1 - JITTER) <= waited <= gap * (1 + JITTER), (made, waited)
        scheduled = sum(RETRY_GAPS[:made], timedelta())
        assert scheduled * (1 - JITTER) <= next_at - first <= scheduled * (1 + JITTER)
    assert steps[-1][1] is None
    delivery = only_delivery(outbox_tables, hook.target_id)
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == ("failed", 8, 500)
    assert len({r.headers["webhook-id"] for r in fake_receiver.requests}) == 1  # one event id

    response = client.get(f"{hook.deliveries_path}/{delivery.public_id}", headers=chat.headers)
    assert response.status_code == 200
    shown = response.json()
    assert (shown["status"], shown["attempts"], shown["nextAttemptAt"]) == ("failed", 8, None)
    assert [a["responseCode"] for a in shown["attemptLog"]] == [500] * 8
    assert [datetime.fromisoformat(a["at"]) for a in shown["attemptLog"]] == [s[0] for s in steps]
    assert all(a["error"] and a["responseBody"] == "fake 500" for a in shown["attemptLog"])

    clock.advance(days=3)
    assert deliver(poster=fake_receiver.poster()) == []
    assert len(fake_receiver.requests) == 8


def test_a_failed_delivery_redelivered_is_sent_by_the_next_pass(
    chat: Chat,
    fake_receiver: FakeReceiver,
    outbox_tables: OutboxTables,
    retry_until_settled: Settle,
    deliver: Deliver,
    clock: ManualClock,
) -> None:
    hook = chat.subscribe(HOOK)
    fake_receiver.respond_with(503)
    chat.post()
    retry_until_settled(hook.target_id, fake_receiver.poster())
    failed = only_delivery(outbox_tables, hook.target_id)
    fake_receiver.respond_with(200)

    with outbox_tables.database.session() as session:
        stored = session.get(Delivery, failed.id)
        assert stored is not None
        log.redeliver(session, target_id=hook.target_id, delivery_id=stored.public_id, now=clock())
        session.commit()

    queued = only_delivery(outbox_tables, hook.target_id)
    assert (queued.status, queued.next_attempt_at) == ("pending", clock())
    assert len(deliver(poster=fake_receiver.poster())) == 1
    delivered = only_delivery(outbox_tables, hook.target_id)
    assert (delivered.status, delivered.attempts, delivered.last_response_code) == (
        "delivered",
        9,
        200,
    )
    assert len(fake_receiver.requests) == 9


def test_410_disables_the_target_and_its_other_deliveries_are_not_claimed(
    chat: Chat,
    fake_receiver: FakeReceiver,
    outbox_tables: OutboxTables,
    deliver: Deliver,
    clock: ManualClock,
) -> None:
    gone = chat.subscribe("https://gone.example.com/hook")
    other = chat.subscribe("https://other.example.com/hook")
    fake_receiver.respond_with(500, url=gone.url)
    chat.post("first")
    deliver(poster=fake_receiver.poster())  # gone's first delivery now waits for a retry
    fake_receiver.respond_with(410, url=gone.url)
    chat.post("second")

    deliver(poster=fake_receiver.poster())

    target = outbox_tables.target(gone.target_id)
    assert not target.active
    assert "410" in (target.disabled_reason or "")
    waiting, answered_410 = outbox_tables.deliveries(gone.target_id)
    assert (answered_410.status, answered_410.last_response_code) == ("failed", 410)
    assert waiting.status == "pending"
    clock.advance(hours=1)
    chat.post("third")
    deliver(poster=fake_receiver.poster())
    assert len(fake_receiver.requests_to(gone.url)) == 2
    assert len(fake_receiver.requests_to(other.url)) == 3  # other targets are unaffected
    assert outbox_tables.target(other.target_id).active

    def shown(hook: Subscribed) -> dict[str, object]:
        path = f"/v1/buzz/integrations/{hook.integration_id}/subscriptions"
        listed = chat.client.get(path, headers=chat.headers).json()["subscriptions"]
        return {k: listed[0].get(k) for k in ("active", "disabledReason")}

    assert shown(gone) == {"active": False, "disabledReason": "The receiver answered 410 Gone"}
    assert shown(other) == {"active": True, "disabledReason": None}


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_delays_the_next_attempt(
    status: int,
    chat: Chat,
    fake_receiver: FakeReceiver,
    outbox_tables: OutboxTables,
    deliver: Deliver,
    clock: ManualClock,
) -> None:
    hook = chat.subscribe(HOOK)
    fake_receiver.respond_with(status, headers={"Retry-After": "120"})
    chat.post()
    attempted_at = clock()

    deliver(poster=fake_receiver.poster())

    delivery = only_delivery(outbox_tables, hook.target_id)
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at >= attempted_at + timedelta(seconds=120)
    clock.advance(seconds=119)
    assert deliver(poster=fake_receiver.poster()) == []
    advance_to(clock, delivery.next_attempt_at)
    assert len(deliver(poster=fake_receiver.poster())) == 1
    assert len(fake_receiver.requests) == 2


PostDaily = Callable[[timedelta], None]


@pytest.fixture
def fail_daily(
    chat: Chat, fake_receiver: FakeReceiver, deliver: Deliver, clock: ManualClock
) -> PostDaily:
    """For `span`: a new event every day (the last one at the end), each pass delivering what is
    due to a receiver that answers whatever `fake_receiver` is told (500 in these tests)."""

    def run(span: timedelta) -> None:
        end = clock() + span
        while clock() < end:
            advance_to(clock, min(clock() + timedelta(days=1), end))
            chat.post(f"at {clock().isoformat()}")
            deliver(poster=fake_receiver.poster())

    return run


def test_a_target_failing_for_5_days_is_disabled(
    chat: Chat,
    fake_receiver: FakeReceiver,
    outbox_tables: OutboxTables,
    deliver: Deliver,
    fail_daily: PostDaily,
    clock: ManualClock,
) -> None:
    hook = chat.subscribe(HOOK)
    fake_receiver.respond_with(500)
    chat.post()
    deliver(poster=fake_receiver.poster())  # failing since now

    fail_daily(timedelta(days=4, hours=23))
    assert outbox_tables.target(hook.target_id).active

    fail_daily(timedelta(hours=1))
    target = outbox_tables.target(hook.target_id)
    assert not target.active
    assert "5 days" in (target.disabled_reason or "")
    sent = len(fake_receiver.requests)
    chat.post("anyone there?")
    clock.advance(days=1)
    assert deliver(poster=fake_receiver.poster()) == []
    assert len(fake_receiver.requests) == sent


def test_one_success_resets_the_5_days_of_failure(
    chat: Chat,
    fake_receiver: FakeReceiver,
    outbox_tables: OutboxTables,
    deliver: Deliver,
    fail_daily: PostDaily,
) -> None:
    hook = chat.subscribe(HOOK)
    fake_receiver.respond_with(500)
    chat.post()
    deliver(poster=fake_receiver.poster())
    fail_daily(timedelta(days=3))
    fake_receiver.respond_with(200)
    chat.post("a good day")
    deliver(poster=fake_receiver.poster())
    fake_receiver.respond_with(500)
    chat.post("and a bad one")
    deliver(poster=fake_receiver.poster())  # failing again since 3 days after the first

    fail_daily(timedelta(days=4, hours=23))
    assert outbox_tables.target(hook.target_id).active  # 7 d 23 h after the first failure

    fail_daily(timedelta(hours=1))
    assert not outbox_tables.target(hook.target_id).active


# ---- the target guard, end to end ----------------------------------------------------------------


@PUBLIC_ONLY
@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://127.0.0.1:{port}/x", "127.0.0.1"),
        ("https://[::1]:{port}/x", "::1"),
        ("https://169.254.169.254/x", "169.254.169.254"),
        ("https://10.0.0.1/x", "10.0.0.1"),
        ("https://localhost:{port}/x", "localhost"),
    ],
)
def test_a_private_target_is_a_failed_attempt_saying_it_was_refused(
    url: str,
    host: str,
    chat: Chat,
    https_receiver: HttpsReceiver,
    outbox_tables: OutboxTables,
    deliver: Deliver,
) -> None:
    hook = chat.subscribe(url.format(port=https_receiver.port))
    chat.post()

    assert len(deliver()) == 1

    delivery = only_delivery(outbox_tables, hook.target_id)
    assert delivery.status == DeliveryStatus.PENDING  # a failed attempt, retried later
    assert (delivery.attempts, delivery.last_response_code) == (1, None)
    error = delivery.last_error or ""
    assert host in error and "refused" in error and "connection" not in error
    [attempt] = outbox_tables.attempts(delivery.id)
    assert (attempt.response_code, attempt.error) == (None, error)
    assert https_receiver.requests == []


@pytest.mark.parametrize("delivery_overrides", [{"dispatch_ca_bundle": None}], ids=["no-ca"])
def test_without_the_ca_bundle_tls_verification_fails_clearly(
    chat: Chat, https_receiver: HttpsReceiver, outbox_tables: OutboxTables, deliver: Deliver
) -> None:
    hook = chat.subscribe(https_receiver.url())
    chat.post()

    deliver()

    delivery = only_delivery(outbox_tables, hook.target_id)
    assert delivery.status == DeliveryStatus.PENDING
    error = delivery.last_error or ""
    assert "TLS" in error and "certificate" in error and "\n" not in error
    assert https_receiver.requests == []


def test_every_failed_attempt_and_every_disable_is_a_warning_line(
    chat: Chat,
    fake_receiver: FakeReceiver,
    outbox_tables: OutboxTables,
    deliver: Deliver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gone = chat.subscribe("https://gone.example.com/hook")
    fake_receiver.respond_with(503, url=gone.url)
    chat.post("first")
    with caplog.at_level(logging.WARNING, logger="buzz.dispatcher"):
        deliver(poster=fake_receiver.poster())
        fake_receiver.respond_with(410, url=gone.url)
        chat.post("second")
        deliver(poster=fake_receiver.poster())

    lines = [r.getMessage() for r in caplog.records if r.name == "buzz.dispatcher"]
    failed = [line for line in lines if " failed: " in line]
    assert len(failed) == 2
    assert "to gone.example.com failed: HTTP 503; next attempt at " in failed[0]
    assert "failed: HTTP 410; no more attempts" in failed[1]
    assert f"target {gone.target_id} disabled: the receiver answered 410 Gone" in lines
    assert all(r.levelno == logging.WARNING for r in caplog.records if r.name == "buzz.dispatcher")
