"""Alembic environment: the URL comes from a given connection, alembic.ini or BUZZ_DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from buzz.db import Base, make_engine, migrating
from buzz.models import load_all_models

load_all_models()
config = context.config
target_metadata = Base.metadata

# Any number of processes may start at once on PostgreSQL: one migrates, the others wait.
MIGRATION_LOCK_ID = 0x62757A7A


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    is_postgres = connection.dialect.name == "postgresql"
    if is_postgres:
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from buzz.settings import load_settings

        url = load_settings().database_url
    engine = make_engine(url)
    try:
        with migrating(engine) as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
