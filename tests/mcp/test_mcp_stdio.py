"""`buzzchat-mcp` (SPEC §5): the seed's MCP configuration block, run as written by the SDK's
stdio client against a real `buzz serve`, with a subscriber made by `buzz admin bootstrap`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters
from typer.testing import CliRunner

from buzz.cli import app as cli
from tests.mcp.results import data, failure
from tests.serving import LiveServer, buzz_serve, free_port

# The seed's "Example MCP Configuration", verbatim.
SEED_CONFIG = """
{
  "mcpServers": {
    "buzzchat": {
      "command": "buzzchat-mcp",
      "args": ["--api-key", "YOUR_API_KEY"],
      "env": {
        "BUZZCHAT_API_KEY": "YOUR_API_KEY"
      }
    }
  }
}
"""

TOOLS = {
    "buzzchat_send_message",
    "buzzchat_get_analytics",
    "buzzchat_pick_winner",
    "buzzchat_toggle_bot",
    "buzzchat_get_entries",
    "buzzchat_get_settings",
}
ANALYTICS_KEYS = {
    "totalMessages",
    "welcomeMessages",
    "faqReplies",
    "timerMessages",
    "apiMessages",
    "period",
    "breakdown",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with buzz_serve(tmp_path_factory.mktemp("mcp-stdio")) as server:
        yield server


@pytest.fixture(autouse=True)
def venv_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """`buzzchat-mcp` is found on PATH, as an assistant's launcher finds it."""
    bin_dir = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.delenv("BUZZCHAT_API_KEY", raising=False)
    monkeypatch.delenv("BUZZCHAT_BASE_URL", raising=False)


@pytest.fixture
def key(server: LiveServer) -> str:
    """A fresh business subscriber's key, from `buzz admin bootstrap --json` on the server's db."""
    result = CliRunner().invoke(cli, ["admin", "bootstrap", "--json"], env=server.env)
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    assert created["subscriber"]["tier"] == "business"
    api_key: str = created["apiKey"]["key"]
    return api_key


def seed_params(key: str, base_url: str) -> StdioServerParameters:
    """The seed's block with the key filled in, plus the base URL (the server is not on 8000)."""
    block = json.loads(SEED_CONFIG.replace("YOUR_API_KEY", key))["mcpServers"]["buzzchat"]
    return StdioServerParameters(
        command=block["command"],
        args=block["args"],
        env={**block["env"], "BUZZCHAT_BASE_URL": base_url},
    )


def rest(server: LiveServer, key: str, method: str, path: str, **kwargs: Any) -> Any:
    """The `data` of a successful REST call as the key's subscriber."""
    response = httpx.request(
        method,
        f"{server.base_url}/api/v1{path}",
        headers={"Authorization": f"Bearer {key}"},
        **kwargs,
    )
    assert response.is_success, response.text
    return response.json().get("data")


def rest_error(server: LiveServer, key: str, method: str, path: str, **kwargs: Any) -> str:
    """`CODE: message` of a failing REST call, as the tools are to report it."""
    response = httpx.request(
        method,
        f"{server.base_url}/api/v1{path}",
        headers={"Authorization": f"Bearer {key}"},
        **kwargs,
    )
    assert not response.is_success, response.text
    error = response.json()["error"]
    return f"{error['code']}: {error['message']}"


def with_client(
    params: StdioServerParameters, scenario: Callable[[Client], Awaitable[None]]
) -> None:
    """Run `scenario` with an SDK client connected to the command over stdio."""

    async def main() -> None:
        async with Client(params) as client:
            await scenario(client)

    try:
        anyio.run(main)
    except BaseExceptionGroup as group:
        raise first_leaf(group) from None


def first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The scenario's own failure, out of the task groups that wrap it."""
    inner = group.exceptions[0]
    return first_leaf(inner) if isinstance(inner, BaseExceptionGroup) else inner


def test_lists_exactly_the_six_tools(server: LiveServer, key: str) -> None:
    async def scenario(client: Client) -> None:
        assert client.server_info is not None
        assert client.server_info.name == "buzzchat"
        listed = (await client.list_tools()).tools
        assert {tool.name for tool in listed} == TOOLS
        assert len(listed) == 6
        schemas = {tool.name: tool.input_schema for tool in listed}
        assert schemas["buzzchat_send_message"]["required"] == ["message"]
        assert set(schemas["buzzchat_send_message"]["properties"]) == {"message", "delay"}
        assert set(schemas["buzzchat_get_analytics"]["properties"]) == {"period", "account"}
        assert set(schemas["buzzchat_pick_winner"]["properties"]) == {"count"}
        assert set(schemas["buzzchat_toggle_bot"]["properties"]) == {"active"}
        for name in TOOLS - {"buzzchat_send_message"}:
            assert not schemas[name].get("required"), name
        assert all(tool.description for tool in listed)

    with_client(seed_params(key, server.base_url), scenario)


