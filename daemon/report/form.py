"""The complaint form of one ticket (DOMAIN.md §2) with its whole history, for the archive.

`build_form` gathers the form's fields (the same row the register shows),
the append-only history, the mail in and out and the attachments of the mail
that came in (name, type, size, SHA-256: `daemon.tickets.mail_attachments`); `daemon.report.html_out`
renders it as a page and `daemon.report.pdf` prints that page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from daemon.report.monthly import RegisterRow, register_row
from daemon.route.rules import Rules
from daemon.store.models import InboundMessage, OutboundMessage, Ticket, TicketEvent
from daemon.tickets.attachments import size_text
from daemon.tickets.mail_attachments import ticket_attachments


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


def build_form(
    session: Session, rules: Rules, ticket: Ticket, *, now: datetime, timezone: str
) -> ComplaintForm:
    """The form of `ticket` as of `now`, its times local to `timezone`."""
    zone = ZoneInfo(timezone)
    return ComplaintForm(
        row=register_row(ticket, rules, zone, now),
        tags=tuple(tag for tag in ticket.tags.split(",") if tag),
        escalated=ticket.escalated,
        sla_class=ticket.sla_class or "",
        history=_history(session, ticket, zone),
        messages=_messages(session, ticket, zone),
        generated_at=now.astimezone(zone),
        timezone=timezone,
        attachments=_attachments(session, ticket, zone),
    )


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
        for item in ticket_attachments(session, ticket)
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
