"""When the SLA ladder must next look at a ticket: the indexed `ticket.next_sla_step_at`.

The ladder (`daemon.periodic.ladder`) reads only the tickets whose
`next_sla_step_at` has come, through its index, instead of every open ticket
at every run. The value is kept conservative: it may say "look now" when
nothing is due, never "later" when something is.

* NULL: nothing will ever be due unless the ticket changes (resolved, closed,
  a branch-recap ticket, no due dates, every step already past).
* `RECHECK`, a moment before any run: look at the next run. A new ticket
  starts so (the column's default, for ORM and Core inserts alike), and so
  does every ticket whose ladder inputs change (`mark_changed`, and the
  flush hook below for changes made through the ORM).
* Any other moment: the earliest time a step not earned yet can be earned;
  the ladder writes it after each run (`settle`), in the transaction that
  reads the ticket, so a change committed meanwhile is never overwritten.

The ladder's inputs are the ticket's columns in `LADDER_INPUTS`, the human
messages queued to its customer (`daemon.outbox.enqueue` marks the ticket),
and the rules in force (`rules_changed` marks every open ticket when the
ladder runs under other rules than before).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, event, inspect, select, update
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col

from daemon.store.models import SLA_RECHECK, Setting, Ticket

RECHECK = SLA_RECHECK
"""Earlier than any ladder run: the next run looks at the ticket."""

LADDER_INPUTS = (
    "status",
    "department",
    "severity",
    "sla_class",
    "origin",
    "received_at",
    "first_response_due",
    "resolution_due",
    "first_responded_at",
    "completed_at",
    "resolution_cycle",
)
"""The ticket columns the ladder's steps depend on (`daemon.periodic.steps.earned_steps`)."""

_RULES_KEY = "sla-ladder:rules"
"""The `setting` row naming the rules the stored `next_sla_step_at` values were worked out under."""


def mark_changed(session: Session, ticket_ids: Iterable[int]) -> None:
    """Have the next ladder run look at these tickets again (something they depend on changed)."""
    ids = sorted(set(ticket_ids))
    if not ids:
        return
    session.execute(
        update(Ticket)
        .where(col(Ticket.id).in_(ids))
        .values(next_sla_step_at=RECHECK)
        .execution_options(synchronize_session=False)
    )


def due_ticket_ids(session: Session, now: datetime) -> list[int]:
    """The tickets whose next look is due at `now`, in id order (an index range, nothing else).

    Sorted here, not by the database: `ORDER BY id` makes SQLite walk the whole
    table in id order instead of the index range.
    """
    statement = select(col(Ticket.id)).where(col(Ticket.next_sla_step_at) <= now)
    return sorted(int(ticket_id) for ticket_id in session.execute(statement).scalars())


def settle(session: Session, next_at: Mapping[int, datetime | None]) -> None:
    """Write each ticket's next look (None: never, until it changes), in one statement."""
    if not next_at:
        return
    table = Ticket.__table__  # type: ignore[attr-defined]
    statement = (
        update(table)
        .where(table.c.id == bindparam("ticket_id"))
        .values(next_sla_step_at=bindparam("next_at"))
    )
    rows = [{"ticket_id": ticket_id, "next_at": moment} for ticket_id, moment in sorted(next_at.items())]
    session.connection().execute(statement, rows)


def recorded_rules(session: Session) -> str | None:
    """The fingerprint of the rules the stored next looks were worked out under; None before any run."""
    row = session.get(Setting, _RULES_KEY)
    return None if row is None else row.value


def rules_changed(session: Session, fingerprint: str, closed_statuses: Iterable[str]) -> bool:
    """Record `fingerprint` as the rules the ladder works under; True (and every open ticket marked) if new.

    Reminder and escalation times hang off the rules (targets, calendar), so
    the stored next looks of open tickets are stale once they change.
    """
    row = session.get(Setting, _RULES_KEY)
    if row is not None and row.value == fingerprint:
        return False
    if row is None:
        session.add(Setting(key=_RULES_KEY, value=fingerprint))
    else:
        row.value = fingerprint
        session.add(row)
    session.execute(
        update(Ticket)
        .where(col(Ticket.status).not_in(tuple(closed_statuses)))
        .values(next_sla_step_at=RECHECK)
        .execution_options(synchronize_session=False)
    )
    return True


@event.listens_for(OrmSession, "before_flush")
def _recheck_changed_tickets(session: OrmSession, _context: Any, _instances: Any) -> None:
    """A ticket changed through the ORM in one of `LADDER_INPUTS` is looked at by the next run."""
    for instance in session.dirty:
        if not isinstance(instance, Ticket):
            continue
        state = inspect(instance)
        changed = {name for name in LADDER_INPUTS if state.attrs[name].history.has_changes()}
        if changed and not state.attrs["next_sla_step_at"].history.has_changes():
            instance.next_sla_step_at = RECHECK
