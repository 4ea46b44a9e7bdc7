"""Major complaints before their general manager: the escalation mail, on arrival and later.

DOMAIN.md §5: a major complaint goes to the general manager of the owning
department at once. `escalate_to_gm` queues that mail (`escalation.txt`) and
notes it on the ticket, or notes that the department has no general manager;
the new-complaint stage calls it for a complaint routed major
(`daemon.tickets.complaints`), and `escalate_after_change` calls it when staff
make a ticket major later (`#severity major`) or hand a major ticket to
another department (`#department`): the same mail, with the reason naming who
did it and how, and the ticket's `escalated` flag set, with its history.
Whether a mail calls for it is the lifecycle's pure rule
(`daemon.tickets.lifecycle.escalation_reason`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session

from daemon.outbox.compose import ticket_fields, without_tag
from daemon.outbox.enqueue import Outgoing
from daemon.route.rules import Department
from daemon.store import queries
from daemon.store.models import Ticket
from daemon.store.vocabulary import Action, OutboundKind
from daemon.tickets.desk import Desk, FollowUp
from daemon.tickets.policy import department_or_none

log = logging.getLogger("caredesk.pipeline")

ESCALATED = "escalated"
"""The history action of an escalation mail queued to the general manager."""
ESCALATION_MISSING = "escalation-missing"
"""The history action of a major complaint whose department has no general manager."""


@dataclass(frozen=True)
class GmEscalation:
    """One escalation of a ticket to its department's general manager, and why."""

    ticket: Ticket
    department: Department
    context: Mapping[str, object]
    """What `escalation.txt` renders from: the organisation, the ticket, the department, `major_reason`."""
    reason: str
    """Why it is major (or why the GM hears of it now), for the history."""
    cause_inbound_id: int | None
    """The mail that set it off: the complaint, or the staff reply that made it major."""
    general_manager: str | None = None
    """Who gets it: `Rules.general_manager_for` (the department's GM, else the default department's)."""


def escalate_to_gm(session: Session, desk: Desk, escalation: GmEscalation) -> bool:
    """Queue the escalation mail to the department's general manager; False when it has none.

    Either way the ticket's history says so: `escalated` with the reason, or
    `escalation-missing`.
    """
    ticket, department = escalation.ticket, escalation.department
    recipient = escalation.general_manager or department.general_manager
    if not recipient:
        why = f"department {department.id} has no general manager configured, nor has the default department"
        _note(session, desk, ticket, ESCALATION_MISSING, why)
        log.warning("ticket %s is major but %s has no general manager", ticket.reference, department.id)
        return False
    desk.mailer.queue(
        session,
        Outgoing(
            kind=OutboundKind.ESCALATION,
            recipient=recipient,
            template="escalation.txt",
            context=escalation.context,
            auto_submitted="auto-generated",
            ticket=ticket,
            cause_inbound_id=escalation.cause_inbound_id,
            language="id",
        ),
    )
    _note(session, desk, ticket, ESCALATED, escalation.reason)
    return True


@dataclass(frozen=True)
class LaterEscalation:
    """A staff mail that calls for the general manager: the mail, why, and the department before it."""

    follow_up: FollowUp
    reason: str
    """`lifecycle.escalation_reason`: who made the ticket major, or moved it, and how."""
    department_before: str
    """The department the ticket was with before the mail (its GM had it, if it was escalated)."""


def escalate_after_change(session: Session, desk: Desk, later: LaterEscalation) -> str | None:
    """Put a ticket staff just made major (or moved while major) before its general manager.

    Call it once the mail's changes are on the ticket; the GM mailed comes
    back (None when nobody was). The GM is not mailed when they had the ticket
    already (it was escalated before, and the GM of the department it was with
    then is this one) nor when they sent the mail themselves; the ticket
    becomes `escalated` either way.
    """
    follow_up, reason = later.follow_up, later.reason
    ticket = follow_up.ticket
    department = department_or_none(follow_up.rules, ticket.department)
    mailed: str | None = None
    if department is None:
        why = f"department {ticket.department} is not in the rules"
        _note(session, desk, ticket, ESCALATION_MISSING, why)
    elif _sent_by_the_gm(follow_up, department):
        _note(session, desk, ticket, ESCALATED, f"{reason}; the general manager made the change: no mail")
    elif not _had_it(later, department):
        context = {
            "org": desk.org,
            "ticket": ticket_fields(ticket, desk.zone, department.name),
            "department": {"id": department.id, "name": department.name},
            "language": ticket.language,
            "missing_contact": not ticket.pic_phone,
            "routing": [reason],
            "major_reason": reason,
        }
        gm = follow_up.rules.general_manager_for(department.id)
        escalation = GmEscalation(ticket, department, context, reason, follow_up.row.id, gm)
        mailed = gm if escalate_to_gm(session, desk, escalation) else None
    _mark_escalated(session, desk, later)
    return mailed


def _sent_by_the_gm(follow_up: FollowUp, department: Department) -> bool:
    gm = (follow_up.rules.general_manager_for(department.id) or "").strip().lower()
    return bool(gm) and without_tag(follow_up.mail.from_address.lower()) == gm


def _had_it(later: LaterEscalation, department: Department) -> bool:
    """Whether this GM had the ticket already: it was escalated, to the GM of the department it was with."""
    if not later.follow_up.ticket.escalated:
        return False
    rules = later.follow_up.rules
    if department_or_none(rules, later.department_before) is None:
        return False
    return rules.general_manager_for(later.department_before) == rules.general_manager_for(department.id)


def _mark_escalated(session: Session, desk: Desk, later: LaterEscalation) -> None:
    follow_up = later.follow_up
    ticket = follow_up.ticket
    if ticket.escalated:
        return
    ticket.escalated = True
    session.add(ticket)
    queries.add_event(
        session,
        ticket,
        queries.History(
            actor=follow_up.mail.from_address,
            action=Action.CHANGED,
            at=desk.clock(),
            field_name="escalated",
            old_value="false",
            new_value="true",
            reason=later.reason,
            inbound_id=follow_up.row.id,
        ),
    )


def _note(session: Session, desk: Desk, ticket: Ticket, action: str, reason: str) -> None:
    queries.add_event(
        session,
        ticket,
        queries.History(actor="caredesk", action=action, at=desk.clock(), reason=reason),
    )
