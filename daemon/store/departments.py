"""Open tickets by department: which departments own open tickets, and moving them to another.

A department's tickets are open until closed: a resolved ticket still takes the
customer's answer, the effectiveness evaluation and the reminders of the SLA
ladder. The rules loader asks which departments own open tickets
(`open_tickets_outside`: one grouped query over the indexed `department` and
`status` columns, then a few references only for a department it reports), and
the daemon moves the open tickets of a retired department (`move_open_tickets`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlmodel import Session, col

from daemon.store.models import SLA_RECHECK, Ticket

CLOSED = "closed"
"""The one final status (`daemon.tickets.lifecycle.STATUSES`): every other one is open."""
EXAMPLES = 3
"""How many references a report of open tickets names."""


@dataclass(frozen=True, slots=True)
class OpenTickets:
    """The open tickets of one department: how many, and the first few references."""

    department: str
    count: int
    references: tuple[str, ...]


def open_tickets_outside(
    session: Session, departments: Collection[str], *, examples: int = EXAMPLES
) -> list[OpenTickets]:
    """The departments, other than `departments`, that own open tickets; by id."""
    statement = (
        select(col(Ticket.department), func.count())
        .where(col(Ticket.status) != CLOSED)
        .group_by(col(Ticket.department))
        .order_by(col(Ticket.department))
    )
    if departments:
        statement = statement.where(col(Ticket.department).not_in(sorted(departments)))
    found = session.execute(statement).all()
    return [OpenTickets(name, count, _references(session, name, examples)) for name, count in found]


def _references(session: Session, department: str, examples: int) -> tuple[str, ...]:
    statement = (
        select(col(Ticket.reference))
        .where(col(Ticket.department) == department, col(Ticket.status) != CLOSED)
        .order_by(col(Ticket.id))
        .limit(examples)
    )
    return tuple(session.execute(statement).scalars())


def move_open_tickets(session: Session, old: str, new: str) -> list[Ticket]:
    """Give the open tickets of department `old` to `new`; the tickets moved, oldest first.

    One conditional UPDATE: a ticket another daemon moved (or closed) meanwhile is
    not among those returned, so each move is recorded once.
    """
    change = (
        update(Ticket)
        .where(col(Ticket.department) == old, col(Ticket.status) != CLOSED)
        .values(department=new, next_sla_step_at=SLA_RECHECK)
        .returning(col(Ticket.id))
        .execution_options(synchronize_session=False)
    )
    moved = sorted(session.execute(change).scalars())
    if not moved:
        return []
    # Tickets already in this session are read again: they held the old department.
    statement = (
        select(Ticket)
        .where(col(Ticket.id).in_(moved))
        .order_by(col(Ticket.id))
        .execution_options(populate_existing=True)
    )
    return list(session.execute(statement).scalars())
