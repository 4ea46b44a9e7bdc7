"""Database engine set-up for SQLite (embedded default) and PostgreSQL (production).

SQLite runs in WAL mode with `synchronous=NORMAL`: a commit writes the WAL but
does not wait for the disk, so a power loss (never a crash of the process) can
take back the last commits. Before anything leaves the database's hands (mail
moved on the IMAP server or out of the Maildir), `sync_to_disk` makes every
commit so far durable with one fsync, so a mail is never moved while the only
record of it could still vanish. Every SQLite transaction starts with `BEGIN IMMEDIATE` so two
processes never deadlock upgrading a read lock, and a busy timeout makes a locked
database something we wait out, not an error.

The schema is made and changed only by migrations (`daemon.store.migrations`): `upgrade`
applies the missing ones, serialised so that several daemons starting at once
never race; the daemon and the commands that write call it before they touch
the database (`open_for_writing`).

Commands that only look open the database with `open_read_only`: a SQLite file
must already exist (a mistyped path is not quietly made into a new, empty
database), it is opened `mode=ro` without switching the journal mode, PostgreSQL
runs read-only transactions, and the schema must already be at this version's
head; nothing is created and nothing is migrated. Both refuse a URL whose driver
caredesk does not support (a configuration error), and a server that cannot be
reached at the first connection is `DatabaseUnavailable`, one line for an operator.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import URL, Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlmodel import Session

from daemon import private
from daemon.config import ConfigError
from daemon.store import (
    models,  # noqa: F401 - models registers the tables on SQLModel.metadata
    schema_head,
    sla_due,  # noqa: F401 - sla_due marks tickets changed through the ORM for the SLA ladder
)

if TYPE_CHECKING:
    from daemon.store import migrations
    from daemon.store.migrations import SchemaError, Upgrade

__all__ = [
    "DatabaseNotReady",
    "DatabaseUnavailable",
    "SchemaError",
    "Upgrade",
    "analyze",
    "check_reachable",
    "check_url",
    "create_schema",
    "make_engine",
    "open_for_writing",
    "open_read_only",
    "public_database_url",
    "read_only_engine",
    "read_only_status",
    "read_session",
    "session",
    "sync_to_disk",
    "upgrade",
]

log = logging.getLogger("caredesk.db")


def __getattr__(name: str) -> Any:
    """`SchemaError` and `Upgrade`, from `daemon.store.migrations` when first asked for.

    The migrations import alembic, which a read-only command at the schema's head never
    needs (`schema_head`); they are loaded when a command migrates or the schema is not current.
    """
    if name in ("SchemaError", "Upgrade"):
        from daemon.store import migrations

        return getattr(migrations, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


SQLITE_BUSY_TIMEOUT_MS = 30_000
WAL_SIZE_LIMIT = 64 * 1024 * 1024
"""Bytes of WAL file SQLite keeps after a checkpoint (`journal_size_limit`); the rest is given back."""
ANALYSIS_LIMIT = 1000
READ_ONLY_OPTION = "caredesk_read_only"
"""Execution option of `read_session`'s transactions: a deferred `BEGIN` on SQLite."""
# The PostgreSQL advisory lock held while migrating: the bytes of "caredesk".
MIGRATION_LOCK_KEY = int.from_bytes(b"caredesk", "big")


# The drivers caredesk ships and is tested with, by backend. `postgresql://` alone
# would make SQLAlchemy load psycopg2, which caredesk does not depend on: it
# means psycopg (3) here.
_DRIVERS = {"sqlite": ("", "pysqlite"), "postgresql": ("", "psycopg")}
SUPPORTED_URLS = "sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB (postgresql:// means the same)"


class DatabaseUnavailable(Exception):
    """The database server (or SQLite file) cannot be reached: the command cannot run now.

    The message is one line naming the database with its password masked; the
    command line exits EX_UNAVAILABLE (69), `ingest` EX_TEMPFAIL (75).
    """

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"database {public_database_url(url)} unreachable: {reason}")
        self.url = url
        self.reason = reason


