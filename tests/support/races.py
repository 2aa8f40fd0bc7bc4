"""Requests fired together from threads at a real `buzz serve` on the suite's database
(PostgreSQL with BUZZ_TEST_DATABASE_URL; a migrated SQLite file otherwise)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from buzz.clock import ManualClock
from buzz.db import Database
from buzz.settings import Settings
from tests.conftest import ON_POSTGRES, app_for
from tests.serving import LiveServer, buzz_serve

__all__ = ["served", "shared_app_for", "together"]


@contextmanager
def shared_app_for(settings: Settings, clock: ManualClock, tmp_path: Path) -> Iterator[FastAPI]:
    """An app on a database another process can reach (the server under test)."""
    url = settings.database_url
    if not ON_POSTGRES:
        url = f"sqlite:///{tmp_path / 'shared.db'}"
        database = Database(url)
        database.upgrade()
        database.dispose()
    with app_for(settings.model_copy(update={"database_url": url}), clock) as app:
        yield app


@contextmanager
def served(app: FastAPI, tmp_path: Path, **env: str) -> Iterator[LiveServer]:
    """`buzz serve` on `app`'s database, its rate limits out of the way (they have own tests)."""
    url = str(app.state.settings.database_url)
    with buzz_serve(
        tmp_path, BUZZ_DATABASE_URL=url, BUZZ_RATE_LIMIT_PER_MINUTE="100000", **env
    ) as live:
        yield live


def together(
    url: str, headers: dict[str, str], bodies: list[dict[str, object]]
) -> list[httpx.Response]:
    """POST each body to `url`, all at the same moment from as many threads; the responses in
    the order they came back."""
    start = threading.Barrier(len(bodies))
    responses: list[httpx.Response] = []
    lock = threading.Lock()

    def run(body: dict[str, object]) -> None:
        with httpx.Client(timeout=60) as client:
            start.wait()
            response = client.post(url, json=body, headers=headers)
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=run, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(responses) == len(bodies)
    return responses
