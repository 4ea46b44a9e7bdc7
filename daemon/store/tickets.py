"""Named queries of the ticket stage: the mail waiting for it, its tickets, what a mail belongs to.

The processing stage (`daemon.tickets`) claims stored mail and reads and
writes tickets only through these functions, so every SQL statement about a ticket has a name that says
what it is for. History is appended with `queries.add_event`; nothing here
records history, and callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import or_, select, update
from sqlmodel import Session, col

from daemon.store.models import InboundMessage, OutboundMessage, Ticket
from daemon.store.vocabulary import InboundState, OutboundKind

SETTLED_STATES = (InboundState.PROCESSED, InboundState.IGNORED, InboundState.DUPLICATE)
"""An inbound mail in one of these states is done with: a later copy of it is a duplicate."""

LifecycleValue = str | date | None
"""What a lifecycle column holds: text, the action target's date, or nothing."""


# --- the mail waiting to be processed ---------------------------------------


def waiting_mail(session: Session, now: datetime, limit: int) -> list[tuple[int, int]]:
    """(id, attempts) of up to `limit` mails due, oldest first: stored, or failed before and due again.

    On PostgreSQL several daemons share the work: rows another one holds are skipped.
    """
    due = or_(
        col(InboundMessage.state) == InboundState.STORED,
        (col(InboundMessage.state) == InboundState.RETRY) & (col(InboundMessage.next_attempt_at) <= now),
    )
    statement = (
        select(col(InboundMessage.id), col(InboundMessage.attempts))
        .where(due)
        .order_by(col(InboundMessage.id))
        .limit(limit)
    )
    return [
        (row_id, attempts)
        for row_id, attempts in session.execute(statement.with_for_update(skip_locked=True))
    ]


def count_attempt(session: Session, inbound_ids: Sequence[int]) -> None:
    """One more try for each of these mails (committed by the caller before the try begins)."""
    session.execute(
        update(InboundMessage)
        .where(col(InboundMessage.id).in_(inbound_ids))
        .values(attempts=col(InboundMessage.attempts) + 1)
    )


def claim_mail(session: Session, inbound_id: int) -> InboundMessage | None:
    """The mail, locked for this transaction; None when another daemon holds it."""
    return session.get(InboundMessage, inbound_id, with_for_update={"skip_locked": True})


# --- writing tickets -----------------------------------------------------------


def add_ticket(session: Session, ticket: Ticket) -> Ticket:
    """Store a new ticket; its id is assigned at once, for its history and the mail that made it."""
    session.add(ticket)
    session.flush()
    return ticket


def set_lifecycle_column(session: Session, ticket: Ticket, column: str, value: LifecycleValue) -> None:
    """Change one column the reply commands manage (status, root cause, department, ...)."""
    setattr(ticket, column, value)
    session.add(ticket)


def set_status(session: Session, ticket: Ticket, status: str) -> None:
    ticket.status = status
    session.add(ticket)


def mark_completed(session: Session, ticket: Ticket, at: datetime) -> None:
    """The ticket was resolved at `at` (the completion date of the complaint form)."""
    ticket.completed_at = at
    session.add(ticket)


def mark_closed_by(session: Session, ticket: Ticket, address: str) -> None:
    ticket.closed_by = address
    session.add(ticket)


def mark_updated(session: Session, ticket: Ticket, at: datetime) -> None:
    ticket.updated_at = at
    session.add(ticket)


def record_survey(session: Session, ticket: Ticket, score: int, comment: str) -> None:
    """The customer's answer to the satisfaction survey."""
    ticket.survey_score, ticket.survey_comment = score, comment
    session.add(ticket)


def fill_pic(session: Session, ticket: Ticket, column: str, value: str) -> None:
    """Set an empty PIC column (`pic_phone` or `pic_email`); a value already there is never replaced."""
    if column not in ("pic_phone", "pic_email"):
        raise ValueError(f"{column!r} is not a PIC column")
    if getattr(ticket, column):
        raise ValueError(f"{ticket.reference} already has its {column}")
    setattr(ticket, column, value)
    session.add(ticket)


def link_related(session: Session, ticket: Ticket, related: Ticket) -> None:
    """`ticket` was opened because of `related` (a survey answer under the standard)."""
    ticket.related_ticket_id = related.id
    session.add(ticket)


# --- reading tickets, and what a mail belongs to ------------------------------


def ticket_by_id(session: Session, ticket_id: int | None) -> Ticket | None:
    return None if ticket_id is None else session.get(Ticket, ticket_id)


def ticket_of_message_ids(session: Session, message_ids: Sequence[str]) -> int | None:
    """The ticket one of these Message-IDs belongs to: one of our mails first, then one we received."""
    ours = (
        session.execute(
            select(col(OutboundMessage.ticket_id)).where(col(OutboundMessage.message_id).in_(message_ids))
        )
        .scalars()
        .first()
    )
    if ours is not None:
        return ours
    return (
        session.execute(
            select(col(InboundMessage.ticket_id)).where(
                col(InboundMessage.message_id).in_(message_ids), col(InboundMessage.ticket_id).is_not(None)
            )
        )
        .scalars()
        .first()
    )


def survey_sent(session: Session, ticket: Ticket) -> bool:
    """Whether the satisfaction survey was queued for this ticket."""
    sent = session.execute(
        select(col(OutboundMessage.id)).where(
            col(OutboundMessage.ticket_id) == ticket.id, col(OutboundMessage.kind) == "survey"
        )
    ).first()
    return sent is not None


def noticed_ticket_ids(session: Session, ticket_ids: Sequence[int]) -> set[int]:
    """Those of `ticket_ids` whose department notice was queued already (whatever became of it)."""
    if not ticket_ids:
        return set()
    statement = select(col(OutboundMessage.ticket_id)).where(
        col(OutboundMessage.ticket_id).in_(ticket_ids), col(OutboundMessage.kind) == OutboundKind.NOTICE
    )
    return {ticket_id for ticket_id in session.execute(statement).scalars() if ticket_id is not None}


def first_customer_message_id(session: Session, ticket: Ticket) -> str | None:
    """The Message-ID of the customer's first mail on the ticket: what our answers reply to."""
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


def earlier_copy(session: Session, row: InboundMessage, since: datetime) -> InboundMessage | None:
    """A settled mail with the same bytes, or the same logical key received since `since`."""
    statement = (
        select(InboundMessage)
        .where(
            col(InboundMessage.id) != row.id,
            col(InboundMessage.state).in_(SETTLED_STATES),
            or_(
                col(InboundMessage.raw_sha256) == row.raw_sha256,
                (col(InboundMessage.logical_key) == row.logical_key)
                & (col(InboundMessage.received_at) >= since),
            ),
        )
        .order_by(col(InboundMessage.id))
        .limit(1)
    )
    return session.execute(statement).scalars().first()
