"""The migration history builds exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from buzz.db import Base, Database, alembic_config
from buzz.models import load_all_models
from tests.conftest import ON_POSTGRES


def _differences(database: Database) -> list[object]:
    load_all_models()
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_migrations_build_the_models_schema_on_sqlite(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'migrated.db'}")
    database.upgrade()
    assert _differences(database) == []
    assert database.is_migrated()
    database.dispose()


def test_migrations_build_the_models_schema_on_the_test_database(database_url: str) -> None:
    database = Database(database_url)
    if not ON_POSTGRES:
        database.upgrade()
    assert _differences(database) == []
    database.dispose()


def test_downgrade_to_base_then_upgrade_again(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'roundtrip.db'}")
    database.upgrade()
    config = alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    database.upgrade()
    assert _differences(database) == []
    database.dispose()


def test_a_fresh_file_database_is_not_ready_until_migrated(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert not database.is_migrated()
    database.upgrade()
    assert database.is_migrated()
    database.dispose()


def test_upgrade_gives_existing_integrations_secrets_and_subscriptions_targets(
    tmp_path: Path,
) -> None:
    """Migration 0002 on a database that already holds an integration and a subscription."""
    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    config = alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, display_name, email, created_at) "
                "VALUES (1, 'Ada', 'ada@acme.com', '2026-01-01 00:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO integrations (id, owner_id, name, scope, headers, created_at) VALUES "
                "('i1', 1, 'Bot', 'PUBLIC_CHANNELS', '[{\"name\": \"x-k\", \"value\": \"v\"}]', "
                "'2026-01-01 00:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO subscriptions (id, integration_id, event_type, url, slash_command, "
                "created_at) VALUES ('s1', 'i1', 'MESSAGE_POSTED', 'https://hooks.acme.com/x', '', "
                "'2026-01-01 00:00:00')"
            )
        )
    database.upgrade()

    with database.engine.connect() as connection:
        secret = connection.execute(text("SELECT signing_secret FROM integrations")).scalar_one()
        target = connection.execute(
            text(
                "SELECT t.url, t.secrets, t.headers, t.active FROM subscriptions s "
                "JOIN delivery_targets t ON t.id = s.target_id WHERE s.id = 's1'"
            )
        ).one()
    assert secret.startswith("whsec_")
    assert target.url == "https://hooks.acme.com/x"
    assert json.loads(target.secrets) == [{"secret": secret, "expiresAt": None}]
    assert json.loads(target.headers) == [{"name": "x-k", "value": "v"}]
    assert target.active
    assert _differences(database) == []
    database.dispose()
