"""Refuse to start on a database that answers but is not migrated (SPEC §1.4).

Serving on such a database would answer 503 to every request while the background tasks fail
and restart in a loop; the operator is better served by one line at start-up, naming the
database and what to run. A database that does not answer yet (PostgreSQL still starting) is
not refused: the service starts, `/readyz` answers 503, and the supervised tasks retry.

Implemented as the outermost ASGI layer, on the lifespan's `startup` message, so the line is
the server's own "startup failed" message rather than a traceback.
"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from buzz.db import Database, missing_sqlite_file

__all__ = ["NotMigrated", "RefuseUnmigrated", "migration_problem", "unmigrated_problem"]


class NotMigrated(RuntimeError):
    """Start-up refused: the database is not at this build's migration."""


def migration_problem(database: Database) -> str | None:
    """One line when the SQLite file is missing or the database stands at a revision other than
    this build's newest (None when it is at head); raises SQLAlchemyError when it does not
    answer. The CLI's commands and the start-up check say the same thing through it."""
    missing = missing_sqlite_file(database.url.render_as_string(hide_password=False))
    if missing is not None:
        return f"no database file {missing}: run `buzz migrate` first"
    current, head = database.revisions()
    if current == head:
        return None
    where = database.url.render_as_string(hide_password=True)
    if current is None:
        return f"the database {where} is not migrated: run `buzz migrate` first"
    return (
        f"the database {where} is at migration {current}, this build's newest is {head}: "
        "run `buzz migrate` (or, if a newer release migrated it, run that release)"
    )


def unmigrated_problem(database: Database) -> str | None:
    """`migration_problem`, with a database that does not answer yet let through."""
    try:
        return migration_problem(database)
    except SQLAlchemyError:
        return None  # not reachable yet: /readyz says so until it is


class RefuseUnmigrated:
    """Fails the lifespan's start-up, with one line, on an unmigrated database."""

    def __init__(self, app: ASGIApp, database: Database) -> None:
        self.app = app
        self.database = database

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            problem = await run_in_threadpool(unmigrated_problem, self.database)
            if problem is not None:
                await receive()  # lifespan.startup
                await send({"type": "lifespan.startup.failed", "message": f"buzz: {problem}"})
                # As Starlette's own lifespan does: the server has logged the message and stops
                # (uvicorn adds nothing); a TestClient raises this on entering.
                raise NotMigrated(problem)
        await self.app(scope, receive, send)
