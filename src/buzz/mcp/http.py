"""`/mcp`: the same tools over streamable HTTP, for a BuzzChat API key (SPEC §5).

Each MCP request must carry a valid business-tier key (Bearer or `?api_key=`), checked like the
REST API checks it (failed attempts are limited per address); the tools then call the REST API
in-process with that same key, so rate limits count the tool calls, not the protocol chatter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from buzz.buzzchat.auth import MISSING_KEY, authorize_briefly, presents_no_key
from buzz.clock import CLOCK
from buzz.errors import ApiError, Unauthorized
from buzz.mcp.tools import RestApi, build_server
from buzz.web.errors import error_response

__all__ = ["MCP_PATH", "McpEndpoint"]

MCP_PATH = "/mcp"


class McpEndpoint:
    """The ASGI endpoint at `/mcp`; serves while `running()` is entered (the app's lifespan)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://buzz.internal", timeout=30
        )
        self.server = build_server(RestApi(client))
        self._inner: ASGIApp | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        # API keys, not browsers' origins, protect this endpoint: no DNS-rebinding host list.
        self._inner = self.server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            stateless_http=True,
            json_response=True,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        try:
            async with self.server.session_manager.run():
                yield
        finally:
            self._inner = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            if self._inner is None:
                raise ApiError("The MCP endpoint is not running", status=503)
            if presents_no_key(request):
                # Told apart from a wrong key (SPEC §5): an assistant's set-up forgot it.
                raise Unauthorized(
                    MISSING_KEY, headers={"WWW-Authenticate": 'Bearer realm="buzzchat"'}
                )
            await authorize_briefly(request, CLOCK.of(self.app)(), count=False)
            if scope["method"] != "POST":
                # Stateless: no stream to resume (GET) and no session to end (DELETE).
                raise ApiError(
                    "The MCP endpoint takes POST only", status=405, headers={"Allow": "POST"}
                )
        except ApiError as error:
            await error_response(self.app, scope["path"], error, request)(scope, receive, send)
            return
        await self._inner(_with_bearer(scope, request), receive, send)


def _with_bearer(scope: Scope, request: Request) -> Scope:
    """The scope, with a `?api_key=` key also sent as `Authorization` (the tools forward that)."""
    key = request.query_params.get("api_key")
    if key is None or "authorization" in request.headers:
        return scope
    headers = [*scope["headers"], (b"authorization", f"Bearer {key}".encode("latin-1"))]
    return {**scope, "headers": headers}


def install(app: FastAPI) -> McpEndpoint:
    """Serve the MCP endpoint at `/mcp`; the caller runs `endpoint.running()` in its lifespan."""
    endpoint = McpEndpoint(app)
    # A class instance, so Starlette hands it the raw ASGI call.
    app.router.routes.append(
        Route(MCP_PATH, endpoint, methods=["GET", "POST", "DELETE"], include_in_schema=False)
    )
    return endpoint
