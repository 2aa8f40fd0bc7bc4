"""`buzz admin create-subscriber | create-api-key | bootstrap` (SPEC §1.3), used against the API."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from buzz.app import create_app
from buzz.cli import app as cli
from buzz.settings import Settings
from tests.buzzchat.helpers import API, error, ok

runner = CliRunner()
KEY_SHAPE = re.compile(r"^bz_live_[A-Za-z0-9]{48}$")


@pytest.fixture
def db_env(tmp_path: Path) -> dict[str, str]:
    env = {"BUZZ_DATABASE_URL": f"sqlite:///{tmp_path / 'admin.db'}"}
    assert runner.invoke(cli, ["migrate"], env=env).exit_code == 0
    return env


@pytest.fixture
def api(db_env: dict[str, str]) -> Iterator[TestClient]:
    """A live app on the database file the commands write to."""
    settings = Settings(
        database_url=db_env["BUZZ_DATABASE_URL"],
        embedded_worker=False,
        _env_file=None,  # type: ignore[call-arg]
    )
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            yield client
    finally:
        app.state.database.dispose()


def run(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    result = runner.invoke(cli, ["admin", *args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_create_subscriber_defaults_to_business(db_env: dict[str, str]) -> None:
    created = run(["create-subscriber", "--name", "Sunny Shop"], db_env)
    assert set(created) == {"id", "name", "tier", "accountId"}
    assert created["name"] == "Sunny Shop"
    assert created["tier"] == "business"
    assert created["accountId"].startswith("acc_")


def test_create_subscriber_with_free_tier(db_env: dict[str, str]) -> None:
    assert run(["create-subscriber", "--name", "Free", "--tier", "free"], db_env)["tier"] == "free"


def test_create_subscriber_with_unknown_tier_fails(db_env: dict[str, str]) -> None:
    result = runner.invoke(
        cli, ["admin", "create-subscriber", "--name", "X", "--tier", "gold"], env=db_env
    )
    assert result.exit_code != 0


def test_created_key_works_against_the_live_app(db_env: dict[str, str], api: TestClient) -> None:
    subscriber = run(["create-subscriber", "--name", "Sunny Shop"], db_env)
    key = run(["create-api-key", "--subscriber-id", subscriber["id"]], db_env)
    assert set(key) == {"id", "key", "subscriberId"}
    assert key["subscriberId"] == subscriber["id"]
    assert KEY_SHAPE.match(key["key"])
    accounts = ok(api.get(f"{API}/accounts", headers=bearer(key["key"])))["accounts"]
    assert accounts == [{"id": subscriber["accountId"], "name": "Sunny Shop", "isActive": True}]
    listed = ok(api.get(f"{API}/keys", headers=bearer(key["key"])))["keys"]
    assert [(k["id"], k["name"]) for k in listed] == [(key["id"], "API key")]


def test_create_api_key_with_a_name(db_env: dict[str, str], api: TestClient) -> None:
    subscriber = run(["create-subscriber", "--name", "Sunny Shop"], db_env)
    key = run(["create-api-key", "--subscriber-id", subscriber["id"], "--name", "CI"], db_env)
    listed = ok(api.get(f"{API}/keys", headers=bearer(key["key"])))["keys"]
    assert listed[0]["name"] == "CI"
    assert listed[0]["prefix"] == key["key"][:12]


def test_key_of_a_free_subscriber_is_refused_by_tier(
    db_env: dict[str, str], api: TestClient
) -> None:
    subscriber = run(["create-subscriber", "--name", "Free", "--tier", "free"], db_env)
    key = run(["create-api-key", "--subscriber-id", subscriber["id"]], db_env)
    error(api.get(f"{API}/settings", headers=bearer(key["key"])), 403, "INSUFFICIENT_TIER")


def test_plain_output_prints_the_key_once(db_env: dict[str, str]) -> None:
    subscriber = run(["create-subscriber", "--name", "Sunny Shop"], db_env)
    result = runner.invoke(
        cli, ["admin", "create-api-key", "--subscriber-id", subscriber["id"]], env=db_env
    )
    assert result.exit_code == 0, result.output
    keys = re.findall(r"bz_live_[A-Za-z0-9]{48}", result.stdout)
    assert len(keys) == 1


def test_unknown_subscriber_id_fails_with_one_line(db_env: dict[str, str]) -> None:
    result = runner.invoke(
        cli, ["admin", "create-api-key", "--subscriber-id", "sub_nope", "--json"], env=db_env
    )
    assert result.exit_code != 0
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("buzz: ")
    assert "sub_nope" in result.stderr
    assert "Traceback" not in result.output


def test_sixth_key_fails_with_one_line(db_env: dict[str, str]) -> None:
    subscriber = run(["create-subscriber", "--name", "Sunny Shop"], db_env)
    for _ in range(5):
        run(["create-api-key", "--subscriber-id", subscriber["id"]], db_env)
    result = runner.invoke(
        cli, ["admin", "create-api-key", "--subscriber-id", subscriber["id"]], env=db_env
    )
    assert result.exit_code != 0
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("buzz: ")


def test_bootstrap_json_shape_and_working_key(db_env: dict[str, str], api: TestClient) -> None:
    created = run(["bootstrap"], db_env)
    assert set(created) == {"user", "client", "subscriber", "apiKey"}
    assert set(created["user"]) == {"id", "displayName", "email"}
    assert set(created["client"]) == {"clientId", "clientSecret", "userId"}
    assert set(created["subscriber"]) == {"id", "name", "tier", "accountId"}
    assert set(created["apiKey"]) == {"id", "key", "subscriberId"}
    assert created["client"]["userId"] == created["user"]["id"]
    assert created["subscriber"]["tier"] == "business"
    assert created["apiKey"]["subscriberId"] == created["subscriber"]["id"]
    key = created["apiKey"]["key"]
    accounts = ok(api.get(f"{API}/accounts", headers=bearer(key)))["accounts"]
    assert [a["id"] for a in accounts] == [created["subscriber"]["accountId"]]
