"""`/mcp` (SPEC §5): the six tools over streamable HTTP, for a business-tier BuzzChat API key.

Protocol checks use the SDK's own client (`mcp.client.client.Client` over
`streamable_http_client`) against the app in-process: the app's lifespan runs in the test's
event loop and an `httpx2.ASGITransport` carries the requests. Authentication failures are read
as plain HTTP, since they are BuzzChat error envelopes, not MCP messages.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from buzz.clock import ManualClock
from buzz.settings import Settings
from buzz.testing import SeededSubscriber, seed_subscriber
from tests.buzzchat.helpers import API, error, ok
from tests.conftest import app_for
from tests.mcp.results import data, failure
from tests.serving import buzz_serve

BASE = "http://testserver"
TOOLS = {
    "buzzchat_send_message",
    "buzzchat_get_analytics",
    "buzzchat_pick_winner",
    "buzzchat_toggle_bot",
    "buzzchat_get_entries",
    "buzzchat_get_settings",
}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw-test", "version": "1"},
    },
}
MCP_ACCEPT = {"Accept": "application/json, text/event-stream"}


@pytest.fixture
def shop(app: FastAPI) -> SeededSubscriber:
    return seed_subscriber(app, name="Sunny Shop")


@pytest.fixture
def other_shop(app: FastAPI) -> SeededSubscriber:
    return seed_subscriber(app, name="Rival Shop")


# --- plain HTTP: who may use /mcp -------------------------------------------------------------


def post_initialize(client: TestClient, headers: dict[str, str], path: str = "/mcp") -> Any:
    return client.post(path, json=INITIALIZE, headers={**MCP_ACCEPT, **headers})


def test_no_key_is_401_invalid_api_key_envelope(client: TestClient) -> None:
    response = post_initialize(client, {})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"success", "error"}
    assert body["success"] is False
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == "INVALID_API_KEY"
    # SPEC §5: told the key is missing, not that it is invalid.
    assert body["error"]["message"].startswith("Missing API key")
    assert "invalid" not in body["error"]["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer bz_live_" + "x" * 48,
        "Bearer not-a-key",
        "Basic dXNlcjpwYXNz",
        "bz_live_" + "x" * 48,
    ],
)
def test_unknown_or_malformed_key_is_401(client: TestClient, authorization: str) -> None:
    error(post_initialize(client, {"Authorization": authorization}), 401, "INVALID_API_KEY")


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_every_method_needs_a_key(client: TestClient, method: str) -> None:
    response = client.request(method, "/mcp", headers=MCP_ACCEPT)
    error(response, 401, "INVALID_API_KEY")


def test_a_revoked_key_is_401(client: TestClient, shop: SeededSubscriber) -> None:
    created = ok(client.post(f"{API}/keys", json={"name": "assistant"}, headers=shop.headers), 201)
    assistant = {"Authorization": f"Bearer {created['key']}"}
    assert post_initialize(client, assistant).status_code == 200
    ok(client.delete(f"{API}/keys/{created['id']}", headers=shop.headers))
    error(post_initialize(client, assistant), 401, "INVALID_API_KEY")


@pytest.mark.parametrize("tier", ["free", "pro"])
def test_free_and_pro_tiers_are_403_insufficient_tier(
    app: FastAPI, client: TestClient, tier: str
) -> None:
    subscriber = seed_subscriber(app, name=f"{tier} shop", tier=tier)
    response = post_initialize(client, subscriber.headers)
    error(response, 403, "INSUFFICIENT_TIER")
    in_query = post_initialize(client, {}, path=f"/mcp?api_key={subscriber.key}")
    error(in_query, 403, "INSUFFICIENT_TIER")


def test_a_valid_key_in_the_query_string_is_accepted(
    client: TestClient, shop: SeededSubscriber
) -> None:
    response = post_initialize(client, {}, path=f"/mcp?api_key={shop.key}")
    assert response.status_code == 200, response.text
    assert response.json()["result"]["serverInfo"]["name"] == "buzzchat"


def test_failed_authentications_are_limited_per_address(
    client: TestClient, shop: SeededSubscriber
) -> None:
    for _ in range(30):
        error(post_initialize(client, {"Authorization": "Bearer nope"}), 401, "INVALID_API_KEY")
    blocked = post_initialize(client, {"Authorization": "Bearer nope"})
    error(blocked, 429, "RATE_LIMIT_EXCEEDED")
    assert int(blocked.headers["retry-after"]) > 0
    # A valid key from the same address is never refused for others' failures.
    assert post_initialize(client, shop.headers).status_code == 200


# --- the SDK's client, in-process ---------------------------------------------------------------


def run(app: FastAPI, scenario: Callable[[], Awaitable[None]]) -> None:
    """Run `scenario` inside the app's lifespan, on one event loop."""

    async def main() -> None:
        async with app.router.lifespan_context(app):
            await scenario()

    try:
        anyio.run(main)
    except BaseExceptionGroup as group:
        raise first_leaf(group) from None


