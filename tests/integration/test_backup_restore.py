"""Backup and restore, as docs/operations.md tells an operator to do them, on a daemon's database.

The daemon makes tickets from a Maildir (outgoing mail as `.eml` files); the
database is backed up while a daemon is open on it and another connection
holds an uncommitted write (SQLite: `caredesk db backup`, the online backup
API; PostgreSQL: `pg_dump --schema`). More mail is then processed, the database
is lost, the backup restored into a fresh database (`caredesk db restore`;
`pg_restore` into a new database), and the mail of the Maildir's `Processed`
folder put back into `new/` for the daemon to read again. Nothing is lost or
doubled: the tickets and outgoing mail of the backup are as they were, the
next ticket number continues, and a mail that arrived after the backup becomes
one ticket with one acknowledgement.
"""

from __future__ import annotations

import secrets
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from daemon import clock
from daemon.app.service import Daemon
from daemon.cli import main
from daemon.config import load_config
from daemon.store.models import Setting
from tests import mailfactory
from tests.clockpin import config_variables
from tests.conftest import PG_ADMIN_DSN, PG_HOST, PG_PORT, PG_USER
from tests.integration.helpers import inbound, outbound, table, tickets, write_config

pytestmark = pytest.mark.integration

SENDERS = ("ani@example.net", "budi@example.net", "citra@example.net", "dewi@example.net")


class Clock:
    """The pinned time, moved on by hand between polls."""

    def __init__(self) -> None:
        self.now = clock.now()

    def __call__(self) -> Any:
        return self.now


@pytest.fixture
def site(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    for name in config_variables():
        monkeypatch.delenv(name)
    maildir = tmp_path / "mail"
    (maildir / "new").mkdir(parents=True)
    config = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=f"maildir:{maildir}",
        smtp_url=f"file:{tmp_path / 'outbox'}",
    )
    return {"folder": tmp_path, "maildir": maildir, "config": config, "url": database_url}


@pytest.fixture
def scratch_databases() -> Iterator[list[str]]:
    """Names of PostgreSQL databases a test created (a restore target), dropped afterwards."""
    made: list[str] = []
    yield made
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        for name in made:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _drop(maildir: Path, n: int) -> None:
    raw = mailfactory.complaint(n, sender=SENDERS[n - 1], name=f"Customer {n}")
    (maildir / "new" / f"{n}.eml").write_bytes(raw)


def _poll(config: Path, now: Clock) -> None:
    now.now += timedelta(minutes=1)
    with Daemon(load_config(config), clock=now) as daemon:
        daemon.run_once()


def _snapshot(url: str) -> dict[str, Any]:
    return {
        "tickets": [(t.reference, t.status, t.customer_email, t.department) for t in tickets(url)],
        "outbound": [(o.id, o.kind, o.recipient, o.state, o.message_id) for o in outbound(url)],
        "inbound": [(i.id, i.state, i.raw_sha256) for i in inbound(url)],
        "settings": {s.key: s.value for s in table(url, Setting)},
    }


def _schema_of(url: str) -> str:
    options = unquote(str(make_url(url).query["options"]))
    return options.removeprefix("-csearch_path=")


def _backup_while_written(site: dict[str, Any], target: Path) -> None:
    """Back up with a daemon open on the database and another writer's transaction uncommitted."""
    url = site["url"]
    with Daemon(load_config(site["config"]), clock=Clock()):
        if url.startswith("sqlite"):
            writer = sqlite3.connect(make_url(url).database or "", isolation_level=None)
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("INSERT INTO setting (key, value) VALUES ('during-backup', 'uncommitted')")
            try:
                assert main(["--config", str(site["config"]), "db", "backup", str(target)]) == 0
            finally:
                writer.execute("COMMIT")
                writer.close()
            return
        schema = _schema_of(url)
        with psycopg.connect(PG_ADMIN_DSN) as writer:
            writer.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
            writer.execute("INSERT INTO setting (key, value) VALUES ('during-backup', 'uncommitted')")
            dump = ["pg_dump", "--format=custom", f"--schema={schema}", f"--file={target}", PG_ADMIN_DSN]
            subprocess.run(dump, check=True, timeout=120)
            writer.commit()


def _restore(site: dict[str, Any], backup: Path, scratch: list[str]) -> str:
    """The database lost and restored from `backup`; the URL of the restored database."""
    url = site["url"]
    if url.startswith("sqlite"):
        database = Path(make_url(url).database or "")
        lost = site["folder"] / "lost"
        lost.mkdir()
        for path in database.parent.glob(f"{database.name}*"):
            shutil.move(path, lost / path.name)
        assert main(["--config", str(site["config"]), "db", "restore", str(backup)]) == 0
        return url
    fresh = f"r_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(fresh)))
    scratch.append(fresh)
    target = f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname={fresh}"
    # As docs/operations.md says: the register's search index needs pg_trgm in the new database
    # (a dump of caredesk's schema does not carry the extension, which lives in `public`).
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
    subprocess.run(["pg_restore", "--no-owner", f"--dbname={target}", str(backup)], check=True, timeout=120)
    restored = url.replace("/test?", f"/{fresh}?")
    text = site["config"].read_text().replace(url, restored)
    site["config"].write_text(text)
    return restored


