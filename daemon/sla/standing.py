"""How a ticket's service-level targets stand at a moment, from its columns alone, without the database.

For a `Ticket` and for a row read without the ORM (`daemon.store.rawread`) alike:
`caredesk tickets list` and `tickets show` must not import SQLAlchemy, which
`daemon.sla.stamping` (the stamping of due dates, which re-exports these) needs
for its other work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from daemon.sla.policy import TargetStatus, target_status

CLOSED_STATUSES = ("resolved", "closed")
"""A ticket in one of these is resolved: its clock has stopped."""


class Timed(Protocol):
    """The columns of a ticket the view reads (a `Ticket`, or a row of `daemon.store.rawread`)."""

    @property
    def status(self) -> str: ...
    @property
    def completed_at(self) -> datetime | None: ...
    @property
    def first_response_due(self) -> datetime | None: ...
    @property
    def first_responded_at(self) -> datetime | None: ...
    @property
    def resolution_due(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class SlaView:
    """How a ticket's two targets stand at one moment; None where a target is not measured."""

    first_response_due: datetime | None
    resolution_due: datetime | None
    first_responded_at: datetime | None
    resolved_at: datetime | None
    first_response_status: TargetStatus | None
    resolution_status: TargetStatus | None

    @property
    def first_response_breached(self) -> bool:
        return self.first_response_status in ("overdue", "met-late")

    @property
    def resolution_breached(self) -> bool:
        return self.resolution_status in ("overdue", "met-late")

    @property
    def overdue(self) -> bool:
        """Still open and past its resolution due date."""
        return self.resolution_status == "overdue"


def resolved_at(ticket: Timed) -> datetime | None:
    """When the ticket was resolved: its completion date, once its status says resolved or closed."""
    return ticket.completed_at if ticket.status in CLOSED_STATUSES else None


def sla_view(ticket: Timed, now: datetime) -> SlaView:
    """The ticket's targets as they stand at `now` (a breach stays a breach once met late)."""
    done = resolved_at(ticket)
    first_status: TargetStatus | None = None
    if ticket.first_response_due is not None:
        first_status = target_status(ticket.first_response_due, ticket.first_responded_at, now)
    resolution_status: TargetStatus | None = None
    # A resolved ticket whose completion date nobody recorded has an unknown
    # outcome: neither on target nor overdue.
    unknown = ticket.status in CLOSED_STATUSES and done is None
    if ticket.resolution_due is not None and not unknown:
        resolution_status = target_status(ticket.resolution_due, done, now)
    return SlaView(
        ticket.first_response_due,
        ticket.resolution_due,
        ticket.first_responded_at,
        done,
        first_status,
        resolution_status,
    )
