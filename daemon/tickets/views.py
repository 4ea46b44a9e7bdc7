"""One ticket as data: the register's summary and the whole complaint, as `--json` and the web API give them.

Real values (datetimes, dates, booleans, lists); the callers format them.
Due dates and breach flags are computed against the `now` they are given.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from daemon.sla.stamping import sla_view
from daemon.store.models import InboundMessage, OutboundMessage, Ticket, TicketEvent


def ticket_summary(ticket: Ticket, now: datetime) -> dict[str, Any]:
    """One ticket as the register lists it, with its due dates and breaches as of `now`."""
    sla = sla_view(ticket, now)
    return {
        "reference": ticket.reference,
        "status": ticket.status,
        "department": ticket.department,
        "severity": ticket.severity,
        "product": ticket.product,
        "customer_email": ticket.customer_email,
        "customer_name": ticket.customer_name,
        "subject": ticket.subject,
        "origin": ticket.origin,
        "channel": ticket.channel,
        "escalated": ticket.escalated,
        "received_at": ticket.received_at,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "first_response_due": sla.first_response_due,
        "first_responded_at": sla.first_responded_at,
        "first_response_status": sla.first_response_status,
        "first_response_breached": sla.first_response_breached,
        "resolution_due": sla.resolution_due,
        "resolution_status": sla.resolution_status,
        "resolution_breached": sla.resolution_breached,
    }


def breaches(ticket: Ticket, now: datetime) -> str:
    """`FR!` for a missed first response, `RES!` for a missed resolution, `ok` for neither."""
    sla = sla_view(ticket, now)
    flags = [
        name for name, hit in (("FR!", sla.first_response_breached), ("RES!", sla.resolution_breached)) if hit
    ]
    return " ".join(flags) or "ok"


def ticket_detail(session: Any, ticket: Ticket, now: datetime) -> dict[str, Any]:
    """One ticket as `tickets show --json` and the web API give it.

    The summary, the form fields, the history, the messages and the attachments.
    """
    detail = ticket_summary(ticket, now) | _form_fields(session, ticket)
    detail["history"] = [_history_entry(event) for event in _events(session, ticket)]
    detail["messages"] = _inbound_entries(session, ticket) + _outbound_entries(session, ticket)
    # Here, not at the top: finding the attachments parses mail, which a listing never needs.
    from daemon.tickets.mail_attachments import ticket_attachments

    detail["attachments"] = [item.as_dict() for item in ticket_attachments(session, ticket)]
    return detail


def _form_fields(session: Any, ticket: Ticket) -> dict[str, Any]:
    """The complaint-form fields the summary leaves out."""
    return {
        "customer_organisation": ticket.customer_organisation,
        "category": ticket.category,
        "tags": [tag for tag in ticket.tags.split(",") if tag],
        "sla_class": ticket.sla_class,
        "pic_phone": ticket.pic_phone,
        "pic_email": ticket.pic_email,
        "language": ticket.language,
        "description": ticket.description,
        "root_cause": ticket.root_cause,
        "corrective_action": ticket.corrective_action,
        "action_target": ticket.action_target,
        "preventive_action": ticket.preventive_action,
        "effectiveness": ticket.effectiveness,
        "completed_at": ticket.completed_at,
        "closed_by": ticket.closed_by,
        "rules_version": ticket.rules_version,
        "watchers": [a for a in ticket.watchers.split(",") if a],
        "survey_score": ticket.survey_score,
        "survey_comment": ticket.survey_comment,
        "related_ticket": _reference_of(session, ticket.related_ticket_id),
    }


def _events(session: Any, ticket: Ticket) -> Iterable[TicketEvent]:
    statement = select(TicketEvent).where(col(TicketEvent.ticket_id) == ticket.id)
    events: Iterable[TicketEvent] = session.execute(statement.order_by(col(TicketEvent.id))).scalars()
    return events


def _history_entry(event: TicketEvent) -> dict[str, Any]:
    """One history entry; `data` is what the event decided (the routing decision on `routed`), or None."""
    return {
        "at": event.at,
        "actor": event.actor,
        "action": event.action,
        "field": event.field_name,
        "old": event.old_value,
        "new": event.new_value,
        "reason": event.reason,
        "data": event.data,
    }


def _inbound_entries(session: Any, ticket: Ticket) -> list[dict[str, Any]]:
    statement = select(InboundMessage).where(col(InboundMessage.ticket_id) == ticket.id)
    return [
        {
            "direction": "in",
            "at": m.received_at,
            "from": m.from_address,
            "subject": m.subject,
            "message_id": m.message_id,
            "state": m.state,
        }
        for m in session.execute(statement.order_by(col(InboundMessage.id))).scalars()
    ]


def _outbound_entries(session: Any, ticket: Ticket) -> list[dict[str, Any]]:
    statement = select(OutboundMessage).where(col(OutboundMessage.ticket_id) == ticket.id)
    return [
        {
            "direction": "out",
            "at": m.created_at,
            "kind": m.kind,
            "to": m.recipient,
            "subject": m.subject,
            "message_id": m.message_id,
            "state": m.state,
        }
        for m in session.execute(statement.order_by(col(OutboundMessage.id))).scalars()
    ]


def _reference_of(session: Any, ticket_id: int | None) -> str | None:
    if ticket_id is None:
        return None
    related = session.get(Ticket, ticket_id)
    return related.reference if related is not None else None
