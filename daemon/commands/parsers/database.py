"""The arguments of `caredesk db upgrade|status|backup|restore`.

The commands are `daemon.commands.database` (upgrade, status) and
`daemon.commands.backup` (backup, restore).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from daemon.commands.parsers import Lazy


def register(commands: Any) -> None:
    group = commands.add_parser("db", help="the database schema").add_subparsers(title="db")
    upgrade = group.add_parser("upgrade", help="apply the migrations the database is missing")
    upgrade.set_defaults(handler=Lazy("database", "cmd_db_upgrade"))
    status = group.add_parser("status", help="the database's schema revision and the migrations pending")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=Lazy("database", "cmd_db_status"))
    make = group.add_parser("backup", help="copy the SQLite database into FILE, also while the daemon runs")
    make.add_argument("file", metavar="FILE", type=Path)
    make.set_defaults(handler=Lazy("backup", "cmd_db_backup"))
    back = group.add_parser("restore", help="copy a backup FILE into the configured (new) SQLite database")
    back.add_argument("file", metavar="FILE", type=Path)
    back.set_defaults(handler=Lazy("backup", "cmd_db_restore"))
