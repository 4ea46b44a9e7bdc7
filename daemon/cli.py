"""The `caredesk` command line: parsing arguments, dispatching, exit codes.

Exit codes: 0 ok; 1 a user error with a message (a read-only command also says so
when the database does not exist or its schema is not this version's); 69
(EX_UNAVAILABLE) when the database cannot be reached, or the public holidays
cannot be read (`daemon.sla.public_days`); 75 (EX_TEMPFAIL) when
`ingest` could not store a mail (an MTA then keeps it and retries); 78 (EX_CONFIG)
for a configuration error; 141 when standard output was closed early (`| head`).
Each failure is one line on standard error, without a traceback. The commands
themselves live in `daemon.commands.*`.

`--config PATH` is taken before or after any (sub-)command; the last one given wins.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from daemon.commands import EX_TEMPFAIL, EX_UNAVAILABLE, EX_USAGE_ERROR, UserError
from daemon.commands.parsers import auth as auth_commands
from daemon.commands.parsers import calendar as calendar_commands
from daemon.commands.parsers import clock as clock_commands
from daemon.commands.parsers import database as db_commands
from daemon.commands.parsers import health as health_commands
from daemon.commands.parsers import init as init_commands
from daemon.commands.parsers import outbox as outbox_commands
from daemon.commands.parsers import quarantine as quarantine_commands
from daemon.commands.parsers import recap as recap_commands
from daemon.commands.parsers import report as report_commands
from daemon.commands.parsers import rules as rules_commands
from daemon.commands.parsers import run as run_commands
from daemon.commands.parsers import tickets as ticket_commands
from daemon.commands.parsers import web as web_commands

__all__ = ["EX_BROKEN_PIPE", "EX_CONFIG", "EX_TEMPFAIL", "EX_UNAVAILABLE", "build_parser", "main"]

# What a shell reports for a process ended by SIGPIPE (128 + 13).
EX_BROKEN_PIPE = 141
EX_CONFIG = 78
"""`daemon.config.EX_CONFIG` (sysexits.h), named here so that parsing needs no configuration code."""
CONFIG_HELP = "path to caredesk.toml (default: $CAREDESK_CONFIG, ./caredesk.toml or embedded defaults)"

COMMAND_GROUPS = (
    init_commands,
    run_commands,
    ticket_commands,
    rules_commands,
    quarantine_commands,
    outbox_commands,
    calendar_commands,
    recap_commands,
    report_commands,
    clock_commands,
    db_commands,
    health_commands,
    auth_commands,
    web_commands,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        # `caredesk tickets` alone: the help of the group named, not of the whole program.
        args.help_parser.print_help()
        return EX_USAGE_ERROR
    try:
        code = int(handler(args))
        # Flushed here so that a reader gone away (`| head -1`) is noticed below.
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _stdout_closed()
    except Exception as error:
        answer = _failure(error)
        if answer is None:
            raise
        message, code = answer
        print(f"caredesk: {message}", file=sys.stderr)
        return code


def _raised(error: BaseException, module: str, name: str) -> bool:
    """Whether `error` is `module.name`, without importing `module`.

    A command can only raise a class whose module it imported: one that is not
    loaded was not raised, and looking it up here keeps the libraries of the
    database and the configuration out of the commands that use neither.
    """
    kind = getattr(sys.modules.get(module), name, None)
    return isinstance(kind, type) and isinstance(error, kind)


def _failure(error: Exception) -> tuple[str, int] | None:
    """The one line and the exit code for a failure the command line reports; None for a bug."""
    if _raised(error, "daemon.config.schema", "ConfigError"):
        return f"configuration error: {error}", EX_CONFIG
    if isinstance(error, UserError) or _raised(error, "daemon.store.db", "DatabaseNotReady"):
        return str(error), EX_USAGE_ERROR
    if _raised(error, "daemon.store.db", "DatabaseUnavailable") or _raised(
        error, "daemon.sla.public_days", "PublicHolidaysUnavailable"
    ):
        return str(error), EX_UNAVAILABLE
    if any(_raised(error, module, "OperationalError") for module in ("sqlalchemy.exc", "psycopg", "sqlite3")):
        # The connection was lost after the first one succeeded, or SQLite stayed locked past its
        # timeout (a connection failure at the start is DatabaseUnavailable, which names the database;
        # `tickets list` and `show` read through the plain driver, `daemon.store.rawread`).
        from daemon.store import db

        return f"database unreachable: {db.unreachable_reason(error)}", EX_UNAVAILABLE
    return None


def _stdout_closed() -> int:
    """Standard output's reader went away: exit quietly, as the Python docs recommend.

    Python flushes standard output once more at exit and would print an
    "Exception ignored" message when that fails too; pointing the descriptor at
    /dev/null makes that flush succeed.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        # Standard output is no file descriptor (a test's capture): nothing to flush at exit.
        pass
    return EX_BROKEN_PIPE


class _Parser(argparse.ArgumentParser):
    """A parser for the program and every (sub-)command: each takes `--config`.

    Below the top level `--config` defaults to SUPPRESS, so that a sub-command
    without it leaves the value given before it alone, and one given later
    replaces it. Each parser also names itself as the one whose help a group
    without a sub-command prints: the deepest parser reached sets it last.
    Sub-command parsers are made by `add_subparsers`, which uses the class of the
    parser it is called on, so all of them are `_Parser`s.
    """

    def __init__(self, *args: Any, config_default: Any = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_argument("--config", metavar="PATH", default=config_default, help=CONFIG_HELP)
        self.set_defaults(help_parser=self)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="caredesk", description="Email-driven complaint ticketing.", config_default=None)
    parser.add_argument("--version", action=_VersionAction, help="show program's version number and exit")
    commands = parser.add_subparsers(title="commands")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


class _VersionAction(argparse.Action):
    """`--version`: looks the version up only when asked (`importlib.metadata` is slow to import)."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(f"caredesk {version()}")
        parser.exit()


def version() -> str:
    """The installed distribution's version (pyproject.toml's, in a checkout installed with -e)."""
    import importlib.metadata

    try:
        return importlib.metadata.version("caredesk")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"
