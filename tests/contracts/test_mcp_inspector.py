"""The official MCP Inspector CLI lists and calls the BuzzChat tools (SPEC §5; issue 11).

`@modelcontextprotocol/inspector` 0.15.0 (pinned in `tools/node/package-lock.json`) is run the
way its README gives it, as `mcp-inspector --cli <target> --method ...` (the package's `bin`,
`cli/build/cli.js`, which runs `cli/build/index.js` in a child node):

- over stdio, the target is the venv's `buzzchat-mcp` console script with `--api-key KEY
  --base-url <server>`, or the seed's MCP configuration block given as `--config/--server`;
- over streamable HTTP, the target is `<server>/mcp?api_key=KEY` with `--transport http`
  (0.15.0's CLI has no option for request headers, so the key goes in the query string).

Against a real `buzz serve`, with Business subscribers made by `buzz admin bootstrap --json` on
its database. Every assertion is on what the Inspector printed (its JSON on stdout, its error on
stderr and its exit status) and on the REST API. `--tool-arg` values reach the server as the
Inspector converts them: a string when the parameter's schema has no top-level `type` (the
optional ones are `anyOf [T, null]`), which the server must accept as the JSON value it spells.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serving import LiveServer, buzz_serve

INSPECTOR_VERSION = "0.15.0"
BUZZCHAT_MCP = Path(sys.executable).parent / "buzzchat-mcp"
TIMEOUT_S = 60

TOOLS = {
    "buzzchat_send_message",
    "buzzchat_get_analytics",
    "buzzchat_pick_winner",
    "buzzchat_toggle_bot",
    "buzzchat_get_entries",
    "buzzchat_get_settings",
}

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


@dataclass
class Run:
    """One finished Inspector invocation."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (
            f"inspector {' '.join(self.argv)}\nexit status {self.returncode}\n"
            f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )

    def printed(self) -> Any:
        """The JSON the Inspector printed on success."""
        assert self.returncode == 0, str(self)
        try:
            return json.loads(self.stdout)
        except ValueError:
            pytest.fail(f"the Inspector printed no JSON\n{self}")


class Inspector:
    """`node <inspector>/cli/build/cli.js --cli ...`, the package's `mcp-inspector` bin."""

    def __init__(self, node: str, package: Path, env: dict[str, str]) -> None:
        self.node = node
        self.bin = package / "cli" / "build" / "cli.js"
        self.env = env

    def __call__(self, *args: str) -> Run:
        argv = ["--cli", *args]
        # Its own session: a run that outlives the timeout is killed with the node child and
        # the MCP server that child started, not just the outer node.
        process = subprocess.Popen(  # noqa: S603 - node from PATH, the pinned package's bin
            [self.node, str(self.bin), *argv],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            pytest.fail(f"the Inspector did not finish\n{Run(argv, -9, stdout, stderr)}")
        return Run(argv, process.returncode, stdout, stderr)

    def list_tools(self, target: Sequence[str]) -> list[dict[str, Any]]:
        run = self(*target, "--method", "tools/list")
        tools: list[dict[str, Any]] = run.printed()["tools"]
        return tools

    def call(self, target: Sequence[str], tool: str, **arguments: str) -> dict[str, Any]:
        """The CallToolResult the Inspector printed (`content`, `isError`, ...)."""
        pairs = [
            arg for key, value in arguments.items() for arg in ("--tool-arg", f"{key}={value}")
        ]
        result: dict[str, Any] = self(
            *target, "--method", "tools/call", "--tool-name", tool, *pairs
        ).printed()
        return result


def text_of(result: dict[str, Any]) -> str:
    return "\n".join(c["text"] for c in result["content"] if c["type"] == "text")


def data(result: dict[str, Any]) -> dict[str, Any]:
    """The structured result of a successful tool call, which its text content repeats."""
    assert result["isError"] is False, result
    structured: dict[str, Any] = result["structuredContent"]
    assert json.loads(text_of(result)) == structured
    return structured


def failure(result: dict[str, Any]) -> str:
    """The text of a tool error."""
    assert result["isError"] is True, result
    assert "structuredContent" not in result, result
    return text_of(result)


# --- set-up ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with buzz_serve(tmp_path_factory.mktemp("mcp-inspector")) as server:
        yield server


@pytest.fixture
def key(server: LiveServer) -> str:
    """A fresh Business subscriber's key, from `buzz admin bootstrap --json` on the server's db."""
    created = server.bootstrap()
    api_key: str = created["apiKey"]["key"]
    return api_key


@pytest.fixture(scope="module")
def inspector(node: str, node_modules: Path) -> Inspector:
    package = node_modules / "@modelcontextprotocol" / "inspector"
    installed = json.loads((package / "package.json").read_text())["version"]
    assert installed == INSPECTOR_VERSION, f"tools/node has Inspector {installed}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUZZCHAT_")}
    # The Inspector passes its environment to a stdio server; none of the key or URL comes
    # from ours. The venv's bin first, where an assistant's launcher finds `buzzchat-mcp`.
    env["PATH"] = f"{BUZZCHAT_MCP.parent}{os.pathsep}{env.get('PATH', '')}"
    return Inspector(node, package, env)


