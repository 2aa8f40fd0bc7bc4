"""SPEC §2.1: client credentials for bearer tokens, and bearer tokens on every Buzz route."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from buzz.clock import ManualClock
from buzz.testing import SeededUser
from tests.platform.helpers import assert_error

TOKEN_URL = "/oauth/token"
ME = "/v1/buzz/users/me"
GRANT = {"grant_type": "client_credentials"}


def basic(client_id: str, secret: str) -> dict[str, str]:
    """An HTTP Basic `Authorization` header."""
    encoded = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def request_token(client: TestClient, user: SeededUser) -> httpx.Response:
    return client.post(TOKEN_URL, params=GRANT, headers=basic(user.client_id, user.client_secret))


def token_of(client: TestClient, user: SeededUser) -> str:
    response = request_token(client, user)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def assert_token_response(response: httpx.Response, user: SeededUser) -> None:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "userId"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "buzz"
    assert body["userId"] == user.id
    assert isinstance(body["access_token"], str)
    assert len(body["access_token"]) >= 32


def test_token_with_grant_type_in_query(client: TestClient, alice: SeededUser) -> None:
    response = client.post(
        TOKEN_URL, params=GRANT, headers=basic(alice.client_id, alice.client_secret)
    )
    assert_token_response(response, alice)


def test_token_with_grant_type_in_form_body(client: TestClient, alice: SeededUser) -> None:
    response = client.post(
        TOKEN_URL, data=GRANT, headers=basic(alice.client_id, alice.client_secret)
    )
    assert_token_response(response, alice)


def test_token_by_get_is_accepted(client: TestClient, alice: SeededUser) -> None:
    response = client.get(
        TOKEN_URL, params=GRANT, headers=basic(alice.client_id, alice.client_secret)
    )
    assert_token_response(response, alice)


def test_token_response_must_not_be_cached(client: TestClient, alice: SeededUser) -> None:
    response = request_token(client, alice)
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]


def test_each_token_request_issues_a_new_working_token(
    client: TestClient, alice: SeededUser
) -> None:
    first, second = token_of(client, alice), token_of(client, alice)
    assert first != second
    for token in (first, second):
        assert client.get(ME, headers={"Authorization": f"bearer {token}"}).status_code == 200


def test_issued_token_acts_as_the_clients_user(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    token = token_of(client, bob)
    response = client.get(ME, headers={"Authorization": f"bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {"id": bob.id, "displayName": "Bob Baker", "email": "bob@acme.com"}


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param(lambda u: basic(u.client_id, "wrong-secret"), id="wrong-secret"),
        pytest.param(lambda u: basic("no-such-client", u.client_secret), id="unknown-client"),
        pytest.param(lambda u: basic(u.client_id, ""), id="empty-secret"),
        pytest.param(lambda u: {}, id="missing"),
        pytest.param(lambda u: {"Authorization": "Basic !!not-base64!!"}, id="malformed-basic"),
        pytest.param(lambda u: {"Authorization": f"bearer {u.token}"}, id="bearer-not-basic"),
    ],
)
def test_bad_client_credentials_are_401_with_challenge(
    client: TestClient, alice: SeededUser, credentials: Any
) -> None:
    response = client.post(TOKEN_URL, params=GRANT, headers=credentials(alice))
    body = assert_error(response, 401)
    assert body["statusReason"] == "Unauthorized"
    assert "access_token" not in body
    assert response.headers["WWW-Authenticate"].lower().startswith("basic")


@pytest.mark.parametrize("grant_type", ["password", "authorization_code", "", None])
def test_grant_type_other_than_client_credentials_is_400(
    client: TestClient, alice: SeededUser, grant_type: str | None
) -> None:
    params = {} if grant_type is None else {"grant_type": grant_type}
    response = client.post(
        TOKEN_URL, params=params, headers=basic(alice.client_id, alice.client_secret)
    )
    body = assert_error(response, 400)
    assert [error["field"] for error in body["errors"]] == ["grant_type"]


@pytest.mark.parametrize("scheme", ["bearer", "Bearer", "BEARER", "bEaReR"])
def test_bearer_scheme_is_case_insensitive(
    client: TestClient, alice: SeededUser, scheme: str
) -> None:
    response = client.get(ME, headers={"Authorization": f"{scheme} {alice.token}"})
    assert response.status_code == 200
    assert response.json()["id"] == alice.id


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda u: {}, id="missing-header"),
        pytest.param(lambda u: {"Authorization": "bearer not-a-real-token"}, id="unknown-token"),
        pytest.param(lambda u: {"Authorization": "bearer "}, id="empty-token"),
        pytest.param(lambda u: {"Authorization": f"Token {u.token}"}, id="other-scheme"),
        pytest.param(lambda u: basic(u.client_id, u.client_secret), id="basic-scheme"),
        pytest.param(lambda u: {"Authorization": u.token}, id="no-scheme"),
    ],
)
def test_buzz_route_without_valid_bearer_token_is_401(
    client: TestClient, alice: SeededUser, headers: Any
) -> None:
    response = client.get(ME, headers=headers(alice))
    body = assert_error(response, 401)
    assert set(body) == {"status", "statusReason", "message", "path"}
    assert body["statusReason"] == "Unauthorized"
    assert body["path"] == ME
    assert "WWW-Authenticate" in response.headers


def test_every_buzz_route_needs_a_token(client: TestClient) -> None:
    for method, path in [
        ("GET", "/v1/buzz/channels"),
        ("POST", "/v1/buzz/channels"),
        ("GET", "/v1/buzz/integrations"),
    ]:
        response = client.request(method, path, json={"title": "x"})
        assert_error(response, 401)


def test_token_still_works_before_the_hour_is_up(
    client: TestClient, clock: ManualClock, alice: SeededUser
) -> None:
    clock.advance(minutes=59)
    assert client.get(ME, headers=alice.headers).status_code == 200


def test_expired_token_is_401(client: TestClient, clock: ManualClock, alice: SeededUser) -> None:
    clock.advance(minutes=61)
    response = client.get(ME, headers=alice.headers)
    body = assert_error(response, 401)
    assert body["path"] == ME


def test_new_token_works_after_the_old_one_expired(
    client: TestClient, clock: ManualClock, alice: SeededUser
) -> None:
    clock.advance(hours=5)
    token = token_of(client, alice)
    assert client.get(ME, headers={"Authorization": f"bearer {token}"}).status_code == 200
    assert client.get(ME, headers=alice.headers).status_code == 401


def _stored_values(app: FastAPI, table: str) -> list[str]:
    """Every column value of every row of `table`, as text."""
    with app.state.database.session() as session:
        rows = session.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608
    return [str(value) for row in rows for value in row]


def test_client_secret_is_stored_hashed(app: FastAPI, alice: SeededUser) -> None:
    stored = _stored_values(app, "oauth_clients")
    assert alice.client_id in stored
    assert not any(alice.client_secret in value for value in stored)


def test_access_tokens_are_stored_hashed(
    app: FastAPI, client: TestClient, alice: SeededUser
) -> None:
    issued = token_of(client, alice)
    stored = _stored_values(app, "access_tokens")
    assert alice.client_id in stored
    for token in (alice.token, issued):
        assert not any(token in value for value in stored)


def test_a_malformed_basic_header_is_answered_by_the_token_route_itself(
    client: TestClient,
) -> None:
    # The route's own message and envelope, not the security scheme's generic 401.
    response = client.post(TOKEN_URL, params=GRANT, headers={"Authorization": "Basic !!x!!"})
    body = assert_error(response, 401)
    assert body["message"] == "Client credentials are required (HTTP Basic)"
