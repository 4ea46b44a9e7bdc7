"""The arguments of `caredesk health` (the command: `daemon.commands.health`)."""

from __future__ import annotations

from typing import Any

from daemon.commands.parsers import Lazy


def register(commands: Any) -> None:
    check = commands.add_parser(
        "health", help="is caredesk working: exit 0 healthy, 1 degraded, 2 down (read-only)"
    )
    check.add_argument("--json", action="store_true", help="the report as one JSON object")
    check.set_defaults(handler=Lazy("health", "cmd_health"))