def test_toggle_bot_toggles_when_active_is_omitted_and_obeys_it_when_given(
    server: LiveServer, key: str
) -> None:
    async def scenario(client: Client) -> None:
        assert data(await client.call_tool("buzzchat_toggle_bot", {})) == {"botActive": True}
        assert rest(server, key, "GET", "/settings")["botActive"] is True
        assert data(await client.call_tool("buzzchat_toggle_bot", {"active": False})) == {
            "botActive": False
        }
        assert rest(server, key, "GET", "/settings")["botActive"] is False
        # Explicit values are set, not toggled.
        for _ in range(2):
            started = await client.call_tool("buzzchat_toggle_bot", {"active": True})
            assert data(started) == {"botActive": True}
        assert data(await client.call_tool("buzzchat_toggle_bot", {})) == {"botActive": False}

    with_client(seed_params(key, server.base_url), scenario)


def test_get_settings_returns_the_api_settings(server: LiveServer, key: str) -> None:
    rest(server, key, "PATCH", "/settings", json={"giveawayKeywords": ["win", "enter"]})

    async def scenario(client: Client) -> None:
        settings = data(await client.call_tool("buzzchat_get_settings", {}))
        assert settings == rest(server, key, "GET", "/settings")
        assert settings["botActive"] is False
        assert settings["giveawayKeywords"] == ["win", "enter"]
        assert settings["welcomeMessage"] == "Welcome to the stream, {username}!"

    with_client(seed_params(key, server.base_url), scenario)


def test_send_message_with_the_bot_active_sends_it(server: LiveServer, key: str) -> None:
    rest(server, key, "PATCH", "/settings", json={"botActive": True})

    async def scenario(client: Client) -> None:
        sent = data(
            await client.call_tool("buzzchat_send_message", {"message": "Thanks for tuning in!"})
        )
        assert sent["messageId"].startswith("msg_")
        assert set(sent) == {"messageId", "sentAt"}
        later = data(
            await client.call_tool(
                "buzzchat_send_message", {"message": "Last call!", "delay": 60_000}
            )
        )
        assert later["messageId"].startswith("msg_")

    with_client(seed_params(key, server.base_url), scenario)
    messages = rest(server, key, "GET", "/messages")["messages"]
    assert [(m["message"], m["kind"], m["status"]) for m in messages] == [
        ("Thanks for tuning in!", "api", "sent"),
        ("Last call!", "api", "scheduled"),
    ]


def test_send_message_with_the_bot_inactive_is_a_tool_error_with_the_api_code_and_message(
    server: LiveServer, key: str
) -> None:
    expected = rest_error(server, key, "POST", "/messages/send", json={"message": "Hello"})
    assert expected.startswith("BOT_INACTIVE: ")

    async def scenario(client: Client) -> None:
        text = failure(await client.call_tool("buzzchat_send_message", {"message": "Hello"}))
        assert "BOT_INACTIVE: The bot must be active" in text
        assert "buzzchat_toggle_bot" in text
        assert "PATCH" in expected
        assert "PATCH" not in text

    with_client(seed_params(key, server.base_url), scenario)
    assert rest(server, key, "GET", "/messages")["messages"] == []


def test_send_message_validation_errors_come_back_as_tool_errors(
    server: LiveServer, key: str
) -> None:
    rest(server, key, "PATCH", "/settings", json={"botActive": True})

    async def scenario(client: Client) -> None:
        blank = failure(await client.call_tool("buzzchat_send_message", {"message": "   "}))
        assert "VALIDATION_ERROR" in blank
        assert "Message cannot be empty" in blank
        too_late = await client.call_tool(
            "buzzchat_send_message", {"message": "Hi", "delay": 3_600_001}
        )
        assert "VALIDATION_ERROR" in failure(too_late)

    with_client(seed_params(key, server.base_url), scenario)
    assert rest(server, key, "GET", "/messages")["messages"] == []


def test_giveaway_entries_and_pick_winner(server: LiveServer, key: str) -> None:
    async def scenario(client: Client) -> None:
        assert data(await client.call_tool("buzzchat_get_entries", {})) == {
            "entries": [],
            "count": 0,
        }
        empty = failure(await client.call_tool("buzzchat_pick_winner", {}))
        assert "VALIDATION_ERROR" in empty

        rest(server, key, "POST", "/giveaway/entries", json={"username": "viewer123"})
        entries = data(await client.call_tool("buzzchat_get_entries", {}))
        assert entries["count"] == 1
        assert [e["username"] for e in entries["entries"]] == ["viewer123"]

        picked = data(await client.call_tool("buzzchat_pick_winner", {}))
        assert picked["winners"] == ["viewer123"]
        assert picked["timestamp"]
        # The winner cannot win again this round.
        assert "VALIDATION_ERROR" in failure(await client.call_tool("buzzchat_pick_winner", {}))

    with_client(seed_params(key, server.base_url), scenario)