class DatabaseNotReady(Exception):
    """A read-only command found no database, or one whose schema is not this version's.

    Nothing was created or migrated; the message says what to run. Exit code 1.
    """


def check_url(url: str) -> URL:
    """`url` parsed, or ConfigError naming the key when caredesk has no driver for it."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"database_url ([database] url): {_mask_text(url)!r} is not a database URL; use {SUPPORTED_URLS}"
        ) from None
    backend, _, driver = parsed.drivername.partition("+")
    if driver not in _DRIVERS.get(backend, ()):
        raise ConfigError(
            f"database_url ([database] url): unsupported database driver {parsed.drivername!r} in "
            f"{public_database_url(url)}; caredesk supports {SUPPORTED_URLS}"
        )
    if backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def public_database_url(url: str) -> str:
    """`url` safe to print: the password, in the authority or the query, is `***`."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return _mask_text(url)
    if "password" in parsed.query:
        parsed = parsed.update_query_dict({"password": "***"})
    return parsed.render_as_string(hide_password=True)


def _mask_text(url: str) -> str:
    """A URL SQLAlchemy cannot parse, with anything between `:` and `@` masked."""
    return re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", url)


def make_engine(url: str) -> Engine:
    """An engine for `url`, with the durability settings this daemon relies on.

    ConfigError for a driver caredesk does not support, before anything is made.
    """
    parsed = check_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(parsed, pool_pre_ping=True, future=True)


def read_only_engine(url: str) -> Engine:
    """An engine that cannot write; DatabaseNotReady when the SQLite file does not exist.

    SQLite is opened as a URI filename with `mode=ro`, which never creates the file,
    and without the WAL switch or `BEGIN IMMEDIATE` of `make_engine`: a long read
    never holds the lock the running daemon writes under. PostgreSQL runs every
    transaction read-only.
    """
    parsed = check_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, execution_options={"postgresql_readonly": True})
    database = parsed.database or ""
    connect_args: dict[str, Any] = {"timeout": _busy_timeout_ms(url) / 1000, "check_same_thread": False}
    if database in ("", ":memory:"):
        return create_engine("sqlite://", connect_args=connect_args)
    if not Path(database).exists():
        raise DatabaseNotReady(
            f"database file {database} does not exist (check database_url; "
            "'caredesk db upgrade' or the daemon creates it)"
        )
    return create_engine(
        f"sqlite:///file:{quote(database, safe='/')}?mode=ro&uri=true", connect_args=connect_args
    )


def open_for_writing(url: str) -> Engine:
    """An engine for a command that writes: reachable, and migrated to head (`upgrade`).

    DatabaseUnavailable when the first connection fails; the engine is disposed
    of on any failure, so a daemon retrying at start leaks nothing.
    """
    engine = make_engine(url)
    try:
        with _first_connection(engine, url) as connection:
            current = schema_head.is_at_head(connection)
        if not current:
            # alembic only when there is something to migrate: it adds 8 MB to a daemon (issue 17).
            upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def open_read_only(url: str) -> Engine:
    """A read-only engine (`read_only_engine`) on a database whose schema is at head.

    DatabaseNotReady, naming `caredesk db upgrade`, for a missing file, an empty
    database, one made before migrations or one at an older revision; nothing is
    created or migrated. SchemaError for a revision newer than this caredesk.
    """
    engine = read_only_engine(url)
    try:
        with _first_connection(engine, url) as connection:
            _check_schema_is_current(connection, url)
    except BaseException:
        engine.dispose()
        raise
    return engine


def read_only_status(url: str) -> migrations.Status:
    """The schema's migration status, read without creating or changing anything.

    A SQLite file that does not exist yet has the status of an empty database.
    """
    from daemon.store import migrations

    try:
        engine = read_only_engine(url)
    except DatabaseNotReady:
        return migrations.Status(None, migrations.head(), migrations.pending_revisions(None), False)
    try:
        with _first_connection(engine, url) as connection:
            return migrations.status(connection)
    finally:
        engine.dispose()


