"""`buzz`: serve both APIs, run the worker, migrate, and administer both families (SPEC §1.3)."""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from buzz import admin
from buzz.buzzchat.models import Tier
from buzz.clock import system_clock
from buzz.db import Database, database_failure
from buzz.errors import ApiError
from buzz.models import load_all_models
from buzz.ops.startup import migration_problem
from buzz.settings import Settings, SettingsError, load_settings

__all__ = ["app", "main"]

app = typer.Typer(
    help=(
        "Buzz server: Domo's Buzz Integration API (/oauth/token, /v1/buzz) and the BuzzChat v1 "
        "API (/api/v1, /v1, /mcp), with their webhook delivery engine. serve runs the API (and "
        "the worker, unless BUZZ_EMBEDDED_WORKER=false); worker runs deliveries, housekeeping "
        "and the bots alone; migrate applies the migrations; openapi writes the document; "
        "admin creates accounts of both APIs."
    ),
    no_args_is_help=True,
)
admin_app = typer.Typer(
    help=(
        "Create Buzz users and their OAuth clients, and BuzzChat subscribers and their API keys "
        "(bootstrap makes one of each); secrets are printed once."
    ),
    no_args_is_help=True,
)
app.add_typer(admin_app, name="admin")

T = TypeVar("T")
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object, for scripts.")]
OPENAPI_PATH = Path("openapi/openapi.json")


