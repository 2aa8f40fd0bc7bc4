"""Rate limits (SPEC §3.2): 60 a minute and 10,000 a day per subscriber, failed auths per address.

The limits count real time (the `limits` library), so every test stays well inside one minute.
"""

from __future__ import annotations

import math
import os
import socket
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from buzz.clock import ManualClock
from buzz.db import Database
from buzz.models import load_all_models
from buzz.settings import Settings
from buzz.testing import SeededSubscriber, seed_subscriber
from tests.buzzchat.helpers import API, error, ok
from tests.conftest import ON_POSTGRES, app_for
from tests.serving import buzz_serve

RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def remaining(response: httpx.Response) -> int:
    return int(response.headers["x-ratelimit-remaining"])


def use_up(client: TestClient, shop: SeededSubscriber, count: int) -> None:
    for _ in range(count):
        ok(client.get(f"{API}/accounts", headers=shop.headers))


def test_success_carries_the_minute_window_headers(
    client: TestClient, shop: SeededSubscriber
) -> None:
    response = client.get(f"{API}/settings", headers=shop.headers)
    ok(response)
    assert response.headers["x-ratelimit-limit"] == "60"
    assert response.headers["x-ratelimit-remaining"] == "59"
    assert response.headers["x-ratelimit-reset"].isdigit()


def test_remaining_counts_down(client: TestClient, shop: SeededSubscriber) -> None:
    seen = [remaining(client.get(f"{API}/accounts", headers=shop.headers)) for _ in range(5)]
    assert seen == [59, 58, 57, 56, 55]


def test_reset_is_unix_seconds_in_the_next_minute(
    client: TestClient, shop: SeededSubscriber
) -> None:
    before = int(time.time())
    response = client.get(f"{API}/accounts", headers=shop.headers)
    reset = int(response.headers["x-ratelimit-reset"])
    assert before < reset <= int(time.time()) + 61


def test_error_responses_after_auth_carry_the_headers_and_count(
    client: TestClient, shop: SeededSubscriber
) -> None:
    not_found = client.get(f"{API}/webhooks/wh_nope", headers=shop.headers)
    error(not_found, 404, "NOT_FOUND")
    invalid = client.post(f"{API}/accounts", json={"name": ""}, headers=shop.headers)
    error(invalid, 400, "VALIDATION_ERROR")
    wrong_account = client.get(f"{API}/settings", params={"account": "acc_x"}, headers=shop.headers)
    error(wrong_account, 404, "NOT_FOUND")
    for response in (not_found, invalid, wrong_account):
        assert set(RATE_HEADERS) <= set(response.headers)
    assert [remaining(r) for r in (not_found, invalid, wrong_account)] == [59, 58, 57]


def test_forbidden_tier_responses_carry_the_headers(
    client: TestClient, free_shop: SeededSubscriber
) -> None:
    response = client.get(f"{API}/settings", headers=free_shop.headers)
    error(response, 403, "INSUFFICIENT_TIER")
    assert response.headers["x-ratelimit-limit"] == "60"
    assert response.headers["x-ratelimit-remaining"] == "59"


def test_sixty_first_request_in_a_minute_is_429(client: TestClient, shop: SeededSubscriber) -> None:
    started = time.time()
    use_up(client, shop, 60)
    response = client.get(f"{API}/accounts", headers=shop.headers)
    elapsed = time.time() - started
    error(response, 429, "RATE_LIMIT_EXCEEDED")
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit()
    # The window frees when its first request, made `elapsed` ago at most, is a minute old.
    assert 60 - math.ceil(elapsed) <= int(retry_after) <= 60
    assert response.headers["x-ratelimit-limit"] == "60"
    assert response.headers["x-ratelimit-remaining"] == "0"
    reset = int(response.headers["x-ratelimit-reset"])
    assert math.floor(started) + 60 <= reset <= math.ceil(started + elapsed) + 60


def test_limit_applies_to_every_route_once_full(client: TestClient, shop: SeededSubscriber) -> None:
    use_up(client, shop, 60)
    for method, path in (("POST", "/keys"), ("GET", "/settings"), ("DELETE", "/giveaway/entries")):
        response = client.request(method, f"{API}{path}", headers=shop.headers)
        error(response, 429, "RATE_LIMIT_EXCEEDED")


def test_all_keys_of_a_subscriber_share_the_limit(
    client: TestClient, shop: SeededSubscriber
) -> None:
    second = ok(client.post(f"{API}/keys", headers=shop.headers), 201)["key"]
    by_query = client.get(f"{API}/accounts", params={"api_key": second})
    assert remaining(by_query) == 58
    for n in range(58):
        key = shop.key if n % 2 else second
        ok(client.get(f"{API}/accounts", headers={"Authorization": f"Bearer {key}"}))
    for key in (shop.key, second):
        refused = client.get(f"{API}/accounts", headers={"Authorization": f"Bearer {key}"})
        error(refused, 429, "RATE_LIMIT_EXCEEDED")


def test_another_subscriber_is_unaffected(
    client: TestClient, shop: SeededSubscriber, other_shop: SeededSubscriber
) -> None:
    use_up(client, shop, 60)
    error(client.get(f"{API}/accounts", headers=shop.headers), 429, "RATE_LIMIT_EXCEEDED")
    response = client.get(f"{API}/accounts", headers=other_shop.headers)
    ok(response)
    assert remaining(response) == 59