def check_reachable(engine: Engine, url: str) -> None:
    """Connect once; DatabaseUnavailable, naming `url` with its password masked, if that fails."""
    with _first_connection(engine, url):
        pass


@contextlib.contextmanager
def _first_connection(engine: Engine, url: str) -> Iterator[Connection]:
    """`engine.connect()`, with a failure to connect turned into DatabaseUnavailable."""
    try:
        connection = engine.connect()
    except _connection_errors() as error:
        raise DatabaseUnavailable(url, unreachable_reason(error)) from None
    with connection:
        yield connection


def _connection_errors() -> tuple[type[Exception], ...]:
    """What a failed connection raises; psycopg's own error only once psycopg is loaded.

    psycopg is imported by SQLAlchemy's dialect when a PostgreSQL engine connects;
    a SQLite command never needs it, and its import is a good part of a short command's time.
    """
    psycopg = sys.modules.get("psycopg")
    return (OperationalError,) if psycopg is None else (OperationalError, psycopg.OperationalError)


def unreachable_reason(error: BaseException) -> str:
    """What the driver said, in a few words: `connection refused`, not libpq's paragraph.

    The URL already names the server, so libpq's `connection to server at "…",
    port … failed:` prefix and its hint lines are left out.
    """
    original = getattr(error, "orig", None) or error
    text = str(original).strip()
    line = text.splitlines()[0].strip() if text else type(original).__name__
    line = line.removeprefix("connection failed: ")
    found = re.match(r"connection to server (?:at|on) .*? failed: (.*)", line)
    if found:
        line = found.group(1)
    line = re.sub(r"^(FATAL|ERROR):\s+", "", line).strip()
    if line[:1].isupper() and line[1:2].islower():
        line = line[0].lower() + line[1:]
    return line or type(original).__name__


