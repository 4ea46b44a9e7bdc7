"""A new complaint: the ticket made from a mail and its routing decision, and the mail that sets off.

`NewComplaints.create` stores the ticket (its reference, the routed fields,
among them the category a rule gave and the sender's organisation, the due
dates) with its `created` and `routed` history, the routing decision kept
as data on the `routed` entry. `notify` then acknowledges the customer unless
policy withholds it (`policy.acknowledgement_withheld`), sends the department
its notice with the customer's attachments (as many as fit within
`limits.forward_attachment_bytes`, every one listed: `tickets.attachments`),
assigns the ticket, and escalates a major complaint to the
department's general manager.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from daemon import logfields
from daemon.outbox.compose import ticket_fields
from daemon.outbox.enqueue import Outgoing
from daemon.parse.message import InboundMail
from daemon.route.decision import Decision, explain
from daemon.route.rules import Department, Rules
from daemon.sla.stamping import stamp_due_dates
from daemon.store import queries
from daemon.store import tickets as ticket_store
from daemon.store.models import InboundMessage, Ticket
from daemon.store.vocabulary import Action, InboundState, OutboundKind, OutboundState
from daemon.tickets.attachments import forwarding, notice_context, outgoing_files
from daemon.tickets.desk import Desk
from daemon.tickets.escalation import GmEscalation, escalate_to_gm
from daemon.tickets.policy import (
    acknowledgement_withheld,
    creation_reason,
    is_backlog,
    watchers,
)

log = logging.getLogger("caredesk.pipeline")

StatusChange = tuple[str, str]
"""A status change for the history: (old, new)."""


@dataclass(frozen=True)
class NewComplaint:
    """A mail that becomes a ticket: its row, the parsed mail, where routing sent it, the rules."""

    row: InboundMessage
    mail: InboundMail
    routed: Decision
    rules: Rules
    survey_of: str = ""
    """The ticket whose satisfaction survey this answer was, when a survey answer opened it."""


def arrival(row: InboundMessage) -> datetime:
    """When the mail reached the mailbox (the intake checked it), else when it was stored."""
    return row.arrived_at or row.received_at


ASSIGNED = "assigned"
"""A new complaint's status once its department is told: at the end of its first transaction."""


