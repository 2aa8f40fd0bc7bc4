"""SPEC §2.7: every Buzz error is JSON in Domo's style, validation errors are 400, never 422."""

from __future__ import annotations

import re
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from buzz.testing import SeededUser

CHANNELS = "/v1/buzz/channels"
MIB = 1024 * 1024
ENVELOPE = {"status", "statusReason", "message", "path"}


def assert_envelope(response: httpx.Response, status: int) -> dict[str, Any]:
    """A Domo-style error: exactly the envelope's fields (plus `errors` on a 400)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) - {"errors"} == ENVELOPE
    assert body["status"] == status
    assert body["statusReason"] == HTTPStatus(status).phrase
    assert isinstance(body["message"], str)
    assert body["message"]
    assert body["path"] == response.request.url.path
    return body


def assert_validation_error(response: httpx.Response, field: str) -> None:
    body = assert_envelope(response, 400)
    assert body["errors"], "a validation error lists the fields at fault"
    for error in body["errors"]:
        assert set(error) == {"field", "message"}
        assert error["message"]
    assert field in [error["field"] for error in body["errors"]]


@pytest.fixture
def channel_id(client: TestClient, alice: SeededUser) -> str:
    response = client.post(CHANNELS, json={"title": "general"}, headers=alice.headers)
    assert response.status_code == 201
    channel: str = response.json()["id"]
    return channel


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        pytest.param("GET", "/v1/buzz/users/me", {}, 401, id="no-token"),
        pytest.param("GET", f"{CHANNELS}/no-such-channel", {"auth": True}, 404, id="not-found"),
        pytest.param("POST", CHANNELS, {"auth": True, "json": {}}, 400, id="validation"),
        pytest.param("POST", "/oauth/token", {}, 400, id="oauth-grant"),
        pytest.param("GET", "/v1/buzz/nowhere", {"auth": True}, 404, id="no-route"),
        pytest.param("DELETE", CHANNELS, {"auth": True}, 405, id="wrong-method"),
    ],
)
def test_errors_use_the_domo_envelope(
    client: TestClient,
    alice: SeededUser,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
) -> None:
    headers = alice.headers if kwargs.pop("auth", False) else {}
    response = client.request(method, path, headers=headers, **kwargs)
    assert_envelope(response, status)


def test_error_path_is_the_path_without_query(client: TestClient, alice: SeededUser) -> None:
    response = client.get(CHANNELS, params={"limit": 0}, headers=alice.headers)
    assert assert_envelope(response, 400)["path"] == CHANNELS


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({}, "title", id="missing-title"),
        pytest.param({"title": 7}, "title", id="title-not-string"),
        pytest.param({"title": "x", "visibility": "NOPE"}, "visibility", id="bad-enum"),
        pytest.param([], "body", id="array-body"),
        pytest.param("general", "body", id="string-body"),
        pytest.param(None, "body", id="null-body"),
    ],
)
def test_invalid_channel_body_is_400_not_422(
    client: TestClient, alice: SeededUser, body: Any, field: str
) -> None:
    response = client.post(CHANNELS, json=body, headers=alice.headers)
    assert_validation_error(response, field)


@pytest.mark.parametrize(
    ("suffix", "body", "field"),
    [
        ("messages", {"text": 5}, "text"),
        ("messages", {"message": "hi"}, "text"),
        ("members", {"userIds": "bob"}, "userIds"),
        ("members", {"userIds": [1.5]}, "userIds[0]"),
        ("threads", {"title": {"nested": True}}, "title"),
    ],
)
def test_invalid_body_on_channel_routes_is_400_not_422(
    client: TestClient,
    alice: SeededUser,
    channel_id: str,
    suffix: str,
    body: dict[str, Any],
    field: str,
) -> None:
    response = client.post(f"{CHANNELS}/{channel_id}/{suffix}", json=body, headers=alice.headers)
    assert_validation_error(response, field)


@pytest.mark.parametrize(
    ("suffix", "params", "field"),
    [
        ("", {"limit": "ten"}, "limit"),
        ("", {"offset": "x"}, "offset"),
        ("/{id}/members", {"limit": 9999}, "limit"),
        ("/{id}/threads", {"offset": -5}, "offset"),
        ("/{id}/messages", {"limit": 0}, "limit"),
    ],
)
def test_invalid_query_is_400_not_422(
    client: TestClient,
    alice: SeededUser,
    channel_id: str,
    suffix: str,
    params: dict[str, Any],
    field: str,
) -> None:
    path = CHANNELS + suffix.format(id=channel_id)
    response = client.get(path, params=params, headers=alice.headers)
    assert_validation_error(response, field)


def test_invalid_path_parameter_is_400_not_422(
    client: TestClient, alice: SeededUser, channel_id: str
) -> None:
    response = client.delete(f"{CHANNELS}/{channel_id}/members/not-a-number", headers=alice.headers)
    assert_envelope(response, 400)


@pytest.mark.parametrize("raw", [b'{"title": ', b"{title: 'x'}", b"\xff\xfe", b'{"title": "a"} x'])
def test_malformed_json_is_400(client: TestClient, alice: SeededUser, raw: bytes) -> None:
    response = client.post(
        CHANNELS,
        content=raw,
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert_envelope(response, 400)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"data": {"title": "general"}}, id="form"),
        pytest.param(
            {"content": b"title=general", "headers": {"Content-Type": "text/plain"}}, id="text"
        ),
        pytest.param(
            {"content": b'{"title": "general"}', "headers": {"Content-Type": "text/plain"}},
            id="json-labelled-text",
        ),
        pytest.param({"content": b'{"title": "general"}', "headers": {}}, id="no-content-type"),
        pytest.param({"files": {"title": ("t.txt", b"general")}}, id="multipart"),
    ],
)
def test_non_json_body_is_415(
    client: TestClient, alice: SeededUser, kwargs: dict[str, Any]
) -> None:
    headers = {**alice.headers, **kwargs.pop("headers", {})}
    response = client.post(CHANNELS, headers=headers, **kwargs)
    assert_envelope(response, 415)
    assert client.get(CHANNELS, headers=alice.headers).json() == {"channels": []}


def test_json_with_charset_is_accepted(client: TestClient, alice: SeededUser) -> None:
    response = client.post(
        CHANNELS,
        content=b'{"title": "general"}',
        headers={**alice.headers, "Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201


def padded_channel(size: int) -> bytes:
    """A valid channel body of exactly `size` bytes (padded with JSON whitespace)."""
    head, tail = b'{"title": "big"', b"}"
    return head + b" " * (size - len(head) - len(tail)) + tail


def chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_body_of_exactly_1_mib_is_accepted(client: TestClient, alice: SeededUser) -> None:
    response = client.post(
        CHANNELS,
        content=padded_channel(MIB),
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 201


def test_declared_body_over_1_mib_is_413(client: TestClient, alice: SeededUser) -> None:
    body = padded_channel(MIB + 1)
    response = client.post(
        CHANNELS, content=body, headers={**alice.headers, "Content-Type": "application/json"}
    )
    assert response.request.headers["Content-Length"] == str(MIB + 1)
    assert_envelope(response, 413)
    assert client.get(CHANNELS, headers=alice.headers).json() == {"channels": []}


def test_streamed_body_over_1_mib_is_413(client: TestClient, alice: SeededUser) -> None:
    response = client.post(
        CHANNELS,
        content=chunks(padded_channel(MIB + 1)),
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert "Content-Length" not in response.request.headers
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert_envelope(response, 413)
    assert client.get(CHANNELS, headers=alice.headers).json() == {"channels": []}


def test_streamed_body_within_the_limit_is_accepted(client: TestClient, alice: SeededUser) -> None:
    response = client.post(
        CHANNELS,
        content=chunks(padded_channel(MIB)),
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    "path", ["/v1/buzz/nothing-here", "/nothing-here", "/v1/buzz/channels/a/b/c"]
)
def test_unknown_route_is_404_envelope(client: TestClient, path: str) -> None:
    assert_envelope(client.get(path), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", CHANNELS), ("DELETE", "/healthz"), ("PATCH", "/oauth/token")],
)
def test_wrong_method_is_405_envelope(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path)
    assert_envelope(response, 405)
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert allowed
    assert method not in allowed


def test_unexpected_exception_is_500_envelope_without_internals(app: FastAPI) -> None:
    def fail_hard() -> None:
        raise RuntimeError("db password is hunter2")

    app.add_api_route("/v1/buzz/boom", fail_hard)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/v1/buzz/boom")
    assert_envelope(response, 500)
    for leak in ("Traceback", "RuntimeError", "hunter2", "fail_hard", ".py"):
        assert leak not in response.text


def test_openapi_document_has_no_422(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    operations = [
        operation
        for path_item in document["paths"].values()
        for operation in path_item.values()
        if isinstance(operation, dict) and "responses" in operation
    ]
    assert len(operations) > 10
    for operation in operations:
        assert "422" not in operation["responses"], operation.get("operationId")
    schemas = document.get("components", {}).get("schemas", {})
    assert "HTTPValidationError" not in schemas


def test_every_405_lists_every_method_of_its_path(app: FastAPI, client: TestClient) -> None:
    documented = {
        path: {m.upper() for m in operations} for path, operations in app.openapi()["paths"].items()
    }
    assert sum(len(methods) > 1 for methods in documented.values()) >= 10
    for template, methods in documented.items():
        path = re.sub(r"\{[^}]+\}", "x1", template)
        wrong = next(m for m in ("PUT", "PATCH", "DELETE", "POST", "GET") if m not in methods)
        response = client.request(wrong, path)
        assert response.status_code == 405, (wrong, path, response.text)
        allowed = {m.strip() for m in response.headers["Allow"].split(",")}
        assert allowed >= methods, (path, allowed, methods)  # hidden routes may add more
        assert wrong not in allowed
