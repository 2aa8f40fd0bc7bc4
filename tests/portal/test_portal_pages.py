"""The portal's pages of targets and deliveries (SPEC §7), driven as a browser without script
would: the targets with their health, pause and resume, rotate, test, the delivery log with its
filters and cursor, a delivery with its payload, headers and attempts, redeliver, recover, the
event catalogue. Deliveries go to a real local HTTPS receiver."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from buzz.clock import ManualClock
from buzz.testing import SeededSubscriber, SeededUser, deliver_due
from tests.buzzchat.helpers import enter, make_hook
from tests.integrations.conftest import post
from tests.integrations.helpers import make_channel, make_integration, subscriptions_path
from tests.portal.helpers import (
    Browser,
    browser,
    fresh_headers,
    integration_link,
    subscriber_link,
)
from tests.support.https_receiver import HttpsReceiver


@pytest.fixture
def app(live_app: FastAPI) -> FastAPI:
    """Every app of this module delivers to the local receiver."""
    return live_app


@dataclass
class Buzz:
    """Alice's integration with one MESSAGE_POSTED subscription to the receiver, and her portal."""

    client: TestClient
    alice: SeededUser
    channel: str
    integration: dict[str, Any]
    subscription: dict[str, Any]
    portal: Browser

    def post(self, text: str) -> None:
        post(self.client, self.alice, self.channel, text)

    def api_deliveries(self) -> list[dict[str, Any]]:
        path = f"{subscriptions_path(self.integration['id'])}/{self.subscription['id']}/deliveries"
        response = self.client.get(path, headers=self.alice.headers)
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["deliveries"]
        return found

    @property
    def log(self) -> str:
        return f"/targets/{self.subscription['id']}/deliveries"


@pytest.fixture
def buzz(app: FastAPI, client: TestClient, alice: SeededUser, receiver: HttpsReceiver) -> Buzz:
    channel = make_channel(client, alice)
    integration = make_integration(client, alice)
    subscription = client.post(
        subscriptions_path(integration["id"]),
        json={"eventType": "MESSAGE_POSTED", "url": receiver.url("/hook")},
        headers=alice.headers,
    ).json()
    portal = browser(app, integration_link(client, alice, integration["id"]))
    return Buzz(client, alice, channel, integration, subscription, portal)


def statuses(page: str) -> list[str]:
    return re.findall(r"data-status>(\w+)<", page)


def delivery_ids(page: str) -> list[str]:
    return re.findall(r'data-delivery="([^"]+)"', page)


# ---- targets -------------------------------------------------------------------------------------


def test_the_targets_page_shows_each_subscription_and_its_last_24_hours(
    app: FastAPI, buzz: Buzz, receiver: HttpsReceiver
) -> None:
    receiver.respond_with(200)
    buzz.post("one")
    deliver_due(app)
    receiver.respond_with(503, body=b"down")
    buzz.post("two")
    deliver_due(app)

    page = buzz.portal.page("/")

    assert receiver.url("/hook") in page
    assert 'class="delivered">1<' in page
    assert 'class="failed">0<' in page  # still being retried: pending, not failed
    assert "503" in page  # the last answer (the 24 h window: tests/delivery/test_health.py)


def test_pause_stops_deliveries_and_resume_sends_what_is_due(
    app: FastAPI, buzz: Buzz, receiver: HttpsReceiver
) -> None:
    paused = buzz.portal.post(f"/targets/{buzz.subscription['id']}/active", {"active": "false"})
    assert paused.status_code == 303
    page = buzz.portal.page("/")
    assert "Disabled" in page and "Paused in the portal" in page
    buzz.post("while paused")
    assert deliver_due(app) == []

    buzz.portal.post(f"/targets/{buzz.subscription['id']}/active", {"active": "true"})

    assert "Active" in buzz.portal.page("/")
    buzz.post("after")
    deliver_due(app)
    assert receiver.requests


def test_rotate_shows_the_new_secret_once_and_deliveries_verify_with_it(
    app: FastAPI, buzz: Buzz, receiver: HttpsReceiver
) -> None:
    rotated = buzz.portal.post(f"/targets/{buzz.subscription['id']}/rotate")

    assert rotated.status_code == 200
    [secret] = re.findall(r'class="secret" readonly value="(whsec_[^"]+)"', rotated.text)
    assert secret != buzz.integration["signingSecret"]
    assert secret not in buzz.portal.page("/")  # shown once
    buzz.post("signed anew")
    deliver_due(app)
    [request] = receiver.requests
    Webhook(secret).verify(request.body, dict(request.headers))
    Webhook(buzz.integration["signingSecret"]).verify(request.body, dict(request.headers))


