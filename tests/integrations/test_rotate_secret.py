"""`POST /v1/buzz/integrations/{id}/rotate-secret` (SPEC §2.3): the new secret signs from now on,
the old one beside it for 24 hours, verified with the receivers' own library."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from buzz.clock import ManualClock
from buzz.testing import SeededUser, deliver_due, issue_token
from tests.integrations.conftest import post as post_message
from tests.integrations.conftest import received, subscribe
from tests.integrations.helpers import INTEGRATIONS, make_channel, make_integration
from tests.support.https_receiver import HttpsReceiver, ReceivedRequest


@pytest.fixture
def app(live_app: FastAPI) -> FastAPI:
    """Every app of this module delivers to the local receiver."""
    return live_app


def rotate(client: TestClient, user: SeededUser, integration_id: str) -> dict[str, Any]:
    response = client.post(f"{INTEGRATIONS}/{integration_id}/rotate-secret", headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def signatures(request: ReceivedRequest) -> list[str]:
    return request.headers["webhook-signature"].split()


def verifies(secret: str, request: ReceivedRequest) -> bool:
    try:
        Webhook(secret).verify(request.body, dict(request.headers))
    except WebhookVerificationError:
        return False
    return True


def deliver_one(
    app: FastAPI, client: TestClient, user: SeededUser, channel: str, receiver: HttpsReceiver
) -> ReceivedRequest:
    before = len(received(receiver))
    post_message(client, user, channel, "hello")
    deliver_due(app)
    requests = received(receiver)
    assert len(requests) == before + 1
    return requests[-1]


def test_after_a_rotation_both_secrets_sign_the_new_one_first(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    clock: ManualClock,
) -> None:
    integration = make_integration(live_client, alice)
    subscribe(live_client, alice, integration["id"], receiver, "MESSAGE_POSTED")
    channel = make_channel(live_client, alice)
    old = integration["signingSecret"]

    rotated = rotate(live_client, alice, integration["id"])

    new = rotated["signingSecret"]
    assert new.startswith("whsec_") and new != old
    expires = datetime.fromisoformat(rotated["previousSecretExpiresAt"])
    assert expires == clock().replace(microsecond=0) + timedelta(hours=24)
    request = deliver_one(app, live_client, alice, channel, receiver)
    assert len(signatures(request)) == 2
    assert verifies(new, request) and verifies(old, request)
    msg_id = request.headers["webhook-id"]
    when = datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), tz=UTC)
    assert signatures(request)[0] == Webhook(new).sign(msg_id, when, request.body.decode())


def test_the_old_secret_signs_at_23_hours_and_not_at_25(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    clock: ManualClock,
) -> None:
    integration = make_integration(live_client, alice)
    subscribe(live_client, alice, integration["id"], receiver, "MESSAGE_POSTED")
    channel = make_channel(live_client, alice)
    old = integration["signingSecret"]
    new = rotate(live_client, alice, integration["id"])["signingSecret"]

    clock.advance(hours=23)
    alice = replace(alice, token=issue_token(app, alice))  # tokens last an hour
    at_23 = deliver_one(app, live_client, alice, channel, receiver)
    clock.advance(hours=2)
    alice = replace(alice, token=issue_token(app, alice))
    at_25 = deliver_one(app, live_client, alice, channel, receiver)

    assert verifies(old, at_23) and verifies(new, at_23)
    assert len(signatures(at_25)) == 1
    assert verifies(new, at_25) and not verifies(old, at_25)


def test_a_subscription_made_after_the_rotation_signs_with_the_new_secret(
    app: FastAPI, live_client: TestClient, receiver: HttpsReceiver, alice: SeededUser
) -> None:
    integration = make_integration(live_client, alice)
    new = rotate(live_client, alice, integration["id"])["signingSecret"]
    subscribe(live_client, alice, integration["id"], receiver, "MESSAGE_POSTED")

    request = deliver_one(app, live_client, alice, make_channel(live_client, alice), receiver)

    assert signatures(request) and verifies(new, request)
    assert not verifies(integration["signingSecret"], request)


def test_rotating_again_keeps_only_the_newest_previous_secret(
    app: FastAPI, live_client: TestClient, receiver: HttpsReceiver, alice: SeededUser
) -> None:
    integration = make_integration(live_client, alice)
    subscribe(live_client, alice, integration["id"], receiver, "MESSAGE_POSTED")
    first = integration["signingSecret"]
    second = rotate(live_client, alice, integration["id"])["signingSecret"]
    third = rotate(live_client, alice, integration["id"])["signingSecret"]

    request = deliver_one(app, live_client, alice, make_channel(live_client, alice), receiver)

    assert len(signatures(request)) == 2
    assert verifies(third, request) and verifies(second, request)
    assert not verifies(first, request)


@pytest.mark.parametrize(("who", "status"), [("bob", 403), ("carol", 404)])
def test_only_the_owner_rotates_and_nothing_changes_otherwise(
    app: FastAPI,
    live_client: TestClient,
    receiver: HttpsReceiver,
    alice: SeededUser,
    bob: SeededUser,
    carol: SeededUser,
    who: str,
    status: int,
) -> None:
    # Bob can see the integration (it is active on his public channel), Carol's request names
    # one she cannot see: 403 and 404, as delete answers.
    integration = make_integration(live_client, alice)
    subscribe(live_client, alice, integration["id"], receiver, "MESSAGE_POSTED")
    channel = make_channel(live_client, bob)
    caller = {"bob": bob, "carol": carol}[who]
    unseen = "00000000-0000-4000-8000-000000000000"
    integration_id = unseen if who == "carol" else integration["id"]

    response = live_client.post(
        f"{INTEGRATIONS}/{integration_id}/rotate-secret", headers=caller.headers
    )

    assert response.status_code == status, response.text
    assert "signingSecret" not in response.text
    request = deliver_one(app, live_client, bob, channel, receiver)
    assert len(signatures(request)) == 1
    assert verifies(integration["signingSecret"], request)


def test_the_new_secret_is_shown_once(live_client: TestClient, alice: SeededUser) -> None:
    integration = make_integration(live_client, alice)
    new = rotate(live_client, alice, integration["id"])["signingSecret"]
    shown = live_client.get(f"{INTEGRATIONS}/{integration['id']}", headers=alice.headers)
    listed = live_client.get(INTEGRATIONS, headers=alice.headers)
    assert new not in shown.text and new not in listed.text
