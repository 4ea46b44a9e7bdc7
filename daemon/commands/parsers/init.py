"""The arguments of `caredesk init` (the command: `daemon.commands.init`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from daemon.commands.parsers import Lazy


def register(commands: Any) -> None:
    init = commands.add_parser(
        "init", help="write caredesk.toml, the example rules.yaml and the templates into DIR"
    )
    init.add_argument("directory", metavar="DIR", type=Path)
    init.set_defaults(handler=Lazy("init", "cmd_init"))
