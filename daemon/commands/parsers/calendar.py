"""The arguments of `caredesk calendar` (the command: `daemon.commands.calendar`)."""

from __future__ import annotations

from typing import Any

from daemon.commands.parsers import Lazy


def register(commands: Any) -> None:
    calendar = commands.add_parser("calendar", help="the working days of a month")
    calendar.add_argument("--month", help="YYYY-MM (default: the current month)")
    calendar.add_argument("--rules", help="a rules file to read instead of the configured one")
    calendar.add_argument("--json", action="store_true")
    calendar.set_defaults(handler=Lazy("calendar", "cmd_calendar"))
