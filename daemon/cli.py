"""The `caredesk` command line: parsing arguments, dispatching, exit codes.

Exit codes: 0 ok, 1 a user error with a message, 75 (EX_TEMPFAIL) when `ingest`
could not store a mail (an MTA then keeps it and retries), 78 (EX_CONFIG) for a
configuration error. The commands themselves live in `daemon.commands.*`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from daemon.commands import EX_TEMPFAIL, UserError
from daemon.commands import calendar as calendar_commands
from daemon.commands import database as db_commands
from daemon.commands import quarantine as quarantine_commands
from daemon.commands import recap as recap_commands
from daemon.commands import report as report_commands
from daemon.commands import rules as rules_commands
from daemon.commands import run as run_commands
from daemon.commands import tickets as ticket_commands
from daemon.config import EX_CONFIG, ConfigError

__all__ = ["EX_CONFIG", "EX_TEMPFAIL", "build_parser", "main"]

COMMAND_GROUPS = (
    run_commands,
    ticket_commands,
    rules_commands,
    quarantine_commands,
    calendar_commands,
    recap_commands,
    report_commands,
    db_commands,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 1
    try:
        return int(args.handler(args))
    except ConfigError as error:
        print(f"caredesk: configuration error: {error}", file=sys.stderr)
        return EX_CONFIG
    except UserError as error:
        print(f"caredesk: {error}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="caredesk", description="Email-driven complaint ticketing.")
    parser.add_argument(
        "--config", help="path to caredesk.toml (default: $CAREDESK_CONFIG or embedded defaults)"
    )
    commands = parser.add_subparsers(title="commands")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser
