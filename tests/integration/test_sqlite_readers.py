"""SQLite: readers never wait for the daemon's writer, and the WAL does not grow for ever.

Every write transaction begins IMMEDIATE (no deadlock upgrading a read lock);
the read-only commands (`open_read_only`) and the loop's reads (`db.read_session`)
begin deferred, so in WAL mode they read the last committed state while another
connection holds the write lock. The hourly upkeep checkpoints and truncates the
WAL; the statistics are refreshed after migrations and daily.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError

from daemon.app.upkeep import Upkeep
from daemon.store import db
from daemon.store.models import Setting
from tests.clockpin import config_variables
from tests.integration.helpers import run_cli, write_config
from tests.integration.seeding import seeded, ticket

pytestmark = pytest.mark.integration


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "caredesk.db"
    with seeded(f"sqlite:///{path}") as session:
        session.add(ticket(7))
    return path


@pytest.fixture
def writer(database: Path) -> Iterator[sqlite3.Connection]:
    """Another connection holding the write lock, a change not yet committed."""
    connection = sqlite3.connect(database, isolation_level=None, timeout=0.1)
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("INSERT INTO setting (key, value) VALUES ('held', 'by another process')")
    try:
        yield connection
    finally:
        connection.execute("ROLLBACK")
        connection.close()


def test_tickets_show_and_list_run_while_another_connection_writes(
    tmp_path: Path, database: Path, writer: sqlite3.Connection, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in config_variables():
        monkeypatch.delenv(name)
    # One second of busy wait at most: a command that wanted the write lock would fail.
    config = write_config(
        tmp_path,
        database_url=f"sqlite:///{database}?timeout=1",
        mailbox_url=f"maildir:{tmp_path / 'mail'}",
        smtp_url=f"file:{tmp_path / 'outbox'}",
    )
    capsys.readouterr()
    assert run_cli("--config", str(config), "tickets", "show", "CC-2026-000007") == 0
    assert "CC-2026-000007" in capsys.readouterr().out
    assert run_cli("--config", str(config), "tickets", "list") == 0
    assert "CC-2026-000007" in capsys.readouterr().out


def test_the_read_only_schema_check_writes_nothing_and_waits_for_no_one(
    database: Path, writer: sqlite3.Connection
) -> None:
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement.strip().upper())

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        engine = db.open_read_only(f"sqlite:///{database}?timeout=1")
        engine.dispose()
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert statements, "the schema revision was read"
    assert not [s for s in statements if s.startswith(("BEGIN", "INSERT", "UPDATE", "DELETE", "CREATE"))]


def test_the_loop_reads_in_deferred_transactions_and_writes_in_immediate_ones(
    database: Path, writer: sqlite3.Connection
) -> None:
    engine = db.make_engine(f"sqlite:///{database}?timeout=0.2")
    try:
        with db.read_session(engine) as session:
            # The last committed state: the writer's row is not there yet.
            assert session.get(Setting, "held") is None
            assert session.execute(text("SELECT count(*) FROM ticket")).scalar() == 1
        with pytest.raises(OperationalError, match="locked"), db.session(engine) as session:
            session.execute(text("SELECT count(*) FROM ticket"))
    finally:
        engine.dispose()


def test_the_upkeep_checkpoint_truncates_the_wal(database: Path) -> None:
    engine = db.make_engine(f"sqlite:///{database}")
    wal = database.with_name(database.name + "-wal")
    try:
        with db.session(engine) as session:
            session.add_all(Setting(key=f"filler-{n}", value="x" * 2000) for n in range(500))
            session.commit()
        assert wal.stat().st_size > 500_000
        assert Upkeep(engine).checkpoint()
        assert wal.stat().st_size == 0
        with db.read_session(engine) as session:
            assert session.get(Setting, "filler-499") is not None
        assert Upkeep(engine).optimize()
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_size_limit").scalar() == db.WAL_SIZE_LIMIT
    finally:
        engine.dispose()