def test_pick_winner_count_is_passed_to_the_api(server: LiveServer, key: str) -> None:
    for username in ("amy", "ben", "cy"):
        rest(server, key, "POST", "/giveaway/entries", json={"username": username})

    async def scenario(client: Client) -> None:
        for bad in (0, 11):
            rejected = await client.call_tool("buzzchat_pick_winner", {"count": bad})
            assert "VALIDATION_ERROR" in failure(rejected), bad
        two = data(await client.call_tool("buzzchat_pick_winner", {"count": 2}))
        assert len(two["winners"]) == 2
        assert set(two["winners"]) <= {"amy", "ben", "cy"}
        # Only one entry has not won: asking for two more is refused.
        more = await client.call_tool("buzzchat_pick_winner", {"count": 2})
        assert "VALIDATION_ERROR" in failure(more)

    with_client(seed_params(key, server.base_url), scenario)


def test_get_analytics_for_a_period(server: LiveServer, key: str) -> None:
    rest(server, key, "PATCH", "/settings", json={"botActive": True})
    rest(server, key, "POST", "/messages/send", json={"message": "Hi all"})
    account = rest(server, key, "GET", "/accounts")["accounts"][0]["id"]

    async def scenario(client: Client) -> None:
        week = data(await client.call_tool("buzzchat_get_analytics", {"period": "week"}))
        assert set(week) == ANALYTICS_KEYS
        assert week["period"] == "week"
        assert week["totalMessages"] == 1
        assert week["apiMessages"] == 1
        assert week["breakdown"] == {"welcome": 0, "faq": 0, "timer": 0, "api": 100}
        default = data(await client.call_tool("buzzchat_get_analytics", {}))
        assert default == week
        assert (
            data(await client.call_tool("buzzchat_get_analytics", {"period": "all"}))["period"]
            == "all"
        )
        mine = await client.call_tool("buzzchat_get_analytics", {"account": account})
        assert data(mine)["totalMessages"] == 1

    with_client(seed_params(key, server.base_url), scenario)


def test_get_analytics_errors(server: LiveServer, key: str) -> None:
    async def scenario(client: Client) -> None:
        bad_period = await client.call_tool("buzzchat_get_analytics", {"period": "year"})
        assert "period" in failure(bad_period)
        unknown = await client.call_tool("buzzchat_get_analytics", {"account": "acc_nope"})
        assert "NOT_FOUND" in failure(unknown)
        assert "Account not found" in failure(unknown)

    with_client(seed_params(key, server.base_url), scenario)


def test_a_wrong_key_makes_every_tool_fail_with_invalid_api_key(
    server: LiveServer, key: str
) -> None:
    wrong = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")
    arguments: dict[str, dict[str, Any]] = {name: {} for name in TOOLS}
    arguments["buzzchat_send_message"] = {"message": "Hello"}

    async def scenario(client: Client) -> None:
        assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
        for name, args in arguments.items():
            text = failure(await client.call_tool(name, args))
            assert "INVALID_API_KEY" in text, name

    with_client(seed_params(wrong, server.base_url), scenario)
    assert rest(server, key, "GET", "/settings")["botActive"] is False


def test_the_key_may_come_from_the_environment_alone(server: LiveServer, key: str) -> None:
    params = StdioServerParameters(
        command="buzzchat-mcp",
        env={"BUZZCHAT_API_KEY": key, "BUZZCHAT_BASE_URL": server.base_url},
    )

    async def scenario(client: Client) -> None:
        assert data(await client.call_tool("buzzchat_toggle_bot", {})) == {"botActive": True}

    with_client(params, scenario)
    assert rest(server, key, "GET", "/settings")["botActive"] is True


def test_base_url_flag_points_at_the_server(server: LiveServer, key: str) -> None:
    params = StdioServerParameters(
        command="buzzchat-mcp", args=["--api-key", key, "--base-url", server.base_url]
    )

    async def scenario(client: Client) -> None:
        assert data(await client.call_tool("buzzchat_get_entries", {}))["count"] == 0

    with_client(params, scenario)


def test_an_unreachable_api_is_a_tool_error_not_a_crash(key: str) -> None:
    closed = f"http://127.0.0.1:{free_port()}"

    async def scenario(client: Client) -> None:
        for _ in range(2):
            text = failure(await client.call_tool("buzzchat_get_settings", {}))
            # The address it tried is named, and where to change it.
            assert "UNAVAILABLE: cannot reach the BuzzChat API at " in text
            assert closed in text
            assert "--base-url" in text
        assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS

    with_client(seed_params(key, closed), scenario)


@pytest.mark.parametrize("environment", [{}, {"BUZZCHAT_API_KEY": ""}])
def test_without_a_key_the_command_exits_2_with_one_clear_line(
    environment: dict[str, str],
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUZZCHAT_")}
    result = subprocess.run(
        ["buzzchat-mcp"],  # noqa: S607
        env={**env, **environment},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "--api-key" in lines[0]
    assert "BUZZCHAT_API_KEY" in lines[0]
    assert "Traceback" not in result.stderr
