"""Database plumbing: the declarative base, engines, sessions and the schema's migrations."""

from __future__ import annotations

import asyncio
import os
import uuid
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import (
    JSON,
    BigInteger,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    create_engine,
    event,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import QueuePool
from sqlalchemy.types import TypeDecorator

from buzz.state import StateKey

__all__ = [
    "DATABASE",
    "Base",
    "Database",
    "JSONType",
    "SessionDep",
    "UTCDateTime",
    "WriteSessionDep",
    "alembic_config",
    "database_failure",
    "missing_sqlite_file",
    "new_uuid",
    "redacted",
]


def _migrations_dir() -> Path:
    """The Alembic scripts: inside the package when installed from a wheel, else the checkout's."""
    here = Path(__file__).resolve()
    candidates = (here.parent / "migrations", here.parents[2] / "migrations")
    for candidate in candidates:
        if (candidate / "env.py").is_file():
            return candidate
    raise RuntimeError(
        "the Alembic migrations are missing: looked in "
        + " and ".join(str(c) for c in candidates)
        + " (a wheel ships them as buzz/migrations, a checkout has them at the top level)"
    )


MIGRATIONS_DIR = _migrations_dir()

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Starlette runs sync routes on 40 threads, the dispatcher on a few more: a smaller pool would
# make requests wait for a connection rather than for the database.
POOL_SIZE = 20
POOL_OVERFLOW = 30
# Below Starlette's 40 threads and the pool's 50 connections, leaving room for the dispatcher.
REQUEST_SESSIONS = 32
# SQLite file: reads run in parallel on this many read-only connections (WAL readers never wait
# for the writer), while writes take turns on the one write connection. Together with the one
# writer they stay well below Starlette's 40 threads (see Database.request_gate).
READ_SESSIONS = 8
# Methods whose requests only read: their session is read-only (see get_session).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

T = TypeVar("T")

# SQLite only auto-increments an INTEGER PRIMARY KEY, PostgreSQL gets a 64-bit identity.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")
JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always returns timezone-aware UTC, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Every table of the service."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def new_uuid() -> str:
    """A random UUID in its canonical text form."""
    return str(uuid.uuid4())


def sync_url(database_url: str) -> URL:
    """The URL the (synchronous) engine uses: asyncpg URLs are served by psycopg 3."""
    url = make_url(database_url)
    if (
        url.get_backend_name() == "postgresql"
        and url.get_driver_name()
        in {
            "asyncpg",
            "psycopg2",
            "psycopg_async",
            "pg8000",
        }
    ) or url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def redacted(database_url: str) -> str:
    """The URL with its password hidden, for logs and messages."""
    return make_url(database_url).render_as_string(hide_password=True)


def missing_sqlite_file(database_url: str) -> Path | None:
    """The SQLite file of the URL when it does not exist (connecting would create it empty)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or is_memory_sqlite(url):
        return None
    path = Path(str(url.database))
    return None if path.exists() else path


def database_failure(database_url: str, exc: BaseException) -> str:
    """One line for an operator: what failed, on which database, and (SQLite) what is wrong
    with its file or folder, which SQLite's own "unable to open database file" never says."""
    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or is_memory_sqlite(url):
        return f"{redacted(database_url)}: {reason}"
    path = Path(str(url.database)).resolve()
    folder = path.parent
    if not folder.exists():
        hint = f"the folder {folder} does not exist"
    elif not folder.is_dir():
        hint = f"{folder} is not a folder"
    elif path.is_dir():
        hint = f"{path} is a folder"
    elif not os.access(folder, os.W_OK | os.X_OK):
        hint = f"the folder {folder} is not writable (SQLite writes its journal beside the file)"
    elif path.exists() and not os.access(path, os.R_OK | os.W_OK):
        hint = f"the file {path} is not readable and writable"
    else:
        hint = None
    where = f"SQLite file {path}"
    return f"{where}: {reason}" + (f" ({hint})" if hint else "")


def is_memory_sqlite(url: URL) -> bool:
    """True for a private in-memory SQLite database (`sqlite://`)."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def make_engine(database_url: str) -> Engine:
    """An engine with the per-dialect settings this service relies on."""
    url = sync_url(database_url)
    kwargs: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False}
        # SQLite has one writer, and its busy handler sleeps up to 100 ms per retry: one
        # connection per process makes threads queue for it instead, without sleeping. In
        # memory the one connection is the database, and sessions must take turns on it too:
        # two threads' transactions on one connection would commit each other's work.
        kwargs.update(pool_size=1, max_overflow=0, pool_timeout=30)
        if is_memory_sqlite(url):
            kwargs["poolclass"] = QueuePool
    else:
        kwargs.update(
            pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW, pool_timeout=10, pool_pre_ping=True
        )
    engine = create_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
    return engine


def make_read_engine(engine: Engine) -> Engine | None:
    """The engine of read-only sessions, or None where reads must share the writer's one
    connection (SQLite in memory).

    - A SQLite file: a pool of read-only connections of its own. Under WAL each reader sees the
      last commit as of its first statement and never waits for the writer, so reads need not
      take turns with writes.
    - PostgreSQL: the same pool, in REPEATABLE READ, READ ONLY transactions, so that all of a
      read's statements see one snapshot (READ COMMITTED would let a commit land between two
      of them); a read-only transaction never fails to serialize.
    """
    url = engine.url
    if url.get_backend_name() != "sqlite":
        return engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    if is_memory_sqlite(url):
        return None
    readers = create_engine(
        url,
        connect_args={"check_same_thread": False},
        pool_size=READ_SESSIONS,
        max_overflow=0,
        pool_timeout=30,
    )
    event.listen(readers, "connect", _sqlite_read_pragmas)
    event.listen(readers, "begin", _sqlite_begin_deferred)
    return readers


def _sqlite_begin_deferred(connection: Any) -> None:
    # One snapshot for all of a read's statements: a read during a write sees all or none of it.
    connection.exec_driver_sql("BEGIN")


def _sqlite_read_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # transactions begin in _sqlite_begin_deferred
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")  # a write here is a bug: it fails, loudly
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    # Take the write lock up front: a deferred transaction that reads and then writes can fail
    # with SQLITE_BUSY when another process wrote in between (WAL), and no retry would help.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # transactions begin in _sqlite_begin_immediate
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config(database_url: str | None = None) -> Config:
    """Alembic's configuration, pointing at the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url is not None:
        config.set_main_option("sqlalchemy.url", sync_url(database_url).render_as_string(False))
    return config


