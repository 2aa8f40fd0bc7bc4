"""The BuzzChat tools for AI assistants, each one call of the REST API (SPEC §5).

The tools know nothing of the database: they call `/api/v1` with httpx, over the network
(`buzzchat-mcp`) or in-process (`/mcp`), so they obey the same keys, tiers, rate limits and
validation as any other client. An API error becomes a tool error carrying its code and message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import httpx
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

__all__ = ["RestApi", "build_server"]

INSTRUCTIONS = """\
Drive a BuzzChat live-stream chat bot: send chat messages, read analytics, run giveaways and
switch the bot on or off. Sending a message needs the bot to be active."""


# Where an API message tells a REST client what to do next, an assistant is told which tool to
# use instead (the code stays the API's).
TOOL_MESSAGES = {
    "BOT_INACTIVE": "The bot must be active to send messages; start it with the "
    "buzzchat_toggle_bot tool (active: true), then send again",
}


class RestApi:
    """Calls `/api/v1` with one API key, or with the key of the MCP request being served."""

    def __init__(self, client: httpx.AsyncClient, *, api_key: str | None = None) -> None:
        self.client = client
        self.api_key = api_key

    def _authorization(self, headers: Mapping[str, str] | None) -> dict[str, str]:
        if self.api_key is not None:
            return {"Authorization": f"Bearer {self.api_key}"}
        given = (headers or {}).get("authorization")
        return {"Authorization": given} if given else {}

    async def call(
        self,
        ctx: Context,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """The `data` of a success; a `ToolError` "CODE: message" for an API error."""
        try:
            response = await self.client.request(
                method,
                f"/api/v1{path}",
                json=json,
                params={k: v for k, v in (params or {}).items() if v is not None} or None,
                headers=self._authorization(ctx.headers),
            )
        except httpx.HTTPError as exc:
            raise ToolError(
                f"UNAVAILABLE: cannot reach the BuzzChat API at {self.client.base_url} "
                f"({type(exc).__name__}: {exc or 'no detail'}); check --base-url "
                "(BUZZCHAT_BASE_URL) and that the server is running"
            ) from exc
        try:
            body = response.json()
        except ValueError:
            raise ToolError(f"HTTP_{response.status_code}: the API answered without JSON") from None
        if not isinstance(body, dict) or body.get("success") is not True:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            code = error.get("code", f"HTTP_{response.status_code}")
            message = TOOL_MESSAGES.get(code) or error.get("message", "request failed")
            raise ToolError(f"{code}: {message}")
        return body.get("data", body)


def _quietly(make: Callable[[], MCPServer]) -> MCPServer:
    """Build the server, undoing the SDK's `logging.basicConfig`: logging is the app's to set."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return make()
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


def build_server(api: RestApi) -> MCPServer:
    """An MCP server whose six tools call the API through `api`."""
    server: MCPServer = _quietly(lambda: MCPServer(name="buzzchat", instructions=INSTRUCTIONS))

    @server.tool(name="buzzchat_send_message")
    async def send_message(
        message: Annotated[str, Field(description="The chat message, 1..500 characters.")],
        ctx: Context,
        delay: Annotated[
            int | None, Field(description="Milliseconds to wait before sending (0..3,600,000).")
        ] = None,
    ) -> dict[str, Any]:
        """Send a chat message now or after a delay (the bot must be active)."""
        body: dict[str, Any] = {"message": message}
        if delay is not None:
            body["delay"] = delay
        result: dict[str, Any] = await api.call(ctx, "POST", "/messages/send", json=body)
        return result

    @server.tool(name="buzzchat_get_analytics")
    async def get_analytics(
        ctx: Context,
        period: Annotated[
            str | None, Field(description="day, week (the default), month or all.")
        ] = None,
        account: Annotated[
            str | None, Field(description="Account id; the active one if omitted.")
        ] = None,
    ) -> dict[str, Any]:
        """Bot messages sent in a period, by kind (welcome, FAQ, timer, API) with percentages."""
        result: dict[str, Any] = await api.call(
            ctx, "GET", "/analytics", params={"period": period, "account": account}
        )
        return result

    @server.tool(name="buzzchat_pick_winner")
    async def pick_winner(
        ctx: Context,
        count: Annotated[
            int | None, Field(description="How many winners, 1..10 (default 1).")
        ] = None,
    ) -> dict[str, Any]:
        """Pick giveaway winners at random among entries that have not won this round."""
        body = {"count": count} if count is not None else None
        result: dict[str, Any] = await api.call(ctx, "POST", "/giveaway/pick-winner", json=body)
        return result

    @server.tool(name="buzzchat_toggle_bot")
    async def toggle_bot(
        ctx: Context,
        active: Annotated[
            bool | None, Field(description="true starts, false stops; omitted toggles.")
        ] = None,
    ) -> dict[str, Any]:
        """Start or stop the bot (toggles it when `active` is omitted)."""
        if active is None:
            current = await api.call(ctx, "GET", "/settings")
            active = not current["botActive"]
        settings = await api.call(ctx, "PATCH", "/settings", json={"botActive": active})
        return {"botActive": settings["botActive"]}

    @server.tool(name="buzzchat_get_entries")
    async def get_entries(ctx: Context) -> dict[str, Any]:
        """The current giveaway round's entries, oldest first."""
        result: dict[str, Any] = await api.call(ctx, "GET", "/giveaway/entries")
        return result

    @server.tool(name="buzzchat_get_settings")
    async def get_settings(ctx: Context) -> dict[str, Any]:
        """The bot's settings: welcome, timers, FAQ rules, giveaway keywords, active or not."""
        result: dict[str, Any] = await api.call(ctx, "GET", "/settings")
        return result

    return server
