"""Fixtures: an app per test on SQLite in memory, or on PostgreSQL with `BUZZ_TEST_DATABASE_URL`.

`BUZZ_TEST_DATABASE_URL=sqlite-file` gives each test a migrated SQLite file instead, as
`buzz serve` runs on: reads on read-only connections beside the writer (WAL).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from buzz.app import create_app
from buzz.clock import ManualClock
from buzz.db import Base, Database, sync_url
from buzz.models import load_all_models
from buzz.settings import Settings
from buzz.testing import SeededUser, seed_user
from tests.serving import LiveServer, buzz_serve

TEST_DATABASE_URL = os.environ.get("BUZZ_TEST_DATABASE_URL", "sqlite://")
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")
ON_SQLITE_FILE = TEST_DATABASE_URL == "sqlite-file"
NODE_TOOLS = Path(__file__).resolve().parents[1] / "tools" / "node"


def pytest_report_header() -> str:
    kind = "sqlite (a file per test)" if ON_SQLITE_FILE else "sqlite (in memory)"
    return f"buzz database: {'postgresql' if ON_POSTGRES else kind}"


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """`tools/node/node_modules` (the contract tests' node tools, the browser tests' axe-core),
    installed from `tools/node/package-lock.json` if it is not there yet or the lock is newer,
    as `.ci/run` does: the README's test command needs no step of its own, only node and npm."""
    modules = NODE_TOOLS / "node_modules"
    lock = NODE_TOOLS / "package-lock.json"
    stamp = modules / ".package-lock.json"  # npm's own record of what it installed
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("these tests need node and npm (see the README)")
        subprocess.run(  # noqa: S603 - npm from PATH, fixed arguments
            [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(NODE_TOOLS)],
            check=True,
            capture_output=True,
        )
    return modules


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """The database every test app uses; on PostgreSQL, emptied and migrated once per session."""
    if ON_POSTGRES:
        engine = create_engine(sync_url(TEST_DATABASE_URL))
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        database = Database(TEST_DATABASE_URL)
        database.upgrade()
        database.dispose()
    yield "sqlite://" if ON_SQLITE_FILE else TEST_DATABASE_URL


def _empty_tables(database: Database) -> None:
    load_all_models()
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))


def sqlite_file_database(path: Path, *, migrate: bool = False) -> str:
    """A SQLite file with the schema: from the models (fast), or by the migrations as
    `buzz migrate` leaves it."""
    url = f"sqlite:///{path}"
    database = Database(url)
    if migrate:
        database.upgrade()
    else:
        database.create_schema()
    database.dispose()
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    if ON_SQLITE_FILE:
        database_url = sqlite_file_database(tmp_path / "buzz.db")
    return Settings(
        database_url=database_url,
        embedded_worker=False,
        public_url="https://buzz.example.com",
        _env_file=None,  # type: ignore[call-arg]
    )


@contextmanager
def app_for(settings: Settings, clock: ManualClock) -> Iterator[FastAPI]:
    """An app on the test database, emptied (on PostgreSQL) and closed afterwards."""
    app = create_app(settings, clock=clock)
    try:
        yield app
    finally:
        if ON_POSTGRES:
            _empty_tables(app.state.database)
        app.state.database.dispose()


@pytest.fixture
def app(settings: Settings, clock: ManualClock) -> Iterator[FastAPI]:
    with app_for(settings, clock) as app:
        yield app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def alice(app: FastAPI) -> SeededUser:
    return seed_user(app, display_name="Alice Archer", email="alice@acme.com")


@pytest.fixture
def bob(app: FastAPI) -> SeededUser:
    return seed_user(app, display_name="Bob Baker", email="bob@acme.com")


@pytest.fixture
def carol(app: FastAPI) -> SeededUser:
    return seed_user(app, display_name="Carol Cruz", email="carol@acme.com")


@pytest.fixture
def shared_app(settings: Settings, clock: ManualClock, tmp_path: Path) -> Iterator[FastAPI]:
    """An app on a database another process can reach: the suite's PostgreSQL database, or a
    migrated SQLite file."""
    url = settings.database_url
    if not ON_POSTGRES:
        url = sqlite_file_database(tmp_path / "shared.db", migrate=True)
    with app_for(settings.model_copy(update={"database_url": url}), clock) as app:
        yield app


@pytest.fixture
def shared_server(shared_app: FastAPI, tmp_path: Path) -> Iterator[LiveServer]:
    """`buzz serve` on `shared_app`'s database, rate limits out of the way (tested on their
    own)."""
    url = str(shared_app.state.settings.database_url)
    with buzz_serve(tmp_path, BUZZ_DATABASE_URL=url, BUZZ_RATE_LIMIT_PER_MINUTE="100000") as live:
        yield live