def test_send_test_event_posts_now_and_shows_the_answer(
    buzz: Buzz, receiver: HttpsReceiver
) -> None:
    receiver.respond_with(418, body=b"teapot")

    tested = buzz.portal.post(f"/targets/{buzz.subscription['id']}/test")

    assert tested.status_code == 200
    assert "the receiver answered 418" in tested.text
    [request] = receiver.requests
    assert json.loads(request.body)["event"]["test"] is True
    Webhook(buzz.integration["signingSecret"]).verify(request.body, dict(request.headers))
    assert statuses(buzz.portal.page(buzz.log)) == ["failed"]


def test_a_test_with_no_active_channel_says_why(
    app: FastAPI, client: TestClient, alice: SeededUser, receiver: HttpsReceiver
) -> None:
    integration = make_integration(client, alice)  # no channel exists: active on none
    sub = client.post(
        subscriptions_path(integration["id"]),
        json={"eventType": "MESSAGE_POSTED", "url": receiver.url("/hook")},
        headers=alice.headers,
    ).json()
    portal = browser(app, integration_link(client, alice, integration["id"]))

    tested = portal.post(f"/targets/{sub['id']}/test")

    assert tested.status_code == 409
    assert "active on no channel" in tested.text
    assert receiver.requests == []


# ---- the delivery log ------------------------------------------------------------------------


def test_the_log_filters_by_status_and_pages_with_the_cursor(
    app: FastAPI, buzz: Buzz, receiver: HttpsReceiver, clock: ManualClock
) -> None:
    receiver.respond_with(200)
    for n in range(52):
        buzz.post(f"m{n}")
        clock.advance(seconds=1)
    deliver_due(app)
    receiver.respond_with(500)
    buzz.post("failing")
    deliver_due(app)

    first = buzz.portal.page(buzz.log)
    assert len(delivery_ids(first)) == 50
    [older] = re.findall(r'rel="next" href="([^"]+)"', first)
    rest = buzz.portal.client.get(f"/portal{buzz.log}{html.unescape(older)}").text
    assert len(delivery_ids(rest)) == 3
    assert not set(delivery_ids(first)) & set(delivery_ids(rest))
    assert statuses(buzz.portal.page(buzz.log, status="pending")) == ["pending"]
    assert set(statuses(buzz.portal.page(buzz.log, status="delivered"))) == {"delivered"}
    api = {d["id"] for d in buzz.api_deliveries()}
    assert set(delivery_ids(first)) <= api


def test_the_log_reads_typed_times_in_the_viewers_zone(
    app: FastAPI, buzz: Buzz, receiver: HttpsReceiver, clock: ManualClock
) -> None:
    buzz.post("early")  # 2026-03-02T09:30:00Z, the test clock's start
    clock.advance(minutes=50)
    buzz.post("late")  # 10:20 UTC
    # typed in UTC+1 (getTimezoneOffset -60): 10:29 is 09:29 UTC, 11:00 is 10:00 UTC
    both = buzz.portal.page(buzz.log, since="2026-03-02T10:29", tz="-60")
    late = buzz.portal.page(buzz.log, since="2026-03-02T11:00", tz="-60")
    in_utc = buzz.portal.page(buzz.log, since="2026-03-02T10:00", tz="0")

    assert len(delivery_ids(both)) == 2
    assert len(delivery_ids(late)) == 1
    assert len(delivery_ids(in_utc)) == 1


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"since": "yesterday"}, "since must be a date and time"),
        ({"since": "2026-03-02T10:00", "until": "2026-03-02T09:00"}, "until must be later"),
        ({"since": "2026-03-02T10:00", "tz": "east"}, "tz must be minutes"),
        ({"status": "bogus"}, "status"),
        ({"cursor": "garbage"}, "cursor"),
    ],
)
def test_a_bad_filter_is_a_400_page_that_says_which(
    buzz: Buzz, params: dict[str, str], says: str
) -> None:
    response = buzz.portal.get(buzz.log, **params)

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert says in html.unescape(response.text)


def test_a_delivery_shows_its_payload_signature_headers_and_attempts(
    app: FastAPI, buzz: Buzz, receiver: HttpsReceiver
) -> None:
    receiver.respond_with(500, body=b"database is down")
    buzz.post("hello portal")
    deliver_due(app)
    [listed] = buzz.api_deliveries()

    page = html.unescape(buzz.portal.page(f"{buzz.log}/{listed['id']}"))

    assert '"text": "hello portal"' in page  # pretty-printed
    assert "database is down" in page
    assert "500" in page
    assert f"webhook-id: {listed['eventId']}" in page
    [signature] = re.findall(r"webhook-signature: (v1,\S+)", page)
    [timestamp] = re.findall(r"webhook-timestamp: (\d+)", page)
    [request] = receiver.requests
    headers = {
        "webhook-id": listed["eventId"],
        "webhook-timestamp": timestamp,
        "webhook-signature": signature,
    }
    Webhook(buzz.integration["signingSecret"]).verify(request.body, headers)


