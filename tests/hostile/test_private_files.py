"""What caredesk creates (database, outbox, Maildir folders, the site) is private, whatever the umask."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.cli import main
from tests import mailfactory
from tests.clockpin import config_variables

NO_SENDER = (
    b"To: care@example.co.id\r\nSubject: tanpa pengirim\r\nMessage-ID: <nobody@x.test>\r\n\r\nhalo\r\n"
)


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def test_database_outbox_and_quarantine_are_private_under_umask_022(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_022: None
) -> None:
    for name in config_variables():
        monkeypatch.delenv(name)
    site = tmp_path / "site"
    assert main(["init", str(site)]) == 0
    monkeypatch.chdir(site)
    assert _mode(site) == "0o700"
    assert _mode(site / "caredesk.toml") == "0o600"
    new = site / "var" / "mail" / "new"
    assert _mode(new) == "0o700"  # made by init, so a complaint can be dropped in before the first run
    (new / "1700000000.M1P1.host").write_bytes(mailfactory.complaint(sender="budi@example.net"))
    (new / "1700000001.M2P1.host").write_bytes(NO_SENDER)

    assert main(["run", "--once"]) == 0

    var = site / "var"
    database = var / "caredesk.db"
    quarantine = var / "mail" / ".Quarantine"
    outbox = sorted((var / "outbox").glob("*.eml"))
    assert outbox, "the complaint's acknowledgement and notice"
    held = list((quarantine / "cur").iterdir())
    processed = list((var / "mail" / ".Processed" / "cur").iterdir())
    assert len(held) == 1 and len(processed) == 1
    folders = [var, var / "outbox", var / "mail" / "cur", var / "mail" / "tmp", quarantine]
    folders += [quarantine / sub for sub in ("new", "cur", "tmp")]
    assert {str(path): _mode(path) for path in folders} == {str(path): "0o700" for path in folders}
    files = [database, *outbox, *held, *processed]
    assert {str(path): _mode(path) for path in files} == {str(path): "0o600" for path in files}
    # SQLite makes its -wal and -shm files while a connection is open, with the database's mode.
    connection = sqlite3.connect(database)
    try:
        connection.execute("SELECT count(*) FROM ticket").fetchone()
        companions = [database.with_name(database.name + suffix) for suffix in ("-wal", "-shm")]
        assert {str(p): _mode(p) for p in companions} == {str(p): "0o600" for p in companions}
    finally:
        connection.close()
