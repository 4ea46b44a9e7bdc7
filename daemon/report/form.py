"""The complaint form of one ticket (DOMAIN.md §2) with its whole history, for the archive.

`build_form` gathers the form's fields (the same row the register shows),
the append-only history, the text of the internal notes, the customer's
satisfaction survey answer (score, comment, when), the linked complaints (the
earlier one a survey answer reopened as this one, and those opened from this
one's survey), the mail in and out and the attachments of the mail
that came in (name, type, size, SHA-256: `daemon.tickets.attachment_index`); `daemon.report.html_out`
renders it as a page (autoescaped: everything from outside is text) and
`daemon.report.pdf` prints that page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from daemon.report.monthly import RegisterRow, register_row
from daemon.route.rules import Rules
from daemon.store import tickets as ticket_store
from daemon.store.models import InboundMessage, OutboundMessage, Ticket, TicketEvent
from daemon.store.vocabulary import Action
from daemon.tickets.attachment_index import ticket_listing
from daemon.tickets.attachments import size_text


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    at: datetime
    actor: str
    action: str
    field: str
    old: str
    new: str
    reason: str


@dataclass(frozen=True, slots=True)
class MessageEntry:
    at: datetime
    direction: str
    """in or out."""
    party: str
    """Who sent it (in) or who it went to (out)."""
    kind: str
    subject: str
    state: str


@dataclass(frozen=True, slots=True)
class AttachmentEntry:
    """One attachment of a mail that came in about the ticket."""

    filename: str
    content_type: str
    size: str
    """As people read it (`283 B`, `1.5 KB`)."""
    sha256: str
    sender: str
    at: datetime
    """When the mail that brought it was received."""


@dataclass(frozen=True, slots=True)
class NoteEntry:
    """An internal note staff wrote on the ticket (a `note` history entry)."""

    at: datetime
    author: str
    text: str


@dataclass(frozen=True, slots=True)
class SurveyEntry:
    """The customer's answer to the satisfaction survey."""

    score: int
    """1 to 5."""
    comment: str
    answered_at: datetime | None
    """When the answer was recorded (its `survey` history entry); None when the history has none."""


@dataclass(frozen=True, slots=True)
class Links:
    """The complaints linked to this one."""

    opened_from: str = ""
    """The reference of the earlier complaint whose survey answer opened this one."""
    opened_here: tuple[str, ...] = ()
    """The references of the complaints opened from this one's survey answer."""


@dataclass(frozen=True)
class ComplaintForm:
    row: RegisterRow
    tags: tuple[str, ...]
    escalated: bool
    sla_class: str
    history: tuple[HistoryEntry, ...]
    messages: tuple[MessageEntry, ...]
    generated_at: datetime
    timezone: str
    attachments: tuple[AttachmentEntry, ...] = ()
    survey: SurveyEntry | None = None
    notes: tuple[NoteEntry, ...] = ()
    links: Links = Links()


def build_form(
    session: Session, rules: Rules, ticket: Ticket, *, now: datetime, timezone: str
) -> ComplaintForm:
    """The form of `ticket` as of `now`, its times local to `timezone`."""
    zone = ZoneInfo(timezone)
    history = _history(session, ticket, zone)
    related = ticket_store.ticket_by_id(session, ticket.related_ticket_id)
    return ComplaintForm(
        row=register_row(ticket, rules, zone, now),
        tags=tuple(tag for tag in ticket.tags.split(",") if tag),
        escalated=ticket.escalated,
        sla_class=ticket.sla_class or "",
        history=history,
        messages=_messages(session, ticket, zone),
        generated_at=now.astimezone(zone),
        timezone=timezone,
        attachments=_attachments(session, ticket, zone),
        survey=_survey(ticket, history),
        notes=tuple(NoteEntry(e.at, e.actor, e.new) for e in history if e.action == Action.NOTE),
        links=Links(
            opened_from=related.reference if related is not None else "",
            opened_here=tuple(ticket_store.references_linked_to(session, ticket)),
        ),
    )


def _survey(ticket: Ticket, history: tuple[HistoryEntry, ...]) -> SurveyEntry | None:
    """The survey answer on the ticket, with the time of its history entry (the last, if several)."""
    if ticket.survey_score is None:
        return None
    answered = [entry.at for entry in history if entry.action == Action.SURVEY]
    return SurveyEntry(ticket.survey_score, ticket.survey_comment or "", answered[-1] if answered else None)


def _attachments(session: Session, ticket: Ticket, zone: ZoneInfo) -> tuple[AttachmentEntry, ...]:
    """The attachments of the mails processed onto the ticket, oldest mail first."""
    return tuple(
        AttachmentEntry(
            filename=item.attachment.filename,
            content_type=item.attachment.content_type,
            size=size_text(item.attachment.size),
            sha256=item.attachment.sha256,
            sender=item.sender,
            at=item.received_at.astimezone(zone),
        )
        for item in ticket_listing(session, ticket)
    )


def _history(session: Session, ticket: Ticket, zone: ZoneInfo) -> tuple[HistoryEntry, ...]:
    """The ticket's append-only history, oldest first."""
    events = session.execute(
        select(TicketEvent).where(col(TicketEvent.ticket_id) == ticket.id).order_by(col(TicketEvent.id))
    ).scalars()
    return tuple(
        HistoryEntry(
            at=event.at.astimezone(zone),
            actor=event.actor,
            action=event.action,
            field=event.field_name or "",
            old=event.old_value or "",
            new=event.new_value or "",
            reason=event.reason,
        )
        for event in events
    )


def _messages(session: Session, ticket: Ticket, zone: ZoneInfo) -> tuple[MessageEntry, ...]:
    """The mail that came in about the ticket and went out for it, in time order."""
    inbound = session.execute(
        select(
            col(InboundMessage.received_at),
            col(InboundMessage.from_address),
            col(InboundMessage.subject),
            col(InboundMessage.state),
        )
        .where(col(InboundMessage.ticket_id) == ticket.id)
        .order_by(col(InboundMessage.id))
    ).all()
    outbound = session.execute(
        select(
            col(OutboundMessage.created_at),
            col(OutboundMessage.recipient),
            col(OutboundMessage.kind),
            col(OutboundMessage.subject),
            col(OutboundMessage.state),
        )
        .where(col(OutboundMessage.ticket_id) == ticket.id)
        .order_by(col(OutboundMessage.id))
    ).all()
    messages = [
        MessageEntry(at.astimezone(zone), "in", sender, "mail", subject, state)
        for at, sender, subject, state in inbound
    ]
    messages += [
        MessageEntry(at.astimezone(zone), "out", recipient, kind, subject, state)
        for at, recipient, kind, subject, state in outbound
    ]
    messages.sort(key=lambda message: message.at)
    return tuple(messages)
