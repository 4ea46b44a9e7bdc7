"""A reply from the owning department, customer care or the GM: its commands applied to the ticket.

`StaffReplies.handle` reads the reply's commands (`daemon.tickets.commands`),
lets the lifecycle rules decide what they do (`daemon.tickets.lifecycle`),
stores every change and note as history, and queues what follows from them:
the text for the customer, the notice to a department the ticket was
reassigned to, the resolution and the survey, and the confirmation to the
sender listing what was done and what was refused. Whether the sender may
command the ticket at all was decided before (`daemon.tickets.conversation`).

A new severity or department changes the ticket's SLA targets: its open due
dates are stamped again (`daemon.sla.stamping.restamp_due_dates`). A ticket
made major, or moved while major, goes to its department's general manager at
once (`daemon.tickets.escalation`). Every human answer that reaches the
customer meets the first response: the relayed `#reply`, the resolution mail,
and the staff mail itself when it was addressed to the customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from daemon.outbox.enqueue import Outgoing
from daemon.sla.stamping import Retarget, record_first_response, restamp_due_dates, restart_resolution_clock
from daemon.store import queries
from daemon.store import tickets as ticket_store
from daemon.store.models import Ticket
from daemon.store.vocabulary import Action, OutboundKind, OutboundState
from daemon.tickets.answers import addressed_to, customer_addresses
from daemon.tickets.commands import ParsedReply, parse_reply
from daemon.tickets.desk import Desk, FollowUp
from daemon.tickets.escalation import LaterEscalation, escalate_after_change
from daemon.tickets.form_labels import Known
from daemon.tickets.lifecycle import Change, Outcome, TicketView, apply_commands, escalation_reason

# Field name in the lifecycle -> column on the ticket.
_COLUMNS = {
    "status": "status",
    "root_cause": "root_cause",
    "corrective_action": "corrective_action",
    "action_target": "action_target",
    "preventive_action": "preventive_action",
    "effectiveness": "effectiveness",
    "severity": "severity",
    "department": "department",
    "category": "category",
    "customer_organisation": "customer_organisation",
}


@dataclass(frozen=True)
class _Answer:
    """A mail to the customer that a change sets off: its kind, template and Auto-Submitted value."""

    kind: str
    template: str
    auto_submitted: str


_ROLE_NAMES = {"department": "department member", "care": "customer care", "gm": "general manager"}
_RETARGETING = frozenset({"severity", "department"})
"""The fields the SLA targets depend on (with the SLA class, which no command sets)."""

_REPLY = _Answer(OutboundKind.REPLY, "department_reply.txt", "no")
_RESOLUTION = _Answer(OutboundKind.RESOLUTION, "resolution.txt", "no")
_SURVEY = _Answer(OutboundKind.SURVEY, "survey.txt", "auto-generated")


def view_of(ticket: Ticket) -> TicketView:
    """What the lifecycle rules need to know of `ticket`."""
    return TicketView(
        status=ticket.status,
        severity=ticket.severity,
        department=ticket.department,
        root_cause=ticket.root_cause,
        corrective_action=ticket.corrective_action,
        action_target=ticket.action_target,
        preventive_action=ticket.preventive_action,
        effectiveness=ticket.effectiveness,
        category=ticket.category,
        customer_organisation=ticket.customer_organisation,
    )


def apply_change(session: Session, follow_up: FollowUp, change: Change, *, why: str, at: datetime) -> None:
    """Store one lifecycle change on the ticket, with a `changed` history entry by the mail's sender.

    Without `change.old` the history's old value is the column as it was.
    """
    ticket = follow_up.ticket
    column = _COLUMNS[change.field]
    previous = getattr(ticket, column)
    stored = date.fromisoformat(change.new) if column == "action_target" and change.new else change.new
    ticket_store.set_lifecycle_column(session, ticket, column, stored)
    old = change.old if change.old is not None else (None if previous is None else str(previous))
    queries.add_event(
        session,
        ticket,
        queries.History(
            actor=follow_up.mail.from_address,
            action=Action.CHANGED,
            at=at,
            field_name=column,
            old_value=old,
            new_value=change.new,
            reason=why,
            inbound_id=follow_up.row.id,
        ),
    )


class StaffReplies:
    """Applies the commands of a department's, customer care's or the GM's reply."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def handle(self, session: Session, follow_up: FollowUp, role: str) -> None:
        """Apply the reply's commands as `role` allows, store the changes and queue what follows."""
        parsed = parse_reply(follow_up.mail.new_text)
        today = self.desk.clock().astimezone(self.desk.zone).date()
        before = view_of(follow_up.ticket)
        outcome = apply_commands(
            before,
            parsed,
            role=role,
            known=Known(set(follow_up.rules.departments), follow_up.rules.categories),
            today=today,
        )
        self._record(session, follow_up, role, parsed, outcome)
        follow_up.row.reason = (
            f"{role} update: {len(outcome.changes)} changes, {len(outcome.refusals)} refused"
        )
        self._after_changes(session, follow_up, outcome)
        escalated_to = self._retarget(session, follow_up, role, before, outcome)
        self._answered_directly(session, follow_up)
        self._confirm(session, follow_up, outcome, escalated_to)

    def _record(
        self, session: Session, follow_up: FollowUp, role: str, parsed: ParsedReply, outcome: Outcome
    ) -> None:
        """Every change, then every internal note, as history."""
        for change in outcome.changes:
            apply_change(session, follow_up, change, why=f"reply by mail ({role})", at=self.desk.clock())
        # Both the #note lines and the mail's free text are internal notes: keep both.
        free_text = (parsed.note_text,) if parsed.note_text.strip() else ()
        for note in (*outcome.notes, *free_text):
            queries.add_event(
                session,
                follow_up.ticket,
                queries.History(
                    actor=follow_up.mail.from_address,
                    action=Action.NOTE,
                    at=self.desk.clock(),
                    reason="internal note",
                    new_value=note[:10_000],
                    inbound_id=follow_up.row.id,
                ),
            )

    def _after_changes(self, session: Session, follow_up: FollowUp, outcome: Outcome) -> None:
        """What the changes set off: the customer's text, the SLA clock, the new department, the end."""
        ticket = follow_up.ticket
        now = self.desk.clock()
        # The ticket as it was before this mail's SLA changes: the reply and the notice show that.
        context = self.desk.mail_context(ticket)
        first_message = ticket_store.first_customer_message_id(session, ticket)
        sender = follow_up.mail.from_address
        if outcome.reply_to_customer:
            reply = context | {"text": outcome.reply_to_customer}
            if self._to_customer(session, follow_up, _REPLY, reply, first_message):
                record_first_response(
                    session, ticket, now, how=f"a reply by {sender} relayed to the customer"
                )
        if outcome.reopened:
            restart_resolution_clock(
                session, ticket, now, follow_up.rules, timezone=self.desk.config.timezone
            )
        if outcome.reassigned_to:
            self._tell_new_department(session, follow_up, outcome.reassigned_to, context)
        if outcome.resolved:
            ticket_store.mark_completed(session, ticket, now)
            resolution = self.desk.mail_context(ticket)
            if self._to_customer(session, follow_up, _RESOLUTION, resolution, first_message):
                # The customer reads the root cause and the action: a person's answer.
                record_first_response(session, ticket, now, how=f"the resolution mail ({sender} resolved it)")
        if outcome.closed:
            ticket_store.mark_closed_by(session, ticket, follow_up.mail.from_address)
            self._to_customer(session, follow_up, _SURVEY, self.desk.mail_context(ticket), first_message)
        ticket_store.mark_updated(session, ticket, now)

    def _to_customer(
        self,
        session: Session,
        follow_up: FollowUp,
        answer: _Answer,
        context: Mapping[str, object],
        in_reply_to: str | None,
    ) -> bool:
        """Queue `answer` to the customer; True when it is on its way (or was queued for this mail before)."""
        ticket = follow_up.ticket
        queued = self.desk.mailer.queue(
            session,
            Outgoing(
                kind=answer.kind,
                recipient=ticket.customer_email,
                template=answer.template,
                context=context,
                auto_submitted=answer.auto_submitted,
                ticket=ticket,
                cause_inbound_id=follow_up.row.id,
                in_reply_to=in_reply_to,
                language=ticket.language,
            ),
        )
        return queued is None or queued.state == OutboundState.PENDING

    def _retarget(
        self, session: Session, follow_up: FollowUp, role: str, before: TicketView, outcome: Outcome
    ) -> str | None:
        """A new severity or department: stamp the open due dates again, tell the GM of a major ticket.

        The GM who was mailed comes back, for the confirmation.
        """
        moved = [change for change in outcome.changes if change.field in _RETARGETING]
        if not moved:
            return None
        sender = f"{follow_up.mail.from_address} ({_ROLE_NAMES.get(role, role)})"
        what = "; ".join(f"{change.field} {change.old or '-'} -> {change.new or '-'}" for change in moved)
        retarget = Retarget(
            rules=follow_up.rules,
            at=self.desk.clock(),
            reason=f"{what} by {sender}",
            inbound_id=follow_up.row.id,
            timezone=self.desk.config.timezone,
        )
        restamp_due_dates(session, follow_up.ticket, retarget)
        reason = escalation_reason(before, outcome, sender=sender)
        if reason is None:
            return None
        later = LaterEscalation(follow_up, reason, department_before=before.department)
        return escalate_after_change(session, self.desk, later)

    def _answered_directly(self, session: Session, follow_up: FollowUp) -> None:
        """A staff mail addressed to the customer reached them: it meets the first response too."""
        ticket, mail = follow_up.ticket, follow_up.mail
        if addressed_to(mail, customer_addresses(ticket.customer_email, ticket.pic_email)):
            sent_at = min(follow_up.row.arrived_at or self.desk.clock(), self.desk.clock())
            record_first_response(
                session, ticket, sent_at, how=f"a mail from {mail.from_address} to the customer"
            )

    def _tell_new_department(
        self, session: Session, follow_up: FollowUp, department_id: str, context: Mapping[str, object]
    ) -> None:
        department = follow_up.rules.department(department_id)
        if not department.email:
            return
        self.desk.mailer.queue(
            session,
            Outgoing(
                kind=OutboundKind.REASSIGNED,
                recipient=department.email,
                template="department_notice.txt",
                context={
                    **context,
                    "department": {"id": department.id, "name": department.name},
                    "routing": [f"reassigned by {follow_up.mail.from_address}"],
                },
                ticket=follow_up.ticket,
                cause_inbound_id=follow_up.row.id,
            ),
        )

    def _confirm(
        self, session: Session, follow_up: FollowUp, outcome: Outcome, escalated_to: str | None
    ) -> None:
        """Tell the sender what their commands did, what was refused, and whom the ticket went up to."""
        self.desk.mailer.queue(
            session,
            Outgoing(
                kind=OutboundKind.CONFIRMATION,
                recipient=follow_up.mail.from_address,
                template="command_confirmation.txt",
                context=self.desk.mail_context(follow_up.ticket)
                | {
                    "changes": outcome.changes,
                    "refusals": outcome.refusals,
                    "notes": outcome.notes,
                    "relayed": bool(outcome.reply_to_customer),
                    "escalated_to": escalated_to or "",
                },
                auto_submitted="auto-replied",
                ticket=follow_up.ticket,
                cause_inbound_id=follow_up.row.id,
                in_reply_to=follow_up.mail.message_id,
            ),
        )