def tune_gc() -> None:
    """For a long-running server process: leave start-up's objects out of every collection and
    collect the young generation less often (the dispatcher allocates a lot of short-lived
    objects). Done in the commands, never in code that other test suites import."""
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def fail(message: str, code: int = 1) -> None:
    """Print one line on stderr and exit."""
    typer.echo(f"buzz: {message}", err=True)
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc), code=2)
        raise AssertionError from exc  # unreachable: fail() exits


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A session on the configured, migrated database, committed when the block succeeds."""
    load_all_models()
    settings = settings_or_exit()
    database = Database(settings.database_url)
    try:
        # Checked before connecting: a missing SQLite file is named, not created empty.
        problem = migration_problem(database)
        if problem is not None:
            fail(problem)
        with database.session() as session:
            yield session
            session.commit()
    except ApiError as exc:
        fail(exc.message)
    except SQLAlchemyError as exc:
        fail(f"database error: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    finally:
        database.dispose()


def emit(payload: dict[str, Any], as_json: bool, lines: Callable[[], list[str]]) -> None:
    if as_json:
        typer.echo(json.dumps(payload))
    else:
        for line in lines():
            typer.echo(line)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="API processes.")] = 1,
    migrate: Annotated[bool, typer.Option(help="Apply migrations before serving.")] = True,
) -> None:
    """Serve both APIs with uvicorn (migrations applied first; the worker embedded unless
    BUZZ_EMBEDDED_WORKER=false)."""
    import uvicorn

    from buzz.web.logging import configure_logging

    settings = settings_or_exit()
    log_config = configure_logging()
    if migrate:
        _migrate(settings)
    tune_gc()
    uvicorn.run(
        "buzz.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=log_config,
        access_log=False,
        # X-Forwarded-For only from the proxies the operator names; by default from nobody, so
        # a client cannot pick its own address (and escape the failed-auth limit).
        proxy_headers=bool(settings.trusted_proxies),
        # Request heads must be in within BUZZ_REQUEST_TIMEOUT_S too (bodies: the app's own).
        http="buzz.web.protocol:TimedHttpToolsProtocol",
        forwarded_allow_ips=settings.trusted_proxies or None,
        # SIGTERM: requests get 15 s to finish, then the dispatcher its 10 s (SPEC §1.4).
        timeout_graceful_shutdown=15,
    )


def _migrate(settings: Settings) -> None:
    database = Database(settings.database_url)
    try:
        database.upgrade()
    except SQLAlchemyError as exc:
        fail(f"cannot migrate the database {database_failure(settings.database_url, exc)}")
    finally:
        database.dispose()


@app.command()
def worker() -> None:
    """Deliver the outbox and run the bots (no API): as many as you like on PostgreSQL."""
    import asyncio
    import logging
    import signal

    from buzz.app import background_work, watch_commits
    from buzz.delivery.poster import poster_for
    from buzz.ops.supervisor import Supervisor
    from buzz.web.logging import configure_logging

    settings = settings_or_exit()
    load_all_models()
    database = Database(settings.database_url)
    try:
        problem = migration_problem(database)
    except SQLAlchemyError as exc:
        fail(f"cannot reach the database {database_failure(settings.database_url, exc)}")
    if problem is not None:
        fail(problem)
    configure_logging()

    poster = poster_for(settings)
    hurry = asyncio.Event()
    work = background_work(
        database=database,
        settings=settings,
        poster=poster,
        wakers=watch_commits(database),
        clock=system_clock,
        hurry=hurry,
    )
    log = logging.getLogger("buzz.worker")

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal() -> None:
            if not stop.is_set():
                log.warning(
                    "stopping: in-flight deliveries get up to 10 s; Ctrl-C again to stop at once"
                )
                stop.set()
            elif not hurry.is_set():
                log.warning("stopping now: handing the deliveries in flight back to the queue")
                hurry.set()

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_signal)
        try:
            await Supervisor(work).run(stop)
        finally:
            await poster.aclose()

    tune_gc()
    try:
        asyncio.run(run())
    finally:
        database.dispose()


@app.command()
def migrate() -> None:
    """Apply every migration to the configured database (`alembic upgrade head`)."""
    _migrate(settings_or_exit())
    typer.echo("database is at the newest migration")


@app.command()
def openapi(
    output: Annotated[Path, typer.Option(help="Where to write the document.")] = OPENAPI_PATH,
    check: Annotated[bool, typer.Option(help="Exit 1 if the file is stale.")] = False,
) -> None:
    """Write the OpenAPI document of the service (or check that the file is up to date)."""
    from buzz.openapi import render_openapi

    document = render_openapi()
    if check:
        current = output.read_text() if output.exists() else ""
        if current != document:
            fail(f"{output} is stale: run `buzz openapi`")
        typer.echo(f"{output} is up to date")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(document)
    typer.echo(f"wrote {output}")


@admin_app.command("create-user")
def create_user(
    name: Annotated[str, typer.Option(help="Display name.")],
    email: Annotated[str, typer.Option(help="Email address (unique).")],
    as_json: JsonFlag = False,
) -> None:
    """Create a Buzz user."""
    with unit_of_work() as session:
        user = admin.create_user(session, display_name=name, email=email, now=system_clock())
        payload = _user_json(user.id, user.display_name, user.email)
    emit(payload, as_json, lambda: [f"user {payload['id']} created: {name} <{email}>"])


@admin_app.command("create-client")
def create_client(
    user_id: Annotated[int, typer.Option(help="The user the client acts as.")],
    as_json: JsonFlag = False,
) -> None:
    """Create an OAuth client for a user; its secret is printed once."""
    with unit_of_work() as session:
        client = admin.create_client(session, user_id=user_id, now=system_clock())
    payload = _client_json(client)
    emit(payload, as_json, lambda: _client_lines(client))


@admin_app.command("create-subscriber")
def create_subscriber(
    name: Annotated[str, typer.Option(help="The subscriber's name (1..100 characters).")],
    tier: Annotated[Tier, typer.Option(help="BuzzChat tier; the API needs business.")] = (
        Tier.BUSINESS
    ),
    as_json: JsonFlag = False,
) -> None:
    """Create a BuzzChat subscriber with its first account, active."""
    with unit_of_work() as session:
        subscriber = admin.create_subscriber(session, name=name, tier=tier, now=system_clock())
    payload = _subscriber_json(subscriber)
    emit(
        payload,
        as_json,
        lambda: [
            f"subscriber {subscriber.id} created: {name} ({subscriber.tier})",
            f"account:       {subscriber.account_id} (active)",
        ],
    )


@admin_app.command("create-api-key")
def create_api_key(
    subscriber_id: Annotated[str, typer.Option(help="The subscriber the key acts for.")],
    name: Annotated[str, typer.Option(help="A name to tell keys apart.")] = "API key",
    as_json: JsonFlag = False,
) -> None:
    """Create a BuzzChat API key; it is printed once."""
    with unit_of_work() as session:
        key = admin.create_api_key(
            session, subscriber_id=subscriber_id, name=name, now=system_clock()
        )
    payload = _key_json(key)
    emit(payload, as_json, lambda: _key_lines(key))


@admin_app.command()
def bootstrap(as_json: JsonFlag = False) -> None:
    """Create a user, an OAuth client, a BuzzChat subscriber and an API key, to start exploring."""
    import secrets

    with unit_of_work() as session:
        now = system_clock()
        email = f"admin-{secrets.token_hex(3)}@example.com"
        user = admin.create_user(session, display_name="Buzz Admin", email=email, now=now)
        client = admin.create_client(session, user_id=user.id, now=now)
        subscriber = admin.create_subscriber(session, name="BuzzChat Admin", now=now)
        key = admin.create_api_key(session, subscriber_id=subscriber.id, name="bootstrap", now=now)
        payload = {
            "user": _user_json(user.id, user.display_name, user.email),
            "client": _client_json(client),
            "subscriber": _subscriber_json(subscriber),
            "apiKey": _key_json(key),
        }
    emit(
        payload,
        as_json,
        lambda: [
            f"user {user.id} created: {email}",
            *_client_lines(client),
            f"subscriber {subscriber.id} created (business), account {subscriber.account_id}",
            *_key_lines(key),
        ],
    )


def _subscriber_json(subscriber: admin.CreatedSubscriber) -> dict[str, Any]:
    return {
        "id": subscriber.id,
        "name": subscriber.name,
        "tier": subscriber.tier,
        "accountId": subscriber.account_id,
    }


def _key_json(key: admin.CreatedApiKey) -> dict[str, Any]:
    return {"id": key.id, "key": key.key, "subscriberId": key.subscriber_id}


def _key_lines(key: admin.CreatedApiKey) -> list[str]:
    return [f"API key {key.id}: {key.key}   (shown once: store it now)"]


def _user_json(user_id: int, display_name: str, email: str) -> dict[str, Any]:
    return {"id": user_id, "displayName": display_name, "email": email}


def _client_json(client: admin.CreatedClient) -> dict[str, Any]:
    return {
        "clientId": client.client_id,
        "clientSecret": client.client_secret,
        "userId": client.user_id,
    }


def _client_lines(client: admin.CreatedClient) -> list[str]:
    return [
        f"client id:     {client.client_id}",
        f"client secret: {client.client_secret}   (shown once: store it now)",
    ]


def main() -> None:
    """Entry point of the `buzz` command."""
    try:
        app()
    except SettingsError as exc:
        print(f"buzz: {exc}", file=sys.stderr)
        sys.exit(2)
