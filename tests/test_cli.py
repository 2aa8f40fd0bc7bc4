"""`buzz migrate`, `buzz admin …` and `buzz serve`, run as an operator would."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from buzz.app import create_app
from buzz.cli import app as cli
from buzz.settings import Settings
from tests.serving import buzz_serve

runner = CliRunner()


@pytest.fixture
def db_env(tmp_path: Path) -> dict[str, str]:
    return {"BUZZ_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}


def run(args: list[str], env: dict[str, str]) -> dict[str, object]:
    result = runner.invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    parsed: dict[str, object] = json.loads(result.stdout)
    return parsed


def test_admin_creates_a_client_that_can_get_a_token(db_env: dict[str, str]) -> None:
    assert runner.invoke(cli, ["migrate"], env=db_env).exit_code == 0
    user = run(
        ["admin", "create-user", "--name", "Ada", "--email", "ada@acme.com", "--json"], db_env
    )
    assert user == {"id": 1, "displayName": "Ada", "email": "ada@acme.com"}
    client = run(["admin", "create-client", "--user-id", "1", "--json"], db_env)
    assert set(client) == {"clientId", "clientSecret", "userId"}

    app = create_app(Settings(database_url=db_env["BUZZ_DATABASE_URL"], _env_file=None))  # type: ignore[call-arg]
    with TestClient(app) as http:
        response = http.post(
            "/oauth/token",
            params={"grant_type": "client_credentials"},
            auth=(str(client["clientId"]), str(client["clientSecret"])),
        )
    assert response.status_code == 200
    assert response.json()["userId"] == 1


def test_bootstrap_prints_user_and_client(db_env: dict[str, str]) -> None:
    runner.invoke(cli, ["migrate"], env=db_env)
    created = run(["admin", "bootstrap", "--json"], db_env)
    assert set(created) >= {"user", "client"}
    assert created["client"]["userId"] == created["user"]["id"]  # type: ignore[index]


def test_admin_errors_are_one_line_with_nonzero_exit(db_env: dict[str, str]) -> None:
    runner.invoke(cli, ["migrate"], env=db_env)
    run(["admin", "create-user", "--name", "Ada", "--email", "ada@acme.com", "--json"], db_env)
    again = runner.invoke(
        cli, ["admin", "create-user", "--name", "Ada", "--email", "ADA@acme.com"], env=db_env
    )
    assert again.exit_code == 1
    assert again.stderr.strip() == "buzz: A user with email ADA@acme.com already exists"
    missing = runner.invoke(cli, ["admin", "create-client", "--user-id", "42"], env=db_env)
    assert missing.exit_code == 1
    assert "User 42 not found" in missing.stderr


def test_bad_setting_stops_the_command_with_one_line(db_env: dict[str, str]) -> None:
    result = runner.invoke(cli, ["migrate"], env={**db_env, "BUZZ_DISPATCH_PER_HOST": "-3"})
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("buzz: invalid setting BUZZ_DISPATCH_PER_HOST:")
    assert "Traceback" not in result.output


def test_serve_migrates_and_serves_on_a_sqlite_file(tmp_path: Path) -> None:
    with buzz_serve(tmp_path) as server:
        response = httpx.get(f"{server.base_url}/readyz", headers={"X-Request-ID": "probe-1"})
        assert response.status_code == 200
        assert response.json() == {"status": "ready"}
        assert response.headers["x-request-id"] == "probe-1"
    lines = [json.loads(line) for line in server.stderr.splitlines() if line.startswith("{")]
    access = [entry for entry in lines if entry.get("logger") == "buzz.access"]
    assert any(e.get("request_id") == "probe-1" and e.get("status") == 200 for e in access)


def _help(*args: str) -> str:
    result = runner.invoke(cli, [*args, "--help"], env={"COLUMNS": "200", "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_help_names_both_api_families_and_every_command() -> None:
    group = typer.main.get_group(cli)
    top = _help()
    for family in ("Buzz Integration API", "BuzzChat v1"):
        assert family in top
    assert set(group.commands) == {"serve", "worker", "migrate", "openapi", "admin"}
    for command in group.commands:
        assert f" {command} " in top

    admin_group = group.commands["admin"]
    assert isinstance(admin_group, typer.core.TyperGroup)
    admin = _help("admin")
    assert "Buzz users" in admin and "BuzzChat subscribers" in admin
    assert len(admin_group.commands) == 5
    for command in admin_group.commands:
        assert f" {command} " in admin


def test_serve_with_two_workers_serves_from_both_processes(tmp_path: Path) -> None:
    with buzz_serve(tmp_path, args=["--workers", "2"]) as server:
        # A new connection per request: the kernel hands connections to either process.
        no_reuse = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=server.base_url, limits=no_reuse) as client:
            statuses = {client.get("/readyz").status_code for _ in range(200)}
        assert statuses == {200}
    lines = [json.loads(line) for line in server.stderr.splitlines() if line.startswith("{")]
    serving = {e["pid"] for e in lines if e.get("logger") == "buzz.access"}
    assert len(serving) == 2, server.stderr[-2000:]
    assert server.process.pid not in serving  # the parent supervises; its workers serve
    assert not any("color_message" in e for e in lines)


def test_admin_on_a_missing_database_file_says_so_and_leaves_no_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    result = runner.invoke(
        cli,
        ["admin", "create-user", "--name", "Al", "--email", "al@example.com"],
        env={"BUZZ_DATABASE_URL": f"sqlite:///{missing}"},
    )
    assert result.exit_code == 1
    assert result.stderr == f"buzz: no database file {missing}: run `buzz migrate` first\n"
    assert not missing.exists()


def test_admin_on_an_unmigrated_database_says_to_migrate(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    result = runner.invoke(
        cli,
        ["admin", "create-user", "--name", "Al", "--email", "al@example.com"],
        env={"BUZZ_DATABASE_URL": f"sqlite:///{empty}"},
    )
    assert result.exit_code == 1
    assert result.stderr == (
        f"buzz: the database sqlite:///{empty} is not migrated: run `buzz migrate` first\n"
    )


def test_uvicorn_factory_on_an_unmigrated_database_stops_with_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "buzz.app:create_app", "--factory", "--port", "0"],
        env={**os.environ, "BUZZ_DATABASE_URL": f"sqlite:///{empty}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    assert errors == [
        f"ERROR:    buzz: the database sqlite:///{empty} is not migrated: run `buzz migrate` first",
        "ERROR:    Application startup failed. Exiting.",
    ]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("where", "hint"),
    [
        ("missing/buzz.db", "the folder {tmp}/missing does not exist"),
        ("a-file/buzz.db", "{tmp}/a-file is not a folder"),
        ("a-folder", "{tmp}/a-folder is a folder"),
    ],
)
def test_a_sqlite_file_that_cannot_be_opened_is_named_with_the_reason(
    tmp_path: Path, where: str, hint: str
) -> None:
    (tmp_path / "a-file").write_text("")
    (tmp_path / "a-folder").mkdir()
    path = (tmp_path / where).resolve()
    result = runner.invoke(cli, ["migrate"], env={"BUZZ_DATABASE_URL": f"sqlite:///{path}"})
    assert result.exit_code == 1
    expected = hint.format(tmp=tmp_path.resolve())
    assert result.stderr == (
        f"buzz: cannot migrate the database SQLite file {path}: "
        f"unable to open database file ({expected})\n"
    )


def test_worker_on_a_missing_database_file_says_so_and_leaves_no_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    result = runner.invoke(cli, ["worker"], env={"BUZZ_DATABASE_URL": f"sqlite:///{missing}"})
    assert result.exit_code == 1
    assert result.stderr == f"buzz: no database file {missing}: run `buzz migrate` first\n"
    assert not missing.exists()


def test_a_postgres_url_gets_a_hint(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["migrate"], env={"BUZZ_DATABASE_URL": "postgres://u@h/db"})
    assert result.exit_code == 2
    assert "postgresql+psycopg://" in result.stderr
    assert result.stderr.count("\n") == 1


def test_serve_says_how_it_starts_and_warns_of_private_targets(tmp_path: Path) -> None:
    with buzz_serve(tmp_path, BUZZ_ALLOW_PRIVATE_TARGETS="true") as server:
        pass
    lines = [json.loads(line) for line in server.stderr.splitlines() if line.startswith("{")]
    [started] = [e for e in lines if str(e["message"]).startswith("buzz 0.")]
    assert started["message"].endswith(  # type: ignore[union-attr]
        f"starting: database sqlite:///{tmp_path / 'served.db'}, embedded worker off "
        f"(run `buzz worker`), pid {started['pid']}"
    )
    warned = [e for e in lines if e["level"] == "warning" and "PRIVATE_TARGETS" in e["message"]]
    assert len(warned) == 1
