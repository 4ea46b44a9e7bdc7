"""Database engine set-up for SQLite (embedded default) and PostgreSQL (production).

SQLite runs in WAL mode with `synchronous=FULL`: with NORMAL a committed
transaction can roll back after a power loss, after we already moved the mail
on the IMAP server. Every SQLite transaction starts with `BEGIN IMMEDIATE` so two
processes never deadlock upgrading a read lock, and a busy timeout makes a locked
database something we wait out, not an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlmodel import Session, SQLModel

from daemon import models  # noqa: F401 - registers the tables on SQLModel.metadata

SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str) -> Engine:
    """An engine for `url`, with the durability settings this daemon relies on."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, future=True)


def _sqlite_engine(url: str) -> Engine:
    database = url.partition(":///")[2]
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin, so that
        # SAVEPOINTs work (pysqlite's own transaction handling breaks them).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_schema(engine: Engine) -> None:
    """Create any missing tables. Idempotent; safe with several daemons starting at once."""
    SQLModel.metadata.create_all(engine)


def session(engine: Engine) -> Session:
    # Objects stay usable after commit: callers read ids and fields they just wrote.
    return Session(engine, expire_on_commit=False)
