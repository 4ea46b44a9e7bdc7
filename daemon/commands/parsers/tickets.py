"""The arguments of `caredesk tickets list|show|attachments`.

The commands are `daemon.commands.ticket_list`, `daemon.commands.tickets` and
`daemon.commands.ticket_attachments`; what `--status` accepts is decided here,
when the arguments are parsed.
"""

from __future__ import annotations

import argparse
from typing import Any

from daemon.commands.parsers import Lazy

PAGE_SIZE = 50
GROUPS = ("open", "closed", "all")
"""`open`: every status but resolved and closed; `closed`: resolved or closed; `all`: any status."""
SINGLE_STATUSES = ("new", "acknowledged", "assigned", "in-progress", "resolved")
"""The statuses `--status` takes one by one (`closed` is the group, which takes resolved too): those
of `daemon.tickets.lifecycle.STATUSES` but `closed`, spelled out so that `--help` needs no ticket
code (`tests/unit/test_cli_imports.py` checks that the two agree)."""
SPELLINGS = {"in_progress": "in-progress"}
"""Branch-recap tickets are stored `in_progress`; the lifecycle writes `in-progress`. Both are one status."""


def register(commands: Any) -> None:
    tickets = commands.add_parser("tickets", help="the complaint register").add_subparsers(title="tickets")
    _register_list(tickets)
    show = tickets.add_parser("show", help="one ticket with its whole history")
    show.add_argument("reference")
    show.add_argument("--json", action="store_true")
    show.add_argument(
        "--format",
        choices=("text", "json", "html", "pdf"),
        default="text",
        help="html or pdf: the complaint form, for the archive",
    )
    show.add_argument("--out", help="the file to write the html or pdf to (default: standard output)")
    show.set_defaults(handler=Lazy("tickets", "cmd_tickets_show"))
    _register_attachments(tickets)


def _register_list(tickets: Any) -> None:
    listing = tickets.add_parser(
        "list", help="the complaint register, newest first: the open tickets, 50 a page"
    )
    listing.add_argument(
        "--json", action="store_true", help="a JSON list (by default every status and ticket)"
    )
    listing.add_argument(
        "--status",
        type=status_choice,
        metavar="STATUS",
        help=f"a group ({', '.join(GROUPS)}; default open) or a status ({', '.join(SINGLE_STATUSES)})",
    )
    listing.add_argument("--department")
    pages = listing.add_mutually_exclusive_group()
    pages.add_argument("--page", type=positive, metavar="N", help="page N of the list (default 1)")
    pages.add_argument("--all", action="store_true", help="every matching ticket, no paging")
    listing.add_argument("--limit", type=positive, metavar="N", help=f"tickets a page (default {PAGE_SIZE})")
    listing.set_defaults(handler=Lazy("ticket_list", "cmd_tickets_list"))


def _register_attachments(tickets: Any) -> None:
    attachments = tickets.add_parser(
        "attachments",
        help="write the attachments of a ticket's mails into a folder",
        description=(
            "Write every attachment of the ticket's mails (the customer's first mail, follow-ups "
            "and staff replies) into DIR, under safe file names; existing files are never overwritten."
        ),
    )
    attachments.add_argument("reference")
    attachments.add_argument("--out", required=True, metavar="DIR", help="the folder to write them into")
    attachments.set_defaults(handler=Lazy("ticket_attachments", "cmd_tickets_attachments"))


def status_choice(text: str) -> str:
    """What `--status` names: a group or a status; anything else is refused with the allowed values."""
    word = text.strip().lower()
    word = SPELLINGS.get(word, word)
    if word in GROUPS or word in SINGLE_STATUSES:
        return word
    allowed = ", ".join((*GROUPS, *SINGLE_STATUSES))
    raise argparse.ArgumentTypeError(f"unknown status {text!r} (choose from {allowed})")


def positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return number
