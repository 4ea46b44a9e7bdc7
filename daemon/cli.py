"""The `caredesk` command line: parsing arguments, dispatching, exit codes.

Exit codes: 0 ok; 1 a user error with a message (a read-only command also says so
when the database does not exist or its schema is not this version's); 69
(EX_UNAVAILABLE) when the database cannot be reached; 75 (EX_TEMPFAIL) when
`ingest` could not store a mail (an MTA then keeps it and retries); 78 (EX_CONFIG)
for a configuration error; 141 when standard output was closed early (`| head`).
Each failure is one line on standard error, without a traceback. The commands
themselves live in `daemon.commands.*`.

`--config PATH` is taken before or after any (sub-)command; the last one given wins.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
from collections.abc import Sequence
from typing import Any

import psycopg
from sqlalchemy.exc import OperationalError

from daemon.commands import EX_TEMPFAIL, EX_UNAVAILABLE, EX_USAGE_ERROR, UserError
from daemon.commands import database as db_commands
from daemon.commands.parsers import calendar as calendar_commands
from daemon.commands.parsers import clock as clock_commands
from daemon.commands.parsers import health as health_commands
from daemon.commands.parsers import init as init_commands
from daemon.commands.parsers import outbox as outbox_commands
from daemon.commands.parsers import quarantine as quarantine_commands
from daemon.commands.parsers import recap as recap_commands
from daemon.commands.parsers import report as report_commands
from daemon.commands.parsers import rules as rules_commands
from daemon.commands.parsers import run as run_commands
from daemon.commands.parsers import tickets as ticket_commands
from daemon.config import EX_CONFIG, ConfigError
from daemon.store import db

__all__ = ["EX_BROKEN_PIPE", "EX_CONFIG", "EX_TEMPFAIL", "EX_UNAVAILABLE", "build_parser", "main"]

# What a shell reports for a process ended by SIGPIPE (128 + 13).
EX_BROKEN_PIPE = 141
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
    except ConfigError as error:
        print(f"caredesk: configuration error: {error}", file=sys.stderr)
        return EX_CONFIG
    except (UserError, db.DatabaseNotReady) as error:
        print(f"caredesk: {error}", file=sys.stderr)
        return EX_USAGE_ERROR
    except db.DatabaseUnavailable as error:
        print(f"caredesk: {error}", file=sys.stderr)
        return EX_UNAVAILABLE
    except (OperationalError, psycopg.OperationalError) as error:
        # The connection was lost after the first one succeeded (a connection
        # failure at the start is DatabaseUnavailable, which names the database).
        print(f"caredesk: database unreachable: {db.unreachable_reason(error)}", file=sys.stderr)
        return EX_UNAVAILABLE


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
    parser.add_argument("--version", action="version", version=f"caredesk {version()}")
    commands = parser.add_subparsers(title="commands")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def version() -> str:
    """The installed distribution's version (pyproject.toml's, in a checkout installed with -e)."""
    try:
        return importlib.metadata.version("caredesk")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"
