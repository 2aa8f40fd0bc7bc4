"""The application factory: `create_app(settings)`, also servable with `uvicorn --factory`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

import buzz
from buzz.buzzchat import errors as buzzchat_errors
from buzz.buzzchat import routes as buzzchat_routes
from buzz.buzzchat import scheduler as bot_scheduler
from buzz.buzzchat.auth import RateLimitHeadersMiddleware
from buzz.clock import Clock, system_clock
from buzz.db import Database
from buzz.delivery.dispatcher import Dispatcher
from buzz.integrations import events as integration_events
from buzz.integrations.callback import router as callback_router
from buzz.integrations.deliveries import router as deliveries_router
from buzz.integrations.routes import router as integrations_router
from buzz.mcp import http as mcp_http
from buzz.models import load_all_models
from buzz.ops import housekeeping
from buzz.ops.metrics import router as metrics_router
from buzz.ops.routes import router as ops_router
from buzz.platform.oauth import router as oauth_router
from buzz.platform.routes import router as platform_router
from buzz.ratelimit import RateLimiter
from buzz.settings import Settings, SettingsError, load_settings
from buzz.web.errors import install_error_handlers
from buzz.web.logging import install_request_id_factory
from buzz.web.middleware import BodyLimitMiddleware, RequestContextMiddleware
from buzz.web.routing import operation_id

__all__ = ["create_app"]

DESCRIPTION = """\
Server side of two APIs:

- **Domo's Buzz Integration API** (`/oauth/token`, `/v1/buzz/...`). Errors are JSON in Domo's
  style: `{"status", "statusReason", "message", "path"}`, and a 400 adds
  `"errors": [{"field", "message"}]`.
- **BuzzChat API v1** (`/api/v1/...`, also served at `/v1/...`), authenticated with an API key
  (`Authorization: Bearer bz_live_…` or `?api_key=`). Successes are `{"success": true, "data"}`,
  errors `{"success": false, "error": {"code", "message"}}`.
"""


def create_app(settings: Settings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    """Build the service; with no settings they are read from the environment."""
    if settings is None:
        try:
            settings = load_settings()
        except SettingsError as exc:
            raise SystemExit(f"buzz: {exc}") from None
    load_all_models()
    install_request_id_factory()
    integration_events.install()
    database = Database(settings.database_url, context={"buzz_settings": settings})
    database.prepare()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stack = AsyncExitStack()
        stop = asyncio.Event()
        workers: list[asyncio.Task[None]] = []
        await stack.enter_async_context(mcp_endpoint.running())
        if settings.embedded_worker:
            dispatcher = Dispatcher(database=database, settings=settings, clock=clock)
            workers.append(asyncio.create_task(dispatcher.run(stop), name="buzz-dispatcher"))
            workers.append(asyncio.create_task(housekeeping.run(database, clock=clock, stop=stop)))
            workers.append(asyncio.create_task(bot_scheduler.run(database, clock=clock, stop=stop)))
        try:
            yield
        finally:
            stop.set()
            # The dispatcher finishes in-flight deliveries for up to 10 s, then releases the rest.
            await asyncio.gather(*workers)
            await stack.aclose()
            database.dispose()

    app = FastAPI(
        title="Buzz server",
        version=buzz.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.clock = clock
    app.state.rate_limiter = RateLimiter(settings.rate_limit_storage)

    install_error_handlers(app)
    buzzchat_errors.install(app)
    app.add_middleware(RateLimitHeadersMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)

    app.include_router(ops_router)
    app.include_router(metrics_router)
    app.include_router(oauth_router)
    app.include_router(platform_router)
    app.include_router(integrations_router)
    app.include_router(deliveries_router)
    app.include_router(callback_router)
    buzzchat_routes.include(app)
    mcp_endpoint = mcp_http.install(app)
    app.openapi = lambda: openapi_schema(app)  # type: ignore[method-assign]
    return app


def openapi_schema(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, without FastAPI's 422 (this service answers 400 instead)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            operation.get("responses", {}).pop("422", None)
    components = schema.get("components", {}).get("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    app.openapi_schema = schema
    return schema
