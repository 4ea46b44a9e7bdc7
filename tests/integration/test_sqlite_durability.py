"""SQLite commits without waiting for the disk, and `sync_to_disk` makes them durable before a move.

`synchronous=NORMAL` in WAL mode: a commit survives a crash of the process, and
the intake calls `db.sync_to_disk` (one fsync of the WAL) before it moves stored
mail out of the mailbox. Real SQLite files.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from daemon.store import db

NORMAL = 1
"""`PRAGMA synchronous` answers 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA."""


def test_commits_do_not_wait_for_the_disk_in_wal_mode(tmp_path: Path) -> None:
    engine = db.open_for_writing(f"sqlite:///{tmp_path / 'caredesk.db'}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA synchronous")).scalar() == NORMAL
    finally:
        engine.dispose()


def test_sync_to_disk_flushes_the_wal_of_a_file_and_is_a_no_op_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "caredesk.db"
    engine = db.open_for_writing(f"sqlite:///{path}")
    memory = db.open_for_writing("sqlite://")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE probe (n INTEGER)"))
            connection.execute(text("INSERT INTO probe VALUES (1)"))
        assert Path(f"{path}-wal").stat().st_size > 0
        db.sync_to_disk(engine)
        db.sync_to_disk(memory)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT n FROM probe")).scalar() == 1
    finally:
        engine.dispose()
        memory.dispose()


def _read_elsewhere(path: Path) -> list[int]:
    """The probe's rows as another process sees them (it opens, reads and closes the database)."""
    script = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
        "print(','.join(str(r[0]) for r in c.execute('SELECT n FROM probe ORDER BY n'))); c.close()"
    )
    found = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=30
    )
    assert found.returncode == 0, found.stderr
    return [int(n) for n in found.stdout.strip().split(",") if n]


def test_after_sync_to_disk_other_processes_still_see_every_commit(tmp_path: Path) -> None:
    # Syncing by opening and closing the files ourselves would drop this process's locks on
    # them: the next process to close the database would then reset the WAL under us.
    path = tmp_path / "caredesk.db"
    engine = db.open_for_writing(f"sqlite:///{path}")
    try:
        held = engine.raw_connection()  # a connection of the daemon's pool, open throughout
        try:
            with engine.begin() as connection:
                connection.execute(text("CREATE TABLE probe (n INTEGER)"))
                connection.execute(text("INSERT INTO probe VALUES (1)"))
            db.sync_to_disk(engine)
            assert _read_elsewhere(path) == [1]
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO probe VALUES (2)"))
            assert _read_elsewhere(path) == [1, 2]
            with engine.connect() as connection:
                assert list(connection.execute(text("SELECT n FROM probe ORDER BY n")).scalars()) == [1, 2]
        finally:
            held.close()
    finally:
        engine.dispose()
