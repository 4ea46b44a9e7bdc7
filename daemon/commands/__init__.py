"""Command-line commands, one module per command group; shared helpers here.

The arguments of each group are `daemon.commands.parsers.<group>.register(commands)`,
which names its handlers with `parsers.Lazy`: a command's module is imported only when
that command runs. This package and the parsers import only the standard library, so
that building the parser, and `caredesk --help`, stay cheap.

A command that only looks opens the database with `open_engine(config)`: read-only,
never creating a database or migrating one, and refusing a schema that is not at
this version's head. A command that writes uses `open_engine_for_writing(config)`,
which migrates first (as the daemon does when it starts).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Engine

    from daemon.config import Config

EX_USAGE_ERROR = 1
# sysexits.h: the database (a service the command needs) cannot be reached now.
EX_UNAVAILABLE = 69
EX_TEMPFAIL = 75


class UserError(Exception):
    """A mistake in what was asked; printed without a traceback, exit code 1."""


def configure(args: argparse.Namespace) -> Config:
    """Load the configuration named on the command line and set up logging from it.

    The database URL is checked here too, so that a driver caredesk does not
    support is a configuration error before any command fetches or migrates. A
    URL the plain reader opens (`daemon.store.rawread.handles`) is one that
    `db.check_url` accepts, and needs no SQLAlchemy to say so: `tickets list`
    and `tickets show` never import it.
    """
    import logging

    from daemon import logfields
    from daemon.config import load_config
    from daemon.store import rawread

    config = load_config(args.config)
    if not rawread.handles(config.database_url):
        from daemon.store import db

        db.check_url(config.database_url)
    logfields.configure(config.log_level, config.log_format)
    # mail-parser logs a line for every MIME part it does not know; that is not
    # news for an operator, failures reach our own log through the parse stage.
    logging.getLogger("mailparser").setLevel(logging.ERROR)
    return config


@contextlib.contextmanager
def open_engine(config: Config, *, writable: bool = False) -> Iterator[Engine]:
    """The configured database, disposed of afterwards; read-only unless `writable`.

    Read-only (`db.open_read_only`): no file is created, nothing is migrated, and
    a missing or outdated schema is `db.DatabaseNotReady`. Writable
    (`db.open_for_writing`): migrated to head first. Either way an unreachable
    database is `db.DatabaseUnavailable`; `daemon.cli.main` turns both into one line.
    """
    from daemon.store import db

    url = config.database_url
    engine = db.open_for_writing(url) if writable else db.open_read_only(url)
    try:
        yield engine
    finally:
        engine.dispose()


def open_engine_for_writing(config: Config) -> contextlib.AbstractContextManager[Engine]:
    """`open_engine(config, writable=True)`: for commands that change the database."""
    return open_engine(config, writable=True)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def who() -> str:
    """The operating-system user running the command, for the records of what they did."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
