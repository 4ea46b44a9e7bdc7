"""Service levels on tickets: stamping the due dates, recording the first response, reading breaches.

This module is where the pure SLA maths (`daemon.sla.policy`, `daemon.sla.calendar`) meets
the `Ticket` row. It owns three facts about a ticket:

* its **due dates**, stamped when the ticket is made (`stamp_due_dates`,
  or `due_values` for bulk inserts) on the calendar and targets of the rules in
  force then, so that the dates a person was shown do not move when the rules
  change later. A branch-recap ticket (`origin` `branch:<id>`) gets no
  first-response due date: the branch answered its customer itself, and
  caredesk never sees that answer. When staff change what the targets depend
  on (the severity, the department), the open targets are stamped again for
  the new targets (`restamp_due_dates`), each move in the history.
* its **first response**: the first human answer that reaches the customer.
  The automatic acknowledgement does not count; a relayed `#reply`, the
  resolution mail (it carries the cause and the action), a staff mail sent to
  the customer directly and customer care's own answer from the shared
  mailbox (seen as a copy) do. `record_first_response` sets it; the code that
  sends or sees such an answer calls it.
* how each target **stands** at a moment (`SlaView`): pending, overdue, met or
  met late, and from that the breach flags that lists and reports show.
* its **resolution cycle**: a resolved ticket that goes back to in-progress
  (the customer replied, or `#effective no`) starts a new cycle, with a
  resolution due date counted from the reopening (`restart_resolution_clock`).

The resolution of a ticket is its `completed_at`, once its status is resolved
or closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col

from daemon.sla.calendar import DEFAULT_TIMEZONE, CalendarConfig, WorkCalendar
from daemon.sla.policy import (
    DueDates,
    SlaPolicy,
    Stamp,
    TargetKey,
    anchored_due_dates,
    due_dates,
    restamped,
)

# How the targets stand is read without the database (daemon.sla.standing); re-exported for callers.
from daemon.sla.standing import CLOSED_STATUSES as CLOSED_STATUSES
from daemon.sla.standing import SlaView as SlaView
from daemon.sla.standing import resolved_at as resolved_at
from daemon.sla.standing import sla_view as sla_view
from daemon.store import queries
from daemon.store.models import SLA_RECHECK, Ticket, TicketEvent
from daemon.store.vocabulary import Action, OutboundKind

RECAP_ORIGIN_PREFIX = "branch:"
FIRST_RESPONSE_KINDS = (OutboundKind.REPLY, OutboundKind.RESOLUTION)
"""The outbound kinds that are a human answer to the customer: each one meets the first response."""
UPDATE_KINDS = FIRST_RESPONSE_KINDS
"""The outbound kinds that tell the customer how the complaint stands (for the update interval)."""


class Rules(Protocol):
    """What stamping needs of the rules in force (`route.rules.Rules` has it).

    The rules loader builds these sections from `rules.yaml`; naming only them here
    keeps the SLA stage below the routing stage that parses the file.
    """

    @property
    def calendar_config(self) -> CalendarConfig: ...

    @property
    def sla_config(self) -> SlaPolicy: ...


def calendar_for(rules: Rules, timezone: str = DEFAULT_TIMEZONE) -> WorkCalendar:
    """The working-day calendar of `rules`; built once per rules and zone (`CalendarConfig.build`)."""
    return rules.calendar_config.build(timezone)


def is_recap(origin: str) -> bool:
    return origin.startswith(RECAP_ORIGIN_PREFIX)


def target_key(ticket: Ticket) -> TargetKey:
    """What picks the ticket's targets out of the SLA policy."""
    return TargetKey(ticket.severity, ticket.department, ticket.sla_class)


def due_values(
    received_at: datetime,
    key: TargetKey,
    rules: Rules,
    *,
    origin: str,
    timezone: str = DEFAULT_TIMEZONE,
) -> dict[str, datetime | None]:
    """The due-date columns of a new ticket, for inserts that build rows as dictionaries."""
    dates = due_dates(received_at, key, rules.sla_config, calendar_for(rules, timezone))
    return {
        "first_response_due": None if is_recap(origin) else dates.first_response_due,
        "resolution_due": dates.resolution_due,
    }


def stamp_due_dates(
    ticket: Ticket, rules: Rules, now: datetime, *, timezone: str = DEFAULT_TIMEZONE
) -> Ticket:
    """Set the due dates of a new ticket from its receipt (`now` when it has no receipt time yet)."""
    values = due_values(
        ticket.received_at or now, target_key(ticket), rules, origin=ticket.origin, timezone=timezone
    )
    ticket.first_response_due = values["first_response_due"]
    ticket.resolution_due = values["resolution_due"]
    return ticket


def ticket_due_dates(ticket: Ticket, rules: Rules, timezone: str = DEFAULT_TIMEZONE) -> DueDates | None:
    """The ticket's stamped due dates with the ladder of the current rules; None when not stamped."""
    if ticket.first_response_due is None or ticket.resolution_due is None:
        return None
    targets = target_key(ticket).targets(rules.sla_config)
    return anchored_due_dates(
        ticket.received_at,
        ticket.first_response_due,
        ticket.resolution_due,
        targets,
        calendar_for(rules, timezone),
    )