class NewComplaints:
    """Stores new complaint tickets and queues the mail each one sets off."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.own_addresses = desk.config.own_addresses

    # --- the ticket ----------------------------------------------------------

    def create(self, session: Session, complaint: NewComplaint) -> Ticket:
        """Store the ticket with its due dates and history; the inbound row becomes `processed`."""
        row, mail, routed = complaint.row, complaint.mail, complaint.routed
        now = self.desk.clock()
        received_local = arrival(row).astimezone(self.desk.zone)
        reference = queries.next_reference(session, self.desk.config.reference_prefix, received_local.year)
        logfields.add(ticket=reference)
        ticket = self._ticket(complaint, reference, now)
        stamp_due_dates(ticket, complaint.rules, now, timezone=self.desk.config.timezone)
        ticket_store.add_ticket(session, ticket)
        row.state, row.ticket_id, row.reason = InboundState.PROCESSED, ticket.id, "new complaint"
        self._record_creation(session, complaint, ticket, now)
        log.info(
            "ticket %s from %r routed to %s (%s), message-id %r",
            reference,
            mail.from_address,
            routed.department,
            routed.severity,
            mail.message_id,
        )
        return ticket

    def _ticket(self, complaint: NewComplaint, reference: str, now: datetime) -> Ticket:
        row, mail, routed = complaint.row, complaint.mail, complaint.routed
        return Ticket(
            reference=reference,
            # Its status once `notify` has queued the department's notice, in the same
            # transaction: stored so at once, the ticket needs no UPDATE for it (on
            # PostgreSQL a new row version, every index of the row written again).
            status=ASSIGNED,
            department=routed.department,
            product=routed.product,
            severity=routed.severity,
            escalated=routed.severity == "major" or routed.escalate,
            tags=",".join(routed.tags),
            sla_class=routed.sla_class,
            category=routed.category,
            channel="email",
            origin="email",
            customer_email=mail.from_address,
            watchers=",".join(watchers(mail, self.own_addresses)),
            customer_name=mail.from_name,
            customer_organisation=routed.organisation,
            pic_phone=mail.contact.phones[0] if mail.contact.phones else "",
            pic_email=mail.contact.emails[0] if mail.contact.emails else mail.from_address,
            language=mail.language,
            subject=mail.subject or "(tanpa subjek / no subject)",
            description=mail.text[:100_000],
            rules_version=complaint.rules.version,
            # When the mailbox received it (INTERNALDATE, the file's time): the SLA clocks start there.
            received_at=arrival(row),
            created_at=now,
            updated_at=now,
        )

    def _record_creation(
        self, session: Session, complaint: NewComplaint, ticket: Ticket, now: datetime
    ) -> None:
        """The `created` and `routed` history entries; `routed` keeps the whole decision as data."""
        routed = complaint.routed
        queries.add_event(
            session,
            ticket,
            queries.History(
                actor=complaint.mail.from_address or "unknown",
                action=Action.CREATED,
                at=now,
                field_name="status",
                new_value="new",
                reason=creation_reason(complaint.mail),
                inbound_id=complaint.row.id,
            ),
        )
        queries.add_event(
            session,
            ticket,
            queries.History(
                actor="caredesk",
                action=Action.ROUTED,
                at=now,
                field_name="department",
                new_value=routed.department,
                reason=f"rules {complaint.rules.version}: " + "; ".join(explain(routed)),
                data=routed.as_dict(),
            ),
        )

    # --- the mail it sets off ------------------------------------------------

    def notify(self, session: Session, complaint: NewComplaint, ticket: Ticket) -> None:
        """Acknowledge, tell the department, assign; escalate a major complaint to the GM."""
        department = complaint.rules.department(complaint.routed.department)
        context = self._context(complaint, ticket, department)
        acknowledged = self._acknowledge(session, complaint, ticket, context)
        if department.email:
            limit = self.desk.config.limits.forward_attachment_bytes
            forwarded = forwarding(complaint.mail.attachments, limit)
            self.desk.mailer.queue(
                session,
                Outgoing(
                    kind=OutboundKind.NOTICE,
                    recipient=department.email,
                    template="department_notice.txt",
                    context=context | notice_context(forwarded, ticket.reference, limit),
                    auto_submitted="auto-generated",
                    ticket=ticket,
                    cause_inbound_id=complaint.row.id,
                    language="id",
                    attachments=outgoing_files(forwarded),
                ),
            )
        # Stored assigned (`_ticket`); the history has each step: new, acknowledged, assigned.
        previous = "acknowledged" if acknowledged else "new"
        self.note(session, ticket, ASSIGNED, f"notice to {department.name}", (previous, ASSIGNED))
        if ticket.escalated:
            self._escalate(session, complaint, ticket, department, context)

    def note(
        self, session: Session, ticket: Ticket, action: str, reason: str, status: StatusChange | None = None
    ) -> None:
        """A history entry by caredesk itself, with the status change it made if any."""
        old, new = status if status is not None else (None, None)
        queries.add_event(
            session,
            ticket,
            queries.History(
                actor="caredesk",
                action=action,
                at=self.desk.clock(),
                reason=reason,
                field_name="status" if status is not None else None,
                old_value=old,
                new_value=new,
            ),
        )

    def _context(self, complaint: NewComplaint, ticket: Ticket, department: Department) -> dict[str, object]:
        routed = complaint.routed
        return {
            "org": self.desk.org,
            # The mails of a new ticket show it as it was opened, although it is stored assigned.
            "ticket": ticket_fields(ticket, self.desk.zone, department.name) | {"status": "new"},
            "department": {"id": department.id, "name": department.name},
            "language": ticket.language,
            "missing_contact": not complaint.mail.contact.phones,
            "routing": explain(routed),
            "major_reason": routed.major_reason or "",
            "survey_of": complaint.survey_of,
        }

    def _acknowledge(
        self, session: Session, complaint: NewComplaint, ticket: Ticket, context: dict[str, object]
    ) -> bool:
        """Queue the acknowledgement; whether it is on its way (the ticket is then acknowledged)."""
        row, mail = complaint.row, complaint.mail
        backlog = is_backlog(row.arrived_at, self.desk.clock(), self.desk.config.backlog_hours)
        withheld = acknowledgement_withheld(mail, backlog=backlog)
        if withheld is not None:
            self.note(session, ticket, "ack-suppressed", withheld)
            return False
        queued = self.desk.mailer.queue(
            session,
            Outgoing(
                kind=OutboundKind.ACKNOWLEDGEMENT,
                recipient=mail.from_address,
                template="acknowledgement.txt",
                context=context,
                auto_submitted="auto-replied",
                ticket=ticket,
                cause_inbound_id=row.id,
                in_reply_to=mail.message_id if not mail.message_id_synthetic else None,
                language=ticket.language,
                # From the address of the mailbox the complaint came in through.
                sender=self.desk.reply_from(row.source),
            ),
        )
        # Only a pending row is on its way. One that could not be rendered, or that
        # the mailer held back (a limit, a bounced address), is not: the ticket goes
        # from `new` to `assigned`, and the mailer's `failed-ack` or `suppressed-ack`
        # event, not an "acknowledged" one, is its history. None means this mail's
        # acknowledgement was queued before: nothing new to say.
        if queued is None or queued.state != OutboundState.PENDING:
            return False
        # Assigned next, in this transaction: only the history keeps this step.
        why = f"acknowledgement queued to {mail.from_address}"
        self.note(session, ticket, "acknowledged", why, ("new", "acknowledged"))
        return True

    def _escalate(
        self,
        session: Session,
        complaint: NewComplaint,
        ticket: Ticket,
        department: Department,
        context: dict[str, object],
    ) -> None:
        why = complaint.routed.major_reason or "escalate rule"
        gm = complaint.rules.general_manager_for(department.id)
        escalation = GmEscalation(ticket, department, context, why, complaint.row.id, gm)
        escalate_to_gm(session, self.desk, escalation)
