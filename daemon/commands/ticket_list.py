"""`caredesk tickets list`: the complaint register, newest first, a page at a time.

Without `--status` the text view lists the open tickets (every status but
resolved and closed), 50 a page, and ends with a count line: `showing 1–50 of
1,234 open tickets; --page 2 for more`. `--status` takes a status or a group
(`open`, `closed` for resolved or closed, `all`) and refuses anything else with
the allowed list (exit 2, as argparse does). `--json` stays a plain list, for
the scripts that read it: without `--status` it holds every status, and without
`--page` or `--limit` every ticket. The database filters, orders, counts and
pages; a listing of everything is read a batch of rows at a time. The register
is read through the plain driver (`daemon.store.rawread`) when it can be, else
through the ORM, which also explains a database that is not ready: the same
lines either way.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from daemon import clock
from daemon.commands import configure, open_engine
from daemon.commands.parsers.tickets import PAGE_SIZE, SPELLINGS
from daemon.commands.ticket_values import breaches, clip, local_time, ticket_summary, write_json_list
from daemon.sla.standing import CLOSED_STATUSES
from daemon.store import rawread
from daemon.store.rawread import TicketFilter


@dataclass(frozen=True, slots=True)
class Selection:
    """What the listing shows: the group or status asked for, in one department or all."""

    word: str
    department: str | None = None

    @property
    def wanted(self) -> TicketFilter:
        if self.word == "open":
            return TicketFilter(excluded=CLOSED_STATUSES, department=self.department)
        if self.word == "closed":
            return TicketFilter(statuses=CLOSED_STATUSES, department=self.department)
        if self.word == "all":
            return TicketFilter(department=self.department)
        spellings = (self.word, *(old for old, new in SPELLINGS.items() if new == self.word))
        return TicketFilter(statuses=spellings, department=self.department)

    def described(self) -> str:
        """`open tickets`, `tickets`, `assigned tickets in keuangan`, ..."""
        kind = "tickets" if self.word == "all" else f"{self.word} tickets"
        return f"{kind} in {self.department}" if self.department else kind


@dataclass(frozen=True, slots=True)
class Paging:
    page: int | None
    """None: every ticket."""
    size: int = PAGE_SIZE

    @property
    def offset(self) -> int:
        return ((self.page or 1) - 1) * self.size


@dataclass(frozen=True, slots=True)
class Register:
    """The register's three questions, asked of the plain reader or of an ORM session."""

    count: Callable[[TicketFilter], int]
    page: Callable[[TicketFilter, int, int], Sequence[Any]]
    """(wanted, offset, limit): one page, newest first."""
    every: Callable[[TicketFilter], Iterable[Any]]
    """Every ticket wanted, newest first, a batch of rows at a time."""


def plain_register(reader: rawread.Reader) -> Register:
    return Register(
        count=lambda wanted: rawread.count_tickets(reader, wanted),
        page=lambda wanted, offset, limit: rawread.newest_tickets(reader, wanted, offset=offset, limit=limit),
        every=lambda wanted: rawread.stream_newest_tickets(reader, wanted),
    )


def orm_register(session: Any) -> Register:
    from daemon.store import tickets as ticket_store

    return Register(
        count=lambda wanted: ticket_store.count_tickets(session, wanted),
        page=lambda wanted, offset, limit: ticket_store.newest_tickets(
            session, wanted, offset=offset, limit=limit
        ),
        every=lambda wanted: ticket_store.stream_newest_tickets(session, wanted),
    )


def cmd_tickets_list(args: argparse.Namespace) -> int:
    config = configure(args)
    selection = Selection(args.status or ("all" if args.json else "open"), args.department)
    paging = _paging(args)
    now = clock.now()

    def show(register: Register) -> None:
        if args.json:
            _print_json(register, selection, paging, now)
        else:
            _print_table(register, selection, paging, _Moment(now, ZoneInfo(config.timezone)))

    with rawread.open_reader(config.database_url) as reader:
        if reader is not None:
            show(plain_register(reader))
            return 0
    from daemon.store import db

    with open_engine(config) as engine, db.session(engine) as session:
        show(orm_register(session))
    return 0


def _paging(args: argparse.Namespace) -> Paging:
    size = args.limit or PAGE_SIZE
    if args.all:
        return Paging(None, size)
    if args.json and args.page is None and args.limit is None:
        return Paging(None, size)  # as JSON has always been: the whole register
    return Paging(args.page or 1, size)


def _print_json(register: Register, selection: Selection, paging: Paging, now: datetime) -> None:
    if paging.page is None:
        every = register.every(selection.wanted)
        write_json_list(ticket_summary(ticket, now) for ticket in every)
        return
    total = register.count(selection.wanted)
    page = register.page(selection.wanted, paging.offset, paging.size)
    write_json_list(ticket_summary(ticket, now) for ticket in page)
    if page and len(page) < total:
        print(count_line(selection, paging, len(page), total), file=sys.stderr)


@dataclass(frozen=True, slots=True)
class _Moment:
    now: datetime
    zone: tzinfo


HEADER = (
    f"{'REFERENCE':<16} {'STATUS':<12} {'DEPARTMENT':<14} {'SEV':<6} {'RESOLUTION DUE':<16} "
    f"{'SLA':<7} {'CUSTOMER':<28} SUBJECT"
)


def table_line(ticket: Any, moment: _Moment) -> str:
    """One ticket as a line of the register; a value too long for its column ends in an ellipsis."""
    due = local_time(ticket.resolution_due, moment.zone)
    return (
        f"{clip(ticket.reference, 16):<16} {clip(ticket.status, 12):<12} {clip(ticket.department, 14):<14} "
        f"{ticket.severity:<6} {due:<16} {breaches(ticket, moment.now):<7} "
        f"{clip(ticket.customer_email, 28):<28} {clip(ticket.subject, 60)}"
    )


def _print_table(register: Register, selection: Selection, paging: Paging, moment: _Moment) -> None:
    total = register.count(selection.wanted)
    if total == 0:
        print(_nothing_line(register, selection))
        return
    if paging.page is not None and paging.offset >= total:
        pages = -(-total // paging.size)
        print(f"no page {paging.page}: the {total:,} {selection.described()} fill {pages:,} page(s)")
        return
    if paging.page is None:
        rows: Iterable[Any] = register.every(selection.wanted)
    else:
        rows = register.page(selection.wanted, paging.offset, paging.size)
    print(HEADER)
    shown = 0
    for ticket in rows:
        print(table_line(ticket, moment))
        shown += 1
    print(count_line(selection, paging, shown, total))


def count_line(selection: Selection, paging: Paging, shown: int, total: int) -> str:
    """`showing 1–50 of 1,234 open tickets; --page 2 for more` (or `all 7 ...` without paging)."""
    described = selection.described()
    if paging.page is None:
        return f"showing all {shown:,} {described}"
    first, last = paging.offset + 1, paging.offset + shown
    more = f"; --page {paging.page + 1} for more" if last < total else ""
    return f"showing {first:,}–{last:,} of {total:,} {described}{more}"


def _nothing_line(register: Register, selection: Selection) -> str:
    """Nothing matched: say so, and whether tickets in other statuses are there to see."""
    where = f" in {selection.department}" if selection.department else ""
    if selection.word == "all":
        return f"no tickets{where}"
    others = register.count(TicketFilter(department=selection.department))
    if others == 0:
        return f"no tickets{where}"
    return f"no {selection.described()}; {others:,} in other statuses (--status all)"