def test_redeliver_sends_a_failed_delivery_again_and_the_page_shows_it_delivered(
    app: FastAPI, buzz: Buzz, receiver: HttpsReceiver
) -> None:
    receiver.respond_with(500)
    buzz.post("retry me")
    deliver_due(app)
    [listed] = buzz.api_deliveries()
    receiver.respond_with(200)

    queued = buzz.portal.post(f"{buzz.log}/{listed['id']}/redeliver")

    assert queued.status_code == 303
    assert statuses(buzz.portal.page(f"{buzz.log}/{listed['id']}")) == ["pending"]
    deliver_due(app)
    shown = buzz.portal.page(f"{buzz.log}/{listed['id']}")
    assert statuses(shown) == ["delivered"]
    assert [d["status"] for d in buzz.api_deliveries()] == ["delivered"]
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]


def test_recover_queues_the_failed_deliveries_since_a_time(
    app: FastAPI, buzz: Buzz, receiver: HttpsReceiver, clock: ManualClock
) -> None:
    receiver.respond_with(500)
    buzz.post("lost")
    for _ in range(20):  # every retry fails, until the delivery is failed for good
        deliver_due(app)
        clock.advance(hours=6)
    # days later: a new token, a new link, a new session
    portal = browser(
        app,
        integration_link(
            buzz.client,
            buzz.alice,
            buzz.integration["id"],
            headers=fresh_headers(buzz.client, buzz.alice),
        ),
    )
    assert statuses(portal.page(buzz.log)) == ["failed"]
    receiver.respond_with(200)

    recovered = portal.post(
        f"/targets/{buzz.subscription['id']}/recover", {"since": "2026-03-02T09:00", "tz": "0"}
    )

    assert recovered.status_code == 303
    page = portal.client.get(recovered.headers["location"]).text
    assert "1 failed delivery queued again" in page
    deliver_due(app)
    assert statuses(portal.page(buzz.log)) == ["delivered"]


# ---- the catalogue -------------------------------------------------------------------------------


def keys_of(value: Any) -> Any:
    """The shape of a JSON value: its keys, recursively (lists by their first item)."""
    if isinstance(value, dict):
        return {k: keys_of(v) for k, v in value.items()}
    if isinstance(value, list):
        return [keys_of(value[0])] if value else []
    return None


def test_the_catalogue_lists_every_event_with_an_example_shaped_as_sent(
    app: FastAPI, buzz: Buzz, receiver: HttpsReceiver
) -> None:
    buzz.post("a real one")
    deliver_due(app)
    [request] = receiver.requests

    page = html.unescape(buzz.portal.page("/events"))

    for event in (
        "MESSAGE_POSTED",
        "SLASH_COMMAND",
        "THREAD_CREATED",
        "USERS_JOINED_CHANNEL",
        "USERS_LEFT_CHANNEL",
    ):
        assert f'id="{event}"' in page
    example = page.split('id="MESSAGE_POSTED"', 1)[1].split(
        '<pre class="payload" tabindex="0">', 1
    )[1]
    example = example.split("</pre>", 1)[0]
    assert keys_of(json.loads(example)) == keys_of(json.loads(request.body))
    assert "standardwebhooks" in page


def test_the_buzzchat_catalogue_examples_are_shaped_as_sent(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, receiver: HttpsReceiver
) -> None:
    make_hook(client, shop, receiver)
    enter(client, shop, "amy")
    deliver_due(app)
    [request] = receiver.requests
    portal = browser(app, subscriber_link(client, shop))

    page = html.unescape(portal.page("/events"))

    example = page.split('id="giveaway.entry"', 1)[1].split('tabindex="0">', 1)[1]
    example = example.split("</pre>", 1)[0]
    assert keys_of(json.loads(example)) == keys_of(json.loads(request.body))
    assert "X-BuzzChat-Signature" in page


def test_with_only_an_api_key_one_call_shows_why_a_webhook_failed_and_replays_it(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, receiver: HttpsReceiver
) -> None:
    hook = make_hook(client, shop, receiver)
    receiver.respond_with(400, body=b'{"error":"unknown product id"}')
    enter(client, shop, "amy")
    deliver_due(app)
    receiver.respond_with(204)

    portal = browser(app, subscriber_link(client, shop))  # the one API call

    assert "unknown product id" not in portal.page("/")  # the targets page: code, not body
    assert "400" in portal.page("/")
    log = portal.page(f"/targets/{hook['id']}/deliveries")
    [delivery] = delivery_ids(log)
    shown = html.unescape(portal.page(f"/targets/{hook['id']}/deliveries/{delivery}"))
    assert '{"error":"unknown product id"}' in shown  # why: the receiver's own answer
    portal.post(f"/targets/{hook['id']}/deliveries/{delivery}/redeliver")
    deliver_due(app)
    assert statuses(portal.page(f"/targets/{hook['id']}/deliveries")) == ["delivered"]
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
