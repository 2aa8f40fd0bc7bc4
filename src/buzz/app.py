"""The application factory: `create_app(settings)`, also servable with `uvicorn --factory`."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

import buzz
from buzz.buzzchat import errors as buzzchat_errors
from buzz.buzzchat import routes as buzzchat_routes
from buzz.buzzchat import scheduler as bot_scheduler
from buzz.buzzchat.auth import RateLimitHeadersMiddleware, declare_rate_limit_headers
from buzz.clock import CLOCK, Clock, system_clock
from buzz.db import DATABASE, Database, redacted
from buzz.delivery import outbox
from buzz.delivery.claims import DeliveryRetention
from buzz.delivery.dispatcher import Dispatcher
from buzz.delivery.poster import POSTER, Poster, poster_for
from buzz.integrations import events as integration_events
from buzz.integrations.callback import service as callback
from buzz.integrations.callback.routes import router as callback_router
from buzz.integrations.deliveries import router as deliveries_router
from buzz.integrations.routes import router as integrations_router
from buzz.mcp import http as mcp_http
from buzz.models import load_all_models
from buzz.ops.housekeeping import Housekeeping, Purge
from buzz.ops.metrics import router as metrics_router
from buzz.ops.routes import router as ops_router
from buzz.ops.startup import RefuseUnmigrated
from buzz.ops.supervisor import SUPERVISOR, Supervisor, Task
from buzz.platform import auth as platform_auth
from buzz.platform.events import EVENT_BUS, EventBus
from buzz.platform.oauth import router as oauth_router
from buzz.platform.routes import router as platform_router
from buzz.portal import access as portal_access
from buzz.portal.install import install as install_portal
from buzz.ratelimit import RATE_LIMITER, RateLimiter
from buzz.settings import SETTINGS, Settings, SettingsError, load_settings
from buzz.web import docs as api_docs
from buzz.web.errors import install_error_handlers
from buzz.web.input_guard import StorableInputMiddleware
from buzz.web.logging import install_request_id_factory
from buzz.web.middleware import (
    BodyLimitMiddleware,
    RequestContextMiddleware,
    RequestTimeoutMiddleware,
)
from buzz.web.routing import operation_id

__all__ = ["PURGES", "background_work", "create_app"]

log = logging.getLogger("buzz.app")

DESCRIPTION = """\
Server side of two APIs:

- **Domo's Buzz Integration API** (`/oauth/token`, `/v1/buzz/...`). Errors are JSON in Domo's
  style: `{"status", "statusReason", "message", "path"}`, and a 400 adds
  `"errors": [{"field", "message"}]`.
- **BuzzChat API v1** (`/api/v1/...`, also served at `/v1/...`), authenticated with an API key
  (`Authorization: Bearer bz_live_…` or `?api_key=`). Successes are `{"success": true, "data"}`,
  errors `{"success": false, "error": {"code", "message"}}`.
