"""`caredesk db backup FILE` and `caredesk db restore FILE`: the SQLite database, copied whole.

`backup` runs beside a running daemon (SQLite's online backup API,
`daemon.store.backup`); `restore` writes only a database file that does not
exist yet, so the daemon is stopped and the old file moved aside first. On
PostgreSQL both refuse and name the `pg_dump` / `pg_restore` command to use
(docs/operations.md, "Backup and restore").
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy.engine import make_url

from daemon.commands import UserError, configure
from daemon.store import backup as store_backup
from daemon.store import db

GUIDE = "docs/operations.md, 'Backup and restore'"


def cmd_db_backup(args: argparse.Namespace) -> int:
    config = configure(args)
    database = _sqlite_file(config.database_url, "backup")
    try:
        copied = store_backup.backup(database, args.file)
    except store_backup.BackupError as error:
        raise UserError(f"backup failed: {error}") from None
    print(f"caredesk: backed up {database} to {args.file}: {_describe(copied)}")
    return 0


def cmd_db_restore(args: argparse.Namespace) -> int:
    config = configure(args)
    database = _sqlite_file(config.database_url, "restore")
    try:
        copied = store_backup.restore(args.file, database)
    except store_backup.BackupError as error:
        raise UserError(f"restore failed: {error}") from None
    print(f"caredesk: restored {args.file} into {database}: {_describe(copied)}")
    print("next: start the daemon (it applies any newer migrations), then put back the mail that arrived")
    print(f"      after the backup ({GUIDE})")
    return 0


def _sqlite_file(url: str, what: str) -> Path:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        tool = "pg_dump --format=custom --file=FILE" if what == "backup" else "pg_restore --dbname=DB FILE"
        raise UserError(
            f"db {what} copies SQLite databases; {db.public_database_url(url)} is PostgreSQL: use {tool} "
            f"({GUIDE})"
        )
    if parsed.database in (None, "", ":memory:"):
        raise UserError(f"db {what}: database_url {url!r} names no database file")
    return Path(parsed.database)


def _describe(copied: store_backup.Copied) -> str:
    return (
        f"revision {copied.revision or 'none'}, {copied.tickets} tickets, {copied.inbound} incoming and "
        f"{copied.outbound} outgoing mails, {copied.size:,} bytes"
    )
