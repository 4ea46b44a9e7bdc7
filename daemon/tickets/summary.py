"""One ticket as data, from its columns: what `daemon.tickets.views` fetches, made into dicts.

Real values (datetimes, dates, booleans, lists); the callers format them. Due
dates and breach flags are computed against the `now` they are given. The rows
are `daemon.store.models` objects (the web, `views.ticket_detail`) or the plain
rows of `daemon.store.rawread` (`caredesk tickets list` and `tickets show`):
both have the columns as attributes, and nothing here imports the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from daemon.sla.standing import sla_view


def ticket_summary(ticket: Any, now: datetime) -> dict[str, Any]:
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


def breaches(ticket: Any, now: datetime) -> str:
    """`FR!` for a missed first response, `RES!` for a missed resolution, `ok` for neither."""
    sla = sla_view(ticket, now)
    flags = [
        name for name, hit in (("FR!", sla.first_response_breached), ("RES!", sla.resolution_breached)) if hit
    ]
    return " ".join(flags) or "ok"


def detail_of(ticket: Any, now: datetime, parts: DetailParts) -> dict[str, Any]:
    """One ticket as `tickets show --json` and the web API give it, from its rows.

    The summary, the form fields, the history, the messages and the attachments.
    """
    detail = ticket_summary(ticket, now) | form_fields(ticket, parts.related_reference)
    detail["history"] = [history_entry(event) for event in parts.events]
    detail["messages"] = [inbound_entry(m) for m in parts.inbound] + [
        outbound_entry(m) for m in parts.outbound
    ]
    detail["attachments"] = list(parts.attachments)
    return detail


@dataclass(frozen=True, slots=True)
class DetailParts:
    """What a ticket's detail shows besides its own columns, as rows the caller fetched, oldest first."""

    related_reference: str | None
    events: Iterable[Any]
    inbound: Iterable[Any]
    outbound: Iterable[Any]
    attachments: Iterable[Mapping[str, object]]
    """`TicketAttachment.as_dict()` of each attachment."""


def form_fields(ticket: Any, related_reference: str | None) -> dict[str, Any]:
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
        "related_ticket": related_reference,
    }


def history_entry(event: Any) -> dict[str, Any]:
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


def inbound_entry(m: Any) -> dict[str, Any]:
    return {
        "direction": "in",
        "at": m.received_at,
        "from": m.from_address,
        "subject": m.subject,
        "message_id": m.message_id,
        "state": m.state,
    }


def outbound_entry(m: Any) -> dict[str, Any]:
    return {
        "direction": "out",
        "at": m.created_at,
        "kind": m.kind,
        "to": m.recipient,
        "subject": m.subject,
        "message_id": m.message_id,
        "state": m.state,
    }
