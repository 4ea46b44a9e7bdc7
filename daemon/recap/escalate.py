"""Major complaints in a recap: escalated to their department's General Manager, once.

This module owns which tickets of a recap mail are escalated (new tickets
that are major or that a rule said to escalate, and tickets a corrected row
made major that nothing had escalated yet), the reason the General Manager is
given (the branch's own word, the routing rule's, where in the recap the row
is, and whether the branch already resolved it), and the escalation mail
itself (templates/escalation.txt), as the pipeline sends for mailed
complaints. A department without a General Manager gets an
`escalation-missing` history entry instead.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import select
from sqlmodel import Session, col

from daemon.outbox.compose import ticket_fields
from daemon.outbox.enqueue import Outgoing
from daemon.recap.desk import RecapDesk
from daemon.recap.receive import RecapOutcome
from daemon.route.rules import Branch
from daemon.store import queries
from daemon.store.models import RecapRowLink, Ticket, TicketEvent
from daemon.store.vocabulary import Action, OutboundKind

log = logging.getLogger("caredesk.recap")

ESCALATION_TEMPLATE = "escalation.txt"
_MAJOR_BECAUSE = re.compile(r"^major because (?P<why>.+)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class EscalationCause:
    """The recap mail whose tickets are escalated or announced: its branch, its inbound row, and when."""

    branch: Branch
    inbound_id: int
    at: datetime


def escalate_major(
    session: Session, outcomes: Sequence[RecapOutcome], cause: EscalationCause, desk: RecapDesk
) -> list[dict[str, str]]:
    """Escalate the recap's new major tickets, and those a corrected row made major; what was done.

    The outbox row carries no `cause_inbound_id`: one recap may escalate many
    tickets to the same General Manager, and (kind, cause, recipient) is
    unique. Exactly once still holds: a ticket is created, or made major, in
    this transaction only, and a re-sent file changes nothing.
    """
    created, raised = created_and_raised(outcomes)
    if not created and not raised:
        return []
    candidates = _candidates(session, created, raised)
    escalation = _Escalation(session, cause, desk)
    escalation.read_reasons([ticket.id for ticket in candidates if ticket.id is not None])
    return [escalation.escalate(ticket, raised=not ticket.escalated) for ticket in candidates]


def created_and_raised(outcomes: Iterable[RecapOutcome]) -> tuple[set[int], set[int]]:
    """Ids of the tickets the recap created, and of those a corrected row changed the severity of."""
    created = {r.ticket_id for o in outcomes if o.summary is not None for r in o.summary.created}
    raised = {
        r.ticket_id
        for o in outcomes
        if o.summary is not None
        for r in o.summary.updated
        if "severity" in r.changes
    }
    return created, raised


def _candidates(session: Session, created: set[int], raised: set[int]) -> list[Ticket]:
    # Escalated like a mailed complaint: major, or a rule said escalate. A
    # corrected row that made a ticket major escalates it once, if nothing had.
    statement = (
        select(Ticket)
        .where(
            col(Ticket.id).in_(created | raised),
            col(Ticket.escalated) | (col(Ticket.severity) == "major"),
        )
        .order_by(col(Ticket.id))
    )
    return [
        ticket
        for ticket in session.execute(statement).scalars()
        if (ticket.id in created and ticket.escalated)
        or (ticket.id in raised and ticket.severity == "major" and not ticket.escalated)
    ]


class _Escalation:
    def __init__(self, session: Session, cause: EscalationCause, desk: RecapDesk) -> None:
        self.session = session
        self.branch = cause.branch
        self.rules = desk.rules
        self.mailer = desk.mailer
        self.config = desk.config
        self.inbound_id = cause.inbound_id
        self.now = cause.at
        self.zone: tzinfo = desk.zone
        self.links: dict[int, RecapRowLink] = {}
        self.routed: dict[int, TicketEvent] = {}

    def read_reasons(self, ids: list[int]) -> None:
        """Read what the reasons need (row links, routing explanations) in two queries."""
        if not ids:
            return
        links = select(RecapRowLink).where(col(RecapRowLink.ticket_id).in_(ids))
        self.links = {link.ticket_id or 0: link for link in self.session.execute(links).scalars()}
        events = select(TicketEvent).where(
            col(TicketEvent.ticket_id).in_(ids), col(TicketEvent.action) == Action.ROUTED
        )
        self.routed = {event.ticket_id: event for event in self.session.execute(events).scalars()}

    def routed_major_reason(self, ticket: Ticket) -> str:
        """Why the rules made `ticket` major: from the routing decision, or the text of older entries."""
        event = self.routed.get(ticket.id or 0)
        if event is None:
            return ""
        if event.data is not None:
            return str(event.data.get("major_reason") or "")
        match = _MAJOR_BECAUSE.search(event.reason)
        return match.group("why") if match else ""

    def escalate(self, ticket: Ticket, *, raised: bool) -> dict[str, str]:
        if raised:
            ticket.escalated = True
            self.session.add(ticket)
        reason = self.major_reason(ticket)
        department = self.rules.departments.get(ticket.department)
        done = {"reference": ticket.reference, "department": ticket.department, "to": ""}
        gm = self.rules.general_manager_for(ticket.department) if department is not None else None
        if department is None or not gm:
            self.event(ticket, "escalation-missing", f"department {ticket.department} has no general manager")
            log.warning(
                "recap ticket %s is major but %s has no general manager", ticket.reference, ticket.department
            )
            return done
        self.mailer.queue(
            self.session,
            Outgoing(
                kind=OutboundKind.ESCALATION,
                recipient=gm,
                template=ESCALATION_TEMPLATE,
                context=self.context(ticket, department.id, department.name, reason),
                ticket=ticket,
                language="id",
            ),
        )
        self.event(ticket, "escalated", reason)
        done["to"] = gm
        return done

    def major_reason(self, ticket: Ticket) -> str:
        assert ticket.id is not None
        link = self.links.get(ticket.id)
        said: Mapping[str, object] = json.loads(link.row_values) if link is not None else {}
        reasons: list[str] = []
        if said.get("severity") == "major":
            reasons.append(f"dicatat mayor oleh {self.branch.name} / recorded as major by {self.branch.name}")
        why = self.routed_major_reason(ticket)
        if why:
            reasons.append(why)
        if not reasons:
            reasons.append("aturan rute / a routing rule")
        if link is not None:
            reasons.append(f"rekap/recap {link.month}, lembar/sheet '{link.sheet}' baris/row {link.row}")
        if ticket.status == "resolved" and ticket.completed_at is not None:
            done = ticket.completed_at.astimezone(self.zone).strftime("%d-%m-%Y")
            reasons.append(f"sudah diselesaikan pada / already resolved on {done}")
        return "; ".join(reasons)

    def context(
        self, ticket: Ticket, department_id: str, department_name: str, reason: str
    ) -> dict[str, object]:
        return {
            "org": {"name": self.config.name, "address": self.config.address},
            "ticket": ticket_fields(ticket, self.zone, department_name),
            "department": {"id": department_id, "name": department_name},
            "language": "id",
            "missing_contact": not ticket.pic_phone,
            "routing": [],
            "major_reason": reason,
        }

    def event(self, ticket: Ticket, action: str, reason: str) -> None:
        queries.add_event(
            self.session,
            ticket,
            queries.History(
                actor="caredesk",
                action=action,
                at=self.now,
                reason=reason,
                inbound_id=self.inbound_id,
            ),
        )
