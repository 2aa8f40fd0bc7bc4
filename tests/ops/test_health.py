"""SPEC §1.4: health and readiness, request ids on every response, JSON access logs."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from buzz.app import create_app
from buzz.db import Database
from buzz.ops.startup import NotMigrated
from buzz.settings import Settings
from buzz.testing import SeededUser
from buzz.web.logging import JsonFormatter

SANE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class JsonLines(logging.Handler):
    """Keeps each record as the JSON line the service would write, formatted when emitted."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@contextmanager
def json_log(logger_name: str) -> Iterator[JsonLines]:
    """Capture what `logger_name` writes, as parsed JSON lines."""
    logger = logging.getLogger(logger_name)
    handler, level = JsonLines(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def failing_client(app: FastAPI) -> Iterator[TestClient]:
    """A client of an app with a route that raises an unexpected exception."""

    def fail_hard() -> None:
        raise RuntimeError("unexpected")

    app.add_api_route("/v1/buzz/boom", fail_hard)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_healthz_is_200(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_200_on_a_migrated_database(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def test_an_unmigrated_database_refuses_to_start(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    app = create_app(file_settings(empty))
    with pytest.raises(NotMigrated, match=r"is not migrated: run `buzz migrate` first"):
        TestClient(app).__enter__()


def test_a_database_behind_this_build_refuses_to_start_naming_both_revisions(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    _, head = database.revisions()
    database.dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0001'")
    app = create_app(file_settings(path))
    with pytest.raises(NotMigrated, match=f"is at migration 0001, this build's newest is {head}"):
        TestClient(app).__enter__()


def test_a_missing_database_file_refuses_to_start_and_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    app = create_app(file_settings(missing))
    with pytest.raises(NotMigrated, match=f"no database file {missing}"):
        TestClient(app).__enter__()
    assert not missing.exists()


def test_readyz_is_503_when_the_database_falls_behind_this_build(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    database.dispose()
    app = create_app(file_settings(path))
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
        with sqlite3.connect(path) as connection:  # someone migrated down under it
            [(head,)] = connection.execute("SELECT version_num FROM alembic_version")
            connection.execute("UPDATE alembic_version SET version_num = '0001'")
        unready = client.get("/readyz")
        assert unready.status_code == 503
        assert unready.json() == {
            "status": "unavailable",
            "reason": "database not migrated: run `buzz migrate`",
        }
        with sqlite3.connect(path) as connection:
            connection.execute("UPDATE alembic_version SET version_num = ?", (head,))
        assert client.get("/readyz").status_code == 200


def file_settings(path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{path}",
        embedded_worker=False,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/healthz", 200),
        ("GET", "/readyz", 200),
        ("GET", "/v1/buzz/users/me", 401),
        ("GET", "/no-such-route", 404),
        ("PUT", "/healthz", 405),
        ("POST", "/v1/buzz/channels", 415),
        ("GET", "/v1/buzz/boom", 500),
    ],
)
def test_every_response_carries_a_request_id(
    failing_client: TestClient, method: str, path: str, status: int
) -> None:
    response = failing_client.request(method, path, content=b"x")
    assert response.status_code == status
    assert SANE_ID.match(response.headers.get("X-Request-ID", ""))


def test_oversized_body_response_carries_a_request_id(client: TestClient) -> None:
    response = client.post(
        "/v1/buzz/channels",
        content=b" " * (1024 * 1024 + 1),
        headers={"Content-Type": "application/json", "X-Request-ID": "big-body-1"},
    )
    assert response.status_code == 413
    assert response.headers["X-Request-ID"] == "big-body-1"


def test_each_request_gets_its_own_id(client: TestClient) -> None:
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


@pytest.mark.parametrize(
    "given",
    ["abc-123", "3f2b9c1e-8d4a-4f6b-9e2d-1a2b3c4d5e6f", "trace.span:01_A", "x" * 128],
)
def test_sane_incoming_request_id_is_echoed(client: TestClient, given: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": given})
    assert response.headers["X-Request-ID"] == given


@pytest.mark.parametrize(
    "given",
    [
        pytest.param("has spaces in it", id="spaces"),
        pytest.param("x" * 300, id="300-chars"),
        pytest.param("a\tb", id="tab"),
        pytest.param("<script>", id="markup"),
        pytest.param("", id="empty"),
    ],
)
def test_insane_incoming_request_id_is_replaced(client: TestClient, given: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": given})
    echoed = response.headers["X-Request-ID"]
    assert echoed != given
    assert SANE_ID.match(echoed)


def test_access_log_line_is_json_with_the_request_id(client: TestClient) -> None:
    with json_log("buzz.access") as log:
        client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    (line,) = log.lines
    assert line["request_id"] == "trace-42"
    assert line["method"] == "GET"
    assert line["path"] == "/healthz"
    assert line["status"] == 200


def test_access_log_carries_the_generated_request_id(client: TestClient, alice: SeededUser) -> None:
    with json_log("buzz.access") as log:
        response = client.get("/v1/buzz/users/me", headers=alice.headers)
    (line,) = log.lines
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["status"] == 200


def test_access_log_records_the_status_of_an_unexpected_error(
    failing_client: TestClient,
) -> None:
    with json_log("buzz.access") as log:
        failing_client.get("/v1/buzz/boom", headers={"X-Request-ID": "boom-1"})
    (line,) = log.lines
    assert line["request_id"] == "boom-1"
    assert line["status"] == 500


def test_unexpected_error_is_logged_with_the_request_id(failing_client: TestClient) -> None:
    with json_log("buzz.errors") as log:
        failing_client.get("/v1/buzz/boom", headers={"X-Request-ID": "boom-2"})
    (line,) = log.lines
    assert line["level"] == "error"
    assert "RuntimeError" in line["exception"]
    assert line.get("request_id") == "boom-2"
