"""The SLA board: per department, what has breached and what falls due today and tomorrow.

Only open tickets whose next target (the first response while it is owed,
else the resolution) falls before the end of tomorrow are read, oldest due
first, so the board costs the same with a million closed tickets as with none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import and_, or_, select
from sqlmodel import Session, col

from daemon.sla.stamping import CLOSED_STATUSES
from daemon.store.models import Ticket
from daemon.web.accounts import Scope
from daemon.web.register import moment

MOST = 2000
"""Tickets the board reads at most; past that it says so (a backlog that size needs the register)."""


@dataclass(frozen=True, slots=True)
class Due:
    reference: str
    department: str
    subject: str
    severity: str
    target: str
    """"first response" or "resolution"."""
    due: datetime


@dataclass
class Column:
    breached: list[Due] = field(default_factory=list)
    today: list[Due] = field(default_factory=list)
    tomorrow: list[Due] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Board:
    departments: dict[str, Column]
    truncated: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "truncated": self.truncated,
            "departments": {
                name: {
                    part: [
                        {
                            "reference": due.reference,
                            "subject": due.subject,
                            "severity": due.severity,
                            "target": due.target,
                            "due": due.due.isoformat(),
                        }
                        for due in getattr(column, part)
                    ]
                    for part in ("breached", "today", "tomorrow")
                }
                for name, column in self.departments.items()
            },
        }


def sla_board(session: Session, scope: Scope, now: datetime, zone: tzinfo) -> Board:
    """The board as of `now`, days counted in `zone`, for the departments `scope` allows."""
    today_end = moment(now.astimezone(zone).date() + timedelta(days=1), zone)
    tomorrow_end = today_end + timedelta(days=1)
    owed_first = and_(
        col(Ticket.first_responded_at).is_(None),
        col(Ticket.first_response_due).is_not(None),
        col(Ticket.first_response_due) < tomorrow_end,
    )
    resolution = and_(col(Ticket.resolution_due).is_not(None), col(Ticket.resolution_due) < tomorrow_end)
    conditions = [col(Ticket.status).not_in(CLOSED_STATUSES), or_(owed_first, resolution)]
    if scope.departments is not None:
        conditions.append(col(Ticket.department).in_(sorted(scope.departments)))
    statement = (
        select(Ticket).where(*conditions).order_by(col(Ticket.resolution_due), col(Ticket.id)).limit(MOST + 1)
    )
    rows = list(session.execute(statement).scalars())
    departments: dict[str, Column] = {}
    for ticket in rows[:MOST]:
        for target, due in _targets(ticket, tomorrow_end):
            column = departments.setdefault(ticket.department, Column())
            part = column.breached if due < now else column.today if due < today_end else column.tomorrow
            entry = Due(ticket.reference, ticket.department, ticket.subject, ticket.severity, target, due)
            part.append(entry)
    for column in departments.values():
        for part in (column.breached, column.today, column.tomorrow):
            part.sort(key=lambda due: due.due)
    return Board(dict(sorted(departments.items())), truncated=len(rows) > MOST)


def _targets(ticket: Ticket, before: datetime) -> list[tuple[str, datetime]]:
    found = []
    first = ticket.first_response_due
    if ticket.first_responded_at is None and first is not None and first < before:
        found.append(("first response", first))
    if ticket.resolution_due is not None and ticket.resolution_due < before:
        found.append(("resolution", ticket.resolution_due))
    return found
