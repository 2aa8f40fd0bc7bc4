"""Limits and the one-active-account rule hold under concurrent requests (SPEC §3.1, §3.3, §3.9):
real requests, fired together from threads at a real `buzz serve`, on the suite's database
(PostgreSQL with BUZZ_TEST_DATABASE_URL; a SQLite file otherwise)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from buzz.clock import ManualClock
from buzz.db import Database
from buzz.settings import Settings
from buzz.testing import SeededSubscriber, seed_subscriber
from tests.buzzchat.helpers import API
from tests.conftest import ON_POSTGRES, app_for
from tests.serving import LiveServer, buzz_serve

ROUNDS = 5


@pytest.fixture
def shared_app(settings: Settings, clock: ManualClock, tmp_path: Path) -> Iterator[FastAPI]:
    """An app on a database another process can reach (the server under test)."""
    url = settings.database_url
    if not ON_POSTGRES:
        url = f"sqlite:///{tmp_path / 'shared.db'}"
        database = Database(url)
        database.upgrade()
        database.dispose()
    with app_for(settings.model_copy(update={"database_url": url}), clock) as app:
        yield app


@pytest.fixture
def server(shared_app: FastAPI, tmp_path: Path) -> Iterator[LiveServer]:
    url = str(shared_app.state.settings.database_url)
    with buzz_serve(tmp_path, BUZZ_DATABASE_URL=url, BUZZ_RATE_LIMIT_PER_MINUTE="100000") as live:
        yield live


def together(url: str, shop: SeededSubscriber, bodies: list[dict[str, object]]) -> list[int]:
    """POST each body to `url` as `shop`, all at the same moment from as many threads; the
    statuses."""
    start = threading.Barrier(len(bodies))
    statuses: list[int] = []
    lock = threading.Lock()

    def run(body: dict[str, object]) -> None:
        with httpx.Client(timeout=60) as client:
            start.wait()
            status = client.post(url, json=body, headers=shop.headers).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=run, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(statuses) == len(bodies)
    return statuses


def listed(server: LiveServer, shop: SeededSubscriber, what: str) -> list[dict[str, object]]:
    response = httpx.get(f"{server.base_url}{API}/{what}", headers=shop.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["data"][what]
    return items


def test_concurrent_key_creation_never_exceeds_five_live_keys(
    shared_app: FastAPI, server: LiveServer
) -> None:
    for _ in range(ROUNDS):
        shop = seed_subscriber(shared_app)  # one key already
        statuses = together(
            f"{server.base_url}{API}/keys", shop, [{"name": f"k{n}"} for n in range(8)]
        )
        assert Counter(statuses) == {201: 4, 400: 4}
        assert len(listed(server, shop, "keys")) == 5


def test_concurrent_webhook_creation_never_exceeds_ten(
    shared_app: FastAPI, server: LiveServer
) -> None:
    for _ in range(ROUNDS):
        shop = seed_subscriber(shared_app)
        body = {"url": "https://hooks.example.com/race", "events": ["bot.started"]}
        statuses = together(f"{server.base_url}{API}/webhooks", shop, [body] * 13)
        assert Counter(statuses) == {201: 10, 400: 3}
        assert len(listed(server, shop, "webhooks")) == 10


def test_concurrent_account_creation_never_exceeds_ten(
    shared_app: FastAPI, server: LiveServer
) -> None:
    for _ in range(ROUNDS):
        shop = seed_subscriber(shared_app)  # its first account
        statuses = together(
            f"{server.base_url}{API}/accounts", shop, [{"name": f"a{n}"} for n in range(12)]
        )
        assert Counter(statuses) == {201: 9, 400: 3}
        assert len(listed(server, shop, "accounts")) == 10


def test_concurrent_switches_leave_exactly_one_account_active(
    shared_app: FastAPI, server: LiveServer
) -> None:
    shop = seed_subscriber(shared_app)
    base = f"{server.base_url}{API}"
    others = [
        httpx.post(f"{base}/accounts", json={"name": f"s{n}"}, headers=shop.headers).json()
        for n in range(3)
    ]
    ids = [shop.account_id, *(o["data"]["id"] for o in others)]
    for _ in range(4 * ROUNDS):
        statuses = together(f"{base}/accounts/switch", shop, [{"accountId": i} for i in ids])
        assert statuses == [200] * 4
        active = [a["id"] for a in listed(server, shop, "accounts") if a["isActive"]]
        assert len(active) == 1
        settings = httpx.get(f"{base}/settings", headers=shop.headers)
        assert settings.status_code == 200, settings.text
