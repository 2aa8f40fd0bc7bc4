"""Request sessions (SPEC §6): reads on read-only sessions beside the writer, each read one
snapshot, on a SQLite file (WAL) and on PostgreSQL (REPEATABLE READ, READ ONLY)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import InternalError, OperationalError, ProgrammingError

from buzz import admin
from buzz.db import Database
from buzz.platform.models import Channel, Message, MessageKind, User, Visibility
from buzz.platform.service import create_channel
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL, sqlite_file_database

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
WRITES = 150
PER_WRITE = 3


@pytest.fixture
def database(database_url: str, tmp_path: Path) -> Iterator[Database]:
    """The suite's PostgreSQL database, or a SQLite file (memory has one connection only)."""
    url = TEST_DATABASE_URL if ON_POSTGRES else sqlite_file_database(tmp_path / "sessions.db")
    database = Database(url)
    try:
        yield database
    finally:
        if ON_POSTGRES:
            with database.engine.begin() as connection:
                connection.execute(text("TRUNCATE users, channels RESTART IDENTITY CASCADE"))
        database.dispose()


def test_a_read_during_writes_sees_each_write_whole_or_not_at_all(database: Database) -> None:
    """The writer commits a channel with three messages at a time; a reader counts channels,
    then messages, in one read session: the two counts must come from the same moment."""
    with database.session() as session:
        user = admin.create_user(session, display_name="W", email="w@example.com", now=NOW)
        session.commit()
        user_id = user.id
    done = threading.Event()
    torn: list[tuple[int, int]] = []
    reads = 0

    def write() -> None:
        try:
            for n in range(WRITES):
                with database.session() as session:
                    creator = session.get(User, user_id)
                    assert creator is not None
                    channel = create_channel(
                        session,
                        creator=creator,
                        title=f"c{n}",
                        visibility=Visibility.PUBLIC,
                        now=NOW,
                    )
                    session.add_all(
                        Message(
                            channel_id=channel.id,
                            text=f"m{n}.{i}",
                            kind=MessageKind.MESSAGE.value,
                            created_at=NOW,
                        )
                        for i in range(PER_WRITE)
                    )
                    session.commit()
        finally:
            done.set()

    def read() -> None:
        nonlocal reads
        while not done.is_set():
            with database.read_session() as session:
                channels = session.scalar(select(func.count()).select_from(Channel)) or 0
                messages = session.scalar(select(func.count()).select_from(Message)) or 0
            if messages != PER_WRITE * channels:
                torn.append((channels, messages))
            reads += 1

    threads = [threading.Thread(target=write), *(threading.Thread(target=read) for _ in range(3))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert torn == []
    assert reads > WRITES  # the readers ran throughout, beside the writer
    with database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == WRITES * PER_WRITE


def test_a_read_session_cannot_write(database: Database) -> None:
    with (
        database.read_session() as session,
        pytest.raises((OperationalError, ProgrammingError, InternalError)),
    ):
        admin.create_user(session, display_name="R", email="r@example.com", now=NOW)
        session.flush()


def test_reads_do_not_wait_for_a_writer_holding_its_transaction(database: Database) -> None:
    """A write transaction left open (SQLite: the write lock held) does not stop a read."""
    with database.session() as writer:
        admin.create_user(writer, display_name="H", email="h@example.com", now=NOW)
        writer.flush()  # the transaction is open and holds the write lock
        with database.read_session() as reader:
            assert reader.scalar(text("SELECT count(*) FROM users")) == 0  # not committed yet
        writer.commit()
    with database.read_session() as reader:
        assert reader.scalar(text("SELECT count(*) FROM users")) == 1


def test_in_memory_sessions_take_turns_on_the_one_connection() -> None:
    """`sqlite://` is one connection: a second thread's session waits for the first's
    transaction to end instead of running inside it (SPEC §1.5, with the embedded worker on)."""
    database = Database("sqlite://")
    database.prepare()
    first_wrote = threading.Event()
    second_done = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def second() -> None:
        first_wrote.wait(5)
        try:
            with database.session() as session:
                seen.append(session.scalar(select(func.count()).select_from(User)) or 0)
                admin.create_user(session, display_name="B", email="b@example.com", now=NOW)
                session.commit()
        except BaseException as exc:
            errors.append(exc)
        finally:
            second_done.set()

    worker = threading.Thread(target=second)
    worker.start()
    try:
        with database.session() as session:
            admin.create_user(session, display_name="A", email="a@example.com", now=NOW)
            session.flush()
            first_wrote.set()
            # The other session is still waiting for the connection, not running inside ours.
            assert not second_done.wait(0.3)
            session.commit()
        worker.join(10)
        assert errors == []
        assert seen == [1]  # it began after the first committed, and saw its user
        with database.session() as session:
            assert session.scalar(select(func.count()).select_from(User)) == 2
    finally:
        database.dispose()