@contextmanager
def migrating(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction for migrations; on SQLite with foreign keys off meanwhile.

    SQLite's batch migrations rebuild a table by copy and drop, and with foreign keys on, the
    drop would cascade into the rows that point at it. The pragma only works outside a
    transaction, so it is set on the driver's connection before ours begins.
    """
    with engine.connect() as connection:
        is_sqlite = engine.dialect.name == "sqlite"
        raw = connection.connection.dbapi_connection
        if is_sqlite and raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                yield connection
                if is_sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"migration left dangling foreign keys: {broken[:5]}")
        finally:
            if is_sqlite and raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


class Database:
    """One engine and its session factory, owned by the app (or a worker, or the CLI)."""

    def __init__(self, database_url: str) -> None:
        self.url = sync_url(database_url)
        self.engine = make_engine(database_url)
        read_engine = make_read_engine(self.engine)
        self.read_engine = read_engine or self.engine
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # `read_only` in a session's info: it cannot write (see make_read_engine).
        self.read_sessions = sessionmaker(
            self.read_engine, expire_on_commit=False, info={"read_only": read_engine is not None}
        )
        # Requests hold a pooled connection across several thread-pool hops. Were more of them
        # to hold sessions than there are threads or connections, holders would wait for
        # threads that waiters hold: a deadlock. So they queue here, in the event loop; reads
        # and writes in one queue where they share one pool.
        self.shared_gate = self.read_engine.pool is self.engine.pool
        if self.url.get_backend_name() == "sqlite":
            # One write connection per process (see make_engine); in memory, one for everything.
            self.write_sessions_at_once, self.read_sessions_at_once = 1, READ_SESSIONS
        else:
            self.write_sessions_at_once = self.read_sessions_at_once = REQUEST_SESSIONS
        # Closing a SQLite session (a rollback at most, in-process, microseconds) is cheaper
        # in the event loop than a hop to a worker thread; PostgreSQL's is a round trip.
        self.closes_inline = self.url.get_backend_name() == "sqlite"
        # One pair of gates per event loop: `TestClient` may run each request in a loop of its own.
        self._gates: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[asyncio.Semaphore, asyncio.Semaphore]
        ] = weakref.WeakKeyDictionary()

    def request_gate(self, *, write: bool = True) -> AbstractAsyncContextManager[object]:
        """Held by a request for as long as it has a session (a read one when not `write`)."""
        loop = asyncio.get_running_loop()
        gates = self._gates.get(loop)
        if gates is None:
            writes = asyncio.Semaphore(self.write_sessions_at_once)
            reads = writes if self.shared_gate else asyncio.Semaphore(self.read_sessions_at_once)
            gates = self._gates[loop] = (writes, reads)
        return gates[0] if write else gates[1]

    def session(self) -> Session:
        """A new session; the caller commits (services never do)."""
        return self.sessions()

    def read_session(self) -> Session:
        """A new session for reading only (see make_read_engine): on a SQLite file a read-only
        connection beside the writer, on PostgreSQL a read-only snapshot."""
        return self.read_sessions()

    async def read(self, work: Callable[[Session], T]) -> T:
        """`work` on a read session of its own, in a worker thread, held only meanwhile (for
        routes that must not hold a request session)."""

        def run() -> T:
            with self.read_session() as session:
                return work(session)

        async with self.request_gate(write=False):
            return await run_in_threadpool(run)

    def upgrade(self) -> None:
        """Apply every migration (`alembic upgrade head`)."""
        config = alembic_config()
        with migrating(self.engine) as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def create_schema(self) -> None:
        """Create the schema from the models and stamp it as migrated (fast, for tests)."""
        Base.metadata.create_all(self.engine)
        config = alembic_config()
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.stamp(config, "head")

    def prepare(self) -> None:
        """Give a private in-memory database its schema; real databases are migrated explicitly."""
        if is_memory_sqlite(self.url):
            self.create_schema()

    def is_migrated(self) -> bool:
        """True when the database answers and stands at the newest migration."""
        current, head = self.revisions()
        return current == head

    def revisions(self) -> tuple[str | None, str | None]:
        """The database's migration revision (None: never migrated) and this build's newest."""
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        with self.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        return current, head

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        if not self.shared_gate:
            self.read_engine.dispose()


DATABASE: StateKey[Database] = StateKey("database")


@asynccontextmanager
async def _session_for(request: Request, *, write: bool) -> AsyncIterator[Session]:
    database = DATABASE.of(request.app)
    async with database.request_gate(write=write):
        session = database.session() if write else database.read_session()
        try:
            yield session
        finally:
            if database.closes_inline:
                session.close()
            else:
                await run_in_threadpool(session.close)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session per request, rolled back and closed when the request ends.

    GET, HEAD and OPTIONS requests read: theirs is a read-only session, so they run beside
    writes (SQLite: in parallel under WAL). Other requests take their turn to write. A GET that
    must write (Domo's `GET /oauth/token`) asks for `WriteSessionDep`.
    """
    async with _session_for(request, write=request.method not in SAFE_METHODS) as session:
        yield session


async def get_write_session(request: Request) -> AsyncIterator[Session]:
    """A session that may write, whatever the request's method."""
    async with _session_for(request, write=True) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
WriteSessionDep = Annotated[Session, Depends(get_write_session)]
