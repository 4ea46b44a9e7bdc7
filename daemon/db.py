"""Database engine set-up for SQLite (embedded default) and PostgreSQL (production).

SQLite runs in WAL mode with `synchronous=FULL`: with NORMAL a committed
transaction can roll back after a power loss, after we already moved the mail
on the IMAP server. Every SQLite transaction starts with `BEGIN IMMEDIATE` so two
processes never deadlock upgrading a read lock, and a busy timeout makes a locked
database something we wait out, not an error.

The schema is made and changed only by migrations (`daemon.migrations`): `upgrade`
applies the missing ones, serialised so that several daemons starting at once
never race; the daemon and the commands call it before they touch the database.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from daemon import migrations, models  # noqa: F401 - models registers the tables on SQLModel.metadata
from daemon.migrations import SchemaError, Upgrade

__all__ = ["SchemaError", "Upgrade", "create_schema", "make_engine", "session", "upgrade"]

log = logging.getLogger("caredesk.db")

SQLITE_BUSY_TIMEOUT_MS = 30_000
# The PostgreSQL advisory lock held while migrating: the bytes of "caredesk".
MIGRATION_LOCK_KEY = int.from_bytes(b"caredesk", "big")


def make_engine(url: str) -> Engine:
    """An engine for `url`, with the durability settings this daemon relies on."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, future=True)


def _sqlite_engine(url: str) -> Engine:
    database = url.partition(":///")[2]
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    busy_ms = _busy_timeout_ms(url)
    engine = create_engine(url, connect_args={"timeout": busy_ms / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin, so that
        # SAVEPOINTs work (pysqlite's own transaction handling breaks them).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _use_wal(cursor, busy_ms)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

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
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        result = migrations.upgrade(connection)
    if result.stamped:
        log.info("database made before migrations adopted at %s", migrations.BASELINE)
    for revision in result.applied:
        log.info("database migration %s applied: %s", revision.id, revision.message)
    return result


def create_schema(engine: Engine) -> None:
    """`upgrade`, under the name the tests and scripts know."""
    upgrade(engine)


def session(engine: Engine) -> Session:
    # Objects stay usable after commit: callers read ids and fields they just wrote.
    return Session(engine, expire_on_commit=False)
