"""Concurrent rotations of one integration's secret (SPEC §2.3) end with every subscription
signing with the same newest secret, the one the integration keeps: real requests fired
together at a real `buzz serve` on the suite's database (PostgreSQL with
BUZZ_TEST_DATABASE_URL, where the rotations take turns on the integration's row lock)."""

from __future__ import annotations

from collections import Counter

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from buzz.delivery.models import Target
from buzz.integrations.models import Integration, Subscription
from buzz.testing import seed_user
from tests.serving import LiveServer
from tests.support.races import together

ROTATIONS = 6


def test_concurrent_rotations_leave_every_subscription_on_the_integrations_newest_secret(
    shared_app: FastAPI, shared_server: LiveServer
) -> None:
    owner = seed_user(shared_app)
    with httpx.Client(base_url=shared_server.base_url, timeout=30) as http:
        token = http.post(
            "/oauth/token",
            params={"grant_type": "client_credentials", "scope": "buzz"},
            auth=(owner.client_id, owner.client_secret),
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        made = http.post("/v1/buzz/integrations", json={"name": "Racer", "scope": "OWNER_ACCESS"})
        assert made.status_code == 200, made.text  # as Domo answers
        integration = made.json()["id"]
        for event in ("MESSAGE_POSTED", "THREAD_CREATED", "USERS_JOINED_CHANNEL"):
            subscribed = http.post(
                f"/v1/buzz/integrations/{integration}/subscriptions",
                json={"eventType": event, "url": "https://hooks.example.com/race"},
            )
            assert subscribed.status_code == 200, subscribed.text
        headers = dict(http.headers)

    answers = together(
        f"{shared_server.base_url}/v1/buzz/integrations/{integration}/rotate-secret",
        {"Authorization": headers["authorization"]},
        [{}] * ROTATIONS,
    )

    assert Counter(a.status_code for a in answers) == {200: ROTATIONS}
    issued = {a.json()["signingSecret"] for a in answers}
    assert len(issued) == ROTATIONS
    with shared_app.state.database.session() as session:
        newest = session.scalar(
            select(Integration.signing_secret).where(Integration.id == integration)
        )
        target_ids = session.scalars(
            select(Subscription.target_id).where(Subscription.integration_id == integration)
        ).all()
        secrets = [session.get_one(Target, t).secrets for t in target_ids]
    assert newest in issued
    assert len(secrets) == 3
    for stored in secrets:
        assert stored[0]["secret"] == newest  # signs first everywhere
        assert len(stored) == 2  # and the previous one beside it, only
        assert stored[1]["secret"] in issued
    assert len({tuple(s["secret"] for s in stored) for stored in secrets}) == 1
