"""`caredesk db upgrade|status`: the database schema's migrations (`backup|restore`: `backup.py`).

The arguments are `daemon.commands.parsers.database`.

(Named `database`, not `db`: `daemon.commands` already binds `db` to `daemon.store.db`,
which a submodule of that name would shadow.)

`upgrade` applies what is missing, under the same lock the daemon takes when it
upgrades at start; `status` only looks, through a read-only connection, so it is
safe next to a running daemon: it creates no database file and migrates nothing,
and reports an empty, outdated or not yet created database instead of refusing it.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from daemon.commands import configure
from daemon.store import db, migrations
from daemon.store.db import public_database_url


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    config = configure(args)
    engine = db.make_engine(config.database_url)
    try:
        db.check_reachable(engine, config.database_url)
        result = db.upgrade(engine)
    finally:
        engine.dispose()
    print(f"database: {public_database_url(config.database_url)}")
    print(f"before:   {_describe(result.before)}")
    if result.stamped:
        print(f"stamped:  {migrations.BASELINE} (its tables were made before migrations and match it)")
    for revision in result.applied:
        print(f"applied:  {revision.id}  {revision.message}")
    print(f"after:    {_describe(result.after)} (head{'' if result.applied else ', nothing to do'})")
    return 0


def cmd_db_status(args: argparse.Namespace) -> int:
    config = configure(args)
    status = db.read_only_status(config.database_url)
    if args.json:
        print(json.dumps(_as_json(config.database_url, status), indent=2))
        return 0
    print(f"database: {public_database_url(config.database_url)}")
    if status.unversioned_tables:
        current = f"none (tables made before migrations; `caredesk db upgrade` stamps {migrations.BASELINE})"
    else:
        current = _describe(status.current)
    print(f"current:  {current}")
    print(f"head:     {status.head}")
    if not status.pending:
        print("up to date")
        return 0
    print(f"pending:  {len(status.pending)}")
    for revision in status.pending:
        print(f"  {revision.id}  {revision.message}")
    print("`caredesk db upgrade` applies them (the daemon also does when it starts)")
    return 0


def _describe(revision: str | None) -> str:
    return revision or "none (empty database)"


def _as_json(url: str, status: migrations.Status) -> dict[str, Any]:
    return {
        "database": public_database_url(url),
        "current": status.current,
        "head": status.head,
        "pending": [{"revision": rev.id, "message": rev.message} for rev in status.pending],
        "unversioned_tables": status.unversioned_tables,
    }
