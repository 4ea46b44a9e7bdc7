"""The counts `caredesk health` and the metrics endpoint read: backlogs, held mail, tickets.

Every query here is meant to run at each scrape or check: those that judge
health look only at the rows in a few states (through the `state` indexes),
the totals by state and status are one GROUP BY each over an indexed column.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlmodel import Session, col

from daemon.store.models import InboundMessage, OutboundMessage, Ticket
from daemon.store.vocabulary import InboundState, OutboundState

WAITING_OUT = (OutboundState.PENDING, OutboundState.RETRY, OutboundState.SENDING)
"""Outgoing mail that is still to go out on its own."""
NEEDS_A_PERSON_OUT = (OutboundState.FAILED, OutboundState.UNCERTAIN)
"""Outgoing mail that goes out only when a person says so (`caredesk outbox retry`)."""


@dataclass(frozen=True, slots=True)
class Held:
    """Rows in one state: how many, the oldest one's time, and how many since a moment."""

    count: int = 0
    oldest: datetime | None = None
    recent: int = 0


@dataclass(frozen=True, slots=True)
class OutboxSummary:
    waiting: Held
    """pending, retry and sending; `oldest` is the oldest one's `created_at`."""
    failed: Held
    uncertain: Held


@dataclass(frozen=True, slots=True)
class InboundSummary:
    stored: Held
    """Stored, never tried yet; `oldest` is the oldest one's `received_at`."""
    retry: Held
    quarantined: Held
    """`recent`: quarantined since the moment asked about."""


def outbox_summary(session: Session, since: datetime) -> OutboxSummary:
    """The outgoing mail still to go and the mail that needs a person (`recent`: queued since `since`)."""
    states = (*WAITING_OUT, *NEEDS_A_PERSON_OUT)
    created = col(OutboundMessage.created_at)
    rows = session.execute(
        select(
            col(OutboundMessage.state),
            func.count(),
            func.min(created),
            func.sum(case((created >= since, 1), else_=0)),
        )
        .where(col(OutboundMessage.state).in_(states))
        .group_by(col(OutboundMessage.state))
    ).all()
    by_state = {state: Held(int(count), oldest, int(recent or 0)) for state, count, oldest, recent in rows}
    waiting = [by_state[state] for state in WAITING_OUT if state in by_state]
    return OutboxSummary(
        waiting=_combined(waiting),
        failed=by_state.get(OutboundState.FAILED, Held()),
        uncertain=by_state.get(OutboundState.UNCERTAIN, Held()),
    )


def inbound_summary(session: Session, since: datetime) -> InboundSummary:
    """Incoming mail not settled yet, and the mail held in quarantine (`recent`: held since `since`)."""
    when = func.coalesce(col(InboundMessage.processed_at), col(InboundMessage.received_at))
    states = (InboundState.STORED, InboundState.RETRY, InboundState.QUARANTINED)
    rows = session.execute(
        select(
            col(InboundMessage.state),
            func.count(),
            func.min(col(InboundMessage.received_at)),
            func.sum(case((when >= since, 1), else_=0)),
        )
        .where(col(InboundMessage.state).in_(states))
        .group_by(col(InboundMessage.state))
    ).all()
    by_state = {state: Held(int(count), oldest, int(recent or 0)) for state, count, oldest, recent in rows}
    return InboundSummary(
        stored=by_state.get(InboundState.STORED, Held()),
        retry=by_state.get(InboundState.RETRY, Held()),
        quarantined=by_state.get(InboundState.QUARANTINED, Held()),
    )


def inbound_by_state(session: Session) -> dict[str, int]:
    """Every incoming mail the database holds, by state."""
    state = col(InboundMessage.state)
    return {
        str(name): int(count) for name, count in session.execute(select(state, func.count()).group_by(state))
    }


def outbound_by_state(session: Session) -> dict[str, int]:
    """Every outgoing mail the database holds, by state (counted on the state index)."""
    state = col(OutboundMessage.state)
    rows = session.execute(select(state, func.count()).group_by(state))
    return {str(name): int(count) for name, count in rows}


def unsent_by_kind_and_state(session: Session) -> dict[tuple[str, str], int]:
    """The outgoing mail still to go or needing a person, by kind and state.

    Only those rows are read (through the state index): counting every row by
    kind would read the whole table, the mails' bytes included, at each scrape.
    """
    kind, state = col(OutboundMessage.kind), col(OutboundMessage.state)
    rows = session.execute(
        select(kind, state, func.count())
        .where(state.in_((*WAITING_OUT, *NEEDS_A_PERSON_OUT)))
        .group_by(kind, state)
    )
    return {(str(k), str(s)): int(count) for k, s, count in rows}


def tickets_by_status(session: Session) -> dict[str, int]:
    status = col(Ticket.status)
    return {
        str(name): int(count)
        for name, count in session.execute(select(status, func.count()).group_by(status))
    }


@dataclass(frozen=True, slots=True)
class Overdue:
    """Open tickets past a service-level target at one moment."""

    first_response: int
    """No first answer to the customer yet, and its due time has passed."""
    resolution: int
    """Not resolved, and its resolution due time has passed."""


def overdue_open_tickets(session: Session, now: datetime, closed: Collection[str]) -> Overdue:
    """How many open tickets (status not in `closed`) are past each target at `now`."""
    is_open = col(Ticket.status).not_in(list(closed))
    first = select(func.count()).where(
        is_open, col(Ticket.first_response_due) < now, col(Ticket.first_responded_at).is_(None)
    )
    resolution = select(func.count()).where(is_open, col(Ticket.resolution_due) < now)
    return Overdue(int(session.execute(first).scalar_one()), int(session.execute(resolution).scalar_one()))


def _combined(parts: list[Held]) -> Held:
    oldest = [part.oldest for part in parts if part.oldest is not None]
    return Held(
        sum(part.count for part in parts), min(oldest, default=None), sum(part.recent for part in parts)
    )
