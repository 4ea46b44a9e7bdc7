"""`caredesk ingest -` as an MTA's pipe runs it: the exit code says whether the mail is stored.

Once a mail is stored the MTA must forget it (exit 0), whatever happens to its
processing afterwards: the daemon retries or quarantines it. Bouncing it would
tell a customer their complaint never arrived while it waits in the database.

Processing is made to fail for real, by the database: a trigger on `ticket`
that ends the connection (PostgreSQL: `pg_terminate_backend`, what a database
restart does to a connection in use) or aborts the insert (SQLite). The mail is
piped on standard input of a `python -m daemon` process, as Postfix or Exim run it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from daemon.cli import main
from tests import mailfactory
from tests.clockpin import config_variables, daemon_environment
from tests.integration.helpers import PROJECT, write_config

pytestmark = pytest.mark.integration

POSTGRES_TRIGGER = (
    """
    CREATE FUNCTION fail_processing() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_terminate_backend(pg_backend_pid());
        RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER fail_processing BEFORE INSERT ON ticket FOR EACH ROW EXECUTE FUNCTION fail_processing()",
)
SQLITE_TRIGGER = (
    "CREATE TRIGGER fail_processing BEFORE INSERT ON ticket BEGIN SELECT RAISE(ABORT, 'disk trouble'); END",
)


@pytest.fixture(autouse=True)
def _no_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the config file written by each test configures caredesk (the clock pin stays)."""
    for name in config_variables():
        monkeypatch.delenv(name)


def pipe(config: Path, mail: bytes) -> subprocess.CompletedProcess[bytes]:
    """`caredesk --config CONFIG ingest -` with `mail` on standard input, in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "daemon", "--config", str(config), "ingest", "-"],
        input=mail,
        env=daemon_environment() | {"CAREDESK_LOG_LEVEL": "WARNING"},
        cwd=PROJECT,
        capture_output=True,
        timeout=120,
    )


def rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def run_sql(url: str, *statements: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def test_ingest_exits_0_once_stored_when_processing_fails_after(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=f"maildir:{tmp_path / 'mail'}",
        smtp_url=f"file:{tmp_path / 'outbox'}",
    )
    assert main(["--config", str(config), "db", "upgrade"]) == 0
    postgres = database_url.startswith("postgresql")
    run_sql(database_url, *(POSTGRES_TRIGGER if postgres else SQLITE_TRIGGER))

    done = pipe(config, mailfactory.complaint(subject="Printer rusak"))

    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr
    assert "stored as inbound #1" in stderr and "the daemon processes it again" in stderr
    [(state, raw)] = rows(database_url, "SELECT state, raw FROM inbound_message")
    assert state in {"stored", "retry"}
    assert isinstance(raw, bytes | memoryview)
    assert b"Printer rusak" in bytes(raw)
    assert rows(database_url, "SELECT id FROM ticket") == []

    # The database is well again: the daemon's next poll makes the ticket.
    run_sql(database_url, "DROP TRIGGER fail_processing" + (" ON ticket" if postgres else ""))
    capsys.readouterr()
    assert main(["--config", str(config), "run", "--once"]) == 0
    assert rows(database_url, "SELECT state FROM inbound_message") == [("processed",)]
    [(reference,)] = rows(database_url, "SELECT reference FROM ticket")
    assert str(reference).startswith("CC-2026-")


def test_ingest_exits_0_for_a_mail_over_the_limit_it_stored(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        database_url=f"sqlite:///{tmp_path}/caredesk.db",
        mailbox_url=f"maildir:{tmp_path / 'mail'}",
        smtp_url=f"file:{tmp_path / 'outbox'}",
    )
    written = config.read_text(encoding="utf-8")
    limited = written.replace("[mailbox]\n", "[mailbox]\nmax_message_bytes = 2000\n")
    config.write_text(limited, encoding="utf-8")
    mail = mailfactory.complaint(subject="Foto kerusakan", body="x" * 5000)

    done = pipe(config, mail)

    assert done.returncode == 0, done.stderr.decode()
    [(state, stage)] = rows(f"sqlite:///{tmp_path}/caredesk.db", "SELECT state, stage FROM inbound_message")
    assert (state, stage) == ("quarantined", "fetch")


def test_ingest_names_the_stored_row_and_a_copy_already_stored(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        database_url=f"sqlite:///{tmp_path}/caredesk.db",
        mailbox_url=f"maildir:{tmp_path / 'mail'}",
        smtp_url=f"file:{tmp_path / 'outbox'}",
    )
    mail = mailfactory.complaint(subject="Tagihan ganda")

    first, again = pipe(config, mail), pipe(config, mail)

    assert (first.returncode, again.returncode) == (0, 0), again.stderr.decode()
    assert first.stdout.decode().strip() == "caredesk: processed 1, sent 2 (inbound #1)"
    assert again.stdout.decode().strip() == "caredesk: already stored 1 (inbound #1)"
