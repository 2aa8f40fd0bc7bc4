"""Concurrent posts fan out exactly once each (SPEC §2.5, §4.1): real requests fired together
from threads at a real `buzz serve`, on the suite's database (PostgreSQL with
BUZZ_TEST_DATABASE_URL; a SQLite file otherwise, where writes take turns on one connection
while reads run beside them)."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from buzz.delivery.models import Delivery
from buzz.integrations.models import CallbackToken
from buzz.platform.models import Message
from buzz.testing import seed_user
from tests.integrations.helpers import CHANNELS, INTEGRATIONS
from tests.serving import LiveServer
from tests.support.races import together

POSTERS = 8
ROUNDS = 4


def test_concurrent_posts_each_fan_out_once_and_reads_meanwhile_see_whole_pages(
    shared_app: FastAPI, shared_server: LiveServer
) -> None:
    owner = seed_user(shared_app)
    token = httpx.post(
        f"{shared_server.base_url}/oauth/token",
        params={"grant_type": "client_credentials"},
        auth=(owner.client_id, owner.client_secret),
    ).json()["access_token"]
    auth = {"Authorization": f"bearer {token}"}
    http = httpx.Client(base_url=shared_server.base_url, headers=auth, timeout=60)
    channel = http.post(CHANNELS, json={"title": "Races"}).json()["id"]
    # Two integrations on the channel: one with two subscriptions, one with one.
    targets = 0
    for name, urls in (("Twice", ["a", "b"]), ("Once", ["c"])):
        body = {"name": name, "scope": "CHANNEL_LIST", "channelIds": [channel]}
        integration = http.post(INTEGRATIONS, json=body).json()["id"]
        for url in urls:
            response = http.post(
                f"{INTEGRATIONS}/{integration}/subscriptions",
                json={"eventType": "MESSAGE_POSTED", "url": f"https://hooks.example.com/{url}"},
            )
            assert response.status_code == 200, response.text
            targets += 1

    # Readers list the history while the posts race; what they see must be whole: no message
    # twice, no earlier round with a post missing.
    stop = threading.Event()
    problems: list[str] = []
    pages_read = 0

    def read() -> None:
        nonlocal pages_read
        with httpx.Client(base_url=shared_server.base_url, headers=auth, timeout=60) as reader:
            while not stop.is_set():
                response = reader.get(f"{CHANNELS}/{channel}/messages", params={"limit": 200})
                if response.status_code != 200:
                    problems.append(f"{response.status_code}: {response.text}")
                    continue
                texts = [m["text"] for m in response.json()["messages"]]
                if len(set(texts)) != len(texts):
                    problems.append(f"a message twice in {texts}")
                # A round starts once the previous one is committed: all earlier rounds are
                # whole in any page that shows a later one.
                rounds = Counter(int(text.split()[1].split(".")[0]) for text in texts)
                if rounds and any(rounds[r] != POSTERS for r in range(max(rounds))):
                    problems.append(f"a round missing posts in {sorted(texts)}")
                pages_read += 1

    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers:
        thread.start()
    try:
        for round_ in range(ROUNDS):
            responses = together(
                f"{shared_server.base_url}{CHANNELS}/{channel}/messages",
                auth,
                [{"text": f"post {round_}.{n}"} for n in range(POSTERS)],
            )
            assert Counter(r.status_code for r in responses) == {201: POSTERS}, [
                r.text for r in responses if r.status_code != 201
            ]
    finally:
        stop.set()
        for thread in readers:
            thread.join(timeout=60)
    assert problems == []
    assert pages_read > 0

    posts = POSTERS * ROUNDS
    listed = http.get(f"{CHANNELS}/{channel}/messages", params={"limit": 200}).json()["messages"]
    assert sorted(m["text"] for m in listed) == sorted(
        f"post {r}.{n}" for r in range(ROUNDS) for n in range(POSTERS)
    )
    with shared_app.state.database.session() as session:
        messages = session.scalar(select(func.count()).select_from(Message))
        per_pair = session.execute(
            select(Delivery.event_id, Delivery.target_id, func.count()).group_by(
                Delivery.event_id, Delivery.target_id
            )
        ).all()
        tokens = session.scalar(select(func.count()).select_from(CallbackToken))
    assert messages == posts
    # Each post: one delivery per subscription, never two, and one callback token per
    # integration.
    assert len(per_pair) == posts * targets
    assert {count for *_, count in per_pair} == {1}
    assert len({event for event, *_ in per_pair}) == posts
    assert tokens == posts * 2
