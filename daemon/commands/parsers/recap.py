"""The arguments of `caredesk recap template|status` (the commands: `daemon.commands.recap`)."""

from __future__ import annotations

from typing import Any

from daemon.commands.parsers import Lazy


def register(commands: Any) -> None:
    recap = commands.add_parser("recap", help="branch recap spreadsheets").add_subparsers(title="recap")
    template = recap.add_parser("template", help="write the recap template (.xlsx)")
    template.add_argument("--out", required=True, help="where to write the .xlsx, e.g. rekap.xlsx")
    template.add_argument("--branch", help="fill in this branch id (from rules.yaml)")
    template.add_argument("--month", help="fill in this month, YYYY-MM")
    template.set_defaults(handler=Lazy("recap", "cmd_recap_template"))
    status = recap.add_parser(
        "status", help="which branches sent their recap for a month, and what came of it"
    )
    status.add_argument(
        "--month", help="YYYY-MM (default: the month whose recap is due now, the previous one)"
    )
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=Lazy("recap", "cmd_recap_status"))
