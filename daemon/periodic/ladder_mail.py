"""The mail and history of one bucket of ladder steps, inside the transaction that claimed them.

A run of the ladder (`daemon.periodic.ladder`) gathers the steps it won by
bucket (`daemon.periodic.plan.Bucket`: one kind of step to one recipient) and
hands each bucket here:

* one step: the single-ticket mail (`sla_reminder.txt`, `sla_escalation.txt`),
  tied to its ticket and tagged with its reference, so a reply threads into it;
* several steps: one digest (`sla_digest.txt`) listing every ticket with its
  subject, target, due time and how late it is (or how much time is left);
* skipped reminders and steps with nobody to tell: no mail.

Every step gets its own entry in its ticket's history (`sla-reminder`,
`sla-breach`, `sla-second-level`, with the outbox row it went out in;
`sla-reminder-skipped`; `sla-escalation-missing`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from daemon.outbox.enqueue import Outgoing
from daemon.periodic.plan import Bucket, Planned
from daemon.periodic.steps import LadderRun
from daemon.route.rules import Department
from daemon.sla.calendar import WorkCalendar
from daemon.sla.policy import TARGETS, LadderStep, StepKind, StepTarget
from daemon.store import queries
from daemon.store.models import Ticket
from daemon.store.vocabulary import Action, OutboundKind, OutboundState

log = logging.getLogger("caredesk.sla")

DIGEST_TEMPLATE = "sla_digest.txt"
SKIPPED_ACTION = Action.sla_step("reminder-skipped")
MISSING_ACTION = "sla-escalation-missing"

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
_TARGET_ORDER: Mapping[StepTarget, int] = {
    **{target: TARGETS.index(target) for target in TARGETS},
    "update": len(TARGETS),
}


@dataclass(frozen=True)
class Claimed:
    """A step this run won the claim of, with its ticket (read in the claiming transaction)."""

    ticket: Ticket
    planned: Planned
    department: Department

    @property
    def step(self) -> LadderStep:
        return self.planned.step


def mail_bucket(session: Session, bucket: Bucket, entries: Sequence[Claimed], run: LadderRun) -> Counter[str]:
    """Queue the one mail of `bucket` (if any) and write each step's history; the counts."""
    if not entries:
        return Counter()
    if bucket.skipped:
        return _skipped(session, entries, run)
    if not bucket.recipient:
        return _nobody(session, entries, run)
    if len(entries) == 1:
        return _single(session, bucket, entries[0], run)
    return _digest(session, bucket, entries, run)


def _skipped(session: Session, entries: Sequence[Claimed], run: LadderRun) -> Counter[str]:
    """Claimed, not mailed: reminders beside their breach."""
    for entry in entries:
        step = entry.step
        reason = f"{_what(step, run.calendar)}: not sent, {entry.planned.note}"
        _event(session, entry.ticket, queries.History("caredesk", SKIPPED_ACTION, run.now, reason))
        log.info("ticket %s: %s reminder skipped beside its breach", entry.ticket.reference, step.target)
    return Counter({"sla_reminders_skipped": len(entries)})


def _nobody(session: Session, entries: Sequence[Claimed], run: LadderRun) -> Counter[str]:
    """Claimed, not mailed: steps with nobody to tell (no manager nor general manager configured)."""
    for entry in entries:
        step, note = entry.step, entry.planned.note
        due = _due_text(run.calendar, step)
        reason = f"{_TARGET_LABELS[step.target][1]} due {due}: nobody to tell, {note}"
        _event(session, entry.ticket, queries.History("caredesk", MISSING_ACTION, run.now, reason))
        log.warning("ticket %s: %s %s: %s", entry.ticket.reference, step.target, step.kind, note)
    return Counter({"sla_no_recipient": len(entries)})


def _single(session: Session, bucket: Bucket, entry: Claimed, run: LadderRun) -> Counter[str]:
    """One step to its recipient in this run: the ticket's own mail, which threads into the ticket."""
    kind, template = _MAIL[bucket.kind]
    context = entry_context(entry, run.calendar, run.now)
    mail = Outgoing(
        kind=kind, recipient=bucket.recipient, template=template, context=context, ticket=entry.ticket
    )
    queued = run.mailer.queue(session, mail)
    _step_event(session, entry, run, f"to {bucket.recipient}", queued.id if queued else None)
    log.info(
        "ticket %s: %s %s to %r", entry.ticket.reference, entry.step.target, bucket.kind, bucket.recipient
    )
    return Counter({_counter(bucket.kind): 1})


