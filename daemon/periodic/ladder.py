"""The SLA ladder scheduler: reminders and escalations for open tickets, each sent exactly once.

Every minute the daemon asks, for every open ticket, which steps of its ladder
(`daemon.sla.policy.ladder_steps`) it has earned by now: a reminder to the
department before a target is due, an escalation to the department manager
when it is breached, and one to the general manager a while after that; and,
once the customer had a first response, a reminder before the next update to
the customer is due (`daemon.sla.policy.update_steps`, one per update window). Each
earned step is claimed as a (`sla-ladder`, period key) row (`daemon.store.claims`) in
the same transaction as its mail and its history entry, one transaction per
ticket: a step is mailed once however often the ladder runs, across restarts
and with several daemons on one database. A step with nobody to tell (no
manager configured) is claimed too, and the history says so, once.

A reopened ticket climbs the resolution ladder again: its steps carry its
`resolution_cycle` in their keys.

Tickets from branch recaps are left alone: the branch handled them, and
head-office departments are not chased for them. Tickets without stamped due
dates (made before due dates existed) are left alone too.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import load_only
from sqlmodel import Session, col

from daemon.outbox.enqueue import Mailer, Outgoing
from daemon.route.rules import Department, Rules
from daemon.sla.calendar import DEFAULT_TIMEZONE, WorkCalendar
from daemon.sla.policy import (
    LADDER_JOB,
    LadderStep,
    StepKind,
    StepTarget,
    TicketState,
    ladder_steps,
    update_steps,
)
from daemon.sla.stamping import (
    CLOSED_STATUSES,
    RECAP_ORIGIN_PREFIX,
    UPDATE_KINDS,
    calendar_for,
    ticket_due_dates,
)
from daemon.store import claims, db, queries
from daemon.store.models import JobClaim, OutboundMessage, Ticket
from daemon.store.vocabulary import Action, OutboundKind

log = logging.getLogger("caredesk.sla")

BATCH = 200
"""Tickets looked at per query; their claimed steps are read in one go."""

_MAIL: Mapping[StepKind, tuple[str, str]] = {
    "reminder": (OutboundKind.SLA_REMINDER, "sla_reminder.txt"),
    "breach": (OutboundKind.SLA_ESCALATION, "sla_escalation.txt"),
    "second-level": (OutboundKind.SLA_ESCALATION, "sla_escalation.txt"),
}
_TARGET_LABELS: Mapping[StepTarget, tuple[str, str]] = {
    "first_response": ("tanggapan pertama kepada pelanggan", "first response to the customer"),
    "resolution": ("penyelesaian keluhan", "resolution of the complaint"),
    "update": ("kabar perkembangan kepada pelanggan", "update to the customer"),
}
_LEVEL_LABELS: Mapping[StepKind, tuple[str, str]] = {
    "reminder": ("pengingat", "reminder"),
    "breach": ("eskalasi tingkat 1 (manajer departemen)", "escalation level 1 (department manager)"),
    "second-level": ("eskalasi tingkat 2 (General Manager)", "escalation level 2 (general manager)"),
}
_COLUMNS = (
    "id",
    "reference",
    "status",
    "department",
    "severity",
    "sla_class",
    "origin",
    "received_at",
    "first_response_due",
    "resolution_due",
    "first_responded_at",
    "completed_at",
    "resolution_cycle",
)

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


def run_ladder(engine: Engine, run: LadderRun) -> Counter[str]:
    """Send every reminder and escalation open tickets have earned by `run.now` and not had yet."""
    counts: Counter[str] = Counter()
    last_id = 0
    while True:
        with db.session(engine) as session:
            batch = _open_tickets(session, last_id)
            if not batch:
                return counts
            last_id = batch[-1].id or last_id
            updates = customer_updates(session, [ticket.id for ticket in batch if ticket.id is not None])
            earned = {
                ticket.id: run.earned(ticket, updates.get(ticket.id or 0, NO_UPDATES)) for ticket in batch
            }
            claimed = _claimed(session, (step.period_key for steps in earned.values() for step in steps))
        for ticket in batch:
            due = [step for step in earned[ticket.id] if step.period_key not in claimed]
            if due:
                counts.update(_climb(engine, ticket.id, run))


def earned_steps(
    ticket: Ticket, rules: Rules, now: datetime, timezone: str, updates: Updates = NO_UPDATES
) -> list[LadderStep]:
    """The ladder steps `ticket` has earned by `now` (claimed or not); none for closed or recap tickets."""
    if ticket.status in CLOSED_STATUSES or ticket.origin.startswith(RECAP_ORIGIN_PREFIX):
        return []
    dates = ticket_due_dates(ticket, rules, timezone)
    if dates is None:
        return []
    state = TicketState(
        ticket.reference,
        first_responded_at=ticket.first_responded_at,
        resolution_cycle=ticket.resolution_cycle,
        updates=updates[0],
        last_update_at=updates[1],
    )
    calendar = calendar_for(rules, timezone)
    return ladder_steps(state, dates, now) + update_steps(state, dates.targets, calendar, now)


def customer_updates(session: Session, ticket_ids: list[int]) -> dict[int, Updates]:
    """Ticket id -> (count, latest) of the human messages queued to its customer."""
    if not ticket_ids:
        return {}
    statement = (
        select(
            col(OutboundMessage.ticket_id),
            func.count(col(OutboundMessage.id)),
            func.max(col(OutboundMessage.created_at)),
        )
        .where(col(OutboundMessage.ticket_id).in_(ticket_ids), col(OutboundMessage.kind).in_(UPDATE_KINDS))
        .group_by(col(OutboundMessage.ticket_id))
    )
    return {ticket_id: (count, latest) for ticket_id, count, latest in session.execute(statement).all()}


def _open_tickets(session: Session, after_id: int) -> list[Ticket]:
    statement = (
        select(Ticket)
        .options(load_only(*(getattr(Ticket, name) for name in _COLUMNS)))
        .where(
            col(Ticket.id) > after_id,
            col(Ticket.status).not_in(CLOSED_STATUSES),
            col(Ticket.resolution_due).is_not(None),
            col(Ticket.origin).not_like(f"{RECAP_ORIGIN_PREFIX}%"),
        )
        .order_by(col(Ticket.id))
        .limit(BATCH)
    )
    return list(session.execute(statement).scalars())


def _claimed(session: Session, keys: Iterable[str]) -> set[str]:
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    statement = select(col(JobClaim.period)).where(
        col(JobClaim.job) == LADDER_JOB, col(JobClaim.period).in_(wanted)
    )
    return set(session.execute(statement).scalars())


def _climb(engine: Engine, ticket_id: int | None, run: LadderRun) -> Counter[str]:
    """One ticket's unclaimed steps, in one transaction: claim, mail, history."""
    counts: Counter[str] = Counter()
    with db.session(engine) as session:
        # Read again inside the transaction: the ticket may have been answered
        # or resolved since the batch was read.
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            return counts
        updates = (
            customer_updates(session, [ticket.id]).get(ticket.id, NO_UPDATES) if ticket.id else NO_UPDATES
        )
        for step in run.earned(ticket, updates):
            if claims.claim(session, LADDER_JOB, step.period_key, now=run.now, owner=run.owner):
                counts[_send(session, ticket, step, run)] += 1
        session.commit()
    return counts


