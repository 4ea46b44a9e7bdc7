"""The arguments of `caredesk run` and `caredesk ingest` (the commands: `daemon.commands.run`)."""

from __future__ import annotations

from typing import Any

from daemon.commands.parsers import Lazy


def register(commands: Any) -> None:
    run = commands.add_parser("run", help="run the daemon")
    run.add_argument("--once", action="store_true", help="process what is waiting, then exit")
    run.set_defaults(handler=Lazy("run", "cmd_run"))

    ingest = commands.add_parser("ingest", help="process .eml files, or - for standard input")
    ingest.add_argument("files", nargs="+", metavar="FILE")
    ingest.add_argument(
        "--explain",
        action="store_true",
        help="store and send nothing: say what the daemon would make of each mail, and why",
    )
    ingest.add_argument("--json", action="store_true", help="with --explain: one JSON object per mail")
    ingest.set_defaults(handler=Lazy("run", "cmd_ingest"))
