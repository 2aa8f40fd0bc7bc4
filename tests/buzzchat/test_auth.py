"""Who may call BuzzChat v1 (SPEC §3 intro, §3.1): API keys, tiers, one subscriber's data only."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from fastapi.testclient import TestClient

from buzz.app import create_app
from buzz.settings import Settings
from buzz.testing import SeededSubscriber
from tests.buzzchat.helpers import API, chat, error, ok, settings_patch
from tests.support.routes import flat_routes

SEED_INVALID_KEY = {
    "success": False,
    "error": {
        "code": "INVALID_API_KEY",
        "message": "The provided API key is invalid or expired",
    },
}
RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def api_routes() -> list[tuple[str, str]]:
    """(method, path) of every route of the app under /api/v1, read from `app.routes`."""
    app = create_app(Settings(database_url="sqlite://", embedded_worker=False, _env_file=None))  # type: ignore[call-arg]
    try:
        found = {
            (method, route.path)
            for route in flat_routes(app.routes)
            if isinstance(getattr(route, "path", None), str) and route.path.startswith(f"{API}/")
            for method in (getattr(route, "methods", None) or ())
            if method != "HEAD"
        }
    finally:
        app.state.database.dispose()
    return sorted(found, key=lambda r: (r[1], r[0]))


ROUTES = api_routes()


def concrete(path: str) -> str:
    """The path with every `{param}` filled with an id that exists nowhere."""
    return re.sub(r"\{[^}]+\}", "zz_missing", path)


def unknown_key() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "bz_live_" + "".join(secrets.choice(alphabet) for _ in range(48))


# --- keys in the request --------------------------------------------------------------------


def test_bearer_key_is_accepted(client: TestClient, shop: SeededSubscriber) -> None:
    data = ok(client.get(f"{API}/accounts", headers={"Authorization": f"Bearer {shop.key}"}))
    assert [a["id"] for a in data["accounts"]] == [shop.account_id]


def test_api_key_query_parameter_is_accepted(client: TestClient, shop: SeededSubscriber) -> None:
    data = ok(client.get(f"{API}/accounts", params={"api_key": shop.key}))
    assert [a["id"] for a in data["accounts"]] == [shop.account_id]


def test_api_key_query_parameter_works_on_a_post(
    client: TestClient, shop: SeededSubscriber
) -> None:
    created = ok(
        client.post(f"{API}/accounts", params={"api_key": shop.key}, json={"name": "Second"}),
        201,
    )
    assert created["name"] == "Second"


def test_missing_key_is_401_with_the_seed_envelope(client: TestClient) -> None:
    response = client.get(f"{API}/accounts")
    assert response.status_code == 401
    assert response.json() == SEED_INVALID_KEY


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ",
        "Token {key}",
        "{key}",
        "Basic {key}",
    ],
    ids=["basic", "bearer-alone", "bearer-empty", "token-scheme", "no-scheme", "basic-with-key"],
)
def test_malformed_authorization_is_401(
    client: TestClient, shop: SeededSubscriber, authorization: str
) -> None:
    response = client.get(
        f"{API}/accounts", headers={"Authorization": authorization.format(key=shop.key)}
    )
    assert response.status_code == 401
    assert response.json() == SEED_INVALID_KEY


@pytest.mark.parametrize("how", ["header", "query"])
def test_unknown_key_is_401(client: TestClient, shop: SeededSubscriber, how: str) -> None:
    key = unknown_key()
    if how == "header":
        response = client.get(f"{API}/settings", headers={"Authorization": f"Bearer {key}"})
    else:
        response = client.get(f"{API}/settings", params={"api_key": key})
    assert response.status_code == 401
    assert response.json() == SEED_INVALID_KEY


def test_key_with_a_changed_character_is_401(client: TestClient, shop: SeededSubscriber) -> None:
    last = "A" if shop.key[-1] != "A" else "B"
    tampered = shop.key[:-1] + last
    response = client.get(f"{API}/settings", headers={"Authorization": f"Bearer {tampered}"})
    assert response.json() == SEED_INVALID_KEY


def test_empty_api_key_query_parameter_is_401(client: TestClient) -> None:
    response = client.get(f"{API}/settings", params={"api_key": ""})
    assert response.status_code == 401
    assert response.json() == SEED_INVALID_KEY


def test_revoked_key_is_401(client: TestClient, shop: SeededSubscriber) -> None:
    spare = ok(client.post(f"{API}/keys", json={"name": "spare"}, headers=shop.headers), 201)
    ok(
        client.delete(
            f"{API}/keys/{shop.key_id}", headers={"Authorization": f"Bearer {spare['key']}"}
        )
    )
    for response in (
        client.get(f"{API}/settings", headers=shop.headers),
        client.get(f"{API}/settings", params={"api_key": shop.key}),
    ):
        assert response.status_code == 401
        assert response.json() == SEED_INVALID_KEY


def test_unauthenticated_responses_carry_no_rate_limit_headers(client: TestClient) -> None:
    response = client.get(f"{API}/settings", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    for name in RATE_HEADERS:
        assert name not in response.headers


# --- tiers ----------------------------------------------------------------------------------


def test_every_documented_route_is_collected() -> None:
    paths = {path for _method, path in ROUTES}
    assert len(ROUTES) >= 28
    assert {f"{API}/settings", f"{API}/keys", f"{API}/accounts", f"{API}/webhooks"} <= paths


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_free_and_pro_tiers_are_403_on_every_route(
    client: TestClient,
    free_shop: SeededSubscriber,
    pro_shop: SeededSubscriber,
    method: str,
    path: str,
) -> None:
    for subscriber in (free_shop, pro_shop):
        for prefix in ("/api/v1", "/v1"):
            url = prefix + concrete(path).removeprefix(API)
            response = client.request(method, url, headers=subscriber.headers)
            message = error(response, 403, "INSUFFICIENT_TIER")
            assert "Business" in message
            assert response.headers["x-ratelimit-limit"] == "60"


def test_business_tier_key_reaches_a_route_free_tier_cannot(
    client: TestClient, shop: SeededSubscriber, free_shop: SeededSubscriber
) -> None:
    ok(client.get(f"{API}/settings", headers=shop.headers))
    error(client.get(f"{API}/settings", headers=free_shop.headers), 403, "INSUFFICIENT_TIER")


def test_tier_is_checked_after_the_key(client: TestClient, free_shop: SeededSubscriber) -> None:
    response = client.get(f"{API}/settings", headers={"Authorization": f"Bearer {unknown_key()}"})
    assert response.json() == SEED_INVALID_KEY


# --- one subscriber never sees another's data ----------------------------------------------


def _webhook(client: TestClient, owner: SeededSubscriber) -> dict[str, Any]:
    body = {"url": "https://hooks.rival.example/buzz", "events": ["giveaway.entry"]}
    data: dict[str, Any] = ok(client.post(f"{API}/webhooks", json=body, headers=owner.headers), 201)
    return data


def test_other_subscribers_webhooks_are_invisible_and_404(
    client: TestClient, shop: SeededSubscriber, other_shop: SeededSubscriber
) -> None:
    theirs = _webhook(client, other_shop)
    assert ok(client.get(f"{API}/webhooks", headers=shop.headers))["webhooks"] == []
    wid = theirs["id"]
    for method, path, body in (
        ("GET", f"/webhooks/{wid}", None),
        ("PATCH", f"/webhooks/{wid}", {"active": False}),
        ("POST", f"/webhooks/{wid}/rotate-secret", None),
        ("POST", f"/webhooks/{wid}/test", None),
        ("GET", f"/webhooks/{wid}/deliveries", None),
        ("DELETE", f"/webhooks/{wid}", None),
    ):
        response = client.request(method, f"{API}{path}", json=body, headers=shop.headers)
        error(response, 404, "NOT_FOUND")
    still = ok(client.get(f"{API}/webhooks/{wid}", headers=other_shop.headers))
    assert still["active"] is True


def test_other_subscribers_keys_are_invisible_and_404(
    client: TestClient, shop: SeededSubscriber, other_shop: SeededSubscriber
) -> None:
    listed = ok(client.get(f"{API}/keys", headers=shop.headers))["keys"]
    assert [k["id"] for k in listed] == [shop.key_id]
    error(client.delete(f"{API}/keys/{other_shop.key_id}", headers=shop.headers), 404, "NOT_FOUND")
    ok(client.get(f"{API}/settings", headers=other_shop.headers))


def test_other_subscribers_accounts_are_invisible_and_404(
    client: TestClient, shop: SeededSubscriber, other_shop: SeededSubscriber
) -> None:
    listed = ok(client.get(f"{API}/accounts", headers=shop.headers))["accounts"]
    assert [a["id"] for a in listed] == [shop.account_id]
    theirs = other_shop.account_id
    switch = client.post(f"{API}/accounts/switch", json={"accountId": theirs}, headers=shop.headers)
    assert error(switch, 404, "NOT_FOUND") == "Account not found"
    delete = client.delete(f"{API}/accounts/{theirs}", headers=shop.headers)
    assert error(delete, 404, "NOT_FOUND") == "Account not found"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/settings", None),
        ("PATCH", "/settings", {"botActive": True}),
        ("POST", "/chat/events", {"events": [{"type": "join", "username": "amy"}]}),
        ("GET", "/messages", None),
        ("POST", "/messages/send", {"message": "hi"}),
        ("GET", "/giveaway/entries", None),
        ("POST", "/giveaway/entries", {"username": "amy"}),
        ("POST", "/giveaway/pick-winner", None),
        ("DELETE", "/giveaway/entries", None),
        ("GET", "/analytics", None),
        ("GET", "/analytics/faq-triggers", None),
    ],
)
def test_account_param_of_another_subscriber_is_404(
    client: TestClient,
    shop: SeededSubscriber,
    other_shop: SeededSubscriber,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    response = client.request(
        method,
        f"{API}{path}",
        json=body,
        params={"account": other_shop.account_id},
        headers=shop.headers,
    )
    assert error(response, 404, "NOT_FOUND") == "Account not found"


def test_other_subscribers_settings_and_entries_are_invisible(
    client: TestClient, shop: SeededSubscriber, other_shop: SeededSubscriber
) -> None:
    settings_patch(client, other_shop, botActive=True, welcomeMessage="Rivals rule, {username}")
    ok(
        client.post(
            f"{API}/giveaway/entries", json={"username": "amy"}, headers=other_shop.headers
        ),
        201,
    )
    chat(client, other_shop, {"type": "join", "username": "bea"})

    mine = ok(client.get(f"{API}/settings", headers=shop.headers))
    assert mine["botActive"] is False
    assert mine["welcomeMessage"] == "Welcome to the stream, {username}!"
    entries = ok(client.get(f"{API}/giveaway/entries", headers=shop.headers))
    assert entries == {"entries": [], "count": 0}
    assert ok(client.get(f"{API}/messages", headers=shop.headers))["count"] == 0