def _check_schema_is_current(connection: Connection, url: str) -> None:
    if schema_head.is_at_head(connection):
        return
    from daemon.store import migrations

    status = migrations.status(connection)
    where = f"the database at {public_database_url(url)}"
    if status.unversioned_tables:
        raise DatabaseNotReady(
            f"{where} has caredesk tables made before migrations (run 'caredesk db upgrade' to adopt them)"
        )
    if status.current is None:
        raise DatabaseNotReady(f"{where} has no caredesk schema (run 'caredesk db upgrade')")
    if status.current != status.head:
        raise DatabaseNotReady(
            f"{where} is at revision {status.current}, this caredesk needs {status.head} "
            "(run 'caredesk db upgrade')"
        )


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database or ""
    if database and database != ":memory:":
        # Private from the first byte: SQLite gives the -wal and -shm files the
        # database file's mode, so all three are 0600 in a 0700 folder.
        private.private_directory(Path(database).parent)
        private.create_private_file(Path(database))
    busy_ms = _busy_timeout_ms(url)
    engine = create_engine(url, connect_args={"timeout": busy_ms / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin, so that
        # SAVEPOINTs work (pysqlite's own transaction handling breaks them).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _use_wal(cursor, busy_ms)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Readers (`read_session`) begin deferred: they never wait for the writer (WAL).
        reading = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

    return engine


def _use_wal(cursor: Any, busy_ms: int) -> None:
    """Switch the database file to WAL (it stays so), waiting out others doing the same.

    Switching needs the file to itself, and SQLite answers "database is locked" at
    once, without its busy wait, to a connection that tries while another one is
    switching: what several daemons starting together on a new database do.
    """
    deadline = time.monotonic() + busy_ms / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _busy_timeout_ms(url: str) -> int:
    """How long to wait for a locked database: `?timeout=<seconds>` in the URL, else 30 s.

    `timeout` is pysqlite's own URL parameter; it used to be overridden silently
    by the default (the fault tests set it low to pass the wait in seconds).
    """
    value = make_url(url).query.get("timeout")
    if value is None:
        return SQLITE_BUSY_TIMEOUT_MS
    return int(float(value if isinstance(value, str) else value[-1]) * 1000)


def upgrade(engine: Engine) -> Upgrade:
    """Bring the schema to the newest revision (`alembic upgrade head`); a no-op when it is there.

    One transaction, taken so that only one process migrates at a time: on
    PostgreSQL it holds an advisory lock until it commits (DDL is transactional
    there), on SQLite `BEGIN IMMEDIATE` already holds the database's write lock.
    Whoever waited finds the schema at head and does nothing. A database made by
    `create_all` before migrations is stamped at the baseline when it matches it;
    otherwise, and for a revision this version does not know, `SchemaError`.
    """
    from daemon.store import migrations

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        result = migrations.upgrade(connection)
    if result.stamped:
        log.info("database made before migrations adopted at %s", migrations.BASELINE)
    for revision in result.applied:
        log.info("database migration %s applied: %s", revision.id, revision.message)
    if result.applied:
        # New indexes are only chosen well with statistics about them.
        analyze(engine)
    return result


def create_schema(engine: Engine) -> None:
    """`upgrade`, under the name the tests and scripts know."""
    upgrade(engine)


def session(bind: Engine | Connection) -> Session:
    """A session on `bind`: the engine's pool, or one connection kept for the session's life.

    Objects stay usable after commit: callers read ids and fields they just wrote.
    """
    return Session(bind, expire_on_commit=False)


def sync_to_disk(engine: Engine) -> None:
    """Make every transaction committed so far durable: fsync SQLite's WAL (a no-op on PostgreSQL).

    With `synchronous=NORMAL` a commit is safe from a crash of the process but
    not yet from a power loss. A checkpoint syncs the WAL before it copies it
    back (and the database file after), so one PASSIVE checkpoint covers every
    commit before it, without waiting for anyone. Called before a move that only
    a stored mail may make. PostgreSQL commits are durable when they return.

    Never by opening the files ourselves: closing any descriptor of a database
    file drops every POSIX lock this process holds on it, and another process
    may then reset the WAL under the daemon's feet (SQLite's "how to corrupt", 2.2).
    """
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        # Outside any transaction: the driver's own cursor (SQLite checkpoints nothing inside one).
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            cursor.close()


def read_session(engine: Engine) -> Session:
    """A session for reading only: on SQLite its transactions begin deferred, not IMMEDIATE.

    A reader then never waits for the write lock (in WAL mode it reads the last
    committed state while another process writes), and holds nothing that makes
    a writer wait. It must not write: a deferred transaction that writes can
    fail to upgrade its lock. PostgreSQL runs its transactions read-only.
    """
    options: dict[str, Any] = {READ_ONLY_OPTION: True}
    if engine.dialect.name == "postgresql":
        options["postgresql_readonly"] = True
    return Session(engine.execution_options(**options), expire_on_commit=False)


def analyze(engine: Engine) -> None:
    """Refresh the planner's statistics: sampled `ANALYZE` and `PRAGMA optimize` (SQLite), `ANALYZE`."""
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # Sampled (at most ANALYSIS_LIMIT rows of each index), not a full scan of a million rows;
            # ANALYZE itself, as SQLite before 3.46 only optimizes the tables this connection used.
            connection.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
            connection.exec_driver_sql("ANALYZE")
            connection.exec_driver_sql("PRAGMA optimize")
        else:
            # This schema's tables only: a bare ANALYZE goes through every table of the
            # database, whatever else shares it (seconds to minutes before the first poll).
            names = connection.execute(_SCHEMA_TABLES).scalars().all()
            if names:
                connection.exec_driver_sql(f"ANALYZE {', '.join(names)}")
        connection.commit()


_SCHEMA_TABLES = text(
    "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables "
    "WHERE schemaname = current_schema()"
)