def _send(session: Session, ticket: Ticket, step: LadderStep, run: LadderRun) -> str:
    rules, calendar, now = run.rules, run.calendar, run.now
    department = rules.departments.get(ticket.department) or rules.department(rules.default_department)
    recipient, note = recipient_for(step.recipient_role, department)
    target_en = _TARGET_LABELS[step.target][1]
    due = calendar.local(step.due).strftime("%d-%m-%Y %H:%M %Z")
    if recipient is None:
        reason = f"{target_en} due {due}: nobody to tell, {note}"
        _event(session, ticket, "sla-escalation-missing", now, reason)
        log.warning("ticket %s: %s %s: %s", ticket.reference, step.target, step.kind, note)
        return "sla_no_recipient"
    kind, template = _MAIL[step.kind]
    context = _context(ticket, step, department, calendar, now)
    run.mailer.queue(
        session, Outgoing(kind=kind, recipient=recipient, template=template, context=context, ticket=ticket)
    )
    reason = f"{_LEVEL_LABELS[step.kind][1]}: {target_en} due {due}, to {recipient}{note and f' ({note})'}"
    _event(session, ticket, Action.sla_step(step.kind), now, reason)
    log.info("ticket %s: %s %s to %r", ticket.reference, step.target, step.kind, recipient)
    return "sla_reminders" if step.kind == "reminder" else "sla_escalations"


def recipient_for(role: str, department: Department) -> tuple[str | None, str]:
    """Who gets a step, and a note when it is not the obvious person."""
    if role == "department":
        return department.email, ""
    if role == "manager":
        if department.manager:
            return department.manager, ""
        if department.general_manager:
            return department.general_manager, f"{department.id} has no manager: sent to its general manager"
        return None, f"{department.id} has no manager and no general manager configured"
    if department.general_manager:
        return department.general_manager, ""
    return None, f"{department.id} has no general manager configured"


def _event(session: Session, ticket: Ticket, action: str, now: datetime, reason: str) -> None:
    queries.add_event(
        session, ticket, queries.History(actor="caredesk", action=action, at=now, reason=reason)
    )


def _context(
    ticket: Ticket, step: LadderStep, department: Department, calendar: WorkCalendar, now: datetime
) -> dict[str, object]:
    late_hours = calendar.working_hours_between(step.due, now)
    return {
        "ticket": {
            "reference": ticket.reference,
            "subject": ticket.subject,
            "severity": ticket.severity,
            "status": ticket.status,
            "customer_name": ticket.customer_name,
            "customer_email": ticket.customer_email,
            "received": calendar.local(ticket.received_at).strftime("%d-%m-%Y %H:%M %Z"),
        },
        "department": {"id": department.id, "name": department.name},
        "step": {
            "kind": step.kind,
            "target": step.target,
            "target_id": _TARGET_LABELS[step.target][0],
            "target_en": _TARGET_LABELS[step.target][1],
            "level_id": _LEVEL_LABELS[step.kind][0],
            "level_en": _LEVEL_LABELS[step.kind][1],
            "due": calendar.local(step.due).strftime("%d-%m-%Y %H:%M %Z"),
            "working_hours_left": _hours(-late_hours),
            "working_hours_late": _hours(late_hours),
        },
    }


def _hours(value: float) -> str:
    """Whole working hours, or minutes under an hour; '0' for none."""
    if value <= 0:
        return "0"
    if value < 1:
        return f"{round(value * 60)} min"
    return f"{value:.1f}".rstrip("0").rstrip(".") + " h"
