"""The arguments of `caredesk clock status|confirm` (the commands: `daemon.commands.clock`)."""

from __future__ import annotations

from typing import Any

from daemon.commands.parsers import Lazy


def register(commands: Any) -> None:
    group = commands.add_parser("clock", help="the clock the periodic jobs run by; lift a hold")
    verbs = group.add_subparsers(title="clock")
    status = verbs.add_parser("status", help="the clock, the last periodic run, and any hold")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=Lazy("clock", "cmd_status"))
    confirm = verbs.add_parser("confirm", help="the clock is right: run the periodic jobs again")
    confirm.add_argument("--reason", required=True, help="why the clock is right, for the record")
    confirm.set_defaults(handler=Lazy("clock", "cmd_confirm"))
