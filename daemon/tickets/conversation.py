"""A mail about an existing ticket: who wrote it, and what it may do to the ticket.

The customer (and the people they copied) follow up: the text is added and
forwarded to the department, and a reply to a resolved ticket reopens it; after
closing, their answer to the survey is recorded. Members of the owning department,
customer-care staff and the GM update the ticket with reply commands, if their
mail is authenticated. Anyone else's mail, and staff mail that fails the
authentication check, becomes an unverified note: never a change.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from daemon.classify.authres import sender_verified
from daemon.config import Config
from daemon.outbox import signing
from daemon.outbox.compose import ticket_fields
from daemon.outbox.enqueue import Mailer, without_tag
from daemon.parse.message import InboundMail
from daemon.route.rules import Department, Rules
from daemon.sla.stamping import record_first_response, restart_resolution_clock
from daemon.store import queries
from daemon.store.models import InboundMessage, OutboundMessage, Ticket
from daemon.tickets.commands import parse_reply
from daemon.tickets.lifecycle import Outcome, TicketView, apply_commands, customer_reply_reopens

log = logging.getLogger("caredesk.conversation")

_SUBJECT_TAG = re.compile(r"\[([A-Z0-9]{1,10}-\d{4}-\d{6})\]", re.I)
_SCORE = re.compile(r"^\s*(?:(?:nilai|skor|score|rating)\s*[:=]?\s*)?([1-5])(?:\s*/\s*5)?\b", re.I)
_NEGATIVE = re.compile(
    r"\b(kecewa|tidak puas|buruk|jelek|parah|lambat sekali|mengecewakan|disappointed|"
    r"dissatisfied|terrible|awful|unacceptable|very bad|poor service)\b",
    re.I,
)
STAFF_ROLES = ("department", "care", "gm")
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
}


@dataclass(frozen=True)
class Thread:
    ticket_id: int | None
    via: str = ""
    near_miss: str = ""
    """A subject tag naming a ticket the sender may not write to: recorded, not followed."""


class Conversation:
    def __init__(
        self,
        config: Config,
        mailer: Mailer,
        clock: Callable[[], datetime],
        signing_key: bytes | None,
        open_complaint: Callable[[Session, InboundMessage, InboundMail, Ticket], Ticket],
    ) -> None:
        self.config = config
        self.mailer = mailer
        self.clock = clock
        self.signing_key = signing_key
        self.open_complaint = open_complaint
        self.zone = ZoneInfo(config.timezone)

    # --- which ticket ------------------------------------------------------

    def find_thread(self, session: Session, mail: InboundMail, rules: Rules) -> Thread:
        """In order: our Message-IDs, the signed reply address, the subject tag (trusted senders only)."""
        by_reference = self._by_message_ids(session, mail)
        if by_reference is not None:
            return Thread(by_reference, "references")
        by_token = self._by_reply_address(session, mail)
        if by_token is not None:
            return Thread(by_token, "reply address")
        match = _SUBJECT_TAG.search(mail.subject)
        if match is None:
            return Thread(None)
        ticket = queries.find_ticket(session, match.group(1))
        if ticket is None:
            return Thread(None, near_miss=f"subject names {match.group(1).upper()}, which does not exist")
        if self.role_of(mail.from_address, ticket, rules) is None:
            return Thread(None, near_miss=f"subject names {ticket.reference}, but the sender is not on it")
        return Thread(ticket.id, "subject tag")

    def _by_message_ids(self, session: Session, mail: InboundMail) -> int | None:
        ids = [i for i in (*mail.in_reply_to, *mail.references) if i][:20]
        if not ids:
            return None
        ours = (
            session.execute(
                select(col(OutboundMessage.ticket_id)).where(col(OutboundMessage.message_id).in_(ids))
            )
            .scalars()
            .first()
        )
        if ours is not None:
            return ours
        return (
            session.execute(
                select(col(InboundMessage.ticket_id)).where(
                    col(InboundMessage.message_id).in_(ids), col(InboundMessage.ticket_id).is_not(None)
                )
            )
            .scalars()
            .first()
        )

    def _by_reply_address(self, session: Session, mail: InboundMail) -> int | None:
        if self.signing_key is None:
            return None
        candidates = [*mail.to, *mail.cc]
        for name in ("delivered-to", "x-original-to"):
            candidates.extend(mail.header_all(name))
        for candidate in candidates:
            reference = signing.reference_from_reply_address(self.signing_key, self.config.address, candidate)
            if reference is not None:
                ticket = queries.find_ticket(session, reference)
                if ticket is not None:
                    return ticket.id
        return None

    # --- who is writing ----------------------------------------------------

    def role_of(self, sender: str, ticket: Ticket, rules: Rules) -> str | None:
        sender = without_tag(sender.lower())
        if sender == ticket.customer_email or sender in _addresses(ticket.watchers):
            return "customer"
        department = _department_or_none(rules, ticket.department)
        if department is not None and sender in {department.email, *department.members}:
            return "department"
        care = _department_or_none(rules, rules.default_department)
        if care is not None and sender in {care.email, *care.members}:
            return "care"
        if department is not None and sender in {department.general_manager, department.manager}:
            return "gm"
        return None

    # --- what the mail does ------------------------------------------------

    def handle(
        self, session: Session, row: InboundMessage, mail: InboundMail, ticket: Ticket, rules: Rules
    ) -> None:
        row.state, row.ticket_id = "processed", ticket.id
        role = self.role_of(mail.from_address, ticket, rules)
        if role == "customer":
            self._from_customer(session, row, mail, ticket, rules)
            return
        if role is None:
            self._unverified(session, row, mail, ticket, "the sender is not a participant of this ticket")
            return
        verdict = sender_verified(
            mail.headers, mail.from_address, trusted_authserv_ids=self.config.security.trusted_authserv_ids
        )
        if self._must_verify(verdict.reason) and not verdict.verified:
            log.warning(
                "unverified %s mail from %r on %s: %s",
                role,
                mail.from_address,
                ticket.reference,
                verdict.reason,
            )
            self._unverified(session, row, mail, ticket, f"sender not authenticated: {verdict.reason}")
            return
        self._from_staff(session, row, mail, ticket, role, rules)

    def _must_verify(self, reason: str) -> bool:
        """Whether this mail must carry a passing result from a trusted receiving server.

        With trusted servers configured and `require_authenticated_senders`, always. Without
        the requirement, only a trusted server's explicit fail counts against the sender.
        """
        security = self.config.security
        if not security.trusted_authserv_ids:
            return False
        if security.require_authenticated_senders:
            return True
        return "fail" in reason

    def _unverified(
        self, session: Session, row: InboundMessage, mail: InboundMail, ticket: Ticket, why: str
    ) -> None:
        row.reason = f"unverified note: {why}"
        queries.add_event(
            session,
            ticket,
            actor=mail.from_address or "unknown",
            action="unverified-note",
            at=self.clock(),
            reason=why,
            new_value=mail.new_text[:10_000],
            inbound_id=row.id,
        )

    def _from_customer(
        self, session: Session, row: InboundMessage, mail: InboundMail, ticket: Ticket, rules: Rules
    ) -> None:
        now = self.clock()
        if ticket.status == "closed" and self._answers_survey(session, ticket):
            score = _survey_score(mail.new_text)
            if score is not None:
                self._record_survey(session, row, mail, ticket, score)
                return
        reopened = customer_reply_reopens(_view(ticket))
        row.reason = "customer follow-up" + (" (reopened)" if reopened else "")
        queries.add_event(
            session,
            ticket,
            actor=mail.from_address,
            action="follow-up",
            at=now,
            reason="customer replied by mail",
            new_value=mail.new_text[:10_000],
            inbound_id=row.id,
        )
        if reopened:
            self._set(
                session,
                ticket,
                "status",
                "in-progress",
                actor=mail.from_address,
                row=row,
                why="the customer replied to a resolved complaint",
            )
            restart_resolution_clock(session, ticket, now, rules, timezone=self.config.timezone)
        ticket.updated_at = now
        session.add(ticket)
        department = _department_or_none(rules, ticket.department)
        if department is not None and department.email:
            self.mailer.queue(
                session,
                kind="forward",
                recipient=department.email,
                template="customer_followup.txt",
                context=self._context(ticket)
                | {"text": mail.new_text, "sender": mail.from_address, "reopened": reopened},
                ticket=ticket,
                cause_inbound_id=row.id,
            )

    def _answers_survey(self, session: Session, ticket: Ticket) -> bool:
        if ticket.survey_score is not None:
            return False
        sent = session.execute(
            select(col(OutboundMessage.id)).where(
                col(OutboundMessage.ticket_id) == ticket.id, col(OutboundMessage.kind) == "survey"
            )
        ).first()
        return sent is not None

    def _record_survey(
        self, session: Session, row: InboundMessage, mail: InboundMail, ticket: Ticket, score: int
    ) -> None:
        comment = _SCORE.sub("", mail.new_text, count=1).strip()[:5000]
        ticket.survey_score, ticket.survey_comment = score, comment
        session.add(ticket)
        row.reason = f"survey answer: {score}"
        queries.add_event(
            session,
            ticket,
            actor=mail.from_address,
            action="survey",
            at=self.clock(),
            field_name="survey_score",
            new_value=str(score),
            reason=comment[:2000],
            inbound_id=row.id,
        )
        negative = bool(_NEGATIVE.search(comment))
        if score < self.config.survey_standard or negative:
            why = (
                f"score {score} under the standard {self.config.survey_standard}"
                if not negative
                else ("a negative comment")
            )
            new = self.open_complaint(session, row, mail, ticket)
            new.related_ticket_id = ticket.id
            session.add(new)
            queries.add_event(
                session,
                ticket,
                actor="caredesk",
                action="survey-complaint",
                at=self.clock(),
                reason=f"{why}: new complaint {new.reference}",
            )
            row.reason += f"; opened {new.reference}"

    # --- department, customer care, GM ------------------------------------

    def _from_staff(
        self,
        session: Session,
        row: InboundMessage,
        mail: InboundMail,
        ticket: Ticket,
        role: str,
        rules: Rules,
    ) -> None:
        parsed = parse_reply(mail.new_text)
        today = self.clock().astimezone(self.zone).date()
        outcome = apply_commands(
            _view(ticket), parsed, role=role, departments=set(rules.departments), today=today
        )
        for change in outcome.changes:
            self._set(
                session,
                ticket,
                change.field,
                change.new,
                actor=mail.from_address,
                row=row,
                why=f"reply by mail ({role})",
                old=change.old,
            )
        # Both the #note lines and the mail's free text are internal notes: keep both.
        free_text = (parsed.note_text,) if parsed.note_text.strip() else ()
        for note in (*outcome.notes, *free_text):
            queries.add_event(
                session,
                ticket,
                actor=mail.from_address,
                action="note",
                at=self.clock(),
                reason="internal note",
                new_value=note[:10_000],
                inbound_id=row.id,
            )
        row.reason = f"{role} update: {len(outcome.changes)} changes, {len(outcome.refusals)} refused"
        self._after_changes(session, row, mail, ticket, outcome, rules)
        self.mailer.queue(
            session,
            kind="confirmation",
            recipient=mail.from_address,
            template="command_confirmation.txt",
            context=self._context(ticket)
            | {
                "changes": outcome.changes,
                "refusals": outcome.refusals,
                "notes": outcome.notes,
                "relayed": bool(outcome.reply_to_customer),
            },
            auto_submitted="auto-replied",
            ticket=ticket,
            cause_inbound_id=row.id,
            in_reply_to=mail.message_id,
        )

    def _after_changes(
        self,
        session: Session,
        row: InboundMessage,
        mail: InboundMail,
        ticket: Ticket,
        outcome: Outcome,
        rules: Rules,
    ) -> None:
        now = self.clock()
        context = self._context(ticket)
        first_message = self._customer_message_id(session, ticket)
        if outcome.reply_to_customer:
            self.mailer.queue(
                session,
                kind="reply",
                recipient=ticket.customer_email,
                template="department_reply.txt",
                context=context | {"text": outcome.reply_to_customer},
                auto_submitted="no",
                ticket=ticket,
                cause_inbound_id=row.id,
                in_reply_to=first_message,
                language=ticket.language,
            )
            record_first_response(session, ticket, now)
        if outcome.reopened:
            restart_resolution_clock(session, ticket, now, rules, timezone=self.config.timezone)
        if outcome.reassigned_to:
            department = rules.department(outcome.reassigned_to)
            if department.email:
                self.mailer.queue(
                    session,
                    kind="reassigned",
                    recipient=department.email,
                    template="department_notice.txt",
                    context=context
                    | {
                        "department": {"id": department.id, "name": department.name},
                        "routing": [f"reassigned by {mail.from_address}"],
                    },
                    ticket=ticket,
                    cause_inbound_id=row.id,
                )
        if outcome.resolved:
            ticket.completed_at = now
            self.mailer.queue(
                session,
                kind="resolution",
                recipient=ticket.customer_email,
                template="resolution.txt",
                context=self._context(ticket),
                auto_submitted="no",
                ticket=ticket,
                cause_inbound_id=row.id,
                in_reply_to=first_message,
                language=ticket.language,
            )
        if outcome.closed:
            ticket.closed_by = mail.from_address
            self.mailer.queue(
                session,
                kind="survey",
                recipient=ticket.customer_email,
                template="survey.txt",
                context=self._context(ticket),
                auto_submitted="auto-generated",
                ticket=ticket,
                cause_inbound_id=row.id,
                in_reply_to=first_message,
                language=ticket.language,
            )
        ticket.updated_at = now
        session.add(ticket)

    def _set(
        self,
        session: Session,
        ticket: Ticket,
        field: str,
        value: str | None,
        *,
        actor: str,
        row: InboundMessage,
        why: str,
        old: str | None = None,
    ) -> None:
        column = _COLUMNS[field]
        previous = getattr(ticket, column)
        stored: object = date.fromisoformat(value) if column == "action_target" and value else value
        setattr(ticket, column, stored)
        queries.add_event(
            session,
            ticket,
            actor=actor,
            action="changed",
            at=self.clock(),
            field_name=column,
            old_value=old if old is not None else (None if previous is None else str(previous)),
            new_value=value,
            reason=why,
            inbound_id=row.id,
        )

    def _customer_message_id(self, session: Session, ticket: Ticket) -> str | None:
        return (
            session.execute(
                select(col(InboundMessage.message_id))
                .where(
                    col(InboundMessage.ticket_id) == ticket.id,
                    col(InboundMessage.from_address) == ticket.customer_email,
                )
                .order_by(col(InboundMessage.id))
            )
            .scalars()
            .first()
        )

    def _context(self, ticket: Ticket) -> dict[str, object]:
        return {
            "org": {"name": self.config.name, "address": self.config.address},
            "language": ticket.language,
            "ticket": ticket_fields(ticket, self.zone),
        }


def _view(ticket: Ticket) -> TicketView:
    return TicketView(
        status=ticket.status,
        severity=ticket.severity,
        department=ticket.department,
        root_cause=ticket.root_cause,
        corrective_action=ticket.corrective_action,
        action_target=ticket.action_target,
        preventive_action=ticket.preventive_action,
        effectiveness=ticket.effectiveness,
    )


def _addresses(listed: str) -> set[str]:
    return {address.strip().lower() for address in listed.split(",") if address.strip()}


def _department_or_none(rules: Rules, department_id: str) -> Department | None:
    # A ticket can name a department that a later rules file no longer has.
    try:
        return rules.department(department_id)
    except KeyError:
        return None


def _survey_score(text: str) -> int | None:
    first = next((line for line in text.splitlines() if line.strip()), "")
    match = _SCORE.match(first)
    return int(match.group(1)) if match else None
