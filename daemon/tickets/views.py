"""One ticket as data: the register's summary and the whole complaint, as `--json` and the web API give them.

Real values (datetimes, dates, booleans, lists); the callers format them.
Due dates and breach flags are computed against the `now` they are given.
The dicts are made in `daemon.tickets.summary`, which `caredesk tickets list`
and `tickets show` use on rows read without the ORM; here they are fetched
through the session.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from daemon.store.models import InboundMessage, OutboundMessage, Ticket, TicketEvent
from daemon.tickets.attachment_index import ticket_listing
from daemon.tickets.summary import DetailParts, breaches, detail_of, ticket_summary

__all__ = ["breaches", "ticket_detail", "ticket_summary"]


def ticket_detail(session: Any, ticket: Ticket, now: datetime) -> dict[str, Any]:
    """One ticket as `tickets show --json` and the web API give it.

    The summary, the form fields, the history, the messages and the attachments.
    """
    parts = DetailParts(
        related_reference=_reference_of(session, ticket.related_ticket_id),
        events=_events(session, ticket),
        inbound=_rows(session, InboundMessage, col(InboundMessage.ticket_id) == ticket.id),
        outbound=_rows(session, OutboundMessage, col(OutboundMessage.ticket_id) == ticket.id),
        attachments=[item.as_dict() for item in ticket_listing(session, ticket)],
    )
    return detail_of(ticket, now, parts)


def _events(session: Any, ticket: Ticket) -> Iterable[TicketEvent]:
    return _rows(session, TicketEvent, col(TicketEvent.ticket_id) == ticket.id)


def _rows(session: Any, model: Any, condition: Any) -> list[Any]:
    """The rows of `model` matching `condition`, oldest first."""
    return list(session.execute(select(model).where(condition).order_by(col(model.id))).scalars())


def _reference_of(session: Any, ticket_id: int | None) -> str | None:
    if ticket_id is None:
        return None
    related = session.get(Ticket, ticket_id)
    return related.reference if related is not None else None
