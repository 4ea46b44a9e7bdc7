"""The complaint form of one ticket (DOMAIN.md §2) with its whole history, for the archive.

`build_form` gathers the form's fields (the same row the register shows),
the append-only history and the mail in and out; `daemon.report.html_out`
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