def first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The scenario's own failure, out of the task groups that wrap it."""
    inner = group.exceptions[0]
    return first_leaf(inner) if isinstance(inner, BaseExceptionGroup) else inner


def asgi_client(app: FastAPI, headers: dict[str, str] | None = None) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url=BASE, headers=headers
    )


@asynccontextmanager
async def mcp(
    app: FastAPI,
    headers: dict[str, str] | None = None,
    *,
    path: str = "/mcp",
    mode: str = "legacy",
) -> AsyncIterator[Client]:
    """The SDK's client on `/mcp`; `legacy` mode starts with the initialize handshake."""
    async with (
        asgi_client(app, headers) as http,
        Client(streamable_http_client(f"{BASE}{path}", http_client=http), mode=mode) as client,
    ):
        yield client


async def rest(app: FastAPI, shop: SeededSubscriber, method: str, path: str, **kwargs: Any) -> Any:
    """The `data` of a successful REST call as `shop`."""
    async with asgi_client(app, shop.headers) as http:
        response = await http.request(method, f"{API}{path}", **kwargs)
    assert response.is_success, response.text
    return response.json().get("data")


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_initialize_and_list_the_six_tools(app: FastAPI, shop: SeededSubscriber, mode: str) -> None:
    async def scenario() -> None:
        async with mcp(app, shop.headers, mode=mode) as client:
            assert client.server_info is not None
            assert client.server_info.name == "buzzchat"
            assert client.server_capabilities.tools is not None
            listed = (await client.list_tools()).tools
            assert {tool.name for tool in listed} == TOOLS
            assert len(listed) == 6

    run(app, scenario)


def test_tools_drive_the_callers_bot(app: FastAPI, shop: SeededSubscriber) -> None:
    async def scenario() -> None:
        async with mcp(app, shop.headers) as client:
            assert data(await client.call_tool("buzzchat_toggle_bot", {})) == {"botActive": True}
            assert (await rest(app, shop, "GET", "/settings"))["botActive"] is True
            settings = data(await client.call_tool("buzzchat_get_settings", {}))
            assert settings == await rest(app, shop, "GET", "/settings")

            sent = data(await client.call_tool("buzzchat_send_message", {"message": "Hi all!"}))
            assert sent["messageId"].startswith("msg_")
            assert sent["sentAt"] == "2026-03-02T09:30:00Z"
            messages = (await rest(app, shop, "GET", "/messages"))["messages"]
            assert [(m["id"], m["message"], m["kind"]) for m in messages] == [
                (sent["messageId"], "Hi all!", "api")
            ]

            await rest(app, shop, "POST", "/giveaway/entries", json={"username": "viewer123"})
            entries = data(await client.call_tool("buzzchat_get_entries", {}))
            assert [e["username"] for e in entries["entries"]] == ["viewer123"]
            picked = data(await client.call_tool("buzzchat_pick_winner", {}))
            assert picked["winners"] == ["viewer123"]

            week = data(await client.call_tool("buzzchat_get_analytics", {"period": "week"}))
            assert week["totalMessages"] == 1
            assert week["apiMessages"] == 1
            assert week["period"] == "week"

            stopped = await client.call_tool("buzzchat_toggle_bot", {"active": False})
            assert data(stopped) == {"botActive": False}
            assert (await rest(app, shop, "GET", "/settings"))["botActive"] is False

    run(app, scenario)


def test_api_errors_are_tool_errors_with_the_apis_code_and_message(
    app: FastAPI, shop: SeededSubscriber
) -> None:
    async def scenario() -> None:
        async with asgi_client(app, shop.headers) as http:
            refused = await http.post(f"{API}/messages/send", json={"message": "Hello"})
        assert refused.status_code == 400
        api_error = refused.json()["error"]
        assert api_error["code"] == "BOT_INACTIVE"
        async with mcp(app, shop.headers) as client:
            text = failure(await client.call_tool("buzzchat_send_message", {"message": "Hello"}))
            # The API's code; the next step named as the tool an assistant has, not a PATCH.
            assert "BOT_INACTIVE: The bot must be active" in text
            assert "buzzchat_toggle_bot" in text
            assert "PATCH" in api_error["message"]
            assert "PATCH" not in text
            empty = failure(await client.call_tool("buzzchat_pick_winner", {}))
            assert "VALIDATION_ERROR" in empty
            unknown = await client.call_tool("buzzchat_get_analytics", {"account": "acc_nope"})
            assert "NOT_FOUND" in failure(unknown)
        assert (await rest(app, shop, "GET", "/messages"))["messages"] == []

    run(app, scenario)