"""


# Each domain's purge of what expired, run by housekeeping.
PURGES: tuple[Purge, ...] = (
    platform_auth.purge_expired_tokens,
    callback.purge_expired,
    portal_access.purge_expired,
)


def background_work(
    *,
    database: Database,
    settings: Settings,
    poster: Poster,
    wakers: outbox.Wakers,
    clock: Clock,
    hurry: asyncio.Event | None = None,
) -> dict[str, Task]:
    """The worker's tasks by name, each running until its stop event is set: the dispatcher,
    housekeeping and the bot scheduler (embedded in `buzz serve`, or `buzz worker` alone)."""
    retention = DeliveryRetention(days=settings.delivery_retention_days)
    housekeeping = Housekeeping(database, purges=(*PURGES, retention), clock=clock)

    async def deliver(stop: asyncio.Event) -> None:
        # A fresh dispatcher on each (re)start: what a failed one held in memory, its leases
        # bring back.
        dispatcher = Dispatcher(
            database=database,
            settings=settings,
            poster=poster,
            wakers=wakers,
            hurry=hurry,
            clock=clock,
        )
        await dispatcher.run(stop)

    async def bots(stop: asyncio.Event) -> None:
        await bot_scheduler.run(database, clock=clock, stop=stop)

    return {"dispatcher": deliver, "housekeeping": housekeeping.run, "bot-scheduler": bots}


def watch_commits(database: Database) -> outbox.Wakers:
    """Wakers that hear every commit of `database`'s sessions that enqueued deliveries."""
    wakers = outbox.Wakers()
    outbox.wake_on_commit(database.sessions, wakers)
    return wakers


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock = system_clock,
    poster: Poster | None = None,
) -> FastAPI:
    """Build the service; with no settings they are read from the environment.

    `poster` replaces the production one (an `HttpxPoster` on an `httpx.MockTransport`, say) for
    every delivery this app makes: the dispatcher's and the webhook test route's.
    """
    if settings is None:
        try:
            settings = load_settings()
        except SettingsError as exc:
            raise SystemExit(f"buzz: {exc}") from None
    load_all_models()
    install_request_id_factory()
    database = Database(settings.database_url)
    database.prepare()
    wakers = watch_commits(database)
    bus = EventBus()
    integration_events.install(bus, settings)
    the_poster = poster or poster_for(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stack = AsyncExitStack()
        stop = asyncio.Event()
        workers: list[asyncio.Task[None]] = []
        await stack.enter_async_context(mcp_endpoint.running())
        log.info(
            "buzz %s starting: database %s, embedded worker %s, pid %d",
            buzz.__version__,
            redacted(settings.database_url),
            "on" if settings.embedded_worker else "off (run `buzz worker`)",
            os.getpid(),
            extra={"database": redacted(settings.database_url)},
        )
        if settings.allow_private_targets:
            log.warning(
                "BUZZ_ALLOW_PRIVATE_TARGETS is on: deliveries may reach loopback and private "
                "addresses; for development and tests only"
            )
        if settings.embedded_worker:
            work = background_work(
                database=database, settings=settings, poster=the_poster, wakers=wakers, clock=clock
            )
            supervisor = Supervisor(work)
            SUPERVISOR.put(_app, supervisor)
            workers = [asyncio.create_task(supervisor.run(stop), name="buzz-background")]
        try:
            yield
        finally:
            stop.set()
            # The dispatcher finishes in-flight deliveries for up to 10 s, then releases the rest.
            for task, result in zip(
                workers, await asyncio.gather(*workers, return_exceptions=True), strict=True
            ):
                if isinstance(result, BaseException):
                    log.error("%s ended with %r", task.get_name(), result)
            await the_poster.aclose()
            await stack.aclose()
            database.dispose()

    app = FastAPI(
        title="Buzz server",
        version=buzz.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        docs_url=None,  # served by buzz.web.docs, with no CDN
        redoc_url=None,
    )
    SETTINGS.put(app, settings)
    DATABASE.put(app, database)
    CLOCK.put(app, clock)
    RATE_LIMITER.put(app, RateLimiter(settings.rate_limit_storage))
    POSTER.put(app, the_poster)
    outbox.WAKERS.put(app, wakers)
    EVENT_BUS.put(app, bus)

    install_error_handlers(app)
    buzzchat_errors.install(app)
    app.add_middleware(RateLimitHeadersMiddleware)
    app.add_middleware(StorableInputMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestTimeoutMiddleware, timeout_s=settings.request_timeout_s)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(RefuseUnmigrated, database=database)

    app.include_router(ops_router)
    app.include_router(metrics_router)
    app.include_router(oauth_router)
    app.include_router(platform_router)
    app.include_router(integrations_router)
    app.include_router(deliveries_router)
    app.include_router(callback_router)
    buzzchat_routes.include(app)
    install_portal(app)
    api_docs.install(app)
    mcp_endpoint = mcp_http.install(app)
    app.openapi = lambda: openapi_schema(app)  # type: ignore[method-assign]
    return app


# The document is generated once and kept in the repository, so it names the default address.
SERVER = {
    "url": "http://127.0.0.1:8000",
    "description": "buzz serve on its default address; a deployment serves at its BUZZ_PUBLIC_URL",
}


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema without FastAPI's `anyOf [X, null]` for an optional one: a query
    string cannot carry a null, so generated clients should not offer one."""
    options = [option for option in schema.get("anyOf", []) if option != {"type": "null"}]
    if "anyOf" not in schema or len(options) != 1:
        return schema
    outer = {key: value for key, value in schema.items() if key != "anyOf"}
    return {**options[0], **outer}


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
            for parameter in operation.get("parameters", []):
                parameter["schema"] = _without_null(parameter["schema"])
    components = schema.get("components", {}).get("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    schema["servers"] = [SERVER]
    declare_rate_limit_headers(schema)
    app.openapi_schema = schema
    return schema