def stdio(server: LiveServer, key: str) -> list[str]:
    """The stdio target: the venv's console script and its flags."""
    assert BUZZCHAT_MCP.exists(), "pyproject's [project.scripts] buzzchat-mcp is not installed"
    return [str(BUZZCHAT_MCP), "--api-key", key, "--base-url", server.base_url]


def http(server: LiveServer, key: str | None) -> list[str]:
    """The streamable-HTTP target: the app's `/mcp`, the key in the query string."""
    query = "" if key is None else f"?api_key={key}"
    return [f"{server.base_url}/mcp{query}", "--transport", "http"]


def rest(server: LiveServer, key: str, method: str, path: str, **kwargs: Any) -> Any:
    """The `data` of a successful REST call as the key's subscriber."""
    response = httpx.request(
        method,
        f"{server.base_url}/api/v1{path}",
        headers={"Authorization": f"Bearer {key}"},
        **kwargs,
    )
    assert response.is_success, response.text
    return response.json()["data"]


def assert_the_six_tools(listed: list[dict[str, Any]]) -> None:
    assert sorted(tool["name"] for tool in listed) == sorted(TOOLS)
    schemas = {tool["name"]: tool["inputSchema"] for tool in listed}
    for name, schema in schemas.items():
        assert schema["type"] == "object", name
    assert schemas["buzzchat_send_message"]["required"] == ["message"]
    assert schemas["buzzchat_send_message"]["properties"]["message"]["type"] == "string"
    assert set(schemas["buzzchat_send_message"]["properties"]) == {"message", "delay"}
    assert set(schemas["buzzchat_get_analytics"]["properties"]) == {"period", "account"}
    assert set(schemas["buzzchat_pick_winner"]["properties"]) == {"count"}
    assert set(schemas["buzzchat_toggle_bot"]["properties"]) == {"active"}
    assert schemas["buzzchat_get_entries"]["properties"] == {}
    assert schemas["buzzchat_get_settings"]["properties"] == {}
    for name in TOOLS - {"buzzchat_send_message"}:
        assert not schemas[name].get("required"), name
    assert all(tool["description"] for tool in listed)


# --- stdio: `buzzchat-mcp` ------------------------------------------------------------------------


def test_stdio_lists_exactly_the_six_tools(
    inspector: Inspector, server: LiveServer, key: str
) -> None:
    assert_the_six_tools(inspector.list_tools(stdio(server, key)))


def test_stdio_get_settings_and_toggle_bot_agree_with_the_rest_api(
    inspector: Inspector, server: LiveServer, key: str
) -> None:
    target = stdio(server, key)
    settings = data(inspector.call(target, "buzzchat_get_settings"))
    assert settings == rest(server, key, "GET", "/settings")
    assert settings["botActive"] is False

    # Omitted: toggles. Each Inspector run is a new `buzzchat-mcp` process: the state is the API's.
    assert data(inspector.call(target, "buzzchat_toggle_bot")) == {"botActive": True}
    assert data(inspector.call(target, "buzzchat_get_settings"))["botActive"] is True
    assert rest(server, key, "GET", "/settings")["botActive"] is True

    # Given (the Inspector sends `active=false` as the string "false"): set, not toggled.
    for _ in range(2):
        stopped = inspector.call(target, "buzzchat_toggle_bot", active="false")
        assert data(stopped) == {"botActive": False}
    assert data(inspector.call(target, "buzzchat_get_settings"))["botActive"] is False
    assert rest(server, key, "GET", "/settings")["botActive"] is False


def test_stdio_send_message_is_refused_while_the_bot_is_inactive_then_sent(
    inspector: Inspector, server: LiveServer, key: str
) -> None:
    target = stdio(server, key)
    refused = failure(inspector.call(target, "buzzchat_send_message", message="Hello chat"))
    assert "BOT_INACTIVE: The bot must be active" in refused
    assert "buzzchat_toggle_bot" in refused  # the next step, as a tool the assistant has
    assert "PATCH" not in refused
    assert rest(server, key, "GET", "/messages")["messages"] == []

    assert data(inspector.call(target, "buzzchat_toggle_bot", active="true")) == {"botActive": True}
    sent = data(inspector.call(target, "buzzchat_send_message", message="Thanks for tuning in!"))
    assert set(sent) == {"messageId", "sentAt"}
    assert sent["messageId"].startswith("msg_")
    # `=` inside a value survives the Inspector's key=value parsing; the delay arrives as "60000".
    later = data(
        inspector.call(target, "buzzchat_send_message", message="2+2=4, last call!", delay="60000")
    )
    assert later["messageId"].startswith("msg_")

    messages = rest(server, key, "GET", "/messages")["messages"]
    assert [(m["id"], m["message"], m["kind"], m["status"]) for m in messages] == [
        (sent["messageId"], "Thanks for tuning in!", "api", "sent"),
        (later["messageId"], "2+2=4, last call!", "api", "scheduled"),
    ]


