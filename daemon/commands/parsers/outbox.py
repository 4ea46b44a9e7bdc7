"""The arguments of `caredesk outbox list|retry` (the commands: `daemon.commands.outbox`)."""

from __future__ import annotations

from typing import Any

from daemon.commands.parsers import Lazy

STATES = ("pending", "sending", "retry", "sent", "failed", "suppressed", "uncertain")
"""`daemon.store.vocabulary.OutboundState`, spelled out so that `--help` needs no database code
(`tests/unit/test_cli_imports.py` checks that the two agree)."""


def register(commands: Any) -> None:
    verbs = commands.add_parser("outbox", help="outgoing mail").add_subparsers(title="outbox")
    listing = verbs.add_parser("list", help="outgoing mail, newest first")
    listing.add_argument("--state", choices=STATES)
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(handler=Lazy("outbox", "cmd_list"))
    retry = verbs.add_parser("retry", help="render again or resend mail that did not go out, now")
    retry.add_argument("ids", type=int, nargs="*", metavar="ID")
    retry.add_argument("--failed", action="store_true", help="retry every failed mail")
    retry.set_defaults(handler=Lazy("outbox", "cmd_retry"))