def _put_back_processed_since(maildir: Path, backup: Path) -> list[str]:
    """What the operator does after a restore: mail processed since the backup goes back into `new/`.

    A Maildir file keeps its delivery time when it is moved (`find .Processed/cur -newer BACKUP`).
    """
    since = backup.stat().st_mtime_ns
    moved = []
    for path in sorted((maildir / ".Processed" / "cur").iterdir()):
        if path.stat().st_mtime_ns > since:
            name = path.name.split(":", 1)[0]
            path.rename(maildir / "new" / name)
            moved.append(name)
    return moved


def test_backup_restore_and_replay_lose_and_double_nothing(
    site: dict[str, Any], tmp_path: Path, scratch_databases: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    now = Clock()
    _drop(site["maildir"], 1)
    _drop(site["maildir"], 2)
    _poll(site["config"], now)
    at_backup = _snapshot(site["url"])
    assert [t[0] for t in at_backup["tickets"]] == ["CC-2026-000001", "CC-2026-000002"]
    assert {o[3] for o in at_backup["outbound"]} == {"sent"}

    backup = tmp_path / "backups" / "caredesk.backup"
    if site["url"].startswith("postgresql"):
        backup.parent.mkdir()
    _backup_while_written(site, backup)
    if site["url"].startswith("sqlite"):
        assert backup.stat().st_mode & 0o077 == 0  # `caredesk db backup` writes it private

    # After the backup: mail 3 becomes a ticket, then the database is lost.
    _drop(site["maildir"], 3)
    _poll(site["config"], now)
    assert [t.reference for t in tickets(site["url"])][-1] == "CC-2026-000003"
    restored = _restore(site, backup, scratch_databases)
    # Mail 4 arrives while the desk is being restored.
    _drop(site["maildir"], 4)

    assert _snapshot(restored) == at_backup  # the uncommitted write is not in the backup either
    assert _put_back_processed_since(site["maildir"], backup) == ["3.eml"]
    _poll(site["config"], now)
    # A mail the backup already holds, handed over again, is a duplicate: no second ticket, no answer.
    again = site["maildir"] / ".Processed" / "cur" / "2.eml:2,"
    assert main(["--config", str(site["config"]), "ingest", str(again)]) == 0
    _poll(site["config"], now)

    after = tickets(restored)
    assert [t.reference for t in after] == [f"CC-2026-00000{n}" for n in (1, 2, 3, 4)]
    assert [t.customer_email for t in after] == list(SENDERS)
    rows = outbound(restored)
    assert [r[:4] for r in _snapshot(restored)["outbound"][: len(at_backup["outbound"])]] == [
        r[:4] for r in at_backup["outbound"]
    ]
    acks = [r.recipient for r in rows if r.kind == "ack"]
    assert sorted(acks) == sorted(SENDERS)  # one acknowledgement each, none twice
    assert {r.state for r in rows} == {"sent"}
    states = sorted(i.state for i in inbound(restored))
    assert states == ["duplicate", "processed", "processed", "processed", "processed"]
    assert list((site["maildir"] / "new").iterdir()) == []
    assert _snapshot(restored)["settings"]["signing-key"] == at_backup["settings"]["signing-key"]


def test_db_backup_refuses_an_existing_file_and_restore_a_live_database(
    site: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(site["config"])
    with Daemon(load_config(site["config"]), clock=Clock()):
        pass
    capsys.readouterr()
    taken = tmp_path / "taken.backup"
    taken.write_text("keep me")
    code = main(["--config", config, "db", "backup", str(taken)])
    err = capsys.readouterr().err
    if site["url"].startswith("postgresql"):
        assert code == 1
        assert "is PostgreSQL: use pg_dump --format=custom --file=FILE" in err
        assert main(["--config", config, "db", "restore", str(taken)]) == 1
        assert "pg_restore --dbname=DB FILE" in capsys.readouterr().err
        return
    assert code == 1 and "not overwriting" in err and taken.read_text() == "keep me"
    good = tmp_path / "good.backup"
    assert main(["--config", config, "db", "backup", str(good)]) == 0
    assert main(["--config", config, "db", "restore", str(good)]) == 1
    assert "not restoring over" in capsys.readouterr().err
    assert main(["--config", config, "db", "restore", str(taken)]) == 1
    assert "is not a readable SQLite database" in capsys.readouterr().err
