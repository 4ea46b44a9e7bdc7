"""One run of the SLA ladder as values: its rules, moment and mailer, and the steps a ticket earned.

`earned_steps` asks `daemon.sla.policy` which reminders and escalations a
ticket has earned by a moment, from its stamped due dates; the scheduler
(`daemon.periodic.ladder`) decides which of them are still to be claimed and
mailed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from daemon.outbox.enqueue import Mailer
from daemon.route.rules import Department, Rules
from daemon.sla.calendar import DEFAULT_TIMEZONE, WorkCalendar
from daemon.sla.policy import LadderStep, TicketState, ladder_steps, next_step_at, update_steps
from daemon.sla.stamping import CLOSED_STATUSES, RECAP_ORIGIN_PREFIX, calendar_for, ticket_due_dates
from daemon.store.models import Ticket

Updates = tuple[int, datetime | None]
"""How many human messages the customer had (replies, the resolution), and the latest one's time."""
NO_UPDATES: Updates = (0, None)


@dataclass(frozen=True)
class LadderRun:
    """One run of the ladder: the rules and moment it climbs by, where its mail goes, who claims."""

    rules: Rules
    mailer: Mailer
    now: datetime
    timezone: str = DEFAULT_TIMEZONE
    owner: str = ""
    """The claimant (`host:pid`) written on the steps this run claims."""

    @cached_property
    def calendar(self) -> WorkCalendar:
        return calendar_for(self.rules, self.timezone)

    def earned(self, ticket: Ticket, updates: Updates) -> list[LadderStep]:
        """The steps `ticket` has earned by this run's moment (`earned_steps`)."""
        return earned_steps(ticket, self.rules, self.now, self.timezone, updates)

    def next_at(self, ticket: Ticket, updates: Updates) -> datetime | None:
        """When `ticket` earns its next step after this run's moment (`next_earned_at`)."""
        return next_earned_at(ticket, self.rules, self.now, self.timezone, updates)

    def department_of(self, ticket: Ticket) -> Department:
        """The department whose people hear of `ticket`'s steps (the default one if it is unknown)."""
        return self.rules.departments.get(ticket.department) or self.rules.department(
            self.rules.default_department
        )


def earned_steps(
    ticket: Ticket, rules: Rules, now: datetime, timezone: str, updates: Updates = NO_UPDATES
) -> list[LadderStep]:
    """The ladder steps `ticket` has earned by `now` (claimed or not); none for closed or recap tickets."""
    if ticket.status in CLOSED_STATUSES or ticket.origin.startswith(RECAP_ORIGIN_PREFIX):
        return []
    dates = ticket_due_dates(ticket, rules, timezone)
    if dates is None:
        return []
    state = _state(ticket, updates)
    calendar = calendar_for(rules, timezone)
    return ladder_steps(state, dates, now) + update_steps(state, dates.targets, calendar, now)


def next_earned_at(
    ticket: Ticket, rules: Rules, now: datetime, timezone: str, updates: Updates = NO_UPDATES
) -> datetime | None:
    """When `ticket`, as it stands, earns a step after `now`; None: never (closed, recap, all past)."""
    if ticket.status in CLOSED_STATUSES or ticket.origin.startswith(RECAP_ORIGIN_PREFIX):
        return None
    dates = ticket_due_dates(ticket, rules, timezone)
    if dates is None:
        return None
    return next_step_at(_state(ticket, updates), dates, calendar_for(rules, timezone), now)


def _state(ticket: Ticket, updates: Updates) -> TicketState:
    return TicketState(
        ticket.reference,
        first_responded_at=ticket.first_responded_at,
        resolution_cycle=ticket.resolution_cycle,
        updates=updates[0],
        last_update_at=updates[1],
    )