def _digest(session: Session, bucket: Bucket, entries: Sequence[Claimed], run: LadderRun) -> Counter[str]:
    """Several steps to one recipient in this run: one mail listing them all."""
    kind, _ = _MAIL[bucket.kind]
    context = digest_context(bucket, entries, run.calendar, run.now)
    queued = run.mailer.queue(
        session, Outgoing(kind=kind, recipient=bucket.recipient, template=DIGEST_TEMPLATE, context=context)
    )
    outbound_id = queued.id if queued else None
    where = f"to {bucket.recipient} in one mail listing {len(entries)} steps"
    if outbound_id is not None:
        where += f" (outbound {outbound_id})"
    for entry in entries:
        _step_event(session, entry, run, where, outbound_id)
        if queued is not None and queued.state == OutboundState.FAILED:
            reason = f"to {bucket.recipient}: not rendered: {queued.error}"
            _event(
                session,
                entry.ticket,
                queries.History("caredesk", Action.failed(kind), run.now, reason, outbound_id=outbound_id),
            )
    log.info(
        "sla %s digest to %r: %d steps on %d tickets",
        bucket.kind,
        bucket.recipient,
        len(entries),
        len({entry.ticket.id for entry in entries}),
    )
    return Counter({_counter(bucket.kind): len(entries), "sla_digests": 1})


def _counter(kind: StepKind) -> str:
    return "sla_reminders" if kind == "reminder" else "sla_escalations"


def _step_event(
    session: Session, entry: Claimed, run: LadderRun, where: str, outbound_id: int | None
) -> None:
    note = entry.planned.note
    reason = f"{_what(entry.step, run.calendar)}, {where}{note and f' ({note})'}"
    history = queries.History(
        "caredesk", Action.sla_step(entry.step.kind), run.now, reason, outbound_id=outbound_id
    )
    _event(session, entry.ticket, history)


def _what(step: LadderStep, calendar: WorkCalendar) -> str:
    """`escalation level 1 (department manager): first response to the customer due 10-08-2026 17:00 WIB`."""
    return f"{_LEVEL_LABELS[step.kind][1]}: {_TARGET_LABELS[step.target][1]} due {_due_text(calendar, step)}"


def _event(session: Session, ticket: Ticket, history: queries.History) -> None:
    queries.add_event(session, ticket, history)


def _due_text(calendar: WorkCalendar, step: LadderStep) -> str:
    return calendar.local(step.due).strftime("%d-%m-%Y %H:%M %Z")


def entry_context(entry: Claimed, calendar: WorkCalendar, now: datetime) -> dict[str, object]:
    """What a template shows of one step: `ticket`, `department` and `step`."""
    ticket, step, department = entry.ticket, entry.step, entry.department
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
            "due": _due_text(calendar, step),
            "working_hours_left": _hours(-late_hours),
            "working_hours_late": _hours(late_hours),
        },
    }


def digest_context(
    bucket: Bucket, entries: Sequence[Claimed], calendar: WorkCalendar, now: datetime
) -> dict[str, object]:
    """What the digest shows: the level, the counts and every step, the earliest due first."""
    ordered = sorted(
        entries,
        key=lambda entry: (entry.step.due, entry.ticket.reference, _TARGET_ORDER[entry.step.target]),
    )
    return {
        "step": {
            "kind": bucket.kind,
            "level_id": _LEVEL_LABELS[bucket.kind][0],
            "level_en": _LEVEL_LABELS[bucket.kind][1],
        },
        "count": len(ordered),
        "tickets": len({entry.ticket.reference for entry in ordered}),
        "entries": [entry_context(entry, calendar, now) for entry in ordered],
    }


def _hours(value: float) -> str:
    """Whole working hours, or minutes under an hour; '0' for none."""
    if value <= 0:
        return "0"
    if value < 1:
        return f"{round(value * 60)} min"
    return f"{value:.1f}".rstrip("0").rstrip(".") + " h"
