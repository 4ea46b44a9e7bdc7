"""Backing up and restoring a SQLite database with SQLite's online backup API.

`backup` copies the configured database into a new file while the daemon runs:
`sqlite3.Connection.backup` copies every page in one step inside a read
transaction, which in WAL mode neither waits for the daemon's writes nor holds
them up, and the copy is the database as of that transaction's start (a
transaction still open elsewhere is not in it). The copy is checked
(`PRAGMA integrity_check`, a caredesk schema) before it is reported.

`restore` copies such a file into a database file that does not exist yet
(never over a live database), after the same checks, and refuses a backup made
by a newer caredesk. Both files are 0600 (`daemon.private`). PostgreSQL is
backed up with its own tools (`pg_dump`, `pg_restore`; docs/operations.md).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from daemon import private
from daemon.store import migrations

__all__ = ["BackupError", "Copied", "backup", "restore"]


class BackupError(Exception):
    """What stopped a backup or restore, in one line for an operator; nothing was left half-written."""


@dataclass(frozen=True)
class Copied:
    """What a backup or restore copied: the schema revision and the counts an operator checks."""

    revision: str | None
    tickets: int
    inbound: int
    outbound: int
    size: int


def backup(database: Path, target: Path) -> Copied:
    """Copy the SQLite database `database` into the new file `target`, online."""
    if not database.exists():
        raise BackupError(f"database file {database} does not exist")
    _refuse_existing(target)
    with _read_only(database) as source:
        _copy(source, target)
    return _checked(target, remove_on_error=True)


def restore(source_file: Path, database: Path) -> Copied:
    """Copy the backup `source_file` into the new database file `database`."""
    if not source_file.exists():
        raise BackupError(f"backup file {source_file} does not exist")
    copied = _checked(source_file, remove_on_error=False)
    head = migrations.head()
    known = {script.revision for script in migrations.scripts().walk_revisions()}
    if copied.revision is not None and copied.revision not in known:
        raise BackupError(
            f"{source_file} is at revision {copied.revision}, which this caredesk (head {head}) does not "
            "know: restore it with the caredesk that made it"
        )
    _refuse_existing(database, live=True)
    with _read_only(source_file) as source:
        _copy(source, database)
    return _checked(database, remove_on_error=True)


def _refuse_existing(path: Path, *, live: bool = False) -> None:
    in_the_way = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
    if not in_the_way:
        return
    names = ", ".join(str(p) for p in in_the_way)
    if live:
        raise BackupError(
            f"not restoring over {names}: stop the daemon and move the old database (and its -wal and "
            "-shm files) aside first"
        )
    raise BackupError(f"not overwriting {names}: name a new file")


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """`path` opened read-only (`mode=ro`: never created, its journal mode left alone)."""
    try:
        connection = sqlite3.connect(f"file:{quote(str(path.resolve()), safe='/')}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise BackupError(f"cannot open {path}: {error}") from None
    try:
        connection.execute("PRAGMA busy_timeout=30000")
        yield connection
    finally:
        connection.close()


def _copy(source: sqlite3.Connection, target: Path) -> None:
    try:
        private.private_directory(target.parent)
        private.create_private_file(target)
    except OSError as error:
        raise BackupError(f"cannot write {target}: {error.strerror}") from None
    destination = sqlite3.connect(target)
    try:
        # pages=-1: every page in one step, one consistent snapshot of the source.
        source.backup(destination, pages=-1)
    except sqlite3.Error as error:
        destination.close()
        target.unlink(missing_ok=True)
        raise BackupError(f"copying into {target} failed: {error}") from None
    destination.close()


def _checked(path: Path, *, remove_on_error: bool) -> Copied:
    """The counts of the caredesk database in `path`; BackupError when it is damaged or not one."""
    try:
        with _read_only(path) as connection:
            return _read_counts(connection, path)
    except (BackupError, sqlite3.Error) as error:
        if remove_on_error:
            path.unlink(missing_ok=True)
        if isinstance(error, BackupError):
            raise
        raise BackupError(f"{path} is not a readable SQLite database: {error}") from None


def _read_counts(connection: sqlite3.Connection, path: Path) -> Copied:
    [result] = connection.execute("PRAGMA integrity_check").fetchone()
    if result != "ok":
        raise BackupError(f"{path} failed SQLite's integrity check: {result}")
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"ticket", "inbound_message", "outbound_message"} <= tables:
        raise BackupError(f"{path} holds no caredesk database")
    revision = None
    if "alembic_version" in tables:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = row[0] if row else None

    def count(table: str) -> int:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    return Copied(
        revision=revision,
        tickets=count("ticket"),
        inbound=count("inbound_message"),
        outbound=count("outbound_message"),
        size=path.stat().st_size,
    )