def test_stdio_api_errors_are_tool_errors_carrying_the_apis_code(
    inspector: Inspector, server: LiveServer, key: str
) -> None:
    target = stdio(server, key)
    rest(server, key, "PATCH", "/settings", json={"botActive": True})
    too_long = failure(inspector.call(target, "buzzchat_send_message", message="x" * 501))
    assert "VALIDATION_ERROR" in too_long
    assert "500 characters" in too_long
    assert "VALIDATION_ERROR" in failure(inspector.call(target, "buzzchat_pick_winner"))
    assert rest(server, key, "GET", "/messages")["messages"] == []

    # A wrong key: the stdio server starts and lists (it holds no state), the call is refused.
    wrong = stdio(server, "bz_live_" + "x" * 48)
    assert len(inspector.list_tools(wrong)) == 6
    refused = failure(inspector.call(wrong, "buzzchat_get_settings"))
    assert "INVALID_API_KEY" in refused


def test_the_seeds_mcp_configuration_block_runs_under_the_inspector(
    inspector: Inspector, server: LiveServer, key: str, tmp_path: Path
) -> None:
    """`--config/--server` reads the seed's block as written; `buzzchat-mcp` is found on PATH."""
    config = tmp_path / "mcp.json"
    config.write_text(SEED_CONFIG.replace("YOUR_API_KEY", key))
    target = [
        "--config",
        str(config),
        "--server",
        "buzzchat",
        "-e",
        f"BUZZCHAT_BASE_URL={server.base_url}",
    ]
    assert_the_six_tools(inspector.list_tools(target))
    assert data(inspector.call(target, "buzzchat_toggle_bot")) == {"botActive": True}
    assert rest(server, key, "GET", "/settings")["botActive"] is True


# --- streamable HTTP: `/mcp` of the running app ---------------------------------------------------


def test_http_lists_exactly_the_six_tools(
    inspector: Inspector, server: LiveServer, key: str
) -> None:
    assert_the_six_tools(inspector.list_tools(http(server, key)))


def test_http_tool_calls_act_on_the_keys_subscriber(
    inspector: Inspector, server: LiveServer, key: str
) -> None:
    target = http(server, key)
    assert data(inspector.call(target, "buzzchat_get_settings")) == rest(
        server, key, "GET", "/settings"
    )
    refused = failure(inspector.call(target, "buzzchat_send_message", message="Too early"))
    assert "BOT_INACTIVE: The bot must be active" in refused
    assert "buzzchat_toggle_bot" in refused

    assert data(inspector.call(target, "buzzchat_toggle_bot")) == {"botActive": True}
    assert rest(server, key, "GET", "/settings")["botActive"] is True
    sent = data(inspector.call(target, "buzzchat_send_message", message="Live over HTTP!"))
    messages = rest(server, key, "GET", "/messages")["messages"]
    assert [(m["id"], m["message"], m["status"]) for m in messages] == [
        (sent["messageId"], "Live over HTTP!", "sent")
    ]
    week = data(inspector.call(target, "buzzchat_get_analytics", period="week"))
    assert week["apiMessages"] == 1
    assert week["period"] == "week"

    assert data(inspector.call(target, "buzzchat_toggle_bot", active="false")) == {
        "botActive": False
    }
    assert rest(server, key, "GET", "/settings")["botActive"] is False


def test_http_with_a_wrong_key_is_refused(inspector: Inspector, server: LiveServer) -> None:
    run = inspector(*http(server, "bz_live_" + "x" * 48), "--method", "tools/list")
    assert run.returncode != 0, str(run)
    assert "tools" not in run.stdout, str(run)
    assert "Failed to connect to MCP server" in run.stderr, str(run)
    assert "INVALID_API_KEY" in run.stderr, str(run)
    assert "The provided API key is invalid" in run.stderr, str(run)


def test_http_without_a_key_is_told_the_key_is_missing(
    inspector: Inspector, server: LiveServer
) -> None:
    run = inspector(*http(server, None), "--method", "tools/list")
    assert run.returncode != 0, str(run)
    assert "tools" not in run.stdout, str(run)
    assert "INVALID_API_KEY" in run.stderr, str(run)
    assert "Missing API key" in run.stderr, str(run)
    assert "invalid" not in run.stderr.replace("INVALID_API_KEY", ""), str(run)
