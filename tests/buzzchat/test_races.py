"""Limits and the one-active-account rule hold under concurrent requests (SPEC §3.1, §3.3, §3.9):
real requests, fired together from threads at a real `buzz serve`, on the suite's database
(PostgreSQL with BUZZ_TEST_DATABASE_URL; a SQLite file otherwise)."""

from __future__ import annotations

from collections import Counter

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from buzz.delivery.models import Delivery
from buzz.testing import SeededSubscriber, seed_subscriber
from tests.buzzchat.helpers import API
from tests.serving import LiveServer
from tests.support.races import together as fired_together

ROUNDS = 5


def together(url: str, shop: SeededSubscriber, bodies: list[dict[str, object]]) -> list[int]:
    """POST each body to `url` as `shop`, all at the same moment; the statuses."""
    return [response.status_code for response in fired_together(url, shop.headers, bodies)]


def listed(shared_server: LiveServer, shop: SeededSubscriber, what: str) -> list[dict[str, object]]:
    response = httpx.get(f"{shared_server.base_url}{API}/{what}", headers=shop.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["data"][what]
    return items


def test_concurrent_key_creation_never_exceeds_five_live_keys(
    shared_app: FastAPI, shared_server: LiveServer
) -> None:
    for _ in range(ROUNDS):
        shop = seed_subscriber(shared_app)  # one key already
        statuses = together(
            f"{shared_server.base_url}{API}/keys", shop, [{"name": f"k{n}"} for n in range(8)]
        )
        assert Counter(statuses) == {201: 4, 400: 4}
        assert len(listed(shared_server, shop, "keys")) == 5


def test_concurrent_webhook_creation_never_exceeds_ten(
    shared_app: FastAPI, shared_server: LiveServer
) -> None:
    for _ in range(ROUNDS):
        shop = seed_subscriber(shared_app)
        body = {"url": "https://hooks.example.com/race", "events": ["bot.started"]}
        statuses = together(f"{shared_server.base_url}{API}/webhooks", shop, [body] * 13)
        assert Counter(statuses) == {201: 10, 400: 3}
        assert len(listed(shared_server, shop, "webhooks")) == 10


def test_concurrent_account_creation_never_exceeds_ten(
    shared_app: FastAPI, shared_server: LiveServer
) -> None:
    for _ in range(ROUNDS):
        shop = seed_subscriber(shared_app)  # its first account
        statuses = together(
            f"{shared_server.base_url}{API}/accounts", shop, [{"name": f"a{n}"} for n in range(12)]
        )
        assert Counter(statuses) == {201: 9, 400: 3}
        assert len(listed(shared_server, shop, "accounts")) == 10


def test_concurrent_switches_leave_exactly_one_account_active(
    shared_app: FastAPI, shared_server: LiveServer
) -> None:
    shop = seed_subscriber(shared_app)
    base = f"{shared_server.base_url}{API}"
    others = [
        httpx.post(f"{base}/accounts", json={"name": f"s{n}"}, headers=shop.headers).json()
        for n in range(3)
    ]
    ids = [shop.account_id, *(o["data"]["id"] for o in others)]
    for _ in range(4 * ROUNDS):
        statuses = together(f"{base}/accounts/switch", shop, [{"accountId": i} for i in ids])
        assert statuses == [200] * 4
        active = [a["id"] for a in listed(shared_server, shop, "accounts") if a["isActive"]]
        assert len(active) == 1
        settings = httpx.get(f"{base}/settings", headers=shop.headers)
        assert settings.status_code == 200, settings.text


def test_racing_chat_calls_welcome_enter_reply_and_count_each_once(
    shared_app: FastAPI, shared_server: LiveServer
) -> None:
    """Eight calls carrying the same 20 viewers race: each viewer is welcomed once and enters
    once, the FAQ rule replies once (its cooldown), the counters agree with the messages and
    every reaction has its one webhook delivery, whichever call won each race."""
    shop = seed_subscriber(shared_app)
    base = f"{shared_server.base_url}{API}"
    configured = httpx.patch(
        f"{base}/settings",
        headers=shop.headers,
        json={
            "botActive": True,
            "welcomeEnabled": True,
            "welcomeDelay": 0,
            "faqEnabled": True,
            "faqRules": [{"triggers": ["shipping"], "reply": "We ship in 3 days."}],
            "giveawayEnabled": True,
            "giveawayKeywords": ["enter"],
        },
    )
    assert configured.status_code == 200, configured.text
    hook = httpx.post(
        f"{base}/webhooks",
        headers=shop.headers,
        json={
            "url": "https://hooks.example.com/race",
            "events": ["message.sent", "giveaway.entry"],
        },
    )
    assert hook.status_code == 201, hook.text
    viewers = [f"viewer{n}" for n in range(20)]
    events: list[dict[str, object]] = [{"type": "join", "username": v} for v in viewers]
    events += [{"type": "message", "username": v, "text": "enter me"} for v in viewers]
    events.append({"type": "message", "username": "viewer0", "text": "shipping to Oslo?"})

    for _ in range(2):  # the second wave finds everyone welcomed and entered already
        statuses = together(f"{base}/chat/events", shop, [{"events": events}] * 8)
        assert statuses == [202] * 8

    entries = httpx.get(f"{base}/giveaway/entries", headers=shop.headers).json()["data"]
    assert sorted(e["username"] for e in entries["entries"]) == sorted(viewers)
    assert entries["count"] == len(viewers)
    analytics = httpx.get(
        f"{base}/analytics", headers=shop.headers, params={"period": "all"}
    ).json()["data"]
    assert (analytics["welcomeMessages"], analytics["faqReplies"]) == (len(viewers), 1)
    assert analytics["totalMessages"] == len(viewers) + 1
    sent = httpx.get(f"{base}/messages", headers=shop.headers, params={"limit": 100})
    assert sent.status_code == 200, sent.text
    kinds = Counter(m["kind"] for m in sent.json()["data"]["messages"])
    assert kinds == {"welcome": len(viewers), "faq": 1}
    with shared_app.state.database.session() as session:
        per_event = session.execute(
            select(Delivery.event_type, Delivery.event_id, func.count()).group_by(
                Delivery.event_type, Delivery.event_id
            )
        ).all()
    # One delivery per reaction: a message.sent per bot message, a giveaway.entry per entrant.
    assert Counter(event_type for event_type, *_ in per_event) == {
        "message.sent": len(viewers) + 1,
        "giveaway.entry": len(viewers),
    }
    assert {count for *_, count in per_event} == {1}
