"""The migration history builds exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

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
