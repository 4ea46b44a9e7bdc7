"""Database faults: SQLite locked by another process, shorter and longer than the busy
timeout, and PostgreSQL restarted under a running daemon.

A locked or lost database is not the mail's fault: the daemon waits it out or
gives the batch up and tries again on the next poll; it never crashes, never
moves a mail out of INBOX whose row is not committed, never loses one.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.faults.harness import (
    Corpus,
    DaemonProcess,
    check_invariants,
    fault_config,
    folder_test_ids,
    id_of,
    settled,
    wait_until,
)
from tests.servers import Dovecot, SmtpSink
from tests.servers.postgres import PostgresServer

pytestmark = pytest.mark.integration

HOLD_SECONDS = 3.0


@contextmanager
def exclusive_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection holding `BEGIN EXCLUSIVE` on the database file (a long admin write)."""
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        yield connection
        connection.execute("ROLLBACK")
    finally:
        connection.close()


def committed_ids(connection: sqlite3.Connection) -> set[str | None]:
    """Test ids of the committed inbound rows, read through the lock holder's connection."""
    return {id_of(raw) for (raw,) in connection.execute("SELECT raw FROM inbound_message")}


def test_sqlite_locked_for_a_few_seconds_is_waited_out(
    tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    path = tmp_path / "caredesk.db"
    database = f"sqlite:///{path}"
    corpus = Corpus()
    config = fault_config(tmp_path, database_url=database, mailbox_url=dovecot.url, smtp_url=smtp_sink.url)

    with DaemonProcess(config) as daemon:
        daemon.wait_for("caredesk running")
        with exclusive_lock(path) as lock:
            released = time.monotonic() + HOLD_SECONDS
            dovecot.append_many(corpus.complaint_mails(20))
            # The daemon polls every second meanwhile; each poll waits in BEGIN IMMEDIATE.
            time.sleep(HOLD_SECONDS)
            assert committed_ids(lock) == set()
            assert dovecot.count("INBOX") == 20
            assert daemon.count("stored") == 0
        daemon.wait_for("stored 20 new")
        stored_after = time.monotonic() - released
        wait_until(lambda: settled(database, dovecot), 60, "all 20 mails finished")
        assert daemon.terminate() == 0

    check_invariants(corpus, database, dovecot, smtp_sink, final=True)
    # It waited, not failed: no error, no retry, just later.
    assert daemon.count("ERROR") == 0 and daemon.count("WARNING") == 0, daemon.output
    assert stored_after < 5


def test_sqlite_locked_beyond_the_busy_timeout_is_retried_on_the_next_poll(
    tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    """Busy timeout 1 s (`?timeout=1`), lock held 4 s in the middle of a 60-mail run."""
    path = tmp_path / "caredesk.db"
    database = f"sqlite:///{path}?timeout=1"
    corpus = Corpus()
    dovecot.append_many(corpus.complaint_mails(60), direct=True)
    config = fault_config(
        tmp_path, database_url=database, mailbox_url=dovecot.url, smtp_url=smtp_sink.url, batch_size=20
    )

    with DaemonProcess(config) as daemon:
        daemon.wait_for("stored 20 new")
        with exclusive_lock(path) as lock:
            daemon.wait_for("database is locked")
            time.sleep(4 - 1)
            folders = folder_test_ids(dovecot)
            early = set(folders["Processed"] + folders["Quarantine"]) - committed_ids(lock)
            assert not early, f"moved out of INBOX without a committed row: {early}"
            assert daemon.process.poll() is None
        wait_until(lambda: settled(database, dovecot), 60, "all 60 mails finished", daemon=daemon)
        assert daemon.process.poll() is None
        assert daemon.terminate() == 0

    check_invariants(corpus, database, dovecot, smtp_sink, final=True)


def test_postgresql_restarted_under_a_running_daemon(
    tmp_path: Path, private_postgresql: PostgresServer, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    """The server is the test's own cluster: restarting the shared one would cut every other test's
    connections (other pytest-xdist workers, other runs on the machine)."""
    database_url = private_postgresql.url
    corpus = Corpus()
    dovecot.append_many(corpus.complaint_mails(200), direct=True)
    config = fault_config(
        tmp_path, database_url=database_url, mailbox_url=dovecot.url, smtp_url=smtp_sink.url, batch_size=20
    )

    with DaemonProcess(config) as daemon:
        daemon.wait_for("stored 20 new", 2)
        private_postgresql.restart()
        line = daemon.wait_for("ERROR")
        wait_until(lambda: settled(database_url, dovecot), 120, "all 200 mails finished", daemon=daemon)
        assert daemon.process.poll() is None, "the daemon stopped"
        assert daemon.terminate() == 0

    assert "OperationalError" in line or "connection" in line, line
    check_invariants(corpus, database_url, dovecot, smtp_sink, final=True)