def restart_resolution_clock(
    session: Session, ticket: Ticket, at: datetime, rules: Rules, *, timezone: str = DEFAULT_TIMEZONE
) -> datetime:
    """Start a new resolution cycle for a ticket reopened at `at`; return its new resolution due date.

    The target counts again from the reopening, on today's rules and calendar;
    the cycle number gives the new cycle's reminders and escalations their own
    keys, so they are sent once more (and only once).
    """
    targets = target_key(ticket).targets(rules.sla_config)
    due = calendar_for(rules, timezone).deadline(at, targets.resolution)
    previous = ticket.resolution_due
    ticket.resolution_due = due
    ticket.resolution_cycle = (ticket.resolution_cycle or 1) + 1
    session.add(ticket)
    queries.add_event(
        session,
        ticket,
        queries.History(
            actor="caredesk",
            action=Action.RESOLUTION_CYCLE,
            at=at,
            field_name="resolution_due",
            # In UTC, as the database gives the old value back.
            old_value=previous.astimezone(UTC).isoformat() if previous else None,
            new_value=due.astimezone(UTC).isoformat(),
            reason=(
                f"reopened: resolution cycle {ticket.resolution_cycle}, "
                f"{targets.resolution.describe()} from the reopening"
            ),
        ),
    )
    return due


def record_first_response(
    session: Session, ticket: Ticket, at: datetime, *, how: str = "a reply relayed to the customer"
) -> bool:
    """Record a human answer to the customer sent at `at`; True when it is the (new) first one.

    Call it for every such answer (`how` says which, for the history: a
    relayed reply, the resolution mail, ...): only the earliest counts. The
    update is conditional in the database, so two daemons relaying two answers
    at once still keep the earlier one, and the history says whether it was on time.
    """
    assert ticket.id is not None
    statement = (
        update(Ticket)
        .where(
            col(Ticket.id) == ticket.id,
            or_(col(Ticket.first_responded_at).is_(None), col(Ticket.first_responded_at) > at),
        )
        # The ladder looks at the ticket again (`store.sla_due`): its reminders may stop.
        .values(first_responded_at=at, next_sla_step_at=SLA_RECHECK)
        .returning(col(Ticket.id))
        .execution_options(synchronize_session=False)
    )
    if session.execute(statement).first() is None:
        return False
    previous = ticket.first_responded_at
    # The row is written already; make the object agree without a second UPDATE.
    set_committed_value(ticket, "first_responded_at", at)
    queries.add_event(
        session,
        ticket,
        queries.History(
            actor="caredesk",
            action=Action.FIRST_RESPONSE,
            at=at,
            field_name="first_responded_at",
            old_value=previous.isoformat() if previous else None,
            new_value=at.isoformat(),
            reason=_timeliness(ticket.first_response_due, at, how),
        ),
    )
    return True


def _timeliness(due: datetime | None, at: datetime, how: str) -> str:
    if due is None:
        return f"first response to the customer: {how}"
    verdict = "on time" if at <= due else "late"
    return f"first response to the customer: {how}, {verdict} (due {due.isoformat()})"


@dataclass(frozen=True)
class Retarget:
    """A change to what a ticket's targets depend on: when, why (and by whom), under which rules."""

    rules: Rules
    at: datetime
    reason: str
    """What changed, for the history: "severity minor -> major by ani@example.co.id"."""
    inbound_id: int | None = None
    """The mail that made the change."""
    timezone: str = DEFAULT_TIMEZONE


def restamp_due_dates(session: Session, ticket: Ticket, change: Retarget) -> list[str]:
    """Stamp the open targets of `ticket` again for its current severity, department and class.

    Call it once the change is on the ticket. Each due date that moves gets a
    `changed` history entry with its old and new value (UTC, as the database
    gives them back); the names of the moved columns come back. What moves and
    what stays is `daemon.sla.policy.restamped`'s rule.
    """
    targets = target_key(ticket).targets(change.rules.sla_config)
    stamp = Stamp(
        received_at=ticket.received_at,
        first_response_due=ticket.first_response_due,
        resolution_due=ticket.resolution_due,
        first_responded_at=ticket.first_responded_at,
        resolved=ticket.status in CLOSED_STATUSES,
        cycle_started_at=_cycle_start(session, ticket),
    )
    fresh = restamped(stamp, targets, calendar_for(change.rules, change.timezone))
    moved: list[str] = []
    for column, target in (("first_response_due", "first_response"), ("resolution_due", "resolution")):
        old, new = getattr(stamp, column), getattr(fresh, column)
        if old == new or new is None:
            continue
        setattr(ticket, column, new)
        moved.append(column)
        span = targets.first_response if target == "first_response" else targets.resolution
        start = "the reopening" if target == "resolution" and stamp.cycle_started_at else "receipt"
        queries.add_event(
            session,
            ticket,
            queries.History(
                actor="caredesk",
                action=Action.CHANGED,
                at=change.at,
                field_name=column,
                old_value=_utc(old),
                new_value=_utc(new),
                reason=(
                    f"{change.reason}: {span.describe()} from {start} "
                    f"({targets.sources.get(target, 'default')})"
                ),
                inbound_id=change.inbound_id,
            ),
        )
    if moved:
        session.add(ticket)
    return moved


def _cycle_start(session: Session, ticket: Ticket) -> datetime | None:
    """When the ticket's current resolution cycle began: its latest reopening; None for the first."""
    if (ticket.resolution_cycle or 1) <= 1 or ticket.id is None:
        return None
    statement = select(func.max(col(TicketEvent.at))).where(
        col(TicketEvent.ticket_id) == ticket.id, col(TicketEvent.action) == Action.RESOLUTION_CYCLE
    )
    started: datetime | None = session.execute(statement).scalar_one_or_none()
    return started


def _utc(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None