def test_tools_act_on_the_callers_own_data_only(
    app: FastAPI, shop: SeededSubscriber, other_shop: SeededSubscriber
) -> None:
    async def scenario() -> None:
        await rest(app, other_shop, "POST", "/giveaway/entries", json={"username": "rival_fan"})
        async with mcp(app, shop.headers) as mine, mcp(app, other_shop.headers) as theirs:
            assert data(await mine.call_tool("buzzchat_toggle_bot", {})) == {"botActive": True}
            await mine.call_tool("buzzchat_send_message", {"message": "Only for my stream"})

            assert data(await theirs.call_tool("buzzchat_get_settings", {}))["botActive"] is False
            assert (await rest(app, other_shop, "GET", "/settings"))["botActive"] is False
            assert (await rest(app, other_shop, "GET", "/messages"))["messages"] == []
            refused = await theirs.call_tool("buzzchat_send_message", {"message": "Hi"})
            assert "BOT_INACTIVE" in failure(refused)

            assert data(await mine.call_tool("buzzchat_get_entries", {}))["count"] == 0
            theirs_entries = data(await theirs.call_tool("buzzchat_get_entries", {}))
            assert [e["username"] for e in theirs_entries["entries"]] == ["rival_fan"]
            assert "VALIDATION_ERROR" in failure(await mine.call_tool("buzzchat_pick_winner", {}))

            # Each stateless request carries its own key: toggling theirs leaves mine alone.
            assert data(await theirs.call_tool("buzzchat_toggle_bot", {})) == {"botActive": True}
            assert data(await theirs.call_tool("buzzchat_toggle_bot", {})) == {"botActive": False}
            assert data(await mine.call_tool("buzzchat_get_settings", {}))["botActive"] is True

            other_account = other_shop.account_id
            foreign = await mine.call_tool("buzzchat_get_analytics", {"account": other_account})
            assert "NOT_FOUND" in failure(foreign)

    run(app, scenario)


def test_a_key_in_the_query_string_also_authorizes_the_tools(
    app: FastAPI, shop: SeededSubscriber
) -> None:
    async def scenario() -> None:
        async with mcp(app, path=f"/mcp?api_key={shop.key}") as client:
            assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
            settings = await client.call_tool("buzzchat_get_settings", {})
            assert data(settings)["botActive"] is False

    run(app, scenario)


def test_tool_calls_count_against_the_subscribers_rate_limit(
    settings: Settings, clock: ManualClock
) -> None:
    with app_for(settings.model_copy(update={"rate_limit_per_minute": 3}), clock) as app:
        shop = seed_subscriber(app, name="Sunny Shop")
        other = seed_subscriber(app, name="Rival Shop")

        async def scenario() -> None:
            async with mcp(app, shop.headers) as client:
                # The handshake and listing are protocol messages, not API calls.
                assert len((await client.list_tools()).tools) == 6
                for _ in range(3):
                    data(await client.call_tool("buzzchat_get_settings", {}))
                limited = failure(await client.call_tool("buzzchat_get_entries", {}))
                assert "RATE_LIMIT_EXCEEDED" in limited
                # The same budget as the REST API: the subscriber's REST calls are limited too.
                async with asgi_client(app, shop.headers) as http:
                    response = await http.get(f"{API}/settings")
                assert response.status_code == 429
                assert response.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
            async with mcp(app, other.headers) as theirs:
                unaffected = await theirs.call_tool("buzzchat_get_settings", {})
                assert data(unaffected)["botActive"] is False

        run(app, scenario)


# --- a real `buzz serve` ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real `buzz serve` and a key from `buzz admin bootstrap --json` on its database."""
    with buzz_serve(tmp_path_factory.mktemp("mcp-http")) as server:
        yield server.base_url, server.bootstrap()["apiKey"]["key"]


def test_a_real_server_serves_mcp_to_the_sdk_client(live_key: tuple[str, str]) -> None:
    base_url, key = live_key

    async def main() -> None:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}) as http,
            Client(streamable_http_client(f"{base_url}/mcp", http_client=http)) as client,
        ):
            assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
            assert data(await client.call_tool("buzzchat_toggle_bot", {})) == {"botActive": True}
            sent = data(await client.call_tool("buzzchat_send_message", {"message": "Live!"}))
            assert sent["messageId"].startswith("msg_")
            week = data(await client.call_tool("buzzchat_get_analytics", {}))
            assert week["apiMessages"] == 1
        async with httpx2.AsyncClient() as http:
            refused = await http.post(f"{base_url}/mcp", json=INITIALIZE, headers=MCP_ACCEPT)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "INVALID_API_KEY"

    try:
        anyio.run(main)
    except BaseExceptionGroup as group:
        raise first_leaf(group) from None


def test_building_the_app_leaves_the_logging_setup_alone(settings: Settings) -> None:
    # The SDK calls logging.basicConfig, which acts only on a root logger without handlers:
    # take pytest's away for the moment, as an integrator's unconfigured process would be.
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    for handler in saved[0]:
        root.removeHandler(handler)
    try:
        with app_for(settings, ManualClock()):
            assert (root.handlers, root.level) == ([], saved[1])
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