def test_day_limit_is_reported_when_it_is_the_tighter_window(
    settings: Settings, clock: ManualClock
) -> None:
    tight = settings.model_copy(update={"rate_limit_per_day": 3})
    with app_for(tight, clock) as app, TestClient(app) as client:
        shop = seed_subscriber(app, name="Tiny Shop")
        seen = []
        for _ in range(3):
            response = client.get(f"{API}/accounts", headers=shop.headers)
            ok(response)
            assert response.headers["x-ratelimit-limit"] == "3"
            seen.append(remaining(response))
        assert seen == [2, 1, 0]
        refused = client.get(f"{API}/accounts", headers=shop.headers)
        error(refused, 429, "RATE_LIMIT_EXCEEDED")
        assert refused.headers["x-ratelimit-limit"] == "3"
        assert refused.headers["x-ratelimit-remaining"] == "0"
        # The day window frees up in about a day, not a minute.
        assert int(refused.headers["retry-after"]) > 3600
        assert int(refused.headers["x-ratelimit-reset"]) > time.time() + 3600


def test_thirty_failed_authentications_block_bad_keys_but_never_a_valid_one(
    client: TestClient, shop: SeededSubscriber
) -> None:
    for n in range(30):
        bad = {"Authorization": f"Bearer bz_live_guess{n}"}
        response = client.get(f"{API}/settings", headers=bad)
        error(response, 401, "INVALID_API_KEY")
        for name in RATE_HEADERS:
            assert name not in response.headers
    blocked = client.get(f"{API}/settings", headers={"Authorization": "Bearer bz_live_guess30"})
    error(blocked, 429, "RATE_LIMIT_EXCEEDED")
    assert int(blocked.headers["retry-after"]) >= 1
    for name in RATE_HEADERS:
        assert name not in blocked.headers
    # Someone else behind the same address, with a real key, is served.
    ok(client.get(f"{API}/settings", headers=shop.headers))
    error(client.get(f"{API}/settings", params={"api_key": "wrong"}), 429, "RATE_LIMIT_EXCEEDED")


def test_twenty_nine_failures_do_not_block_a_valid_key(
    client: TestClient, shop: SeededSubscriber
) -> None:
    for _ in range(29):
        error(client.get(f"{API}/settings"), 401, "INVALID_API_KEY")
    ok(client.get(f"{API}/settings", headers=shop.headers))


def test_failed_authentications_are_counted_per_address(
    app: FastAPI, client: TestClient, shop: SeededSubscriber
) -> None:
    for _ in range(30):
        client.get(f"{API}/settings", params={"api_key": "wrong"})
    error(client.get(f"{API}/settings", params={"api_key": "wrong"}), 429, "RATE_LIMIT_EXCEEDED")
    with TestClient(app, client=("203.0.113.9", 50000)) as elsewhere:
        error(elsewhere.get(f"{API}/settings", params={"api_key": "wrong"}), 401, "INVALID_API_KEY")


def test_the_failed_authentication_limit_is_a_setting(
    settings: Settings, clock: ManualClock
) -> None:
    tuned = settings.model_copy(update={"failed_auth_per_minute": 3})
    with app_for(tuned, clock) as app, TestClient(app) as client:
        statuses = [client.get(f"{API}/settings").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_is_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


# `.ci/run` sets BUZZ_TEST_REQUIRE_REDIS, so there a missing Redis fails instead of skipping.
@pytest.mark.skipif(
    not redis_is_up() and not os.environ.get("BUZZ_TEST_REQUIRE_REDIS"),
    reason="no Redis on 127.0.0.1:6379",
)
def test_two_apps_on_redis_share_the_limit(
    settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    # Two apps on one database: a file on SQLite (memory is private), the suite's PostgreSQL.
    url = settings.database_url if ON_POSTGRES else f"sqlite:///{tmp_path / 'shared.db'}"
    if not ON_POSTGRES:
        load_all_models()
        database = Database(url)
        database.upgrade()
        database.dispose()
    shared = settings.model_copy(
        update={
            "database_url": url,
            "rate_limit_storage": REDIS_URL,
            "rate_limit_per_minute": 4,
        }
    )
    with app_for(shared, clock) as first_app, app_for(shared, clock) as second_app:
        shop = seed_subscriber(first_app, name="Redis Shop")
        with TestClient(first_app) as first, TestClient(second_app) as second:
            counts = [
                remaining(first.get(f"{API}/accounts", headers=shop.headers)),
                remaining(second.get(f"{API}/accounts", headers=shop.headers)),
                remaining(first.get(f"{API}/accounts", headers=shop.headers)),
                remaining(second.get(f"{API}/accounts", headers=shop.headers)),
            ]
            assert counts == [3, 2, 1, 0]
            error(first.get(f"{API}/accounts", headers=shop.headers), 429, "RATE_LIMIT_EXCEEDED")
            error(second.get(f"{API}/accounts", headers=shop.headers), 429, "RATE_LIMIT_EXCEEDED")


def _guesses_from_rotating_addresses(base_url: str) -> list[int]:
    statuses = []
    with httpx.Client(base_url=base_url) as client:
        for n in range(31):
            forwarded = {"X-Forwarded-For": f"198.51.100.{n}", "Authorization": "Bearer nope"}
            statuses.append(client.get(f"{API}/settings", headers=forwarded).status_code)
    return statuses


def test_forwarded_for_from_an_untrusted_peer_does_not_change_the_address(
    tmp_path: Path,
) -> None:
    with buzz_serve(tmp_path) as server:
        statuses = _guesses_from_rotating_addresses(server.base_url)
    assert statuses == [401] * 30 + [429]


def test_forwarded_for_from_a_trusted_proxy_is_the_address(tmp_path: Path) -> None:
    with buzz_serve(tmp_path, BUZZ_TRUSTED_PROXIES="127.0.0.1") as server:
        statuses = _guesses_from_rotating_addresses(server.base_url)
    assert statuses == [401] * 31
