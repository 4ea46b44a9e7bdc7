"""The arguments of `caredesk report monthly|review` (the commands: `daemon.commands.report`,
with `--resend` and `--history` in `daemon.commands.report_resend`)."""

from __future__ import annotations

import argparse
from typing import Any

from daemon.commands.parsers import Lazy

MONTHLY_FORMATS = ("xlsx", "csv", "html")
REVIEW_FORMATS = ("text", "json", "csv", "html")


def register(commands: Any) -> None:
    report = commands.add_parser("report", help="the monthly report and the management review")
    reports = report.add_subparsers(title="report")
    monthly = reports.add_parser("monthly", help="the complaint report of a month, with charts")
    monthly.add_argument("--month", help="YYYY-MM (default: the previous month)")
    monthly.add_argument("--format", choices=MONTHLY_FORMATS, default="xlsx")
    monthly.add_argument("--out", help="the file to write (default: standard output)")
    monthly.add_argument(
        "--department",
        action="append",
        default=[],
        metavar="ID",
        help="only this department's part (repeat for several)",
    )
    add_resend_arguments(monthly)
    monthly.set_defaults(handler=Lazy("report", "cmd_report_monthly"))
    review = reports.add_parser("review", help="the management-review summary of resolved complaints")
    review.add_argument("--quarter", required=True, help="YYYYQN, e.g. 2026Q3")
    review.add_argument("--format", choices=REVIEW_FORMATS, default="text")
    review.add_argument("--out", help="the file to write (default: standard output)")
    review.add_argument(
        "--list", action="store_true", help="text: list every resolved complaint after the summary"
    )
    review.set_defaults(handler=Lazy("report", "cmd_report_review"))


def add_resend_arguments(monthly: argparse.ArgumentParser) -> None:
    """The options of `report monthly` that mail a report again or show its sendings."""
    monthly.add_argument(
        "--resend",
        action="store_true",
        help="mail the month's report again to its recipients, now (needs --reason)",
    )
    monthly.add_argument("--reason", help="with --resend: why it goes out again, for the record and the mail")
    monthly.add_argument(
        "--recipient",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="with --resend: only this recipient (repeat for several)",
    )
    monthly.add_argument(
        "--history", action="store_true", help="when the month's report was sent and re-sent, by whom and why"
    )
