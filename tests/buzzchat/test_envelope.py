"""The BuzzChat envelope (SPEC §3 intro): success/error shapes, 400 never 422, /v1 alias."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from buzz.testing import SeededSubscriber
from tests.buzzchat.helpers import API, error, ok
from tests.buzzchat.test_auth import ROUTES


def details(response: Any) -> list[dict[str, str]]:
    found: list[dict[str, str]] = response.json()["error"]["details"]
    for item in found:
        assert set(item) == {"field", "message"}
    return found


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/v1/nothing-here", "/api/v1", "/v1"])
def test_unknown_route_is_404_in_the_buzzchat_envelope(client: TestClient, path: str) -> None:
    response = client.get(path)
    body = response.json()
    assert response.status_code == 404
    assert set(body) == {"success", "error"}
    assert body["success"] is False
    assert body["error"]["code"] == "NOT_FOUND"
    assert body["error"]["message"]


def test_unknown_route_with_a_key_is_404_too(client: TestClient, shop: SeededSubscriber) -> None:
    error(client.get(f"{API}/settings/extra", headers=shop.headers), 404, "NOT_FOUND")


def test_buzz_routes_under_v1_keep_the_domo_envelope(client: TestClient) -> None:
    response = client.get("/v1/buzz/nothing-here")
    body = response.json()
    assert response.status_code == 404
    assert "success" not in body
    assert body["status"] == 404
    assert body["statusReason"] == "Not Found"
    assert body["path"] == "/v1/buzz/nothing-here"


def test_success_envelope_has_data(client: TestClient, shop: SeededSubscriber) -> None:
    body = client.get(f"{API}/accounts", headers=shop.headers).json()
    assert set(body) == {"success", "data"}
    assert body["success"] is True


def test_delete_success_envelope_has_a_message(client: TestClient, shop: SeededSubscriber) -> None:
    body = client.delete(f"{API}/giveaway/entries", headers=shop.headers).json()
    assert body == {"success": True, "message": "All entries cleared"}


def test_malformed_json_is_400(client: TestClient, shop: SeededSubscriber) -> None:
    response = client.post(
        f"{API}/accounts",
        content=b'{"name": "Late show",',
        headers={**shop.headers, "Content-Type": "application/json"},
    )
    error(response, 400, "VALIDATION_ERROR")
    assert details(response)


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/accounts", {"name": 12}, "name"),
        ("PATCH", "/settings", {"botActive": "true"}, "botActive"),
        ("PATCH", "/settings", {"welcomeDelay": 5.5}, "welcomeDelay"),
        ("POST", "/messages/send", {"message": ["hi"]}, "message"),
        ("POST", "/keys", {"name": {"x": 1}}, "name"),
    ],
    ids=["name-int", "bool-string", "int-float", "message-list", "name-object"],
)
def test_wrong_types_are_400_with_the_field(
    client: TestClient,
    shop: SeededSubscriber,
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    response = client.request(method, f"{API}{path}", json=body, headers=shop.headers)
    error(response, 400, "VALIDATION_ERROR")
    assert any(d["field"] == field for d in details(response)), response.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/accounts", {"name": "A", "color": "red"}),
        ("PATCH", "/settings", {"botActive": True, "volume": 3}),
        ("POST", "/accounts/switch", {"accountId": "acc_x", "force": True}),
    ],
    ids=["accounts", "settings", "switch"],
)
def test_unknown_fields_are_400(
    client: TestClient, shop: SeededSubscriber, method: str, path: str, body: dict[str, Any]
) -> None:
    response = client.request(method, f"{API}{path}", json=body, headers=shop.headers)
    error(response, 400, "VALIDATION_ERROR")
    assert ok(client.get(f"{API}/settings", headers=shop.headers))["botActive"] is False


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/accounts", {"name": None}),
        ("PATCH", "/settings", {"welcomeMessage": None}),
        ("PATCH", "/settings", {"botActive": None}),
    ],
    ids=["account-name", "welcome-message", "bot-active"],
)
def test_explicit_nulls_are_400(
    client: TestClient, shop: SeededSubscriber, method: str, path: str, body: dict[str, Any]
) -> None:
    response = client.request(method, f"{API}{path}", json=body, headers=shop.headers)
    error(response, 400, "VALIDATION_ERROR")


def test_json_array_body_is_400(client: TestClient, shop: SeededSubscriber) -> None:
    response = client.post(f"{API}/accounts", json=["Late show"], headers=shop.headers)
    error(response, 400, "VALIDATION_ERROR")


def test_bad_query_parameter_is_400(client: TestClient, shop: SeededSubscriber) -> None:
    for params in ({"period": "year"}, {"period": ""}):
        response = client.get(f"{API}/analytics", params=params, headers=shop.headers)
        error(response, 400, "VALIDATION_ERROR")
    response = client.get(f"{API}/messages", params={"limit": "many"}, headers=shop.headers)
    error(response, 400, "VALIDATION_ERROR")


def test_validation_is_never_422(client: TestClient, shop: SeededSubscriber) -> None:
    attempts = [
        client.post(f"{API}/accounts", json={}, headers=shop.headers),
        client.post(f"{API}/accounts/switch", json={"accountId": 3}, headers=shop.headers),
        client.post(f"{API}/chat/events", json={"events": "no"}, headers=shop.headers),
        client.post(f"{API}/giveaway/pick-winner", json={"count": "two"}, headers=shop.headers),
        client.patch(f"{API}/settings", json={"timerMessages": [{}]}, headers=shop.headers),
    ]
    assert [r.status_code for r in attempts] == [400] * len(attempts)


def test_text_plain_body_is_415(client: TestClient, shop: SeededSubscriber) -> None:
    response = client.post(
        f"{API}/accounts",
        content=b'{"name": "Late show"}',
        headers={**shop.headers, "Content-Type": "text/plain"},
    )
    error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert len(ok(client.get(f"{API}/accounts", headers=shop.headers))["accounts"]) == 1


def test_form_body_is_415(client: TestClient, shop: SeededSubscriber) -> None:
    response = client.patch(f"{API}/settings", data={"botActive": "true"}, headers=shop.headers)
    error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_json_with_charset_is_accepted(client: TestClient, shop: SeededSubscriber) -> None:
    response = client.post(
        f"{API}/accounts",
        content=b'{"name": "Late show"}',
        headers={**shop.headers, "Content-Type": "application/json; charset=utf-8"},
    )
    assert ok(response, 201)["name"] == "Late show"


@pytest.mark.parametrize("prefix", ["/api/v1", "/v1"])
def test_wrong_method_is_405_in_the_envelope(
    client: TestClient, shop: SeededSubscriber, prefix: str
) -> None:
    response = client.delete(f"{prefix}/settings", headers=shop.headers)
    error(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["allow"]


def test_same_request_at_v1_and_api_v1_gives_the_same_result(
    client: TestClient, shop: SeededSubscriber
) -> None:
    canonical = client.get(f"{API}/settings", headers=shop.headers)
    alias = client.get("/v1/settings", headers=shop.headers)
    assert (alias.status_code, alias.json()) == (canonical.status_code, canonical.json())
    for path in ("/api/v1/settings", "/v1/settings"):
        assert client.get(path).json() == client.get("/api/v1/settings").json()
    bad = {"name": ""}
    errors = [
        client.post(f"{p}/accounts", json=bad, headers=shop.headers) for p in ("/api/v1", "/v1")
    ]
    assert errors[0].status_code == errors[1].status_code == 400
    assert errors[0].json() == errors[1].json()


def test_v1_alias_writes_the_same_data(client: TestClient, shop: SeededSubscriber) -> None:
    created = ok(client.post("/v1/accounts", json={"name": "Via alias"}, headers=shop.headers), 201)
    listed = ok(client.get(f"{API}/accounts", headers=shop.headers))["accounts"]
    assert created in listed
    patched = ok(client.patch("/v1/settings", json={"welcomeDelay": 0}, headers=shop.headers))
    assert ok(client.get(f"{API}/settings", headers=shop.headers)) == patched


def test_openapi_lists_api_v1_routes_and_hides_the_v1_alias(
    app: FastAPI, client: TestClient
) -> None:
    paths: dict[str, Any] = client.get("/openapi.json").json()["paths"]
    documented = {
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith(f"{API}/")
        for method in operations
    }
    assert set(ROUTES) <= documented
    alias = [p for p in paths if p.startswith("/v1/") and not p.startswith("/v1/buzz")]
    assert alias == []
