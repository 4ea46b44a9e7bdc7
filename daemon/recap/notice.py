"""Head-office recap rows reach their owning department, as a mailed complaint does: once per row.

A branch marks a row `kantor pusat` (head office) when the complaint is about
a head-office product it forwarded to Customer Care. While such a row is open
it is the owning department's to work, so that department gets the same
department notice (templates/department_notice.txt) a mailed complaint gets,
and a `new` ticket becomes `assigned`. A row the branch resolved itself, or
that says head office already resolved it, tells nobody: there is nothing left
to do.

This module owns which tickets of a recap mail are announced (rows new or
changed in this mail, `ImportedRow.for_department`, whose ticket is still open
and was never announced) and the notice itself. Exactly once holds across
re-sent and corrected files: a ticket that has a notice in the outbox, sent or
not, gets none again. Everything happens in the caller's transaction, the same
as the import's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import tzinfo

from sqlalchemy import select
from sqlmodel import Session, col

from daemon.outbox.compose import ticket_fields
from daemon.outbox.enqueue import Outgoing
from daemon.recap.desk import RecapDesk
from daemon.recap.escalate import EscalationCause
from daemon.recap.receive import RecapOutcome
from daemon.route.rules import Department
from daemon.sla.stamping import CLOSED_STATUSES
from daemon.store import queries
from daemon.store import tickets as ticket_store
from daemon.store.models import Ticket
from daemon.store.vocabulary import OutboundKind

log = logging.getLogger("caredesk.recap")

NOTICE_TEMPLATE = "department_notice.txt"


@dataclass(frozen=True, slots=True)
class RowPlace:
    """Where a ticket's row is: the recap month, the sheet and the row number Excel shows."""

    month: str
    sheet: str
    row: int


def department_rows(outcomes: Iterable[RecapOutcome]) -> dict[int, RowPlace]:
    """The tickets of this mail's rows that are their department's to work, with where each row is."""
    found: dict[int, RowPlace] = {}
    for outcome in outcomes:
        summary = outcome.summary
        if summary is None:
            continue
        for imported in (*summary.created, *summary.updated, *summary.unchanged):
            if imported.for_department:
                found[imported.ticket_id] = RowPlace(outcome.month, imported.sheet, imported.row)
    return found


def notify_departments(
    session: Session, outcomes: Sequence[RecapOutcome], cause: EscalationCause, desk: RecapDesk
) -> list[dict[str, str]]:
    """Send the department notice for every head-office row of the recap not announced yet; what was sent.

    The outbox row carries no `cause_inbound_id`, as an escalation from a recap
    does not: one recap may announce many tickets to the same department, and
    (kind, cause, recipient) is unique.
    """
    places = department_rows(outcomes)
    if not places:
        return []
    announced = ticket_store.noticed_ticket_ids(session, sorted(places))
    wanted = [ticket_id for ticket_id in sorted(places) if ticket_id not in announced]
    if not wanted:
        return []
    statement = select(Ticket).where(col(Ticket.id).in_(wanted)).order_by(col(Ticket.id))
    notices = _Notices(session, cause, desk)
    sent: list[dict[str, str]] = []
    for ticket in session.execute(statement).scalars():
        assert ticket.id is not None
        if ticket.status in CLOSED_STATUSES:
            continue  # head office resolved it meanwhile: nothing to announce
        done = notices.announce(ticket, places[ticket.id])
        if done is not None:
            sent.append(done)
    return sent


class _Notices:
    def __init__(self, session: Session, cause: EscalationCause, desk: RecapDesk) -> None:
        self.session = session
        self.cause = cause
        self.desk = desk
        self.zone: tzinfo = desk.zone

    def announce(self, ticket: Ticket, place: RowPlace) -> dict[str, str] | None:
        department = self.desk.rules.departments.get(ticket.department)
        if department is None or not department.email:
            log.warning(
                "recap ticket %s is handled by head office but department %s has no address: no notice",
                ticket.reference,
                ticket.department,
            )
            return None
        self.desk.mailer.queue(
            self.session,
            Outgoing(
                kind=OutboundKind.NOTICE,
                recipient=department.email,
                template=NOTICE_TEMPLATE,
                context=self.context(ticket, department, place),
                auto_submitted="auto-generated",
                ticket=ticket,
                language="id",
            ),
        )
        if ticket.status == "new":
            ticket_store.set_status(self.session, ticket, "assigned")
            self.event(ticket, f"notice to {department.name}", ("new", "assigned"))
        return {"reference": ticket.reference, "department": department.id, "to": department.email}

    def context(self, ticket: Ticket, department: Department, place: RowPlace) -> dict[str, object]:
        """What the notice renders from: as for a mailed complaint, the routing lines naming the recap."""
        branch = self.cause.branch
        return {
            "org": self.desk.org,
            "ticket": ticket_fields(ticket, self.zone, department.name),
            "department": {"id": department.id, "name": department.name},
            "language": "id",
            "missing_contact": not ticket.pic_phone,
            "routing": [
                f"rekap {branch.name} {place.month}, lembar '{place.sheet}' baris {place.row}: "
                "ditangani kantor pusat",
                f"recap of {branch.name} for {place.month}, sheet '{place.sheet}' row {place.row}: "
                "handled by head office",
                f"department: {department.id}; product: {ticket.product or '-'}",
            ],
            "major_reason": "",
        }

    def event(self, ticket: Ticket, reason: str, status: tuple[str, str]) -> None:
        old, new = status
        queries.add_event(
            self.session,
            ticket,
            queries.History(
                actor="caredesk",
                action="assigned",
                at=self.cause.at,
                reason=reason,
                field_name="status",
                old_value=old,
                new_value=new,
                inbound_id=self.cause.inbound_id,
            ),
        )
