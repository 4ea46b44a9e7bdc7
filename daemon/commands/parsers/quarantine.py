"""The arguments of `caredesk quarantine ...` (the commands: `daemon.commands.quarantine`)."""

from __future__ import annotations

from typing import Any

from daemon.commands.parsers import Lazy


def register(commands: Any) -> None:
    quarantine = commands.add_parser("quarantine", help="mail that could not be processed")
    verbs = quarantine.add_subparsers(title="quarantine")
    listing = verbs.add_parser("list", help="quarantined mail and mail waiting for a retry")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=Lazy("quarantine", "cmd_list"))
    show = verbs.add_parser("show", help="one quarantined mail: stage, error, traceback, headers")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    show.add_argument("--raw", action="store_true", help="print the raw message bytes")
    show.set_defaults(handler=Lazy("quarantine", "cmd_show"))
    replay = verbs.add_parser("replay", help="process quarantined mail again, now")
    replay.add_argument("ids", type=int, nargs="*")
    replay.add_argument("--all", action="store_true", help="replay every quarantined mail")
    replay.set_defaults(handler=Lazy("quarantine", "cmd_replay"))
    discard = verbs.add_parser("discard", help="give up on a quarantined mail (it stays on record)")
    discard.add_argument("id", type=int)
    discard.add_argument("--reason", required=True, help="why, for the record")
    discard.set_defaults(handler=Lazy("quarantine", "cmd_discard"))
